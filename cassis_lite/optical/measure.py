"""Measurements on a spectrum: equivalent width by direct integration, and apparent optical depth
column density (Savage & Sembach 1991, ApJ 379, 245).

Both sum over the pixels of a range, each pixel counting with its width (half the distance
between its neighbours; the pixels at the range's ends only with the part inside it):

    W = sum (1 - F_i / C_i) dlambda_i,         sigma_W^2 = sum (sigma_i / C_i)^2 dlambda_i^2
    N_a(v) = (m_e c / pi e^2) tau_a(v) / (f lambda_0),   tau_a = ln(C / F),
    N = sum N_a(v_i) dv_i,                    sigma_N^2 = sum ((m_e c / pi e^2) / (f lambda_0))^2 (sigma_i / F_i)^2 dv_i^2

(m_e c / pi e^2 = 3.768e14 cm^-2 (km/s)^-1 A for lambda in A and v in km/s). Rest-frame
equivalent widths are W / (1 + z). Pixels where F <= sigma (or F <= 0) are saturated: tau_a
there is ln(C / max(F, sigma)) and the column density is a lower limit (``saturated``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.constants import C_LIGHT_KMS, PI_E2_MC
from cassis_lite.errors import OpticalError
from cassis_lite.optical.absorption import as_vacuum_a
from cassis_lite.optical.lines import nearest_line

#: m_e c / (pi e^2) in cm^-2 (km/s)^-1 A: N_a(v) = AOD_FACTOR tau_a / (f lambda[A])
AOD_FACTOR = 1e5 / (PI_E2_MC * 1e4 * 1e-8)


@dataclass
class EquivalentWidth:
    """An equivalent width measured over [wmin_a, wmax_a] (observed, vacuum): ``ew_ma`` and its
    1-sigma ``ew_err_ma`` (None without uncertainties), in the rest frame of ``redshift``."""

    ew_ma: float
    ew_err_ma: float | None
    wmin_a: float
    wmax_a: float
    redshift: float
    n_pixels: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ApparentColumn:
    """Apparent optical depth column density over [vmin_kms, vmax_kms] (Savage & Sembach 1991):
    N (cm^-2) with its 1-sigma error, log10 N, whether it is a lower limit (saturated pixels),
    and the profile N_a(v) (cm^-2 (km/s)^-1) at the pixels' velocities."""

    n_cm2: float
    n_err_cm2: float | None
    logn_cm2: float
    logn_err: float | None
    saturated: bool
    ion: str
    wrest_a: float
    f_osc: float
    velocity_kms: np.ndarray = field(repr=False)
    na_cm2_kms: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if not isinstance(v, np.ndarray)}
        d["velocity_kms"] = self.velocity_kms.tolist()
        d["na_cm2_kms"] = self.na_cm2_kms.tolist()
        return d


