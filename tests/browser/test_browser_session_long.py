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

import numpy as np
import pytest

import alma_data
from conftest import DATA_TO_PAGE, ROOT, VIEWPORTS, close_app, new_app, off_origin, wait_for
from optical_data import write_civ_spectrum, write_star_pair

SAMPLE = "I16293_Synthetic_CO.lis"
OTHER = "41505_28502_147_220GHz.txt"
SDSS = ROOT / "tests" / "data" / "SDSSJ220248.31+123656.3.fits"
CARDS = ("Lines", "Model", "Line search", "Identify", "Fit", "v_lsr", "Rot. diagram", "Tools", "Absorption",
         "Broadening", "Map", "ALMA", "Spectra")
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
            app.page.wait_for_timeout(400)  # the card's widgets drawn
            if overflow(app):  # Panel redraws a dynamic tab's card: what the reader sees once it settles
                app.page.wait_for_timeout(2000)
            if overflow(app):
                clipped[card] = overflow(app)
                app.screenshot(f"session-long-layout-{viewport}-{card.replace(' ', '').replace('.', '')}.png")
        assert not clipped, clipped
        # every tab title is in the panel, none hidden under another
        # read at once: the tab bar is drawn again when the active tab changes
        boxes = [b for b in app.page.locator(".cl-side .bk-tab").evaluate_all(
            "(els) => els.map((e) => { const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width}; })")
            if b["width"] > 0]
        assert len(boxes) == len(CARDS)
        side = app.page.locator(".cl-side").first.evaluate(
            "(el) => { const r = el.getBoundingClientRect(); return {x: r.x, width: r.width}; }")
        assert all(side["x"] - 1 <= b["x"] and b["x"] + b["width"] <= side["x"] + side["width"] + 1 for b in boxes)
        for a, b in zip(boxes, boxes[1:]):
            assert a["y"] != b["y"] or a["x"] + a["width"] <= b["x"] + 1  # no overlap in a row
        app.open_tab("Lines")
        app.screenshot(f"session-long-layout-{viewport}.png")
        assert not app.errors, app.errors[:3]
    finally:
        close_app(app, context, base_url)


# --------------------------------------------------------------------------- the session (in order)

def test_1_an_optical_spectrum_from_the_picker_in_every_x_unit(app):
    from cassis_lite.readers import read_spectrum
    from cassis_lite.units import from_freq_mhz

    app.session_memory = [memory(app)]
    pick_file(app, SDSS)
    sp = read_spectrum(SDSS)
    wait_for(lambda: shown_x(app).size == sp.freq_mhz.size, what="the SDSS spectrum drawn")
    def drawn_as(unit, air=False):
        return lambda: np.allclose(np.sort(shown_x(app)), np.sort(from_freq_mhz(sp.freq_mhz, unit, air=air)),
                                   rtol=1e-9)

    assert drawn_as("Angstrom")()
    choose_x_axis(app, "Wavelength (A, air)")
    wait_for(drawn_as("Angstrom", air=True), what="the air wavelengths")
    choose_x_axis(app, "Wavenumber (cm-1, vacuum)")
    wait_for(drawn_as("cm-1"), what="the wavenumbers")
    app.screenshot("session-long-01-sdss-cm-1.png")
    assert not visible_card_errors(app)


def test_2_a_radio_sample_chosen_after_it_is_drawn_in_its_own_units_with_its_model(app):
    from cassis_lite.constants import C_LIGHT_KMS

    app.api("loadSpectrum", "samples/" + OTHER)  # opened once; from now on chosen in the selector
    choose_spectrum(app, SAMPLE)
    choose_spectrum(app, OTHER)
    s = state(app)
    assert s["model"]["vlsr_file_kms"] == 3.0 and s["model"]["telescope"] == {"name": "iram"}
    lo, hi = s["spectrum"]["fmin_mhz"], s["spectrum"]["fmax_mhz"]
    choose_x_axis(app, "Frequency (MHz)")
    wait_for(lambda: shown_x(app).size > 0 and lo <= shown_x(app).min() and shown_x(app).max() <= hi,
             what="MHz of the new file")
    model_x = finite(app.bokeh_data("model_source", "x"))
    assert lo <= model_x.min() and model_x.max() <= hi  # the model is on the new file's grid
    choose_x_axis(app, "Velocity (km/s)")
    rest = state(app)["view"]["rest_freq_mhz"]
    wait_for(lambda: abs(np.median(shown_x(app))) < C_LIGHT_KMS, what="velocities")
    f = finite(app.bokeh_data("spectrum_source", "x"))
    assert f.size > 0 and rest > 0
    app.page.get_by_label("y axis").first.select_option(label="Jy/beam")
    wait_for(lambda: state(app)["view"]["y_unit"] == "Jy/beam", what="Jy/beam")
    app.page.get_by_label("y axis").first.select_option(label="K")
    choose_x_axis(app, "Frequency (GHz)")
    wait_for(lambda: state(app)["view"]["x_unit"] == "GHz" and state(app)["view"]["y_unit"] == "K", what="GHz, K")
    app.screenshot("session-long-02-other-sample.png")


