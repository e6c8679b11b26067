"""Spectral-axis and intensity conversions against analytic values, published line wavelengths
and astropy.units equivalencies (an independent implementation)."""

import math

import numpy as np
import pytest
from astropy import constants as ac
from astropy import units as u

from cassis_lite import units
from cassis_lite.constants import C_LIGHT_KMS

F0 = 115271.2018  # MHz, CO 1-0 (CDMS)


def test_radio_velocity_analytic():
    f = F0 * (1 - 10.0 / C_LIGHT_KMS)
    assert units.freq_to_velocity(f, F0, "radio") == pytest.approx(10.0, rel=1e-12)
    assert units.velocity_to_freq(10.0, F0, "radio") == pytest.approx(f, rel=1e-15)
    assert units.freq_to_velocity(F0, F0) == 0.0


@pytest.mark.parametrize("convention,equiv", [("radio", u.doppler_radio), ("optical", u.doppler_optical),
                                              ("relativistic", u.doppler_relativistic)])
def test_velocity_conventions_match_astropy(convention, equiv):
    freq = np.linspace(F0 * 0.97, F0 * 1.03, 101)
    ours = units.freq_to_velocity(freq, F0, convention)
    ref = (freq * u.MHz).to(u.km / u.s, equivalencies=equiv(F0 * u.MHz)).value
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-9)
    back = units.velocity_to_freq(ours, F0, convention)
    np.testing.assert_allclose(back, freq, rtol=1e-14)


def test_optical_radio_identity():
    # v_opt = c v_rad / (c - v_rad) for the same frequency
    freq = np.array([F0 * 0.9, F0 * 0.999, F0 * 1.01])
    vr = units.freq_to_velocity(freq, F0, "radio")
    vo = units.freq_to_velocity(freq, F0, "optical")
    np.testing.assert_allclose(vo, C_LIGHT_KMS * vr / (C_LIGHT_KMS - vr), rtol=1e-12)


def test_velocity_needs_rest_frequency():
    with pytest.raises(units.UnitError, match="rest frequency"):
        units.freq_to_velocity([1.0], None)
    with pytest.raises(units.UnitError, match="convention"):
        units.freq_to_velocity([1.0], 2.0, "bogus")


def test_wavelength_and_wavenumber():
    # c / nu: 1 mm <-> 299792.458 MHz; 1 cm^-1 <-> 29979.2458 MHz (exact)
    assert units.freq_to_wavelength(299792.458, "mm") == pytest.approx(1.0, rel=1e-15)
    assert units.wavelength_to_freq(2.6, "mm") == pytest.approx(299792.458 / 2.6, rel=1e-15)
    assert units.wavenumber_to_freq(1.0) == pytest.approx(29979.2458, rel=1e-15)
    assert units.freq_to_wavenumber(F0) == pytest.approx(F0 / 29979.2458, rel=1e-15)
    ref = (F0 * u.MHz).to(u.um, equivalencies=u.spectral()).value
    assert units.freq_to_wavelength(F0, "um") == pytest.approx(ref, rel=1e-14)
    for unit in ("Angstrom", "nm", "um", "mm", "cm", "m"):
        lam = units.freq_to_wavelength(F0, unit)
        assert units.wavelength_to_freq(lam, unit) == pytest.approx(F0, rel=1e-14)


@pytest.mark.parametrize("vac,air", [
    (6564.614, 6562.801),   # H alpha (NIST: 6562.80 air; SDSS line list: 6564.61 vacuum)
    (5008.240, 5006.843),   # [O III] 5007 (SDSS vacuum 5008.240; NIST air 5006.843)
])
def test_air_vacuum_published_lines(vac, air):
    got_air = units.vacuum_to_air(vac * 1e-10) * 1e10
    assert got_air == pytest.approx(air, abs=0.005)
    got_vac = units.air_to_vacuum(air * 1e-10) * 1e10
    assert got_vac == pytest.approx(vac, abs=0.005)
    # inverse to machine precision
    assert units.air_to_vacuum(units.vacuum_to_air(vac * 1e-10)) == pytest.approx(vac * 1e-10, rel=1e-14)


def test_air_wavelength_axis_roundtrip():
    f = units.wavelength_to_freq(6562.801, "Angstrom", air=True)
    assert units.freq_to_wavelength(f, "Angstrom", air=True) == pytest.approx(6562.801, rel=1e-14)
    assert units.freq_to_wavelength(f, "Angstrom") == pytest.approx(6564.614, abs=0.005)


