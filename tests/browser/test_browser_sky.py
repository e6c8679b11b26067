"""The sky view (sky.html) in Chromium: Aladin Lite beside CASSIS lite, on pyspeckit's Mopra HCN
cube (galactic SIN WCS) opened by ``sky.html?cube=URL``.

The sky positions come from astropy (an independent WCS): a click in the Aladin canvas where
Aladin draws the centre of pixel (x, y) must put that pixel's spectrum in the app, equal to
``cassis-lite info CUBE --pixel X Y`` and to the reader on the same file; the marker is checked on
the canvas Aladin draws it on. No request leaves the origin (Aladin's logger and surveys
included) and the page's policy is never violated. Screenshots at the three viewports go to
test-artifacts/sky-*.png.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from urllib.parse import quote

import numpy as np
import pytest

import conftest
from cassis_lite.readers import read_spectrum
from conftest import DATA_TO_PAGE, SITE, VIEWPORTS, AppPage, off_origin
from cube_data import region5_cube
from paths import ROOT

CUBE_NAME = "region5_hcn_crop.fits"
CUBE_URL = f"test-sky/{CUBE_NAME}"
SKY_BOOT_MS = 240_000
MARKER_RGB = (0xE0, 0x24, 0x5E)
#: every CSP violation of every frame, recorded from the first script on
CSP_RECORDER = """window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""
#: pixels of the marker's colour on Aladin's catalogue canvas around page position (x, y) of the div
MARKER_PIXELS = """([x, y]) => {
  const c = window.cassisSky.aladin.view.catalogCanvas;
  const k = c.width / c.getBoundingClientRect().width;
  const r = (v) => Math.round(v * k);
  const d = c.getContext("2d").getImageData(r(x - 14), r(y - 14), r(28), r(28)).data;
  const near = (i, v) => Math.abs(d[i] - v) < 40;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (near(i, %d) && near(i + 1, %d) && near(i + 2, %d) && d[i + 3] > 128) n++;
  return n;
}""" % MARKER_RGB


def cli_pixel(path, x, y) -> dict:
    """``cassis-lite info CUBE --pixel X Y --format json``."""
    out = subprocess.run([sys.executable, "-m", "cassis_lite", "info", str(path), "--pixel", str(x), str(y),
                          "--format", "json"], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout)


def wait_for(fn, timeout=90.0, what="condition"):
    return conftest.wait_for(fn, timeout, what)


def finite(values) -> np.ndarray:
    a = np.array([np.nan if v is None else v for v in values], float)
    return a[np.isfinite(a)]


class SkyPage(AppPage):
    """sky.html with the request log, console errors and CSP violations of its frames."""

    def goto(self, path=""):
        self.page.goto(self.base + path)
        self.page.wait_for_function("() => document.documentElement.dataset.skyState !== 'loading'",
                                    timeout=SKY_BOOT_MS)
        return self.page.evaluate("document.documentElement.dataset.skyState")

    @property
    def app_frame(self):
        return next(f for f in self.page.frames if re.search(r"/index\.html", f.url))

    def spectrum_y(self) -> np.ndarray:
        return finite(self.app_frame.evaluate("""() => { const d = window.Bokeh.documents;
            const s = d[d.length - 1].get_model_by_name("spectrum_source");
            return Array.from(s.data.get ? s.data.get("y") : s.data["y"]); }"""))

    def status(self) -> str:
        return self.page.locator("#sky-status").inner_text()

    def csp_violations(self) -> list[str]:
        return [v for f in self.page.frames for v in f.evaluate("window.__csp || []")]

    def to_canvas(self, ra, dec) -> tuple[float, float]:
        """Position in the Aladin div of (RA, Dec) as Aladin draws it now."""
        xy = self.page.evaluate("([ra, dec]) => window.cassisSky.aladin.world2pix(ra, dec)", [ra, dec])
        assert xy is not None, (ra, dec)
        return xy

    def marker_at(self, ra, dec) -> bool:
        """The marker is one source at (RA, Dec), within 1e-9 deg."""
        m = self.page.evaluate("window.cassisSky.marker()")
        return len(m) == 1 and abs(m[0][0] - ra) < 1e-9 and abs(m[0][1] - dec) < 1e-9

    def click_sky(self, ra, dec) -> None:
        x, y = self.to_canvas(ra, dec)
        box = self.page.locator("#sky-aladin").bounding_box()
        self.page.mouse.click(box["x"] + x, box["y"] + y)

    def check_clean(self, base_url) -> None:
        assert not off_origin(self.requests, base_url), off_origin(self.requests, base_url)[:5]
        assert not self.csp_violations(), self.csp_violations()[:5]
        errors = [e for e in self.errors if "Dropping a patch" in e or "Content Security Policy" in e
                  or "Refused" in e or "Uncaught" in e]
        assert not errors, errors[:5]


