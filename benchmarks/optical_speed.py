"""Optical core speed: stellar broadening of a 300,000-pixel spectrum beside PyAstronomy, and a
3-ion, 5-component Voigt fit.

Broadening: a synthetic spectrum, 4000-7000 A on a uniform 0.01 A grid (300,001 pixels), 600
Gaussian absorption lines; v sin i = 20 km/s (epsilon 0.6), then a Gaussian instrumental profile
of R = 50,000. Ours: ``broaden(wave, flux, vsini_kms=20, limb_darkening=0.6, resolving_power=5e4)``
(the kernels stationary in velocity at every wavelength; one FFT pass). PyAstronomy 0.25.0, run
in .venv-optical-ref in the same run: ``fastRotBroad`` (one rotation kernel at the mean
wavelength) then ``instrBroadGaussFast`` (one Gaussian of FWHM = mean wavelength / R, maxsig 5,
"firstlast" edges), the fast approximations of the same broadening (``rotBroad``, exact, is
O(N^2): ~hours at this size). Best of 3 for each.

Fit: C IV, Si IV and N V at z = 2, five components (25 free parameters: b, v and three log N
each), R = 45,000, 2.5 km/s pixels, S/N 50, windows of -200..250 km/s around every line; start
values off by 5 km/s, 30 % in b and 0.3 dex in N. One fit.
Run: .venv/bin/python benchmarks/optical_speed.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from cassis_lite.optical import AbsorptionModel, broaden  # noqa: E402
from optical_ref_env import run_reference  # noqa: E402


def best_of(fn, n=3):
    best, out = np.inf, None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def broadening() -> None:
    rng = np.random.default_rng(0)
    wave = np.linspace(4000.0, 7000.0, 300_001)
    flux = np.ones_like(wave)
    for c, d, s in zip(rng.uniform(4010, 6990, 600), rng.uniform(0.05, 0.8, 600), rng.uniform(0.02, 0.1, 600)):
        m = np.abs(wave - c) < 8 * s
        flux[m] -= d * np.exp(-0.5 * ((wave[m] - c) / s) ** 2)
    flux = np.clip(flux, 0.0, None)
    ours_s, ours = best_of(lambda: broaden(wave, flux, vsini_kms=20.0, limb_darkening=0.6, resolving_power=5e4))
    ref = run_reference([{"kind": "pyastronomy", "function": "fastRotBroad", "wave_a": wave.tolist(),
                          "flux": flux.tolist(), "args": {"epsilon": 0.6, "vsini": 20.0}, "repeat": 3}])[0]
    ref2 = run_reference([{"kind": "pyastronomy", "function": "instrBroadGaussFast", "wave_a": wave.tolist(),
                           "flux": ref["flux"], "args": {"resolution": 50000, "edgeHandling": "firstlast",
                                                         "maxsig": 5.0}, "repeat": 3}])[0]
    pya = np.asarray(ref2["flux"])
    mid = (wave > 5400) & (wave < 5600)  # where PyAstronomy's mean-wavelength kernels are right
    print(f"{'broaden 300,001 px':<28} {'ours':>10} {ours_s:9.3f} s")
    print(f"{'':<28} {'PyAstronomy':>10} {ref['seconds'] + ref2['seconds']:9.3f} s   "
          f"(fastRotBroad {ref['seconds']:.3f} + instrBroadGaussFast {ref2['seconds']:.3f})")
    print(f"{'':<28} max |ours - PyAstronomy| = {np.max(np.abs(ours - pya)[mid]):.2e} (5400-5600 A), "
          f"{np.max(np.abs(ours - pya)[100:-100]):.2e} (all: its kernels at 5500 A are 37 % too wide at 4000 A)")
    print(f"{'':<28} EW conserved: {np.trapezoid(1 - ours, wave) / np.trapezoid(1 - flux, wave) - 1:+.1e}")


def fit() -> None:
    z = 2.0
    truth = [(-62.0, 8.0, 13.1, 12.6, 13.4), (-25.0, 12.0, 13.6, 13.0, 13.0), (3.0, 6.0, 13.9, 13.3, 12.8),
             (40.0, 15.0, 13.3, 12.4, 13.2), (85.0, 9.0, 12.9, 12.2, 12.7)]
    ions = ("C IV", "Si IV", "N V")

    def config(start):
        comps = [{"name": f"c{i + 1}", "v_kms": {"value": v, "min": v - 30, "max": v + 30},
                  "b_kms": {"value": b, "min": 1.0, "max": 40.0},
                  "ions": [{"ion": ion, "logn_cm2": {"value": n, "min": 10.0, "max": 17.0}} for ion, n in zip(ions, logn)]}
                 for i, (v, b, *logn) in enumerate(start)]
        return {"redshift": z, "lsf": {"resolving_power": 45000}, "components": comps,
                "fit": {"windows_kms": [-200, 250]}}

    wave = np.exp(np.arange(np.log(1230 * 3), np.log(1560 * 3), 2.5 / 299792.458))
    noisy = AbsorptionModel(config(truth)).eval(None, wave) + np.random.default_rng(3).normal(0, 0.02, wave.size)
    model = AbsorptionModel(config([(v + 5, b * 1.3, *(n - 0.3 for n in logn)) for v, b, *logn in truth]))
    eval_s, _ = best_of(lambda: model.eval(None, wave))
    t = time.perf_counter()
    res = model.fit_arrays(wave, noisy, np.full(wave.size, 0.02))
    fit_s = time.perf_counter() - t
    pulls = [abs(res.params[f"c{i + 1}_logn_C_IV"].value - tr[2]) / res.params[f"c{i + 1}_logn_C_IV"].stderr
             for i, tr in enumerate(truth)]
    print(f"{'model 3 ions x 5 comp.':<28} {'ours':>10} {eval_s:9.3f} s   ({wave.size} pixels, {len(model.lines())} lines)")
    print(f"{'fit 25 free parameters':<28} {'ours':>10} {fit_s:9.3f} s   ({res.fit.nfev} model evaluations, "
          f"{int(res.mask.sum())} pixels, reduced chi-square {res.redchi:.3f}, converged {res.fit.success}, "
          f"max |log N(C IV) - true| / sigma = {max(pulls):.2f})")


if __name__ == "__main__":
    broadening()
    fit()