def test_generic_axis_conversion_units():
    assert units.to_freq_mhz(230.538, "GHz") == pytest.approx(230538.0)
    assert units.to_freq_mhz(1.42040575e9, "Hz") == pytest.approx(1420.40575)
    assert units.to_freq_mhz(0.0, "km/s", rest_freq_mhz=F0) == pytest.approx(F0)
    assert units.to_freq_mhz(1000.0, "m/s", rest_freq_mhz=F0) == pytest.approx(F0 * (1 - 1 / C_LIGHT_KMS))
    v = units.from_freq_mhz(F0 * (1 - 5 / C_LIGHT_KMS), "m/s", rest_freq_mhz=F0)
    assert v == pytest.approx(5000.0, rel=1e-9)
    with pytest.raises(units.UnitError, match="unknown spectral axis unit"):
        units.to_freq_mhz(1.0, "furlong")


def test_source_frame_shifts():
    obs = units.observed_freq(F0, vlsr_kms=30.0)
    assert obs == pytest.approx(units.velocity_to_freq(30.0, F0, "radio"), rel=1e-15)
    assert units.rest_freq(obs, vlsr_kms=30.0) == pytest.approx(F0, rel=1e-15)
    assert units.observed_freq(F0, redshift=1.5) == pytest.approx(F0 / 2.5, rel=1e-15)
    assert units.rest_freq(F0 / 2.5, redshift=1.5) == pytest.approx(F0, rel=1e-15)


def test_beam_solid_angle():
    # Gaussian beam: pi bmaj bmin / (4 ln 2)
    omega = units.beam_solid_angle_sr(10.0, 5.0)
    arcsec = math.pi / 180 / 3600
    assert omega == pytest.approx(math.pi * 50 * arcsec**2 / (4 * math.log(2)), rel=1e-15)
    with pytest.raises(units.UnitError):
        units.beam_solid_angle_sr(0.0, 1.0)


@pytest.mark.parametrize("freq_mhz,bmaj,bmin", [(230538.0, 1.0, 1.0), (115271.2018, 22.0, 22.0),
                                                (345796.0, 0.35, 0.25), (1420.405751, 210.0, 228.0)])
def test_jy_per_beam_to_k_matches_astropy(freq_mhz, bmaj, bmin):
    beam = (2 * math.pi * (bmaj * u.arcsec * bmin * u.arcsec) / (8 * math.log(2)))
    ref = (1.0 * u.Jy / beam).to(u.K, equivalencies=u.brightness_temperature(freq_mhz * u.MHz)).value
    assert units.jy_per_beam_to_k(1.0, freq_mhz, bmaj, bmin) == pytest.approx(ref, rel=1e-12)
    assert units.k_to_jy_per_beam(ref, freq_mhz, bmaj, bmin) == pytest.approx(1.0, rel=1e-12)


def test_jy_per_beam_rule_of_thumb():
    # NRAO / ALMA rule: T[K] = 1.222e3 S[mJy/beam] / (nu[GHz]^2 bmaj bmin [arcsec])
    t = units.jy_per_beam_to_k(1e-3, 230000.0, 0.5, 0.4)
    assert t == pytest.approx(1.222e3 / (230.0**2 * 0.5 * 0.4), rel=1e-3)
    # Rayleigh-Jeans: same with SI constants from astropy
    nu = 230e9
    omega = math.pi * (0.5 / 206264.80624709636) * (0.4 / 206264.80624709636) / (4 * math.log(2))
    rj = ac.c.value**2 * 1e-29 / (2 * ac.k_B.value * omega * nu**2)
    assert t == pytest.approx(rj, rel=1e-12)


def test_intensity_units():
    assert units.intensity_unit_scale("mK") == ("K", 1e-3)
    assert units.intensity_unit_scale("mJy/beam") == ("Jy/beam", 1e-3)
    assert units.intensity_unit_scale("JY/BEAM") == ("Jy/beam", 1.0)
    assert units.intensity_unit_scale("erg/s/cm2/A") is None
    assert units.normalise_intensity_unit("Kelvin") == "K"
    assert units.normalise_intensity_unit("erg/s/cm2/A") == "erg/s/cm2/A"