def open_sky(browser, base_url, path, viewport="desktop") -> tuple[SkyPage, object]:
    w, h = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": w, "height": h})
    context.add_init_script(CSP_RECORDER)
    sky = SkyPage(context.new_page(), base_url)
    sky.state = sky.goto(path)
    return sky, context


@pytest.fixture(scope="module")
def cube_path(site_dir):
    path = region5_cube()
    target = SITE / "test-sky"
    target.mkdir(exist_ok=True)
    shutil.copy(path, target / CUBE_NAME)
    yield path
    shutil.rmtree(target, ignore_errors=True)


@pytest.fixture(scope="module")
def wcs(cube_path):
    """astropy's celestial WCS of the cube and a pixel -> ICRS (RA, Dec) function."""
    from astropy.coordinates import SkyCoord
    from astropy.io import fits
    from astropy.wcs import WCS

    w = WCS(fits.getheader(cube_path)).celestial

    def icrs(x, y):
        c = w.pixel_to_world(x, y).icrs  # origin 0, as CASSIS lite's pixels
        assert isinstance(c, SkyCoord)
        return float(c.ra.deg), float(c.dec.deg)
    return icrs


@pytest.fixture(scope="module")
def positions(wcs):
    return [(*wcs(8, 5), "A1"), (*wcs(35, 27), "<b>x</b>")]


@pytest.fixture(scope="module")
def sky(browser, base_url, cube_path, positions):
    pos = ";".join(f"{ra:.7f},{dec:.7f},{name}" for ra, dec, name in positions)
    page, context = open_sky(browser, base_url, f"sky.html?cube={quote(CUBE_URL)}&positions={quote(pos)}")
    yield page
    page.check_clean(base_url)
    context.close()


def test_the_cube_opens_in_both_panes(sky, cube_path, wcs):
    assert sky.state == "ready", sky.status()
    state = sky.page.evaluate("window.cassisLite.getState()")  # the app's, through the page's proxy
    assert state["cube"]["name"] == CUBE_NAME and state["cube"]["pixel"] == [23, 18]
    assert CUBE_NAME in sky.status() and "Pixel (23, 18)" in sky.status()
    sky_map = sky.page.evaluate("window.cassisSky.map")
    assert sky_map == {"kind": "MOM0", "unit": "K km/s", "nx": 47, "ny": 37, "frame": "galactic"}
    assert sky.page.evaluate("window.cassisSky.aladin.getOverlayImageLayer('cassis-map').added") is True
    # the marker on the central pixel, where astropy puts it
    (ra, dec), = sky.page.evaluate("window.cassisSky.marker()")
    assert (ra, dec) == pytest.approx(wcs(23, 18), abs=1e-9)
    wait_for(lambda: sky.page.evaluate(MARKER_PIXELS, sky.to_canvas(ra, dec)) > 20, what="the marker drawn")
    ref = read_spectrum(cube_path, pixel=(23, 18)).intensity
    np.testing.assert_array_equal(sky.spectrum_y(), ref[np.isfinite(ref)])
    sky.screenshot("sky-desktop-1-opened.png")


def test_a_click_in_aladin_gives_the_spectrum_of_the_cli(sky, cube_path, wcs):
    for x, y in ((6, 10), (40, 30), (30, 9)):
        ra, dec = wcs(x, y)
        sky.click_sky(ra, dec)
        wait_for(lambda: sky.page.evaluate("window.cassisLite.getState()")["cube"]["pixel"] == [x, y],
                 what=f"pixel ({x}, {y}) from a click on the sky")
        cli = cli_pixel(cube_path, x, y)
        ref = read_spectrum(cube_path, pixel=(x, y)).intensity  # what `info --pixel` describes
        ref = ref[np.isfinite(ref)]
        wait_for(lambda: np.array_equal(sky.spectrum_y(), ref), what="the pixel's spectrum drawn in the app")
        drawn = sky.spectrum_y()
        assert cli["pixel"] == [x, y] and drawn.size == cli["n_channels"]
        assert (drawn.min(), drawn.max()) == pytest.approx((cli["y_min"], cli["y_max"]), rel=1e-12)
        assert sky.page.evaluate("window.cassisSky.last.pixel") == [x, y]
        assert f"Pixel ({x}, {y})" in sky.status()
        (mra, mdec), = sky.page.evaluate("window.cassisSky.marker()")
        assert (mra, mdec) == pytest.approx((ra, dec), abs=1e-9)  # the pixel's centre
        wait_for(lambda: sky.page.evaluate(MARKER_PIXELS, sky.to_canvas(ra, dec)) > 20, what="the marker moved")
    sky.screenshot("sky-desktop-2-clicked.png")
    # outside the cube: a message, the spectrum stays
    ra, dec = wcs(-2, 18)
    sky.click_sky(ra, dec)
    wait_for(lambda: "outside the cube" in sky.status(), what="the message")
    assert sky.page.evaluate("window.cassisLite.getState()")["cube"]["pixel"] == [30, 9]


