"""Fit of n Gaussian components plus a polynomial baseline over a frequency range (CLASS's
``METHOD GAUSS`` / ``MINIMIZE``, CASSIS's line fit).

Model, with v the LSR velocity of each channel (radio convention about nu_0, the file's v_lsr
added: :func:`cassis_lite.units.lsr_velocity_kms`) and x = (f - f_mid) / half_span
over the range:

    I(v) = sum_k amp_k exp(-(v - centre_k)^2 / (2 sigma_k^2)) + sum_j base_j x^j,
    sigma_k = fwhm_k / (2 sqrt(2 ln 2))

(in the radio convention v is linear in frequency, so each component is also a Gaussian in
frequency). Weighted least squares with residual (I_obs - I) / rms by
:func:`cassis_lite.fitting.parameters.least_squares_fit`: 1-sigma errors from the covariance
(J^T J)^-1 chi2_red (lmfit's default, Press et al., *Numerical Recipes*, sect. 15.5). The area
of a component is amp fwhm sqrt(pi / (4 ln 2)) (:data:`~cassis_lite.constants.GAUSS_AREA`),
its error propagated with the covariance of (amp, fwhm).

SciPy is imported only when a fit runs (it is loaded lazily in the browser).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.analysis.baseline import check_degree, scaled_polynomial
from cassis_lite.analysis.statistics import channel_width_kms, noise_rms, range_slice, rest_frequency
from cassis_lite.constants import FWHM_TO_SIGMA, GAUSS_AREA
from cassis_lite.errors import ProcessingError
from cassis_lite.fitting.parameters import FitResult, Parameters, format_value_error, least_squares_fit
from cassis_lite.spectrum import Spectrum
from cassis_lite.units import lsr_velocity_kms, lsr_velocity_to_freq_mhz

#: FWHM bounds of a component, in channel widths and in widths of the fitted range
MIN_FWHM_CHANNELS = 0.1
MAX_FWHM_RANGES = 2.0


def gaussian_profiles(velocity_kms, amp, centre_kms, fwhm_kms) -> np.ndarray:
    """amp_k exp(-(v - centre_k)^2 / (2 sigma_k^2)) for each component k: shape (n, len(v))."""
    v = np.asarray(velocity_kms, dtype=float)
    amp, centre, sigma = (np.atleast_1d(np.asarray(a, dtype=float))[:, None]
                          for a in (amp, centre_kms, np.asarray(fwhm_kms, dtype=float) * FWHM_TO_SIGMA))
    return amp * np.exp(-0.5 * ((v[None, :] - centre) / sigma) ** 2)


@dataclass(frozen=True)
class GaussComponent:
    """One fitted Gaussian: amplitude (``y_unit``), centre (km/s and MHz), FWHM (km/s) and area
    (``y_unit`` km/s), each with its 1-sigma error (None when the covariance is undetermined;
    0 for a fixed parameter)."""

    amplitude: float
    amplitude_err: float | None
    centre_kms: float
    centre_err_kms: float | None
    centre_mhz: float
    centre_err_mhz: float | None
    fwhm_kms: float
    fwhm_err_kms: float | None
    area: float
    area_err: float | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class GaussFitResult:
    """Result of :func:`fit_gaussians`.

    params: the fitted :class:`~cassis_lite.fitting.parameters.Parameters` (amp_k, centre_k,
    fwhm_k for k = 1..n, then base_0..base_d: coefficients of x = (f - f_mid_mhz) /
    half_span_mhz); redchi, chisqr, n_data, n_free: the fit statistics; gaussians: one
    :class:`GaussComponent` per component; velocities about rest_freq_mhz (rest_freq_source as in
    :func:`cassis_lite.analysis.statistics.rest_frequency`) with the file's v_lsr vlsr_file_kms
    added; rms: the noise of the weights (``y_unit``, median over the range; rms_source);
    fit: the :class:`~cassis_lite.fitting.parameters.FitResult` (covariance, correlations).
    """

    params: Parameters
    redchi: float
    chisqr: float
    n_data: int
    n_free: int
    success: bool
    gaussians: list[GaussComponent]
    n_components: int
    baseline_degree: int | None
    fmin_mhz: float
    fmax_mhz: float
    f_mid_mhz: float
    half_span_mhz: float
    rest_freq_mhz: float
    rest_freq_source: str
    vlsr_file_kms: float
    rms: float
    rms_source: str
    y_unit: str
    fit: FitResult = field(repr=False)

    def _velocity(self, freq_mhz) -> np.ndarray:
        return lsr_velocity_kms(np.asarray(freq_mhz, dtype=float), self.rest_freq_mhz, self.vlsr_file_kms)

    def components(self, freq_mhz) -> np.ndarray:
        """Each Gaussian apart at ``freq_mhz`` (MHz): shape (n_components, len(freq_mhz)), ``y_unit``."""
        p = self.params
        k = range(1, self.n_components + 1)
        return gaussian_profiles(self._velocity(freq_mhz), [p[f"amp_{i}"].value for i in k],
                                 [p[f"centre_{i}"].value for i in k], [p[f"fwhm_{i}"].value for i in k])

    def baseline(self, freq_mhz) -> np.ndarray:
        """The fitted baseline polynomial at ``freq_mhz`` (zero without a baseline)."""
        f = np.asarray(freq_mhz, dtype=float)
        if self.baseline_degree is None:
            return np.zeros(f.shape)
        coef = [self.params[f"base_{j}"].value for j in range(self.baseline_degree + 1)]
        return scaled_polynomial(f, coef, self.f_mid_mhz, self.half_span_mhz)

    def model(self, freq_mhz) -> np.ndarray:
        """Sum of the components and the baseline at ``freq_mhz`` (MHz), ``y_unit``."""
        return self.components(freq_mhz).sum(axis=0) + self.baseline(freq_mhz)

    def report(self) -> str:
        """The fit's parameter lines (value +/- error), then centre in MHz and area per component."""
        head = (f"{self.n_components} Gaussian(s)"
                + ("" if self.baseline_degree is None else f" + baseline of degree {self.baseline_degree}")
                + f" over {self.fmin_mhz:.6f} - {self.fmax_mhz:.6f} MHz, rms {self.rms:.4g} {self.y_unit} "
                f"({self.rms_source}); velocities: LSR, radio convention about {self.rest_freq_mhz:.6f} MHz "
                f"({self.rest_freq_source}), file v_lsr {self.vlsr_file_kms:g} km/s")
        lines = [head, self.fit.report()]
        for k, g in enumerate(self.gaussians, 1):
            err = g.centre_err_mhz
            dec = 6 if not err else min(6, max(0, 1 - math.floor(math.log10(err))))
            centre = f"{g.centre_mhz:.{dec}f} +/- " + ("nan" if err is None else f"{err:.{dec}f}")
            lines.append(f"component {k}: centre = {centre} MHz, "
                         f"area = {format_value_error(g.area, g.area_err)} {self.y_unit} km/s".rstrip())
        return "\n".join(lines)

    def to_dict(self) -> dict:
        d = self.fit.to_dict()
        d.update(gaussians=[g.to_dict() for g in self.gaussians], n_components=self.n_components,
                 baseline_degree=self.baseline_degree, fmin_mhz=self.fmin_mhz, fmax_mhz=self.fmax_mhz,
                 f_mid_mhz=self.f_mid_mhz, half_span_mhz=self.half_span_mhz, rest_freq_mhz=self.rest_freq_mhz,
                 rest_freq_source=self.rest_freq_source, vlsr_file_kms=self.vlsr_file_kms, rms=self.rms,
                 rms_source=self.rms_source, y_unit=self.y_unit)
        return d


