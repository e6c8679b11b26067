"""The sky view's calls of the Map card under CPython: ``getMapFits`` is ``getMap`` as a FITS
image that astropy reads back with the cube's celestial WCS (the map Aladin Lite draws), and
``getPixel`` names the pixel shown and its sky position (the marker)."""

from __future__ import annotations

import asyncio
import base64
import io

import numpy as np
import pytest

from app_view import booted_view
from cassis_lite.cube import Cube
from cassis_lite.errors import CassisError
from cube_data import region5_cube


def call(v, name, *args):
    return asyncio.run(v.api[name](*args))


@pytest.fixture(scope="module")
def region5():
    path = region5_cube()
    return path, Cube.open(path)


@pytest.fixture
def app(line_db):
    return booted_view()


def test_without_a_cube(app):
    assert call(app, "getPixel") is None
    with pytest.raises(CassisError, match="no cube open"):
        call(app, "getMapFits", "MOM0")


def test_map_fits_is_the_map_with_the_cube_wcs(app, region5):
    from astropy.io import fits
    from astropy.wcs import WCS

    path, cube = region5
    app.load(path.read_bytes(), path.name)
    for kind, options, ref in (("MOM0", {}, cube.moments().mom0),
                               ("MOM1", {"vmin_kms": -5.0, "vmax_kms": 12.0}, cube.moments(-5.0, 12.0).mom1),
                               ("CHANNEL", {"channel": 150}, cube.channel(150))):
        got = call(app, "getMapFits", kind, options)
        assert "data" not in got and got["kind"] == kind and got["frame"] == "galactic"
        with fits.open(io.BytesIO(base64.b64decode(got["fits_base64"]))) as hdul:
            hdu = hdul[0]  # the primary image: what Aladin Lite shows
            assert hdu.header["EXTNAME"] == kind and hdu.data.shape == (37, 47)
            np.testing.assert_array_equal(hdu.data, ref)
            assert hdu.header.get("BUNIT", "") == got["unit"]
            sky = WCS(hdu.header).pixel_to_world(7, 30)
        cube_wcs = WCS(fits.getheader(path)).celestial.pixel_to_world(7, 30)
        assert sky.separation(cube_wcs).deg < 1e-9
        assert app.cube_card.kind == kind  # the card shows what the script asked for
    with pytest.raises(CassisError, match="unknown map"):
        call(app, "getMapFits", "FOO")


def test_get_pixel_follows_the_pixel_shown(app, region5):
    path, cube = region5
    app.load(path.read_bytes(), path.name)
    assert call(app, "getPixel")["pixel"] == [23, 18]
    call(app, "selectPixel", 12, 3)
    p = call(app, "getPixel")
    ra, dec = cube.pixel_to_world(12.0, 3.0, frame="icrs")
    assert p["pixel"] == [12, 3] and p["name"] == path.name
    assert (p["sky"]["ra_deg"], p["sky"]["dec_deg"]) == pytest.approx((float(ra), float(dec)), abs=1e-12)
