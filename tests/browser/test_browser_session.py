"""An hour of real use, compressed: the app through its UI in Chromium, at the three viewports,
over a long mixed session (files, axes, units, cards, tools, garbage collection in the worker).

Each test reproduces a way the app used to let the user down (issue 12) and fails if it comes
back: the line database dying after a garbage collection, a stale frame after switching files,
a plot scrolled away while a card is used, y pinned by the markers, a table row that does not
zoom, a figure that can only be saved through a prompt, tools that are missing. Screenshots of
each viewport go to test-artifacts/.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import SITE, VIEWPORTS, close_app, new_app, off_origin, wait_for
from paths import SAMPLES

SAMPLE = "I16293_Synthetic_CO.lis"
OTHER = "41505_28502_147_220GHz.txt"
CO_5_4_MHZ = 576267.9305

DOC = "window.Bokeh.documents[window.Bokeh.documents.length - 1]"
# sets ``key`` of the first widget titled ``title`` (of Bokeh type ``type``, if given)
SET_BY_TITLE = f"""([title, key, value, type]) => {{
    const doc = {DOC};
    for (const m of doc.all_models) {{
        if ((m.title === title || m.label === title) && (!type || m.type === type)) {{ m[key] = value; return true; }}
    }}
    return false;
}}"""
RANGE = f"""(name) => {{ const r = {DOC}.get_model_by_name(name); return [r.start, r.end]; }}"""


def finite(values) -> np.ndarray:
    a = np.array([np.nan if v is None else v for v in values], float)
    return a[np.isfinite(a)]


def cpython_spectrum(name=SAMPLE):
    from cassis_lite.readers import read_spectrum

    return read_spectrum((SITE / "samples" / name).read_bytes(), name=name)


def box(app, css: str) -> dict:
    return app.page.locator(css).first.bounding_box()


@pytest.fixture(scope="module")
def app(browser, base_url):
    app, context = new_app(browser, base_url)
    yield app
    close_app(app, context, base_url)


# --------------------------------------------------------------------------- wrong results first

def test_the_line_database_survives_a_garbage_collection_in_the_worker(app):
    """The start-up snapshot once held a file object whose descriptor number, after the restore,
    was the database's: collecting it closed the database under the app."""
    before = app.api("getLines", {"species": ["CO"]})
    assert app.api("collectGarbage")["collected"] >= 0
    app.open_tab("Lines")
    field = app.page.get_by_label("Species (comma separated, empty = all)")
    field.fill("13CO")  # applied as the user types
    wait_for(lambda: set(app.bokeh_data("lines_source", "species")) == {"13CO"}, what="the typed filter")
    assert app.page.locator(".cl-card-error").first.is_hidden()
    assert app.api("getLines", {"species": ["CO"]}) == before
    field.fill("")
    wait_for(lambda: len(set(app.bokeh_data("lines_source", "species"))) > 1, what="the cleared filter")


def test_after_switching_file_the_model_is_in_the_new_files_frame(app):
    app.open_tab("Model")
    app.page.locator(".noUi-handle >> visible=true").first.wait_for(timeout=30_000)
    assert app.page.evaluate(SET_BY_TITLE, ["v_lsr (km/s)", "value", 4.4, "Slider"])  # the model card's slider
    wait_for(lambda: app.api("getState")["model"]["components"][0]["vlsr_kms"] == 4.4, what="the slider")
    app.api("loadSpectrum", "samples/" + OTHER)  # v_lsr 3.0
    state = app.api("getState")
    model = state["model"]
    assert model["vlsr_file_kms"] == 3.0 and model["components"][0]["vlsr_kms"] == 3.0
    assert state["view"]["vlsr_kms"] == 3.0  # the line markers
    # the slider shows the model in force
    shown = app.page.evaluate(f"""() => {{ for (const m of {DOC}.all_models)
        if (m.title === 'v_lsr (km/s)' && m.type === 'Slider') return m.value; }}""")
    assert shown == 3.0
    app.screenshot("session-01-switched.png")