def initial_guesses(velocity_kms: np.ndarray, residual: np.ndarray, dv_kms: float, n: int) -> list[tuple]:
    """(amp, centre_kms, fwhm_kms) of the n strongest peaks (emission or absorption): take the
    channel of largest |residual|, its width from the half-height crossings either side, subtract
    that Gaussian, repeat; sorted by velocity."""
    r = residual.copy()
    out = []
    for _ in range(n):
        i = int(np.argmax(np.abs(r)))
        amp = float(r[i])
        below = np.abs(r) <= 0.5 * abs(amp) if amp != 0 else np.ones(r.size, dtype=bool)
        left = np.flatnonzero(below[:i])
        right = np.flatnonzero(below[i + 1:])
        a = left[-1] if left.size else 0
        b = i + 1 + right[0] if right.size else r.size - 1
        fwhm = max(b - a - 1, 1.5) * dv_kms
        out.append((amp, float(velocity_kms[i]), fwhm))
        r -= gaussian_profiles(velocity_kms, amp, velocity_kms[i], fwhm)[0]
    return sorted(out, key=lambda g: g[1])


def _build_params(n: int, degree: int | None, guesses, base0: float, vlo: float, vhi: float,
                  fwhm_lo: float, fwhm_hi: float, unit: str) -> Parameters:
    params = Parameters()
    for k, (amp, centre, fwhm) in enumerate(guesses, 1):
        params.add(f"amp_{k}", amp, unit=unit)
        params.add(f"centre_{k}", centre, min=vlo, max=vhi, unit="km/s")
        params.add(f"fwhm_{k}", fwhm, min=fwhm_lo, max=fwhm_hi, unit="km/s")
    if degree is not None:
        for j in range(degree + 1):
            params.add(f"base_{j}", base0 if j == 0 else 0.0, unit=unit)
    return params


