"""Reading cubes (cassis_lite.cube.Cube) against astropy.io.fits / astropy.wcs: data, axes, layouts.

pyspeckit's real Mopra cube (VRAD, galactic SIN) and small cubes written by astropy with every
spectral axis type the readers know, a degenerate STOKES axis, the spectral axis first; the
browser's limit (refused from the header, naming the shape and the command line).
"""

import gzip
import warnings

import numpy as np
import pytest

from cassis_lite.cube import CLI_HINT, Cube, CubeError
from cassis_lite.readers import MAX_IN_MEMORY_BYTES, TooLargeError, probe, read_spectrum
from cube_data import fits_bytes, region5_cube

fits = pytest.importorskip("astropy.io.fits")
astropy_wcs = pytest.importorskip("astropy.wcs")
u = pytest.importorskip("astropy.units")


@pytest.fixture(scope="module")
def region5():
    path = region5_cube()
    return path, fits.getdata(path).astype(np.float64), fits.getheader(path)


def test_real_cube_pixels_regions_channels(region5):
    path, data, header = region5
    cube = Cube.open(path)
    assert cube.shape == data.shape == (352, 37, 47)
    for x, y in [(24, 18), (3, 30), (46, 0)]:
        if np.isfinite(data[:, y, x]).any():
            sp = cube.spectrum_at(x, y)
            ref = read_spectrum(path, pixel=(x, y))
            assert np.array_equal(sp.intensity, ref.intensity, equal_nan=True)
            assert np.array_equal(sp.freq_mhz, ref.freq_mhz)
            # VRAD ascends, so the ascending-frequency spectrum is the file's channels reversed
            assert np.array_equal(sp.intensity, data[::-1, y, x], equal_nan=True)
    np.testing.assert_array_equal(cube.channel(200), data[200])
    np.testing.assert_array_equal(cube.block(5, 9, 10, 20), np.moveaxis(data[:, 5:9, 10:20], 0, -1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref_mean = np.nanmean(data[:, 10:30, 5:40], axis=(1, 2))
    mean = cube.region_mean(5, 40, 10, 30)
    # the Spectrum is in ascending frequency: VRAD ascends, so frequency descends
    np.testing.assert_allclose(mean.intensity[::-1], ref_mean, rtol=1e-12, equal_nan=True)
    mask = np.zeros((20, 35), bool)
    mask[3:7, 4:9] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref_masked = np.nanmean(data[:, 13:17, 9:14], axis=(1, 2))
    np.testing.assert_allclose(cube.region_mean(5, 40, 10, 30, mask=mask).intensity[::-1], ref_masked, rtol=1e-12,
                               equal_nan=True)
    # velocity about RESTFRQ: the VRAD axis itself (m/s -> km/s)
    vrad = astropy_wcs.WCS(header).spectral.pixel_to_world_values(np.arange(352)) / 1e3
    np.testing.assert_allclose(cube.velocity_kms(), vrad, atol=1e-9)


def test_bytes_gzip_and_path_agree(region5):
    path, data, _ = region5
    raw = path.read_bytes()
    a, b, c = Cube.open(path), Cube.open(raw, name="r5.fits"), Cube.open(gzip.compress(raw), name="r5.fits.gz")
    for cube in (b, c):
        np.testing.assert_array_equal(cube.block(0, 37, 0, 47), a.block(0, 37, 0, 47))
        assert cube.world_to_pixel(283.19, -1.0) == a.world_to_pixel(283.19, -1.0)


def _cards(ctype3, crval3, cdelt3, cunit3, extra=None, naxis=3):
    cards = {"CTYPE1": "RA---TAN", "CRVAL1": 83.8, "CRPIX1": 3.0, "CDELT1": -1e-3, "CUNIT1": "deg",
             "CTYPE2": "DEC--TAN", "CRVAL2": -5.4, "CRPIX2": 2.0, "CDELT2": 1e-3, "CUNIT2": "deg",
             "CTYPE3": ctype3, "CRVAL3": crval3, "CRPIX3": 10.0, "CDELT3": cdelt3, "CUNIT3": cunit3,
             "RESTFRQ": 230538.0e6, "BUNIT": "K", "RADESYS": "FK5", "EQUINOX": 2000.0}
    if naxis == 4:
        cards.update({"CTYPE4": "STOKES", "CRVAL4": 1.0, "CRPIX4": 1.0, "CDELT4": 1.0})
    cards.update(extra or {})
    return cards


SPECTRAL = [
    ("FREQ", 230530.0e6, 0.5e6, "Hz", "radio"),
    ("VRAD", 5000.0, -650.0, "m/s", "radio"),
    ("VOPT", 5000.0, 650.0, "m/s", "optical"),
    ("VRAD", 5.0, 0.65, "km/s", "radio"),
    ("WAVE", 1.30040e-3, 2.0e-9, "m", None),
    ("FREQ", 230.530, 0.0005, "GHz", "radio"),
]


@pytest.mark.parametrize("ctype, crval, cdelt, cunit, convention", SPECTRAL)
def test_spectral_axes_against_astropy(ctype, crval, cdelt, cunit, convention):
    rng = np.random.default_rng(1)
    data = rng.normal(size=(1, 40, 4, 5)).astype(np.float32)
    cards = _cards(ctype, crval, cdelt, cunit, naxis=4)
    cube = Cube.open(fits_bytes(data, cards), name="c.fits")
    assert (cube.nx, cube.ny, cube.nchan) == (5, 4, 40)
    np.testing.assert_array_equal(cube.spectrum_at(2, 3).intensity[np.argsort(np.argsort(cube.freq_mhz))],
                                  data[0, :, 3, 2].astype(float))
    h = fits.Header()
    for k, v in cards.items():
        h[k] = v
    h["NAXIS"], h["NAXIS1"], h["NAXIS2"], h["NAXIS3"], h["NAXIS4"] = 4, 5, 4, 40, 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = astropy_wcs.WCS(h).sub(["spectral"])
    world = spec.pixel_to_world(np.arange(40))
    if convention is None:
        ref = world.to(u.MHz, equivalencies=u.spectral()).value
    else:
        ref = world.to(u.MHz, doppler_rest=230538.0 * u.MHz, doppler_convention=convention).value
    np.testing.assert_allclose(cube.freq_mhz, ref, rtol=1e-13)
    # the sky: astropy's celestial WCS of the same header
    lon, lat = cube.pixel_to_world(np.array([0.0, 4.0]), np.array([0.0, 3.0]))
    ra, dec = astropy_wcs.WCS(h).celestial.wcs_pix2world([0.0, 4.0], [0.0, 3.0], 0)
    np.testing.assert_allclose(lon, ra, atol=1e-10)
    np.testing.assert_allclose(lat, dec, atol=1e-10)


def test_velo_lsr_class_axis_and_spectral_axis_first():
    # GILDAS-style: VELO-LSR first axis (the spectra are contiguous), then the sky
    rng = np.random.default_rng(2)
    data = rng.normal(size=(3, 4, 30))  # numpy (DEC, RA, VELO)
    cards = {"CTYPE1": "VELO-LSR", "CRVAL1": 0.0, "CRPIX1": 15.0, "CDELT1": 200.0, "CUNIT1": "m/s",
             "CTYPE2": "RA---SIN", "CRVAL2": 10.0, "CRPIX2": 2.0, "CDELT2": -2e-3,
             "CTYPE3": "DEC--SIN", "CRVAL3": 40.0, "CRPIX3": 2.0, "CDELT3": 2e-3,
             "RESTFRQ": 110201.354e6, "VELREF": 257}
    cube = Cube.open(fits_bytes(data, cards), name="v.fits")
    assert (cube.nx, cube.ny, cube.nchan) == (4, 3, 30)
    np.testing.assert_array_equal(cube.block(0, 3, 0, 4), data)
    np.testing.assert_array_equal(cube.channel(7), data[:, :, 7])
    v = (np.arange(30) + 1 - 15.0) * 0.2
    np.testing.assert_allclose(cube.velocity_kms(), v, atol=1e-9)  # radio (VELREF > 256)
    assert cube.world_to_pixel(*cube.pixel_to_world(2.0, 1.0)) == pytest.approx((2.0, 1.0), abs=1e-9)


def test_browser_limit_from_the_header_names_the_shape_and_the_command_line():
    cards = _cards("FREQ", 230530.0e6, 0.5e6, "Hz")
    h = fits.Header()
    h["SIMPLE"], h["BITPIX"], h["NAXIS"] = True, -32, 3
    h["NAXIS1"], h["NAXIS2"], h["NAXIS3"] = 1024, 1024, 150
    for k, v in cards.items():
        h[k] = v
    head = h.tostring().encode("ascii")
    size = len(head) + 1024 * 1024 * 150 * 4
    assert size > MAX_IN_MEMORY_BYTES
    with pytest.raises(TooLargeError, match=r"\[150, 1024, 1024\] holds 600 MiB.*" + CLI_HINT.replace("|", r"\|")):
        probe(head + b"\0" * 2880, file_size=size, name="big.fits")
    with pytest.raises(TooLargeError, match=r"1024 x 1024 x 150 pixels .* 600 MiB.*cassis-lite cube"):
        Cube.open(head + b"\0" * 2880, name="big.fits")
    # the same cube under the limit passes the probe (the browser reads it)
    h["NAXIS3"] = 10
    info = probe(h.tostring().encode("ascii"), file_size=len(head) + 1024 * 1024 * 10 * 4, name="ok.fits")
    assert info["hdus"][0]["shape"] == [10, 1024, 1024]


def test_not_a_cube_and_outside_errors():
    with pytest.raises(CubeError, match="not a cube"):
        Cube.open(fits_bytes(np.zeros((1, 40, 1, 5)), _cards("FREQ", 230530.0e6, 0.5e6, "Hz", naxis=4)), name="s.fits")
    cube = Cube.open(fits_bytes(np.zeros((40, 4, 5)), _cards("FREQ", 230530.0e6, 0.5e6, "Hz")), name="z.fits")
    with pytest.raises(CubeError, match=r"pixel \(5, 0\) is outside the cube's 5 x 4 pixels"):
        cube.spectrum_at(5, 0)
    with pytest.raises(CubeError, match="outside the cube's 5 x 4"):
        cube.pixel_of(90.0, 10.0)
    nan = np.full((40, 4, 5), np.nan)
    with pytest.raises(CubeError, match="blank"):
        Cube.open(fits_bytes(nan, _cards("FREQ", 230530.0e6, 0.5e6, "Hz")), name="n.fits").spectrum_at(1, 1)