def test_bad_url_parameters_are_said_and_ignored(browser, base_url):
    app, context = new_app(browser, base_url, "index.html?tex=abc&sample=nope.fits&fwhm=1e9")
    try:
        text = app.text(".cl-message")
        assert "tex='abc' is not a number" in text and "unknown sample 'nope.fits'" in text and "fwhm" in text
        state = app.api("getState")
        assert state["spectrum"]["name"] == SAMPLE and state["model"]["components"][0]["tex_k"] == 50.0
    finally:
        context.close()


# --------------------------------------------------------------------------- the screen

@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_spectrum_stays_in_view_while_a_card_is_used(browser, base_url, viewport):
    width, height = VIEWPORTS[viewport]
    app, context = new_app(browser, base_url, viewport=(width, height))
    try:
        plot = box(app, ".bk-Canvas")
        assert plot["width"] > 0.8 * width if viewport == "phone" else plot["width"] > 0.45 * width
        app.screenshot(f"layout-{viewport}-1-start.png")
        app.open_tab("Model")
        handle = app.page.locator(".noUi-handle >> visible=true").nth(1)  # T_ex
        handle.scroll_into_view_if_needed()
        handle.focus()
        for _ in range(3):
            handle.press("ArrowRight")
        plot = box(app, ".bk-Canvas")
        if viewport != "phone":  # side by side: the plot is in view while the slider is used
            assert plot["y"] < height and plot["y"] + plot["height"] > 0, plot
            assert box(app, ".cl-side")["height"] <= height + 1
        app.screenshot(f"layout-{viewport}-2-model-card.png")
        # the line table is under the plot
        table = box(app, ".slick-viewport")
        assert table["y"] > plot["y"]
    finally:
        context.close()


def test_y_follows_the_view_and_a_table_row_zooms_to_its_line(app):
    app.api("loadSpectrum", "samples/" + SAMPLE)
    wait_for(lambda: app.api("getState")["spectrum"]["name"] == SAMPLE, what="the sample")
    y_all = app.page.evaluate(RANGE, "y_range")
    # the user zooms to the noise beside the line (as a drag of the x axis would)
    app.page.evaluate(f"""() => {{ const r = {DOC}.get_model_by_name('x_range');
        r.setv({{start: 576.290, end: 576.310}}); }}""")
    wait_for(lambda: app.page.evaluate(RANGE, "y_range")[1] < 0.5 * y_all[1], what="y to follow the noise")
    # a click on the CO 5-4 row of the line table selects it; "Zoom to the line" zooms to it
    app.open_tab("Lines")
    row = app.page.locator(".slick-row", has_text="576267.9305").first
    row.locator(".slick-cell").first.click()
    app.page.get_by_role("button", name="Zoom to the line").click()
    wait_for(lambda: app.page.evaluate(RANGE, "x_range")[0] < CO_5_4_MHZ / 1e3 < app.page.evaluate(RANGE, "x_range")[1]
             and app.page.evaluate(RANGE, "x_range")[1] - app.page.evaluate(RANGE, "x_range")[0] < 0.2,
             what="the zoom to CO 5-4")
    assert "CO" in app.text(".cl-transition")
    y_line = app.page.evaluate(RANGE, "y_range")
    assert y_line[1] > 3.0  # the line's peak is in view, not cut
    app.screenshot("session-02-zoomed-line.png")


def test_the_figure_saves_as_png_and_svg_without_a_prompt(app):
    for kind, magic in (("png", b"\x89PNG"), ("svg", b"<svg")):
        with app.page.expect_download(timeout=60_000) as info:
            app.page.click(f"#cl-export-{kind}")
        download = info.value
        assert download.suggested_filename == f"cassis_lite_spectrum.{kind}"
        data = open(download.path(), "rb").read()
        assert data.lstrip()[: len(magic)] == magic or magic in data[:200], data[:100]
        assert len(data) > 5000
        if kind == "svg":
            text = data.decode("utf-8", "replace")
            assert "residual" in text and "LTE model" in text  # both plots and the legend