def _check_initial(initial, n: int) -> list[tuple[float, float, float]]:
    """``initial`` as n (amp, centre_kms, fwhm_kms) triples of finite numbers."""
    try:
        triples = [tuple(float(v) for v in g) for g in initial]
    except (TypeError, ValueError):
        raise ProcessingError(f"initial must be {n} (amp, centre_kms, fwhm_kms) triples, got {initial!r}") from None
    if len(triples) != n or any(len(t) != 3 or not all(map(math.isfinite, t)) for t in triples):
        raise ProcessingError(f"initial must be {n} (amp, centre_kms, fwhm_kms) triples of finite numbers, "
                              f"got {initial!r}")
    return triples


def _error(cov: np.ndarray | None, names: list[str], grad: dict[str, float]) -> float | None:
    """sqrt(g^T C g) over the free parameters (a fixed one contributes nothing)."""
    if cov is None:
        return None
    g = np.array([grad.get(n, 0.0) for n in names])
    return float(math.sqrt(max(float(g @ cov @ g), 0.0)))


def fit_gaussians(spectrum: Spectrum, fmin_mhz: float, fmax_mhz: float, n: int = 1,
                  rest_freq_mhz: float | None = None, initial=None, baseline_degree: int | None = 0,
                  rms: float | None = None) -> GaussFitResult:
    """Fit n Gaussian components and a polynomial baseline over a frequency range.

    Parameters
    ----------
    spectrum : Spectrum
    fmin_mhz, fmax_mhz : float
        The fitted range in MHz (either order): the finite channels whose centres lie in it.
    n : int
        Number of Gaussian components (>= 1).
    rest_freq_mhz : float, optional
        nu_0 of the velocities (MHz); default as :func:`cassis_lite.analysis.statistics.rest_frequency`.
    initial : sequence of (amp, centre_kms, fwhm_kms) or Parameters, optional
        Starting values (amplitude in ``y_unit``, LSR centre and FWHM in km/s); a
        :class:`~cassis_lite.fitting.parameters.Parameters` with the names of the result (e.g. a
        previous ``result.params`` with a width fixed) is used as it is. Default: the n strongest
        peaks of the range (:func:`initial_guesses`) above the median of its outer fifths.
    baseline_degree : int or None
        Degree of the baseline polynomial fitted with the lines (0: a constant offset; None: no
        baseline, the spectrum is taken as baseline-subtracted).
    rms : float, optional
        Noise per channel (``y_unit``) of the weights 1 / rms^2; default: the robust rms of the
        window(s) the range lies in.

    Returns
    -------
    GaussFitResult
        Parameter bounds: centres within the velocities of the range, FWHM within
        [0.1 channel, 2 x the range width].
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ProcessingError(f"number of Gaussian components must be an integer >= 1, got {n!r}")
    n = int(n)
    degree = None if baseline_degree is None else check_degree(baseline_degree, "fit baseline")
    lo, hi, sl = range_slice(spectrum, fmin_mhz, fmax_mhz, "fit range")
    f0, source = rest_frequency(spectrum, sl, lo, hi, rest_freq_mhz)
    noise, rms_source = noise_rms(spectrum, sl, rms)
    vfile = float(spectrum.vlsr_kms or 0.0)
    f, y = spectrum.freq_mhz[sl], spectrum.intensity[sl]
    good = np.isfinite(y)
    f, y, noise = f[good], y[good], noise[good]
    n_free = 3 * n + (0 if degree is None else degree + 1)
    if y.size <= n_free:
        raise ProcessingError(f"fit range {lo:.6f} - {hi:.6f} MHz has {y.size} finite channels for {n_free} "
                              "free parameters: widen it or fit fewer components")
    v = lsr_velocity_kms(f, f0, vfile)
    dv = float(np.nanmedian(channel_width_kms(spectrum, f0)[sl]))
    vlo, vhi = (float(x) for x in lsr_velocity_kms(np.array([hi, lo]), f0, vfile))
    f_mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo) or 1.0
    names = [f"{p}_{k}" for k in range(1, n + 1) for p in ("amp", "centre", "fwhm")]
    names += [] if degree is None else [f"base_{j}" for j in range(degree + 1)]
    if isinstance(initial, Parameters):
        if sorted(initial) != sorted(names):
            raise ProcessingError(f"initial parameters must be {', '.join(names)}; got {', '.join(initial)}")
        params = initial.copy()
    else:
        outer = max(1, y.size // 5)
        base0 = 0.0 if degree is None else float(np.median(np.concatenate((y[:outer], y[-outer:]))))
        fwhm_lo, fwhm_hi = MIN_FWHM_CHANNELS * dv, MAX_FWHM_RANGES * (vhi - vlo)
        if initial is None:
            guesses = [(a, min(max(c, vlo), vhi), min(max(w, fwhm_lo), fwhm_hi))
                       for a, c, w in initial_guesses(v, y - base0, dv, n)]
        else:
            guesses = _check_initial(initial, n)
        params = _build_params(n, degree, guesses, base0, vlo, vhi, fwhm_lo, fwhm_hi, spectrum.y_unit)

    def residual(p: dict) -> np.ndarray:
        lines = gaussian_profiles(v, [p[f"amp_{k}"] for k in range(1, n + 1)],
                                  [p[f"centre_{k}"] for k in range(1, n + 1)],
                                  [p[f"fwhm_{k}"] for k in range(1, n + 1)]).sum(axis=0)
        if degree is not None:
            lines = lines + scaled_polynomial(f, [p[f"base_{j}"] for j in range(degree + 1)], f_mid, half)
        return (y - lines) / noise

    fit = least_squares_fit(residual, params)
    p, cov, var = fit.params, fit.covar, fit.var_names
    gaussians = []
    for k in range(1, n + 1):
        amp, centre, fwhm = p[f"amp_{k}"].value, p[f"centre_{k}"].value, p[f"fwhm_{k}"].value
        centre_err = _error(cov, var, {f"centre_{k}": 1.0})
        centre_mhz = float(lsr_velocity_to_freq_mhz(centre, f0, vfile))
        centre_err_mhz = (None if centre_err is None else
                          abs(float(lsr_velocity_to_freq_mhz(centre + centre_err, f0, vfile)) - centre_mhz))
        gaussians.append(GaussComponent(
            amp, _error(cov, var, {f"amp_{k}": 1.0}), centre, centre_err, centre_mhz, centre_err_mhz,
            fwhm, _error(cov, var, {f"fwhm_{k}": 1.0}), amp * fwhm * GAUSS_AREA,
            _error(cov, var, {f"amp_{k}": fwhm * GAUSS_AREA, f"fwhm_{k}": amp * GAUSS_AREA})))
    return GaussFitResult(p, fit.redchi, fit.chisqr, fit.ndata, fit.nfree, fit.success, gaussians, n, degree,
                          lo, hi, f_mid, half, f0, source, vfile, float(np.median(noise)), rms_source,
                          spectrum.y_unit, fit)
