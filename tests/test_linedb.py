"""The bundled line database (built by `make db`) through the Python API."""

from __future__ import annotations

import math
import shutil
import sqlite3

import numpy as np
import pytest

from cassis_lite.constants import CM1_TO_K, CM1_TO_MHZ
from cassis_lite.errors import CassisError
from cassis_lite.linedb import (
    AmbiguousSpeciesError,
    DatabaseError,
    LineDatabase,
    PartitionRangeError,
    QueryError,
    UnknownSpeciesError,
    default_database_path,
)


@pytest.fixture(scope="module")
def db():
    path = default_database_path()
    assert path.is_file(), f"{path} missing: run `make db`"
    d = LineDatabase(path)
    yield d
    d.close()


@pytest.fixture(scope="module")
def everything(db):
    return db.transitions(0.0, 1e20)


# ------------------------------------------------------------------------------- content
@pytest.mark.parametrize("name", ["CO", "HCO+", "HCN", "HNC", "CS", "SiO", "SO", "SO2", "HC3N", "H2O",
                                  "NH3", "OH, v=0", "CH3OH", "o-c-C3H2", "p-c-C3H2", "C", "C+", "O",
                                  "OH+", "o-H2S", "H I", "Fe II"])
def test_expected_species_present(db, name):
    sp = db.find_species(name)
    assert sp.n_lines > 0
    assert len(db.transitions(0, 1e20, species=[sp])) == sp.n_lines


def test_error_classes_are_cassis_errors():
    for cls in (AmbiguousSpeciesError, DatabaseError, PartitionRangeError, QueryError, UnknownSpeciesError):
        assert issubclass(cls, CassisError)


def test_co_1_0_against_cdms(db):
    t = db.transitions(115271.0, 115272.0, species=["CO"])
    assert len(t) == 1
    assert t.freq_mhz[0] == 115271.2018
    assert math.log10(t.aij[0]) == pytest.approx(-7.1425, abs=0.0043)  # within 1 %
    assert t.gup[0] == 3 and t.elow_cm[0] == 0.0
    assert t.eup_k[0] == pytest.approx(5.532, abs=1e-3)
    assert t.tags[0] == 28503 and t.qn[0] == "1 -> 0" and t.sources[0] == "LAMDA"


def test_cdms_species_keep_all_catalogue_lines(db):
    # catalogue identity: as many transitions as lines in the .cat file
    assert db.find_species("CH3OH").n_lines == 38743
    assert db.find_species("SiO").n_lines == 1190
    assert db.find_species("NH3").n_lines == 346
    assert db.find_species(17507).n_lines == 1028


def test_eup_is_elow_plus_h_nu(everything):
    calc = (everything.elow_cm + everything.freq_mhz / CM1_TO_MHZ) * CM1_TO_K
    np.testing.assert_allclose(everything.eup_k, calc, rtol=2e-3, atol=0.05)


def test_physical_ranges(everything):
    assert np.all(everything.aij > 0)
    assert np.all(everything.gup >= 1)
    assert np.all(everything.elow_cm >= 0)
    assert np.all(np.diff(everything.freq_mhz) >= 0)
    e = everything.err_mhz
    assert np.all((e >= 0) | np.isnan(e))
    lens = {len(getattr(everything, f)) for f in ("species_id", "freq_mhz", "err_mhz", "aij", "elow_cm",
                                                   "eup_k", "gup", "qn", "species_names", "tags", "sources")}
    assert lens == {len(everything)}


# ------------------------------------------------------------------------------ queries
def test_filters_match_numpy_selection(db, everything):
    """SQL filters against the same selection done in NumPy on the full table."""
    fmin, fmax = 200_000.0, 300_000.0
    sel = db.transitions(fmin, fmax, species=["CH3OH", "SO2"], eup_max_k=150.0, aij_min=1e-5)
    ids = {db.find_species("CH3OH").id, db.find_species("SO2").id}
    a = everything
    m = ((a.freq_mhz >= fmin) & (a.freq_mhz <= fmax) & np.isin(a.species_id, list(ids))
         & (a.eup_k <= 150.0) & (a.aij >= 1e-5))
    assert len(sel) == int(m.sum()) > 10
    np.testing.assert_array_equal(sel.freq_mhz, a.freq_mhz[m])
    np.testing.assert_array_equal(sel.species_names, a.species_names[m])
    assert set(sel.species_names) == {"CH3OH, vt=0-2", "SO2"}


