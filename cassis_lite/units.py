"""Spectral-axis and intensity conversions (pure NumPy).

Every spectrum is stored on a frequency axis in MHz; this module converts other axes to and
from it and converts intensities between flux density per beam and brightness temperature.

Spectral axis (c = speed of light, nu_0 the rest frequency):

* radio velocity    v = c (1 - nu / nu_0)         <=>  nu = nu_0 (1 - v / c)
* optical velocity  v = c (nu_0 / nu - 1)         <=>  nu = nu_0 / (1 + v / c)
* relativistic      v = c (nu_0^2 - nu^2) / (nu_0^2 + nu^2)
* wavelength        lambda = c / nu (vacuum); air wavelengths use the refractive index of
  Morton (2000, ApJS 130, 403, eq. 8, the IAU standard also used by SDSS and VALD):
  n = 1 + 8.34254e-5 + 2.406147e-2 / (130 - s^2) + 1.5998e-4 / (38.9 - s^2),
  s = 10^4 / lambda_vac[Angstrom]; lambda_air = lambda_vac / n.
* wavenumber        sigma [cm^-1] = nu / (c [cm/s])

Source frame shifts: a line at rest frequency nu_0 emitted by a source at v_lsr is observed at
nu_0 (1 - v_lsr / c) (radio convention, as CASSIS) and at nu_0 / (1 + z) for a redshift z.

Intensity (Rayleigh-Jeans, as CASSIS): T = c^2 S 1e-26 / (2 k Omega nu^2) for S in Jy/beam,
with the Gaussian beam solid angle Omega = pi bmaj bmin / (4 ln 2).
"""

from __future__ import annotations

import math
import re

import numpy as np

from cassis_lite.constants import ARCSEC_RAD, C_LIGHT, C_LIGHT_KMS, CM1_TO_MHZ, K_BOLTZMANN
from cassis_lite.errors import CassisError

JY = 1e-26  # W m^-2 Hz^-1

VELOCITY_CONVENTIONS = ("radio", "optical", "relativistic")


class UnitError(CassisError):
    """A unit string or a conversion that cannot be done (unknown unit, missing rest frequency...)."""


# --- unit names ---------------------------------------------------------------------------

# factor to the base unit of each kind: frequency -> MHz, wavelength -> m, velocity -> km/s,
# wavenumber -> cm^-1
_FREQUENCY = {"hz": 1e-6, "khz": 1e-3, "mhz": 1.0, "ghz": 1e3, "thz": 1e6}
_WAVELENGTH = {
    "m": 1.0, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "micron": 1e-6, "microns": 1e-6,
    "micrometer": 1e-6, "nm": 1e-9, "angstrom": 1e-10, "angstroms": 1e-10, "angstroem": 1e-10,
    "aa": 1e-10, "a": 1e-10, "ang": 1e-10, "0.1nm": 1e-10, "pm": 1e-12,
}
_VELOCITY = {"km/s": 1.0, "kms": 1.0, "km.s-1": 1.0, "kms-1": 1.0, "km/sec": 1.0, "km s-1": 1.0,
             "m/s": 1e-3, "ms-1": 1e-3, "m.s-1": 1e-3, "cm/s": 1e-5, "cm.s-1": 1e-5}
_WAVENUMBER = {"cm-1": 1.0, "/cm": 1.0, "1/cm": 1.0, "cm^-1": 1.0, "cm**-1": 1.0, "kayser": 1.0,
               "m-1": 1e-2, "1/m": 1e-2, "/m": 1e-2, "m^-1": 1e-2, "m**-1": 1e-2}

AXIS_KINDS = ("frequency", "wavelength", "velocity", "wavenumber")


def _clean_unit(unit: str) -> str:
    u = unit.strip().lower().replace(" ", "").replace("\u00b5", "u").replace("\u03bc", "u")
    u = u.replace("\u00c5", "angstrom").replace("\u212b", "angstrom").replace("**", "").replace("^", "")
    return u.strip("[]()")


def axis_unit_kind(unit: str) -> tuple[str, float]:
    """Return ``(kind, factor)`` for a spectral-axis unit string.

    ``kind`` is one of :data:`AXIS_KINDS`; ``factor`` converts a value in ``unit`` to the base
    unit of that kind (MHz, m, km/s or cm^-1). Raises :class:`UnitError` for an unknown unit.
    """
    u = _clean_unit(unit)
    for kind, table in (("frequency", _FREQUENCY), ("wavelength", _WAVELENGTH),
                        ("velocity", _VELOCITY), ("wavenumber", _WAVENUMBER)):
        if u in table:
            return kind, table[u]
    raise UnitError(f"unknown spectral axis unit {unit!r}")


