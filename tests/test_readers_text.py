"""CASSIS .lis and "Spectral profile" exports (the two real samples) and ASCII/CSV tables."""


import numpy as np
import pytest

from cassis_lite.readers import ReadError, read_spectrum
from paths import SAMPLES

LIS = SAMPLES / "I16293_Synthetic_CO.lis"
PROFILE = SAMPLES / "41505_28502_147_220GHz.txt"


def _columns(path, comment):
    rows = [line.split() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith(comment) and line.split()[0][0] in "-0123456789."]
    return np.array(rows, dtype=float)


def test_cassis_lis_sample():
    sp = read_spectrum(LIS)
    table = _columns(LIS, "//")  # independent parse: FreqLsb ... Intensity columns 0 and 4
    assert sp.format == "cassis-lis"
    assert sp.n_channels == 2482 == len(table)
    assert sp.x_unit == "MHz" and sp.y_unit == "K" and sp.vlsr_kms == 3.8
    order = np.argsort(table[:, 0], kind="stable")
    np.testing.assert_array_equal(sp.freq_mhz, table[order, 0])
    np.testing.assert_array_equal(sp.intensity, table[order, 4])
    assert sp.meta["n_windows"] == 4 and sp.meta["declared_n_lines"] == 4000
    # each window's rest frequency, recovered from the VeloLsb column, is the catalogue line, in
    # frequency order (as sp.windows()): 13CO 5-4, CO 5-4, 13CO 10-9, CO 10-9
    # (CDMS: 550926.2850, 576267.9305, 1101349.597, 1151985.452 MHz)
    np.testing.assert_allclose(sp.meta["window_rest_freq_mhz"],
                               [550926.2850, 576267.9305, 1101349.597, 1151985.452], atol=0.01)
    assert [(sp.freq_mhz[w.start] < r < sp.freq_mhz[w.stop - 1]) for w, r in
            zip(sp.windows(), sp.meta["window_rest_freq_mhz"])] == [True] * 4
    assert sp.freq_mhz[0] == pytest.approx(550899.013077502) and sp.freq_mhz[-1] == pytest.approx(1152035.423902)


def test_cassis_spectral_profile_sample():
    sp = read_spectrum(PROFILE)
    table = _columns(PROFILE, "#")
    assert sp.format == "cassis-profile"
    assert sp.n_channels == 2002 == len(table)
    np.testing.assert_array_equal(sp.freq_mhz, table[:, 0])
    np.testing.assert_array_equal(sp.intensity, table[:, 1])
    assert sp.x_unit == "MHz" and sp.y_unit == "K" and sp.vlsr_kms == 3.0
    assert sp.meta["telescopes"] == {"iram": [100000.0, 150000.0], "jcmt": [200000.0, 300000.0]}
    assert sp.meta["n_windows"] == 2
    assert 147090.0 == sp.freq_mhz[0] and sp.freq_mhz[-1] == 220755.0


def test_detection_is_by_content_not_extension(tmp_path):
    p = tmp_path / "renamed.fits"
    p.write_bytes(LIS.read_bytes())
    assert read_spectrum(p).format == "cassis-lis"
    assert read_spectrum(PROFILE.read_bytes()).format == "cassis-profile"


@pytest.mark.parametrize("text,x_unit,y_unit,first_mhz", [
    ("# unitx: GHz\n# unity: K\n230.0 1.0\n230.1 2.0\n230.2 3.0\n", "GHz", "K", 230000.0),
    ("// unitx: GHz\n230.0\t1.0\n230.1\t2.0\n230.2\t3.0\n", "GHz", "", 230000.0),
    ("freq (GHz), T (K)\n230.0, 1.0\n230.1, 2.0\n230.2, 3.0\n", "GHz", "K", 230000.0),
    ("frequency [MHz];flux [Jy]\n230000;1\n230100;2\n230200;3\n", "MHz", "Jy", 230000.0),
    ("freq_mhz,intensity\n230000,1\n230100,2\n230200,3\n", "mhz", "", 230000.0),
    ("230000 1\n230100 2\n230200 3\n", "MHz", "", 230000.0),
    ("wavelength_um flux\n1300.0 1\n1300.5 2\n1301.0 3\n", "um", "", 299792.458 / 1.301),
])
def test_ascii_variants(text, x_unit, y_unit, first_mhz):
    sp = read_spectrum(text.encode(), name="t.csv")
    assert sp.format == "ascii" and sp.n_channels == 3
    assert sp.x_unit.lower() == x_unit.lower() and sp.y_unit == y_unit
    assert sp.freq_mhz[0] == pytest.approx(first_mhz, rel=1e-12)
    assert set(sp.intensity) == {1.0, 2.0, 3.0}


def test_ascii_three_columns_and_comment_metadata():
    text = ("# vlsr: 5.5\n# rest_freq_mhz: 230538.0\n# telescope: APEX\n# beam_arcsec: 27.0 26.0\n"
            "1.0 10 0.1\n2.0 20 0.2\n3.0 30 0.3\n")
    sp = read_spectrum(text.encode(), name="x.txt")
    np.testing.assert_array_equal(sp.uncertainty, [0.1, 0.2, 0.3])
    assert sp.vlsr_kms == 5.5 and sp.rest_freq_mhz == 230538.0 and sp.telescope == "APEX"
    assert sp.beam_arcsec == (27.0, 26.0) and sp.meta["assumed_x_unit"] == "MHz"


def test_ascii_velocity_axis_needs_rest_frequency():
    with pytest.raises(ReadError, match="rest frequency"):
        read_spectrum(b"velo (km/s), T (K)\n-1,0\n0,1\n1,0\n", name="v.csv")
    sp = read_spectrum(b"# restfreq: 115271.2018\nvelo (km/s), T (K)\n-1,0\n0,1\n1,0\n", name="v.csv")
    assert sp.x_kind == "velocity" and sp.freq_mhz[1] == pytest.approx(115271.2018)


@pytest.mark.parametrize("text,message", [
    (b"1 2\n3 4 5\n", "line 2 has 3 columns"),
    (b"1 2\n3 x\n", "line 2: 'x' is not a number"),
    (b"freq,T\n", "text without rows of two or more numbers"),
    (b"1\n2\n3\n", "text without rows of two or more numbers"),
    (b"# unitx: parsecs\n1 2\n2 3\n", "unknown axis unit 'parsecs'"),
    (b"1 nan\n2 nan\n", "no finite intensity"),
    (b"1 2\nnan 3\n4 5\n", "non-finite"),
])
def test_ascii_bad_input_messages(text, message):
    with pytest.raises(ReadError, match=message) as info:
        read_spectrum(text, name="bad.txt")
    assert str(info.value).startswith("bad.txt: ") or "bad.txt" in str(info.value)


def test_dsb_image_axis_follows_the_channels_when_windows_are_out_of_order(tmp_path):
    """FreqUsb is per channel: when the reader sorts the channels by FreqLsb, it must move with them."""
    rows = [(230000.0 + i, 240000.0 - i) for i in range(5)] + [(220000.0 + i, 250000.0 - i) for i in range(5)]
    text = "// vlsr : 0\nFreqLsb VeloLsb FreqUsb VeloUsb Intensity DeltaF DeltaV\n" + "".join(
        f"{lsb}\t0\t{usb}\t0\t1.0\t1\t1\n" for lsb, usb in rows)
    path = tmp_path / "dsb.lis"
    path.write_text(text)
    sp = read_spectrum(path)
    pairs = dict(rows)
    np.testing.assert_array_equal(sp.meta["freq_usb_mhz"], [pairs[f] for f in sp.freq_mhz])
