"""The Spectrum object: construction from any axis, sorting of windows, views and conversions."""

import numpy as np
import pytest
from astropy import units as u

from cassis_lite import units
from cassis_lite.constants import C_LIGHT_KMS
from cassis_lite.spectrum import Spectrum, SpectrumError, window_slices

F0 = 230538.0


def test_from_axis_descending_is_sorted_with_everything_else():
    x = np.array([4.0, 3.0, 2.0, 1.0])
    y = np.array([40.0, 30.0, 20.0, 10.0])
    err = np.array([0.4, 0.3, 0.2, 0.1])
    sp = Spectrum.from_axis(x, y, x_unit="GHz", uncertainty=err, y_unit="K")
    np.testing.assert_array_equal(sp.freq_mhz, [1000.0, 2000.0, 3000.0, 4000.0])
    np.testing.assert_array_equal(sp.intensity, [10.0, 20.0, 30.0, 40.0])
    np.testing.assert_array_equal(sp.uncertainty, [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_array_equal(sp.x_original, [1.0, 2.0, 3.0, 4.0])
    assert sp.x_unit == "GHz" and sp.x_kind == "frequency" and len(sp) == 4


def test_wavelength_axis_becomes_ascending_frequency():
    lam = np.linspace(1.0, 3.0, 5)  # mm, ascending -> frequency descending
    sp = Spectrum.from_axis(lam, np.arange(5.0), x_unit="mm")
    assert np.all(np.diff(sp.freq_mhz) > 0)
    np.testing.assert_allclose(sp.freq_mhz, (lam[::-1] * u.mm).to(u.MHz, u.spectral()).value, rtol=1e-14)
    np.testing.assert_array_equal(sp.intensity, np.arange(5.0)[::-1])


def test_velocity_axis_radio():
    v = np.array([-10.0, 0.0, 10.0])
    sp = Spectrum.from_axis(v, [1.0, 2.0, 3.0], x_unit="km/s", rest_freq_mhz=F0)
    np.testing.assert_allclose(sp.freq_mhz, F0 * (1 - v[::-1] / C_LIGHT_KMS), rtol=1e-15)
    np.testing.assert_allclose(sp.velocity_kms(), v[::-1], atol=1e-9)
    with pytest.raises(SpectrumError, match="rest frequency"):
        Spectrum.from_axis(v, [1.0, 2.0, 3.0], x_unit="km/s")


def test_windows_in_any_order_are_merged_and_counted():
    w1 = np.linspace(100.0, 101.0, 11)
    w2 = np.linspace(50.0, 51.0, 11)
    w3 = np.linspace(200.0, 201.0, 11)
    x = np.concatenate([w1, w2, w3])
    y = np.concatenate([np.full(11, 1.0), np.full(11, 2.0), np.full(11, 3.0)])
    sp = Spectrum.from_axis(x, y)
    assert sp.meta["n_windows"] == 3
    np.testing.assert_array_equal(sp.intensity[:11], 2.0)
    np.testing.assert_array_equal(sp.intensity[11:22], 1.0)
    assert len(window_slices(np.arange(10.0))) == 1
    assert [(w.start, w.stop) for w in sp.windows()] == [(0, 11), (11, 22), (22, 33)]


@pytest.mark.parametrize("x,y,message", [
    ([1.0, np.nan, 3.0], [1.0, 2.0, 3.0], "non-finite"),
    ([1.0, 2.0, 3.0], [np.nan, np.nan, np.nan], "no finite intensity"),
    ([1.0, 2.0], [1.0, 2.0, 3.0], "2 values"),
    ([], [], "no channels"),
    ([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0], "repeats"),
    ([-1.0, 1.0, 2.0], [1.0, 2.0, 3.0], "non-positive"),
])
def test_from_axis_refuses_bad_arrays(x, y, message):
    with pytest.raises(SpectrumError, match=message):
        Spectrum.from_axis(x, y, x_unit="MHz")


def test_scrambled_axis_is_refused():
    rng = np.random.default_rng(1)
    x = rng.permutation(np.arange(1.0, 2001.0))
    with pytest.raises(SpectrumError, match="not monotonic"):
        Spectrum.from_axis(x, np.ones_like(x))


def test_blank_channels_are_kept_as_nan():
    sp = Spectrum.from_axis([1.0, 2.0, 3.0], [1.0, np.nan, 3.0])
    assert np.isnan(sp.intensity[1]) and sp.summary()["n_blank"] == 1


def test_direct_constructor_checks_order():
    with pytest.raises(SpectrumError, match="ascending"):
        Spectrum(freq_mhz=[3.0, 2.0], intensity=[1.0, 1.0])


def test_kelvin_jansky_round_trip_with_beam():
    freq = np.linspace(F0 - 10, F0 + 10, 5)
    sp = Spectrum.from_axis(freq, np.full(5, 2.5), y_unit="mJy/beam", beam_arcsec=(1.2, 0.8))
    k = sp.to_kelvin()
    assert k.y_unit == "K"
    np.testing.assert_allclose(k.intensity, units.jy_per_beam_to_k(2.5e-3, freq, 1.2, 0.8), rtol=1e-15)
    back = k.to_jy_per_beam()
    np.testing.assert_allclose(back.intensity, 2.5e-3, rtol=1e-12)
    with pytest.raises(units.UnitError, match="beam"):
        Spectrum.from_axis(freq, np.ones(5), y_unit="Jy/beam").to_kelvin()
    with pytest.raises(units.UnitError, match="flux density"):
        Spectrum.from_axis(freq, np.ones(5), y_unit="Jy").to_kelvin()
    mk = Spectrum.from_axis(freq, np.ones(5), y_unit="mK").to_kelvin()
    np.testing.assert_allclose(mk.intensity, 1e-3)


def test_rest_frame_and_views():
    f_obs = units.observed_freq(np.array([F0, F0 + 1]), vlsr_kms=5.0, redshift=0.1)
    sp = Spectrum.from_axis(f_obs, [1.0, 2.0], vlsr_kms=5.0, redshift=0.1, rest_freq_mhz=F0)
    np.testing.assert_allclose(sp.rest_frame_freq_mhz(), [F0, F0 + 1], rtol=1e-15)
    np.testing.assert_allclose(sp.wavelength("mm"), 299792.458 / sp.freq_mhz, rtol=1e-15)
    np.testing.assert_allclose(sp.wavenumber_cm1(), sp.freq_mhz / 29979.2458, rtol=1e-15)


def test_summary_keys():
    sp = Spectrum.from_axis([1.0, 2.0], [1.0, 2.0], x_unit="GHz", y_unit="K", rest_freq_mhz=1500.0,
                            beam_arcsec=(10.0, 9.0))
    s = sp.summary()
    for key in ("format", "n_channels", "x_min", "x_max", "x_unit", "freq_min_mhz", "freq_max_mhz", "y_unit",
                "vlsr_kms", "rest_freq_mhz", "beam_arcsec"):
        assert key in s
    assert s["x_min"] == 1.0 and s["freq_max_mhz"] == 2000.0 and s["beam_arcsec"] == [10.0, 9.0]
