"""Range statistics against direct integration with astropy.units radio velocities
(u.doppler_radio), analytic Gaussian areas, NumPy/astropy statistics, the I16293 CO 5-4 sample,
and the errors of bad input."""

import json
import math

import astropy.units as u
import numpy as np
import pytest
from astropy.stats import mad_std

from cassis_lite.analysis.statistics import range_statistics
from cassis_lite.errors import ProcessingError
from cassis_lite.readers import read_spectrum
from cassis_lite.spectrum import Spectrum
from paths import SAMPLES

CO21 = 230538.0  # MHz
LIS = SAMPLES / "I16293_Synthetic_CO.lis"
CO54 = 576267.9305  # MHz, CDMS


def astropy_velocity(freq_mhz, rest_mhz, vlsr_file=0.0):
    return (np.asarray(freq_mhz) * u.MHz).to(u.km / u.s, equivalencies=u.doppler_radio(rest_mhz * u.MHz)).value \
        + vlsr_file


def line_spectrum(amp=2.0, centre_kms=5.0, fwhm_kms=3.0, vlsr_file=0.0, noise=0.0, seed=0, n=2000):
    """A Gaussian line on a 0.05 MHz grid around CO 2-1 (0.065 km/s channels)."""
    f = CO21 - 50.0 + 0.05 * np.arange(n)
    v = astropy_velocity(f, CO21, vlsr_file)
    sigma = fwhm_kms / (2 * math.sqrt(2 * math.log(2)))
    y = amp * np.exp(-0.5 * ((v - centre_kms) / sigma) ** 2)
    y = y + np.random.default_rng(seed).normal(0, noise, n) if noise else y
    return Spectrum(f, y, y_unit="K", rest_freq_mhz=CO21, vlsr_kms=vlsr_file)


@pytest.mark.parametrize("vlsr_file", [0.0, 2.5])
def test_integral_and_centroid_match_astropy_velocities(vlsr_file):
    sp = line_spectrum(vlsr_file=vlsr_file, noise=0.2, seed=1)
    lo, hi = 230530.0, 230545.0
    st = range_statistics(sp, lo, hi, rms=0.2)
    v_all = astropy_velocity(sp.freq_mhz, CO21, vlsr_file)
    dv_all = np.abs(np.gradient(v_all))
    sel = (sp.freq_mhz >= lo) & (sp.freq_mhz <= hi)
    y, v, dv = sp.intensity[sel], v_all[sel], dv_all[sel]
    integral = np.sum(y * dv)
    # the channel widths are differences of velocities ~1e4 times larger: rounding ~1e-12 relative
    assert st.integrated == pytest.approx(integral, rel=1e-10)
    assert st.integrated_err == pytest.approx(0.2 * np.sqrt(np.sum(dv**2)), rel=1e-10)
    assert st.centroid_velocity_kms == pytest.approx(np.sum(v * y * dv) / integral, abs=1e-8)
    np.testing.assert_allclose(st.velocity_kms, v, rtol=0, atol=1e-9)
    assert st.n_channels == sel.sum() and st.n_blank == 0
    assert st.mean == pytest.approx(np.mean(y), rel=1e-12)
    assert st.rms == pytest.approx(np.std(y), rel=1e-12)
    assert st.peak == np.max(y) and st.peak_freq_mhz == sp.freq_mhz[sel][np.argmax(y)]
    assert st.peak_velocity_kms == pytest.approx(v[np.argmax(y)], abs=1e-9)
    assert (st.rest_freq_mhz, st.rest_freq_source, st.vlsr_file_kms) == (CO21, "spectrum", vlsr_file)
    assert st.rms_noise == 0.2 and st.rms_source == "argument"


def test_noise_free_gaussian_area_and_centroid():
    """sum I dv of a sampled Gaussian = A FWHM sqrt(pi / (4 ln 2)); the first moment is its centre."""
    st = range_statistics(line_spectrum(amp=1.7, centre_kms=-4.0, fwhm_kms=2.2), 230535.0, 230545.0, rms=1.0)
    assert st.integrated == pytest.approx(1.7 * 2.2 * math.sqrt(math.pi / (4 * math.log(2))), rel=1e-4)
    assert st.centroid_velocity_kms == pytest.approx(-4.0, abs=1e-3)
    assert st.integrated_unit == "K km/s"


def test_absorption_peak_is_signed_and_blanks_are_ignored():
    sp = line_spectrum(amp=-3.0)
    y = sp.intensity.copy()
    y[[500, 1100]] = np.nan
    st = range_statistics(Spectrum(sp.freq_mhz, y, y_unit="K", rest_freq_mhz=CO21), 230500.0, 230580.0, rms=0.1)
    sel = (sp.freq_mhz >= 230500.0) & (sp.freq_mhz <= 230580.0)
    assert st.peak == pytest.approx(np.nanmin(y), abs=1e-12) and st.peak < -2.9
    assert st.n_blank == 2 and st.n_channels == sel.sum()
    assert st.mean == pytest.approx(np.nanmean(y[sel]), rel=1e-12)
    assert st.rms == pytest.approx(np.nanstd(y[sel]), rel=1e-12)
    assert st.minimum == st.peak and st.maximum == pytest.approx(np.nanmax(y[sel]))
    assert math.isfinite(st.integrated) and st.integrated < 0


