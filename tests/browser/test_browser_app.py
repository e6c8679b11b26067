"""End-to-end: the built site in headless Chromium (Pyodide in a Web Worker, Panel + Bokeh).

One app boot is shared by the tests of this module; they run in file order and each leaves the
app with the default sample loaded. Numbers in the page are compared with CPython runs of the
same core code (and with the ``cassis-lite model`` command) on the same inputs.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, SITE, AppPage, off_origin, serve_dir

pytestmark = pytest.mark.browser

SAMPLE = "I16293_Synthetic_CO.lis"
CO_5_4_MHZ = 576267.9305  # CDMS CO J=5-4


def cpython_spectrum(name=SAMPLE):
    from cassis_lite.readers import read_spectrum

    return read_spectrum((SITE / "samples" / name).read_bytes(), name=name)


def test_ready_with_zero_off_origin_requests(app_page):
    assert app_page.page.evaluate("document.documentElement.dataset.cassisState") == "ready"
    urls = app_page.requests
    assert any(u.endswith("pyodide/pyodide.asm.wasm") for u in urls)
    assert any("/panel/" in u and u.endswith(".css") or "/panel/" in u and ".css?" in u for u in urls), \
        "Panel's stylesheets should be served by the site"
    assert off_origin(urls, app_page.base) == []
    assert not any("scipy" in u for u in urls), "SciPy must load only when a fit asks for it"
    # the page shell is replaced by the app: loader hidden, app root filled
    assert app_page.page.locator("#cl-loader").is_hidden()
    app_page.screenshot("01-ready.png")


def test_starts_from_the_build_snapshot(app_page):
    """The build's memory snapshot was restored (a silent fallback to importing would pass every
    other test, only slower), and the packages it holds came in its bundle, not as wheels."""
    assert app_page.page.evaluate("document.documentElement.dataset.cassisBoot") == "snapshot"
    snap = json.loads((SITE / "config.js").read_text().split("=", 1)[1].rstrip().rstrip(";"))["snapshot"]
    urls = app_page.requests
    assert any(u.endswith(snap["memory"]) for u in urls) and any(u.endswith(snap["bundle"]) for u in urls)
    assert not any(u.endswith(".whl") and ("/panel-" in u or "/bokeh-" in u or "/numpy-" in u) for u in urls)
    # the second bundle (what the first screen does not read) is asked for after ready
    for _ in range(100):
        if any(u.endswith(snap["later"]) for u in app_page.requests):
            break
        app_page.page.wait_for_timeout(100)
    assert any(u.endswith(snap["later"]) for u in app_page.requests)
    assert app_page.page.evaluate("() => window.cassisLite.getState().then(() => true)")


def test_a_snapshot_that_does_not_fit_falls_back_to_importing(browser, tmp_path):
    """A site whose snapshot's memory layout differs from what this browser builds (here: a
    config.js claiming a longer function table) must not restore it: the worker notices before
    restoring, starts by importing, and the app works."""
    config_text = (SITE / "config.js").read_text()
    config = json.loads(config_text.split("=", 1)[1].rstrip().rstrip(";"))
    config["snapshot"]["layout"]["tableLength"] += 1
    for entry in SITE.iterdir():
        if entry.name not in ("config.js", "config.js.gz"):
            (tmp_path / entry.name).symlink_to(entry)
    (tmp_path / "config.js").write_text("self.CASSIS_SITE = " + json.dumps(config) + ";\n")
    server, base = serve_dir(tmp_path)
    context = browser.new_context()
    app = AppPage(context.new_page(), base)
    warnings = []
    app.page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    try:
        assert app.goto("index.html") == "ready", app.errors[-3:]
        assert app.page.evaluate("document.documentElement.dataset.cassisBoot") == "import"
        assert any("snapshot not used" in w and "memory layout" in w for w in warnings)
        assert app.api("getState")["spectrum"]["name"] == SAMPLE
    finally:
        context.close()
        server.shutdown()
        server.server_close()


def test_starts_by_importing_without_the_snapshot(app_page, browser, base_url):
    """?nosnapshot (and any snapshot that does not fit) starts the other way: installing the
    wheels and importing; the model is the same to the last bit."""
    context = browser.new_context()
    app = AppPage(context.new_page(), base_url)
    try:
        assert app.goto("index.html?nosnapshot") == "ready", app.errors[-3:]
        assert app.page.evaluate("document.documentElement.dataset.cassisBoot") == "import"
        assert any("/panel-" in u and u.endswith(".whl") for u in app.requests)
        app.api("setModel", MODEL)
        imported = app.api("getModel")
    finally:
        context.close()
    app_page.api("setModel", MODEL)
    restored = app_page.api("getModel")
    assert imported["intensity"] == restored["intensity"] and imported["tau"] == restored["tau"]


def test_default_sample_loads_and_lines_overlay(app_page):
    state = app_page.api("getState")
    sp = cpython_spectrum()
    assert state["spectrum"]["name"] == SAMPLE
    assert state["spectrum"]["n_channels"] == sp.freq_mhz.size
    assert state["spectrum"]["fmin_mhz"] == pytest.approx(sp.freq_mhz[0], rel=1e-15)
    assert state["spectrum"]["fmax_mhz"] == pytest.approx(sp.freq_mhz[-1], rel=1e-15)
    # the plotted spectrum holds every channel (NaN separators between windows are extra)
    y = app_page.bokeh_data("spectrum_source", "y")
    finite = np.array([v for v in y if v is not None and v == v])
    np.testing.assert_allclose(finite, sp.intensity[np.isfinite(sp.intensity)], rtol=0, atol=0)
    # lines: what the page overlays equals what the CPython line database gives
    from cassis_lite.app.state import Session

    s = Session(spectrum=sp)
    expected = s.lines()
    lines = app_page.api("getLines", {})
    assert [r["freq_mhz"] for r in lines] == [float(f) for f in expected.freq_mhz]
    drawn = app_page.bokeh_data("lines_source", "freq_mhz")
    assert any(abs(f - CO_5_4_MHZ) < 1e-3 for f in drawn), "CO 5-4 marker missing"
    co = app_page.api("getLines", {"species": ["CO"]})
    assert {r["species"] for r in co} == {"CO"} and any(abs(r["freq_mhz"] - CO_5_4_MHZ) < 1e-3 for r in co)
    app_page.screenshot("02-sample-lines.png")


MODEL = {
    "telescope": {"name": "hifi"},
    "unit": "Tmb",
    "vlsr_file_kms": 3.8,
    "components": [{"name": "c1", "tex_k": 71.88, "fwhm_kms": 4.891, "vlsr_kms": 3.816, "size_arcsec": 30.0,
                    "interacting": False, "species": [{"species": "CO", "ntot_cm2": 2.261e16}]}],
}


def test_set_model_equals_cli_model(app_page, tmp_path):
    config = dict(MODEL, grid={"fmin_mhz": 576200.0, "fmax_mhz": 576340.0, "step_mhz": 0.05})
    info = app_page.api("setModel", config)
    browser = app_page.api("getModel")
    assert info["n_channels"] == len(browser["freq_mhz"]) == 2801
    cfg = tmp_path / "model.json"
    cfg.write_text(json.dumps(config))
    out = subprocess.run([sys.executable, "-m", "cassis_lite", "model", "--config", str(cfg), "--tau"],
                         capture_output=True, text=True, cwd=ROOT, check=True).stdout
    cli = np.loadtxt(io.StringIO(out), delimiter=",", skiprows=1)
    intensity = np.array(browser["intensity"], dtype=float)
    tau = np.array(browser["tau"], dtype=float)
    np.testing.assert_allclose(np.array(browser["freq_mhz"]), cli[:, 0], rtol=0, atol=5e-7)  # CSV: 6 decimals
    assert intensity.max() > 1.0  # the CO 5-4 line is in the grid
    # the CSV holds 10 significant digits: equal to 1e-9 relative
    np.testing.assert_allclose(intensity, cli[:, 1], rtol=1e-9, atol=1e-9 * np.abs(cli[:, 1]).max())
    np.testing.assert_allclose(tau, cli[:, 2], rtol=1e-9, atol=1e-9 * np.abs(cli[:, 2]).max())


def test_set_model_on_spectrum_grid_equals_cpython(app_page):
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.lte import compute_spectrum

    app_page.api("setModel", MODEL)
    browser = app_page.api("getModel")
    sp = cpython_spectrum()
    ref = compute_spectrum(MODEL, sp.freq_mhz, LineDatabase(), with_tau=True)
    np.testing.assert_array_equal(np.array(browser["freq_mhz"]), sp.freq_mhz)
    np.testing.assert_allclose(np.array(browser["intensity"], dtype=float), ref.intensity, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.array(browser["tau"], dtype=float), ref.tau, rtol=1e-9, atol=1e-12)
    # the plotted model is that model (finite values, window gaps aside)
    y = np.array([v for v in app_page.bokeh_data("model_source", "y") if v is not None and v == v])
    np.testing.assert_allclose(y, ref.intensity, rtol=1e-9, atol=1e-12)
    app_page.screenshot("03-model.png")


def test_moving_a_model_slider_changes_the_plotted_model(app_page):
    before = app_page.bokeh_data("model_source", "y")
    tex_before = app_page.api("getState")["model"]["components"][0]["tex_k"]
    app_page.open_tab("Model")  # the cards' tabs render when opened
    handle = app_page.page.locator(".noUi-handle >> visible=true").nth(1)  # sliders: log N, T_ex, FWHM, v_lsr, size
    handle.wait_for(timeout=30_000)
    handle.focus()
    for _ in range(10):
        handle.press("ArrowRight")
    app_page.page.wait_for_function(
        """(before) => {
             const docs = window.Bokeh.documents;
             const src = docs[docs.length - 1].get_model_by_name('model_source');
             const y = Array.from(src.data.get ? src.data.get('y') : src.data.y);
             return y.length === before.length && y.some((v, i) => v !== before[i]);
           }""", arg=before, timeout=30_000)
    state = app_page.api("getState")
    tex_after = state["model"]["components"][0]["tex_k"]
    assert tex_after > tex_before
    # the plotted model is the CPython model of the new slider state
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.lte import compute_spectrum

    ref = compute_spectrum(state["model"], cpython_spectrum().freq_mhz, LineDatabase())
    y = np.array([v for v in app_page.bokeh_data("model_source", "y") if v is not None and v == v])
    np.testing.assert_allclose(y, ref.intensity, rtol=1e-9, atol=1e-12)
    app_page.screenshot("04-slider.png")


def test_corrupt_file_shows_error_and_keeps_spectrum(app_page, tmp_path):
    before_state = app_page.api("getState")["spectrum"]
    before_y = app_page.bokeh_data("spectrum_source", "y")
    bad = tmp_path / "broken.fits"
    bad.write_bytes(b"SIMPLE  =                    T" + b"\x00\xff" * 500)
    app_page.page.locator("input[type=file]").first.set_input_files(str(bad))
    alert = app_page.page.locator(".cl-message")
    alert.get_by_text("broken.fits").wait_for(timeout=30_000)
    assert alert.is_visible()
    assert app_page.api("getState")["spectrum"] == before_state
    assert app_page.bokeh_data("spectrum_source", "y") == before_y
    app_page.screenshot("05-corrupt-file.png")
    # the scripting API rejects with the same kind of message, state unchanged
    message = app_page.page.evaluate(
        """() => window.cassisLite.loadSpectrum(new TextEncoder().encode('not a spectrum\\n\\x00\\x01').buffer,
                                                'junk.txt').then(() => 'resolved', (e) => e.message)""")
    assert message.startswith("junk.txt") and "Traceback" not in message, message
    assert app_page.api("getState")["spectrum"] == before_state


def test_load_second_sample_by_url(app_page):
    info = app_page.api("loadSpectrum", "samples/41505_28502_147_220GHz.txt")
    sp = cpython_spectrum("41505_28502_147_220GHz.txt")
    assert info["n_channels"] == sp.freq_mhz.size
    assert app_page.api("getState")["spectrum"]["name"] == "41505_28502_147_220GHz.txt"
    assert app_page.page.locator(".cl-message").is_hidden()
    app_page.api("loadSpectrum", "samples/" + SAMPLE)


def test_velocity_axis_is_about_the_stated_rest_frequency(app_page):
    from cassis_lite.units import from_freq_mhz

    set_axis = """(unit) => {
        const doc = window.Bokeh.documents[window.Bokeh.documents.length - 1];
        for (const m of doc.all_models) if (m.title === 'x axis') m.value = unit;
    }"""
    first = app_page.bokeh_data("spectrum_source", "x")[0]
    app_page.page.evaluate(set_axis, "km/s")
    app_page.page.wait_for_function("""(first) => {
        const doc = window.Bokeh.documents[window.Bokeh.documents.length - 1];
        const src = doc.get_model_by_name('spectrum_source');
        const x = Array.from(src.data.get ? src.data.get('x') : src.data.x);
        return x.length > 0 && x[0] !== first;
    }""", arg=first, timeout=30_000)
    x = np.array([np.nan if v is None else v for v in app_page.bokeh_data("spectrum_source", "x")], float)
    x = x[np.isfinite(x)]
    sp = cpython_spectrum()
    f = sp.freq_mhz
    assert x.size == f.size
    view = app_page.api("getState")["view"]
    # LSR velocity about the window's rest frequency (the .lis gives one per window), radio
    assert view["rest_freq_mhz"] == pytest.approx(sp.meta["window_rest_freq_mhz"][view["window"]])
    assert view["velocity_convention"] == "radio"
    np.testing.assert_allclose(x, sp.vlsr_kms + from_freq_mhz(f, "km/s", rest_freq_mhz=view["rest_freq_mhz"]),
                               rtol=1e-9, atol=1e-6)
    # the user sees it: the axis label and the note under the spectrum state it
    label = app_page.page.evaluate("""() => { const doc = window.Bokeh.documents[window.Bokeh.documents.length - 1];
        return doc.get_model_by_name('spectrum_plot').below[0].axis_label; }""")
    assert "radio" in label and f"{view['rest_freq_mhz']:.4f}" in label
    app_page.screenshot("06-velocity-axis.png")
    app_page.page.evaluate(set_axis, "GHz")


def plain_server(directory):
    """A plain static server (Python's), standing for another site."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


HOST_PAGE = "<!doctype html><title>host</title><body><iframe id='app' src='{src}' width=900 height=600></iframe></body>"


def test_postmessage_answers_allowed_origins_only(app_page, browser, tmp_path):
    page = app_page.page
    # the page's own origin is always allowed
    answer = page.evaluate("""() => new Promise((resolve) => {
        window.addEventListener('message', (e) => {
            if (e.data && e.data.cassisLite === 1 && e.data.id === 7 && 'ok' in e.data) resolve(e.data);
        });
        window.postMessage({cassisLite: 1, id: 7, method: 'getState', args: []}, location.origin);
    })""")
    assert answer["ok"] and answer["result"]["spectrum"]["name"] == SAMPLE
    assert page.evaluate("window.CASSIS_SITE.allowedOrigins") == []  # `make site` allows no other origin
    # a host page on another origin (localhost vs 127.0.0.1) embedding the app gets no answer
    (tmp_path / "index.html").write_text(HOST_PAGE.format(src=app_page.base + "index.html"))
    server, host_base = plain_server(tmp_path)  # another site: not cassis-lite serve (nor its policy)
    host_url = host_base.replace("127.0.0.1", "localhost") + "index.html"
    context = browser.new_context()
    try:
        host = context.new_page()
        host.goto(host_url)
        host.frame_locator("#app").locator("html[data-cassis-state=ready]").wait_for(
            state="attached", timeout=180_000)
        got = host.evaluate("""() => new Promise((resolve) => {
            window.addEventListener('message', (e) => {
                if (e.data && e.data.cassisLite === 1 && 'ok' in e.data) resolve(e.data);
            });
            document.getElementById('app').contentWindow.postMessage(
                {cassisLite: 1, id: 1, method: 'getState', args: []}, '*');
            setTimeout(() => resolve('no answer'), 3000);
        })""")
        assert got == "no answer"
    finally:
        context.close()
        server.shutdown()
        server.server_close()


def test_offline_second_visit_with_url_parameters(app_page):
    page = app_page.page
    active = page.evaluate("""() => Promise.race([
        navigator.serviceWorker.ready.then(async (reg) => {
            while (reg.installing || reg.waiting || reg.active.state !== "activated") {
                await new Promise((r) => setTimeout(r, 100));
            }
            return reg.active.state;
        }),
        new Promise((r) => setTimeout(() => r("no active service worker after 60 s"), 60000)),
    ])""")
    assert active == "activated"
    page.context.set_offline(True)
    try:
        state = app_page.goto("index.html?sample=41505_28502_147_220GHz.txt&species=CO&tex=80&fwhm=3")
        assert state == "ready"
        st = app_page.api("getState")
        assert st["spectrum"]["name"] == "41505_28502_147_220GHz.txt"
        comp = st["model"]["components"][0]
        assert comp["tex_k"] == 80 and comp["fwhm_kms"] == 3
        assert comp["species"][0]["species"] == "CO"
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        app_page.screenshot("06-offline-url-params.png")
    finally:
        page.context.set_offline(False)
