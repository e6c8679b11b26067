"""The full line catalogue (build/full.db, `make db-full`, docs/fulldb.md) on the real built file.

The file is built once (build_scripts/build_fulldb.py, a few minutes, sources cached in
.cache/sources) if it is missing or older than its builder or manifest. The Splatalogue list
codes (ll_id) are checked here against independent lines: CDMS and JPL catalogue files of other
wheels, the Rydberg formula, the bundled database.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

from cassis_lite.constants import C_LIGHT, HK_MHZ
from cassis_lite.errors import PartitionRangeError
from cassis_lite.linedb import LineDatabase, formats
from tests.linedb_sources import source_text

ROOT = Path(__file__).resolve().parent.parent
FULL = ROOT / "build" / "full.db"
BUNDLED = ROOT / "cassis_lite" / "data" / "cassis_lite.db"
SCRIPT = ROOT / "build_scripts" / "build_fulldb.py"

# `make site` builds build/full.db (and serves it as site/db/full.db); built here if missing
pytestmark = [pytest.mark.site, pytest.mark.slow]


def _builder():
    spec = importlib.util.spec_from_file_location("build_fulldb", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def full_path():
    inputs = [SCRIPT, ROOT / "data" / "sources.json", BUNDLED]
    if not FULL.is_file() or FULL.stat().st_mtime < max(p.stat().st_mtime for p in inputs):
        subprocess.run([sys.executable, str(SCRIPT), "--out", str(FULL), "--bundled", str(BUNDLED)], check=True)
    return FULL


@pytest.fixture(scope="module")
def full(full_path):
    with LineDatabase(full_path) as db:
        yield db


@pytest.fixture(scope="module")
def con(full_path):
    c = sqlite3.connect("file:" + urllib.parse.quote(full_path.as_posix()) + "?mode=ro&immutable=1", uri=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def dump():
    """The Splatalogue dump itself (the verified member of the casadata wheel)."""
    b = _builder()
    m = json.loads((ROOT / "data" / "sources.json").read_text(encoding="utf-8"))
    dist = next(d for d in m["distributions"] if d["package"] == "casadata")
    path = b.extract_member(dist, b.SPLAT_MEMBER)
    c = sqlite3.connect("file:" + urllib.parse.quote(path.as_posix()) + "?mode=ro&immutable=1", uri=True)
    yield c
    c.close()


def _dump_lines(dump, ll_id, fmin, fmax):
    return dump.execute("SELECT m.orderedfreq, m.intintensity, m.aij, m.lower_state_energy, m.upper_state_degeneracy, "
                        "s.s_name FROM main m JOIN species s USING (species_id) WHERE m.ll_id = ? AND "
                        "m.orderedfreq BETWEEN ? AND ?", (ll_id, fmin, fmax)).fetchall()


# ------------------------------------------------------------------ the ll_id mapping
def test_list_10_is_cdms(dump):
    """SiO v=0 J=5-4 and 6-5: frequency and LGINT of CDMS c044505 (linecat's copy of the CDMS file)."""
    cat = [ln for ln in formats.parse_cat(source_text("linecat", "linecat/data/molecules/SiO/c044505.cat"))
           if ln.qn_up[:2] in ((5, 0), (6, 0)) and ln.elow_cm < 30]
    assert len(cat) == 2
    for ln in cat:
        rows = [r for r in _dump_lines(dump, 10, ln.freq_mhz - 0.5, ln.freq_mhz + 0.5) if "SiO" in r[5]]
        assert len(rows) == 1, rows
        assert abs(float(rows[0][1]) - ln.lgint) < 0.01
        assert int(rows[0][4]) == ln.gup
    assert not [r for r in _dump_lines(dump, 12, cat[0].freq_mhz - 0.5, cat[0].freq_mhz + 0.5) if "SiO" in r[5]]


def test_list_12_is_jpl(dump):
    """H2O lines of astroquery's JPL 18003 answer (500-1000 GHz): same frequency (0.5 MHz), E_low, g_up."""
    jpl = [ln for ln in formats.parse_cat(source_text("astroquery", "astroquery/jplspec/tests/data/multi.data"))
           if abs(ln.tag) == 18003 and ln.elow_cm < 3000]
    assert len(jpl) >= 9
    rows = np.array([(float(r[0]), float(r[3]), float(r[4])) for r in _dump_lines(dump, 12, 5e5, 1e6)
                     if r[5] == "H2O v=0"])
    found = sum(bool(np.any((np.abs(rows[:, 0] - ln.freq_mhz) < 0.5) & (np.abs(rows[:, 1] - ln.elow_cm) < 0.01)
                            & (rows[:, 2] == ln.gup))) for ln in jpl)
    assert found >= 0.8 * len(jpl)  # 15 of 18 today: a few high levels revised after 2011


def test_list_15_is_recombination(dump):
    """H30alpha, H41alpha and He30alpha at the Rydberg frequencies nu = R_M c (1/n^2 - 1/(n+1)^2),
    R_M = R_inf / (1 + m_e/M) (CODATA 2018), to 1e-6."""
    r_inf, me_u = 10973731.568160, 5.48579909065e-4  # m^-1, electron mass in u
    for name, n, mass_u in (("H(alpha)", 30, 1.00727646688), ("H(alpha)", 41, 1.00727646688),
                            ("He(alpha)", 30, 4.001506179127)):
        nu = r_inf / (1 + me_u / mass_u) * C_LIGHT * (1 / n**2 - 1 / (n + 1) ** 2) / 1e6
        rows = [r for r in _dump_lines(dump, 15, nu * (1 - 1e-5), nu * (1 + 1e-5)) if r[5] == name]
        assert len(rows) == 1, (name, n, rows)
        assert float(rows[0][0]) == pytest.approx(nu, rel=1e-6)


def test_list_14_is_slaim_and_11_lovas(dump):
    """14: a list with S mu^2-derived A for most rows, intensities rarely, and Lovas's observed
    intensities (SLAIM); CO 1-0 at the LAMDA/CDMS frequency. 11: positions and observed
    intensities only (Lovas/NIST recommended frequencies of lines seen in space)."""
    co = [r for r in _dump_lines(dump, 14, 115271.0, 115271.5) if r[5].startswith("CO ")]
    assert len(co) == 1 and abs(float(co[0][0]) - 115271.2018) < 0.005
    assert 10 ** float(co[0][2]) == pytest.approx(7.2e-8, rel=0.02)
    n, n_int, n_a, n_obs = dump.execute(
        "SELECT COUNT(*), SUM(intintensity != 'NULL'), SUM(typeof(aij) = 'real'), SUM(obsintensity_Lovas_NIST != 'NULL') "
        "FROM main WHERE ll_id = 14").fetchone()
    assert n_int < 0.05 * n and n_a > 0.99 * n and n_obs > 1000
    n, n_a, n_obs, n_space = dump.execute(
        "SELECT COUNT(*), SUM(typeof(aij) = 'real'), SUM(obsintensity_Lovas_NIST != 'NULL'), SUM(transition_in_space) "
        "FROM main WHERE ll_id = 11").fetchone()
    assert n_a == 0 and n_obs == n == n_space


def test_list_18_is_nh3_hyperfine(dump, full):
    """18: NH3 (1,1) hyperfine components, on the bundled CDMS NH3's frequencies; superseded by it."""
    rows = dump.execute("SELECT m.orderedfreq, m.resolved_QNs, s.s_name FROM main m JOIN species s USING (species_id) "
                        "WHERE m.ll_id = 18").fetchall()
    assert {r[2] for r in rows} == {"NH3 v=0"} and len(rows) == 632
    assert all("F=" in r[1] for r in rows)  # hyperfine resolved
    with LineDatabase(BUNDLED) as b:
        ref = np.sort(b.transitions(1e3, 1e7, species=["NH3, v=0"]).freq_mhz)
    main = [float(r[0]) for r in rows if abs(float(r[0]) - 23694.4955) < 0.01]  # (1,1) main hyperfine group
    assert len(main) == 2 and np.min(np.abs(ref - main[0])) < 0.01
    prov = full.provenance("NH3, v=0")
    assert any("ll_id 18" in p["file"] and p["role"] == "superseded" for p in prov)


# --------------------------------------------------------------- content of full.db
def test_counts_by_source(full, con):
    n_by = dict(con.execute("SELECT o.name, COUNT(*) FROM transitions t JOIN sources o ON o.id = t.source_id "
                            "GROUP BY o.name"))
    sp_by = dict(con.execute("SELECT o.name, COUNT(*) FROM species s JOIN sources o ON o.id = s.source_id GROUP BY o.name"))
    assert n_by["CDMS (Splatalogue)"] > 300_000 and sp_by["CDMS (Splatalogue)"] > 150
    assert n_by["JPL (Splatalogue)"] > 450_000 and sp_by["JPL (Splatalogue)"] > 60
    assert n_by["SLAIM (Splatalogue)"] > 90_000 and n_by["Recombination (Splatalogue)"] == 6513
    assert n_by["van Hoof"] > 1_000_000 and sp_by["van Hoof"] > 300
    assert n_by["CDMS"] == 42_860  # the bundled CDMS files, unchanged
    assert sum(n_by.values()) == full.info()["transitions"] > 2_000_000
    # the citations table counts the same lines
    cit = dict(con.execute("SELECT source_id, n_lines FROM citations"))
    per_id = dict(con.execute("SELECT source_id, COUNT(*) FROM transitions GROUP BY source_id"))
    assert {k: v for k, v in cit.items() if v} == per_id


def test_citations(full, con):
    """Every source a line comes from has a citation, a URL and a licence."""
    rows = con.execute("SELECT c.database, c.citation, c.url, c.licence FROM citations c WHERE c.n_lines > 0").fetchall()
    assert {r[0] for r in rows} >= {"CDMS", "LAMDA", "Morton2003", "CDMS (Splatalogue)", "JPL (Splatalogue)",
                                    "SLAIM (Splatalogue)", "Recombination (Splatalogue)", "van Hoof"}
    for db, cite, url, lic in rows:
        assert cite and url and lic, db
    vh = next(r for r in rows if r[0] == "van Hoof")
    assert "Galaxies 6, 63" in vh[1]
    assert all("Remijan" in r[1] for r in rows if "Splatalogue" in r[0])


def test_bundled_species_unchanged(full):
    """A CDMS species present in both databases has the same lines (frequency, E_up, A, g_up) and Q."""
    with LineDatabase(BUNDLED) as b:
        for name in ("CH3OH, vt=0-2", "SiO, v=0-10", "NH3, v=0", "OH, v=0"):
            for fmin, fmax in ((2e4, 4e4), (2e5, 3e5), (4e5, 1e6)):
                tb = b.transitions(fmin, fmax, species=[name])
                tf = full.transitions(fmin, fmax, species=[name])
                assert len(tb) == len(tf)
                cols = ("freq_mhz", "eup_k", "aij", "gup", "elow_cm", "qn", "sources")
                # the same rows, bit for bit (lines at one frequency may come in another order)
                assert sorted(zip(*(getattr(tb, c).tolist() for c in cols))) == \
                    sorted(zip(*(getattr(tf, c).tolist() for c in cols)))
                np.testing.assert_array_equal(tb.freq_mhz, tf.freq_mhz)
            assert full.find_species(name).tag == b.find_species(name).tag
            np.testing.assert_array_equal(full.partition_function(name).log10_q, b.partition_function(name).log10_q)
        # LAMDA CO too
        np.testing.assert_array_equal(b.transitions(1e5, 1e6, species=["CO"]).aij,
                                      full.transitions(1e5, 1e6, species=["CO"]).aij)


def test_known_lines(full):
    """Lines of each list found by frequency, with their source."""
    def one(fmin, fmax, name, source):
        t = full.transitions(fmin, fmax)
        hit = [i for i in range(len(t)) if t.species_names[i] == name]
        assert len(hit) >= 1, (name, list(zip(t.species_names, t.freq_mhz)))
        assert t.sources[hit[0]] == source
        return t[hit[0]]

    # H2O 22 GHz and 183 GHz: the complete JPL list replaced the bundled 500-1000 GHz extract
    h2o = one(22235.0, 22235.2, "H2O", "JPL (Splatalogue)")
    assert h2o.freq_mhz[0] == pytest.approx(22235.08, abs=0.01)
    one(183310.0, 183310.2, "H2O", "JPL (Splatalogue)")
    assert full.find_species("H2O").tag == 18003
    # a CDMS species absent from the bundled database: CP N=5-4 (CDMS 43501); HC3N is the bundled LAMDA one
    cp = full.find_species("CP")
    assert cp.source == "CDMS (Splatalogue)" and cp.tag == 43501
    assert full.find_species("HC3N").source == "LAMDA"
    assert any("ll_id 10" in p["file"] and p["role"] == "superseded" for p in full.provenance("HC3N"))
    one(238834.0, 239100.0, "CP", "CDMS (Splatalogue)")
    one(231900.9, 231901.0, "H(alpha)", "Recombination (Splatalogue)")
    # SLAIM: CH3OCH3 (no intensities in the dump) at its SLAIM frequency; no partition function
    t = full.transitions(231901.9, 231902.0, species=["CH3OCH3"])
    assert len(t) == 1 and t.sources[0] == "SLAIM (Splatalogue)"
    # van Hoof: [O III] 5006.843 A (air) = 5008.240 A vacuum, merged into the Morton O III species
    nu = C_LIGHT / 5008.240e-10 / 1e6
    o3 = one(nu * (1 - 2e-6), nu * (1 + 2e-6), "O III", "van Hoof")
    assert o3.aij[0] == pytest.approx(1.812e-2, rel=1e-3)
    # Ca I (not in the bundled database): a van Hoof species of its own
    ca = full.find_species("Ca I")
    assert ca.source == "van Hoof" and ca.n_lines > 1000


def test_duplicates_rule(con):
    """No exact duplicate rows; coinciding (species, frequency) rows with other quantum numbers kept."""
    exact = con.execute("SELECT COUNT(*) FROM (SELECT 1 FROM transitions GROUP BY species_id, source_id, freq_mhz, qn, "
                        "aij, elow_cm, gup HAVING COUNT(*) > 1)").fetchone()[0]
    assert exact == 0
    same_freq = con.execute("SELECT COUNT(*) FROM (SELECT 1 FROM transitions GROUP BY species_id, freq_mhz "
                            "HAVING COUNT(*) > 1 AND COUNT(DISTINCT qn) = COUNT(*))").fetchone()[0]
    assert same_freq > 50_000
    meta = dict(con.execute("SELECT key, value FROM meta"))
    assert int(meta["splatalogue_exact_duplicates_dropped"]) > 0


def test_meta_records_every_source_with_its_hashes(con):
    meta = dict(con.execute("SELECT key, value FROM meta"))
    m = json.loads((ROOT / "data" / "sources.json").read_text(encoding="utf-8"))
    for d in m["distributions"]:
        assert meta[f"source:{d['package']}"] == f"{d['version']} sha256={d['sha256']}"
        for member, h in d.get("member_sha256", {}).items():
            assert meta[f"source:{d['package']}:{member.rsplit('/', 1)[-1]}"] == f"sha256={h}"
    with LineDatabase(BUNDLED) as b:
        assert meta["bundled_content_sha256"] == b.meta["content_sha256"]
    assert meta["catalogue"] == "full" and meta["transitions_order"] == "freq_mhz"


def test_species_without_partition_function_refused(full, con):
    meta = dict(con.execute("SELECT key, value FROM meta"))
    no_q = json.loads(meta["species_without_q"])
    assert "CH3OCH3" in no_q and "Ca I" in no_q
    # the new species without Q (the bundled Morton ions had none already)
    assert con.execute("SELECT COUNT(*) FROM species s WHERE NOT EXISTS (SELECT 1 FROM partition_function p "
                       "WHERE p.species_id = s.id) AND s.source_id NOT IN (SELECT id FROM sources WHERE "
                       "name = 'Morton2003')").fetchone()[0] == len(no_q)
    with pytest.raises(PartitionRangeError, match="no partition function for 'CH3OCH3'"):
        full.partition_function("CH3OCH3").q(100.0)
    # a CDMS species of the dump has its table by tag (CDMS partfunc.cat 43501 CP)
    pf = full.partition_function("CP")
    assert "43501" in pf.source and pf.q(300.0) > 100


def test_tag_fingerprint_is_the_catalogue_q(full, dump):
    """The tag found from the dump's intensities: Q(300 K) of that CDMS entry reproduces the dump's
    LGINT from its own A_ij (independent of the fingerprint's S mu^2 route) to 0.01 dex."""
    sp = full.find_species("H2CCO")
    t = full.transitions(1e5, 3e5, species=[sp])
    lq = full.partition_function(sp).log10_q_at(300.0)
    lgint = formats.lgint_to_aij  # A from LGINT; invert the other way: LGINT from A
    a_back = lgint(np.log10(np.ones(len(t))), t.freq_mhz, t.elow_cm, t.gup, lq)  # A for I = 1 nm^2 MHz
    rows = dict((round(float(r[0]), 4), float(r[1])) for r in _dump_lines(dump, 10, 1e5, 3e5) if r[5] == "H2CCO")
    lgint_dump = np.array([rows[round(f, 4)] for f in t.freq_mhz])
    np.testing.assert_allclose(np.log10(t.aij / a_back), lgint_dump, atol=0.01)


def test_layout_and_query_plans(con):
    """Rows clustered by frequency (rowid order = frequency order); the queries of docs/fulldb.md use
    the indexes (EXPLAIN QUERY PLAN)."""
    f = np.array([r[0] for r in con.execute("SELECT freq_mhz FROM transitions ORDER BY id")])
    assert np.all(np.diff(f) >= 0)
    assert con.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert con.execute("SELECT COUNT(*) FROM sqlite_stat1").fetchone()[0] > 0  # ANALYZEd
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"transitions_freq", "transitions_species_freq", "species_tag"} <= names

    def plan(sql, args):
        return " | ".join(r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, args))

    p = plan(WINDOW_SQL, {"fmin": 230000.0, "fmax": 231000.0})
    assert "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in p and p.count("USING COVERING INDEX transitions_freq") == 2
    p = plan(SPECIES_SQL, {"sid": 5, "fmin": 2e5, "fmax": 3e5})
    assert "USING INDEX transitions_species_freq (species_id=? AND freq_mhz>? AND freq_mhz<?)" in p
    p = plan(MODEL_SQL, {"sid": 5, "fmin": 2e5, "fmax": 3e5})
    assert "USING COVERING INDEX transitions_species_freq (species_id=? AND freq_mhz>? AND freq_mhz<?)" in p