def test_default_noise_is_the_robust_rms_of_the_window():
    sp = line_spectrum(noise=0.3, seed=4)
    st = range_statistics(sp, 230530.0, 230545.0)
    line_free = sp.intensity[(sp.freq_mhz < 230520) | (sp.freq_mhz > 230560)]
    assert st.rms_source == "window robust rms"
    assert st.rms_noise == pytest.approx(mad_std(line_free), rel=0.05)
    assert st.rms_noise == pytest.approx(0.3, rel=0.05)


def test_rest_frequency_sources():
    sp = line_spectrum()
    bare = Spectrum(sp.freq_mhz, sp.intensity, y_unit="K")
    st = range_statistics(bare, 230530.0, 230546.0, rms=0.1)
    assert (st.rest_freq_mhz, st.rest_freq_source) == (230538.0, "range centre")
    assert st.centroid_velocity_kms == pytest.approx(5.0 + 0.0, abs=2e-3)  # range centre = CO21
    st = range_statistics(bare, 230530.0, 230546.0, rest_freq_mhz=230540.0, rms=0.1)
    assert st.rest_freq_source == "argument"
    assert st.centroid_velocity_kms == pytest.approx(astropy_velocity(CO21, 230540.0) + 5.0, abs=2e-3)


def test_co54_sample_against_astropy():
    """I16293 synthetic CO 5-4: the .lis gives each window's rest frequency and v_lsr 3.8 km/s."""
    sp = read_spectrum(LIS)
    lo, hi = 576240.0, 576296.0
    st = range_statistics(sp, lo, hi, rms=0.16)
    assert st.rest_freq_source == "window" and st.rest_freq_mhz == pytest.approx(CO54, abs=2e-3)
    assert st.vlsr_file_kms == 3.8
    v_all = astropy_velocity(sp.freq_mhz, st.rest_freq_mhz, 3.8)
    w = sp.windows()[1]
    dv = np.abs(np.gradient(v_all[w]))
    f, y = sp.freq_mhz[w], sp.intensity[w]
    sel = (f >= lo) & (f <= hi)
    assert st.integrated == pytest.approx(np.sum(y[sel] * dv[sel]), rel=1e-10)
    assert st.integrated_err == pytest.approx(0.16 * np.sqrt(np.sum(dv[sel] ** 2)), rel=1e-10)
    assert st.centroid_velocity_kms == pytest.approx(np.sum(v_all[w][sel] * y[sel] * dv[sel]) / st.integrated,
                                                     abs=1e-8)
    # the velocities are the file's own VeloLsb column (CASSIS's), to its 3 printed decimals
    velo = np.loadtxt(LIS, comments="//", skiprows=3, usecols=(0, 1))
    velo = velo[np.argsort(velo[:, 0])]
    np.testing.assert_allclose(st.velocity_kms, velo[w][sel, 1], atol=6e-4)
    assert 3.5 < st.centroid_velocity_kms < 4.2 and st.peak > 3.5
    report = st.report()
    assert len(report.splitlines()) <= 8 and "K km/s" in report and "window" in report
    json.dumps(st.to_dict())


def test_range_over_two_windows_adds_their_errors():
    f = np.concatenate((100000.0 + 0.1 * np.arange(200), 100100.0 + 0.1 * np.arange(200)))
    rng = np.random.default_rng(3)
    y = np.concatenate((rng.normal(0, 0.1, 200), rng.normal(0, 0.4, 200)))
    sp = Spectrum(f, y, y_unit="K", rest_freq_mhz=100050.0)
    st = range_statistics(sp, 99990.0, 100200.0)
    dv = 0.1 / 100050.0 * 299792.458
    r1, r2 = (range_statistics(sp, a, b).rms_noise for a, b in ((99990, 100030), (100090, 100200)))
    assert st.integrated_err == pytest.approx(dv * math.sqrt(200 * r1**2 + 200 * r2**2), rel=1e-9)
    assert st.integrated == pytest.approx(np.sum(y) * dv, rel=1e-9)


@pytest.mark.parametrize("args, kwargs, message", [
    ((99000.0, 99010.0), {}, "holds no channel"),
    ((230600.0, 230700.0), {}, "holds no channel"),
    ((float("nan"), 230540.0), {}, "finite"),
    (("a", 230540.0), {}, "number"),
    ((230530.0, 230540.0), {"rest_freq_mhz": -1.0}, "> 0"),
    ((230530.0, 230540.0), {"rms": 0.0}, "> 0"),
])
def test_bad_input(args, kwargs, message):
    with pytest.raises(ProcessingError, match=message):
        range_statistics(line_spectrum(), *args, **kwargs)


def test_only_blanked_channels():
    sp = line_spectrum(n=500)
    y = sp.intensity.copy()
    y[100:200] = np.nan
    with pytest.raises(ProcessingError, match="only blanked"):
        range_statistics(Spectrum(sp.freq_mhz, y), sp.freq_mhz[110], sp.freq_mhz[150])