def test_hover_shows_units(app):
    tips = app.page.evaluate(f"""() => {{ for (const m of {DOC}.all_models)
        if (m.type === 'HoverTool' && m.mode === 'vline') return m.tooltips; }}""")
    assert tips[0][1].endswith(" GHz") and "0.000000" in tips[0][1] and tips[1][0] == "K"


# --------------------------------------------------------------------------- the everyday tools

def test_statistics_and_gaussian_fit_of_the_view_through_the_tools_card(app):
    from cassis_lite.analysis.gaussfit import fit_gaussians
    from cassis_lite.analysis.statistics import range_statistics

    app.open_tab("Tools")
    app.page.get_by_role("button", name="Statistics of the view").wait_for(timeout=30_000)
    lo, hi = (v * 1e3 for v in app.page.evaluate(RANGE, "x_range"))  # the zoom of the previous test, MHz
    app.page.get_by_role("button", name="Statistics of the view").click()
    def text():
        return app.text(".cl-tools-result")

    wait_for(lambda: "integrated" in text(), what="the statistics")
    sp = cpython_spectrum()
    ref = range_statistics(sp, max(lo, sp.freq_mhz[0]), hi, rest_freq_mhz=app.api("getState")["view"]["rest_freq_mhz"])
    assert ref.report().splitlines()[0] in text()
    app.page.get_by_role("button", name="Fit Gaussians to the view").click()
    wait_for(lambda: "amp" in text(), timeout=120, what="the Gaussian fit")
    got = app.api("fitGaussians", {"n": 1})
    fit = fit_gaussians(sp, lo, hi, n=1, rest_freq_mhz=app.api("getState")["view"]["rest_freq_mhz"])
    g, r = got["gaussians"][0], fit.gaussians[0]
    assert g["centre_kms"] == pytest.approx(r.centre_kms, abs=1e-6) and g["fwhm_kms"] == pytest.approx(r.fwhm_kms, rel=1e-6)
    assert len(finite(app.bokeh_data("gauss_source", "y"))) > 10  # drawn over the line
    app.screenshot("session-03-tools.png")


def test_baseline_smoothing_and_undo(app):
    from cassis_lite.analysis.baseline import fit_baseline, subtract_baseline
    from cassis_lite.analysis.smoothing import smooth

    sp = cpython_spectrum()
    regions = [[576220.0, 576250.0], [576285.0, 576315.0]]
    d = app.api("baseline", {"regions_mhz": regions, "degree": 1, "subtract": True})
    ref = subtract_baseline(sp, fit_baseline(sp, regions, 1))
    shown = finite(app.bokeh_data("spectrum_source", "y"))
    np.testing.assert_allclose(shown, ref.intensity[np.isfinite(ref.intensity)], rtol=1e-12, atol=1e-12)
    assert d["degree"] == 1
    app.api("smooth", {"kind": "hanning", "width": 3})
    ref = smooth(ref, "hanning", 3)
    np.testing.assert_allclose(finite(app.bokeh_data("spectrum_source", "y")),
                               ref.intensity[np.isfinite(ref.intensity)], rtol=1e-12, atol=1e-12)
    steps = [s["step"] for s in app.api("getState")["spectrum"]["processing"]]
    assert steps == ["baseline", "smooth"]
    # undo from the Spectra card: the file as read
    app.open_tab("Spectra")
    app.page.get_by_role("button", name="Undo the processing of the active spectrum").click()
    wait_for(lambda: app.api("getState")["spectrum"]["processing"] == [], what="the undo")
    np.testing.assert_allclose(finite(app.bokeh_data("spectrum_source", "y")),
                               sp.intensity[np.isfinite(sp.intensity)], rtol=0, atol=0)


