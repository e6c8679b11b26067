"""``cassis-lite cube info|moments|fit``: outputs read back with astropy, errors as one line."""

import json

import numpy as np
import pytest

from cassis_lite.cli import main
from cube_data import CH3CN_FIT, region5_cube, synthetic_ch3cn_cube

fits = pytest.importorskip("astropy.io.fits")
astropy_wcs = pytest.importorskip("astropy.wcs")


def test_info_json(capsys):
    assert main(["cube", "info", str(region5_cube()), "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["nx"], info["ny"], info["nchan"]) == (47, 37, 352)
    assert info["frame"] == "galactic" and info["projection"] == "SIN" and info["y_unit"] == "K"
    assert info["rest_freq_mhz"] == pytest.approx(88631.8473)
    assert info["pixel_arcsec"] == pytest.approx([12.0, 12.0], rel=1e-6)


def test_moments_with_species_and_line(tmp_path, capsys, line_db):
    out = tmp_path / "m.fits"
    assert main(["cube", "moments", str(region5_cube()), "--vmin", "-12", "--vmax", "2", "--species", "HCN",
                 "--out", str(out)]) == 0
    assert "MOM0 [K km/s]" in capsys.readouterr().out
    with fits.open(out) as hdul:
        assert [h.name for h in hdul[1:]] == ["MOM0", "MOM1", "MOM2", "PEAK"]
        # the database's HCN 1-0 (88631.6022 MHz, LAMDA) is the rest frequency
        assert hdul["MOM1"].header["RESTFRQ"] == pytest.approx(88631.6022e6)
        mom0 = hdul["MOM0"].data
    out2 = tmp_path / "m2.fits"
    assert main(["cube", "moments", str(region5_cube()), "--vmin", "-12", "--vmax", "2", "--line", "88631.6022",
                 "--out", str(out2)]) == 0
    with fits.open(out2) as hdul:
        assert np.array_equal(hdul["MOM0"].data, mom0, equal_nan=True)


def test_fit_writes_every_map_with_the_wcs(tmp_path, capsys, line_db):
    cube = tmp_path / "c.fits"
    synthetic_ch3cn_cube(cube, line_db, ny=5, nx=6)
    config = tmp_path / "fit.json"
    config.write_text(json.dumps(CH3CN_FIT))
    out = tmp_path / "maps.fits"
    assert main(["cube", "fit", str(cube), "--config", str(config), "--out", str(out), "--snr", "5"]) == 0
    captured = capsys.readouterr()
    assert "26 of 30 pixels fitted" in captured.out and "peak memory" in captured.err
    with fits.open(out) as hdul:
        names = [h.name for h in hdul[1:]]
        assert names == ["TEX", "TEX_ERR", "FWHM", "FWHM_ERR", "VLSR", "VLSR_ERR", "NTOT_CH3CN", "NTOT_CH3CN_ERR",
                         "REDCHI2"]
        assert hdul["NTOT_CH3CN"].header["BUNIT"] == "cm-2" and hdul["VLSR_ERR"].header["BUNIT"] == "km/s"
        assert np.isnan(hdul["TEX"].data[:2, :2]).all() and np.isfinite(hdul["TEX"].data[2:, 2:]).all()
        cube_wcs = astropy_wcs.WCS(fits.getheader(cube)).celestial
        map_wcs = astropy_wcs.WCS(hdul["TEX"].header)
        np.testing.assert_allclose(map_wcs.wcs_pix2world([0, 5], [0, 4], 0), cube_wcs.wcs_pix2world([0, 5], [0, 4], 0),
                                   atol=1e-10)


@pytest.mark.parametrize("argv, message", [
    (["cube", "info", "MISSING.fits"], "MISSING.fits: no such file"),
    (["cube", "moments", "REGION5", "--vmin", "400", "--vmax", "500", "--out", "OUT"], "no channel between 400 and 500"),
    (["cube", "moments", "REGION5", "--species", "CO", "--out", "OUT"], "CO has no transition in the cube's band"),
    (["cube", "fit", "REGION5", "--config", "BAD", "--out", "OUT"], "is not valid JSON"),
])
def test_errors_are_one_line(tmp_path, capsys, argv, message, line_db):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    argv = [{"REGION5": str(region5_cube()), "OUT": str(tmp_path / "o.fits"), "BAD": str(bad),
             "MISSING.fits": str(tmp_path / "MISSING.fits")}.get(a, a) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("cassis-lite: error: ") and message in err and "Traceback" not in err
