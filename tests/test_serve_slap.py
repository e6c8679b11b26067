"""The SLAP 1.0 service of a running ``cassis-lite serve`` (a subprocess), queried with pyvo's SLAP
client (``pyvo.dal.SLAService``) and with ``cassis-lite slap``: the rows equal ``cassis-lite lines``
for the same range, for the bundled database and (DATABASE=full) a second database."""

from __future__ import annotations

import csv
import io
import re
import shutil
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request
import warnings

import astropy.units as u
import numpy as np
import pytest
from pyvo.dal import DALQueryError, SLAService
from pyvo.dal.exceptions import DALOverflowWarning

from cassis_lite.linedb import default_database_path
from paths import ROOT
from vo_cli import run_cli

C = 299_792_458.0


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    """A second line database: the bundled one reduced to CO and HCN (what --full-db points at)."""
    path = tmp_path_factory.mktemp("db") / "small.db"
    shutil.copy(default_database_path(), path)
    con = sqlite3.connect(path)
    con.execute("DELETE FROM transitions WHERE species_id NOT IN (SELECT id FROM species WHERE name IN ('CO', 'HCN'))")
    con.commit()
    con.execute("VACUUM")
    con.close()
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory, small_db):
    site = tmp_path_factory.mktemp("site")
    (site / "index.html").write_text("<!doctype html>")
    proc = subprocess.Popen([sys.executable, "-m", "cassis_lite", "serve", "--dir", str(site), "--port", "0",
                             "--full-db", str(small_db)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, cwd=ROOT)
    try:
        first = proc.stdout.readline()
        assert " at http://127.0.0.1:" in first, first
        base = first.split(" at ")[1].split()[0]
        assert "/slap" in proc.stdout.readline()
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def cli_lines(*args) -> list[dict]:
    """`cassis-lite lines --format csv` read with the csv module."""
    code, out, err = run_cli("lines", "--format", "csv", *args)
    assert code == 0, err
    return list(csv.DictReader(io.StringIO(out.decode())))


def assert_rows_equal(table, rows):
    """pyvo's answer (an astropy table) against the CLI's CSV rows, value by value."""
    assert len(table) == len(rows) > 0
    for name in ("freq_mhz", "aij", "eup_k", "elow_cm"):
        np.testing.assert_array_equal(np.asarray(table[name], float), [float(r[name]) for r in rows], err_msg=name)
    np.testing.assert_array_equal(np.asarray(table["gup"]), [int(r["gup"]) for r in rows])
    err = np.ma.filled(table["err_mhz"].astype(float), np.nan)
    np.testing.assert_array_equal(err, [float(r["err_mhz"]) if r["err_mhz"] else np.nan for r in rows])
    tags = np.ma.filled(table["tag"], -1)
    np.testing.assert_array_equal(tags, [int(r["tag"]) if r["tag"] else -1 for r in rows])
    for name in ("species", "qn", "source"):
        assert [str(x) for x in table[name]] == [r[name] for r in rows], name


def search(base, fmin_mhz, fmax_mhz, **params):
    service = SLAService(base + "slap")
    q = service.create_query([fmin_mhz, fmax_mhz] * u.MHz)  # pyvo turns it into WAVELENGTH in metres
    for k, v in params.items():
        q[k.upper()] = v
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # astropy finds the answer standard
        return q.execute()


def test_pyvo_slap_rows_equal_cassis_lite_lines(server):
    rows = cli_lines("--fmin", "86000", "--fmax", "90000")
    # bounds on catalogue frequencies: lines exactly at the edges are kept after MHz -> m -> MHz
    lo, hi = rows[0]["freq_mhz"], rows[-1]["freq_mhz"]
    res = search(server, float(lo), float(hi))
    assert_rows_equal(res.to_table(), rows)
    rec = res[0]
    assert rec.title == f"{rows[0]['species']} {rows[0]['qn']}"
    assert rec.species_name == rows[0]["species"]
    assert rec.wavelength.to_value(u.m) == pytest.approx(C / (float(lo) * 1e6), rel=1e-15)
    energy = res.to_table()["eup_j"][0]
    assert energy == pytest.approx((float(rows[0]["eup_k"]) * u.K).to_value(u.J, u.temperature_energy()), rel=1e-15)


def test_species_energy_and_aij_constraints(server):
    rows = cli_lines("--fmin", "80000", "--fmax", "300000", "--species", "HCO+", "CO", "--eup-max", "100",
                     "--aij-min", "1e-7")
    eup_j = float((100 * u.K).to_value(u.J, u.temperature_energy()))
    res = search(server, 80000, 300000, chemical_element="HCO+,CO", initial_level_energy=f"/{eup_j!r}",
                 einstein_a="1e-7/")
    assert_rows_equal(res.to_table(), rows)
    assert {r["species"] for r in rows} == {"HCO+", "CO"}
    # a URL typed by hand: '+' left as it is, and a species name with a space sent as '+'
    lam = f"{C / 300000e6!r}/{C / 80000e6!r}"
    url = f"{server}slap?REQUEST=queryData&WAVELENGTH={lam}&CHEMICAL_ELEMENT=HCO+,CO&EINSTEIN_A=1e-7/"
    with urllib.request.urlopen(url) as r:
        from astropy.io.votable import parse_single_table

        t = parse_single_table(io.BytesIO(r.read())).to_table()
    assert set(t["species"]) == {"HCO+", "CO"}
    with urllib.request.urlopen(f"{server}slap?REQUEST=queryData&WAVELENGTH=1e-9/&CHEMICAL_ELEMENT=13C+II,C%2B") as r:
        t = parse_single_table(io.BytesIO(r.read())).to_table()
    assert set(t["species"]) == {"13C II", "C+"}


def test_full_database(server, small_db):
    rows = cli_lines("--fmin", "80000", "--fmax", "400000", "--db", str(small_db))
    assert {r["species"] for r in rows} == {"CO", "HCN"}
    res = search(server, 80000, 400000, database="full")
    assert_rows_equal(res.to_table(), rows)
    assert len(search(server, 80000, 400000)) > len(rows)  # the bundled database by default


def test_maxrec_overflow_and_metadata(server):
    q = SLAService(server + "slap").create_query([80000, 300000] * u.MHz)
    q["MAXREC"] = 7
    with pytest.warns(DALOverflowWarning):
        res = q.execute()
    assert len(res) == 7
    np.testing.assert_array_equal(res.to_table()["freq_mhz"],
                                  [float(r["freq_mhz"]) for r in cli_lines("--fmin", "80000", "--fmax", "300000")[:7]])
    with urllib.request.urlopen(server + "slap?REQUEST=queryData&FORMAT=METADATA") as r:
        from astropy.io.votable import parse

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            table = parse(io.BytesIO(r.read()), verify="exception").get_first_table()
    assert {p.name for p in table.params} >= {"INPUT:WAVELENGTH", "INPUT:CHEMICAL_ELEMENT", "INPUT:MAXREC"}
    assert len(table.array) == 0
    assert {f.utype for f in table.fields} >= {"ssldm:Line.title", "ssldm:Line.wavelength.value"}


@pytest.mark.parametrize("query, message", [
    ("REQUEST=queryData", "WAVELENGTH (min/max in metres) is mandatory"),
    ("REQUEST=queryData&WAVELENGTH=2e-3/1e-3", "inverted range"),
    ("REQUEST=queryData&WAVELENGTH=abc", "not a number"),
    ("REQUEST=getData&WAVELENGTH=1e-3/2e-3", "REQUEST must be queryData"),
    ("REQUEST=queryData&WAVELENGTH=1e-3/2e-3&CHEMICAL_ELEMENT=XYZZY", "unknown species 'XYZZY'"),
    ("REQUEST=queryData&WAVELENGTH=1e-3/2e-3&DATABASE=other", "DATABASE must be one of"),
    ("REQUEST=queryData&WAVELENGTH=1e-3/2e-3&MAXREC=-1", "MAXREC must be >= 0"),
])
def test_errors_are_votables_with_query_status_error(server, query, message):
    from pyvo.dal.query import DALResults

    with urllib.request.urlopen(f"{server}slap?{query}") as r:
        assert r.status == 200 and r.headers["Content-Type"] == "application/x-votable+xml"
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert r.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        data = r.read()
    from astropy.io.votable import parse

    with pytest.raises(DALQueryError, match=re.escape(message)):
        DALResults(parse(io.BytesIO(data)), url=query)


def test_no_full_database_is_an_error(tmp_path):
    import threading

    from cassis_lite.commands.serve import make_server

    (tmp_path / "index.html").write_text("<!doctype html>")
    srv = make_server(tmp_path, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        q = SLAService(f"http://127.0.0.1:{srv.server_address[1]}/slap").create_query([86000, 90000] * u.MHz)
        q["DATABASE"] = "full"
        with pytest.raises(DALQueryError, match="no full database on this server"):
            q.execute()
    finally:
        srv.shutdown()
        srv.server_close()
    from cassis_lite.commands.serve import SiteError

    with pytest.raises(SiteError, match="--full-db .*nope.db: no such file"):
        make_server(tmp_path, "127.0.0.1", 0, quiet=True, full_db=tmp_path / "nope.db")


def test_cassis_lite_slap_client_equals_lines(server, small_db):
    import json

    want = run_cli("lines", "--fmin", "86000", "--fmax", "90000", "--format", "csv")[1]
    code, got, err = run_cli("slap", server + "slap", "--fmin", "86000", "--fmax", "90000", "--format", "csv")
    assert code == 0, err
    assert got == want and want.count(b"\n") > 10
    want = run_cli("lines", "--fmin", "80000", "--fmax", "300000", "--species", "HCO+", "CO", "--eup-max", "50",
                   "--format", "json")[1]
    code, got, err = run_cli("slap", server + "slap", "--fmin", "80000", "--fmax", "300000", "--species", "HCO+",
                             "--eup-max", "50", "--format", "json")
    assert code == 0, err
    w, g = json.loads(want), json.loads(got)
    # `lines` adds what the catalogue's columns give (observed frequency, S mu^2, log I(300 K),
    # citation): the SLAP client has the catalogue's columns, each equal
    columns = set(g["transitions"][0])
    assert columns < set(w["transitions"][0]) and {"freq_mhz", "aij", "eup_k", "gup", "qn"} <= columns
    assert g["transitions"] == [{k: t[k] for k in columns} for t in w["transitions"] if t["species"] == "HCO+"]
    assert g["count"] > 0
    full = run_cli("slap", server + "slap", "--fmin", "80000", "--fmax", "400000", "--database", "full",
                   "--format", "csv")[1]
    assert full == run_cli("lines", "--fmin", "80000", "--fmax", "400000", "--db", small_db, "--format", "csv")[1]
    code, over, err = run_cli("slap", server + "slap", "--fmin", "80000", "--fmax", "300000", "--maxrec", "3",
                              "--format", "csv")
    assert code == 0 and over.count(b"\n") == 4 and "truncated" in err
    code, _, err = run_cli("slap", server + "slap", "--fmin", "80000", "--fmax", "300000", "--species", "XYZZY")
    assert code == 2 and err.startswith("cassis-lite: error: the SLAP service answered an error: unknown species 'XYZZY'")
    code, _, err = run_cli("slap", "http://127.0.0.1:9/slap", "--fmin", "1", "--fmax", "2")
    assert code == 2 and "cannot reach http://127.0.0.1:9/slap" in err and "Traceback" not in err


def test_query_url_is_what_pyvo_sends(server):
    from cassis_lite.vo import slap

    url = slap.query_url(server + "slap", 86000, 90000, species=["HCO+", "C II"], eup_max_k=100, aij_min=1e-5,
                         maxrec=10, extra={"DATABASE": "full"})
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    lam = [float(x) for x in (np.array([90000, 86000]) * u.MHz).to_value(u.m, u.spectral())]
    assert params["REQUEST"] == "queryData" and params["WAVELENGTH"] == f"{lam[0]!r}/{lam[1]!r}"
    assert params["CHEMICAL_ELEMENT"] == "HCO+,C II"
    assert float(params["INITIAL_LEVEL_ENERGY"].lstrip("/")) == pytest.approx(
        (100 * u.K).to_value(u.J, u.temperature_energy()), rel=1e-15)
    assert params["EINSTEIN_A"] == "1e-05/" and params["MAXREC"] == "10" and params["DATABASE"] == "full"
    assert slap.query_url("http://x/slap?KEY=1", 1, 2).startswith("http://x/slap?KEY=1&REQUEST=queryData")