def test_two_spectra_overlaid_each_shown_or_not(app):
    app.api("loadSpectrum", "samples/" + OTHER)
    app.api("loadSpectrum", "samples/" + SAMPLE)
    state = app.api("getState")
    assert sum(1 for s in state["spectra"] if s["visible"]) >= 2
    wait_for(lambda: len(app.bokeh_data("overlay_source", "name")) >= 1, what="an overlaid spectrum")
    app.open_tab("Spectra")
    # the active spectrum is always shown (its box is disabled): hide the other one
    app.page.locator(".cl-spectra-list input[type=checkbox]:not([disabled])").first.click()
    wait_for(lambda: len(app.bokeh_data("overlay_source", "name")) < len(state["spectra"]) - 1
             or len(app.bokeh_data("overlay_source", "name")) == 0, what="a hidden overlay")
    app.screenshot("session-04-spectra.png")


def test_model_saved_as_json_and_loaded_back(app, tmp_path):
    app.open_tab("Model")
    with app.page.expect_download(timeout=60_000) as info:
        app.page.get_by_role("button", name="Save model (JSON)").click()
    saved = json.loads(open(info.value.path()).read())
    assert saved == app.api("getState")["model"]
    saved["components"][0]["tex_k"] = 123.0
    path = tmp_path / "my_model.json"
    path.write_text(json.dumps(saved))
    app.page.locator(".cl-model-upload input[type=file]").set_input_files(str(path))
    wait_for(lambda: app.api("getState")["model"]["components"][0]["tex_k"] == 123.0, what="the loaded model")
    ltm = SAMPLES.parent.parent / "tests" / "data" / "cassis_c4h_cc3h2.ltm"
    app.page.locator(".cl-model-upload input[type=file]").set_input_files(str(ltm))
    # C4H is not in the bundled database: said, and the model in force stays
    err = app.page.locator(".cl-card-error", has_text="cassis_c4h_cc3h2.ltm").first
    err.wait_for(timeout=30_000)
    assert app.api("getState")["model"]["components"][0]["tex_k"] == 123.0


# --------------------------------------------------------------------------- exports and links

def test_the_cards_export_the_spectrum_model_and_lines_as_votable_fits_and_csv(app):
    import io
    import warnings

    from astropy.io import fits
    from astropy.io.votable import parse

    from cassis_lite.readers import read_spectrum
    from cassis_lite.vo.linelist import transitions_from_votable

    app.api("loadSpectrum", "samples/" + SAMPLE)
    state = app.api("getState")

    def download(card, label):
        app.open_tab(card)
        with app.page.expect_download(timeout=60_000) as info:
            app.page.locator(f".cl-export-{ {'Spectra': 'spectrum', 'Model': 'model', 'Lines': 'lines'}[card]}") \
                .get_by_role("button", name=label).click()
        return info.value.suggested_filename, open(info.value.path(), "rb").read()

    name, data = download("Spectra", "VOTable")
    assert name == "I16293_Synthetic_CO.vot"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = parse(io.BytesIO(data), verify="exception").get_first_table().to_table()
    ours = cpython_spectrum()
    np.testing.assert_array_equal(table["FREQ"], ours.freq_mhz)
    np.testing.assert_array_equal(table["FLUX"], ours.intensity)

    name, data = download("Model", "FITS")
    assert name == "cassis_lite_model.fits"
    model = app.api("getModel")
    with fits.open(io.BytesIO(data)) as hdul:
        np.testing.assert_array_equal(hdul[1].data["FREQ"], model["freq_mhz"])
        np.testing.assert_allclose(hdul[1].data["FLUX"], model["intensity"], rtol=1e-15, atol=0)

    name, data = download("Lines", "VOTable")
    got = transitions_from_votable(data)
    f = np.array(ours.freq_mhz)
    want = app.api("getLines", state["filters"])
    np.testing.assert_array_equal(got.freq_mhz, [r["freq_mhz"] for r in want])
    assert got.species_names.tolist() == [r["species"] for r in want]
    assert len(want) > 0 and f[0] <= got.freq_mhz.min() and got.freq_mhz.max() <= f[-1]
    spectrum = read_spectrum(download("Spectra", "CSV")[1], name="x.csv")
    np.testing.assert_array_equal(spectrum.freq_mhz, ours.freq_mhz)


