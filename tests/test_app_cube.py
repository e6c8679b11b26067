"""Cube mode of the app under CPython: a FITS cube opened in the app is kept in the session, the
Map card draws its maps (the numbers of :mod:`cassis_lite.cube`), and a pixel chosen on the map or
by a script becomes the active spectrum, equal to ``Cube.spectrum_at`` on the same file.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.events import Tap

from cassis_lite.app.view import CassisView
from cassis_lite.cube import Cube
from cassis_lite.errors import CassisError
from cube_data import region5_cube, synthetic_ch3cn_cube
from paths import SAMPLES

LIS = "I16293_Synthetic_CO.lis"


def call(v, name, *args):
    return asyncio.run(v.api[name](*args))


@pytest.fixture(scope="module")
def region5():
    path = region5_cube()
    return path, Cube.open(path)


@pytest.fixture
def app(line_db, region5):
    v = CassisView(samples={LIS: (SAMPLES / LIS).read_bytes()})
    v.open_sample(LIS)
    v.layout.get_root(Document())
    v.add_analysis()
    v.load(region5[0].read_bytes(), region5[0].name)
    return v


def test_a_cube_opens_cube_mode_with_the_central_pixel_and_its_mom0(app, region5):
    _, cube = region5
    s, card = app.session, app.cube_card
    assert s.cube is not None and (s.cube.nx, s.cube.ny, s.cube.nchan) == (47, 37, 352)
    assert s.cube_pixel == (23, 18)
    ref = cube.spectrum_at(23, 18)
    np.testing.assert_array_equal(s.spectrum.intensity, ref.intensity)
    assert app.tabs.active == app.cards.index(card)  # the maps come to the front
    image = np.asarray(card.source.data["image"][0], dtype=float)
    np.testing.assert_allclose(image, cube.moments().mom0.astype(np.float32), rtol=0, atol=0, equal_nan=True)
    assert card.marker_source.data == {"x": [23.0], "y": [18.0]}
    # the hover's sky columns are the cube's WCS at each pixel centre
    lon, lat = cube.pixel_to_world(4.0, 7.0)
    assert card.source.data["lon"][0][7, 4] == pytest.approx(float(lon), abs=1e-12)
    assert card.source.data["lat"][0][7, 4] == pytest.approx(float(lat), abs=1e-12)
    assert any("RA, Dec" in label for label, _ in card.hover.tooltips)
    assert call(app, "getState")["cube"]["pixel"] == [23, 18]


def test_a_click_on_the_map_shows_that_pixels_spectrum_in_the_same_view(app, region5):
    _, cube = region5
    card, plot = app.cube_card, app.plot
    model_before = app.session.model_config.to_dict()
    plot.x_range.update(start=88.630, end=88.634)  # the user zoomed
    card.figure._trigger_event(Tap(card.figure, x=6.2, y=9.7))
    assert app.session.cube_pixel == (6, 10)
    ref = cube.spectrum_at(6, 10)
    np.testing.assert_array_equal(app.session.spectrum.intensity, ref.intensity)
    np.testing.assert_array_equal(app.session.spectrum.freq_mhz, ref.freq_mhz)
    drawn = np.asarray(plot.spectrum_source.data["y"], dtype=float)
    np.testing.assert_allclose(drawn[np.isfinite(drawn)], ref.intensity[np.isfinite(ref.intensity)])
    assert (plot.x_range.start, plot.x_range.end) == (88.630, 88.634)  # the view stays
    assert app.session.model_config.to_dict() == model_before  # and the model in force
    assert card.marker_source.data == {"x": [6.0], "y": [10.0]}
    assert "pixel (6, 10) of the 47 x 37 cube" in app.info.object
    assert len(app.session.spectra) == 2  # the cube's entry holds the pixel shown
    # outside the map: said in the card, the spectrum stays
    card.figure._trigger_event(Tap(card.figure, x=60.0, y=2.0))
    assert card.message.visible and "outside the cube" in card.message.object
    assert app.session.cube_pixel == (6, 10)


def test_select_pixel_and_sky_resolve_to_the_spectrum_and_its_sky_position(app, region5):
    _, cube = region5
    r = call(app, "selectPixel", 3, 5)
    ref = cube.spectrum_at(3, 5)
    np.testing.assert_array_equal(r["freq_mhz"], ref.freq_mhz)
    np.testing.assert_array_equal(r["intensity"], ref.intensity)
    assert r["pixel"] == [3, 5]
    ra, dec = cube.pixel_to_world(3.0, 5.0, frame="icrs")
    assert (r["sky"]["ra_deg"], r["sky"]["dec_deg"]) == pytest.approx((float(ra), float(dec)), abs=1e-12)
    assert r["sky"]["frame"] == "galactic"
    # 0.3 pixel away on the sky is still that pixel
    ra2, dec2 = cube.pixel_to_world(3.3, 4.8, frame="icrs")
    assert call(app, "selectSky", float(ra2), float(dec2))["pixel"] == [3, 5]
    for bad in ((47, 0), (-1, 3), (2.5, 1), ("a", 1)):
        with pytest.raises(CassisError):
            call(app, "selectPixel", *bad)
        assert app.cube_card.message.visible
    with pytest.raises(CassisError, match="outside"):
        call(app, "selectSky", float(ra) + 1.0, float(dec))
    assert app.session.cube_pixel == (3, 5)


def test_get_map_returns_the_cube_maps_and_shows_them(app, region5):
    _, cube = region5
    m = cube.moments(-5.0, 12.0)
    for kind, ref in (("MOM0", m.mom0), ("MOM1", m.mom1), ("MOM2", m.mom2), ("PEAK", m.peak)):
        got = call(app, "getMap", kind, {"vmin_kms": -5.0, "vmax_kms": 12.0})
        np.testing.assert_array_equal(np.array(got["data"], dtype=float), ref)
        assert app.cube_card.kind == kind
        np.testing.assert_array_equal(app.cube_card.source.data["image"][0], ref.astype(np.float32))
    assert got["channels"] == list(m.channels) and got["unit"] == "K"
    ch = call(app, "getMap", "CHANNEL", {"channel": 200})
    np.testing.assert_array_equal(np.array(ch["data"], dtype=float), cube.channel(200))
    assert app.cube_card.channel_slider.visible and app.cube_card.channel_slider.value == 200
    for kind, opts in (("FOO", {}), ("MOM0", {"vmin_kms": 100.0, "vmax_kms": 200.0}), ("CHANNEL", {"channel": 352}),
                       ("MOM0", {"speed": 1})):
        with pytest.raises(CassisError):
            call(app, "getMap", kind, opts)
    assert app.cube_card.kind == "CHANNEL" and app.cube_card.channel == 200  # a refused call changes nothing


def test_without_a_cube_the_calls_say_so(line_db):
    v = CassisView(samples={LIS: (SAMPLES / LIS).read_bytes()})
    v.open_sample(LIS)
    v.add_analysis()
    for name, args in (("selectPixel", (1, 1)), ("selectSky", (10.0, 10.0)), ("getMap", ("MOM0",))):
        with pytest.raises(CassisError, match="no cube open"):
            call(v, name, *args)
    assert call(v, "getState")["cube"] is None


def test_closing_the_cube_leaves_cube_mode_and_a_synthetic_cube_has_ra_dec(app, line_db, tmp_path):
    entry = app.session.cube_entry()
    app.session.close(entry)
    assert app.session.cube is None and app.cube_card.source.data["image"] == []
    path = tmp_path / "ch3cn.fits"
    synthetic_ch3cn_cube(path, line_db, ny=5, nx=6)
    app.load(path.read_bytes(), "ch3cn.fits")
    cube = Cube.open(path)
    assert app.session.cube_pixel == (3, 2)
    r = call(app, "selectPixel", 5, 4)
    np.testing.assert_array_equal(r["intensity"], cube.spectrum_at(5, 4).intensity)
    ra, dec = cube.pixel_to_world(5.0, 4.0)
    assert (r["sky"]["ra_deg"], r["sky"]["dec_deg"]) == pytest.approx((float(ra), float(dec)), abs=1e-9)
    assert not any(label.startswith("l, b") for label, _ in app.cube_card.hover.tooltips)
