"""Voigt function, optical depth and normalised flux of absorption lines (cassis_lite.optical).

References: scipy.special.wofz (the Faddeeva function, independent of our Weideman /
continued-fraction code), the analytic limits of the curve of growth, and the equivalent width
conserved by the line spread function. linetools itself is in test_optical_reference.py.
"""

import math

import numpy as np
import pytest
from scipy.special import wofz

from cassis_lite.constants import C_LIGHT_KMS, PI_E2_MC, PI_E2_MC2
from cassis_lite.errors import OpticalError, UnknownLineError, UnknownSpeciesError
from cassis_lite.optical import (
    AbsorptionLines,
    Component,
    equivalent_width,
    equivalent_width_ma,
    line_equivalent_width_ma,
    optical_depth,
    system_lines,
    voigt_flux,
    weak_line_ew_ma,
)
from cassis_lite.optical.faddeeva import voigt_h


def test_voigt_function_against_scipy_wofz():
    u = np.concatenate(([0.0], np.logspace(-4, 6, 3000)))
    worst_abs = worst_rel = 0.0
    for a in np.concatenate((np.logspace(-10, 2, 60), [0.0])):
        h, ref = voigt_h(a, u), wofz(u + 1j * a).real
        worst_abs = max(worst_abs, np.max(np.abs(h - ref)))
        big = ref > 1e-6
        worst_rel = max(worst_rel, np.max(np.abs(h - ref)[big] / ref[big]))
    # H(0) ~ 1: absolute 1e-13 of the centre; 1e-7 relative wherever H matters (> 1e-6)
    assert worst_abs < 1e-13
    assert worst_rel < 1e-7
    assert voigt_h(0.0, [3.0])[0] == pytest.approx(math.exp(-9.0), rel=1e-15)


def test_voigt_area_is_sqrt_pi():
    u = np.linspace(-2e4, 2e4, 4_000_001)
    area = np.trapezoid(voigt_h(1e-2, u), u) + 2 * 1e-2 / (math.sqrt(math.pi) * 2e4)  # + Lorentz tails
    assert area == pytest.approx(math.sqrt(math.pi), rel=1e-6)


def test_optical_depth_formula_and_redshift():
    """tau = N (pi e^2 / m_e c) f lambda0 H(a, u) / (sqrt(pi) b): centre and a wing point by hand."""
    lines = AbsorptionLines(1548.204, 0.1899, 2.643e8, 13.0, 10.0, 20.0, "C IV", 0)
    z = 1.5
    centre = 1548.204 * (1 + z) * (1 + 20.0 / C_LIGHT_KMS)
    k = 1e13 * PI_E2_MC * 1e4 * 0.1899 * 1548.204e-8 / (math.sqrt(math.pi) * 1e6)
    a = 2.643e8 * 1548.204e-8 / (4 * math.pi * 1e6)
    wave = np.array([centre, centre * (1 + 3e-5)])
    u = (C_LIGHT_KMS / 10.0) * (centre / wave - 1)
    expected = k * wofz(np.abs(u) + 1j * a).real
    assert np.allclose(optical_depth(wave, lines, redshift=z), expected, rtol=1e-12)


def test_weak_line_limit():
    """W -> pi e^2 / (m_e c^2) N f lambda0^2 (1 - tau0 / (2 sqrt 2)) for tau0 -> 0."""
    for wrest, f, gamma in ((1215.6682, 0.2776, 6.265e8), (2796.3543, 0.6155, 2.625e8)):
        for logn in (6.0, 8.0):
            w = line_equivalent_width_ma(wrest, f, gamma, logn, 10.0)
            tau0 = 10**logn * PI_E2_MC * 1e4 * f * wrest * 1e-8 / (math.sqrt(math.pi) * 1e6)
            weak = PI_E2_MC2 * 1e2 * 10**logn * f * (wrest * 1e-8) ** 2 * 1e11
            assert w == pytest.approx(weak * (1 - tau0 / (2 * math.sqrt(2))), rel=1e-7)  # wings: lambda^2, |dlambda| < lambda / 3
            assert weak_line_ew_ma(wrest, f, logn) == pytest.approx(weak, rel=1e-15)


def test_damped_limit():
    """W -> (lambda0^2 / c) sqrt(N (pi e^2 / m_e c) f Gamma / pi) for N -> infinity (Lorentz wings);
    the Doppler core adds ~ (its width) / (the wings' width), 0.1 % at log N = 21 for b = 10."""
    wrest, f, gamma = 1215.6682, 0.2776, 6.265e8
    for logn, tol in ((20.0, 3e-3), (21.0, 1e-3)):
        w = line_equivalent_width_ma(wrest, f, gamma, logn, 10.0)
        damped = (wrest * 1e-8) ** 2 / (C_LIGHT_KMS * 1e5) * math.sqrt(10**logn * PI_E2_MC * 1e4 * f * gamma / math.pi)
        assert w == pytest.approx(damped * 1e11, rel=tol)
    # the b-independence of the damped part
    assert (line_equivalent_width_ma(wrest, f, gamma, 21.0, 5.0)
            == pytest.approx(line_equivalent_width_ma(wrest, f, gamma, 21.0, 20.0), rel=2e-3))


