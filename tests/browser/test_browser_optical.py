"""End-to-end: optical/UV spectra in the browser, driven through the UI.

Real files (the SDSS quasar of tests/data, with its inverse-variance extension) for the axes and
the uncertainty band; a C IV absorber and a synthetic/observed stellar pair made with the core
(tests/optical_data.py: no such real spectrum is in the repository) for the Absorption and
Broadening cards. The browser's numbers are checked against ``cassis-lite`` run by CPython
(``absorption fit``, ``absorption ew``, ``cog``) and against the core (``broaden``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, VIEWPORTS, close_app, new_app, wait_for
from optical_data import CIV, write_civ_spectrum, write_star_pair

pytestmark = pytest.mark.browser

SDSS = ROOT / "tests" / "data" / "SDSSJ220248.31+123656.3.fits"
C_KMS = 299792.458
DOC = "window.Bokeh.documents[window.Bokeh.documents.length - 1]"
MODEL_VALUE = f"""([title, type]) => {{
    for (const m of {DOC}.all_models) {{ if (m.title === title && m.type === type) return m.value; }}
    return null;
}}"""


def cli_json(*args):
    out = subprocess.run([sys.executable, "-m", "cassis_lite", *map(str, args), "--format", "json"],
                         capture_output=True, text=True, cwd=ROOT, check=True).stdout
    return json.loads(out)


def finite(values) -> np.ndarray:
    a = np.array([np.nan if v is None else v for v in values], float)
    return a


def open_file(app, path) -> None:
    app.page.locator("#cl-file").set_input_files(str(path))
    wait_for(lambda: (app.api("getState").get("spectrum") or {}).get("name") == path.name, 60, f"{path.name} open")


def type_into(app, label: str, text) -> None:
    """Type in the visible box of that title (number boxes have no label element tied to them)."""
    title = app.page.locator("label", has_text=re.compile(f"^\\s*{re.escape(label)}\\s*$"))
    field = app.page.locator(".bk-input-group", has=title).locator("input, textarea").locator("visible=true").first
    field.fill(str(text))
    field.press("Tab")


def click(app, name: str) -> None:
    app.page.get_by_role("button", name=name, exact=True).first.click()


def text_of(app, css: str, contains: str, timeout=90_000) -> str:
    app.page.locator(css, has_text=contains).first.wait_for(timeout=timeout)
    return app.text(css)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("optical")
    write_civ_spectrum(d / "civ_absorber.csv")
    write_star_pair(d / "synthetic_star.csv", d / "observed_star.csv")
    return d


def test_sdss_spectrum_in_angstrom_with_its_uncertainty_band(app_page):
    from cassis_lite.readers import read_spectrum
    from cassis_lite.units import vacuum_to_air

    open_file(app_page, SDSS)
    view = app_page.api("getState")["view"]
    assert view["x_unit"] == "Angstrom" and view["x_label"] == "Wavelength (A, vacuum)"
    assert view["y_label"] == "1E-17 erg/cm^2/s/Ang" and view["uncertainty_band"] is True
    sp = read_spectrum(SDSS)
    np.testing.assert_allclose(finite(app_page.bokeh_data("uncertainty_source", "upper")),
                               sp.intensity + sp.uncertainty, rtol=1e-12, equal_nan=True)
    app_page.screenshot("optical-01-sdss-vacuum.png")
    # the axis in air: chosen in the top bar, said on the axis, the curve moved by Morton (2000)
    app_page.page.get_by_label("x axis").first.select_option(label="Wavelength (A, air)")
    wait_for(lambda: app_page.api("getState")["view"]["x_label"] == "Wavelength (A, air)", 30, "the air axis")
    x = finite(app_page.bokeh_data("spectrum_source", "x"))
    np.testing.assert_allclose(x, vacuum_to_air(sp.wavelength("angstrom") * 1e-10) * 1e10, rtol=1e-12)
    axis_label = app_page.page.evaluate(f"() => {DOC}.get_model_by_name('spectrum_plot').below[0].axis_label")
    assert axis_label == "Wavelength (A, air)"
    app_page.screenshot("optical-02-sdss-air.png")


def test_absorption_card_fit_and_measurements_equal_the_command_line(app_page, files, tmp_path):
    path = files / "civ_absorber.csv"
    open_file(app_page, path)
    n = app_page.api("getState")["spectrum"]["n_channels"]
    app_page.open_tab("Absorption")
    type_into(app_page, "system redshift z", 1.6)
    type_into(app_page, "components: v (km/s) b (km/s) log N per ion", "-15 10 13.4\n30 10 13.0")
    wait_for(lambda: len(app_page.bokeh_data("absorption_model_source", "y")) == n, 60, "the Voigt model drawn")
    click(app_page, "Fit")
    table = text_of(app_page, ".cl-absorption-fit", "reduced chi-square")
    # the CLI on the same file with the card's configuration (v, b, log N free)
    config = {"redshift": 1.6, "lsf": {"resolving_power": 45000.0}, "tie_b_v": True,
              "components": [{"name": f"c{i + 1}", "v_kms": {"value": v, "vary": True, "min": v - 50, "max": v + 50},
                              "b_kms": {"value": 10.0, "vary": True, "min": 0.5, "max": 200.0},
                              "ions": [{"ion": "C IV", "logn_cm2": {"value": n_, "vary": True, "min": 8.0,
                                                                   "max": 22.0}}]}
                             for i, (v, n_) in enumerate(((-15.0, 13.4), (30.0, 13.0)))],
              "fit": {"windows_kms": [-200.0, 200.0]}}
    (tmp_path / "abs.json").write_text(json.dumps(config))
    ref = cli_json("absorption", "fit", path, "--config", tmp_path / "abs.json")
    for comp in ref["components"]:
        r = comp["ions"]["C IV"]
        assert f"{r['logn_cm2']:.3f} +/- {r['logn_err']:.3f}" in table
    assert f"reduced chi-square {ref['reduced_chi2']:.3f}" in table
    got = app_page.api("absorptionFit", config)
    assert got["reduced_chi2"] == pytest.approx(ref["reduced_chi2"], rel=1e-7)
    for a, b in zip(got["components"], ref["components"]):
        for key in ("logn_cm2", "b_kms", "v_kms"):
            assert a["ions"]["C IV"][key] == pytest.approx(b["ions"]["C IV"][key], rel=1e-7, abs=1e-8)
            err = key.split("_")[0] + "_err"
            # 1-sigma errors from a finite-difference Jacobian: libm's last digits (AVX-512 NumPy here,
            # WebAssembly in the page) move them by ~1e-6
            assert a["ions"]["C IV"][err] == pytest.approx(b["ions"]["C IV"][err], rel=1e-5)
    # the truth (tests/optical_data.py) within 3 sigma
    for comp, (v, b, logn) in zip(got["components"], CIV["components"]):
        assert abs(comp["ions"]["C IV"]["logn_cm2"] - logn) < 3 * comp["ions"]["C IV"]["logn_err"] + 0.02
    app_page.screenshot("optical-03-absorption-fit.png")
    # equivalent widths of the doublet typed in the card, then the curve of growth
    for w0 in (1548.204, 1550.781):
        lo, hi = round(w0 * 2.6 * (1 - 100 / C_KMS), 3), round(w0 * 2.6 * (1 + 100 / C_KMS), 3)
        type_into(app_page, "from (A)", lo)
        type_into(app_page, "to (A)", hi)
        click(app_page, "Equivalent width")
        ref = cli_json("absorption", "ew", path, "--wmin", lo, "--wmax", hi, "--z", 1.6)["equivalent_width"]
        text_of(app_page, ".cl-absorption-measure", f"W = {ref['ew_ma']:.4g} +/- {ref['ew_err_ma']:.4g} mA")
        got = app_page.api("equivalentWidth", {"wmin_a": lo, "wmax_a": hi})
        assert got["ew_ma"] == pytest.approx(ref["ew_ma"], rel=1e-10)
    click(app_page, "Fit the curve of growth")
    text_of(app_page, ".cl-cog-result", "log N =")
    wait_for(lambda: len(app_page.bokeh_data("cog_lines_source", "x")) == 2, 30, "the lines on the curve of growth")
    assert len(app_page.bokeh_data("cog_curve_source", "x")) > 10
    records = app_page.api("curveOfGrowth", {"ion": "C IV", "wrest_a": 1548.2, "b_kms": [5, 10, 20],
                                             "logn_cm2": [12, 13, 14, 15]})
    ref = cli_json("cog", "--ion", "C IV", "--wrest", 1548.2, "--b", 5, 10, 20, "--logn", 12, 13, 14, 15)
    assert [r["b_kms"] for r in records] == [r["b_kms"] for r in ref]
    np.testing.assert_allclose([r["ew_ma"] for r in records], [r["ew_ma"] for r in ref], rtol=1e-10)
    app_page.page.locator(".cl-side").first.evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
    app_page.screenshot("optical-04-absorption-cog.png")
    # a bad component line is said in the card; the page keeps running
    type_into(app_page, "components: v (km/s) b (km/s) log N per ion", "-15 ten 13.4")
    text_of(app_page, ".cl-absorption-model-note", "is not numbers")


def test_radial_velocity_slider_moves_the_synthetic_spectrum(app_page, files):
    from cassis_lite.optical import broaden
    from cassis_lite.readers import read_spectrum

    syn, obs = files / "synthetic_star.csv", files / "observed_star.csv"
    open_file(app_page, syn)
    open_file(app_page, obs)
    app_page.open_tab("Broadening")
    app_page.page.get_by_label("synthetic spectrum").first.select_option(label=syn.name)
    wait_for(lambda: len(app_page.bokeh_data("broadened_source", "x")) > 1000, 60, "the synthetic spectrum drawn")
    x0, y0 = finite(app_page.bokeh_data("broadened_source", "x")), finite(app_page.bokeh_data("broadened_source", "y"))
    handle = app_page.page.locator(".cl-rv-slider .noUi-handle").first
    handle.wait_for(timeout=30_000)
    handle.focus()
    for _ in range(20):
        handle.press("ArrowRight")
    wait_for(lambda: app_page.page.evaluate(MODEL_VALUE, ["V_rad (km/s)", "Slider"]) == 10.0, 30, "V_rad 10")
    wait_for(lambda: finite(app_page.bokeh_data("broadened_source", "y")).tolist() != y0.tolist(), 30, "a redraw")
    rv = app_page.page.evaluate(MODEL_VALUE, ["V_rad (km/s)", "Slider"])
    wait_for(lambda: abs(_minimum(app_page) - _minimum_of(x0, y0) - 5891.583 * rv / C_KMS) < 0.02, 30,
             "the line moved by lambda v / c")
    sp = read_spectrum(syn)
    ref = broaden(sp.wavelength("angstrom"), sp.intensity, rv_kms=rv)
    np.testing.assert_allclose(finite(app_page.bokeh_data("broadened_source", "y")), ref, rtol=1e-9, atol=1e-12)
    app_page.screenshot("optical-05-broadening.png")


def _minimum_of(x, y) -> float:
    k = (x > 5886) & (x < 5896)
    return float(x[k][np.argmin(y[k])])


def _minimum(app) -> float:
    return _minimum_of(finite(app.bokeh_data("broadened_source", "x")), finite(app.bokeh_data("broadened_source", "y")))


@pytest.mark.parametrize("viewport", ["laptop", "phone"])
def test_absorption_card_at_other_viewports(browser, base_url, files, viewport):
    app, context = new_app(browser, base_url, viewport=VIEWPORTS[viewport])
    try:
        open_file(app, files / "civ_absorber.csv")
        app.open_tab("Absorption")
        type_into(app, "system redshift z", 1.6)
        type_into(app, "components: v (km/s) b (km/s) log N per ion", "-20 8 13.6\n35 12 13.2")
        wait_for(lambda: len(app.bokeh_data("absorption_model_source", "y")) > 0, 60, "the Voigt model drawn")
        fit = app.page.get_by_role("button", name="Fit", exact=True).first
        fit.scroll_into_view_if_needed()
        box = fit.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORTS[viewport][0]
        app.screenshot(f"optical-06-absorption-{viewport}.png")
    finally:
        close_app(app, context, base_url)
