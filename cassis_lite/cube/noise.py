"""Noise and fit weights of many spectra at once (the pixels of a block of a cube).

The same numbers as the one-spectrum functions, row by row:

- :func:`robust_rms_rows` is :func:`cassis_lite.analysis.features.robust_rms` on each row
  (sigma = 1.4826 median |y - median y|, recomputed on the values within 3 sigma of the median
  until the kept set stops changing; NaNs ignored);
- :func:`fit_sigma_rows` is :func:`cassis_lite.fitting.lte_fit.fit_sigma` on each row:
  sigma = sqrt(rms^2 + (cal I)^2) with ``rms_k`` / ``calibration_percent`` / ``rms_cal`` of the
  fit options, the rms of each spectral window estimated robustly where none is given.

(tests/test_cube_fit.py checks both against the one-spectrum functions.)
"""

from __future__ import annotations

import warnings

import numpy as np

from cassis_lite.analysis.features import MAD_TO_SIGMA
from cassis_lite.errors import ConfigError
from cassis_lite.fitting.lte_fit import channel_rms_and_cal
from cassis_lite.spectrum import window_slices


def robust_rms_rows(values: np.ndarray, clip: float = 3.0, iterations: int = 10) -> np.ndarray:
    """Robust noise of each row of ``values`` (n, m) (NaN for a row without a finite value)."""
    v = np.asarray(values, dtype=float)
    finite = np.isfinite(v)
    keep = finite.copy()
    sigma = np.full(v.shape[0], np.nan)
    active = finite.any(axis=1)
    count = keep.sum(axis=1)
    for _ in range(iterations):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        sub = np.where(keep[idx], v[idx], np.nan)
        med = np.nanmedian(sub, axis=1)
        s = MAD_TO_SIGMA * np.nanmedian(np.abs(sub - med[:, None]), axis=1)
        sigma[idx] = s
        new = finite[idx] & (np.abs(v[idx] - med[:, None]) <= clip * s[:, None])
        n_new = new.sum(axis=1)
        stop = (s == 0) | (n_new == count[idx])
        go = idx[~stop]
        keep[go] = new[~stop]
        count[go] = n_new[~stop]
        active[idx[stop]] = False
    return sigma


def fit_sigma_rows(freq_mhz: np.ndarray, intensity: np.ndarray, options: dict) -> tuple[np.ndarray, np.ndarray]:
    """(sigma (n, m) of each channel of each row, rms (n, m) without the calibration term).

    Rows whose rms cannot be estimated (no finite value in a window, or zero noise) get NaN
    there; the caller leaves those pixels out."""
    f = np.asarray(freq_mhz, dtype=float)
    y = np.asarray(intensity, dtype=float)
    rms_c, cal = channel_rms_and_cal(f, options)
    rms = np.broadcast_to(rms_c, y.shape).copy()
    if np.any(np.isnan(rms_c)):
        for w in window_slices(f):
            missing = np.isnan(rms_c[w])
            if not missing.any():
                continue
            seg = y[:, w]
            with np.errstate(all="ignore"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
                    med = np.nanmedian(seg, axis=1)
            r = robust_rms_rows(seg - med[:, None])
            r = np.where(r > 0, r, np.nan)
            cols = np.arange(w.start, w.stop)[missing]
            rms[:, cols] = r[:, None]
    if np.any(rms_c <= 0):
        raise ConfigError("rms must be > 0 in every fitted window")
    return np.sqrt(rms**2 + (cal * y) ** 2), rms