WINDOW_SQL = ("SELECT species_id, freq_mhz, err_mhz, aij, elow_cm, eup_k, gup, qn, source_id FROM transitions "
              "WHERE id BETWEEN (SELECT id FROM transitions WHERE freq_mhz >= :fmin ORDER BY freq_mhz LIMIT 1) "
              "AND (SELECT id FROM transitions WHERE freq_mhz <= :fmax ORDER BY freq_mhz DESC LIMIT 1) "
              "AND freq_mhz BETWEEN :fmin AND :fmax")
SPECIES_SQL = ("SELECT species_id, freq_mhz, err_mhz, aij, elow_cm, eup_k, gup, qn, source_id FROM transitions "
               "WHERE species_id = :sid AND freq_mhz BETWEEN :fmin AND :fmax")

MODEL_SQL = ("SELECT freq_mhz, aij, eup_k, gup FROM transitions WHERE species_id = :sid "
             "AND freq_mhz BETWEEN :fmin AND :fmax")


def bytes_read(path, sql, args) -> tuple[int, int]:
    """(rows, bytes SQLite read from the file) for one query on a fresh connection: /proc/self/io
    ``rchar`` before and after. SQLite (no mmap by default) reads the file with one pread of a page
    per page it needs, so this is the number of pages the browser's lazy file would fetch, times the
    page size. Run in a child process so that nothing else of pytest reads meanwhile."""
    code = (
        "import sqlite3, sys, json, urllib.parse\n"
        "def rchar():\n"
        "    return int(next(l for l in open('/proc/self/io') if l.startswith('rchar')).split()[1])\n"
        "p, sql, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])\n"
        "c = sqlite3.connect('file:' + urllib.parse.quote(p) + '?mode=ro&immutable=1', uri=True)\n"
        "c.execute('SELECT 1').fetchall()\n"
        "r0 = rchar(); n = len(c.execute(sql, args).fetchall()); r1 = rchar()\n"
        "print(n, r1 - r0)\n")
    out = subprocess.run([sys.executable, "-c", code, os.fspath(path), sql, json.dumps(args)], check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1])