# --- velocity <-> frequency ----------------------------------------------------------------

def _check_rest(rest_freq_mhz):
    """The rest frequency (a number, or one per line), positive and finite."""
    f0 = np.asarray(np.nan if rest_freq_mhz is None else rest_freq_mhz, dtype=float)
    if not np.all(np.isfinite(f0) & (f0 > 0)):
        raise UnitError(f"a positive rest frequency is needed for velocities (got {rest_freq_mhz!r})")
    return float(f0) if f0.ndim == 0 else f0


def _check_convention(convention: str) -> str:
    if convention not in VELOCITY_CONVENTIONS:
        raise UnitError(f"unknown velocity convention {convention!r} (use one of {VELOCITY_CONVENTIONS})")
    return convention


def freq_to_velocity(freq_mhz, rest_freq_mhz, convention="radio"):
    """Velocity in km/s of ``freq_mhz`` relative to ``rest_freq_mhz`` (see module docstring)."""
    f0 = _check_rest(rest_freq_mhz)
    f = np.asarray(freq_mhz, dtype=float)
    convention = _check_convention(convention)
    if convention == "radio":
        return C_LIGHT_KMS * (1.0 - f / f0)
    if convention == "optical":
        return C_LIGHT_KMS * (f0 / f - 1.0)
    return C_LIGHT_KMS * (f0 * f0 - f * f) / (f0 * f0 + f * f)


def velocity_to_freq(velocity_kms, rest_freq_mhz, convention="radio"):
    """Frequency in MHz of a velocity in km/s relative to ``rest_freq_mhz``."""
    f0 = _check_rest(rest_freq_mhz)
    beta = np.asarray(velocity_kms, dtype=float) / C_LIGHT_KMS
    convention = _check_convention(convention)
    if convention == "radio":
        return f0 * (1.0 - beta)
    if convention == "optical":
        return f0 / (1.0 + beta)
    return f0 * np.sqrt((1.0 - beta) / (1.0 + beta))


def lsr_velocity_kms(freq_mhz, rest_freq_mhz, vlsr_file_kms=0.0, convention="radio"):
    """LSR velocity (km/s) of a frequency of a spectrum whose axis is in the frame of its v_lsr:
    v = v_file + v(nu; nu_0, convention), as CASSIS's velocity axes (the ``VeloLsb`` column of a
    .lis file); a line of rest frequency nu_0 emitted at v_lsr is drawn at v_lsr."""
    return vlsr_file_kms + freq_to_velocity(freq_mhz, rest_freq_mhz, convention)


def lsr_velocity_to_freq_mhz(velocity_kms, rest_freq_mhz, vlsr_file_kms=0.0, convention="radio"):
    """Inverse of :func:`lsr_velocity_kms`: the frequency (MHz) of an LSR velocity (km/s)."""
    return velocity_to_freq(np.asarray(velocity_kms, dtype=float) - vlsr_file_kms, rest_freq_mhz, convention)


# --- wavelength, wavenumber ------------------------------------------------------------------

def air_refractive_index(wavelength_vac_m):
    """Refractive index of standard air at a vacuum wavelength in m (Morton 2000, eq. 8)."""
    s2 = (1e4 / (np.asarray(wavelength_vac_m, dtype=float) * 1e10)) ** 2  # (1e4 / lambda[A])^2
    return 1.0 + 8.34254e-5 + 2.406147e-2 / (130.0 - s2) + 1.5998e-4 / (38.9 - s2)


def vacuum_to_air(wavelength_vac_m):
    """Air wavelength (m) of a vacuum wavelength (m); unchanged below 2000 Angstrom (IAU)."""
    lam = np.asarray(wavelength_vac_m, dtype=float)
    return np.where(lam < 2e-7, lam, lam / air_refractive_index(lam))


def air_to_vacuum(wavelength_air_m):
    """Vacuum wavelength (m) of an air wavelength (m): inverse of :func:`vacuum_to_air`.

    Solved by fixed-point iteration lambda_vac = lambda_air n(lambda_vac); the index varies so
    slowly that 4 iterations reach machine precision.
    """
    lam_air = np.asarray(wavelength_air_m, dtype=float)
    lam = lam_air * 1.000276
    for _ in range(4):
        lam = lam_air * air_refractive_index(lam)
    return np.where(lam_air < 2e-7, lam_air, lam)