def test_3_lines_from_the_full_catalogue_and_a_line_list_beside_them(app):
    app.open_tab("Lines")
    bundled = len(app.api("getLines", {}))
    select = app.page.locator("select").filter(has=app.page.locator("option", has_text=re.compile("^bundled")))
    wait_for(lambda: any(o.startswith("full") for o in select.first.locator("option").all_inner_texts()), 60,
             "the full catalogue offered")
    label = next(o for o in select.first.locator("option").all_inner_texts() if o.startswith("full"))
    select.first.select_option(label=label)
    wait_for(lambda: state(app)["database"]["name"] == "full", 90, "the full catalogue in use")
    full = app.api("getLines", {})
    assert len(full) > bundled
    app.screenshot("session-long-03-full-catalogue.png")
    # a line table overlaid (what another application would send), then removed from the card
    got = app.page.evaluate("""async () => { const t = await window.cassisLite.exportText("lines", "votable");
        return window.cassisLite.loadLineList(new Blob([t.text]), "my <lines>.vot"); }""")
    assert got["n_lines"] == len(full)
    assert app.api("lineLists") == [{"name": "my <lines>.vot", "n_lines": len(full)}]
    assert "my <lines>.vot" in app.text(".cl-line-lists")  # the name as written, not as markup
    click(app, "Remove lists")
    wait_for(lambda: app.api("lineLists") == [], what="the list removed")
    app.api("useDatabase", "bundled")
    assert len(app.api("getLines", {})) == bundled


def test_4_model_lte_then_non_lte_follow_the_active_spectrum(app):
    choose_spectrum(app, SAMPLE)
    app.open_tab("Model")
    app.page.locator(".noUi-handle >> visible=true").first.wait_for(timeout=30_000)
    assert app.page.evaluate(SET_BY_TITLE, ["T_ex (K)", "value", 60.0, "Slider"])
    wait_for(lambda: state(app)["model"]["components"][0]["tex_k"] == 60.0, what="the T_ex slider")
    peak = max(app.api("getModel")["intensity"])
    click(app, "non-LTE (RADEX)")
    wait_for(lambda: state(app)["model"]["components"][0].get("model") == "radex", 60, "RADEX")
    assert max(app.api("getModel")["intensity"]) != peak
    click(app, "LTE")
    wait_for(lambda: state(app)["model"]["components"][0].get("model", "lte") == "lte", 60, "LTE again")
    choose_spectrum(app, OTHER)
    model = state(app)["model"]
    assert model["vlsr_file_kms"] == 3.0 and model["components"][0]["vlsr_kms"] == 3.0
    assert len(app.api("getModel")["freq_mhz"]) == state(app)["spectrum"]["n_channels"]
    assert not visible_card_errors(app)


def test_5_identify_fit_and_rotational_diagram_on_the_file_shown(app):
    app.open_tab("Identify")
    click(app, "Identify")
    card_text(app, ".cl-identify-result", "features", timeout=120)
    wait_for(lambda: len(finite(app.bokeh_data("identify_model_source", "y"))) > 0, 120, "the identification")
    app.screenshot("session-long-05-identify.png")
    choose_spectrum(app, SAMPLE)
    app.open_tab("Rot. diagram")
    type_into(app, "v min (km/s)", -2)
    type_into(app, "v max (km/s)", 10)
    app.page.locator("button", has_text="Rotational diagram").last.click()
    card_text(app, "pre.cl-report", "T_rot = ", timeout=120)
    assert len(app.bokeh_data("rotdiagram_points", "x")) >= 2
    app.open_tab("Fit")
    click(app, "Start from the model")
    click(app, "Fit")
    wait_for(lambda: app.text(".cl-fit-result").strip(), 180, "the fit result")
    assert not visible_card_errors(app)
    app.screenshot("session-long-05-fit.png")


