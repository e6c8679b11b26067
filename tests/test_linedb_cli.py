"""`cassis-lite db info`, `species`, `lines`, `partition`, `db import-cassis`: output and errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from cassis_lite.cli import main
from cassis_lite.linedb import LineDatabase, default_database_path


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def db():
    return LineDatabase()


def test_db_info(capsys, db):
    status, out, _ = run(capsys, "db", "info")
    assert status == 0
    info = db.info()
    assert f"path:          {default_database_path()}" in out
    assert f"species:       {info['species']}" in out
    assert f"transitions:   {info['transitions']}" in out
    assert f"{default_database_path().stat().st_size} bytes" in out
    assert "linecat==0.14.1" in out and "spectralradex==1.1.5" in out and "linetools==0.3.2" in out


def test_species_search(capsys):
    status, out, _ = run(capsys, "species", "HCO")
    assert status == 0
    rows = out.splitlines()
    assert rows[0].split() == ["name", "tag", "formula", "source", "lines", "Q(T)"]
    assert rows[1].startswith("HCO+") and "29507" in rows[1] and "2.725-500 K" in rows[1]


def test_lines_csv_equals_python_api(capsys, db):
    status, out, _ = run(capsys, "lines", "--fmin", "86000", "--fmax", "90000", "--format", "csv",
                         "--eup-max", "100", "--aij-min", "1e-6")
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["species", "tag", "freq_mhz", "err_mhz", "aij", "eup_k", "elow_cm", "gup", "qn", "source"]
    t = db.transitions(86000, 90000, eup_max_k=100, aij_min=1e-6)
    assert len(rows) == len(t) > 3
    np.testing.assert_array_equal([float(r["freq_mhz"]) for r in rows], t.freq_mhz)  # full precision
    np.testing.assert_array_equal([float(r["aij"]) for r in rows], t.aij)
    hcn = [r for r in rows if r["species"] == "HCN"]
    assert hcn and hcn[0]["tag"] == "27501" and hcn[0]["err_mhz"] == "" and hcn[0]["source"] == "LAMDA"


def test_lines_json_and_species_filter(capsys):
    status, out, _ = run(capsys, "lines", "--fmin", "100000", "--fmax", "400000", "--species", "CO", "28503",
                         "--format", "json")
    assert status == 0
    doc = json.loads(out)
    assert doc["count"] == 3 == len(doc["transitions"])
    first = doc["transitions"][0]
    assert first["species"] == "CO" and first["freq_mhz"] == 115271.2018 and first["qn"] == "1 -> 0"
    assert first["err_mhz"] is None and first["gup"] == 3


def test_lines_table(capsys):
    status, out, err = run(capsys, "lines", "--fmin", "115271", "--fmax", "115272", "--species", "CO")
    assert status == 0
    assert out.splitlines()[1].split()[:3] == ["CO", "28503", "115271.2018"]
    assert "1 transitions" in err


def test_partition(capsys, db):
    status, out, _ = run(capsys, "partition", "CO", "--tex", "37.5", "100")
    assert status == 0
    lines = out.splitlines()
    assert "Q = 13.8963" in lines[0] and "log10 Q = 1.142900" in lines[0]  # CDMS node: 10**1.1429
    assert f"{db.partition_function('CO').q(100.0):.6g}" in lines[1]


@pytest.mark.parametrize("argv,message", [
    (["lines", "--fmin", "2", "--fmax", "1"], "inverted frequency range"),
    (["lines", "--fmin", "1", "--fmax", "2", "--species", "Unobtainium"], "unknown species 'Unobtainium'"),
    (["lines", "--fmin", "1", "--fmax", "2", "--species", "H2CO"], "ambiguous"),
    (["partition", "CO", "--tex", "5000"], "2.725-1000 K"),
    (["partition", "nothing", "--tex", "10"], "unknown species"),
    (["db", "info", "--db", "/nonexistent/x.db"], "line database not found: /nonexistent/x.db"),
])
def test_bad_input_one_line_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert err.startswith("cassis-lite: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_corrupt_db_from_a_real_process(tmp_path):
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"\x00garbage" * 500)
    r = subprocess.run([sys.executable, "-m", "cassis_lite", "lines", "--fmin", "1", "--fmax", "2", "--db", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == f"cassis-lite: error: cannot read line database {bad}: file is not a database"
