"""The app with optical/UV spectra (CPython, the same code as in the worker): wavelength axes in
vacuum and air, the uncertainty band, the Absorption and Broadening cards, and their numbers
against the command line (subprocess) and independent values."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import numpy as np
import pytest

from cassis_lite.app.view import CassisView
from cassis_lite.units import C_LIGHT_KMS, vacuum_to_air
from tests.optical_data import CIV, STAR, write_civ_spectrum, write_star_pair
from tests.paths import ROOT

SDSS = ROOT / "tests" / "data" / "SDSSJ220248.31+123656.3.fits"
XSHOOTER = ROOT / "tests" / "data" / "XShooter_XQ100.fits.gz"


def run(coro):
    return asyncio.run(coro)


def cli(*args) -> str:
    out = subprocess.run([sys.executable, "-m", "cassis_lite", *map(str, args)], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def view():
    return CassisView(webgl=False)


def card(view, title):
    return next(c for c in view.cards if c.title == title)


def test_wavelength_file_comes_in_its_unit_and_convention(view):
    view.load((ROOT / "data" / "samples" / "I16293_Synthetic_CO.lis").read_bytes(), "I16293_Synthetic_CO.lis")
    assert view.view.show_model and len(view.plot.model_source.data["x"])
    view.load(SDSS.read_bytes(), SDSS.name)
    assert view.view.x_unit == "Angstrom" and view.plot.x_label() == "Wavelength (A, vacuum)"
    assert not view.view.show_model and len(view.plot.model_source.data["x"]) == 0  # no LTE model in K here
    assert view.plot.y_label() == "1E-17 erg/cm^2/s/Ang"  # the file's unit, as written
    x = np.asarray(view.plot.spectrum_source.data["x"])
    assert x.min() == pytest.approx(3553.857, abs=1e-3) and x.max() == pytest.approx(10356.19, abs=1e-2)
    view.load(XSHOOTER.read_bytes(), XSHOOTER.name)
    assert view.view.x_unit == "nm" and view.plot.x_label() == "Wavelength (nm, vacuum)"
    assert view.plot.y_label() == "erg s**(-1) cm**(-2) nm**(-1)"
    # a radio file afterwards: back to GHz
    view.load((ROOT / "data" / "samples" / "I16293_Synthetic_CO.lis").read_bytes(), "I16293_Synthetic_CO.lis")
    assert view.view.x_unit == "GHz" and view.view.show_model


def test_air_axis_uses_morton_and_markers_follow(view):
    view.load(SDSS.read_bytes(), SDSS.name)
    view.session.set_filters({"species": ["Na I"]})
    vac = np.asarray(view.plot.lines_source.data["x"])
    view.view.x_unit = "Angstrom air"
    assert view.plot.x_label() == "Wavelength (A, air)"
    air = np.asarray(view.plot.lines_source.data["x"])
    # Na I D2: 5891.583 A vacuum, 5889.951 A air (NIST ASD; Morton 2000 eq. 8 gives the same to 1 mA)
    i = int(np.argmin(np.abs(vac - 5891.583)))
    assert vac[i] == pytest.approx(5891.583, abs=2e-3) and air[i] == pytest.approx(5889.951, abs=2e-3)
    np.testing.assert_allclose(air, vacuum_to_air(vac * 1e-10) * 1e10, rtol=1e-12)
    # the spectrum moves the same way, the view keeps its frequencies
    x = np.asarray(view.plot.spectrum_source.data["x"])
    np.testing.assert_allclose(x, vacuum_to_air(view.session.spectrum.wavelength("angstrom") * 1e-10) * 1e10,
                               rtol=1e-12)
    for unit, label in (("nm air", "Wavelength (nm, air)"), ("um", "Wavelength (um, vacuum)"),
                        ("cm-1", "Wavenumber (cm-1, vacuum)")):
        view.view.x_unit = unit
        assert view.plot.x_label() == label
    view.view.x_unit = "cm-1"
    np.testing.assert_allclose(view.plot.spectrum_source.data["x"], 1e8 / view.session.spectrum.wavelength("angstrom"),
                               rtol=1e-12)


def test_uncertainty_band_is_flux_pm_sigma(view):
    from astropy.io import fits

    view.load(SDSS.read_bytes(), SDSS.name)
    assert view.plot.band_shown()
    with fits.open(SDSS) as h:
        flux, ivar, wave = (h[i].data.astype(float) for i in range(3))
    order = np.argsort(-wave)
    sigma = np.where(ivar > 0, 1 / np.sqrt(np.where(ivar > 0, ivar, 1)), np.nan)[order]
    d = view.plot.band_source.data
    np.testing.assert_allclose(d["lower"], (flux[order] - sigma), rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(d["upper"], (flux[order] + sigma), rtol=1e-6, equal_nan=True)
    # a file without errors has no band
    view.load((ROOT / "data" / "samples" / "I16293_Synthetic_CO.lis").read_bytes(), "I16293_Synthetic_CO.lis")
    assert not view.plot.band_shown() and len(view.plot.band_source.data["x"]) == 0


def test_absorption_fit_ew_cog_equal_the_command_line(view, tmp_path):
    path = tmp_path / "civ.csv"
    write_civ_spectrum(path)
    view.load(path.read_bytes(), path.name)
    assert view.view.x_unit == "Angstrom"
    c = card(view, "Absorption")
    c.param.update(redshift=CIV["redshift"], ions="C IV", components="-15 10 13.4\n30 10 13.0", lsf_value=45000)
    assert len(c.model_source.data["x"]) == len(view.session.spectrum)  # drawn live
    config = c.config(free=True)
    got = run(c.absorption_fit(None))
    (tmp_path / "abs.json").write_text(json.dumps(config))
    ref = json.loads(cli("absorption", "fit", path, "--config", tmp_path / "abs.json", "--format", "json"))
    assert got["reduced_chi2"] == pytest.approx(ref["reduced_chi2"], rel=1e-9) and got["n_free"] == 6
    for a, b in zip(got["components"], ref["components"]):
        for key in ("logn_cm2", "logn_err", "b_kms", "b_err", "v_kms", "v_err"):
            assert a["ions"]["C IV"][key] == pytest.approx(b["ions"]["C IV"][key], rel=1e-7, abs=1e-9)
    # the truth within 3 sigma
    for comp, (v, b, logn) in zip(got["components"], CIV["components"]):
        r = comp["ions"]["C IV"]
        assert abs(r["logn_cm2"] - logn) < 3 * r["logn_err"] + 0.02 and abs(r["v_kms"] - v) < 3 * r["v_err"] + 0.5
    assert "reduced chi-square" in c.fit_output.object and c.components.splitlines()[0].startswith("-")
    # equivalent widths of both lines of the doublet, then the curve of growth
    ews = []
    for w0 in (1548.204, 1550.781):
        lo, hi = w0 * 2.6 * (1 - 100 / C_LIGHT_KMS), w0 * 2.6 * (1 + 100 / C_LIGHT_KMS)
        e = run(c.equivalent_width({"wmin_a": lo, "wmax_a": hi}))
        r = json.loads(cli("absorption", "ew", path, "--wmin", lo, "--wmax", hi, "--z", 1.6, "--format", "json"))
        assert e["ew_ma"] == pytest.approx(r["equivalent_width"]["ew_ma"], rel=1e-10)
        assert e["ew_err_ma"] == pytest.approx(r["equivalent_width"]["ew_err_ma"], rel=1e-10)
        assert e["ion"] == "C IV" and e["wrest_a"] == pytest.approx(w0, abs=1e-3)
        ews.append(e)
    assert len(c.measured) == 2
    cog = run(c.fit_cog())
    csv = tmp_path / "ews.csv"
    csv.write_text("wrest_a,ew_ma,ew_err_ma\n" + "".join(f"{e['wrest_a']},{e['ew_ma']},{e['ew_err_ma']}\n" for e in ews))
    ref = json.loads(cli("cog", "--ion", "C IV", "--fit", csv, "--format", "json"))
    assert cog["parameters"]["logn_cm2"]["value"] == pytest.approx(ref["parameters"]["logn_cm2"]["value"], rel=1e-9)
    assert len(c.cog_sources["lines"].data["x"]) == 2
    records = run(c.curve_of_growth({"ion": "C IV", "wrest_a": 1548.2, "b_kms": [5, 10], "logn_cm2": [12, 14]}))
    ref = json.loads(cli("cog", "--ion", "C IV", "--wrest", 1548.2, "--b", 5, 10, "--logn", 12, 14, "--format", "json"))
    assert records == ref
    # AOD of the stronger line
    a = run(c.apparent_column({"ion": "C IV", "wrest_a": 1548.204, "vmin_kms": -80, "vmax_kms": 90}))
    r = json.loads(cli("absorption", "ew", path, "--ion", "C IV", "--wrest", 1548.204, "--vmin", -80, "--vmax", 90,
                       "--z", 1.6, "--format", "json"))["apparent_column"]
    assert a["logn_cm2"] == pytest.approx(r["logn_cm2"], rel=1e-12)


def test_continuum_normalisation_on_a_real_spectrum(view):
    view.load(XSHOOTER.read_bytes(), XSHOOTER.name)
    c = card(view, "Absorption")
    c.regions = "1000-1100; 1200-1300"  # nm is the axis; typed in A: nothing there
    with pytest.raises(Exception, match="no finite pixel"):
        run(c.fit_continuum())
    c.param.update(regions="10500-11000; 12000-13000; 15500-16500", order=2)
    r = run(c.fit_continuum())
    assert r["n_used"] > 1000 and len(c.continuum_source.data["x"]) > 0
    run(c.normalise())
    sp = view.session.spectrum
    assert sp.y_unit == "normalised" and view.plot.y_label() == "normalised"
    assert sp.meta["processing"][-1]["step"] == "continuum normalisation"
    kept = (sp.wavelength("angstrom") > 15500) & (sp.wavelength("angstrom") < 16500)
    assert abs(np.nanmedian(sp.intensity[kept]) - 1) < 0.05


def test_radial_velocity_slider_shifts_the_synthetic_spectrum(view, tmp_path):
    syn, obs = tmp_path / "synthetic.csv", tmp_path / "observed.csv"
    data = write_star_pair(syn, obs)
    view.load(syn.read_bytes(), syn.name)
    view.load(obs.read_bytes(), obs.name)
    b = card(view, "Broadening")
    assert b.param.synthetic.objects == ["(none)", syn.name, obs.name]
    b.synthetic = syn.name
    x0 = np.asarray(b.source.data["x"])
    y0 = np.asarray(b.source.data["y"])
    k = (x0 > 5886) & (x0 < 5895)
    w_min0 = x0[k][np.argmin(y0[k])]
    b.rv_kms = 50.0
    x1, y1 = np.asarray(b.source.data["x"]), np.asarray(b.source.data["y"])
    w_min1 = x1[k][np.argmin(y1[k])]
    assert w_min1 - w_min0 == pytest.approx(5891.583 * 50 / C_LIGHT_KMS, abs=0.02)  # 0.98 A
    # the same numbers as the command line
    got = run(b.broaden({"rv_kms": STAR["rv_kms"], "vsini_kms": STAR["vsini_kms"],
                         "resolving_power": STAR["resolving_power"]}))
    out = cli("broaden", syn, "--rv", 25, "--vsini", 15, "--resolution", 20000)
    table = np.loadtxt([ln for ln in out.splitlines() if ln and not ln.startswith("#")][1:], delimiter=",")
    ref = table[np.argsort(table[:, 0]), 1]  # freq_mhz ascending, as the spectrum
    np.testing.assert_allclose(got["flux"], ref, rtol=1e-8, atol=1e-9)
    assert np.all(np.asarray(got["wave_a"]) > 0) and data["model"].min() < 0.5


def test_velocity_axis_about_a_line_and_untied_components(view, tmp_path):
    from cassis_lite.optical import AbsorptionModel

    path = tmp_path / "civ.csv"
    write_civ_spectrum(path)
    view.load(path.read_bytes(), path.name)
    c = card(view, "Absorption")
    c.param.update(redshift=1.6, aod_wrest=1548.204)
    c.velocity_axis()
    assert view.view.x_unit == "km/s" and view.view.velocity_convention == "optical"
    assert view.plot.x_label() == f"velocity (km/s, optical, rest {1548.204 * 2.6:.3f} A vacuum)"
    x = np.asarray(view.plot.spectrum_source.data["x"])
    wave = view.session.spectrum.wavelength("angstrom")
    np.testing.assert_allclose(x, C_LIGHT_KMS * (wave / (1548.204 * 2.6) - 1), rtol=1e-9, atol=1e-6)
    # b and v of each ion on their own: one b and one v per (component, ion)
    c.param.update(ions="C IV, Si IV", components="0 10 13.5 12.8", tie_b_v=False)
    model = AbsorptionModel(c.config(free=True), view.session.db)
    assert {"c1_b_C_IV", "c1_v_C_IV", "c1_b_Si_IV", "c1_v_Si_IV"} <= set(model.make_params())
    c.components = "0 10 13.5"  # one log N for two ions: said, nothing drawn
    assert "needs 4 numbers" in c.model_error.object and len(c.model_source.data["x"]) == 0