def test_6_tools_then_another_file_leaves_no_figure_of_the_first(app):
    app.open_tab("Tools")
    click(app, "Statistics of the view")
    card_text(app, ".cl-tools-result", "integrated")
    click(app, "Fit Gaussians to the view")
    wait_for(lambda: len(finite(app.bokeh_data("gauss_source", "y"))) > 10, 120, "the Gaussian drawn")
    choose_spectrum(app, OTHER)
    wait_for(lambda: app.text(".cl-tools-result").strip() == "", what="the old file's figures gone")
    assert len(app.bokeh_data("gauss_source", "y")) == 0


def test_7_absorption_and_broadening_on_optical_files(app, files):
    pick_file(app, files / "civ_absorber.csv")
    n = state(app)["spectrum"]["n_channels"]
    app.open_tab("Absorption")
    type_into(app, "system redshift z", 1.6)
    type_into(app, "components: v (km/s) b (km/s) log N per ion", "-15 10 13.4\n30 10 13.0")
    wait_for(lambda: len(app.bokeh_data("absorption_model_source", "y")) == n, 60, "the Voigt model drawn")
    click(app, "Fit")
    card_text(app, ".cl-absorption-fit", "reduced chi-square", timeout=120)
    app.screenshot("session-long-07-absorption.png")
    pick_file(app, files / "synthetic_star.csv")
    pick_file(app, files / "observed_star.csv")
    app.open_tab("Broadening")
    app.page.get_by_label("synthetic spectrum").first.select_option(label="synthetic_star.csv")
    wait_for(lambda: len(app.bokeh_data("broadened_source", "x")) > 500, 60, "the synthetic spectrum drawn")
    assert not visible_card_errors(app)


def test_8_alma_answer_opened_from_a_file(app, files):
    app.open_tab("ALMA")
    app.page.get_by_label("Species (comma separated)").fill("CO")
    sources = app.page.get_by_label("Sources: NAME, RA, DEC[, v_lsr km/s], one per line")
    sources.fill("M83, 13:37:00.919, -29:51:56.74, 513")
    sources.press("Tab")
    app.page.locator("input[type=file][accept='.vot,.xml,.votable']").set_input_files(str(files / "alma_answer.vot"))
    wait_for(lambda: app.bokeh_data("atomis_source", "source") == ["M83"], 60, "the observations")
    assert "2017.1.00079.S" in app.bokeh_data("atomis_source", "proposal_id")
    app.screenshot("session-long-08-alma.png")


def test_9_a_cube_its_pixel_region_and_map_then_back_to_a_spectrum(app, cube_path):
    from cassis_lite.cube import Cube

    app.page.locator("#cl-file").set_input_files(str(cube_path))
    wait_for(lambda: (state(app).get("cube") or {}).get("name") == cube_path.name, 90, "cube mode")
    wait_for(lambda: app.page.evaluate(DATA_TO_PAGE, ["cube_figure", 0, 0]) is not None, 60, "the map drawn")
    app.page.locator(".cl-cube-pixel").first.scroll_into_view_if_needed()
    px, py = app.page.evaluate(DATA_TO_PAGE, ["cube_figure", 6, 10])
    app.page.mouse.click(px, py)
    wait_for(lambda: state(app)["cube"]["pixel"] == [6, 10], 60, "pixel (6, 10)")
    ref = Cube.open(cube_path).spectrum_at(6, 10).intensity
    wait_for(lambda: np.array_equal(finite(app.bokeh_data("spectrum_source", "y")), ref[np.isfinite(ref)]), 60,
             "the pixel's spectrum drawn")
    app.api("selectRegion", 10, 15, 18, 21)
    wait_for(lambda: state(app)["cube"]["region"] == [10, 15, 18, 21], 60, "the region")
    assert "mean of pixels x 10-14" in app.text(".cl-cube-pixel")
    app.screenshot("session-long-09-cube.png")
    choose_spectrum(app, SAMPLE)  # the plot is the sample's; the Map card says so
    wait_for(lambda: "The plot shows I16293_Synthetic_CO.lis" in app.text(".cl-cube-pixel"), what="the Map card")
    wait_for(lambda: shown_x(app).size > 0 and shown_x(app).min() > 500, what="the sample drawn (GHz)")