def test_a_pixel_chosen_on_the_apps_map_moves_the_marker(sky, wcs):
    frame = sky.app_frame
    # a person clicks pixel (12, 3) of the app's own map (Bokeh, in the iframe)
    wait_for(lambda: frame.evaluate(DATA_TO_PAGE, ["cube_figure", 12, 3]), what="the app's map")
    frame.locator(".cl-cube-pixel").first.scroll_into_view_if_needed()
    xy = frame.evaluate(DATA_TO_PAGE, ["cube_figure", 12, 3])
    box = sky.page.locator("#sky-app").bounding_box()
    sky.page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
    wait_for(lambda: sky.page.evaluate("window.cassisLite.getState()")["cube"]["pixel"] == [12, 3], what="the app's click")
    ra, dec = wcs(12, 3)
    wait_for(lambda: sky.marker_at(ra, dec), what="the marker following the app")
    wait_for(lambda: sky.page.evaluate(MARKER_PIXELS, sky.to_canvas(ra, dec)) > 20, what="the marker drawn")
    # and a script: window.cassisLite.selectPixel in this page is the app's
    r = sky.page.evaluate("window.cassisLite.selectPixel(44, 20)")
    assert r["pixel"] == [44, 20] and (r["sky"]["ra_deg"], r["sky"]["dec_deg"]) == pytest.approx(wcs(44, 20), abs=1e-9)
    wait_for(lambda: sky.marker_at(*wcs(44, 20)), what="the marker after selectPixel")


def test_positions_are_a_catalogue_and_a_click_on_one_loads_it(sky, positions, wcs):
    shown = sky.page.evaluate("window.cassisSky.positions()")
    assert [n for _, _, n in shown] == ["A1", "bx/b"]  # a name is drawn as text, without markup
    for (ra, dec, _), (ra0, dec0, _) in zip(shown, positions):
        assert (ra, dec) == pytest.approx((ra0, dec0), abs=1e-7)  # as written in the address
    ra, dec, _ = positions[0]
    sky.click_sky(ra, dec)
    wait_for(lambda: sky.page.evaluate("window.cassisLite.getState()")["cube"]["pixel"] == [8, 5],
             what="the position's pixel")
    # another map on the sky
    sky.page.locator("#sky-kind").select_option("PEAK")
    wait_for(lambda: (sky.page.evaluate("window.cassisSky.map") or {}).get("kind") == "PEAK", what="the PEAK map")
    sky.screenshot("sky-desktop-3-peak.png")


@pytest.mark.parametrize("viewport", ["laptop", "phone"])
def test_sky_view_at_smaller_viewports(browser, base_url, cube_path, wcs, viewport):
    page, context = open_sky(browser, base_url, f"sky.html?cube={quote(CUBE_URL)}", viewport)
    try:
        assert page.state == "ready", page.status()
        for sel in ("#sky-aladin", "#sky-app"):
            box = page.page.locator(sel).bounding_box()
            assert box["width"] <= VIEWPORTS[viewport][0] + 1 and box["height"] > 200, (sel, box)
        page.screenshot(f"sky-{viewport}-1-opened.png")
        ra, dec = wcs(40, 30)
        page.click_sky(ra, dec)
        wait_for(lambda: page.page.evaluate("window.cassisLite.getState()")["cube"]["pixel"] == [40, 30],
                 what="the clicked pixel")
        wait_for(lambda: page.page.evaluate(MARKER_PIXELS, page.to_canvas(ra, dec)) > 20, what="the marker")
        page.screenshot(f"sky-{viewport}-2-clicked.png")
        page.check_clean(base_url)
    finally:
        context.close()


def test_bad_cube_urls_get_a_clear_message(browser, base_url, cube_path):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_init_script(CSP_RECORDER)
    page = SkyPage(context.new_page(), base_url)
    try:
        for query, words in (("cube=test-sky/missing.fits", ["Could not open the cube test-sky/missing.fits", "404"]),
                             ("cube=samples/I16293_Synthetic_CO.lis", ["is not a cube", "two sky axes"]),
                             ("cube=https://example.org/cube.fits", ["must be a file of this site"]),
                             (f"cube={quote(CUBE_URL)}&positions=12,abc", ['"12,abc" is not RA,DEC'])):
            assert page.goto(f"sky.html?{query}") == "error", query
            text = page.status()
            assert all(w in text for w in words), (query, text)
            assert "sky-error" in page.page.locator("#sky-status").get_attribute("class")
            assert page.page.evaluate("document.documentElement.dataset.skyState") == "error"
        page.screenshot("sky-desktop-4-bad-url.png")
        page.check_clean(base_url)  # example.org was never asked
    finally:
        context.close()
