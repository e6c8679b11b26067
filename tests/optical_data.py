"""Synthetic optical spectra for the app's optical tests, made with the core (no real spectrum of
these kinds is in the repository: the SDSS and X-shooter fixtures of tests/data hold no clean,
known absorption system or stellar model).

- :func:`write_civ_spectrum`: a continuum-normalised quasar-absorber spectrum, the C IV doublet
  (Morton 2003) of two components at z = 1.6, R = 45000, 0.03 A pixels, Gaussian noise 0.02 with
  its error column;
- :func:`write_star_pair`: a "synthetic" stellar spectrum (the Na I D doublet, narrow, 0.01 A, no
  instrument) and an "observed" one made from it with ``broaden`` (V_rad 25 km/s, v sin i 15 km/s,
  R 20000) on 0.05 A pixels with noise 0.01.
"""

from __future__ import annotations

import numpy as np

from cassis_lite.optical import Component, broaden, system_lines, voigt_flux

CIV = {"redshift": 1.6, "components": [(-20.0, 8.0, 13.6), (35.0, 12.0, 13.2)], "resolving_power": 45000.0}
STAR = {"rv_kms": 25.0, "vsini_kms": 15.0, "resolving_power": 20000.0}


def _write(path, wave, flux, err=None) -> None:
    cols = [wave, flux] + ([err] if err is not None else [])
    head = "wave (Angstrom),flux" + (",error" if err is not None else "")
    np.savetxt(path, np.column_stack(cols), delimiter=",", header=head, comments="", fmt="%.8f")


def write_civ_spectrum(path) -> dict:
    z = CIV["redshift"]
    wave = np.arange(4015.0, 4045.0, 0.03)
    comps = [Component(v, b, {"C IV": logn}) for v, b, logn in CIV["components"]]
    lines = system_lines(comps, 1540.0, 1555.0, redshift=0.0)
    flux = voigt_flux(wave, lines, redshift=z, resolving_power=CIV["resolving_power"])
    rng = np.random.default_rng(16)
    err = np.full(wave.size, 0.02)
    _write(path, wave, flux + rng.normal(0.0, 0.02, wave.size), err)
    return {"wave": wave, "flux": flux}


def write_star_pair(synthetic_path, observed_path) -> dict:
    wave = np.arange(5870.0, 5920.0, 0.01)
    lines = system_lines([Component(0.0, 3.0, {"Na I": 12.5})], 5860.0, 5930.0)
    model = voigt_flux(wave, lines)
    _write(synthetic_path, wave, model)
    broad = broaden(wave, model, **STAR)
    obs_wave = np.arange(5875.0, 5915.0, 0.05)
    rng = np.random.default_rng(25)
    obs = np.interp(obs_wave, wave, broad) + rng.normal(0.0, 0.01, obs_wave.size)
    _write(observed_path, obs_wave, obs, np.full(obs_wave.size, 0.01))
    return {"wave": wave, "model": model}
