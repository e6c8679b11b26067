"""The CASSIS team's LTE fit of the I16293 CO sample (from the cassis-lte-python tests), shared by
the core, browser and Pyodide checks: its configuration and the values CASSIS finds.

With the "hifi" telescope (Herschel's effective aperture, 3.28 m) cassis_lite agrees with CASSIS
to 0.3 % (tests/test_fit_lte.py).
"""

from __future__ import annotations

import copy

SAMPLE = "I16293_Synthetic_CO.lis"

_CO_FIT = {
    "partition": "catalogue",  # CASSIS's partition functions: the fit is compared with CASSIS's
    "telescope": {"name": "hifi"},
    "components": [{"name": "c1", "tex_k": {"value": 100.0, "min": 10.0, "max": 300.0},
                    "fwhm_kms": {"value": 3.0, "min": 1.0, "max": 15.0},
                    "vlsr_kms": {"value": 4.0, "min": 3.5, "max": 10.0}, "size_arcsec": 30.0,
                    "interacting": True,
                    "species": [{"species": "CO", "ntot_cm2": {"value": 2e16, "min": 2e13, "max": 2e19},
                                 "eup_max_k": 500}]}],
    "fit": {"windows_kms": [-2.0, 10.0], "rms_cal": [
        {"fmin_mhz": 550800, "fmax_mhz": 551000, "rms_k": 0.08, "calibration_percent": 15},
        {"fmin_mhz": 576000, "fmax_mhz": 577000, "rms_k": 0.2, "calibration_percent": 15},
        {"fmin_mhz": 1101290, "fmax_mhz": 1101500, "rms_k": 0.09, "calibration_percent": 15},
        {"fmin_mhz": 1151900, "fmax_mhz": 1153000, "rms_k": 0.2, "calibration_percent": 15}]},
}

# CASSIS's fit: T_ex (K), N (cm^-2), FWHM and v_lsr (km/s)
CASSIS_VALUES = {"c1_tex": 71.88, "c1_ntot_CO": 2.261e16, "c1_fwhm": 4.891, "c1_vlsr": 3.816}


def co_fit_config() -> dict:
    """A fresh copy of the fit configuration (callers may change it)."""
    return copy.deepcopy(_CO_FIT)