def test_bytes_read_for_a_window(full_path, con):
    """A 1 GHz window near 230 GHz reads about its own rows' pages: under 1 MB of a 240 MB file, and
    far less than the same window planned from the species table (a join driven by species)."""
    n, b = bytes_read(full_path, WINDOW_SQL, {"fmin": 230000.0, "fmax": 231000.0})
    assert 400 < n < 2000
    assert b < 1_000_000
    # the plain BETWEEN form reads the index leaves of the window too, still small
    n2, b2 = bytes_read(full_path, "SELECT * FROM transitions WHERE freq_mhz BETWEEN :fmin AND :fmax",
                        {"fmin": 230000.0, "fmax": 231000.0})
    assert n2 == n and b2 < 2_000_000
    # a join the planner drives from the species side: many MB
    _, b3 = bytes_read(full_path, "SELECT s.name, t.freq_mhz FROM species s CROSS JOIN transitions t ON "
                       "t.species_id = s.id WHERE t.freq_mhz BETWEEN :fmin AND :fmax",
                       {"fmin": 230000.0, "fmax": 231000.0})
    assert b3 > 10 * b


def test_bytes_read_for_one_species(full_path, full):
    """A species' model columns over 200-300 GHz come from the covering index: ~100 KB for 2,595
    lines, where the scattered table rows (the display query, with qn) cost MB."""
    sid = full.find_species("CH3OCHO v=0").id
    args = {"sid": sid, "fmin": 2e5, "fmax": 3e5}
    n, b = bytes_read(full_path, MODEL_SQL, args)
    assert n > 2000 and b < 300_000
    n2, b2 = bytes_read(full_path, SPECIES_SQL, args)
    assert n2 == n and b2 > 10 * b


