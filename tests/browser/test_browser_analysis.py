"""End-to-end: identification, LTE fit, rotational diagram and v_lsr search in the browser app.

Each ``window.cassisLite`` call is checked against the matching ``cassis-lite`` command run by
CPython on the same sample file (``--format json``): the same keys and the same numbers (to
1e-7 relative, 1-sigma errors to 1e-5: the browser's BLAS/libm differ from CPython's in the
last digits (NumPy's AVX-512 exp/log on this machine kind, WebAssembly's libm in the page), which
a finite-difference Jacobian amplifies and which change the optimiser's path, so the number of
evaluations is not compared), and the text and plots the page shows are those numbers.
SciPy must not be downloaded before the first analysis that needs it.
One app boot for the module.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from conftest import ARTIFACTS, ROOT, SITE
from i16293 import CASSIS_VALUES, co_fit_config

pytestmark = pytest.mark.browser

SAMPLE = "I16293_Synthetic_CO.lis"
RTOL = 1e-7
PATH_KEYS = {"n_eval"}  # how the optimiser got there: depends on last-digit arithmetic
ERR_RTOL = 1e-5  # 1-sigma errors: from finite-difference Jacobians, which amplify last-digit differences

# the CASSIS team's I16293 CO fit (tests/i16293.py, tests/test_fit_lte.py::test_i16293_co_against_cassis)
CO_FIT = co_fit_config()


def cli_json(*args) -> dict:
    out = subprocess.run([sys.executable, "-m", "cassis_lite", *args, "--format", "json"],
                         capture_output=True, text=True, cwd=ROOT, check=True).stdout
    return json.loads(out)


def assert_same(browser, cli, path="", rtol=RTOL):
    """The browser's JSON equals the CLI's: same keys, strings, counts; numbers to ``rtol``
    (JSON null in the page is the CLI's NaN)."""
    if isinstance(cli, dict):
        assert isinstance(browser, dict), path
        missing = set(cli) - set(browser)
        assert not missing, f"{path}: keys missing in the browser's answer: {sorted(missing)}"
        for k in set(cli) - PATH_KEYS:
            assert_same(browser[k], cli[k], f"{path}.{k}", max(rtol, ERR_RTOL) if "err" in k else rtol)
    elif isinstance(cli, list):
        assert isinstance(browser, list) and len(browser) == len(cli), f"{path}: {browser!r} vs {cli!r}"
        for i, (b, c) in enumerate(zip(browser, cli)):
            assert_same(b, c, f"{path}[{i}]", rtol)
    elif isinstance(cli, float) and not math.isfinite(cli):
        assert browser is None or (isinstance(browser, float) and not math.isfinite(browser)), path
    elif isinstance(cli, bool) or cli is None or isinstance(cli, str):
        assert browser == cli, f"{path}: {browser!r} != {cli!r}"
    elif isinstance(cli, int) and not isinstance(browser, float):
        assert browser == cli, f"{path}: {browser!r} != {cli!r}"
    else:
        # abs: rounding noise of exact zeros (a 2-point chi2)
        assert browser == pytest.approx(cli, rel=rtol, abs=1e-20), f"{path}: {browser!r} != {cli!r}"


def page_text(app_page, css: str, contains: str, timeout=60_000) -> str:
    """Text of the first element matching ``css`` (shadow DOM pierced) once it contains ``contains``."""
    loc = app_page.page.locator(css, has_text=contains).first
    loc.wait_for(timeout=timeout)
    return loc.inner_text()


def full_screenshot(app_page, name: str):
    """The whole page (plot at the top, the side column's cards below the fold)."""
    ARTIFACTS.mkdir(exist_ok=True)
    app_page.page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def scipy_requests(app_page) -> list[str]:
    return [u for u in app_page.requests if "/scipy" in u.lower()]


def test_identify_loads_scipy_lazily_and_equals_cli(app_page):
    assert app_page.api("getState")["spectrum"]["name"] == SAMPLE
    assert scipy_requests(app_page) == [], "SciPy was downloaded before an analysis asked for it"
    browser = app_page.api("identify", {})
    assert scipy_requests(app_page), "identify did not load SciPy"
    cli = cli_json("identify", str(SITE / "samples" / SAMPLE))
    cli["file"] = SAMPLE
    assert_same(browser, cli)
    assert [s["species"] for s in browser["species"]] == ["CO", "13CO"]
    # the page's table shows those species and column densities (CPython's formatting)
    app_page.open_tab("Identify")
    text = page_text(app_page, "table.cl-identify-table", "13CO")
    for s in cli["species"]:
        assert s["species"] in text and f"{s['ntot_cm2']:.3e}" in text
    # candidates of the first feature, as the CLI ranks them
    cand = page_text(app_page, "table.cl-candidates-table", cli["features"][0]["candidates"][0]["species"])
    assert f"{cli['features'][0]['candidates'][0]['freq_mhz']:.4f}" in cand
    # the identification's model is drawn over the spectrum (finite values = every channel)
    from cassis_lite.analysis.identify import LteSetup, identify_spectrum
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.readers import read_spectrum

    sp = read_spectrum((SITE / "samples" / SAMPLE).read_bytes(), name=SAMPLE)
    ref = identify_spectrum(sp.freq_mhz, sp.intensity, LineDatabase(),
                            LteSetup(vlsr_kms=sp.vlsr_kms, vlsr_file_kms=sp.vlsr_kms)).model
    y = np.array([v for v in app_page.bokeh_data("identify_model_source", "y") if v is not None and v == v])
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-9)  # the file is in K: drawn as computed
    full_screenshot(app_page, "analysis-01-identify.png")


