"""Cube mode of the app under CPython: a FITS cube opened in the app is kept in the session, the
Map card draws its maps (the numbers of :mod:`cassis_lite.cube`), and a pixel chosen on the map or
by a script becomes the active spectrum, equal to ``Cube.spectrum_at`` on the same file.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from bokeh.events import MouseMove, SelectionGeometry, Tap

from app_view import booted_view
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
    v = booted_view()
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
    assert card.marker_source.data == {"x": [23.0], "y": [18.0], "w": [1.0], "h": [1.0]}
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
    assert card.marker_source.data == {"x": [6.0], "y": [10.0], "w": [1.0], "h": [1.0]}
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


# --------------------------------------------------------------------------- fit maps

FIT_NAMES = ["TEX", "TEX_ERR", "FWHM", "FWHM_ERR", "VLSR", "VLSR_ERR", "NTOT_CH3CN", "NTOT_CH3CN_ERR", "REDCHI2"]


@pytest.fixture(scope="module")
def ch3cn(tmp_path_factory, line_db):
    """A 7 x 6 synthetic CH3CN cube, its fit JSON, and what `cassis-lite cube fit --snr 5 --block 4` writes."""
    import json

    from cassis_lite.cli import main
    from cube_data import CH3CN_FIT

    d = tmp_path_factory.mktemp("fitmap")
    path = d / "ch3cn.fits"
    synthetic_ch3cn_cube(path, line_db, ny=6, nx=7)
    config = d / "fit.json"
    config.write_text(json.dumps(CH3CN_FIT))
    out = d / "maps.fits"
    assert main(["cube", "fit", str(path), "--config", str(config), "--out", str(out), "--snr", "5", "--block", "4",
                 "--quiet"]) == 0
    return path, CH3CN_FIT, out.read_bytes()


@pytest.fixture
def fit_app(line_db, ch3cn):
    import json

    v = booted_view()
    v.load(ch3cn[0].read_bytes(), ch3cn[0].name)
    fit_card = next(c for c in v.cards if c.title == "Fit")
    fit_card.config_text = json.dumps(ch3cn[1], indent=1)  # typed into the Fit card's JSON box
    v.cube_card.fitmap.param.update(snr=5.0, block=4)
    return v


async def press_and_wait(runner, until=None):
    """Press Fit map as a person would; wait (yielding to the loop) until ``until()`` or the end."""
    runner.fit_button.clicks += 1
    for _ in range(200000):
        await asyncio.sleep(0)
        if until is not None and until():
            return
        if not runner.running and runner.maps is not None and (runner.maps.complete or runner.maps.blocks_done):
            if until is None:
                return
    raise AssertionError("the fit map did not finish")


def fits_maps(data: bytes) -> dict:
    import io

    from astropy.io import fits

    with fits.open(io.BytesIO(data)) as hdul:
        return {h.name: (np.array(h.data), dict(h.header)) for h in hdul[1:]}


def test_fit_map_button_fills_the_maps_the_cli_writes(fit_app, ch3cn):
    card, runner = fit_app.cube_card, fit_app.cube_card.fitmap
    asyncio.run(press_and_wait(runner))
    assert not card.message.visible, card.message.object
    m = runner.maps
    assert m.complete and m.blocks_total == 4 and list(m.arrays) == FIT_NAMES
    assert runner.progress.value == runner.progress.max == 42 and runner.pixels_done == 42
    assert card.kind_select.options == ["MOM0", "MOM1", "MOM2", "PEAK", "CHANNEL"] + FIT_NAMES
    assert card.kind == "TEX"  # the first map is shown while it fills in
    cli = fits_maps(ch3cn[2])
    assert list(cli) == FIT_NAMES
    for name in FIT_NAMES:
        np.testing.assert_array_equal(m.arrays[name], cli[name][0])  # same code, same process: equal
    np.testing.assert_array_equal(card.source.data["image"][0], cli["TEX"][0].astype(np.float32))
    assert np.isnan(m.arrays["TEX"][:2, :2]).all() and m.n_fitted == 38
    # the export is the CLI's file, byte for byte (one HDU per map, the cube's celestial WCS)
    assert runner.download.filename == "ch3cn_fitmaps.fits" and not runner.download.disabled
    assert runner._fits_file().getvalue() == ch3cn[2]
    assert "38 of 42 pixels fitted" in runner.status.object and "in " in runner.status.object
    # another map of the selector; its unit on the colour bar
    card.kind = "NTOT_CH3CN"
    np.testing.assert_array_equal(card.source.data["image"][0], cli["NTOT_CH3CN"][0].astype(np.float32))
    assert card.colorbar.title == "cm-2"
    got = call(fit_app, "getMap", "VLSR_ERR")
    np.testing.assert_array_equal(np.array(got["data"], dtype=float), cli["VLSR_ERR"][0])
    assert got["unit"] == "km/s" and got["n_fitted"] == 38


def test_cancel_stops_at_the_next_block_and_keeps_the_maps_done(fit_app, ch3cn, line_db):
    from cassis_lite.cube import CubeFitter

    card, runner = fit_app.cube_card, fit_app.cube_card.fitmap
    runner.block = 2  # 12 blocks of 2 x 2

    async def go():
        await press_and_wait(runner, until=lambda: runner.maps is not None and runner.maps.blocks_done >= 2)
        assert runner.running and runner.fit_button.disabled and not runner.cancel_button.disabled
        assert runner.download.disabled
        runner.cancel_button.clicks += 1
        while runner.running:
            await asyncio.sleep(0)
    asyncio.run(go())
    m = runner.maps
    assert 2 <= m.blocks_done < m.blocks_total == 12 and not m.complete
    assert "cancelled after" in runner.status.object and not runner.download.disabled
    fitter = CubeFitter(Cube.open(ch3cn[0]), ch3cn[1], line_db, snr=5.0, block=2)
    for i, box in enumerate(fitter.blocks):
        y0, y1, x0, x1 = box
        if i < m.blocks_done:
            ref = fitter.fit_block(box).maps["TEX"]
            np.testing.assert_array_equal(m.arrays["TEX"][y0:y1, x0:x1], ref)
        else:
            assert np.isnan(m.arrays["TEX"][y0:y1, x0:x1]).all()  # blank where not fitted
    assert runner.progress.value == sum((b[1] - b[0]) * (b[3] - b[2]) for b in fitter.blocks[:m.blocks_done])
    assert "stopped" in card.status.object
    # run again to the end
    asyncio.run(press_and_wait(runner))
    assert runner.maps.complete and runner.progress.value == 42


def test_fit_cube_resolves_to_the_maps_and_refuses_bad_calls(fit_app, ch3cn):
    card = fit_app.cube_card
    r = call(fit_app, "fitCube", ch3cn[1], {"snr": 5, "block": 4})
    cli = fits_maps(ch3cn[2])
    assert list(r["maps"]) == FIT_NAMES and r["complete"] and r["n_fitted"] == 38 and r["n_pixels"] == 42
    for name in FIT_NAMES:
        np.testing.assert_array_equal(np.array(r["maps"][name], dtype=float), cli[name][0])
    assert r["seconds"] > 0 and r["units"]["TEX"] == "K" and (r["nx"], r["ny"]) == (7, 6)
    # without a configuration: the Fit card's (the same JSON here)
    r2 = call(fit_app, "fitCube", None, {"snr": 5, "block": 4})
    np.testing.assert_array_equal(np.array(r2["maps"]["TEX"], dtype=float), cli["TEX"][0])
    for config, options, text in ((ch3cn[1], {"speed": 2}, "unknown fitCube option"),
                                  (ch3cn[1], {"snr": "high"}, "snr must be a number"),
                                  (ch3cn[1], {"block": 0}, "block must be a positive integer"),
                                  ("nope", {}, "fit configuration"),
                                  ({"components": [dict(ch3cn[1]["components"][0], species=[
                                      {"species": "CO", "ntot_cm2": 1e16}])], "fit": ch3cn[1]["fit"]}, {},
                                   "no channel|no line|free parameter")):
        with pytest.raises(CassisError, match=text):
            call(fit_app, "fitCube", config, options)
    assert card.message.visible and not card.fitmap.running
    # a bad Fit-card JSON: the button says so in the card
    next(c for c in fit_app.cards if c.title == "Fit").config_text = "{not json"

    async def press():
        card.fitmap.fit_button.clicks += 1
        for _ in range(10):
            await asyncio.sleep(0)
    asyncio.run(press())
    assert card.message.visible and "not valid JSON" in card.message.object


def test_a_new_cube_drops_the_fit_maps(fit_app, region5):
    call(fit_app, "fitCube", None, {"snr": 5, "block": 4})
    assert "TEX" in fit_app.cube_card.kind_select.options
    fit_app.load(region5[0].read_bytes(), region5[0].name)
    card = fit_app.cube_card
    assert card.kind == "MOM0" and card.kind_select.options == list(("MOM0", "MOM1", "MOM2", "PEAK", "CHANNEL"))
    assert card.fitmap.maps is None and card.fitmap.download.disabled
    with pytest.raises(CassisError, match="unknown map"):
        call(fit_app, "getMap", "TEX")


# --------------------------------------------------------------------------- region and pointer

def test_a_box_dragged_on_the_map_shows_the_region_mean(app, region5):
    _, cube = region5
    card, plot = app.cube_card, app.plot
    geometry = {"type": "rect", "x0": 9.6, "x1": 14.2, "y0": 20.4, "y1": 17.7}  # dragged up and left
    card.figure._trigger_event(SelectionGeometry(card.figure, geometry=geometry, final=False))
    assert app.session.cube_region is None  # not before the drag ends
    card.figure._trigger_event(SelectionGeometry(card.figure, geometry=geometry, final=True))
    assert app.session.cube_region == (10, 15, 18, 21) and app.session.cube_pixel is None
    # the mean of the 5 x 3 pixels' spectra, NaN channels left out (an independent NumPy mean)
    spectra = []
    for y in range(18, 21):
        for x in range(10, 15):
            try:
                spectra.append(cube.spectrum_at(x, y).intensity)
            except CassisError:  # a blank pixel (all NaN) adds nothing to the mean
                pass
    ref = np.nanmean(np.stack(spectra), axis=0)
    np.testing.assert_allclose(app.session.spectrum.intensity, ref, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(app.session.spectrum.intensity, cube.region_mean(10, 15, 18, 21).intensity)
    drawn = np.asarray(plot.spectrum_source.data["y"], dtype=float)
    np.testing.assert_allclose(drawn[np.isfinite(drawn)], ref[np.isfinite(ref)], rtol=1e-12)
    assert card.marker_source.data == {"x": [12.0], "y": [19.0], "w": [5.0], "h": [3.0]}
    assert "mean of pixels x 10-14, y 18-20 (15 pixels)" in app.info.object
    assert "mean of pixels x 10-14, y 18-20" in card.pixel_info.object
    assert call(app, "getState")["cube"]["region"] == [10, 15, 18, 21]
    # partly outside: clipped; wholly outside: said
    card.figure._trigger_event(SelectionGeometry(card.figure, geometry={"type": "rect", "x0": 44.0, "x1": 60.0,
                                                                        "y0": 30.0, "y1": 41.2}, final=True))
    assert app.session.cube_region == (44, 47, 30, 37)
    card.figure._trigger_event(SelectionGeometry(card.figure, geometry={"type": "rect", "x0": 50.0, "x1": 60.0,
                                                                        "y0": 1.0, "y1": 3.0}, final=True))
    assert card.message.visible and "no pixel centre" in card.message.object
    card.figure._trigger_event(SelectionGeometry(card.figure, geometry={"type": "rect", "x0": 40.0, "x1": 46.0,
                                                                        "y0": 0.0, "y1": 2.0}, final=True))
    assert card.message.visible and "no finite value" in card.message.object  # blank pixels only
    assert app.session.cube_region == (44, 47, 30, 37)
    # scripting; a click goes back to one pixel
    r = call(app, "selectRegion", 40, 46, 3, 5)
    np.testing.assert_array_equal(r["intensity"], cube.region_mean(40, 46, 3, 5).intensity)
    for bad in ((0, 48, 0, 2), (3, 3, 0, 2), (0.5, 2, 0, 2)):
        with pytest.raises(CassisError, match="region"):
            call(app, "selectRegion", *bad)
    card.figure._trigger_event(Tap(card.figure, x=6.0, y=10.0))
    assert app.session.cube_pixel == (6, 10) and app.session.cube_region is None
    assert card.marker_source.data["w"] == [1.0]


def test_the_spectrum_follows_the_pointer_throttled(app, region5):
    _, cube = region5
    card = app.cube_card

    def move(x, y):
        card.figure._trigger_event(MouseMove(card.figure, x=x, y=y))

    move(3.0, 4.0)
    assert app.session.cube_pixel == (23, 18)  # off unless asked for
    card.follow.value = True

    async def sweep():
        card._hover_last = 0.0
        move(3.1, 4.2)  # the first move is shown at once
        assert app.session.cube_pixel == (3, 4)
        for x in range(4, 12):  # then at most one every HOVER_S, the last position wins
            move(float(x), 4.0)
        assert app.session.cube_pixel == (3, 4)
        await asyncio.sleep(0.25)
        assert app.session.cube_pixel == (11, 4)
    asyncio.run(sweep())
    np.testing.assert_array_equal(app.session.spectrum.intensity, cube.spectrum_at(11, 4).intensity)
    move(80.0, 4.0)  # off the map: nothing
    assert app.session.cube_pixel == (11, 4)
