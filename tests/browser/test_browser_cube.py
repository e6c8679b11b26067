"""Cube mode in Chromium: pyspeckit's Mopra HCN cube opened through the file picker (and by
``?spectrum=URL``) shows its MOM0 map in the Map card; a click on a pixel of the drawn map puts
that pixel's spectrum in the main plot, equal to ``cassis-lite info CUBE --pixel X Y`` on the same
file; the scripting calls answer the same numbers. Screenshots at the three viewports go to
test-artifacts/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import conftest
from cassis_lite.readers import read_spectrum
from conftest import DATA_TO_PAGE, SITE, VIEWPORTS, close_app, new_app, off_origin
from cube_data import region5_cube
from paths import ROOT

CUBE_NAME = "region5_hcn_crop.fits"
DOC = "window.Bokeh.documents[window.Bokeh.documents.length - 1]"
#: window.__redrawn: resolves when the spectrum source next changes and the page drew it, to the
#: ms from the next pointer press (the click) to then
SPECTRUM_REDRAWN = f"""() => {{
  const src = {DOC}.get_model_by_name("spectrum_source");
  let t0 = null;
  window.addEventListener("pointerdown", () => {{ t0 = performance.now(); }}, {{ capture: true, once: true }});
  window.__redrawn = new Promise((resolve) => {{
    const done = () => requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0)));
    src.properties.data.change.connect(done);
  }});
}}"""


def wait_for(fn, timeout=60.0, what="condition"):
    return conftest.wait_for(fn, timeout, what)  # a cube takes longer to open than a spectrum


def finite(values) -> np.ndarray:
    a = np.array([np.nan if v is None else v for v in values], float)
    return a[np.isfinite(a)]


def cli_pixel(path, x, y) -> dict:
    """``cassis-lite info CUBE --pixel X Y --format json``."""
    out = subprocess.run([sys.executable, "-m", "cassis_lite", "info", str(path), "--pixel", str(x), str(y),
                          "--format", "json"], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def cube_path():
    return region5_cube()


def open_cube(app, cube_path):
    app.page.locator("#cl-file").set_input_files(str(cube_path))
    wait_for(lambda: (app.api("getState").get("cube") or {}).get("name") == CUBE_NAME, what="cube mode")
    app.page.locator(".cl-cube-status").first.wait_for(timeout=60_000)
    wait_for(lambda: app.page.evaluate(DATA_TO_PAGE, ["cube_figure", 0, 0]) is not None, what="the map drawn")


def click_pixel(app, x, y):
    app.page.locator(".cl-cube-pixel").first.scroll_into_view_if_needed()
    px, py = app.page.evaluate(DATA_TO_PAGE, ["cube_figure", x, y])
    app.page.mouse.click(px, py)


@pytest.fixture(scope="module")
def app(browser, base_url, cube_path):
    app, context = new_app(browser, base_url)
    open_cube(app, cube_path)
    yield app
    close_app(app, context, base_url)


def test_a_cube_from_the_file_picker_shows_its_mom0_and_the_central_spectrum(app, cube_path):
    from cassis_lite.cube import Cube

    cube = Cube.open(cube_path)
    state = app.api("getState")
    assert state["cube"]["pixel"] == [23, 18] and (state["cube"]["nx"], state["cube"]["ny"]) == (47, 37)
    ref = cube.spectrum_at(23, 18)
    np.testing.assert_allclose(finite(app.bokeh_data("spectrum_source", "y")), ref.intensity[np.isfinite(ref.intensity)],
                               rtol=1e-12)
    image = app.page.evaluate(f"""() => {{ const s = {DOC}.get_model_by_name("cube_map");
        const im = (s.data.get ? s.data.get("image") : s.data["image"])[0]; return [Array.from(im), im.shape || null]; }}""")
    np.testing.assert_array_equal(np.array(image[0], dtype=np.float32),
                                  cube.moments().mom0.astype(np.float32).ravel())
    assert "MOM0 over" in app.text(".cl-cube-status") and "Spectrum shown: pixel (23, 18)" in app.text(".cl-cube-pixel")
    app.screenshot("cube-desktop-1-opened.png")


def test_a_click_on_a_pixel_shows_its_spectrum_equal_to_the_cli(app, cube_path):
    times = []
    for x, y in ((6, 10), (40, 30), (12, 3)):
        app.page.evaluate(SPECTRUM_REDRAWN)
        click_pixel(app, x, y)
        times.append(app.page.evaluate("window.__redrawn"))
        wait_for(lambda: app.api("getState")["cube"]["pixel"] == [x, y], what=f"pixel ({x}, {y})")
        cli = cli_pixel(cube_path, x, y)
        ref = read_spectrum(cube_path, pixel=(x, y)).intensity  # what `info --pixel` describes
        ref = ref[np.isfinite(ref)]
        wait_for(lambda: np.array_equal(finite(app.bokeh_data("spectrum_source", "y")), ref),
                 what="the pixel's spectrum drawn")
        drawn = finite(app.bokeh_data("spectrum_source", "y"))
        assert cli["pixel"] == [x, y] and drawn.size == cli["n_channels"]
        assert (drawn.min(), drawn.max()) == pytest.approx((cli["y_min"], cli["y_max"]), rel=1e-12)
        xs = finite(app.bokeh_data("spectrum_source", "x"))
        assert (xs.min() * 1e3, xs.max() * 1e3) == pytest.approx((cli["freq_min_mhz"], cli["freq_max_mhz"]),
                                                                 rel=1e-12)
        marker = app.bokeh_data("cube_marker", "x"), app.bokeh_data("cube_marker", "y")
        assert marker == ([x], [y])
        assert f"pixel ({x}, {y}) of the 47 x 37 cube" in app.text(".cl-info")
    print(f"click -> redrawn spectrum: {', '.join(f'{t:.0f}' for t in times)} ms")
    assert max(times) < 2000
    app.screenshot("cube-desktop-2-clicked.png")


def test_the_model_and_lines_work_on_the_pixel_spectrum(app):
    config = {"telescope": {"diameter_m": 22.0},
              "components": [{"name": "c1", "tex_k": 10.0, "fwhm_kms": 2.0, "vlsr_kms": -5.0, "size_arcsec": 40.0,
                              "species": [{"species": "HCN", "ntot_cm2": 1e13}]}]}
    model = app.api("setModel", config)
    assert model is not None
    before = app.api("getState")["model"]
    click_pixel(app, 20, 20)
    wait_for(lambda: app.api("getState")["cube"]["pixel"] == [20, 20], what="pixel (20, 20)")
    assert app.api("getState")["model"] == before  # the model stays; it is drawn on the new pixel
    assert len(finite(app.bokeh_data("model_source", "y"))) > 0
    lines = app.api("getLines", {"species": ["HCN"]})
    assert len(lines) >= 1


def test_scripting_select_pixel_sky_and_get_map(app, cube_path):
    from cassis_lite.cube import Cube

    cube = Cube.open(cube_path)
    r = app.api("selectPixel", 3, 5)
    ref = cube.spectrum_at(3, 5)
    np.testing.assert_allclose(r["freq_mhz"], ref.freq_mhz, rtol=1e-15)
    np.testing.assert_allclose(finite(r["intensity"]), ref.intensity[np.isfinite(ref.intensity)], rtol=1e-15)
    ra, dec = cube.pixel_to_world(3.0, 5.0, frame="icrs")
    assert (r["sky"]["ra_deg"], r["sky"]["dec_deg"]) == pytest.approx((float(ra), float(dec)), abs=1e-9)
    ra2, dec2 = cube.pixel_to_world(30.2, 8.9, frame="icrs")
    assert app.api("selectSky", float(ra2), float(dec2))["pixel"] == [30, 9]
    wait_for(lambda: app.bokeh_data("cube_marker", "x") == [30], what="the marker moved")
    m = cube.moments(-5.0, 12.0)
    got = app.api("getMap", "MOM1", {"vmin_kms": -5.0, "vmax_kms": 12.0})
    data = np.array([[np.nan if v is None else v for v in row] for row in got["data"]], dtype=float)
    np.testing.assert_allclose(data, m.mom1, rtol=1e-12, equal_nan=True)
    ch = app.api("getMap", "CHANNEL", {"channel": 150})
    data = np.array([[np.nan if v is None else v for v in row] for row in ch["data"]], dtype=float)
    np.testing.assert_array_equal(data, cube.channel(150))
    app.page.locator(".cl-cube-channel").first.wait_for(state="visible", timeout=30_000)
    app.screenshot("cube-desktop-3-channel.png")
    # errors: rejected with the message, shown in the card
    for method, args, text in (("selectPixel", [47, 0], "outside the cube"), ("getMap", ["FOO"], "unknown map"),
                               ("selectSky", [float(ra) + 2.0, float(dec)], "outside the cube")):
        err = app.page.evaluate(f"""(args) => window.cassisLite.{method}(...args).then(() => null,
                                     (e) => [e.name, e.message, e.userError])""", args)
        assert err is not None and text in err[1] and err[2] is True, err
        assert text in app.text(".cl-card-error >> visible=true")
    app.api("getMap", "MOM0", {})


def test_a_box_dragged_on_the_map_shows_the_region_mean_as_the_cli(app, cube_path):
    page = app.page
    page.locator(".cl-cube-pixel").first.scroll_into_view_if_needed()
    page.locator("[title=\"Drag a box: the region's mean spectrum\"]").first.click()  # the map's box tool
    a = page.evaluate(DATA_TO_PAGE, ["cube_figure", 9.6, 20.4])
    b = page.evaluate(DATA_TO_PAGE, ["cube_figure", 14.2, 17.7])
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move(*b, steps=6)
    page.mouse.up()
    wait_for(lambda: app.api("getState")["cube"]["region"] == [10, 15, 18, 21], what="the region")
    ref = read_spectrum(cube_path, region=(10, 15, 18, 21)).intensity  # `info CUBE --region 10 15 18 21`
    ref = ref[np.isfinite(ref)]
    wait_for(lambda: np.allclose(finite(app.bokeh_data("spectrum_source", "y")), ref, rtol=1e-12),
             what="the region mean drawn")
    out = subprocess.run([sys.executable, "-m", "cassis_lite", "info", str(cube_path), "--region", "10", "15", "18",
                          "21", "--format", "json"], capture_output=True, text=True, check=True, cwd=ROOT)
    cli = json.loads(out.stdout)
    drawn = finite(app.bokeh_data("spectrum_source", "y"))
    assert (drawn.min(), drawn.max()) == pytest.approx((cli["y_min"], cli["y_max"]), rel=1e-12)
    assert "mean of pixels x 10-14, y 18-20 (15 pixels)" in app.text(".cl-info")
    assert app.bokeh_data("cube_marker", "w") == [5] and app.bokeh_data("cube_marker", "h") == [3]
    app.screenshot("cube-desktop-4-region.png")
    page.locator("[title=\"Drag a box: the region's mean spectrum\"]").first.click()  # the tool off again


def test_the_spectrum_follows_the_pointer_when_asked(app, cube_path):
    page = app.page
    follow = page.locator(".cl-cube-follow input").first
    follow.check()
    try:
        times = []
        for x, y in ((15, 20), (30, 12), (22, 25)):
            px, py = page.evaluate(DATA_TO_PAGE, ["cube_figure", x, y])
            page.evaluate(SPECTRUM_REDRAWN.replace('"pointerdown"', '"pointermove"'))
            page.mouse.move(px, py)
            times.append(page.evaluate("Promise.race([window.__redrawn, new Promise((r) => setTimeout(() => r(-1), 30000))])"))
            assert times[-1] >= 0, "no spectrum drawn after the pointer moved"
            wait_for(lambda: app.api("getState")["cube"]["pixel"] == [x, y], what=f"pixel ({x}, {y}) under the pointer")
            ref = read_spectrum(cube_path, pixel=(x, y)).intensity
            wait_for(lambda: np.array_equal(finite(app.bokeh_data("spectrum_source", "y")), ref[np.isfinite(ref)]),
                     what="its spectrum drawn")
        print(f"pointer move -> redrawn spectrum: {', '.join(f'{t:.0f}' for t in times)} ms")
    finally:
        follow.uncheck()


@pytest.mark.parametrize("viewport", ["laptop", "phone"])
def test_cube_from_the_url_at_smaller_viewports(browser, base_url, cube_path, viewport):
    target = SITE / "test-cubes"
    target.mkdir(exist_ok=True)
    shutil.copy(cube_path, target / CUBE_NAME)
    app, context = new_app(browser, base_url, f"index.html?spectrum=test-cubes/{CUBE_NAME}",
                           viewport=VIEWPORTS[viewport])
    try:
        wait_for(lambda: (app.api("getState").get("cube") or {}).get("pixel") == [23, 18], what="cube mode")
        app.page.locator(".cl-cube-status").first.wait_for(timeout=60_000)
        wait_for(lambda: app.page.evaluate(DATA_TO_PAGE, ["cube_figure", 0, 0]) is not None, what="the map")
        fig = app.page.locator(".cl-cube-status").first.bounding_box()
        assert fig["width"] <= VIEWPORTS[viewport][0]
        app.screenshot(f"cube-{viewport}-before-click.png")
        click_pixel(app, 40, 30)
        wait_for(lambda: app.api("getState")["cube"]["pixel"] == [40, 30], what="the clicked pixel")
        app.screenshot(f"cube-{viewport}.png")
        assert not off_origin(app.requests, base_url)
    finally:
        context.close()
        shutil.rmtree(target, ignore_errors=True)


# --------------------------------------------------------------------------- fit maps

FIT_NAMES = ["TEX", "TEX_ERR", "FWHM", "FWHM_ERR", "VLSR", "VLSR_ERR", "NTOT_CH3CN", "NTOT_CH3CN_ERR", "REDCHI2"]
FIT_BLOCK = 2  # 12 blocks of 2 x 2 pixels: time to press Cancel in the middle


def rows(data) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float)


def same_maps(a, b, rel=1e-6) -> bool:
    """Equal blank pixels, values within ``rel`` (WebAssembly's libm differs in the last bits)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and np.array_equal(np.isnan(a), np.isnan(b)) and \
        np.allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=rel, atol=0.0)


@pytest.fixture(scope="module")
def ch3cn_cube(tmp_path_factory, line_db):
    """A 7 x 6 synthetic CH3CN cube, its fit JSON and `cassis-lite cube fit --snr 5 --block 2` maps."""
    from astropy.io import fits

    from cube_data import CH3CN_FIT, synthetic_ch3cn_cube

    d = tmp_path_factory.mktemp("fitmap")
    path = d / "ch3cn_fit.fits"
    synthetic_ch3cn_cube(path, line_db, ny=6, nx=7)
    config = d / "fit.json"
    config.write_text(json.dumps(CH3CN_FIT))
    out = d / "maps.fits"
    subprocess.run([sys.executable, "-m", "cassis_lite", "cube", "fit", str(path), "--config", str(config), "--out",
                    str(out), "--snr", "5", "--block", str(FIT_BLOCK), "--quiet"], check=True, cwd=ROOT,
                   capture_output=True)
    with fits.open(out) as hdul:
        maps = {h.name: np.array(h.data, dtype=float) for h in hdul[1:]}
    return path, CH3CN_FIT, maps


@pytest.fixture(scope="module")
def fit_app(browser, base_url, ch3cn_cube):
    app, context = new_app(browser, base_url)
    app.page.locator("#cl-file").set_input_files(str(ch3cn_cube[0]))
    wait_for(lambda: (app.api("getState").get("cube") or {}).get("name") == ch3cn_cube[0].name, what="cube mode")
    yield app
    close_app(app, context, base_url)


def fitmap_status(app) -> str:
    return app.text(".cl-fitmap-status")


def test_fit_map_through_the_ui_progress_cancel_then_to_the_end_and_export(fit_app, ch3cn_cube, tmp_path):
    from astropy.io import fits
    from astropy.wcs import WCS

    app, (path, config, cli) = fit_app, ch3cn_cube
    page = app.page
    # the fit configuration typed into the Fit card's JSON box
    app.open_tab("Fit")
    box = page.get_by_label("Fit configuration (cassis-lite fit JSON; edit for more)")
    box.fill(json.dumps(config, indent=1))
    box.evaluate("(el) => el.blur()")
    wait_for(lambda: "CH3CN" in app.text(".cl-fit-params"), what="the Fit card took the JSON")
    app.open_tab("Map")
    for label, value in (("S/N at least", "5"), ("block (pixels)", str(FIT_BLOCK))):
        field = page.get_by_label(label)
        field.fill(value)
        field.press("Enter")
    page.get_by_role("button", name="Fit map").click()
    wait_for(lambda: "pixels done" in fitmap_status(app), what="the first block")
    progress = page.locator(".cl-fitmap-progress progress").first
    assert 0 < int(progress.get_attribute("value")) < 42 and progress.get_attribute("max") == "42"
    app.screenshot("cube-fitmap-1-running.png")
    page.get_by_role("button", name="Cancel").click()
    wait_for(lambda: "cancelled after" in fitmap_status(app), what="the fit cancelled")
    partial = app.api("getMap", "TEX")
    assert partial["complete"] is False
    tex = rows(partial["data"])
    done = np.isfinite(tex)
    assert 0 < done.sum() < np.isfinite(cli["TEX"]).sum()  # stopped in the middle, blank beyond
    assert same_maps(tex[done], cli["TEX"][done])
    app.screenshot("cube-fitmap-2-cancelled.png")
    # again, to the end
    page.get_by_role("button", name="Fit map").click()
    wait_for(lambda: "Fit map done" in fitmap_status(app), timeout=180, what="the whole fit map")
    assert "38 of 42 pixels fitted" in fitmap_status(app)
    # the selector offers every map; choose VLSR then TEX as a person would
    select = page.get_by_label("map", exact=True)
    options = select.evaluate("(el) => Array.from(el.options).map((o) => o.value)")
    assert options == ["MOM0", "MOM1", "MOM2", "PEAK", "CHANNEL"] + FIT_NAMES
    for name in ("VLSR", "TEX"):
        select.select_option(name)
        wait_for(lambda: app.api("getState") and f"{name} of the fit map" in app.text(".cl-cube-status"),
                 what=f"the {name} map")
        image = page.evaluate(f"""() => {{ const s = {DOC}.get_model_by_name("cube_map");
            const im = (s.data.get ? s.data.get("image") : s.data["image"])[0]; return Array.from(im); }}""")
        drawn = np.array([np.nan if v is None else v for v in image], dtype=float).reshape(6, 7)
        assert same_maps(drawn, cli[name].astype(np.float32), rel=1e-6), name
    app.screenshot("cube-fitmap-3-tex.png")
    # the FITS export: one HDU per map, the cube's celestial WCS, the CLI's numbers
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Export the maps (FITS)").click()
    assert info.value.suggested_filename == "ch3cn_fit_fitmaps.fits"
    with fits.open(info.value.path()) as hdul:
        assert [h.name for h in hdul[1:]] == FIT_NAMES
        cube_wcs = WCS(fits.getheader(path)).celestial
        for h in hdul[1:]:
            assert same_maps(h.data, cli[h.name]), h.name
            np.testing.assert_allclose(WCS(h.header).wcs_pix2world([0, 6], [0, 5], 0),
                                       cube_wcs.wcs_pix2world([0, 6], [0, 5], 0), atol=1e-10)
        assert hdul["NTOT_CH3CN"].header["BUNIT"] == "cm-2" and hdul["TEX"].header["SNRCUT"] == 5.0


def test_fit_cube_scripting_equals_the_cli(fit_app, ch3cn_cube):
    app, (_, config, cli) = fit_app, ch3cn_cube
    r = app.api("fitCube", config, {"snr": 5, "block": FIT_BLOCK})
    assert list(r["maps"]) == FIT_NAMES and r["complete"] and r["n_fitted"] == 38 and r["n_pixels"] == 42
    for name in FIT_NAMES:
        assert same_maps(rows(r["maps"][name]), cli[name]), name
    print(f"browser fitCube (7 x 6 CH3CN, block {FIT_BLOCK}): {r['n_fitted'] / r['seconds']:.1f} pixels/s fitted")
    err = app.page.evaluate("""() => window.cassisLite.fitCube(null, {snr: -1}).then(() => null,
                                   (e) => [e.message, e.userError])""")
    assert err is not None and "snr must be a number" in err[0] and err[1] is True
    # a scripted fit does not hold the page's messages: Cancel, clicked while it runs, stops it
    app.page.evaluate("""([config, block]) => { window.__fit = window.cassisLite.fitCube(config, {snr: 5, block}); }""",
                      [config, 1])
    wait_for(lambda: "pixels done" in fitmap_status(app), what="the scripted fit running")
    app.page.get_by_role("button", name="Cancel").click()
    r = app.page.evaluate("window.__fit")
    assert r["complete"] is False and 0 < r["blocks_done"] < r["blocks_total"] == 42
    assert "cancelled after" in fitmap_status(app)