def freq_to_wavelength(freq_mhz, unit="m", air=False):
    """Wavelength in ``unit`` (vacuum, or air if ``air``) of a frequency in MHz."""
    kind, factor = axis_unit_kind(unit)
    if kind != "wavelength":
        raise UnitError(f"{unit!r} is not a wavelength unit")
    lam = C_LIGHT / (np.asarray(freq_mhz, dtype=float) * 1e6)
    if air:
        lam = vacuum_to_air(lam)
    return lam / factor


def wavelength_to_freq(wavelength, unit="m", air=False):
    """Frequency in MHz of a wavelength in ``unit`` (vacuum, or air if ``air``)."""
    kind, factor = axis_unit_kind(unit)
    if kind != "wavelength":
        raise UnitError(f"{unit!r} is not a wavelength unit")
    lam = np.asarray(wavelength, dtype=float) * factor
    if air:
        lam = air_to_vacuum(lam)
    return C_LIGHT / lam / 1e6


def freq_to_wavenumber(freq_mhz):
    """Wavenumber in cm^-1 of a frequency in MHz (sigma = nu / c)."""
    return np.asarray(freq_mhz, dtype=float) / CM1_TO_MHZ


def wavenumber_to_freq(wavenumber_cm1):
    """Frequency in MHz of a wavenumber in cm^-1."""
    return np.asarray(wavenumber_cm1, dtype=float) * CM1_TO_MHZ


# --- generic axis conversion -----------------------------------------------------------------

def to_freq_mhz(values, unit, rest_freq_mhz=None, convention="radio", air=False):
    """Convert spectral-axis ``values`` in ``unit`` (frequency, wavelength, velocity or
    wavenumber) to frequency in MHz. Velocities need ``rest_freq_mhz``."""
    kind, factor = axis_unit_kind(unit)
    v = np.asarray(values, dtype=float)
    if kind == "frequency":
        # Hz and kHz: divide by an exact integer (as the file's value / 1e6 would)
        return v * factor if factor >= 1 else v / round(1.0 / factor)
    if kind == "wavelength":
        return wavelength_to_freq(v * factor, "m", air=air)
    if kind == "wavenumber":
        return wavenumber_to_freq(v * factor)
    return velocity_to_freq(v * factor, rest_freq_mhz, convention)


def from_freq_mhz(freq_mhz, unit, rest_freq_mhz=None, convention="radio", air=False):
    """Inverse of :func:`to_freq_mhz`: frequency in MHz to ``unit``."""
    kind, factor = axis_unit_kind(unit)
    f = np.asarray(freq_mhz, dtype=float)
    if kind == "frequency":
        return f / factor
    if kind == "wavelength":
        return freq_to_wavelength(f, "m", air=air) / factor
    if kind == "wavenumber":
        return freq_to_wavenumber(f) / factor
    return freq_to_velocity(f, rest_freq_mhz, convention) / factor


# --- source-frame shifts ---------------------------------------------------------------------

def observed_freq(rest_freq_mhz, vlsr_kms=0.0, redshift=0.0):
    """Frequency at which a line of rest frequency ``rest_freq_mhz`` is observed from a source
    at ``vlsr_kms`` (radio convention) and redshift ``redshift``:
    nu = nu_0 (1 - v/c) / (1 + z)."""
    return np.asarray(rest_freq_mhz, dtype=float) * (1.0 - vlsr_kms / C_LIGHT_KMS) / (1.0 + redshift)


def rest_freq(observed_freq_mhz, vlsr_kms=0.0, redshift=0.0):
    """Rest-frame frequency of an observed frequency: inverse of :func:`observed_freq`."""
    return np.asarray(observed_freq_mhz, dtype=float) * (1.0 + redshift) / (1.0 - vlsr_kms / C_LIGHT_KMS)


# --- angles ----------------------------------------------------------------------------------

ANGLE_UNITS_ARCSEC = {"arcsec": 1.0, "as": 1.0, "arcmin": 60.0, "deg": 3600.0, "degree": 3600.0,
                      "degrees": 3600.0, "rad": 1.0 / ARCSEC_RAD, "mas": 1e-3}


def angle_to_arcsec(value, unit: str):
    """An angle in ``unit`` (arcsec, arcmin, deg, rad, mas; VOUnit spellings) in arcsec."""
    try:
        factor = ANGLE_UNITS_ARCSEC[unit.strip().lower()]
    except KeyError:
        raise UnitError(f"unknown angle unit {unit!r}; known: {', '.join(ANGLE_UNITS_ARCSEC)}") from None
    return np.asarray(value, dtype=float) * factor