def test_copy_link_then_opening_it_restores_the_screen(browser, base_url):
    first, context = new_app(browser, base_url, "index.html?sample=" + OTHER)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url.rstrip("/"))
    try:
        first.open_tab("Lines")
        field = first.page.get_by_label("Species (comma separated, empty = all)")
        field.fill("CH3CN")
        field.press("Enter")
        wait_for(lambda: first.api("getState")["filters"]["species"] == ["CH3CN"], what="the typed filter")
        cfg = first.api("getState")["model"]
        cfg["components"][0]["tex_k"] = 71.0
        first.api("setModel", cfg)
        assert first.page.evaluate(SET_BY_TITLE, ["x axis", "value", "km/s", None])  # the top bar's x axis
        wait_for(lambda: first.api("getState")["view"]["x_unit"] == "km/s", what="the km/s axis")
        first.page.click("#cl-share")
        link = wait_for(lambda: first.page.input_value("#cl-share-link"), what="the link")
        assert "#state=" in link and "Link copied" in first.page.inner_text("#cl-drop-status")
        assert first.page.evaluate("navigator.clipboard.readText()") == link
        made = first.api("getState")
        made_range = first.page.evaluate(RANGE, "x_range")
        first.screenshot("link-made.png")
    finally:
        context.close()

    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        from conftest import AppPage

        second = AppPage(context.new_page(), base_url)
        second.page.goto(link)
        second.page.wait_for_function("() => document.documentElement.dataset.cassisState !== 'loading'",
                                      timeout=180_000)
        assert second.page.evaluate("document.documentElement.dataset.cassisState") == "ready"
        got = second.api("getState")
        assert got["spectrum"]["name"] == OTHER and got["filters"] == made["filters"]
        assert got["model"] == made["model"] and got["view"] == made["view"]
        np.testing.assert_allclose(second.page.evaluate(RANGE, "x_range"), made_range, rtol=1e-9)
        assert second.page.locator(".cl-message").first.is_hidden()
        second.screenshot("link-opened.png")
        # a damaged link: said, and the app starts as without it
        second.page.goto(base_url + "index.html#state=eJyrVkrLz1eyUlBKSi")
        second.page.wait_for_function("() => document.documentElement.dataset.cassisState !== 'loading'",
                                      timeout=180_000)
        assert second.page.evaluate("document.documentElement.dataset.cassisState") == "ready"
        assert "the link's state is damaged" in second.text(".cl-message")
        assert second.api("getState")["spectrum"]["name"] == SAMPLE
        assert not off_origin(second.requests, base_url)
    finally:
        context.close()


def test_a_component_switched_to_non_lte_in_the_model_card_is_radex_as_on_the_command_line(app):
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.lte import ModelConfig, compute_spectrum

    app.api("loadSpectrum", "samples/" + SAMPLE)
    app.open_tab("Model")
    app.page.get_by_role("button", name="non-LTE (RADEX)").click()
    wait_for(lambda: app.api("getState")["model"]["components"][0].get("model") == "radex", timeout=60,
             what="the RADEX component")
    assert app.page.evaluate(SET_BY_TITLE, ["T_kin (K)", "value", 120.0, None])
    wait_for(lambda: app.api("getState")["model"]["components"][0]["tkin_k"] == 120.0, what="T_kin")
    cfg = app.api("getState")["model"]
    got = app.api("getModel")
    db = LineDatabase()
    try:
        expected = compute_spectrum(ModelConfig.from_dict(cfg), cpython_spectrum().freq_mhz, db)
    finally:
        db.close()
    np.testing.assert_allclose(got["intensity"], expected.intensity, rtol=1e-9, atol=1e-12)
    assert max(got["intensity"]) > 0.1
    assert app.page.locator(".cl-card-error >> visible=true").count() == 0
    labels = app.page.evaluate(f"""() => [...{DOC}.all_models].filter((m) => m.type === "LegendItem")
        .map((m) => m.label && m.label.value)""")
    assert "non-LTE model" in labels and "LTE model" not in labels
    app.screenshot("model-radex.png")
    app.page.get_by_role("button", name="LTE", exact=True).click()
    wait_for(lambda: app.api("getState")["model"]["components"][0].get("model", "lte") == "lte", what="LTE again")