CORE_BYTES = r"""
import json, sys
import numpy as np
from cassis_lite.linedb import LineDatabase
from cassis_lite.lte import compute_spectrum
def rchar():
    return int(next(l for l in open('/proc/self/io') if l.startswith('rchar')).split()[1])
db = LineDatabase(sys.argv[1], immutable=True)
db.partition_function(sys.argv[2])
grid = np.linspace(2e5, 3e5, 200_001)
cfg = {"components": [{"name": "c", "tex_k": 100.0, "fwhm_kms": 3.0, "vlsr_kms": 0.0,
                       "species": [{"species": sys.argv[2], "ntot_cm2": 1e16}]}]}
r0 = rchar(); res = compute_spectrum(cfg, grid, db); r1 = rchar()
print(json.dumps({"bytes": r1 - r0, "peak": float(res.intensity.max())}))
"""


def test_a_species_model_reads_the_covering_index_only(full_path, full):
    """The LTE model of one species over 200-300 GHz (compute_spectrum, what the Model card, the
    fits and cassis-lite model run) reads the (species, frequency, A_ij, E_up, g_up) index, not the
    species' table rows scattered over the frequency-ordered table: CH3OH ~80 KB, where reading its
    rows (all columns, as it did) cost 3.1 MB. Its lines are those of transitions()."""
    out = json.loads(subprocess.run([sys.executable, "-c", CORE_BYTES, os.fspath(full_path), "CH3OH, vt=0-2"],
                                    check=True, capture_output=True, text=True, cwd=ROOT).stdout)
    assert out["peak"] > 0.1
    assert out["bytes"] < 400_000, out
    t = full.transitions(2e5, 3e5, species=["CH3OH, vt=0-2"], aij_min=1e-5)
    f, a, e, g = full.model_lines(2e5, 3e5, ["CH3OH, vt=0-2"], aij_min=1e-5)
    assert len(t) > 100 and np.array_equal(f, t.freq_mhz) and np.array_equal(a, t.aij)
    assert np.array_equal(e, t.eup_k) and np.array_equal(g, t.gup)
    with LineDatabase(BUNDLED) as b:  # no such index there: the same lines from the frequency index
        t = b.transitions(8e4, 3.5e5, species=["CH3OH, vt=0-2", "CO"], eup_max_k=200.0)
        cols = b.model_lines(8e4, 3.5e5, ["CH3OH, vt=0-2", "CO"], eup_max_k=200.0)
        assert len(t) > 300 and all(np.array_equal(x, y) for x, y in zip(cols, (t.freq_mhz, t.aij, t.eup_k, t.gup)))
        assert [c.size for c in b.model_lines(1.0, 2.0, "CO")] == [0] * 4


