"""Telescope beam, beam filling and the K <-> Jy/beam conversion (CASSIS conventions).

- Beam FWHM of a dish of diameter D: theta_b = 1.22 c / (nu D) (radians; as CASSIS).
- Beam given as (bmaj, bmin): theta_b = sqrt(bmaj bmin) for the filling factor.
- Filling factor of a Gaussian source of FWHM theta_s in a Gaussian beam:
  ff = theta_s^2 / (theta_s^2 + theta_b^2) (Ulich & Haas 1976; CASSIS's "gaussian" geometry).
The K <-> Jy/beam conversion is :func:`cassis_lite.units.k_per_jy_per_beam`.
"""

from __future__ import annotations

import numpy as np

from cassis_lite.constants import ARCSEC_RAD, C_LIGHT

#: Single-dish telescopes known by name: effective aperture diameter in metres. Efficiencies are
#: not tabulated here (they depend on frequency and epoch): set beam_efficiency / forward_efficiency.
#: Herschel's 3.5 m primary is stopped down by its secondary to an effective 3.28 m aperture; the
#: CASSIS team's HIFI fit of the I16293 sample is reproduced with 3.28 m (tests/test_fit_lte.py).
TELESCOPE_DIAMETERS_M = {
    "hifi": 3.28,  # Herschel/HIFI
    "herschel": 3.28,
    "iram": 30.0,  # IRAM 30 m
    "iram30m": 30.0,
    "apex": 12.0,
    "jcmt": 15.0,
    "cso": 10.4,
    "nro45": 45.0,  # Nobeyama 45 m
    "yebes40m": 40.0,
    "gbt": 100.0,
    "effelsberg": 100.0,
    "tmrt": 65.0,  # Tianma 65 m
    "sofia": 2.5,
    "odin": 1.1,
}


def dish_beam_arcsec(freq_mhz, diameter_m):
    """Beam FWHM of a dish, arcsec: 1.22 lambda / D."""
    return 1.22 * C_LIGHT / (np.asarray(freq_mhz, dtype=float) * 1e6 * diameter_m) / ARCSEC_RAD


def filling_factor(size_arcsec, beam_arcsec):
    """Beam filling factor theta_s^2 / (theta_s^2 + theta_b^2); 1 when the size is None."""
    if size_arcsec is None:
        return 1.0
    s2 = float(size_arcsec) ** 2
    return s2 / (s2 + np.asarray(beam_arcsec, dtype=float) ** 2)