def _pixels(x: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the pixels (sorted centres ``x``) overlapping [lo, hi] and the width of each inside it."""
    edges = np.concatenate(([1.5 * x[0] - 0.5 * x[1]], 0.5 * (x[1:] + x[:-1]), [1.5 * x[-1] - 0.5 * x[-2]]))
    width = np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0.0, None)
    idx = np.flatnonzero(width > 0)
    return idx, width[idx]


def _prepare(wave_a, flux, uncertainty, continuum, air):
    wave = as_vacuum_a(wave_a, air)
    y = np.asarray(flux, dtype=float).ravel()
    if y.shape != wave.shape or wave.size < 2:
        raise OpticalError(f"wavelength ({wave.size}) and flux ({y.size}) arrays must have equal lengths >= 2")
    c = np.broadcast_to(np.asarray(1.0 if continuum is None else continuum, dtype=float), y.shape)
    err = None if uncertainty is None else np.broadcast_to(np.asarray(uncertainty, dtype=float), y.shape)
    order = np.argsort(wave, kind="stable")
    if np.any(np.diff(wave[order]) <= 0):
        raise OpticalError("the wavelength grid has repeated values")
    return wave[order], y[order], c[order], None if err is None else err[order]


def _finite(idx, *arrays, what: str):
    for a in arrays:
        if a is not None and not np.all(np.isfinite(a[idx])):
            raise OpticalError(f"{what}: NaN or infinite flux, continuum or uncertainty in the range "
                               "(remove those pixels or pick another range)")
    return idx


def equivalent_width(wave_a, flux, wmin_a: float, wmax_a: float, uncertainty=None, continuum=None,
                     redshift: float = 0.0, air: bool = False) -> EquivalentWidth:
    """Equivalent width by direct integration of 1 - F / C over [wmin_a, wmax_a].

    Parameters
    ----------
    wave_a : array
        Observed wavelengths (A), any order: vacuum, or air if ``air`` (then ``wmin_a`` and
        ``wmax_a`` are air wavelengths too).
    flux : array
        Flux (normalised, or in the units of ``continuum``): data or a model.
    wmin_a, wmax_a : float
        The integration range, A.
    uncertainty : array, optional
        1-sigma of ``flux``: gives the error of the equivalent width.
    continuum : float or array, optional
        Continuum C (default 1: a normalised spectrum).
    redshift : float
        The result is in the rest frame of this redshift: W / (1 + z).

    Returns
    -------
    EquivalentWidth
    """
    wave, y, c, err = _prepare(wave_a, flux, uncertainty, continuum, air)
    lo, hi = (float(v) for v in as_vacuum_a([wmin_a, wmax_a], air))
    if not hi > lo:
        raise OpticalError(f"empty range [{wmin_a:g}, {wmax_a:g}] A")
    idx, width = _pixels(wave, lo, hi)
    if idx.size == 0:
        raise OpticalError(f"no pixel of the spectrum ({wave[0]:.3f}-{wave[-1]:.3f} A) in [{wmin_a:g}, {wmax_a:g}] A")
    _finite(idx, y, c, err, what="equivalent width")
    scale = 1e3 / (1.0 + redshift)
    ew = float(np.sum((1.0 - y[idx] / c[idx]) * width)) * scale
    ew_err = None if err is None else float(math.sqrt(np.sum((err[idx] / c[idx] * width) ** 2))) * scale
    return EquivalentWidth(ew, ew_err, float(wmin_a), float(wmax_a), float(redshift), int(idx.size))


def apparent_column_density(wave_a, flux, ion: str, wrest_a: float, vmin_kms: float, vmax_kms: float,
                            uncertainty=None, continuum=None, redshift: float = 0.0, air: bool = False,
                            db=None) -> ApparentColumn:
    """Apparent optical depth column density of one line (Savage & Sembach 1991, eq. 8-10).

    Parameters
    ----------
    wave_a, flux, uncertainty, continuum, air
        As for :func:`equivalent_width`.
    ion : str
        The ion (``"Si II"``); the line is the catalogue line nearest ``wrest_a``.
    wrest_a : float
        Vacuum rest wavelength, A (within 1 A of a catalogue line).
    vmin_kms, vmax_kms : float
        Velocity range of the integration, km/s, v = c (lambda / (wrest (1 + z)) - 1).
    redshift : float
        Redshift z of the system.
    db : LineDatabase, optional

    Returns
    -------
    ApparentColumn
    """
    line = nearest_line(db, ion, wrest_a)
    wave, y, c, err = _prepare(wave_a, flux, uncertainty, continuum, air)
    if not vmax_kms > vmin_kms:
        raise OpticalError(f"empty velocity range [{vmin_kms:g}, {vmax_kms:g}] km/s")
    velocity = C_LIGHT_KMS * (wave / (line["wave_vac_a"] * (1.0 + redshift)) - 1.0)
    idx, dv = _pixels(velocity, vmin_kms, vmax_kms)
    if idx.size == 0:
        raise OpticalError(f"no pixel of the spectrum within [{vmin_kms:g}, {vmax_kms:g}] km/s of "
                           f"{line['species']} {line['wave_vac_a']:.3f} A at z = {redshift:g}")
    _finite(idx, y, c, err, what="apparent column density")
    f_obs, cont = y[idx], c[idx]
    floor = err[idx] if err is not None else np.full(idx.size, np.min(f_obs[f_obs > 0], initial=np.inf))
    saturated = f_obs <= (floor if err is not None else 0.0)
    if not np.all(np.isfinite(floor[saturated])):
        raise OpticalError("every pixel of the range is <= 0: no apparent optical depth (give uncertainties)")
    f_eff = np.where(saturated, floor, f_obs)
    per_tau = AOD_FACTOR / (line["f_osc"] * line["wave_vac_a"])
    na = per_tau * np.log(cont / f_eff)
    n = float(np.sum(na * dv))
    n_err = None if err is None else float(math.sqrt(np.sum((per_tau * err[idx] / f_eff * dv) ** 2)))
    logn = math.log10(n) if n > 0 else float("-inf")
    logn_err = None if n_err is None or n <= 0 else n_err / (n * math.log(10.0))
    return ApparentColumn(n, n_err, logn, logn_err, bool(saturated.any()), line["species"], line["wave_vac_a"],
                          line["f_osc"], velocity[idx], na)