def test_cli_lines_with_full_db(full_path):
    r = subprocess.run([sys.executable, "-m", "cassis_lite", "lines", "--db", str(full_path), "--fmin", "231900.9",
                        "--fmax", "231901.0", "--format", "csv"], capture_output=True, text=True, check=True)
    assert "H(alpha)" in r.stdout and "Recombination (Splatalogue)" in r.stdout
    r = subprocess.run([sys.executable, "-m", "cassis_lite", "partition", "CH3OCH3", "--tex", "100", "--db",
                        str(full_path)], capture_output=True, text=True)
    assert r.returncode != 0 and "no partition function for 'CH3OCH3'" in r.stderr


def test_build_full_cli_refuses_bad_page_size(tmp_path):
    r = subprocess.run([sys.executable, "-m", "cassis_lite", "db", "build-full", "--out", str(tmp_path / "x.db"),
                        "--page-size", "1000"], capture_output=True, text=True)
    assert r.returncode != 0 and "page-size" in r.stderr


def test_line_database_window_is_the_plain_query(full, con):
    """LineDatabase reads a window of the frequency-ordered file by id range (query a): the same rows
    as the plain BETWEEN query, with every filter."""
    assert full._clustered
    for fmin, fmax, kw in ((230000.0, 231000.0, {}), (86000.0, 90000.0, {"eup_max_k": 50.0, "aij_min": 1e-6}),
                           (5e8, 6e8, {"source": "van Hoof"}), (1.0, 2.0, {})):
        t = full.transitions(fmin, fmax, **kw)
        sql = "SELECT freq_mhz, aij FROM transitions t WHERE freq_mhz BETWEEN ? AND ?"
        args = [fmin, fmax]
        if "eup_max_k" in kw:
            sql += " AND eup_k <= ? AND aij >= ?"
            args += [kw["eup_max_k"], kw["aij_min"]]
        if "source" in kw:
            sql += " AND source_id IN (SELECT id FROM sources WHERE name = ?)"
            args.append(kw["source"])
        ref = sorted(con.execute(sql, args).fetchall())
        assert sorted(zip(t.freq_mhz.tolist(), t.aij.tolist())) == ref
    with LineDatabase(FULL, immutable=True) as db:
        assert len(db.transitions(230000.0, 231000.0)) == len(full.transitions(230000.0, 231000.0))