def test_equivalent_width_ma_from_the_database(line_db):
    w = equivalent_width_ma("C IV", 1548.2, 14.0, 10.0, db=line_db)
    assert w == pytest.approx(line_equivalent_width_ma(1548.204, 0.1899, 2.643e8, 14.0, 10.0), rel=1e-12)
    grid = equivalent_width_ma("C IV", 1548.2, [12.0, 14.0], [[5.0], [10.0]], db=line_db)
    assert grid.shape == (2, 2) and grid[1, 1] == pytest.approx(w, rel=1e-12)


@pytest.mark.parametrize("lsf", [{"resolving_power": 20000}, {"fwhm_kms": 7.0}, {"fwhm_a": 0.08}])
def test_lsf_conserves_the_equivalent_width_and_broadens(line_db, lsf):
    lines = system_lines([Component(0.0, 8.0, {"C IV": 14.0}), Component(45.0, 4.0, {"C IV": 13.3})],
                         1540.0, 1560.0, db=line_db)
    wave = np.linspace(1545.0, 1555.0, 40001)
    bare = voigt_flux(wave, lines)
    conv = voigt_flux(wave, lines, **lsf)
    e0 = equivalent_width(wave, bare, 1545.0, 1555.0).ew_ma
    assert equivalent_width(wave, conv, 1545.0, 1555.0).ew_ma == pytest.approx(e0, rel=1e-6)
    assert np.max(np.abs(conv - bare)) > 0.02  # the LSF does broaden


def test_voigt_flux_on_any_grid(line_db):
    """A coarse, non-uniform, unsorted grid gets the values of a fine uniform one (the model is
    computed on its own working grid and interpolated)."""
    lines = system_lines([Component(-10.0, 6.0, {"Si II": 13.5, "C IV": 13.8})], 1500.0, 1560.0, db=line_db)
    fine = np.linspace(1525.0, 1528.5, 70001)
    ref = voigt_flux(fine, lines, resolving_power=30000)
    rng = np.random.default_rng(0)
    coarse = rng.permutation(np.sort(rng.uniform(1525.2, 1528.3, 700)))
    got = voigt_flux(coarse, lines, resolving_power=30000)
    assert np.max(np.abs(got - np.interp(coarse, fine, ref))) < 2e-6
    assert got.min() < 0.5  # Si II 1526 is in there


def test_air_wavelengths(line_db):
    from cassis_lite.units import vacuum_to_air

    lines = system_lines([Component(0.0, 10.0, {"Mg II": 13.0})], 2790.0, 2810.0, db=line_db)
    vac = np.linspace(2795.0, 2798.0, 3001)
    air = vacuum_to_air(vac * 1e-10) * 1e10
    assert np.allclose(voigt_flux(air, lines, air=True, fwhm_kms=5.0), voigt_flux(vac, lines, fwhm_kms=5.0),
                       atol=1e-12)
    assert np.argmin(voigt_flux(air, lines, air=True)) != np.argmin(voigt_flux(air, lines))  # 0.8 A apart


def test_bad_input(line_db):
    lines = system_lines([Component(0.0, 10.0, {"C IV": 13.0})], 1540.0, 1560.0, db=line_db)
    wave = np.linspace(1545.0, 1555.0, 101)
    with pytest.raises(OpticalError, match="resolving_power must be > 0"):
        voigt_flux(wave, lines, resolving_power=0)
    with pytest.raises(OpticalError, match="resolving_power must be > 0"):
        voigt_flux(wave, lines, resolving_power=-5)
    with pytest.raises(OpticalError, match="one of fwhm_a, fwhm_kms, resolving_power"):
        voigt_flux(wave, lines, resolving_power=1e4, fwhm_kms=5)
    with pytest.raises(OpticalError, match="positive finite"):
        voigt_flux(np.array([1550.0, np.nan]), lines)
    with pytest.raises(OpticalError, match="NaN"):
        AbsorptionLines(1548.2, 0.19, 2e8, np.nan, 10.0, 0.0, "C IV", 0)
    with pytest.raises(OpticalError, match="b must be > 0"):
        AbsorptionLines(1548.2, 0.19, 2e8, 13.0, 0.0, 0.0, "C IV", 0)
    with pytest.raises(UnknownSpeciesError, match="unknown species 'C XX'"):
        system_lines([Component(0.0, 10.0, {"C XX": 13.0})], 1540.0, 1560.0, db=line_db)
    with pytest.raises(UnknownLineError, match="C IV has no absorption line observed between 4000.00 and 4100.00"):
        system_lines([Component(0.0, 10.0, {"C IV": 13.0})], 4000.0, 4100.0, db=line_db)
    with pytest.raises(UnknownLineError, match="no line within 1 A of 1600"):
        equivalent_width_ma("C IV", 1600.0, 13.0, 10.0, db=line_db)
    with pytest.raises(OpticalError, match="b > 0"):
        equivalent_width_ma("C IV", 1548.2, 13.0, -1.0, db=line_db)
