"""Rotational (population) diagram: T_rot and N_tot from integrated line intensities.

For an optically thin line in the Rayleigh-Jeans form of the radiative transfer, the upper-level
column density follows from the integrated intensity W = int T_B dv (Goldsmith & Langer 1999,
ApJ 517, 209, eq. 10):

    N_u = 8 pi k nu^2 W / (h c^3 A_ul)            (divided by the beam filling factor ff)

and in LTE at a single temperature  ln(N_u / g_u) = ln(N_tot / Q(T_rot)) - E_u / T_rot,
so a weighted straight-line fit of ln(N_u/g_u) against E_u gives T_rot = -1/slope and
N_tot = Q(T_rot) exp(intercept).

Optical-depth correction (option): N_u is multiplied by C_tau = int tau dv / int (1 - e^-tau) dv
over the Gaussian line profile (the exact form of Goldsmith & Langer's tau / (1 - e^-tau) for a
line-integrated intensity), with the line-centre opacity

    tau_0 = c^3 A_ul N_u (exp(h nu / k T) - 1) / (4 pi nu^3 FWHM sqrt(pi / ln 2))

computed from T_rot and N_tot; with the correction, T_rot and N_tot are fitted directly to the
uncorrected points (model ln(N/Q(T)) - E_u/T - ln C_tau(T, N)) by non-linear least squares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from cassis_lite.constants import C_LIGHT, C_LIGHT_KMS, H_PLANCK, K_BOLTZMANN
from cassis_lite.errors import CassisError
from cassis_lite.lte.physics import opacity_from_upper_column
from cassis_lite.units import lsr_velocity_to_freq_mhz


class RotationalDiagramError(CassisError):
    """The rotational diagram cannot be computed from the given lines."""


def upper_column_from_area(freq_mhz, aij, area_k_kms, beam_filling=1.0):
    """N_u (cm^-2) = 8 pi k nu^2 W / (h c^3 A_ul ff) for W in K km/s (thin, Rayleigh-Jeans)."""
    nu = np.asarray(freq_mhz, dtype=float) * 1e6
    w = np.asarray(area_k_kms, dtype=float) * 1e3  # K m/s
    nu_m2 = 8 * math.pi * K_BOLTZMANN * nu**2 * w / (H_PLANCK * C_LIGHT**3 * np.asarray(aij, float))
    return nu_m2 / np.asarray(beam_filling, dtype=float) * 1e-4


_X = np.linspace(-4.0, 4.0, 801)
_G = np.exp(-4.0 * math.log(2.0) * _X**2)  # unit-peak Gaussian on a grid in FWHM units


def opacity_correction(tau0) -> np.ndarray:
    """C_tau = int tau dv / int (1 - exp(-tau)) dv for a Gaussian profile of peak tau0."""
    t = np.atleast_1d(np.asarray(tau0, dtype=float))
    num = t * _G.sum()
    den = (-np.expm1(-np.outer(t, _G))).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(t > 1e-8, num / np.where(den > 0, den, 1.0), 1.0)
    return c


@dataclass
class RotationalDiagramResult:
    t_rot_k: float
    t_rot_err_k: float
    ntot_cm2: float
    ntot_err_cm2: float
    eup_k: np.ndarray
    ln_nu_gu: np.ndarray
    ln_nu_gu_err: np.ndarray
    tau: np.ndarray
    slope: float
    intercept: float
    covar: np.ndarray = field(repr=False)
    chi2: float = 0.0
    reduced_chi2: float = 0.0
    iterations: int = 0

    def model(self, eup_k) -> np.ndarray:
        """The fitted line ln(N_u/g_u) at ``eup_k``."""
        return self.intercept + self.slope * np.asarray(eup_k, dtype=float)

    def report(self) -> str:
        from cassis_lite.fitting.parameters import format_value_error
        return "\n".join([
            f"T_rot = {format_value_error(self.t_rot_k, self.t_rot_err_k)} K",
            f"N_tot = {format_value_error(self.ntot_cm2, self.ntot_err_cm2)} cm-2",
            self._fit_line(),
        ])

    def _fit_line(self) -> str:
        n = self.eup_k.size
        if n <= 2:  # a straight line through two points: no scatter to judge it by
            return f"{n} lines: the straight line through them (errors from the areas only, no chi-square)"
        return f"{n} lines fitted, reduced chi-square = {self.reduced_chi2:.4g}"

    def to_dict(self) -> dict:
        return {
            "t_rot_k": self.t_rot_k, "t_rot_err_k": self.t_rot_err_k,
            "ntot_cm2": self.ntot_cm2, "ntot_err_cm2": self.ntot_err_cm2,
            "chi2": self.chi2, "reduced_chi2": self.reduced_chi2, "iterations": self.iterations,
            "points": [{"eup_k": float(e), "ln_nu_gu": float(y), "ln_nu_gu_err": float(s),
                        "tau": float(t)} for e, y, s, t in
                       zip(self.eup_k, self.ln_nu_gu, self.ln_nu_gu_err, self.tau)],
        }


def _weighted_line(x, y, s, scale_covar: bool):
    w = 1.0 / s**2
    a = np.column_stack([np.ones_like(x), x]) * np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(a, y * np.sqrt(w), rcond=None)
    cov = np.linalg.inv(a.T @ a)
    chi2 = float(np.sum(w * (y - coef[0] - coef[1] * x) ** 2))
    dof = x.size - 2
    redchi = chi2 / dof if dof > 0 else float("nan")
    if scale_covar and dof > 0:
        cov = cov * redchi
    return coef, cov, chi2, redchi


def rotational_diagram(freq_mhz, aij, gup, eup_k, area_k_kms, area_err_k_kms,
                       partition_function: Callable[[float], float], *, beam_filling=1.0,
                       calibration: float = 0.0, tau_correction: bool = False,
                       fwhm_kms: float | None = None, scale_covar: bool = True,
                       max_iterations: int = 100) -> RotationalDiagramResult:
    """Fit T_rot and N_tot to integrated intensities (K km/s) of lines of one species.

    ``area_err_k_kms``: 1-sigma error of each area (statistical); ``calibration``: relative
    calibration uncertainty added in quadrature. ``partition_function``: Q(T) (e.g.
    ``db.partition_function("CO").q``). With ``tau_correction`` the line FWHM (km/s) is needed.
    Uncertainties: covariance of the weighted fit, scaled by the reduced chi-square when there
    are more than two lines; sigma(T) = sigma(slope)/slope^2 and sigma(N) propagates the
    intercept, the slope and dQ/dT.
    """
    freq, a, g, e, w, sw = (np.asarray(v, dtype=float) for v in
                            (freq_mhz, aij, gup, eup_k, area_k_kms, area_err_k_kms))
    n = freq.size
    if not all(v.shape == (n,) for v in (a, g, e, w, sw)):
        raise RotationalDiagramError("line arrays (freq, aij, gup, eup, area, error) differ in length")
    if n < 2:
        raise RotationalDiagramError(f"{n} line(s): a rotational diagram needs at least 2")
    if np.ptp(e) <= 0:
        raise RotationalDiagramError("all lines have the same E_up: no temperature can be derived")
    if np.any(w <= 0):
        raise RotationalDiagramError("integrated intensities must be positive (emission lines)")
    if tau_correction and not (fwhm_kms and fwhm_kms > 0):
        raise RotationalDiagramError("the optical-depth correction needs the line FWHM (km/s)")
    nu_thin = upper_column_from_area(freq, a, w, beam_filling)
    y_thin = np.log(nu_thin / g)
    rel = np.sqrt((sw / w) ** 2 + calibration**2)
    if np.any(rel <= 0):
        raise RotationalDiagramError("area uncertainties must be positive")
    coef, cov, chi2, redchi = _weighted_line(e, y_thin, rel, scale_covar)
    if coef[1] >= 0:
        raise RotationalDiagramError(
            "ln(N_u/g_u) does not decrease with E_up: no positive rotational temperature")
    b = coef[1]
    t_rot = -1.0 / b
    q = float(partition_function(t_rot))
    ntot = q * math.exp(coef[0])
    tau = np.zeros(n)
    y = y_thin
    it = 0
    if not tau_correction:
        t_err = math.sqrt(cov[1, 1]) / b**2
        h = 1e-4 * t_rot
        dlnq_dt = (math.log(partition_function(t_rot + h))
                   - math.log(partition_function(t_rot - h))) / (2 * h)
        # ln N = a + ln Q(T(b)),  dT/db = 1/b^2
        grad = np.array([1.0, dlnq_dt / b**2])
        n_err = ntot * math.sqrt(float(grad @ cov @ grad))
    else:
        # fit ln(N_u,thin/g_u) = ln(N/Q(T)) - E_u/T - ln C_tau(T, N) directly (a fixed-point
        # iteration of the correction can settle on a wrong solution for thick lines)
        from cassis_lite.fitting.parameters import FitError, Parameters, least_squares_fit

        def model(v):
            t, ln_n = v["t_rot"], v["ln_ntot"]
            qt = float(partition_function(t))
            nu_model = math.exp(ln_n) * g * np.exp(-e / t) / qt
            tau_m = opacity_from_upper_column(freq, a, nu_model, t, fwhm_kms)
            return ln_n - math.log(qt) - e / t - np.log(opacity_correction(tau_m)), tau_m

        best = None
        for t_start in (t_rot, 0.7 * t_rot, 1.5 * t_rot):
            p = Parameters()
            p.add("t_rot", t_start, min=0.05 * t_start, max=20 * t_start)
            p.add("ln_ntot", math.log(ntot), min=math.log(ntot) - 5, max=math.log(ntot) + 25)
            try:
                r = least_squares_fit(lambda v: (y_thin - model(v)[0]) / rel, p,
                                      scale_covar=scale_covar and n > 2, max_nfev=2000)
            except (FitError, CassisError):
                continue
            if best is None or r.chisqr < best.chisqr - 1e-9:
                best = r
        if best is None or best.covar is None:
            raise RotationalDiagramError("optical-depth corrected fit failed (lines too thick?)")
        t_rot = best.params["t_rot"].value
        ntot = math.exp(best.params["ln_ntot"].value)
        _, tau = model(best.params.valuesdict())
        y = y_thin + np.log(opacity_correction(tau))
        t_err = best.params["t_rot"].stderr
        n_err = ntot * best.params["ln_ntot"].stderr
        b = -1.0 / t_rot
        coef = np.array([math.log(ntot / float(partition_function(t_rot))), b])
        cov = best.covar
        chi2, redchi, it = best.chisqr, best.redchi, best.nfev
    return RotationalDiagramResult(t_rot, t_err, ntot, n_err, e, y, rel, tau,
                                   float(b), float(coef[0]), cov, chi2, redchi, it)


def integrate_lines(freq_mhz, intensity, line_freq_mhz, vmin_kms: float, vmax_kms: float,
                    rms: float, vlsr_file_kms: float = 0.0, baseline: float = 0.0):
    """Integrated intensity (K km/s) and its error over [vmin, vmax] around each line.

    Channel velocity v = v_file + c (1 - nu / nu_line) (radio convention); the error is
    rms x sqrt(sum dv_i^2). Returns (area, error, n_channels) arrays; lines with no channel in
    the window get NaN.
    """
    f = np.asarray(freq_mhz, dtype=float)
    y = np.asarray(intensity, dtype=float) - baseline
    lines = np.atleast_1d(np.asarray(line_freq_mhz, dtype=float))
    dv = np.abs(np.gradient(f)) / f * C_LIGHT_KMS
    area = np.full(lines.size, np.nan)
    err = np.full(lines.size, np.nan)
    count = np.zeros(lines.size, dtype=int)
    for i, f0 in enumerate(lines):
        # v in [vmin, vmax]  <=>  nu in [f0 (1 - (vmax - v_file)/c), f0 (1 - (vmin - v_file)/c)]
        lo, hi = lsr_velocity_to_freq_mhz(np.array([vmax_kms, vmin_kms]), f0, vlsr_file_kms)
        i0, i1 = np.searchsorted(f, [lo, hi])
        if i1 > i0:
            area[i] = float(np.sum(y[i0:i1] * dv[i0:i1]))
            err[i] = float(rms * math.sqrt(np.sum(dv[i0:i1] ** 2)))
            count[i] = i1 - i0
    return area, err, count


@dataclass
class SpectrumLines:
    """Lines of one species measured in a spectrum, as used by a rotational diagram."""

    freq_mhz: np.ndarray
    aij: np.ndarray
    gup: np.ndarray
    eup_k: np.ndarray
    area_k_kms: np.ndarray
    area_err_k_kms: np.ndarray
    qn: np.ndarray
    dropped: list  # (freq_mhz, reason)


def measure_species_lines(freq_mhz, intensity, db, species, vmin_kms: float, vmax_kms: float, *,
                          vlsr_file_kms: float = 0.0, rms=None, eup_max_k: float | None = None,
                          aij_min: float | None = None, min_snr: float = 3.0) -> SpectrumLines:
    """Integrate every line of ``species`` over [vmin, vmax] (LSR velocity, radio convention).

    Lines whose windows overlap another line of the species (blends: their areas cannot be
    split without a model) are dropped, as are lines not covered by the spectrum or with an
    area below ``min_snr`` sigma; ``dropped`` says which and why. ``rms``: None (robust rms
    of each spectral window) or a number.
    """
    from cassis_lite.analysis.features import channel_rms, window_slices

    f = np.asarray(freq_mhz, dtype=float)
    y = np.asarray(intensity, dtype=float)
    base = np.empty_like(y)
    for w in window_slices(f):
        base[w] = np.nanmedian(y[w])
    d = np.nan_to_num(y - base)
    rms_arr = channel_rms(f, d) if rms is None else np.broadcast_to(float(rms), f.shape)
    t = db.transitions(float(f[0]) * 0.999, float(f[-1]) * 1.001, species=[species],
                       eup_max_k=eup_max_k, aij_min=aij_min)
    lo = lsr_velocity_to_freq_mhz(vmax_kms, t.freq_mhz, vlsr_file_kms)
    hi = lsr_velocity_to_freq_mhz(vmin_kms, t.freq_mhz, vlsr_file_kms)
    keep = np.ones(len(t), dtype=bool)
    dropped = []
    overlap = np.zeros(len(t), dtype=bool)
    if len(t) > 1:
        ov = lo[1:] <= hi[:-1]
        overlap[1:] |= ov
        overlap[:-1] |= ov
    areas = np.full(len(t), np.nan)
    errs = np.full(len(t), np.nan)
    for i in range(len(t)):
        if overlap[i]:
            keep[i] = False
            dropped.append((float(t.freq_mhz[i]), "blended with another line of the species"))
            continue
        r = float(rms_arr[min(np.searchsorted(f, t.freq_mhz[i]), f.size - 1)])
        a, e, n = integrate_lines(f, d, [t.freq_mhz[i]], vmin_kms, vmax_kms, r, vlsr_file_kms)
        if n[0] < 3:
            keep[i] = False
            dropped.append((float(t.freq_mhz[i]), "not covered by the spectrum"))
            continue
        areas[i], errs[i] = a[0], e[0]
        if not a[0] >= min_snr * e[0]:
            keep[i] = False
            dropped.append((float(t.freq_mhz[i]), f"area below {min_snr:g} sigma"))
    tk = t[keep]
    return SpectrumLines(tk.freq_mhz, tk.aij, tk.gup.astype(float), tk.eup_k, areas[keep], errs[keep],
                         tk.qn, dropped)
