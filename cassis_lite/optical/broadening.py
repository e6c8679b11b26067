"""Stellar broadening of a synthetic spectrum, as CASSIS-POLLUX's Specflow chain: Doppler shift,
rotation, radial-tangential macroturbulence, instrumental profile.

* Doppler shift by the radial velocity: lambda_obs = lambda (1 + v_rad / c) (the spectroscopic
  radial velocity c z, Lindegren & Dravins 2003). The shifted spectrum is resampled onto the
  input wavelengths, so that a radial velocity moves the lines on the returned grid.
* Rotation: Gray's kernel with linear limb darkening epsilon, half-width lambda v sin i / c
  (:class:`~cassis_lite.optical.convolution.RotationKernel`).
* Macroturbulence: Gray's radial-tangential profile of zeta_RT
  (:class:`~cassis_lite.optical.convolution.MacroturbulenceKernel`).
* Instrument: a Gaussian of FWHM ``fwhm_a`` (A, constant in wavelength) or lambda / R.

The shift and the three velocity kernels are applied in one pass on a uniform ln(lambda) grid
(convolutions commute); a FWHM in A is applied afterwards on a uniform wavelength grid
(:func:`~cassis_lite.optical.convolution.convolve_spectrum`). Every kernel is normalised, so
each step conserves the equivalent width int (1 - F / F_c) dlambda; the shift scales it by
(1 + v_rad / c), as it scales every wavelength.
"""

from __future__ import annotations

import math

import numpy as np

from cassis_lite.constants import C_LIGHT_KMS
from cassis_lite.errors import OpticalError
from cassis_lite.optical.absorption import lsf_kernel
from cassis_lite.optical.convolution import MacroturbulenceKernel, RotationKernel, convolve_spectrum


def broaden(wave_a, flux, rv_kms: float = 0.0, vsini_kms: float = 0.0, limb_darkening: float = 0.6,
            macro_kms: float = 0.0, fwhm_a: float | None = None, resolving_power: float | None = None) -> np.ndarray:
    """Shift and broaden a spectrum: radial velocity, rotation, macroturbulence, instrument.

    Parameters
    ----------
    wave_a : array
        Wavelengths, A, any order and spacing (vacuum or air: the kernels are velocities, the
        difference is below 3e-4 of a kernel's width).
    flux : array
        Flux at ``wave_a`` (any unit; finite).
    rv_kms : float
        Radial velocity v_rad (km/s, positive away from the observer: lines move to the red).
    vsini_kms : float
        Projected equatorial rotation velocity v sin i (km/s, >= 0; 0: no rotation).
    limb_darkening : float
        Linear limb-darkening coefficient epsilon of the rotation kernel, 0 to 1.
    macro_kms : float
        Radial-tangential macroturbulence zeta_RT (km/s, >= 0).
    fwhm_a, resolving_power : float, optional
        Gaussian instrumental profile: FWHM in A, or resolving power R (FWHM = lambda / R); at
        most one.

    Returns
    -------
    ndarray
        The broadened flux at ``wave_a`` (caller's order).

    Raises
    ------
    OpticalError
        NaN or non-positive wavelengths, NaN flux, |v_rad| >= c, negative v sin i or zeta,
        epsilon outside [0, 1], R <= 0 or FWHM <= 0.
    """
    wave = np.asarray(wave_a, dtype=float).ravel()
    y = np.asarray(flux, dtype=float).ravel()
    if wave.shape != y.shape:
        raise OpticalError(f"wavelength ({wave.size}) and flux ({y.size}) arrays differ in length")
    if wave.size < 2 or not np.all(np.isfinite(wave)) or np.any(wave <= 0):
        raise OpticalError("wavelengths must be at least 2 positive finite numbers")
    if not np.all(np.isfinite(y)):
        raise OpticalError(f"flux has {int(np.count_nonzero(~np.isfinite(y)))} NaN or infinite value(s): "
                           "remove or interpolate them first")
    rv = _number(rv_kms, "rv_kms")
    if abs(rv) >= C_LIGHT_KMS:
        raise OpticalError(f"|rv_kms| must be below c, got {rv:g}")
    vsini = _number(vsini_kms, "vsini_kms", nonneg=True)
    macro = _number(macro_kms, "macro_kms", nonneg=True)
    eps = _number(limb_darkening, "limb_darkening")
    if not 0.0 <= eps <= 1.0:
        raise OpticalError(f"limb_darkening must be between 0 and 1, got {eps:g}")
    instrument = lsf_kernel(fwhm_a=fwhm_a, resolving_power=resolving_power)
    kernels = []
    if vsini > 0:
        kernels.append(RotationKernel(vsini / C_LIGHT_KMS, eps))
    if macro > 0:
        kernels.append(MacroturbulenceKernel(macro / C_LIGHT_KMS))
    if instrument is not None and instrument[1] == "velocity":
        kernels.append(instrument[0])
    out = y.copy()
    if kernels or rv != 0.0:
        out = convolve_spectrum(wave, out, kernels, axis="velocity", shift=math.log1p(rv / C_LIGHT_KMS))
    if instrument is not None and instrument[1] == "wavelength":
        out = convolve_spectrum(wave, out, [instrument[0]], axis="wavelength")
    return out


def _number(value, name: str, nonneg: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise OpticalError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or (nonneg and v < 0):
        raise OpticalError(f"{name} must be {'>= 0' if nonneg else 'finite'}, got {value!r}")
    return v
