"""LTE physics on plain arrays against analytic limits and astropy-computed references."""

import math

import astropy.constants as const
import astropy.units as u
import numpy as np
import pytest

from cassis_lite.lte import Layer, LineList, ModelConfig, component_opacity, convert_tmb, radiative_transfer
from cassis_lite.lte.beam import dish_beam_arcsec, filling_factor
from cassis_lite.lte.physics import (
    FWHM_TO_SIGMA,
    line_centre_mhz,
    line_centre_opacity,
    line_sigma_mhz,
    rj_temperature_k,
)
from cassis_lite.units import k_per_jy_per_beam as jy_per_beam_to_k

# CO J=1-0 as CDMS lists it (c028503): frequency, A_ul, E_up, g_up; Q from LAMDA-like sum is not
# needed here: tests pass Q explicitly.
CO10 = dict(freq_mhz=115271.2018, aij=7.203e-08, eup_k=5.5321, gup=3.0)


def co_lines():
    return LineList.single([CO10["freq_mhz"]], [CO10["aij"]], [CO10["eup_k"]], [CO10["gup"]])


def test_rj_temperature_matches_planck_from_astropy():
    freq = np.array([1e3, 115271.2, 1.9e6])  # MHz
    for t in (2.73, 30.0, 300.0):
        nu = freq * u.MHz
        bnu = (2 * const.h * nu**3 / const.c**2) / np.expm1((const.h * nu / (const.k_B * t * u.K)).decompose())
        j_ref = (bnu * const.c**2 / (2 * const.k_B * nu**2)).to(u.K).value
        np.testing.assert_allclose(rj_temperature_k(freq, t), j_ref, rtol=1e-12)
    assert np.all(rj_temperature_k(freq, 0.0) == 0.0)


def test_line_centre_opacity_matches_ms15_with_astropy_units():
    tex, ntot, q, fwhm = 40.0, 3e15, 15.3, 2.5
    tau0 = line_centre_opacity(CO10["freq_mhz"], CO10["aij"], CO10["eup_k"], CO10["gup"], tex, ntot, q, fwhm)
    nu = CO10["freq_mhz"] * u.MHz
    n_u = ntot * u.cm**-2 * CO10["gup"] / q * math.exp(-CO10["eup_k"] / tex)
    sigma_nu = (fwhm * u.km / u.s / const.c * nu) * FWHM_TO_SIGMA
    phi0 = 1 / (math.sqrt(2 * math.pi) * sigma_nu)  # Gaussian peak, MS15 eq. A1
    ref = (const.c**2 / (8 * math.pi * nu**2) * CO10["aij"] / u.s * n_u
           * np.expm1((const.h * nu / (const.k_B * tex * u.K)).decompose()) * phi0)
    assert tau0 == pytest.approx(ref.decompose().value, rel=1e-12)


def test_optically_thick_limit_is_j_tex_minus_j_bg():
    f0 = CO10["freq_mhz"]
    grid = np.array([f0])
    for tex in (10.0, 50.0, 200.0):
        tau = component_opacity(grid, co_lines(), tex, 1e22, 20.0, 1.0, 0.0)
        assert tau[0] > 500
        t = radiative_transfer(grid, [Layer(tex, tau)], tcmb_k=2.73)
        assert t[0] == pytest.approx(rj_temperature_k(f0, tex) - rj_temperature_k(f0, 2.73), rel=1e-12)


def test_optically_thin_integrated_intensity_proportional_to_n():
    f0, tex, q, fwhm = CO10["freq_mhz"], 20.0, 7.7, 3.0
    grid = np.linspace(f0 - 10, f0 + 10, 20001)
    integrals = []
    for ntot in (1e11, 2e11, 4e11):
        tau = component_opacity(grid, co_lines(), tex, ntot, q, fwhm, 0.0)
        t = radiative_transfer(grid, [Layer(tex, tau)], tcmb_k=2.73)
        integrals.append(np.trapezoid(t, grid))
        # the opacity profile integrates to tau_0 sigma sqrt(2 pi) (Gaussian area)
        tau0 = line_centre_opacity(f0, CO10["aij"], CO10["eup_k"], CO10["gup"], tex, ntot, q, fwhm)
        sigma = line_sigma_mhz(f0, fwhm)
        assert np.trapezoid(tau, grid) == pytest.approx(tau0 * sigma * math.sqrt(2 * math.pi), rel=1e-7)
    assert tau.max() < 1e-3
    assert integrals[1] / integrals[0] == pytest.approx(2.0, rel=1e-3)
    assert integrals[2] / integrals[0] == pytest.approx(4.0, rel=2e-3)


def test_line_centre_shift_is_radio_convention_and_width_at_rest_frequency():
    f0 = 230538.0
    assert line_centre_mhz(f0, 10.0, 2.0) == pytest.approx(f0 * (1 - 8.0 / 299792.458), rel=1e-15)
    assert line_sigma_mhz(f0, 2.3548200450309493) == pytest.approx(f0 / 299792.458, rel=1e-12)
    grid = np.linspace(f0 - 30, f0 + 10, 40001)
    lines = LineList.single([f0], [6.9e-7], [16.6], [5.0])
    tau = component_opacity(grid, lines, 50.0, 1e15, 18.0, 2.0, 10.0, vlsr_file_kms=2.0)
    assert grid[np.argmax(tau)] == pytest.approx(f0 * (1 - 8.0 / 299792.458), abs=1e-3)


