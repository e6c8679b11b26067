"""FITS reader (pure NumPy) against astropy.io.fits / astropy.wcs on real public spectra and on
files written by astropy: same arrays, same axis values."""

import gzip
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS

from cassis_lite.readers import ReadError, read_spectrum
from cassis_lite.readers import fits_format as ff

DATA = Path(__file__).parent / "data"


def _pyspeckit_cube() -> Path:
    spec = importlib.util.find_spec("pyspeckit")  # a locked test dependency
    path = Path(spec.submodule_search_locations[0]) / "tests" / "data" / "region5_hcn_crop.fits"
    assert path.exists(), "pyspeckit's test cube is not in the installed package"
    return path


def test_header_values_match_astropy_on_real_files():
    for name in ("alfalfa_sp.fits", "SDSSJ220248.31+123656.3.fits", "specexample1.fits"):
        data = (DATA / name).read_bytes()
        ours = ff.scan(data, name)
        with fits.open(DATA / name) as hdul:
            assert len(ours) == len(hdul)
            for hdu, ref in zip(ours, hdul):
                for key, value in ref.header.items():
                    if key in ("COMMENT", "HISTORY", "") or key not in hdu.header.cards:
                        continue
                    if list(ref.header.keys()).count(key) > 1:
                        continue
                    got = hdu.header[key]
                    if isinstance(value, float):
                        assert got == pytest.approx(value, rel=1e-15), key
                    else:
                        assert got == value, key
                info = hdul.fileinfo(hdu.index)
                assert (hdu.header_offset, hdu.data_offset) == (info["hdrLoc"], info["datLoc"])
                assert -(-hdu.data_size // 2880) * 2880 == info["datSpan"]


def test_sdss_iraf_log_linear_image():
    path = DATA / "SDSSJ220248.31+123656.3.fits"
    sp = read_spectrum(path)
    with fits.open(path) as hdul:
        h = hdul[0].header
        flux = hdul[0].data.astype(np.float64)
        lam = 10 ** (h["CRVAL1"] + h["CD1_1"] * (np.arange(h["NAXIS1"]) + 1 - h["CRPIX1"]))
    assert sp.format == "fits" and sp.x_unit == "Angstrom" and sp.meta["axis_log10"]
    assert sp.n_channels == flux.size == 4646
    # ascending wavelength -> descending frequency: the reader reverses the channels
    np.testing.assert_array_equal(sp.intensity[::-1], flux)
    np.testing.assert_allclose(sp.x_original[::-1], lam, rtol=1e-14)
    np.testing.assert_allclose(sp.freq_mhz[::-1], (lam * u.AA).to(u.MHz, u.spectral()).value, rtol=1e-14)
    assert sp.y_unit == "1E-17 erg/cm^2/s/Ang" and sp.telescope == "SDSS 2.5-M"


def test_alfalfa_binary_table_with_array_columns():
    path = DATA / "alfalfa_sp.fits"
    sp = read_spectrum(path)
    with fits.open(path) as hdul:
        row = hdul[1].data[0]
        freq, flux = np.asarray(row["FREQ"], float), np.asarray(row["FLUXDENS"], float)
        rest = hdul[1].header["RESTFRQ"]
    order = np.argsort(freq)
    np.testing.assert_array_equal(sp.freq_mhz, freq[order])
    np.testing.assert_array_equal(sp.intensity, flux[order])
    assert sp.x_unit == "MHz" and sp.y_unit == "mJy" and sp.rest_freq_mhz == rest / 1e6
    assert sp.meta["x_column"] == "FREQ" and sp.meta["y_column"] == "FLUXDENS"
    assert sp.telescope == "Arecibo Radio Telescope"
    # HI 21 cm: the frequency axis lies just below the rest frequency (receding galaxy)
    assert sp.freq_mhz[-1] < rest / 1e6


def test_xshooter_gzip_binary_table_with_errors():
    path = DATA / "XShooter_XQ100.fits.gz"
    sp = read_spectrum(path)
    with fits.open(path) as hdul:
        d = hdul[1].data[0]
        wave, flux, err = (np.asarray(d[k], float) for k in ("WAVE", "FLUX", "ERR_FLUX"))
    np.testing.assert_array_equal(sp.x_original[::-1], wave)
    np.testing.assert_array_equal(sp.intensity[::-1], flux)
    np.testing.assert_array_equal(sp.uncertainty[::-1], err)
    assert sp.x_unit == "nm"
    np.testing.assert_allclose(sp.freq_mhz[::-1], (wave * u.nm).to(u.MHz, u.spectral()).value, rtol=1e-14)


def test_linetools_flux_error_wavelength_hdus():
    path = DATA / "specexample1.fits"
    sp = read_spectrum(path)
    with fits.open(path) as hdul:
        flux = hdul["FLUX"].data.astype(float)
        err = hdul["ERROR"].data.astype(float)
        wave = hdul["WAVELENGTH"].data.astype(float)
    np.testing.assert_array_equal(sp.x_original[::-1], wave)
    np.testing.assert_array_equal(sp.intensity[::-1], flux)
    np.testing.assert_array_equal(sp.uncertainty[::-1], err)


@pytest.mark.filterwarnings("ignore::astropy.wcs.FITSFixedWarning")
def test_parkes_hcn_cube_pixel_and_region_match_astropy():
    path = _pyspeckit_cube()
    with fits.open(path) as hdul:
        cube = hdul[0].data.astype(np.float64)
        header = hdul[0].header
    wcs = WCS(header)
    vel = wcs.spectral.pixel_to_world_values(np.arange(header["NAXIS3"]))  # m/s
    sp = read_spectrum(path)  # default: central pixel
    ny, nx = cube.shape[1:]
    assert sp.meta["cube_shape"] == [352, 37, 47] and sp.meta["pixel"] == [nx // 2, ny // 2]
    np.testing.assert_array_equal(sp.intensity, cube[:, ny // 2, nx // 2][::-1])
    np.testing.assert_allclose(sp.x_original[::-1], vel, rtol=1e-12, atol=1e-9)
    assert sp.x_unit == "m/s" and sp.x_kind == "velocity" and sp.y_unit == "K"
    assert sp.rest_freq_mhz == pytest.approx(88631.8473, rel=1e-12)
    assert sp.beam_arcsec == pytest.approx((36.0, 36.0))
    ref_freq = (vel * u.m / u.s).to(u.MHz, u.doppler_radio(header["RESTFRQ"] * u.Hz)).value
    np.testing.assert_allclose(sp.freq_mhz[::-1], ref_freq, rtol=1e-14)

    good = np.argwhere(np.isfinite(cube).all(axis=0))
    py, px = good[len(good) // 3]
    sp2 = read_spectrum(path.read_bytes(), name="cube.fits", pixel=(px, py))
    np.testing.assert_array_equal(sp2.intensity, cube[:, py, px][::-1])
    blank = np.argwhere(~np.isfinite(cube).any(axis=0))
    if len(blank):
        with pytest.raises(ReadError, match="blank"):
            read_spectrum(path, pixel=(blank[0][1], blank[0][0]))
    sp3 = read_spectrum(path, region=(5, 25, 10, 20))
    np.testing.assert_allclose(sp3.intensity, np.nanmean(cube[:, 10:20, 5:25], axis=(1, 2))[::-1], rtol=1e-12)
    with pytest.raises(ReadError, match="outside the cube"):
        read_spectrum(path, pixel=(47, 0))


def _write(hdul, tmp_path, name):
    p = tmp_path / name
    hdul.writeto(p)
    return p


@pytest.mark.parametrize("ctype,cunit,crval,cdelt,extra", [
    ("FREQ", "Hz", 230.538e9, -0.5e6, {"RESTFRQ": 230.538e9}),
    ("FREQ", "GHz", 230.538, 0.0005, {}),
    ("VRAD", "km/s", -20.0, 0.25, {"RESTFREQ": 115.2712018e9}),
    ("VOPT", "m/s", 1000.0, 500.0, {"RESTFRQ": 1420.405752e6}),
    ("WAVE", "um", 500.0, 0.01, {}),
    ("AWAV", "Angstrom", 6500.0, 0.5, {}),
    ("WAVE-LOG", "m", 5e-7, 1e-11, {}),
    ("WAVN", "cm-1", 10.0, 0.001, {}),
])
def test_image_spectral_wcs_matches_astropy_wcs(tmp_path, ctype, cunit, crval, cdelt, extra):
    n = 257
    rng = np.random.default_rng(0)
    data = rng.normal(size=n).astype(np.float32)
    h = fits.Header()
    h.update({"CTYPE1": ctype, "CUNIT1": cunit, "CRVAL1": crval, "CDELT1": cdelt, "CRPIX1": 100.5,
              "BUNIT": "K", **extra})
    p = _write(fits.HDUList([fits.PrimaryHDU(data, header=h)]), tmp_path, "s.fits")
    sp = read_spectrum(p)
    w = WCS(fits.getheader(p))
    ref = w.spectral.pixel_to_world_values(np.arange(n))  # SI units
    # the reader keeps the file's unit; astropy's WCS gives SI
    x_si = (sp.x_original * u.Unit(cunit)).si.value if ctype != "WAVN" else sp.x_original * 100.0
    order = np.argsort(sp.freq_mhz)
    assert order.tolist() == list(range(n))
    if np.all(np.diff(ref) < 0) != np.all(np.diff(x_si) < 0):
        x_si = x_si[::-1]
    np.testing.assert_allclose(np.sort(x_si), np.sort(ref), rtol=1e-13)
    # frequency axis against astropy's spectral equivalencies
    if ctype.startswith("FREQ"):
        ref_mhz = ref / 1e6
    elif ctype == "AWAV":
        wf = w.deepcopy()
        wf.wcs.sptr("FREQ-???")  # wcslib's own air -> frequency translation
        ref_mhz = wf.all_pix2world(np.arange(n), 0)[0] / 1e6
    elif ctype in ("VRAD", "VOPT"):
        rest = (extra.get("RESTFRQ") or extra.get("RESTFREQ")) * u.Hz
        equiv = u.doppler_radio(rest) if ctype == "VRAD" else u.doppler_optical(rest)
        ref_mhz = (ref * u.m / u.s).to(u.MHz, equiv).value
    elif ctype == "WAVN":
        ref_mhz = (ref / u.m).to(u.MHz, u.spectral()).value
    else:
        ref_mhz = (ref * u.m).to(u.MHz, u.spectral()).value
    if ctype == "AWAV":
        # wcslib uses the Cox (2000) air index (Greisen 2006 eq. 65), we use Morton (2000):
        # the two standard-air formulas agree to ~1e-8 relative
        np.testing.assert_allclose(np.sort(sp.freq_mhz), np.sort(ref_mhz), rtol=5e-8)
    else:
        np.testing.assert_allclose(np.sort(sp.freq_mhz), np.sort(ref_mhz), rtol=1e-13)
    np.testing.assert_array_equal(np.sort(sp.intensity), np.sort(data.astype(float)))


def test_scaled_integer_image_with_blank(tmp_path):
    raw = np.arange(-50, 50, dtype=np.int16)
    hdu = fits.PrimaryHDU(raw)
    hdu.header.update({"CTYPE1": "FREQ", "CUNIT1": "MHz", "CRVAL1": 1000.0, "CDELT1": 1.0, "CRPIX1": 1.0,
                       "BSCALE": 0.01, "BZERO": 3.0, "BLANK": -50})
    p = _write(fits.HDUList([hdu]), tmp_path, "int.fits")
    sp = read_spectrum(p)
    with fits.open(p, do_not_scale_image_data=True) as hdul:
        stored = hdul[0].data
        ref = np.where(stored == hdul[0].header["BLANK"], np.nan, stored * 0.01 + 3.0)
    with fits.open(p) as hdul:  # astropy scales to float32: equal to float32 precision
        np.testing.assert_allclose(sp.intensity, hdul[0].data, rtol=1e-7)
    np.testing.assert_array_equal(sp.intensity, ref)
    assert np.isnan(sp.intensity[0])


def test_degenerate_axes_and_pc_matrix(tmp_path):
    data = np.arange(64, dtype=np.float64).reshape(1, 64, 1, 1)  # STOKES, FREQ, DEC, RA
    h = fits.Header()
    h.update({"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN", "CTYPE3": "FREQ", "CTYPE4": "STOKES",
              "CRVAL3": 345.796e9, "CDELT3": 2e6, "PC3_3": -1.0, "CRPIX3": 1.0, "CUNIT3": "Hz",
              "BMAJ": 1e-4, "BMIN": 5e-5, "BUNIT": "Jy/beam"})
    p = _write(fits.HDUList([fits.PrimaryHDU(data, header=h)]), tmp_path, "alma.fits")
    sp = read_spectrum(p)
    ref = WCS(fits.getheader(p)).sub([3]).pixel_to_world_values(np.arange(64))
    np.testing.assert_allclose(sp.freq_mhz[::-1] * 1e6, ref, rtol=1e-15)
    np.testing.assert_array_equal(sp.intensity[::-1], np.arange(64.0))
    assert sp.beam_arcsec == pytest.approx((0.36, 0.18)) and sp.y_unit == "Jy/beam"


def test_bintable_scalar_columns_tnull_tscal_and_variable_length(tmp_path):
    n = 50
    freq = np.linspace(100e9, 101e9, n)
    counts = np.arange(n, dtype=np.int32)
    counts[7] = -999
    cols = [fits.Column("FREQUENCY", "D", unit="Hz", array=freq),
            fits.Column("TA", "J", unit="mK", array=counts, null=-999),
            fits.Column("SIGMA", "E", unit="mK", array=np.full(n, 0.1, np.float32))]
    t = fits.BinTableHDU.from_columns(cols)
    p = _write(fits.HDUList([fits.PrimaryHDU(), t]), tmp_path, "tab.fits")
    with fits.open(p, mode="update") as hdul:  # scaled column: physical = 0.5 stored + 1
        hdul[1].header["TSCAL2"] = 0.5
        hdul[1].header["TZERO2"] = 1.0
    with fits.open(p) as hdul:
        stored = np.asarray(hdul[1].data.field("TA"), float)  # astropy applies TSCAL/TZERO
    sp = read_spectrum(p)
    ref_ta = np.where(counts == -999, np.nan, counts * 0.5 + 1.0)
    np.testing.assert_array_equal(np.delete(stored, 7), np.delete(ref_ta, 7))
    assert np.isnan(sp.intensity[7]) and np.isnan(ref_ta[7])
    np.testing.assert_array_equal(np.nan_to_num(sp.intensity), np.nan_to_num(ref_ta))
    np.testing.assert_array_equal(sp.freq_mhz, freq / 1e6)
    assert sp.y_unit == "mK" and sp.meta["error_column"] == "SIGMA"

    vla = fits.BinTableHDU.from_columns([
        fits.Column("WAVE", "PD()", unit="Angstrom", array=np.array([np.linspace(5000, 5100, 30)], dtype=object)),
        fits.Column("FLUX", "PE()", array=np.array([np.arange(30, dtype=np.float32)], dtype=object))])
    p2 = _write(fits.HDUList([fits.PrimaryHDU(), vla]), tmp_path, "vla.fits")
    sp2 = read_spectrum(p2)
    with fits.open(p2) as hdul:
        np.testing.assert_array_equal(sp2.x_original[::-1], np.asarray(hdul[1].data["WAVE"][0], float))
        np.testing.assert_array_equal(sp2.intensity[::-1], np.asarray(hdul[1].data["FLUX"][0], float))


def test_hdu_selection_by_name_and_index(tmp_path):
    a = fits.ImageHDU(np.ones(10, np.float32), name="A")
    b = fits.ImageHDU(np.arange(10, dtype=np.float32), name="B")
    for h in (a, b):
        h.header.update({"CTYPE1": "FREQ", "CRVAL1": 1e9, "CDELT1": 1e6, "CRPIX1": 1.0})
    p = _write(fits.HDUList([fits.PrimaryHDU(), a, b]), tmp_path, "multi.fits")
    assert read_spectrum(p).meta["hdu_name"] == "A"
    np.testing.assert_array_equal(read_spectrum(p, hdu="B").intensity, np.arange(10.0))
    np.testing.assert_array_equal(read_spectrum(p, hdu=2).intensity, np.arange(10.0))
    with pytest.raises(ReadError, match="no HDU named 'C'"):
        read_spectrum(p, hdu="C")
    with pytest.raises(ReadError, match="no HDU 5"):
        read_spectrum(p, hdu=5)


def test_bytes_path_and_gzip_give_identical_results(tmp_path):
    path = DATA / "alfalfa_sp.fits"
    a = read_spectrum(path)
    b = read_spectrum(path.read_bytes(), name="alfalfa_sp.fits")
    c = read_spectrum(io.BytesIO(gzip.compress(path.read_bytes())), name="x.fits.gz")
    for other in (b, c):
        np.testing.assert_array_equal(a.freq_mhz, other.freq_mhz)
        np.testing.assert_array_equal(a.intensity, other.intensity)


@pytest.mark.parametrize("dtype,scale", [(np.float32, None), (np.int16, (0.5, 10.0))])
def test_cube_region_mean_matches_numpy(tmp_path, dtype, scale):
    rng = np.random.default_rng(7)
    raw = (rng.normal(size=(30, 8, 9)) * 100).astype(dtype)
    hdu = fits.PrimaryHDU(raw, do_not_scale_image_data=True)
    hdu.header.update({"CTYPE3": "FREQ", "CRVAL3": 1e11, "CDELT3": 1e6, "CRPIX3": 1.0})
    if scale:
        hdu.header.update({"BSCALE": scale[0], "BZERO": scale[1]})
    p = _write(fits.HDUList([hdu]), tmp_path, "c.fits")
    with fits.open(p, do_not_scale_image_data=True) as hdul:
        stored = hdul[0].data.astype(np.float64)
    phys = stored * scale[0] + scale[1] if scale else stored
    sp = read_spectrum(p, region=(2, 7, 1, 6))
    np.testing.assert_allclose(sp.intensity, phys[:, 1:6, 2:7].mean(axis=(1, 2)), rtol=1e-13)
    sp_all = read_spectrum(p, region=(0, 9, 0, 8))
    np.testing.assert_allclose(sp_all.intensity, phys.mean(axis=(1, 2)), rtol=1e-13)
    np.testing.assert_array_equal(read_spectrum(p, pixel=(8, 7)).intensity, phys[:, 7, 8])


def test_gildas_class_offset_frequency_axis(tmp_path):
    # CLASS writes CRVAL1 = 0 (offset from RESTFREQ), VELO-LSR in m/s, DELTAV, IMAGFREQ
    n = 128
    h = fits.Header()
    h.update({"CTYPE1": "FREQ", "CRVAL1": 0.0, "CDELT1": -78125.0, "CRPIX1": 64.0, "RESTFREQ": 115271201800.0,
              "IMAGFREQ": 119271201800.0, "DELTAV": 203.2, "VELO-LSR": 5500.0, "LINE": "CO(1-0)",
              "TELESCOP": "IRAM30M-E090", "BUNIT": "K"})
    p = _write(fits.HDUList([fits.PrimaryHDU(np.arange(n, dtype=np.float32).reshape(1, 1, n), header=h)]),
               tmp_path, "class.fits")
    sp = read_spectrum(p)
    offset_hz = WCS(fits.getheader(p)).sub([1]).pixel_to_world_values(np.arange(n))  # astropy: the offsets
    np.testing.assert_allclose(sp.freq_mhz[::-1], (115271201800.0 + offset_hz) / 1e6, rtol=1e-15)
    assert sp.meta["class_offset_axis"] and sp.vlsr_kms == 5.5 and sp.rest_freq_mhz == 115271.2018
    assert sp.telescope == "IRAM30M-E090"


def test_velocity_axis_without_rest_frequency(tmp_path):
    h = fits.Header()
    h.update({"CTYPE1": "VRAD", "CRVAL1": 0.0, "CDELT1": 100.0, "CRPIX1": 1.0, "CUNIT1": "m/s"})
    p = _write(fits.HDUList([fits.PrimaryHDU(np.ones(10, np.float32), header=h)]), tmp_path, "v.fits")
    with pytest.raises(ReadError, match=r"velocity axis \(CTYPE1 = 'VRAD'\) but no rest frequency"):
        read_spectrum(p)
