"""Identification and fitting speed (CPython), with references run in the same process.

1. identify: a 500,000-channel spectrum (85-115 GHz, 60 kHz channels) made with the LTE model
   from 6 species of the bundled database + Gaussian noise, identified against the whole
   database by ``identify_spectrum`` (features, candidates, templates, NNLS, checks).
   References: one ``compute_spectrum`` of the 6 true species on the same grid (the cost of one
   LTE model of the answer) and SciPy's ``find_peaks`` on the same array (vs our feature finder).
2. fit: 3 components (T_ex, FWHM, v_lsr and 4 column densities free each: 21 parameters) fitted
   to 10 lines (CO 1-0/2-1/3-2, HCO+ 1-0/3-2/4-3, HCN 1-0/3-2/4-3, CS 2-1), 400 channels per
   line. Reference: astropy.modeling's LevMarLSQFitter fitting 10 x 3 Gaussians (90 parameters is
   not comparable; we give it 3 Gaussians per line with shared nothing, the usual by-hand way)
   on the same channels.
3. precision / recall of the species found on synthetic spectra (``--precision-recall``):
   random sets of 2-4 species, peaks 5-40 rms (easy) and 3-10 rms (faint), T_ex right or wrong,
   FWHM and v_lsr off; identification always assumes T_ex 40 K, FWHM 3 km/s, v_lsr 0.

BLAS runs single-threaded (OPENBLAS_NUM_THREADS=1 unless set): on a loaded 2-core machine a
threaded SVD of the 4000 x 21 Jacobian took 0.1-0.4 s instead of 2-6 ms, and Pyodide is
single-threaded anyway, so the two sets of figures compare like with like.

Run: .venv/bin/python benchmarks/identify_fit_speed.py [--precision-recall]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from cassis_lite.analysis.features import find_features  # noqa: E402
from cassis_lite.analysis.identify import LteSetup, identify_spectrum  # noqa: E402
from cassis_lite.fitting.lte_fit import fit_lte  # noqa: E402
from cassis_lite.linedb import LineDatabase  # noqa: E402
from cassis_lite.lte import compute_spectrum  # noqa: E402

C = 299792.458


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


IDENTIFY_TRUTH = {"HNC": 3e13, "HCO+": 3e13, "HCN": 5e13, "CS": 5e13, "CH3OH, vt=0-2": 1e15, "SO": 5e13}


def identify_case(db):
    """The identification input: 500,000 channels, 85-115 GHz, 6 species at 40 K + noise.
    Returns (freq_mhz, intensity, seconds of the one LTE model that made it)."""
    f = np.linspace(85000.0, 115000.0, 500_000)
    cfg = {"components": [{"name": "c1", "tex_k": 40.0, "fwhm_kms": 3.0, "vlsr_kms": 0.0,
                           "species": [{"species": k, "ntot_cm2": v} for k, v in IDENTIFY_TRUTH.items()]}]}
    t_model, res = timed(lambda: compute_spectrum(cfg, f, db))
    return f, res.intensity + np.random.default_rng(0).normal(0, 0.02, f.size), t_model


def bench_identify(db):
    f, y, t_model = identify_case(db)
    truth = IDENTIFY_TRUTH
    t_cold, out = timed(lambda: identify_spectrum(f, y, db, LteSetup(tex_k=40.0, fwhm_kms=3.0)))
    t_id, out = timed(lambda: identify_spectrum(f, y, db, LteSetup(tex_k=40.0, fwhm_kms=3.0)))
    t_feat, feats = timed(lambda: find_features(f, y, rms=0.02, smooth_kms=1.5))
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks
    sig = 1.5 / 2.3548 / ((f[1] - f[0]) / f.mean() * C)  # channels
    h = 3 * 0.02 / np.sqrt(2 * np.sqrt(np.pi) * sig)

    def scipy_peaks():
        sm = gaussian_filter1d(y, sig)
        return find_peaks(sm, height=h, prominence=h), find_peaks(-sm, height=h, prominence=h)
    t_scipy, _ = timed(scipy_peaks)
    found = set(out.species_names())
    print("== identify: 500,000 channels, 85-115 GHz, 6 species, whole database")
    print(f"identify_spectrum:            {t_id * 1e3:9.1f} ms  ({out.n_candidates} candidate species, "
          f"{len(out.features)} features; first call {t_cold * 1e3:.0f} ms with SciPy imports)")
    print(f"  species found: {sorted(found)}; true: {sorted(truth)}")
    print(f"reference compute_spectrum:   {t_model * 1e3:9.1f} ms  (one LTE model of the 6 species)")
    print(f"find_features (smoothed):     {t_feat * 1e3:9.1f} ms  ({len(feats)} features)")
    print(f"reference scipy find_peaks:   {t_scipy * 1e3:9.1f} ms  (smoothing + peaks + prominence, "
          "both signs; no widths)")
    return t_id


LINES = {"CO": (115271.2018, 230538.0, 345795.9899), "HCO+": (89188.5247, 267557.6259, 356734.2230),
         "HCN": (88631.6022, 265886.4339, 354505.4773), "CS": (97980.9533,)}


FIT_COMPONENTS = [("c1", 30.0, 2.0, -5.0), ("c2", 60.0, 4.0, 0.5), ("c3", 15.0, 1.5, 6.0)]
FIT_RMS_K = 0.05


def fit_case(db):
    """The fit input: 10 lines of 4 species in 3 components (400 channels each) + noise, and a
    starting config 20-30 % off the truth. Returns (freq_mhz, intensity, config, line grids)."""
    grids = []
    for fl in LINES.values():
        for f0 in fl:
            v = np.linspace(-30.0, 30.0, 400)
            grids.append(np.sort(f0 * (1 - v / C)))
    f = np.sort(np.concatenate(grids))
    comps = FIT_COMPONENTS
    ntot = {"CO": 1e16, "HCO+": 5e12, "HCN": 8e12, "CS": 6e12}
    truth = {"tcmb_k": 2.73, "components": [
        {"name": n, "tex_k": t, "fwhm_kms": w, "vlsr_kms": v,
         "species": [{"species": s, "ntot_cm2": x} for s, x in ntot.items()]} for n, t, w, v in comps]}
    rms = FIT_RMS_K
    y = compute_spectrum(truth, f, db).intensity + np.random.default_rng(1).normal(0, rms, f.size)
    cfg = {"tcmb_k": 2.73, "components": [
        {"name": n, "tex_k": {"value": t * 1.3, "min": 5, "max": 300},
         "fwhm_kms": {"value": w * 1.2, "min": 0.3, "max": 15},
         "vlsr_kms": {"value": v + 0.4, "min": v - 3, "max": v + 3},
         "species": [{"species": s, "ntot_cm2": {"value": x * 2, "min": x / 1e3, "max": x * 1e3}}
                     for s, x in ntot.items()]} for n, t, w, v in comps],
        "fit": {"rms_k": rms}}
    return f, y, cfg, grids


def bench_fit(db):
    f, y, cfg, grids = fit_case(db)
    comps, rms = FIT_COMPONENTS, FIT_RMS_K
    t_fit, res = timed(lambda: fit_lte(f, y, cfg, db))
    t_fit, res = timed(lambda: fit_lte(f, y, cfg, db))
    print("== fit: 3 components x (T_ex, FWHM, v_lsr, 4 N) = 21 free parameters, 10 lines, "
          f"{f.size} channels")
    print(f"fit_lte:                      {t_fit * 1e3:9.1f} ms  ({res.fit.nfev} model evaluations, "
          f"{t_fit / res.fit.nfev * 1e3:.2f} ms each; reduced chi2 {res.fit.redchi:.3f})")
    worst = max(abs(res.params[f"{n}_vlsr"].value - v) / res.params[f"{n}_vlsr"].stderr for n, _, _, v in comps)
    print(f"  worst v_lsr deviation from truth: {worst:.2f} sigma")
    try:
        from astropy.modeling import fitting, models
    except ImportError:
        return t_fit
    t0 = time.perf_counter()
    nfev = 0
    for g in grids:
        yy = np.interp(g, f, y)
        vv = (1 - g / g.mean()) * C
        init = sum((models.Gaussian1D(0.5, v, w / 2.3548) for _, _, w, v in comps[1:]),
                   models.Gaussian1D(0.5, comps[0][3], comps[0][2] / 2.3548))
        fitter = fitting.LevMarLSQFitter()
        fitter(init, vv, yy, weights=np.full(vv.size, 1 / rms), maxiter=2000)
        nfev += fitter.fit_info.get("nfev", 0)
    t_ref = time.perf_counter() - t0
    print(f"reference astropy LevMarLSQ:  {t_ref * 1e3:9.1f} ms  (10 separate 3-Gaussian fits, "
          f"{nfev} evaluations; no radiative transfer, no shared parameters)")
    return t_fit


def precision_recall(db, trials=30):
    f = np.concatenate([np.arange(85000.0, 92000.0, 0.2), np.arange(215000.0, 232000.0, 0.25)])
    usable = []
    for s in db.species():
        if s.source == "Morton2003" or not len(db.transitions(f[0], f[-1], species=[s])):
            continue
        try:
            pk = compute_spectrum({"components": [{"name": "c", "tex_k": 40.0, "fwhm_kms": 3.0,
                                   "species": [{"species": s.name, "ntot_cm2": 1e12}]}]}, f, db).intensity.max()
        except Exception:
            continue
        if pk > 1e-6:
            usable.append((s.name, pk))
    print(f"== precision / recall: {len(usable)} usable species, {trials} spectra per case, "
          f"{f.size} channels, rms 0.05 K, assumed T_ex 40 K, FWHM 3 km/s")
    for label, snr, tex, fwhm, vlsr in (("easy: peaks 5-40 rms, T_ex 40 K", (5, 40), 40.0, 3.0, 0.0),
                                        ("faint: peaks 3-10 rms, T_ex 40 K", (3, 10), 40.0, 3.0, 0.0),
                                        ("wrong T_ex: made at 20 K", (5, 40), 20.0, 3.0, 0.0),
                                        ("wrong T_ex: made at 80 K", (5, 40), 80.0, 3.0, 0.0),
                                        ("FWHM 5 (not 3), v_lsr +1 km/s", (5, 40), 40.0, 5.0, 1.0)):
        rng = np.random.default_rng(42)
        tp = fp = fn = 0
        for _ in range(trials):
            k = int(rng.integers(2, 5))
            pick = rng.choice(len(usable), size=k, replace=False)
            sp = []
            for i in pick:
                name, pk = usable[i]
                sp.append({"species": name, "ntot_cm2": 1e12 * 0.05 * rng.uniform(*snr) / pk})
            try:
                y = compute_spectrum({"components": [{"name": "c", "tex_k": tex, "fwhm_kms": fwhm,
                                                      "vlsr_kms": vlsr, "species": sp}]}, f, db).intensity
            except Exception:
                continue  # T_ex outside a partition-function table
            y = y + rng.normal(0, 0.05, f.size)
            found = set(identify_spectrum(f, y, db, LteSetup(tex_k=40.0, fwhm_kms=3.0)).species_names())
            truth = {usable[i][0] for i in pick}
            tp += len(found & truth)
            fp += len(found - truth)
            fn += len(truth - found)
        print(f"{label:<36} precision {tp / max(tp + fp, 1):.3f}  recall {tp / max(tp + fn, 1):.3f}  "
              f"(TP {tp}, FP {fp}, FN {fn})")


def main():
    db = LineDatabase()
    bench_identify(db)
    bench_fit(db)
    if "--precision-recall" in sys.argv:
        precision_recall(db)


if __name__ == "__main__":
    main()
