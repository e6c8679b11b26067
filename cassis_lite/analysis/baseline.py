"""Polynomial baseline of a spectrum, fitted over line-free regions, and its subtraction.

The baseline is the polynomial of degree d (0-9) that minimises sum (I_i - B(f_i))^2 over the
channels inside the line-free regions (CLASS's BASE, CASSIS's baseline tool): ordinary linear
least squares, solved by :func:`numpy.linalg.lstsq` on the Vandermonde matrix of the scaled
variable x = (f - f_mid) / half_span, |x| <= 1 over the spectral windows the regions lie in,
so that degree 9 stays well conditioned (Press et al., *Numerical Recipes*, sect. 15.4).

Every processing step returns a new :class:`~cassis_lite.spectrum.Spectrum` and appends a record
``{"step": ..., ...}`` to its ``meta["processing"]`` (:func:`derived_spectrum`): the history the
app shows, undone by going back to the original object.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, replace

import numpy as np
from numpy.polynomial import polynomial as P

from cassis_lite.errors import ProcessingError
from cassis_lite.spectrum import Spectrum

MAX_DEGREE = 9


def derived_spectrum(spectrum: Spectrum, step: dict, **changes) -> Spectrum:
    """Copy of ``spectrum`` with ``changes`` (dataclasses.replace) and ``step`` appended to a
    copy of its ``meta["processing"]`` list (the original object is left as it was)."""
    meta = dict(changes.pop("meta", spectrum.meta))
    meta["processing"] = [*spectrum.meta.get("processing", []), step]
    return replace(spectrum, meta=meta, **changes)


def scaled_polynomial(freq_mhz, coefficients, f_mid_mhz: float, half_span_mhz: float) -> np.ndarray:
    """sum_k c_k x^k with x = (f - f_mid) / half_span (coefficients in ascending powers)."""
    x = (np.asarray(freq_mhz, dtype=float) - f_mid_mhz) / half_span_mhz
    return P.polyval(x, np.asarray(coefficients, dtype=float))


def check_degree(degree, what: str = "baseline") -> int:
    """The polynomial degree as an int in 0..:data:`MAX_DEGREE` (bools and fractions refused)."""
    if isinstance(degree, bool):
        raise ProcessingError(f"{what} degree must be an integer from 0 to {MAX_DEGREE}, got {degree!r}")
    try:
        d = operator.index(degree)
    except TypeError:
        if isinstance(degree, float) and degree.is_integer():
            d = int(degree)
        else:
            raise ProcessingError(f"{what} degree must be an integer from 0 to {MAX_DEGREE}, "
                                  f"got {degree!r}") from None
    if not 0 <= d <= MAX_DEGREE:
        raise ProcessingError(f"{what} degree must be from 0 to {MAX_DEGREE}, got {d}")
    return d


@dataclass(frozen=True)
class Baseline:
    """A polynomial baseline B(f) = sum_k coefficients[k] x^k, x = (f - f_mid_mhz) / half_span_mhz.

    degree: polynomial degree; regions_mhz: the line-free regions ((fmin, fmax), ...) in MHz,
    each in ascending order; coefficients: of the scaled variable x, ascending powers, in
    ``y_unit``; f_mid_mhz, half_span_mhz: centre and half width (MHz) of the span
    [fmin_mhz, fmax_mhz] of the spectral windows the regions lie in, where
    :func:`subtract_baseline` applies it; rms: sqrt(mean(residual^2)) over the fitted channels,
    in ``y_unit``; n_channels: the finite channels fitted.
    """

    degree: int
    regions_mhz: tuple[tuple[float, float], ...]
    coefficients: tuple[float, ...]
    f_mid_mhz: float
    half_span_mhz: float
    rms: float
    n_channels: int
    fmin_mhz: float
    fmax_mhz: float
    y_unit: str = ""

    def evaluate(self, freq_mhz) -> np.ndarray:
        """B(f) at the frequencies ``freq_mhz`` (MHz), in ``y_unit``."""
        return scaled_polynomial(freq_mhz, self.coefficients, self.f_mid_mhz, self.half_span_mhz)

    def to_dict(self) -> dict:
        return {"degree": self.degree, "regions_mhz": [list(r) for r in self.regions_mhz],
                "coefficients": list(self.coefficients), "f_mid_mhz": self.f_mid_mhz,
                "half_span_mhz": self.half_span_mhz, "rms": self.rms, "n_channels": self.n_channels,
                "fmin_mhz": self.fmin_mhz, "fmax_mhz": self.fmax_mhz, "y_unit": self.y_unit}


def _check_regions(regions_mhz) -> tuple[tuple[float, float], ...]:
    if regions_mhz is None:
        raise ProcessingError("baseline: give at least one line-free region (fmin_mhz, fmax_mhz)")
    try:
        arr = np.asarray(regions_mhz, dtype=float)
    except (TypeError, ValueError):
        raise ProcessingError(f"baseline regions must be (fmin_mhz, fmax_mhz) pairs, got {regions_mhz!r}") from None
    if arr.ndim == 1 and arr.size == 2:
        arr = arr[None, :]
    if arr.size == 0:
        raise ProcessingError("baseline: give at least one line-free region (fmin_mhz, fmax_mhz)")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ProcessingError(f"baseline regions must be (fmin_mhz, fmax_mhz) pairs, got {regions_mhz!r}")
    if not np.all(np.isfinite(arr)):
        raise ProcessingError(f"baseline regions must be finite frequencies in MHz, got {regions_mhz!r}")
    arr = np.sort(arr, axis=1)
    return tuple((float(a), float(b)) for a, b in arr)


def regions_mask(freq_mhz: np.ndarray, regions: tuple[tuple[float, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    """(mask of the channels inside any region (bounds included), channels in each region)."""
    lo = np.searchsorted(freq_mhz, [r[0] for r in regions], side="left")
    hi = np.searchsorted(freq_mhz, [r[1] for r in regions], side="right")
    delta = np.zeros(freq_mhz.size + 1, dtype=int)
    np.add.at(delta, lo, 1)
    np.add.at(delta, hi, -1)
    return np.cumsum(delta)[:-1] > 0, hi - lo


def fit_baseline(spectrum: Spectrum, regions_mhz, degree: int = 1) -> Baseline:
    """Fit a polynomial baseline over line-free regions.

    Parameters
    ----------
    spectrum : Spectrum
        The spectrum (frequency in MHz, intensity in ``spectrum.y_unit``).
    regions_mhz : sequence of (fmin_mhz, fmax_mhz)
        Line-free regions in MHz (either order within a pair; bounds included). Every region
        must hold at least one channel of the spectrum.
    degree : int
        Polynomial degree, 0 to 9.

    Returns
    -------
    Baseline
        Least-squares polynomial over the finite channels of the regions (NaNs ignored), in the
        scaled variable x = (f - f_mid) / half_span of the windows the regions lie in.

    Raises
    ------
    ProcessingError
        No region, a region without any channel (outside the spectrum or in a gap between its
        windows), a degree outside 0-9, or fewer finite channels in the regions than degree + 1.
    """
    d = check_degree(degree)
    regions = _check_regions(regions_mhz)
    f, y = spectrum.freq_mhz, spectrum.intensity
    inside, counts = regions_mask(f, regions)
    if np.any(counts == 0):
        a, b = regions[int(np.argmax(counts == 0))]
        raise ProcessingError(f"baseline region [{a:.6f}, {b:.6f}] MHz holds no channel of the spectrum "
                              f"({f[0]:.6f} - {f[-1]:.6f} MHz, {len(spectrum.windows())} window(s))")
    use = inside & np.isfinite(y)
    n = int(np.count_nonzero(use))
    if n < d + 1:
        raise ProcessingError(f"baseline of degree {d} needs at least {d + 1} finite channels in the regions, "
                              f"found {n}: widen the regions or lower the degree")
    windows = spectrum.windows()
    starts = np.array([w.start for w in windows])
    touched = np.unique(np.searchsorted(starts, np.flatnonzero(inside), side="right") - 1)
    fmin, fmax = float(f[windows[touched[0]].start]), float(f[windows[touched[-1]].stop - 1])
    f_mid = 0.5 * (fmin + fmax)
    half = 0.5 * (fmax - fmin) or 1.0  # a one-channel window: x = 0 there
    x = (f[use] - f_mid) / half
    coef = np.linalg.lstsq(P.polyvander(x, d), y[use], rcond=None)[0]
    resid = y[use] - P.polyval(x, coef)
    return Baseline(d, regions, tuple(float(c) for c in coef), float(f_mid), float(half),
                    float(math.sqrt(np.mean(resid**2))), n, fmin, fmax, spectrum.y_unit)


def subtract_baseline(spectrum: Spectrum, baseline: Baseline) -> Spectrum:
    """The spectrum minus ``baseline`` over the baseline's span [fmin_mhz, fmax_mhz] (the windows
    its regions lie in; other windows are left as they are). The uncertainty is unchanged; the
    step is recorded in ``meta["processing"]`` as ``{"step": "baseline", **baseline.to_dict()}``.

    Raises
    ------
    ProcessingError
        The baseline was fitted in another intensity unit, or its span holds no channel.
    """
    if baseline.y_unit and spectrum.y_unit and baseline.y_unit != spectrum.y_unit:
        raise ProcessingError(f"baseline fitted in {baseline.y_unit!r}, spectrum in {spectrum.y_unit!r}: "
                              "fit it again on this spectrum")
    f = spectrum.freq_mhz
    span = (f >= baseline.fmin_mhz) & (f <= baseline.fmax_mhz)
    if not span.any():
        raise ProcessingError(f"baseline span {baseline.fmin_mhz:.6f} - {baseline.fmax_mhz:.6f} MHz holds "
                              "no channel of the spectrum")
    y = spectrum.intensity.copy()
    y[span] -= baseline.evaluate(f[span])
    return derived_spectrum(spectrum, {"step": "baseline", **baseline.to_dict()}, intensity=y)