def test_9b_a_fit_map_of_a_small_cube_from_the_fit_cards_configuration(app, tmp_path, line_db):
    from cube_data import CH3CN_FIT, synthetic_ch3cn_cube

    path = tmp_path / "ch3cn_small.fits"
    synthetic_ch3cn_cube(path, line_db, ny=3, nx=3)
    app.page.locator("#cl-file").set_input_files(str(path))
    wait_for(lambda: (state(app).get("cube") or {}).get("name") == path.name, 90, "the small cube")
    app.open_tab("Fit")
    box = app.page.get_by_label("Fit configuration (cassis-lite fit JSON; edit for more)")
    box.fill(json.dumps(CH3CN_FIT, indent=1))
    box.evaluate("(el) => el.blur()")
    wait_for(lambda: "CH3CN" in app.text(".cl-fit-params"), what="the Fit card took the JSON")
    app.open_tab("Map")
    app.page.get_by_role("button", name="Fit map").click()
    wait_for(lambda: "Fit map done" in app.text(".cl-fitmap-status"), 180, "the fit map")
    tex = finite([v for row in app.api("getMap", "TEX")["data"] for v in row])  # rows of the map, blank: None
    assert tex.size > 0 and np.all((tex > 20) & (tex < 400))  # within the fit's bounds
    app.screenshot("session-long-09b-fit-map.png")
    choose_spectrum(app, SAMPLE)


def test_10_exports_of_the_figure_and_the_lines(app):
    for kind, magic in (("png", b"\x89PNG"), ("svg", b"<svg")):
        with app.page.expect_download(timeout=60_000) as info:
            app.page.click(f"#cl-export-{kind}")
        data = open(info.value.path(), "rb").read()
        assert magic in data[:200] and len(data) > 5000
    app.open_tab("Lines")
    with app.page.expect_download(timeout=60_000) as info:
        app.page.locator(".cl-export-lines").get_by_role("button", name="CSV").click()
    text = open(info.value.path(), encoding="utf-8").read()
    assert "576267.93" in text  # CO 5-4 of the sample shown


def test_11_memory_after_cycles_of_files_stays_bounded(app, files, cube_path):
    """Python's objects (after a full collection in the worker) and the page's JS heap (after
    BokehJS drops unheld models and V8 collects) over cycles of the same files: the first cycle
    warms caches, the next ones may not grow Python's objects by more than 0.5 % nor the JS heap
    by more than 1 MB a cycle."""
    def cycle():
        choose_spectrum(app, OTHER)
        pick_file(app, SDSS)
        app.page.locator("#cl-file").set_input_files(str(cube_path))
        wait_for(lambda: state(app)["spectrum"]["name"] == cube_path.name, 90, "the cube's pixel")
        choose_spectrum(app, SAMPLE)
        app.api("statistics", {})

    cycle()
    figures = [memory(app)]
    for _ in range(3):
        cycle()
        figures.append(memory(app))
    print("memory (Python objects, JS heap MB) at start, after 1 then 4 cycles:",
          app.session_memory[0], figures[0], figures[-1])
    objects = [f[0] for f in figures]
    heap = [f[1] for f in figures]
    assert max(objects) - objects[0] < 0.005 * objects[0], objects
    assert (heap[-1] - heap[0]) / (len(heap) - 1) < 1.0, heap
    # the worker's garbage collection left the line database working
    assert len(app.api("getLines", {"species": ["CO"]})) > 0


def test_12_no_console_error_no_request_off_the_origin(app, base_url):
    assert not app.errors, app.errors[:3]
    assert not off_origin(app.requests, base_url)
    app.screenshot("session-long-12-end.png")