def test_source_filter(db, everything):
    t = db.transitions(0, 1e20, source="LAMDA")
    assert len(t) == int((everything.sources == "LAMDA").sum()) > 1000
    assert set(t.sources) == {"LAMDA"}
    with pytest.raises(QueryError, match="unknown source database 'NIST'"):
        db.transitions(0, 1, source="NIST")


def test_window_edges_inclusive(db):
    f = 115271.2018
    assert len(db.transitions(f, f, species="CO")) == 1
    assert len(db.transitions(f + 1e-4, f + 1, species="CO")) == 0


def test_mask_and_index(db):
    t = db.transitions(80_000, 120_000)
    m = t.aij > 1e-5
    sub = t[m]
    assert len(sub) == int(m.sum())
    np.testing.assert_array_equal(sub.qn, t.qn[m])
    one = t[3]
    assert len(one) == 1 and one.freq_mhz[0] == t.freq_mhz[3]
    assert t[-1].freq_mhz[0] == t.freq_mhz[-1]


def test_empty_result_has_right_types(db):
    t = db.transitions(1.0, 1.0001, species=["CO"])
    assert len(t) == 0 and t.freq_mhz.dtype == float and t.qn.shape == (0,)


def test_inverted_range_is_an_error(db):
    with pytest.raises(QueryError, match="inverted frequency range"):
        db.transitions(2.0, 1.0)
    with pytest.raises(QueryError):
        db.transitions(float("nan"), 1.0)


# ------------------------------------------------------------------------------ species
def test_species_search(db):
    names = [s.name for s in db.species("c3h2")]
    assert names == ["o-c-C3H2", "p-c-C3H2"]
    assert [s.name for s in db.species("28503")] == ["CO"]
    assert len(db.species()) == db.info()["species"]


def test_find_species_by_tag_name_formula(db):
    assert db.find_species(28503).name == "CO"
    assert db.find_species("28503").name == "CO"
    assert db.find_species("-28503").name == "CO"  # negative tag as written in a .cat line
    assert db.find_species("co").name == "CO"
    assert db.find_species("CH3OH").name == "CH3OH, vt=0-2"
    sp = db.find_species("SiO")
    assert db.find_species(sp) is sp


def test_ambiguous_species_lists_candidates(db):
    # the tie rule: a plain formula means the ground state (OH, v=1 and v=2 are states of it)
    assert db.find_species("OH").name == "OH, v=0"
    # two ground states of one source (ortho and para) stay a tie
    with pytest.raises(AmbiguousSpeciesError) as exc:
        db.find_species("H2CO")
    msg = str(exc.value)
    assert "'o-H2CO'" in msg and "'p-H2CO'" in msg and "\n" not in msg


def test_unknown_species(db):
    with pytest.raises(UnknownSpeciesError, match="unknown species 'XyZ9'"):
        db.find_species("XyZ9")
    with pytest.raises(UnknownSpeciesError, match="no species with tag 99999"):
        db.find_species(99999)
    with pytest.raises(UnknownSpeciesError):
        db.transitions(1, 2, species=["nothing-like-this"])


# --------------------------------------------------------------------- one species rule
def test_one_species_in_two_sources_is_one_species(db):
    assert [s.name for s in db.species("SiO")] == ["SiO, v=0-10"]
    prov = {(p["file"].rsplit("/", 1)[-1], p["role"]) for p in db.provenance("SiO")}
    assert ("c044505.cat", "primary") in prov and ("sio.dat", "superseded") in prov
    prov = {(p["file"].rsplit("/", 1)[-1], p["role"]) for p in db.provenance("NH3")}
    assert {("o-nh3.dat", "superseded"), ("p-nh3.dat", "superseded")} <= prov
    # CO: LAMDA (40 lines) preferred over an 8-line JPL query extract
    prov = {(p["file"].rsplit("/", 1)[-1], p["role"]) for p in db.provenance("CO")}
    assert ("co.dat", "primary") in prov and ("CO.data", "superseded") in prov


