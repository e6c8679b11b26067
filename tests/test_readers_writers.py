"""CSV and FITS writers: exact round trips through our readers, and astropy reads our FITS."""


import numpy as np
import pytest
from astropy.io import fits

from cassis_lite.readers import read_spectrum, write_csv, write_fits
from cassis_lite.spectrum import Spectrum
from paths import SAMPLES


@pytest.fixture
def spectrum():
    sp = read_spectrum(SAMPLES / "I16293_Synthetic_CO.lis")
    sp.uncertainty = np.full(sp.n_channels, 0.0123456789012345)
    sp.rest_freq_mhz = 576267.9305
    sp.beam_arcsec = (37.2, 36.9)
    sp.telescope = "HIFI"
    return sp


def test_csv_round_trip_is_exact(tmp_path, spectrum):
    p = tmp_path / "out.csv"
    write_csv(spectrum, p)
    back = read_spectrum(p)
    assert back.format == "ascii"
    np.testing.assert_array_equal(back.freq_mhz, spectrum.freq_mhz)
    np.testing.assert_array_equal(back.intensity, spectrum.intensity)
    np.testing.assert_array_equal(back.uncertainty, spectrum.uncertainty)
    assert back.x_unit == "MHz" and back.y_unit == "K"
    assert back.vlsr_kms == 3.8 and back.rest_freq_mhz == 576267.9305
    assert back.beam_arcsec == (37.2, 36.9) and back.telescope == "HIFI"


def test_fits_round_trip_and_astropy(tmp_path, spectrum):
    p = tmp_path / "out.fits"
    write_fits(spectrum, p)
    back = read_spectrum(p)
    np.testing.assert_array_equal(back.freq_mhz, spectrum.freq_mhz)
    np.testing.assert_array_equal(back.intensity, spectrum.intensity)
    np.testing.assert_array_equal(back.uncertainty, spectrum.uncertainty)
    assert back.vlsr_kms == pytest.approx(3.8, rel=1e-15) and back.rest_freq_mhz == pytest.approx(576267.9305, rel=1e-15)
    assert back.beam_arcsec == pytest.approx((37.2, 36.9), rel=1e-14) and back.telescope == "HIFI"
    with fits.open(p, checksum=False) as hdul:
        hdul.verify("exception")  # astropy finds the file standard-conforming
        t = hdul["SPECTRUM"]
        np.testing.assert_array_equal(t.data["FREQ"], spectrum.freq_mhz)
        np.testing.assert_array_equal(t.data["FLUX"], spectrum.intensity)
        assert t.columns["FREQ"].unit == "MHz" and t.columns["FLUX"].unit == "K"
        assert t.header["RESTFRQ"] == pytest.approx(576267.9305e6, rel=1e-15)
        assert t.header["VELO-LSR"] == pytest.approx(3800.0)


def test_writers_accept_a_model_result():
    class Result:  # what the LTE model returns: freq_mhz, intensity, unit
        freq_mhz = np.linspace(230000.0, 230100.0, 11)
        intensity = np.linspace(0.0, 1.0, 11)
        unit = "K"

    text = write_csv(Result())
    back = read_spectrum(text.encode(), name="model.csv")
    np.testing.assert_array_equal(back.freq_mhz, Result.freq_mhz)
    data = write_fits(Result())
    assert len(data) % 2880 == 0
    back = read_spectrum(data, name="model.fits")
    np.testing.assert_array_equal(back.intensity, Result.intensity)
    assert back.y_unit == "K"


def test_fits_header_keeps_long_floats_exact():
    sp = Spectrum.from_axis([1.0, 2.0], [0.1, 0.2], rest_freq_mhz=1234.5678901234567, vlsr_kms=-0.123456789012345)
    back = read_spectrum(write_fits(sp), name="x.fits")
    assert back.rest_freq_mhz == 1234.5678901234567
    assert back.vlsr_kms == pytest.approx(-0.123456789012345, rel=1e-15)
