"""LTE line physics on plain arrays (CASSIS conventions; no database, no configuration).

Every function here takes NumPy arrays (or scalars) in the astronomer's units and returns arrays;
nothing is looped over in Python. References: Mangum & Shirley 2015, PASP 127, 266 (MS15) for the
equations; the IRAP ``cassis-lte-python`` code for the CASSIS choices (frequency at which each
quantity is evaluated, radio velocity convention).
"""

from __future__ import annotations

import math

import numpy as np

from cassis_lite.constants import C_LIGHT, C_LIGHT_KMS, FWHM_TO_SIGMA, HK_MHZ

#: c^3 / (4 pi sqrt(pi / ln 2)): the constant of the line-centre opacity (SI, m^3 s^-3).
_TAU0_CONST = C_LIGHT**3 / (4.0 * math.pi * math.sqrt(math.pi / math.log(2.0)))


def rj_temperature_k(freq_mhz, temperature_k):
    """Rayleigh-Jeans equivalent temperature of a black body, in K (MS15 eq. 24).

    J(T) = (h nu / k) / (exp(h nu / k T) - 1). J(0) = 0 (no background).
    """
    freq_mhz = np.asarray(freq_mhz, dtype=float)
    t0 = HK_MHZ * freq_mhz
    if np.ndim(temperature_k) == 0:
        if temperature_k <= 0.0:
            return np.zeros_like(t0)
        return t0 / np.expm1(t0 / temperature_k)
    temperature_k = np.asarray(temperature_k, dtype=float)
    with np.errstate(divide="ignore", over="ignore"):
        out = t0 / np.expm1(t0 / temperature_k)
    return np.where(temperature_k > 0.0, out, 0.0)


def upper_level_column(ntot_cm2, gup, eup_k, tex_k, q_tex):
    """Column density of the upper level in LTE, cm^-2 (MS15 eq. 31).

    N_u = N_tot g_u exp(-E_u / T_ex) / Q(T_ex).
    """
    return ntot_cm2 * gup * np.exp(-np.asarray(eup_k, dtype=float) / tex_k) / q_tex


def opacity_from_upper_column(freq_mhz, aij, nu_cm2, tex_k, fwhm_kms):
    """Peak optical depth of a Gaussian line whose upper level holds ``nu_cm2`` (CASSIS; MS15
    eq. 29 with A1):

    tau_0 = c^3 A_ul N_u (exp(h nu / k T_ex) - 1) / (4 pi nu^3 dv sqrt(pi / ln 2)),

    nu the rest frequency (Hz), dv the FWHM in m/s, N_u in m^-2.
    """
    freq_hz = np.asarray(freq_mhz, dtype=float) * 1e6
    stim = np.expm1(HK_MHZ * np.asarray(freq_mhz, dtype=float) / tex_k)
    return (_TAU0_CONST * np.asarray(aij, dtype=float) * (np.asarray(nu_cm2, dtype=float) * 1e4) * stim
            / (freq_hz**3 * (np.asarray(fwhm_kms) * 1e3)))


def line_centre_opacity(freq_mhz, aij, eup_k, gup, tex_k, ntot_cm2, q_tex, fwhm_kms):
    """Peak optical depth of each line in LTE: :func:`opacity_from_upper_column` with N_u from
    :func:`upper_level_column`. ``ntot_cm2``, ``q_tex`` and ``fwhm_kms`` may be scalars or
    per-line arrays.
    """
    nu_cm2 = upper_level_column(ntot_cm2, gup, eup_k, tex_k, q_tex)
    return opacity_from_upper_column(freq_mhz, aij, nu_cm2, tex_k, fwhm_kms)


def line_centre_mhz(freq_mhz, vlsr_kms, vlsr_file_kms=0.0):
    """Observed centre of each line, radio convention: nu_0 (1 - (v_lsr - v_lsr,file) / c)."""
    return np.asarray(freq_mhz, dtype=float) * (1.0 - (vlsr_kms - vlsr_file_kms) / C_LIGHT_KMS)


def line_shift_mhz(freq_mhz, vlsr_kms, vlsr_file_kms=0.0):
    """Doppler shift of each line, MHz: -nu_0 (v_lsr - v_lsr,file) / c (centre = nu_0 + shift).

    Kept apart from nu_0 by the profile so that channel offsets keep full precision
    (:mod:`cassis_lite.lte.profile`)."""
    return np.asarray(freq_mhz, dtype=float) * (-(vlsr_kms - vlsr_file_kms) / C_LIGHT_KMS)


def line_sigma_mhz(freq_mhz, fwhm_kms):
    """Gaussian 1-sigma width in frequency, MHz: sigma = (FWHM / c) nu_0 / (2 sqrt(2 ln 2)).

    As CASSIS, the width is taken at the rest frequency nu_0 (not at the shifted centre).
    """
    return np.asarray(freq_mhz, dtype=float) * (np.asarray(fwhm_kms) / C_LIGHT_KMS) * FWHM_TO_SIGMA
