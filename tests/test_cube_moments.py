"""Moment maps against an independent computation (astropy.io.fits + astropy.wcs + plain NumPy),
and the written FITS read back with astropy (HDUs, units, celestial WCS)."""

import io
import tracemalloc
import warnings

import numpy as np
import pytest

from cassis_lite.constants import C_LIGHT_KMS
from cassis_lite.cube import Cube, CubeError, write_maps_fits
from cassis_lite.cube.moments import moment_maps
from cube_data import fits_bytes, region5_cube, write_cube

fits = pytest.importorskip("astropy.io.fits")
astropy_wcs = pytest.importorskip("astropy.wcs")


def reference_moments(data, v, vmin, vmax):
    """Spectral-cube's definitions, written out here: channels with vmin <= v <= vmax, finite values."""
    sel = (v >= vmin) & (v <= vmax)
    d = data[sel]
    vv = v[sel][:, None, None]
    dv = np.abs(np.gradient(v))[sel][:, None, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m0 = np.nansum(d * dv, axis=0)
        m1 = np.nansum(d * vv * dv, axis=0) / m0
        m2 = np.sqrt(np.nansum(d * (vv - m1) ** 2 * dv, axis=0) / m0)
        peak = np.nanmax(d, axis=0)
    blank = ~np.isfinite(d).any(axis=0)
    m0[blank] = np.nan
    return m0, m1, m2, peak


def test_real_cube_moments_and_written_wcs():
    path = region5_cube()
    data = fits.getdata(path).astype(np.float64)
    header = fits.getheader(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = astropy_wcs.WCS(header)
    v = w.spectral.pixel_to_world_values(np.arange(data.shape[0])) / 1e3  # VRAD about RESTFRQ, km/s
    cube = Cube.open(path)
    m = cube.moments(-12.0, 2.0)
    r0, r1, r2, rp = reference_moments(data, v, -12.0, 2.0)
    np.testing.assert_allclose(m.mom0, r0, rtol=1e-9, atol=1e-9, equal_nan=True)
    pos = np.isfinite(r0) & (r0 > 0)
    assert np.isnan(m.mom1[~pos]).all()
    # MOM1 = a / MOM0 is ill-conditioned where MOM0 ~ 0 (noise): compared where MOM0 is a signal
    pos &= r0 > 0.01 * np.nanmax(r0)
    ok = pos & np.isfinite(r2)
    np.testing.assert_allclose(m.mom2[ok], r2[ok], rtol=1e-7, atol=1e-7)  # v from VRAD -> nu -> v: 3e-11 km/s
    np.testing.assert_allclose(m.mom1[pos], r1[pos], rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(m.peak, rp)
    # written with the celestial WCS: astropy reads the HDUs, units and the same sky positions
    hdul = fits.open(io.BytesIO(write_maps_fits(m, cube.wcs)))
    assert [h.name for h in hdul] == ["PRIMARY", "MOM0", "MOM1", "MOM2", "PEAK"]
    assert [h.header["BUNIT"] for h in hdul[1:]] == ["K km/s", "km/s", "km/s", "K"]
    np.testing.assert_array_equal(hdul["MOM0"].data, m.mom0)
    yy, xx = np.mgrid[0:37, 0:47]
    ref = w.celestial.wcs_pix2world(xx, yy, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = astropy_wcs.WCS(hdul["MOM1"].header).wcs_pix2world(xx, yy, 0)
    np.testing.assert_allclose(got[0], ref[0], atol=1e-10)
    np.testing.assert_allclose(got[1], ref[1], atol=1e-10)
    assert hdul[1].header["RESTFRQ"] == pytest.approx(88631.8473e6)


def test_frequency_axis_nan_channels_and_other_rest_frequency(tmp_path):
    # a FREQ axis (descending), NaN channels and a blank pixel; velocities about another line
    rng = np.random.default_rng(5)
    nchan, ny, nx = 120, 6, 7
    f_hz = 115271.2018e6 - 0.25e6 * (np.arange(nchan) - 60)
    rest = 115271.2018
    v = C_LIGHT_KMS * (1 - f_hz / 1e6 / rest)
    line = 3.0 * np.exp(-0.5 * ((v[:, None, None] - np.linspace(-3, 3, nx)[None, None, :]) / 1.5) ** 2)
    data = line + rng.normal(0, 0.05, (nchan, ny, nx))
    data[55:58, 2, 3] = np.nan
    data[:, 4, 4] = np.nan
    cards = {"CTYPE1": "GLON-CAR", "CRVAL1": 30.0, "CRPIX1": 4.0, "CDELT1": -0.01,
             "CTYPE2": "GLAT-CAR", "CRVAL2": 0.0, "CRPIX2": 3.0, "CDELT2": 0.01,
             "CTYPE3": "FREQ", "CRVAL3": f_hz[0], "CRPIX3": 1.0, "CDELT3": -0.25e6, "RESTFRQ": rest * 1e6,
             "BUNIT": "K"}
    path = tmp_path / "co.fits"
    write_cube(path, data.astype(np.float32), cards)
    cube = Cube.open(path)
    d32 = fits.getdata(path).astype(float)
    m = cube.moments(-8.0, 8.0)
    for ours, ref in zip((m.mom0, m.mom1, m.mom2, m.peak), reference_moments(d32, v, -8.0, 8.0)):
        np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-9, equal_nan=True)
    assert np.isnan(m.mom0[4, 4]) and np.isfinite(m.mom0[2, 3])
    # the line is Gaussian (sigma 1.5 km/s, partly cut by the window), centred on the x gradient
    assert np.nanmedian(np.abs(m.mom2 - 1.5)) < 0.25
    np.testing.assert_allclose(m.mom1[0], np.linspace(-3, 3, nx), atol=0.3)
    # about another rest frequency, velocities shift by c (1 - nu1/nu0) ... computed independently
    other = rest + 1.0
    v2 = C_LIGHT_KMS * (1 - f_hz / 1e6 / other)
    m2 = cube.moments(-10.0, 10.0, rest_freq_mhz=other)
    np.testing.assert_allclose(m2.mom1, reference_moments(d32, v2, -10.0, 10.0)[1], rtol=1e-9, atol=1e-9,
                               equal_nan=True)
    # all channels when no range is given
    full = cube.moments()
    assert full.channels == (0, nchan)
    with pytest.raises(CubeError, match="no channel between 500 and 600 km/s"):
        cube.moments(500.0, 600.0)


def test_memory_stays_bounded_and_progress_can_stop(tmp_path):
    # a 64 MB cube on disk, read memory-mapped in 4 MiB blocks: the Python heap stays small
    nchan, ny, nx = 250, 256, 256
    path = tmp_path / "big.fits"
    data = np.zeros((nchan, ny, nx), dtype=np.float32)
    data[100:110] = 1.0
    cards = {"CTYPE1": "RA---TAN", "CRVAL1": 0.0, "CRPIX1": 1.0, "CDELT1": -1e-3,
             "CTYPE2": "DEC--TAN", "CRVAL2": 0.0, "CRPIX2": 1.0, "CDELT2": 1e-3,
             "CTYPE3": "VRAD", "CRVAL3": 0.0, "CRPIX3": 1.0, "CDELT3": 500.0, "CUNIT3": "m/s", "RESTFRQ": 1e11}
    write_cube(path, data, cards)
    del data
    cube = Cube.open(path)
    tracemalloc.start()
    m = moment_maps(cube, block_bytes=4 * 2**20)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak / 2**20:.1f} MiB for a {cube.data_bytes / 2**20:.0f} MiB cube"
    np.testing.assert_allclose(m.mom0, 10 * 0.5, rtol=1e-9)
    calls = []
    with pytest.raises(CubeError, match="cancelled"):
        moment_maps(cube, progress=lambda done, total: calls.append(done) or False, block_bytes=4 * 2**20)
    assert len(calls) == 1


def test_bytes_in_memory_cube_moments_equal_path(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(30, 4, 5))
    cards = {"CTYPE1": "RA---SIN", "CRVAL1": 1.0, "CRPIX1": 1.0, "CDELT1": -1e-3,
             "CTYPE2": "DEC--SIN", "CRVAL2": 2.0, "CRPIX2": 1.0, "CDELT2": 1e-3,
             "CTYPE3": "VRAD", "CRVAL3": 0.0, "CRPIX3": 1.0, "CDELT3": 500.0, "CUNIT3": "m/s", "RESTFRQ": 1e11}
    raw = fits_bytes(data, cards)
    path = tmp_path / "c.fits"
    path.write_bytes(raw)
    a, b = Cube.open(path).moments(1.0, 9.0), Cube.open(raw, name="c.fits").moments(1.0, 9.0)
    for x, y in zip((a.mom0, a.mom1, a.mom2, a.peak), (b.mom0, b.mom1, b.mom2, b.peak)):
        np.testing.assert_array_equal(x, y)