def test_atom_merges_lamda_and_morton_lines(db):
    t = db.transitions(0, 1e20, species=["C"])
    assert set(t.sources) == {"LAMDA", "Morton2003"}
    fs = t[t.sources == "LAMDA"]
    assert len(fs) == 3 and fs.freq_mhz[0] == pytest.approx(492160.651)
    assert fs.aij[0] == 7.880e-08
    uv = t[t.sources == "Morton2003"]
    # Morton lower levels are the LAMDA fine-structure levels (0, 16.4, 43.4 cm^-1)
    assert set(np.round(uv.elow_cm, 1)) <= {0.0, 16.4, 43.4}


def test_repaired_lamda_level_is_recorded(db):
    sp = db.find_species("o-H2S")
    assert "level 16 (4_4_1)" in sp.note
    t = db.transitions(3_016_000, 3_016_100, species=[sp])
    assert t.eup_k[0] == pytest.approx(195.66 * CM1_TO_K, rel=1e-3)


def test_repaired_lamda_weight_gives_right_low_temperature_q(db):
    # hcl.dat says g = 1.3 for J=0, F=3/2; at 2.725 K only that level is populated: Q = 2F+1 = 4
    pf = db.partition_function("HCl")
    assert pf.method == "levels"
    assert pf.q(2.725) == pytest.approx(4.0, rel=1e-4)  # J=1 (30 K) adds 12 e^-11 = 2e-4
    assert "weight 1.3" in db.find_species("HCl").note


# --------------------------------------------------------------------- partition function
def test_partition_function_table_nodes_and_loglog_interpolation(db):
    pf = db.partition_function("CO", partition="catalogue")
    assert pf.interpolation == "loglog" and pf.kind == "catalogue"
    t, lq = pf.temperatures_k, pf.log10_q
    assert t[0] == 2.725 and t[-1] == 1000.0
    np.testing.assert_allclose(pf.q(t), 10.0**lq, rtol=1e-12)
    # between nodes: straight line in (log T, log Q)
    tm = math.sqrt(t[5] * t[6])
    assert pf.log10_q_at(tm) == pytest.approx(0.5 * (lq[5] + lq[6]), abs=1e-12)
    assert isinstance(pf.q(100.0), float)
    assert pf.q(np.array([[10.0, 100.0]])).shape == (1, 2)


def test_partition_function_against_linear_rotor(db):
    # CO: Q ~ kT/(hB) + 1/3 for kT >> hB, B = 57635.968 MHz (analytic high-T limit)
    q = db.partition_function("CO").q(300.0)
    b_k = 57635.968 / CM1_TO_MHZ * CM1_TO_K
    assert q == pytest.approx(300.0 / b_k + 1.0 / 3.0, rel=3e-3)


def test_partition_function_out_of_range(db):
    pf = db.partition_function("CO")
    with pytest.raises(PartitionRangeError) as exc:
        pf.q(2000.0)
    msg = str(exc.value)
    assert "'CO'" in msg and "2.725-1000 K" in msg and "2000" in msg
    with pytest.raises(PartitionRangeError, match="T = 1 K"):
        pf.q([10.0, 1.0])
    with pytest.raises(PartitionRangeError):
        pf.q(float("nan"))


def test_levels_partition_function_stops_at_truncation(db):
    pf = db.partition_function("SiC2")
    assert pf.method == "levels" and pf.truncation_k is not None
    assert pf.t_range_k[1] == pf.truncation_k
    assert pf.q(pf.truncation_k) > pf.q(pf.truncation_k / 2)
    with pytest.raises(PartitionRangeError):
        pf.q(pf.truncation_k * 1.5)


def test_species_without_partition_function(db):
    with pytest.raises(PartitionRangeError, match="no partition function for 'H I'"):
        db.partition_function("H I").q(100.0)


# ---------------------------------------------------------------------- bad files, info
def test_missing_database(tmp_path):
    with pytest.raises(DatabaseError, match="not found"):
        LineDatabase(tmp_path / "nope.db")