# --- intensity -------------------------------------------------------------------------------

def beam_solid_angle_sr(bmaj_arcsec, bmin_arcsec=None):
    """Solid angle (sr) of a Gaussian beam with FWHM axes in arcsec: pi bmaj bmin / (4 ln 2).

    The axes may be arrays (a dish beam changes with frequency)."""
    bmaj = np.asarray(bmaj_arcsec, dtype=float)
    bmin = bmaj if bmin_arcsec is None else np.asarray(bmin_arcsec, dtype=float)
    if not (np.all(bmaj > 0) and np.all(bmin > 0)):
        raise UnitError(f"beam axes must be positive (got {bmaj_arcsec!r}, {bmin_arcsec!r} arcsec)")
    omega = math.pi * (bmaj * ARCSEC_RAD) * (bmin * ARCSEC_RAD) / (4.0 * math.log(2.0))
    return float(omega) if omega.ndim == 0 else omega


def k_per_jy_per_beam(freq_mhz, bmaj_arcsec, bmin_arcsec=None):
    """Kelvin per Jy/beam (Rayleigh-Jeans): c^2 1e-26 / (2 k Omega nu^2), the one implementation of
    the K <-> Jy/beam conversion (frequencies and beam axes may be arrays)."""
    omega = beam_solid_angle_sr(bmaj_arcsec, bmin_arcsec)
    nu_hz = np.asarray(freq_mhz, dtype=float) * 1e6
    return JY * C_LIGHT**2 / (2.0 * K_BOLTZMANN * omega * nu_hz**2)


def jy_per_beam_to_k(flux_jy_beam, freq_mhz, bmaj_arcsec, bmin_arcsec=None):
    """Brightness temperature (K, Rayleigh-Jeans) of a flux density per beam (Jy/beam):
    T = c^2 S 1e-26 / (2 k Omega nu^2)."""
    return np.asarray(flux_jy_beam, dtype=float) * k_per_jy_per_beam(freq_mhz, bmaj_arcsec, bmin_arcsec)


def k_to_jy_per_beam(temperature_k, freq_mhz, bmaj_arcsec, bmin_arcsec=None):
    """Flux density per beam (Jy/beam) of a Rayleigh-Jeans brightness temperature (K)."""
    return np.asarray(temperature_k, dtype=float) / k_per_jy_per_beam(freq_mhz, bmaj_arcsec, bmin_arcsec)


# intensity units that are pure rescalings of K or Jy (others are kept as written)
_INTENSITY = {
    "k": ("K", 1.0), "kelvin": ("K", 1.0), "mk": ("K", 1e-3), "millikelvin": ("K", 1e-3),
    "jy": ("Jy", 1.0), "mjy": ("Jy", 1e-3), "ujy": ("Jy", 1e-6),
    "jy/beam": ("Jy/beam", 1.0), "mjy/beam": ("Jy/beam", 1e-3), "ujy/beam": ("Jy/beam", 1e-6),
    "jy/bm": ("Jy/beam", 1.0), "mjy/bm": ("Jy/beam", 1e-3), "jybeam-1": ("Jy/beam", 1.0),
    "jy.beam-1": ("Jy/beam", 1.0), "jy/beam-1": ("Jy/beam", 1.0),
}


def intensity_unit_scale(unit: str | None) -> tuple[str, float] | None:
    """``(base, factor)`` if ``unit`` is K, mK, Jy, mJy, Jy/beam...: value * factor is in base
    (K, Jy or Jy/beam). None for any other unit (kept as written by the file)."""
    if not unit:
        return None
    u = _clean_unit(unit)
    u = re.sub(r"\(t[a-z*]*\)$", "", u)  # "K (Tmb)"
    return _INTENSITY.get(u)


def normalise_intensity_unit(unit: str | None) -> str:
    """Canonical spelling of an intensity unit: 'K', 'mK', 'Jy', 'mJy', 'Jy/beam'..., else the
    string as written (stripped); '' when unknown."""
    if not unit:
        return ""
    u = _clean_unit(unit)
    canonical = {"k": "K", "kelvin": "K", "mk": "mK", "jy": "Jy", "mjy": "mJy", "ujy": "uJy",
                 "jy/beam": "Jy/beam", "jy/bm": "Jy/beam", "jybeam-1": "Jy/beam",
                 "jy.beam-1": "Jy/beam", "jy/beam-1": "Jy/beam", "mjy/beam": "mJy/beam",
                 "mjy/bm": "mJy/beam"}
    return canonical.get(u, unit.strip())
