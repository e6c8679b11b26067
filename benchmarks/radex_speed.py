#!/usr/bin/env python3
"""Speed of the non-LTE solver: one model and a 20 x 20 x 20 grid (T_kin x n(H2) x N) of CO.

Ours (cassis_lite.radex.solve, the whole grid in one call) against RADEX itself (the Fortran,
through spectralradex 1.1.5, one call per model: each call reads the LAMDA file and solves) and
pythonradex 2.0.2 (pure Python here: numba is replaced by a stand-in, see tests/radex_env.py; one
Source, the file read once, then one solve per model), each in its own venv. The references are
timed on a sample of the grid (every k-th model) and scaled to the whole grid; the figures are
printed with the sample size.

    python benchmarks/radex_speed.py [--sample-radex 400] [--sample-pythonradex 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import radex_env  # noqa: E402
from cassis_lite.linedb import LineDatabase, formats  # noqa: E402
from cassis_lite.radex import CollisionData, solve  # noqa: E402
from cassis_lite.radex.collisions import thermal_opr  # noqa: E402
from linedb_sources import LAMDA, source_text  # noqa: E402

TKIN = np.geomspace(10.0, 300.0, 20)
NH2 = np.geomspace(1e2, 1e8, 20)
NTOT = np.geomspace(1e12, 1e18, 20)
FWHM = 1.0


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample-radex", type=int, default=400, help="grid models timed with RADEX")
    ap.add_argument("--sample-pythonradex", type=int, default=100, help="grid models timed with pythonradex")
    args = ap.parse_args(argv)
    db = LineDatabase()
    co = db.collision_data("CO")
    lamda = Path(radex_env.VENVS["radex"][0]) / "co-benchmark.dat"
    lamda.write_text(source_text("spectralradex", LAMDA + "co.dat"), encoding="latin-1")
    assert CollisionData.from_lamda(formats.parse_lamda(lamda.read_text(encoding="latin-1"))).n_levels == co.n_levels

    one, _ = best_of(lambda: solve(co, 50.0, {"H2": 1e4}, 1e15, FWHM), 5)
    grid_t, res = best_of(lambda: solve(co, TKIN[:, None, None], {"H2": NH2[None, :, None]}, NTOT[None, None, :],
                                        FWHM), 1)
    n = res.converged.size
    models = [(float(t), float(d), float(c)) for t in TKIN for d in NH2 for c in NTOT]

    def sample(k):
        step = max(1, len(models) // k)
        return models[::step][:k]

    rx = sample(args.sample_radex)
    radex_one = radex_env.run_reference("radex", [{"molfile": str(lamda), "tkin": 50.0, "h2": 1e4, "cdmol": 1e15,
                                                   "linewidth": FWHM, "fmin": 0.0, "fmax": 3e7}] * 5,
                                        mode="radex-timed")["seconds"] / 5
    radex = radex_env.run_reference("radex", [{"molfile": str(lamda), "tkin": t, "h2": d, "cdmol": c,
                                               "linewidth": FWHM, "fmin": 0.0, "fmax": 3e7} for t, d, c in rx],
                                    mode="radex-timed")
    px = sample(args.sample_pythonradex)
    runs = []
    for t, d, c in px:
        opr = float(thermal_opr(t))
        runs.append({"molfile": str(lamda), "geometry": "static sphere RADEX", "fwhm_kms": FWHM, "tkin": t,
                     "colliders": {"para-H2": d / (1 + opr), "ortho-H2": d / (1 + 1 / opr)}, "ntot_cm2": c,
                     "tbg": 2.73})
    prx = radex_env.run_pythonradex(runs)
    prx_solves = [r["seconds"] for r in prx]
    prx_one = radex_env.run_pythonradex(runs[:1] * 3)
    radex_grid = radex["seconds"] / radex["models"] * n
    prx_grid = float(np.mean(prx_solves)) * n
    print(f"CO (41 levels, 40 lines, p-/o-H2), FWHM {FWHM} km/s; grid {len(TKIN)} x {len(NH2)} x {len(NTOT)} = {n} "
          f"models (T_kin 10-300 K, n(H2) 1e2-1e8 cm^-3, N 1e12-1e18 cm^-2)")
    print(f"one model (50 K, 1e4 cm^-3, 1e15 cm^-2):  ours {one * 1e3:8.1f} ms | RADEX {radex_one * 1e3:8.1f} ms "
          f"| pythonradex {min(r['seconds'] for r in prx_one) * 1e3:8.1f} ms")
    print(f"grid:  ours {grid_t:8.1f} s (one call; {int((~res.converged).sum())} models not converged in 9999 "
          f"iterations, as RADEX; median {int(np.median(res.iterations))} iterations)")
    print(f"       RADEX {radex_grid:8.1f} s (scaled from {radex['models']} models: {radex['seconds']:.1f} s)")
    print(f"       pythonradex {prx_grid:8.1f} s (scaled from {len(px)} models: {sum(prx_solves):.1f} s)")
    print(f"speed-up on the grid: {radex_grid / grid_t:.1f} x RADEX, {prx_grid / grid_t:.1f} x pythonradex")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