def test_corrupt_database(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="file is not a database"):
        LineDatabase(bad)


def test_truncated_database(tmp_path):
    src = default_database_path()
    cut = tmp_path / "cut.db"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 3])
    with pytest.raises(DatabaseError):
        d = LineDatabase(cut)
        d.transitions(0, 1e20)


def test_foreign_sqlite_file(tmp_path):
    p = tmp_path / "other.db"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE x (a)")
    con.commit()
    con.close()
    with pytest.raises(DatabaseError, match="not a CASSIS lite line database"):
        LineDatabase(p)


def test_info(db):
    info = db.info()
    assert info["species"] == len(db.species())
    assert info["transitions"] == sum(s.n_lines for s in db.species())
    versions = {}
    for s in info["sources"]:
        versions.setdefault(s["name"], set()).add((s["package"], s["version"]))
    assert versions["CDMS"] == {("linecat", "0.14.1")}
    # one database, four packages: lines from spectralradex and keylimepie, collision rates also
    # from pdspy and pythonradex
    assert versions["LAMDA"] == {("spectralradex", "1.1.5"), ("keylimepie", "1.2"), ("pdspy", "2.0.8"),
                                 ("pythonradex", "2.0.2")}
    assert info["meta"]["schema_version"] == "3"


def test_non_lte_tables_live_beside_the_line_database(db):
    """The collision rates are a file of their own (the browser fetches it after the first
    screen), attached on first use: the line database alone stays small."""
    import sqlite3

    from cassis_lite.linedb.schema import collisions_path

    main_tables = {r[0] for r in sqlite3.connect(db.path).execute("SELECT name FROM sqlite_master")}
    assert not any(t.startswith("collision_") for t in main_tables)
    assert collisions_path(db.path).is_file() and db.path.stat().st_size < 6_000_000
    assert len(db.collision_species()) >= 50 and db.collision_data("CO").n_levels > 20


def test_env_var_selects_database(tmp_path, monkeypatch):
    copy = tmp_path / "copy.db"
    shutil.copy(default_database_path(), copy)
    monkeypatch.setenv("CASSIS_LITE_DB", str(copy))
    assert LineDatabase().path == copy


def test_path_with_uri_special_characters(tmp_path):
    d = tmp_path / "a dir?with#odd%chars"
    d.mkdir()
    copy = d / "lines.db"
    shutil.copy(default_database_path(), copy)
    t = LineDatabase(copy).transitions(115271, 115272, species="CO")
    assert len(t) == 1


@pytest.mark.parametrize("ion,wave_a,f_osc,gamma_s", [
    # Morton 2003, ApJS 149, 205, table 2 (published values)
    ("C IV", 1548.204, 0.1899, 2.643e8),
    ("C IV", 1550.781, 0.09475, 2.628e8),
    ("H I", 1215.6682, 0.2776, 6.265e8),
    ("Mg II", 2796.3543, 0.6155, 2.625e8),
    ("Fe II", 2382.7652, 0.320, 3.13e8),
])
def test_absorption_lines_carry_mortons_f_and_gamma(line_db, ion, wave_a, f_osc, gamma_s):
    a = line_db.absorption_lines(ion, wave_a - 0.001, wave_a + 0.001)
    assert len(a["wave_vac_a"]) == 1, a
    assert a["wave_vac_a"][0] == pytest.approx(wave_a, abs=1e-4)
    assert a["f_osc"][0] == pytest.approx(f_osc, rel=1e-3)
    assert a["gamma_s"][0] == pytest.approx(gamma_s, rel=1e-3)
    assert a["source"] == ["Morton2003"]
    # f and A are one pair: A = 0.6670e16 g_l f / (g_u lambda^2) (Morton's eq. with lambda in A)
    assert a["aij"][0] == pytest.approx(0.6670e16 * a["gl"][0] * f_osc / (a["gu"][0] * wave_a**2), rel=3e-3)


def test_absorption_lines_of_a_molecule_are_empty_and_unknown_ions_refused(line_db):
    assert len(line_db.absorption_lines("CO")["wave_vac_a"]) == 0
    with pytest.raises(Exception, match="unknown species|no species"):
        line_db.absorption_lines("Xx IX")