def test_fit_i16293_co_equals_cli_and_becomes_the_model(app_page, tmp_path):
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.lte import compute_spectrum

    browser = app_page.api("fit", CO_FIT)
    cfg = tmp_path / "fit.json"
    cfg.write_text(json.dumps(CO_FIT))
    cli = cli_json("fit", str(SITE / "samples" / SAMPLE), "--config", str(cfg))
    cli["file"] = SAMPLE
    assert_same(browser, cli)
    # CASSIS's values (the team's fit)
    p = browser["parameters"]
    assert p["c1_tex"]["value"] == pytest.approx(CASSIS_VALUES["c1_tex"], rel=3e-3)
    assert p["c1_vlsr"]["value"] == pytest.approx(CASSIS_VALUES["c1_vlsr"], abs=0.005)
    # the report as CASSIS prints it, in the page
    app_page.open_tab("Fit")
    text = page_text(app_page, "pre.cl-report", "c1_vlsr = ")
    assert "c1_vlsr = 3.82 +/- 0.02 (0.40%)" in text
    assert text.strip() == browser["report"].strip()
    # the fitted configuration is the live model, and the plotted model is CPython's model of it
    state = app_page.api("getState")
    assert_same(state["model"], cli["config"])
    sp_freq = np.array(app_page.api("getModel")["freq_mhz"])
    ref = compute_spectrum(cli["config"], sp_freq, LineDatabase())
    y = np.array([v for v in app_page.bokeh_data("model_source", "y") if v is not None and v == v])
    np.testing.assert_allclose(y, ref.intensity, rtol=1e-6, atol=1e-9)
    # the model card's sliders follow the fit
    assert state["model"]["components"][0]["tex_k"] == pytest.approx(p["c1_tex"]["value"], rel=1e-12)
    full_screenshot(app_page, "analysis-02-fit.png")


