"""Stellar broadening (cassis_lite.optical.broaden): equivalent width conserved by every step,
the radial velocity moves the lines on the returned grid (the Specflow bug), non-uniform grids,
Gray's kernels against their definitions. PyAstronomy itself is in test_optical_reference.py."""

import math

import numpy as np
import pytest
from scipy import integrate

from cassis_lite.constants import C_LIGHT_KMS
from cassis_lite.errors import OpticalError
from cassis_lite.optical import broaden
from cassis_lite.optical.convolution import MacroturbulenceKernel, RotationKernel

LINES = ((5010.0, 0.6, 0.03), (5025.3, 0.3, 0.05), (5040.7, 0.8, 0.02))


def spectrum(wave):
    flux = np.ones_like(wave)
    for c, d, s in LINES:
        flux -= d * np.exp(-0.5 * ((wave - c) / s) ** 2)
    return flux


def ews(wave, flux):
    return np.array([np.trapezoid(1 - flux[m], wave[m]) for m in (np.abs(wave - c) < 1.5 for c, _, _ in LINES)])


GRIDS = {"uniform": np.linspace(5000.0, 5050.0, 5001),
         "log-uniform": np.exp(np.linspace(math.log(5000.0), math.log(5050.0), 5001)),
         "non-uniform": 5000.0 + 30.0 * np.linspace(0, 1, 5001) + 20.0 * np.linspace(0, 1, 5001) ** 2}
STEPS = {"rotation": {"vsini_kms": 20.0}, "rotation eps=0": {"vsini_kms": 35.0, "limb_darkening": 0.0},
         "macroturbulence": {"macro_kms": 8.0}, "R": {"resolving_power": 30000}, "fwhm_a": {"fwhm_a": 0.12},
         "all": {"vsini_kms": 12.0, "macro_kms": 5.0, "resolving_power": 50000}}


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("step", STEPS)
def test_every_step_conserves_the_equivalent_width(grid, step):
    """EW of each line (1.5 A around it) kept to 2e-5 (the 0.02 A lines are 2 pixels wide: the
    trapezoidal EW of the input itself is only that good on the non-uniform grid)."""
    wave = GRIDS[grid]
    flux = spectrum(wave)
    out = broaden(wave, flux, **STEPS[step])
    assert np.allclose(ews(wave, out), ews(wave, flux), rtol=2e-5)
    assert out.min() > flux.min() + 0.05


def test_radial_velocity_moves_the_lines():
    """Specflow's bug, 'varying V_rad changes nothing', must not happen: the returned spectrum is on
    the input grid, with every line at lambda (1 + v / c) and its EW scaled by (1 + v / c)."""
    wave = GRIDS["uniform"]
    flux = spectrum(wave)
    for rv in (-30.0, 7.5, 60.0):
        out = broaden(wave, flux, rv_kms=rv, vsini_kms=10.0)
        assert np.max(np.abs(out - broaden(wave, flux, vsini_kms=10.0))) > 0.05
        for c, _, _ in LINES:
            m = np.abs(wave - c * (1 + rv / C_LIGHT_KMS)) < 1.0
            centroid = np.sum(wave[m] * (1 - out[m])) / np.sum(1 - out[m])
            assert centroid == pytest.approx(c * (1 + rv / C_LIGHT_KMS), abs=2e-4)  # 0.02 pixel
        assert np.allclose(ews(wave, out), ews(wave, flux) * (1 + rv / C_LIGHT_KMS), rtol=2e-5)


def test_unsorted_input_comes_back_in_the_callers_order():
    wave = GRIDS["uniform"]
    flux = spectrum(wave)
    perm = np.random.default_rng(2).permutation(wave.size)
    out = broaden(wave[perm], flux[perm], vsini_kms=15.0, fwhm_a=0.05)
    assert np.allclose(out, broaden(wave, flux, vsini_kms=15.0, fwhm_a=0.05)[perm], atol=1e-14)


def test_rotation_kernel_is_grays():
    """The CDF integrates Gray's G(x) (eq. 18.14): checked against quad of the formula."""
    eps, xl = 0.6, 1.0

    def gray(x):
        s = x / xl
        return (2 * (1 - eps) * math.sqrt(1 - s * s) + 0.5 * math.pi * eps * (1 - s * s)) / (math.pi * xl * (1 - eps / 3))

    k = RotationKernel(xl, eps)
    for x in (-0.9, -0.3, 0.0, 0.45, 0.99):
        assert k.cdf(x) == pytest.approx(integrate.quad(gray, -xl, x)[0], abs=1e-12)
    assert k.cdf(1.5) == pytest.approx(1.0, abs=1e-15) and k.cdf(-1.5) == pytest.approx(0.0, abs=1e-15)


def test_macroturbulence_kernel_is_grays_disk_integral():
    """M(x) = int_0^1 [G(x; zeta mu) + G(x; zeta sqrt(1 - mu^2))] mu dmu, G a Gaussian of 1/e
    half-width zeta mu (radial) or zeta sin(theta) (tangential), equal areas, no limb darkening
    (Gray 2005 eq. 17.4-17.6): its integral from -inf to x by nested quadrature."""
    zeta = 1.0

    def gauss(x, w):
        return math.exp(-(x / w) ** 2) / (math.sqrt(math.pi) * w) if w > 0 else 0.0

    def profile(x):
        return integrate.quad(lambda mu: (gauss(x, zeta * mu) + gauss(x, zeta * math.sqrt(1 - mu * mu))) * mu,
                              0, 1, limit=200)[0]

    k = MacroturbulenceKernel(zeta)
    for x in (0.05, 0.3, 1.0, 2.5):
        assert k.cdf(x) - 0.5 == pytest.approx(integrate.quad(profile, 0, x, limit=200)[0], abs=1e-9)
    assert k.cdf(8.0) == pytest.approx(1.0, abs=1e-15)


def test_bad_input():
    wave = GRIDS["uniform"]
    flux = spectrum(wave)
    with pytest.raises(OpticalError, match="resolving_power must be > 0"):
        broaden(wave, flux, resolving_power=0)
    with pytest.raises(OpticalError, match="fwhm_a must be > 0"):
        broaden(wave, flux, fwhm_a=-1)
    with pytest.raises(OpticalError, match="one of"):
        broaden(wave, flux, fwhm_a=0.1, resolving_power=1e4)
    with pytest.raises(OpticalError, match="1 NaN"):
        broaden(wave, np.where(wave == wave[10], np.nan, flux), vsini_kms=5)
    with pytest.raises(OpticalError, match="limb_darkening"):
        broaden(wave, flux, vsini_kms=5, limb_darkening=1.5)
    with pytest.raises(OpticalError, match="vsini_kms must be >= 0"):
        broaden(wave, flux, vsini_kms=-5)
    with pytest.raises(OpticalError, match="no repeated"):
        broaden(np.r_[wave, wave[-1]], np.r_[flux, 1.0], vsini_kms=5)
