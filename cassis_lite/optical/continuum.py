"""Continuum of a spectrum and the normalised spectrum F / C.

The continuum is fitted to the pixels of chosen wavelength regions (line-free windows picked by
the user), or to all pixels, and the fit is iterated with asymmetric sigma clipping: pixels more
than ``clip_low`` sigma below (absorption lines) or ``clip_high`` sigma above (noise spikes,
emission) the current fit are left out, sigma being the robust rms (1.4826 MAD) of the residuals
of the pixels kept, until the set of pixels stops changing (Sembach & Savage 1992, ApJS 83, 147,
sect. 3, the usual practice for absorption spectra).

Two shapes:

* ``"polynomial"``: a Chebyshev series of degree ``order`` on the wavelength range, by weighted
  linear least squares (:class:`numpy.polynomial.Chebyshev`; pure NumPy);
* ``"spline"``: a cubic least-squares B-spline with interior knots every ``knot_spacing_a`` A
  (:func:`scipy.interpolate.make_lsq_spline`, de Boor's B-splines; knots without pixels between
  them are merged so that the Schoenberg-Whitney condition holds). SciPy is imported only here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cassis_lite.analysis.features import MAD_TO_SIGMA
from cassis_lite.errors import OpticalError

METHODS = ("polynomial", "spline")


@dataclass
class Continuum:
    """A fitted continuum: ``continuum`` and ``normalised`` (flux / continuum) at every pixel,
    ``used`` the pixels the final fit used, ``iterations`` of the clipping, ``rms`` the robust
    rms of the residuals of the pixels used."""

    continuum: np.ndarray = field(repr=False)
    normalised: np.ndarray = field(repr=False)
    normalised_uncertainty: np.ndarray | None = field(repr=False)
    used: np.ndarray = field(repr=False)
    method: str
    iterations: int
    rms: float


def _robust_sigma(r: np.ndarray) -> float:
    return float(MAD_TO_SIGMA * np.median(np.abs(r - np.median(r))))


def _fitter(method: str, x: np.ndarray, y: np.ndarray, order: int, knot_spacing_a: float | None):
    """A function (mask, weights) -> continuum at every x, fitted to y[mask]."""
    if method == "polynomial":
        domain = [x[0], x[-1]]

        def fit(mask, w):
            if np.count_nonzero(mask) <= order:
                raise OpticalError(f"continuum: {np.count_nonzero(mask)} pixels left for a polynomial of "
                                   f"degree {order}: give wider regions or a lower order")
            return np.polynomial.Chebyshev.fit(x[mask], y[mask], order, w=w[mask], domain=domain)(x)
        return fit
    from scipy.interpolate import make_lsq_spline

    if knot_spacing_a is None or not knot_spacing_a > 0:
        raise OpticalError(f"continuum: the spline needs knot_spacing_a > 0 (A), got {knot_spacing_a!r}")

    def fit(mask, w):
        xm = x[mask]
        if xm.size < 4:
            raise OpticalError(f"continuum: {xm.size} pixels left for a cubic spline: give wider regions")
        inner = np.arange(xm[0] + knot_spacing_a, xm[-1] - 0.5 * knot_spacing_a, knot_spacing_a)
        # keep a knot only with pixels between it and the previous one (Schoenberg-Whitney)
        counts = np.diff(np.searchsorted(xm, np.concatenate(([xm[0]], inner, [xm[-1]]))))
        inner = inner[counts[:-1] >= 2] if inner.size else inner
        knots = np.concatenate(([xm[0]] * 4, inner, [xm[-1]] * 4))
        spline = make_lsq_spline(xm, y[mask], knots, k=3, w=w[mask])
        return spline(np.clip(x, xm[0], xm[-1]))
    return fit


def fit_continuum(wave_a, flux, regions_a=None, method: str = "polynomial", order: int = 3,
                  knot_spacing_a: float | None = None, uncertainty=None, clip_low: float = 2.5,
                  clip_high: float = 3.0, max_iterations: int = 20) -> Continuum:
    """Fit the continuum of a spectrum and normalise it.

    Parameters
    ----------
    wave_a : array
        Wavelengths, A (any order; the air/vacuum convention does not matter here).
    flux : array
        Flux; NaN pixels are left out of the fit (their continuum is still given).
    regions_a : list of (wmin, wmax), optional
        Continuum windows, A; default: every pixel (automatic, by clipping alone).
    method : {"polynomial", "spline"}
        Chebyshev polynomial of degree ``order`` (NumPy only), or cubic least-squares spline
        with knots every ``knot_spacing_a`` A (SciPy).
    uncertainty : array, optional
        1-sigma of ``flux``: weights 1 / sigma (default: equal weights).
    clip_low, clip_high : float
        Clipping thresholds below / above the fit, in robust sigma of the residuals.
    max_iterations : int
        Upper bound on the clipping iterations.

    Returns
    -------
    Continuum
    """
    wave = np.asarray(wave_a, dtype=float).ravel()
    y = np.asarray(flux, dtype=float).ravel()
    if wave.shape != y.shape or wave.size < 2:
        raise OpticalError(f"continuum: wavelength ({wave.size}) and flux ({y.size}) need equal lengths >= 2")
    if not np.all(np.isfinite(wave)):
        raise OpticalError("continuum: the wavelength array has NaN or infinite values")
    if method not in METHODS:
        raise OpticalError(f"continuum: unknown method {method!r} (use one of {', '.join(METHODS)})")
    if int(order) != order or order < 0:
        raise OpticalError(f"continuum: the polynomial order must be an integer >= 0, got {order!r}")
    if not (clip_low > 0 and clip_high > 0):
        raise OpticalError("continuum: clip_low and clip_high must be > 0")
    order_idx = np.argsort(wave, kind="stable")
    x, ys = wave[order_idx], y[order_idx]
    err = None if uncertainty is None else np.asarray(uncertainty, dtype=float).ravel()[order_idx]
    weights = np.ones_like(ys) if err is None else np.where(err > 0, 1.0 / np.where(err > 0, err, 1.0), 0.0)
    good = np.isfinite(ys) & np.isfinite(weights) & (weights > 0)
    if regions_a is not None:
        in_regions = np.zeros(x.size, dtype=bool)
        for i, region in enumerate(regions_a):
            try:
                lo, hi = (float(v) for v in region)
            except (TypeError, ValueError):
                raise OpticalError(f"continuum: region {i} must be [wmin, wmax] in A, got {region!r}") from None
            if not hi > lo:
                raise OpticalError(f"continuum: region {i} [{lo:g}, {hi:g}] is empty")
            in_regions |= (x >= lo) & (x <= hi)
        good &= in_regions
    if not good.any():
        raise OpticalError("continuum: no finite pixel in the regions given")
    fit = _fitter(method, x, ys, int(order), knot_spacing_a)
    used = good.copy()
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        cont = fit(used, weights)
        resid = ys - cont
        sigma = _robust_sigma(resid[used])
        keep = good & (resid > -clip_low * sigma) & (resid < clip_high * sigma) if sigma > 0 else used
        if np.array_equal(keep, used):
            break
        used = keep
    cont = fit(used, weights)
    if np.any(cont[np.isfinite(ys)] <= 0):
        raise OpticalError("continuum: the fitted continuum goes to zero or below: pick other regions or a "
                           "lower order")
    out_c, out_used = np.empty_like(cont), np.empty_like(used)
    out_c[order_idx], out_used[order_idx] = cont, used
    norm_err = None if uncertainty is None else np.asarray(uncertainty, dtype=float).ravel() / out_c
    return Continuum(out_c, y / out_c, norm_err, out_used, method, iterations, _robust_sigma(resid[used]))
