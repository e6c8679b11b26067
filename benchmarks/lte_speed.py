"""LTE model speed: cassis_lite.lte vs pyspeckit's lte_molecule.generate_model, same inputs.

CH3OH (CDMS c032504, vt=0-2) from the bundled line database, T_ex = 100 K, N = 1e17 cm^-2,
FWHM = 3 km/s, v_lsr = 5 km/s, no beam dilution, T_bg = 2.73 K. Cases:

  full    all 38,743 CH3OH lines, a 1 GHz grid of 500,000 channels (241-242 GHz): both codes
          get the whole line list (as pyspeckit's get_molecular_parameters returns it);
  window  the same grid, but both get only the lines that reach it (52): pyspeckit's best case,
          where both codes are dominated by per-channel work;
  subset  2,000 consecutive CH3OH lines from 200 GHz on, 200,000 channels spanning them (both
          get the lines that reach the grid: those 2,000 and a neighbour or two at the ends).

"ours" is timed as ``compute_spectrum`` (config -> SQLite query -> spectrum; the query keeps
only the lines that reach the grid), as the plain-array layer (``component_opacity`` +
``radiative_transfer``) on exactly the line list pyspeckit gets, and as
``PreparedModel.compute`` (lines already selected: the cost of a slider move or a fit step).
pyspeckit's width argument is the 1-sigma width. Best of 7 runs for ours, of 2 for pyspeckit
(1 for the full case: about 3 minutes). The last line is ``speedup_vs_pyspeckit: <ratio>``,
the smaller of the full and subset ratios (end-to-end ``compute_spectrum`` times).
Run: .venv/bin/python benchmarks/lte_speed.py
"""

from __future__ import annotations

import functools
import time
import tracemalloc

import astropy.constants as const
import astropy.units as u
import numpy as np
from pyspeckit.spectrum.models.lte_molecule import generate_model

from cassis_lite.linedb import LineDatabase
from cassis_lite.lte import (
    Layer,
    LineList,
    ModelConfig,
    PreparedModel,
    component_opacity,
    compute_spectrum,
    radiative_transfer,
)
from cassis_lite.lte.physics import FWHM_TO_SIGMA

TEX, NTOT, FWHM, VLSR = 100.0, 1e17, 3.0, 5.0
print = functools.partial(print, flush=True)  # noqa: A001 (progress shows during the long run)


def best_ms(fn, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3, out


def config():
    return ModelConfig.from_dict({"tcmb_k": 2.73, "components": [
        {"name": "c1", "tex_k": TEX, "fwhm_kms": FWHM, "vlsr_kms": VLSR,
         "species": [{"species": "CH3OH", "ntot_cm2": NTOT}]}]})


def pyspeckit_model(grid, lines, q):
    return generate_model(grid * u.MHz, VLSR * u.km / u.s, FWHM * FWHM_TO_SIGMA * u.km / u.s, TEX * u.K,
                          NTOT * u.cm**-2, lines.freq_mhz * u.MHz, np.log10(lines.aij), lines.gup,
                          lines.eup_k * const.k_B.cgs.value, lambda t: q, tbg=2.73)


def plain_arrays(grid, lines, q):
    tau = component_opacity(grid, lines, TEX, NTOT, q, FWHM, VLSR)
    return radiative_transfer(grid, [Layer(TEX, tau)], tcmb_k=2.73)


def run_case(label, db, grid, cfg, lines=None, pyspeckit_repeat=2):
    """Time ours and pyspeckit on ``lines`` (default: the lines our selection keeps)."""
    ours_ms, result = best_ms(lambda: compute_spectrum(cfg, grid, db), 7)
    prepared = PreparedModel(cfg, grid, db)
    prep_ms, _ = best_ms(lambda: prepared.compute(cfg), 7)
    tracemalloc.start()
    prepared.compute(cfg)
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    selected = prepared._components["c1"].lines
    lines = selected if lines is None else lines
    q = float(db.partition_function("CH3OH").q(TEX))
    plain_ms, plain = best_ms(lambda: plain_arrays(grid, lines, q), 7)
    ref_ms, ref = best_ms(lambda: pyspeckit_model(grid, lines, q), pyspeckit_repeat)
    scale = np.abs(ref).max()
    rel = max(np.abs(result.intensity - ref).max(), np.abs(plain - ref).max()) / scale
    ratio = ref_ms / ours_ms
    print(f"{label}: {len(lines)} lines given to pyspeckit ({len(selected)} reach the grid), "
          f"{grid.size} channels ({grid[0]:.1f}-{grid[-1]:.1f} MHz)")
    print(f"  cassis_lite compute_spectrum (with DB query)  : {ours_ms:10.2f} ms")
    print(f"  cassis_lite plain arrays, same {len(lines):6d} lines : {plain_ms:10.2f} ms")
    print(f"  cassis_lite PreparedModel.compute (no query)   : {prep_ms:10.2f} ms   peak memory {peak_mb:.1f} MB")
    print(f"  pyspeckit generate_model                       : {ref_ms:10.2f} ms")
    print(f"  speedup {ratio:.0f}x (plain arrays: {ref_ms / plain_ms:.0f}x, prepared: {ref_ms / prep_ms:.0f}x); "
          f"max |ours - pyspeckit| / max = {rel:.2e}")
    return ratio


def main():
    db = LineDatabase()
    cfg = config()
    print(f"numpy {np.__version__}; database {getattr(db, 'path', '')}")
    grid = np.linspace(241000.0, 242000.0, 500_000)
    t = db.transitions(0.0, 1e9, species=["CH3OH"])
    every = LineList.single(t.freq_mhz, t.aij, t.eup_k, t.gup)
    full = run_case("full: all CH3OH lines, 1 GHz", db, grid, cfg, lines=every, pyspeckit_repeat=1)
    run_case("window: lines reaching the 1 GHz grid only", db, grid, cfg)
    f = np.asarray(t.freq_mhz)
    f = f[f >= 200000.0][:2000]
    # a grid spanning 2,000 consecutive lines; both codes get the lines our selection keeps
    # (those 2,000 plus any neighbour whose wing reaches the grid's ends)
    grid = np.linspace(f[0], f[-1], 200_000)
    subset = run_case("subset: 2,000 CH3OH lines", db, grid, cfg)
    print(f"speedup_vs_pyspeckit: {min(full, subset):.0f}")


if __name__ == "__main__":
    main()