def test_find_velocity_equals_cli_and_fills_the_vlsr_box(app_page):
    browser = app_page.api("findVelocity", {"species": "CO"})
    cli = cli_json("vlsr", str(SITE / "samples" / SAMPLE), "--species", "CO")
    cli["file"] = SAMPLE
    assert_same(browser, cli)
    assert browser["value"] == pytest.approx(3.817, abs=0.01)
    # the typed box (top bar) and the slider of the v_lsr card hold the found value
    app_page.open_tab("v_lsr")
    for title in ("v_lsr (km/s)", "v_lsr of the lines (km/s)"):
        app_page.page.wait_for_function("""([title, v]) => {
            const doc = window.Bokeh.documents[window.Bokeh.documents.length - 1];
            // the box is the NumericInput of that title (the model card's slider has it too)
            return [...doc.all_models].some((m) => m.title === title && (title !== 'v_lsr (km/s)' || 'placeholder' in m)
                                                   && Math.abs(m.value - v) < 1e-6);
        }""", arg=[title, round(cli["value"], 6)], timeout=30_000)
    text = page_text(app_page, "pre.cl-report", "v_lsr = ")
    assert text.strip() == browser["report"].strip()


def test_rotational_diagram_button_plots_cli_points(app_page):
    # through the card's button (an async Panel callback in the worker), not the API
    doc_set = """([title, attr, value]) => {
        const doc = window.Bokeh.documents[window.Bokeh.documents.length - 1];
        for (const m of doc.all_models) if (m.title === title && attr in m) { m[attr] = value; }
    }"""
    app_page.open_tab("Rot. diagram")
    app_page.page.locator("button", has_text="Rotational diagram").wait_for(timeout=30_000)
    app_page.page.evaluate(doc_set, ["v min (km/s)", "value", -2.0])
    app_page.page.evaluate(doc_set, ["v max (km/s)", "value", 10.0])
    app_page.page.locator("button", has_text="Rotational diagram").last.click()
    text = page_text(app_page, "pre.cl-report", "T_rot = ")
    cli = cli_json("rotdiagram", str(SITE / "samples" / SAMPLE), "--species", "CO", "--vmin", "-2", "--vmax", "10")
    cli["file"] = SAMPLE
    from cassis_lite.fitting.parameters import format_value_error

    assert f"T_rot = {format_value_error(cli['t_rot_k'], cli['t_rot_err_k'])} K" in text
    assert f"N_tot = {format_value_error(cli['ntot_cm2'], cli['ntot_err_cm2'])} cm-2" in text
    x = app_page.bokeh_data("rotdiagram_points", "x")
    y = app_page.bokeh_data("rotdiagram_points", "y")
    np.testing.assert_allclose(x, [pt["eup_k"] for pt in cli["points"]], rtol=1e-12)
    np.testing.assert_allclose(y, [pt["ln_nu_gu"] for pt in cli["points"]], rtol=RTOL)
    # the fitted line: ln(N/Q(T)) - E_up / T_rot
    lx = np.array(app_page.bokeh_data("rotdiagram_line", "x"))
    ly = np.array(app_page.bokeh_data("rotdiagram_line", "y"))
    np.testing.assert_allclose(np.diff(ly) / np.diff(lx), -1.0 / cli["t_rot_k"], rtol=RTOL)
    # and the API answers the CLI's JSON
    browser = app_page.api("rotationalDiagram", {"species": "CO", "vmin_kms": -2, "vmax_kms": 10})
    assert_same(browser, cli)
    assert text.strip().splitlines()[0] == browser["report"].splitlines()[0]
    full_screenshot(app_page, "analysis-03-rotdiagram-vlsr.png")


def test_bad_options_reject_with_a_message(app_page):
    msg = app_page.page.evaluate("""() => window.cassisLite.findVelocity({species: 'CO', vmn_kms: 3})
        .then(() => 'resolved', (e) => e.message)""")
    assert msg.startswith("unknown v_lsr option 'vmn_kms'"), msg
    msg = app_page.page.evaluate("""() => window.cassisLite.fit({components: []})
        .then(() => 'resolved', (e) => e.message)""")
    assert "component" in msg and "Traceback" not in msg, msg
