"""End-to-end UI of the built site: y axis K <-> Jy/beam, the drop zone, the components x species
model table, and a file too large for the browser refused before it is read.

One app boot is shared by the tests of this module (they run in file order). Numbers in the page
are compared with CPython runs of the core on the same inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SITE, wait_for

pytestmark = pytest.mark.browser

SAMPLE = "I16293_Synthetic_CO.lis"
OTHER = "41505_28502_147_220GHz.txt"

FIND = """(title) => {
    const doc = window.Bokeh.documents[window.Bokeh.documents.length - 1];
    for (const m of doc.all_models) if (m.title === title || m.label === title) return m.id;
    return null;
}"""
SET = """([title, key, value]) => {
    const doc = window.Bokeh.documents[window.Bokeh.documents.length - 1];
    let found = null;
    for (const m of doc.all_models) if (m.title === title || m.label === title) found = m;
    found[key] = value;
}"""
GET = """([title, key]) => {
    const doc = window.Bokeh.documents[window.Bokeh.documents.length - 1];
    for (const m of doc.all_models) if (m.title === title || m.label === title) return m[key];
    return null;
}"""


def cpython_spectrum(name=SAMPLE):
    from cassis_lite.readers import read_spectrum

    return read_spectrum((SITE / "samples" / name).read_bytes(), name=name)


def finite(values) -> np.ndarray:
    a = np.array([np.nan if v is None else v for v in values], float)
    return a[np.isfinite(a)]


@pytest.fixture(scope="module")
def app(app_page):
    state = app_page.api("getState")
    assert state["spectrum"]["name"] == SAMPLE
    return app_page


def test_y_axis_switches_to_jy_per_beam_with_the_model_telescope_beam(app):
    from cassis_lite.lte.config import Telescope
    from cassis_lite.units import k_to_jy_per_beam

    page = app.page
    app.open_tab("Model")  # its widgets are drawn when the tab is opened
    page.get_by_text("Show the model").wait_for(timeout=30_000)
    sp = cpython_spectrum()
    assert sp.beam_arcsec is None  # the sample gives no beam: the model telescope's is used
    assert page.evaluate(GET, ["y axis", "disabled"]) is False
    before = app.bokeh_data("spectrum_source", "y")
    page.evaluate(SET, ["y axis", "value", "Jy/beam"])
    wait_for(lambda: app.bokeh_data("spectrum_source", "y") != before, what="the Jy/beam redraw")
    shown = finite(app.bokeh_data("spectrum_source", "y"))
    telescope = Telescope.from_dict(app.api("getState")["model"]["telescope"])
    bmaj, bmin = telescope.beam_axes_arcsec(sp.freq_mhz)
    ok = np.isfinite(sp.intensity)
    # the core's conversion channel by channel (scalar beam per call)
    expected = np.array([k_to_jy_per_beam(t, f, float(a), float(b))
                         for t, f, a, b in zip(sp.intensity[ok], sp.freq_mhz[ok], np.broadcast_to(bmaj, sp.freq_mhz.shape)[ok],
                                               np.broadcast_to(bmin, sp.freq_mhz.shape)[ok])])
    np.testing.assert_allclose(shown, expected, rtol=1e-12)
    assert page.locator(".cl-axis-note").get_by_text("model telescope's beam").is_visible()
    app.screenshot("ui-01-jy-per-beam.png")

    # no model shown -> no beam known: the switch goes back to K, disabled, with a note
    page.evaluate(SET, ["Show the model", "active", False])
    note = page.locator(".cl-axis-note").get_by_text("no beam known")
    note.wait_for(timeout=30_000)
    assert page.evaluate(GET, ["y axis", "disabled"]) is True
    assert page.evaluate(GET, ["y axis", "value"]) == "K"
    wait_for(lambda: np.allclose(finite(app.bokeh_data("spectrum_source", "y")), sp.intensity[ok]),
             what="the K redraw")
    page.evaluate(SET, ["Show the model", "active", True])
    wait_for(lambda: page.evaluate(GET, ["y axis", "disabled"]) is False, what="the switch back on")
    wait_for(lambda: app.api("getModel") is not None, what="the model back")


def _config_now(app):
    return app.api("getState")["model"]


def test_model_table_adds_edits_and_removes_components_and_species(app):
    from cassis_lite.app.state import Session

    page = app.page
    app.open_tab("Model")
    assert len(_config_now(app)["components"]) == 1
    page.get_by_role("button", name="+ component").click()
    wait_for(lambda: len(_config_now(app)["components"]) == 2, what="a second component")
    assert page.evaluate(FIND, "c2: T_ex (K)") is not None

    page.evaluate(SET, ["c2: T_ex (K)", "value", 150.0])
    page.evaluate(SET, ["c2: v_lsr (km/s)", "value", 12.0])
    wait_for(lambda: _config_now(app)["components"][1]["vlsr_kms"] == 12.0, what="c2 v_lsr")
    page.get_by_role("button", name="+ species (c2)").click()
    wait_for(lambda: len(_config_now(app)["components"][1]["species"]) == 2, what="a species in c2")
    page.evaluate(SET, ["c2: log10 N 2", "value", 16.5])
    wait_for(lambda: abs(_config_now(app)["components"][1]["species"][1]["ntot_cm2"] - 10 ** 16.5) < 1e3,
             what="c2 species 2 N")

    cfg = _config_now(app)
    assert cfg["components"][1]["tex_k"] == 150.0
    # the plotted/served model is the CPython model of the same config on the same channels
    s = Session(spectrum=cpython_spectrum())
    s.set_model({k: v for k, v in cfg.items() if k != "grid" or v is not None})
    got = app.api("getModel")
    np.testing.assert_allclose(np.array(got["intensity"], float), s.model.intensity, rtol=1e-9, atol=1e-12)
    plotted = finite(app.bokeh_data("model_source", "y"))
    np.testing.assert_allclose(plotted, s.model.intensity[np.isfinite(s.model.intensity)], rtol=1e-9, atol=1e-12)
    app.screenshot("ui-02-model-table.png")

    page.get_by_role("button", name="\u2212 c2").click()
    wait_for(lambda: len(_config_now(app)["components"]) == 1, what="c2 removed")
    page.get_by_text("Component c2").wait_for(state="detached", timeout=30_000)
    assert page.get_by_text("Component c1").is_visible()


def test_drop_zone_is_visible_and_a_dropped_file_opens(app):
    page = app.page
    zone = page.locator("#cl-drop")
    assert zone.is_visible() and "Drop a spectrum file here" in zone.inner_text()
    page.evaluate("""async (name) => {
        const buf = await (await fetch('samples/' + name)).arrayBuffer();
        const dt = new DataTransfer();
        dt.items.add(new File([buf], name));
        const zone = document.getElementById('cl-drop');
        zone.dispatchEvent(new DragEvent('dragenter', {dataTransfer: dt, bubbles: true}));
        zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""", OTHER)
    wait_for(lambda: app.api("getState")["spectrum"]["name"] == OTHER, what="the dropped file")
    assert app.api("getState")["spectrum"]["n_channels"] == cpython_spectrum(OTHER).freq_mhz.size
    page.locator("#cl-drop-status").get_by_text("Opened " + OTHER).wait_for(timeout=30_000)
    app.api("loadSpectrum", "samples/" + SAMPLE)


def test_a_2_gb_file_is_refused_before_it_is_read(app, tmp_path):
    page = app.page
    big = tmp_path / "huge_cube.lis"
    with open(big, "wb") as fh:  # a real spectrum's head, then a sparse 2 GiB (no disk used)
        fh.write((SITE / "samples" / SAMPLE).read_bytes()[:65536])
        fh.truncate(2 * 1024**3)
    before = app.api("getState")["spectrum"]
    before_y = app.bokeh_data("spectrum_source", "y")
    # record every Blob read: only the 64 KiB head may be read
    page.evaluate("""() => {
        window.blobReads = [];
        const orig = Blob.prototype.arrayBuffer;
        Blob.prototype.arrayBuffer = function () { window.blobReads.push(this.size); return orig.call(this); };
    }""")
    page.locator("#cl-file").set_input_files(str(big))
    message = page.locator(".cl-message").get_by_text("over the")
    message.wait_for(timeout=30_000)
    text = message.inner_text()
    assert "huge_cube.lis" in text and "2048 MiB" in text and "512 MiB limit" in text, text
    assert "huge_cube.lis" in page.locator("#cl-drop-status").inner_text()
    reads = page.evaluate("window.blobReads")
    assert reads and max(reads) <= 65536, reads
    assert app.api("getState")["spectrum"] == before
    assert app.bokeh_data("spectrum_source", "y") == before_y
    page.evaluate("window.scrollTo(0, 0)")
    app.screenshot("ui-03-too-large.png")