def test_beam_filling_factor_and_dish_beam():
    freq = np.array([115271.2, 345795.99])
    beam = dish_beam_arcsec(freq, 30.0)
    ref = (1.22 * (const.c / (freq * u.MHz)) / (30 * u.m)).to(u.dimensionless_unscaled).value * u.rad
    np.testing.assert_allclose(beam, ref.to(u.arcsec).value, rtol=1e-12)
    np.testing.assert_allclose(filling_factor(10.0, beam), 100.0 / (100.0 + beam**2), rtol=1e-14)
    assert filling_factor(None, beam) == 1.0


def test_beam_dilution_scales_the_line_not_the_continuum():
    f0 = CO10["freq_mhz"]
    grid = np.array([f0, f0 + 50.0])
    tau = component_opacity(grid, co_lines(), 30.0, 1e16, 12.0, 3.0, 0.0)
    full = radiative_transfer(grid, [Layer(30.0, tau)], tcmb_k=2.73, tc_k=1.5)
    ff = float(filling_factor(40.0, dish_beam_arcsec(f0, 12.0)))
    diluted = radiative_transfer(grid, [Layer(30.0, tau, ff)], tcmb_k=2.73, tc_k=1.5)
    assert 0.05 < ff < 0.95
    assert (diluted[0] - 1.5) == pytest.approx(ff * (full[0] - 1.5), rel=1e-12)
    assert diluted[1] == pytest.approx(1.5, abs=1e-12) and full[1] == pytest.approx(1.5, abs=1e-12)


def _two_slabs(freq, tex1, tau1, ff1, tex2, tau2, ff2, tcmb):
    j1, j2, jb = (rj_temperature_k(freq, t) for t in (tex1, tex2, tcmb))
    e1, e2 = math.exp(-tau1), math.exp(-tau2)
    side_by_side = ff1 * (j1 - jb) * (1 - e1) + ff2 * (j2 - jb) * (1 - e2)
    i1 = jb + ff1 * (j1 - jb) * (1 - e1)
    stacked = i1 + ff2 * (j2 - i1) * (1 - e2) - jb
    return side_by_side, stacked


@pytest.mark.parametrize("ff1,ff2", [(1.0, 1.0), (0.7, 0.3)])
def test_interacting_versus_non_interacting_components(ff1, ff2):
    freq = np.array([230538.0])
    tau1, tau2 = np.array([2.0]), np.array([0.8])
    hot, cold = 150.0, 8.0
    side, stacked = _two_slabs(freq[0], hot, 2.0, ff1, cold, 0.8, ff2, 2.73)
    t_side = radiative_transfer(freq, [Layer(hot, tau1, ff1), Layer(cold, tau2, ff2)], 2.73)
    t_stack = radiative_transfer(freq, [Layer(hot, tau1, ff1), Layer(cold, tau2, ff2, interacting=True)], 2.73)
    assert t_side[0] == pytest.approx(side, rel=1e-12)
    assert t_stack[0] == pytest.approx(stacked, rel=1e-12)
    assert t_stack[0] < t_side[0]  # a cold layer in front absorbs
    if ff1 == ff2 == 1.0:  # classical two-slab formula
        j = lambda t: rj_temperature_k(freq[0], t)  # noqa: E731
        ref = j(cold) * (1 - math.exp(-0.8)) + math.exp(-0.8) * (
            j(hot) * (1 - math.exp(-2.0)) + j(2.73) * math.exp(-2.0)) - j(2.73)
        assert t_stack[0] == pytest.approx(ref, rel=1e-12)
    # the first component sees only the background whether it is flagged interacting or not
    t_first = radiative_transfer(freq, [Layer(hot, tau1, ff1, interacting=True), Layer(cold, tau2, ff2)], 2.73)
    assert t_first[0] == pytest.approx(side, rel=1e-12)


def test_unit_conversions_ta_star_and_jy_per_beam_against_astropy():
    freq = np.array([100e3, 230e3, 345e3])
    tmb = np.array([1.0, 2.5, -0.3])
    cfg = ModelConfig.from_dict({"unit": "TA*", "beam_efficiency": 0.6, "forward_efficiency": 0.95})
    np.testing.assert_allclose(convert_tmb(freq, tmb, cfg), tmb * 0.6 / 0.95, rtol=1e-15)
    cfg = ModelConfig.from_dict({"unit": "Jy/beam", "telescope": {"beam_arcsec": [1.2, 0.8]}})
    jy = convert_tmb(freq, tmb, cfg)
    omega = (2 * math.pi * (1.2 * u.arcsec * FWHM_TO_SIGMA) * (0.8 * u.arcsec * FWHM_TO_SIGMA)).to(u.sr)
    ref = [(t * u.K).to(u.Jy, u.brightness_temperature(f * u.MHz, beam_area=omega)).value for f, t in zip(freq, tmb)]
    np.testing.assert_allclose(jy, ref, rtol=1e-9)
    np.testing.assert_allclose(1 / jy_per_beam_to_k(freq, 1.2, 0.8), np.array(ref) / tmb, rtol=1e-9)
    # a dish: circular beam 1.22 lambda / D at each frequency
    cfg = ModelConfig.from_dict({"unit": "Jy/beam", "telescope": {"diameter_m": 12.0}})
    b = dish_beam_arcsec(freq, 12.0)
    np.testing.assert_allclose(convert_tmb(freq, tmb, cfg), tmb / jy_per_beam_to_k(freq, b, b), rtol=1e-15)