def test_citations_of_the_lines_drawn(full):
    t = full.transitions(231900.0, 231902.0)
    cites = full.citations(t.sources)
    assert [c["database"] for c in cites] == list(dict.fromkeys(t.sources))
    assert any("Remijan" in c["citation"] for c in cites)
    with LineDatabase(BUNDLED) as b:  # the bundled file answers from its sources table
        assert "Morton" in b.citations(["Morton2003"])[0]["citation"]


def test_the_site_serves_the_full_catalogue_by_range(built_site, full_path):
    """`make site` puts build/full.db in the site (db/full.db, config.js fullDatabase) and
    `cassis-lite serve` answers byte ranges of it (what the browser's lazy file asks)."""
    import threading
    import urllib.request

    from cassis_lite.commands.serve import make_server

    served = built_site / "db" / "full.db"
    assert served.is_file() and served.stat().st_size == full_path.stat().st_size
    config = json.loads((built_site / "config.js").read_text().split("=", 1)[1].rstrip().rstrip(";"))
    assert config["fullDatabase"] == {"path": "db/full.db", "bytes": served.stat().st_size, "pageSize": 4096}
    lock = json.loads((built_site / "site-lock.json").read_text())
    assert lock["files"]["db/full.db"]["bytes"] == served.stat().st_size
    assert not (built_site / "db" / "full.db.gz").exists()  # ranges are of the raw bytes
    srv = make_server(built_site, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/db/full.db"
        with open(served, "rb") as fh:
            fh.seek(4096 * 1000)
            want = fh.read(8192)
        req = urllib.request.Request(url, headers={"Range": f"bytes={4096 * 1000}-{4096 * 1002 - 1}"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 206 and r.read() == want
    finally:
        srv.shutdown()
        srv.server_close()


def _asymmetric_top_q(temps, a, b, c, dj, djk, dk, g_odd, g_even, jmax=60):
    """Prolate asymmetric rotor (I^r: z = a) diagonalised in the symmetric-top basis, J by J and
    in the even-K and odd-K blocks (the Hamiltonian couples K to K +- 2): rigid rotor + the
    diagonal quartic distortion -D_J J^2(J+1)^2 - D_JK J(J+1) K^2 - D_K K^4; weight (2J+1) g."""
    t = np.asarray(temps, float)[:, None]
    q = np.zeros(t.shape[0])
    for j in range(jmax + 1):
        x = j * (j + 1.0)
        for parity, g in ((0, g_even), (1, g_odd)):
            k = np.arange(-j, j + 1)
            k = k[np.abs(k) % 2 == parity]
            if k.size == 0:
                continue
            h = np.diag((b + c) / 2 * (x - k**2) + a * k**2 - dj * x * x - djk * x * k**2 - dk * k**4.0)
            off = (b - c) / 4 * np.sqrt(np.maximum((x - k[:-1] * (k[:-1] + 1)) * (x - (k[:-1] + 1) * (k[:-1] + 2)), 0))
            h += np.diag(off, 1) + np.diag(off, -1)
            q += (2 * j + 1) * g * np.exp(-np.linalg.eigvalsh(h)[None, :] * HK_MHZ / t).sum(axis=1)
    return q


def test_refined_q_of_an_asymmetric_top_h2co_against_a_rotor_sum(full):
    # CDMS entry 30501 (H2CO, v=0; Mueller & Lewen 2017, J. Mol. Spectrosc. 331, 28): A = 281970.5,
    # B = 38833.99, C = 34004.24 MHz, D_J = 0.0703, D_JK = 1.3211, D_K = 19.39 MHz. Spin statistics
    # as the catalogue's g_up: ortho (K_a odd) 3, para 1 (g_up 3 for 1_01-0_00, 9 for 2_12-1_11).
    # The dump's lines define the levels (hyperfine components of one level counted once).
    temps = [3.0, 10.0, 20.0, 30.0]
    q = _asymmetric_top_q(temps, 281970.5, 38833.99, 34004.24, 0.0703, 1.3211, 19.39, 3, 1)
    ref, cat = full.partition_function("H2CO"), full.partition_function("H2CO", partition="catalogue")
    assert ref.interpolation == "cubic" and "levels" in ref.basis
    for t, qi in zip(temps, q):
        assert abs(cat.q(t) / qi - 1) > 3e-3  # the table's interpolation: 0.35-2.9 % off
        assert abs(ref.q(t) / qi - 1) < 5e-4
        assert abs(ref.q(t) / qi - 1) <= ref.relative_error(t) + 1e-4


def test_refined_q_of_the_bundled_species_is_kept_and_new_species_have_theirs(full, con):
    b = LineDatabase(BUNDLED)
    for name in ("CO", "CH3CN", "C"):
        np.testing.assert_array_equal(full.partition_function(name).log10_q, b.partition_function(name).log10_q)
        assert full.partition_function(name).accuracy == b.partition_function(name).accuracy
    n_table = con.execute("SELECT COUNT(DISTINCT species_id) FROM partition_function p JOIN species s "
                          "ON s.id = p.species_id WHERE s.q_method = 'table'").fetchone()[0]
    n_refined = con.execute("SELECT COUNT(DISTINCT species_id) FROM partition_refined").fetchone()[0]
    assert n_refined == n_table > 200  # every catalogue table has its refined Q (the table alone at worst)
    # no refined Q without a catalogue table: the refusal says why
    with pytest.raises(PartitionRangeError, match="would only be a lower bound"):
        full.partition_function("CH3OCH3").q(100.0)
