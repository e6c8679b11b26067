"""Import of a database of CASSIS's own schema (catdir, transitions, cassis_parti_funct)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from cassis_lite.cli import main
from cassis_lite.linedb import DatabaseError, LineDatabase, import_cassis

# CO lines of CDMS tag 28503 (frequency, error, log10 A, E_low cm^-1, g_up, J_up) and its Q table
CO = [(115271.2018, 0.0005, -7.1425, 0.0, 3, 1), (230538.0, 0.0005, -6.1605, 3.845, 5, 2),
      (345795.9899, 0.0005, -5.6026, 11.535, 7, 3)]
CO_Q = [(2.725, 0.1478), (9.375, 0.5733), (37.5, 1.1429), (150.0, 1.737), (300.0, 2.0369), (1000.0, 2.5595)]


def make_cassis_db(path):
    """A small database with the table and column names of CASSIS's SQLite file."""
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE cassis_databases (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE catdir (id INTEGER PRIMARY KEY, speciesid INTEGER, name TEXT, id_database INTEGER,
                             ntrans INTEGER);
        CREATE TABLE transitions (id_transitions INTEGER PRIMARY KEY, fMHz REAL, err REAL, aint REAL,
                                  elow REAL, eup REAL, igu INTEGER, catdir_id INTEGER, qn TEXT,
                                  id_database INTEGER, gamma_self REAL, gamma_self_error REAL);
        CREATE TABLE cassis_parti_funct (catdir_id INTEGER, temp REAL, qlog REAL);
    """)
    con.executemany("INSERT INTO cassis_databases VALUES (?, ?)", [(1, "CDMS"), (2, "JPL")])
    con.executemany("INSERT INTO catdir VALUES (?, ?, ?, ?, ?)",
                    [(10, 28503, "CO", 1, 3), (11, 28001, "CO", 2, 1), (12, 32504, "CH3OH, vt=0-2", 1, 1)])
    rows = []
    for i, (f, e, la, el, g, j) in enumerate(CO):
        eup = el * 1.4387769 + f * 4.799243e-5
        rows.append((i + 1, f, e, 10**la, el, eup, g, 10, f"{j}:{j - 1}", 1, None, None))
    rows.append((10, 115271.2018, 0.0005, 7.2035e-08, 0.0, 5.53, 3, 11, "1:0", 2, None, None))
    rows.append((11, 96741.371, 0.003, 3.4e-06, 2.3, 6.96, 20, 12, "2:0:2:0:1:0:1:0", 1, None, None))
    rows.append((12, 96741.5, 0.003, 1e-6, 2.3, None, 20, 99, "orphan", 1, None, None))  # no catdir entry
    con.executemany("INSERT INTO transitions VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.executemany("INSERT INTO cassis_parti_funct VALUES (10, ?, ?)", CO_Q)
    con.commit()
    con.close()


@pytest.fixture
def cassis_db(tmp_path):
    p = tmp_path / "cassis.db"
    make_cassis_db(p)
    return p


def test_import_cassis_database(cassis_db, tmp_path):
    out = tmp_path / "lite.db"
    res = import_cassis(cassis_db, out)
    assert res == {"species": 3, "transitions": 5, "skipped": 1}
    db = LineDatabase(out)
    names = sorted(s.name for s in db.species())
    assert names == ["CH3OH, vt=0-2", "CO (CDMS)", "CO (JPL)"]
    co = db.find_species(28503)
    assert co.name == "CO (CDMS)" and co.source == "CDMS" and co.n_lines == 3
    t = db.transitions(0, 1e6, species=[co])
    np.testing.assert_array_equal(t.freq_mhz, [r[0] for r in CO])
    np.testing.assert_allclose(np.log10(t.aij), [r[2] for r in CO], atol=1e-12)
    np.testing.assert_array_equal(t.gup, [r[4] for r in CO])
    np.testing.assert_array_equal(t.err_mhz, [r[1] for r in CO])
    assert list(t.qn) == ["1:0", "2:1", "3:2"] and set(t.sources) == {"CDMS"}
    # the two catalogues of CO stay two entries, as in CASSIS; a bare "CO" is the CDMS one by the
    # tie rule (source priority CDMS > JPL, LineDatabase.find_species)
    assert db.find_species("CO").name == "CO (CDMS)"
    every = db.transitions(0, 1e6)  # rows were inserted out of frequency order
    assert np.all(np.diff(every.freq_mhz) >= 0) and len(every) == 5
    assert every.species_names[0] == "CH3OH, vt=0-2"
    # equal frequencies (CO in both catalogues) come in species-id order
    same = every[every.freq_mhz == 115271.2018]
    assert list(same.species_id) == sorted(same.species_id) and len(same) == 2
    jpl = db.transitions(0, 1e6, species=[28001])
    assert jpl.sources.tolist() == ["JPL"]


def test_imported_partition_function(cassis_db, tmp_path):
    out = tmp_path / "lite.db"
    import_cassis(cassis_db, out)
    pf = LineDatabase(out).partition_function(28503)
    np.testing.assert_array_equal(pf.temperatures_k, [t for t, _ in CO_Q])
    assert pf.q(300.0) == pytest.approx(10**2.0369, rel=1e-12)
    # log-log interpolation between 150 and 300 K
    t = 212.0
    expect = 1.737 + (2.0369 - 1.737) * (np.log10(t) - np.log10(150)) / (np.log10(300) - np.log10(150))
    assert pf.log10_q_at(t) == pytest.approx(expect, abs=1e-12)
    with pytest.raises(Exception, match="2.725-1000 K"):
        pf.q(1500.0)
    with pytest.raises(Exception, match="no partition function"):
        LineDatabase(out).partition_function(28001).q(100.0)


def test_import_from_cli_then_query(cassis_db, tmp_path, capsys):
    out = tmp_path / "cli.db"
    assert main(["db", "import-cassis", str(cassis_db), "--out", str(out)]) == 0
    assert "3 species, 5 transitions" in capsys.readouterr().out
    assert main(["lines", "--fmin", "96000", "--fmax", "97000", "--db", str(out), "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 2 and rows[1].startswith('"CH3OH, vt=0-2",32504,96741.371,0.003,')


def test_import_rejects_non_cassis_files(tmp_path, capsys):
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE catdir (id INTEGER, name TEXT)")
    con.execute("CREATE TABLE transitions (fMHz REAL, catdir_id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(DatabaseError, match="lacks column"):
        import_cassis(other, tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 50)
    assert main(["db", "import-cassis", str(garbage), "--out", str(tmp_path / "y.db")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cassis-lite: error: ") and err.count("\n") == 1
    with pytest.raises(DatabaseError, match="not found"):
        import_cassis(tmp_path / "missing.db", tmp_path / "z.db")


def test_opening_a_cassis_file_directly_suggests_import(cassis_db):
    with pytest.raises(DatabaseError, match="import-cassis"):
        LineDatabase(cassis_db)
