"""The app's state and screen under CPython (no browser): the view is built as the worker builds it,
its params are moved as widgets move them, and what would be drawn is read from the Bokeh sources.

The invariant the app owes the user: after any action, the model in force, the sliders, the
components table, the fit's starting point and the line markers agree, in the frame of the
spectrum on screen. ``agree`` checks it after sequences of actions in several orders.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math

import numpy as np
import pytest
from bokeh.document import Document

from cassis_lite.app.view import CassisView
from cassis_lite.app.worker import apply_url_parameters
from cassis_lite.constants import C_LIGHT_KMS
from cassis_lite.lte import compute_spectrum
from paths import SAMPLES

LIS = "I16293_Synthetic_CO.lis"
PROFILE = "41505_28502_147_220GHz.txt"


def samples():
    return {n: (SAMPLES / n).read_bytes() for n in (LIS, PROFILE)}


@pytest.fixture
def app(line_db):
    v = CassisView(samples=samples(), samples_meta=json.loads((SAMPLES / "samples.json").read_text()))
    v.open_sample(LIS)
    v.layout.get_root(Document())  # as the page has it: every widget and model exists
    v.add_analysis()
    return v


def call(v, name, *args):
    return asyncio.run(v.api[name](*args))


def finite(values):
    a = np.array([np.nan if x is None else x for x in values], dtype=float)
    return a[np.isfinite(a)]


def agree(v, line_db, script_frame=None):
    """Model in force == sliders == table == fit start == markers == plotted model."""
    s = v.session
    sp, cfg = s.spectrum, s.model_config
    comp, first = cfg.components[0], cfg.components[0].species[0]
    assert cfg.vlsr_file_kms == (sp.vlsr_kms if script_frame is None else script_frame)
    card = v.model_card
    assert (card.tex_k, card.fwhm_kms, card.vlsr_kms) == (comp.tex_k, comp.fwhm_kms, comp.vlsr_kms)
    assert card.species == str(first.species)
    assert card.log_ntot == pytest.approx(math.log10(first.ntot_cm2), abs=1e-12)
    for key in ("tex_k", "fwhm_kms", "vlsr_kms"):
        assert card.sliders[key].value == getattr(comp, key)
        assert card.table._widgets[(0, None, key)].value == getattr(comp, key)
    start = json.loads(v.analysis_cards[1].config_text)
    c0 = start["components"][0]
    assert c0["vlsr_kms"]["value"] == comp.vlsr_kms and c0["tex_k"]["value"] == comp.tex_k
    assert start["vlsr_file_kms"] == cfg.vlsr_file_kms
    # the plotted model is the model in force, computed again here
    ref = compute_spectrum(cfg, sp.freq_mhz, line_db).intensity * v.plot.y_factor(sp.freq_mhz, cfg.unit)
    np.testing.assert_allclose(finite(v.plot.model_source.data["y"]), ref[np.isfinite(ref)], rtol=1e-12, atol=1e-12)
    # the markers: the lines of the database at the markers' v_lsr, on the axis in use
    drawn = np.asarray(v.plot.lines_source.data["x"], dtype=float)
    t = s.lines()
    f_obs = t.freq_mhz * (1 - (v.view.vlsr_kms - sp.vlsr_kms) / C_LIGHT_KMS)
    np.testing.assert_allclose(drawn, v.plot.to_x(f_obs), rtol=1e-12)


# --------------------------------------------------------------------------- stale state

def test_switching_spectrum_moves_model_sliders_table_and_fit_start_to_the_new_file(app, line_db):
    agree(app, line_db)
    app.model_card.vlsr_kms = 4.2  # the user moves the slider on the .lis (v_lsr 3.8)
    agree(app, line_db)
    app.open_sample(PROFILE)  # v_lsr 3.0
    assert app.session.model_config.vlsr_file_kms == 3.0 and app.session.model_config.components[0].vlsr_kms == 3.0
    assert app.view.vlsr_kms == 3.0
    agree(app, line_db)


def test_fit_after_switching_spectrum_fits_in_the_new_files_frame(app, line_db):
    """The issue's case: a fit on the CH3CN profile (v_lsr 3.0) after the .lis (3.8) must not
    start, nor end, at the old file's v_lsr."""
    app.open_sample(PROFILE)
    app.model_card.param.update(species="CH3CN", log_ntot=13.5, tex_k=60.0, fwhm_kms=2.5)
    agree(app, line_db)
    d = call(app, "fit", None)
    vlsr = d["parameters"]["c1_vlsr"]
    assert d["config"]["vlsr_file_kms"] == 3.0
    # CASSIS-independent check: the v_lsr search on the same lines finds the same velocity
    v = call(app, "findVelocity", {"species": "CH3CN", "vmin_kms": -20, "vmax_kms": 20, "fwhm_kms": 2.5})
    assert vlsr["value"] == pytest.approx(v["value"], abs=3 * max(vlsr["stderr"], v["error"]) + 0.05)
    agree(app, line_db)


ACTIONS = {
    "switch": lambda v: v.open_sample(PROFILE if v.session.spectrum.name == LIS else LIS),
    "window": lambda v: setattr(v.view, "window", (v.view.window + 1) % len(v.session.spectrum.windows())),
    "axis": lambda v: setattr(v.view, "x_unit", "km/s" if v.view.x_unit != "km/s" else "GHz"),
    "unit": lambda v: setattr(v.view, "y_unit", "Jy/beam" if v.view.y_unit == "K" else "K"),
    "slider": lambda v: setattr(v.model_card, "tex_k", v.model_card.tex_k + 7.0),
}


@pytest.mark.parametrize("order", [p for i, p in enumerate(itertools.permutations(ACTIONS)) if i % 12 == 0])
def test_any_order_of_actions_leaves_everything_in_agreement(app, line_db, order):
    for name in order:
        ACTIONS[name](app)
        agree(app, line_db)
        # the plot is never empty: the range in view holds channels of the spectrum
        x = finite(app.plot.spectrum_source.data["x"])
        lo, hi = sorted((app.plot.x_range.start, app.plot.x_range.end))
        assert np.count_nonzero((x >= lo) & (x <= hi)) > 10, name


def test_set_model_by_script_is_in_the_spectrums_frame_unless_it_says(app, line_db):
    model = {"telescope": {"name": "hifi"}, "components": [{"name": "c1", "tex_k": 80, "fwhm_kms": 4,
             "vlsr_kms": 3.8, "size_arcsec": 30, "species": [{"species": "CO", "ntot_cm2": 1e16}]}]}
    call(app, "setModel", model)
    assert app.session.model_config.vlsr_file_kms == 3.8  # the embed demo's case: CO on its line
    agree(app, line_db)
    call(app, "setModel", dict(model, vlsr_file_kms=0.0))
    agree(app, line_db, script_frame=0.0)
    app.model_card.tex_k = 90.0  # a slider keeps the script's frame
    agree(app, line_db, script_frame=0.0)
    app.open_sample(PROFILE)  # a new file: its frame
    agree(app, line_db)


# --------------------------------------------------------------------------- velocity axis

def test_velocity_axis_is_about_a_stated_rest_frequency_in_the_files_lsr_frame(app):
    app.view.x_unit = "km/s"
    sp = app.session.spectrum
    state = call(app, "getState")["view"]
    w = sp.windows()[app.view.window]
    # the .lis gives each window's rest frequency: the axis is about it, radio, LSR
    assert state["rest_freq_mhz"] == pytest.approx(sp.meta["window_rest_freq_mhz"][app.view.window])
    assert "window" in state["rest_source"] and state["velocity_convention"] == "radio"
    x = finite(app.plot.spectrum_source.data["x"])
    f = sp.freq_mhz
    np.testing.assert_allclose(x, sp.vlsr_kms + C_LIGHT_KMS * (1 - f / state["rest_freq_mhz"]), rtol=1e-12)
    # the line of the window sits at the source v_lsr on that axis (the file is synthetic at 3.8 km/s)
    peak = f[w][np.argmax(sp.intensity[w])]
    assert sp.vlsr_kms + C_LIGHT_KMS * (1 - peak / state["rest_freq_mhz"]) == pytest.approx(3.8, abs=1.0)
    # another window: its own rest frequency, and the plot shows it (not empty)
    app.view.window = (app.view.window + 1) % len(sp.windows())
    assert call(app, "getState")["view"]["rest_freq_mhz"] != state["rest_freq_mhz"]
    lo, hi = sorted((app.plot.x_range.start, app.plot.x_range.end))
    assert -200 < lo < hi < 200
    # a typed rest frequency and another convention
    app.view.param.update(rest_freq_mhz=576267.9305, velocity_convention="optical")
    x = finite(app.plot.spectrum_source.data["x"])
    np.testing.assert_allclose(x, sp.vlsr_kms + C_LIGHT_KMS * (576267.9305 / f - 1), rtol=1e-12)


# --------------------------------------------------------------------------- URL parameters

def test_url_parameters_bad_values_are_reported_and_ignored(app):
    before = app.session.model_config
    problems = apply_url_parameters(app, {"tex": ["abc"], "fwhm": ["-3"], "ntot": ["0"]})
    assert len(problems) == 3 and "tex='abc' is not a number" in problems[0]
    assert app.session.model_config == before


def test_url_parameters_beyond_a_slider_widen_it_and_vlsr_is_not_overridden(app):
    problems = apply_url_parameters(app, {"tex": ["400"], "vlsr": ["5.5"], "species": ["13CO"]})
    assert problems == []
    comp = app.session.model_config.components[0]
    assert (comp.tex_k, comp.vlsr_kms, comp.species[0].species) == (400.0, 5.5, "13CO")
    assert app.model_card.sliders["tex_k"].end >= 400.0 and app.model_card.tex_k == 400.0
    # beyond the partition function's table: refused, said, and the model stays
    problems = apply_url_parameters(app, {"tex": ["1000"]})
    assert len(problems) == 1 and "1000 K is outside" in problems[0]
    assert app.session.model_config.components[0].tex_k == 400.0


# --------------------------------------------------------------------------- the plot

def test_y_follows_the_data_in_view_and_labels_stay_inside(app):
    p = app.plot
    sp = app.session.spectrum
    f0 = 576267.9305 * (1 - 0 / C_LIGHT_KMS)
    p.set_range(f0 - 5, f0 + 5, pad=0.0)
    p.draw_curves()
    p._on_x_range("end", None, None)
    inside = (sp.freq_mhz >= f0 - 5) & (sp.freq_mhz <= f0 + 5)
    peak = float(np.nanmax(sp.intensity[inside]))
    assert p.y_range.end > peak and p.y_range.end < 1.6 * peak  # the markers do not pin it
    # away from the line, the scale shrinks to the noise
    p.set_range(f0 + 30, f0 + 40, pad=0.0)
    p._on_x_range("end", None, None)
    assert p.y_range.end < 0.5 * peak
    # labels: anchored at the top, written downwards, never more than the slots
    labels = p.labels_source.data
    assert all(y == p.y_range.end for y in labels["y"])
    assert len(labels["x"]) <= 90


def test_dense_markers_become_ticks_at_the_top_and_full_height_when_zoomed_in(app, line_db):
    """Thousands of lines over a wide continuous band would hide the spectrum: beyond
    DENSE_MARKERS in view they are short ticks in the labels' headroom; zoomed in, full height."""
    from cassis_lite.app.plot import DENSE_MARKERS

    freq = np.linspace(200_000.0, 260_000.0, 60_001)
    text = "\n".join(f"{f:.3f} {0.1 * math.sin(f / 7.0):.5f}" for f in freq)
    app.load(text.encode(), "wide band.txt")
    p = app.plot
    p.set_range(freq[0], freq[-1], pad=0.0)
    p._on_x_range("end", None, None)
    d = p.lines_source.data
    x = np.asarray(d["x"], dtype=float)
    a, b = sorted((p.x_range.start, p.x_range.end))
    assert np.count_nonzero((x >= a) & (x <= b)) > DENSE_MARKERS  # the bundled lines over 60 GHz
    lo, hi = p.y_range.start, p.y_range.end
    assert np.all(np.asarray(d["y1"]) == hi)
    assert np.all(np.asarray(d["y0"]) > lo + 0.8 * (hi - lo))  # ticks above the data
    f_co = 230538.0  # CO 2-1: a few lines in view
    p.set_range(f_co - 20, f_co + 20, pad=0.0)
    p._on_x_range("end", None, None)
    x = np.asarray(p.lines_source.data["x"], dtype=float)
    a, b = sorted((p.x_range.start, p.x_range.end))
    assert 0 < np.count_nonzero((x >= a) & (x <= b)) <= DENSE_MARKERS
    assert np.all(np.asarray(p.lines_source.data["y0"]) == p.y_range.start)


def test_components_curves_and_switches(app, line_db):
    call(app, "setModel", {"telescope": {"name": "hifi"}, "components": [
        {"name": "warm", "tex_k": 80, "fwhm_kms": 4, "vlsr_kms": 3.8, "size_arcsec": 30,
         "species": [{"species": "CO", "ntot_cm2": 1e16}]},
        {"name": "cold", "tex_k": 15, "fwhm_kms": 1, "vlsr_kms": 4.2, "size_arcsec": 30, "interacting": True,
         "species": [{"species": "CO", "ntot_cm2": 1e16}]}]})
    assert not app.plot.components_legend.visible  # no empty legend entry while they are not drawn
    app.view.show_components = True
    names = app.plot.components_source.data["name"]
    assert names == ["warm", "cold"] and app.plot.components_legend.visible
    # each curve is that component alone, computed again here
    cfg = app.session.model_config.to_dict()
    cfg["components"][1]["enabled"] = False
    alone = compute_spectrum(cfg, app.session.spectrum.freq_mhz, line_db).intensity
    np.testing.assert_allclose(finite(app.plot.components_source.data["ys"][0]), alone[np.isfinite(alone)], rtol=1e-12)
    # the table's switch disables a component: the model follows
    app.model_card.table._widgets[(1, None, "enabled")].value = False
    assert not app.session.model_config.components[1].enabled
    np.testing.assert_allclose(finite(app.plot.model_source.data["y"]), alone[np.isfinite(alone)], rtol=1e-12)


def test_model_json_and_ltm_round_trip_through_the_card(app, line_db):
    from cassis_lite.lte.ltm import write_ltm

    text = app.model_card._model_json().getvalue()
    cfg = app.session.model_config
    app.model_card.upload.filename = "m.ltm"
    app.model_card.upload.value = write_ltm(cfg).encode()
    got = app.session.model_config
    assert got.components[0].tex_k == pytest.approx(cfg.components[0].tex_k)
    assert got.components[0].species[0].ntot_cm2 == pytest.approx(cfg.components[0].species[0].ntot_cm2, rel=1e-6)
    app.model_card.upload.filename = "m.json"
    app.model_card.upload.value = text
    assert app.session.model_config.to_dict() == json.loads(text)


def test_a_bad_model_file_is_a_message_and_the_model_stays(app):
    before = app.session.model_config
    app.model_card.upload.filename = "broken.json"
    app.model_card.upload.value = b"{not json"
    assert app.model_card.message.visible and "broken.json" in app.model_card.message.object
    assert app.session.model_config == before


def test_collect_garbage_then_lines_still_answer(app):
    before = call(app, "getLines", {"species": ["CO"]})
    assert call(app, "collectGarbage")["collected"] >= 0
    assert call(app, "getLines", {"species": ["CO"]}) == before


def test_a_model_file_named_after_its_content_arrives_is_read_by_its_content(app):
    # the page may send the content before the name: a .ltm read while the name is still the
    # previous file's is read as .ltm (by its content), then again under its own name
    from cassis_lite.lte import ModelConfig
    from cassis_lite.lte.ltm import write_ltm

    cfg = app.session.model_config.to_dict()
    cfg["components"][0]["tex_k"] = 77.0
    app.model_card.upload.value = write_ltm(ModelConfig.from_dict(cfg)).encode()
    assert app.session.model_config.components[0].tex_k == pytest.approx(77.0)
    assert not app.model_card.message.visible
    app.model_card.upload.filename = "late_name.ltm"
    assert app.session.model_config.components[0].tex_k == pytest.approx(77.0)


def test_reopening_a_file_replaces_it_in_its_place(app):
    app.session.load_spectrum((SAMPLES / PROFILE).read_bytes(), PROFILE)
    names = [e.original.name for e in app.session.spectra]
    colours = [e.colour for e in app.session.spectra]
    app.session.load_spectrum((SAMPLES / LIS).read_bytes(), LIS)
    assert [e.original.name for e in app.session.spectra] == names == [LIS, PROFILE]
    assert [e.colour for e in app.session.spectra] == colours
    assert app.session.spectrum.name == LIS


def test_the_analysis_cards_arrive_without_replacing_the_first_screens_widgets(line_db):
    # the page keeps the widgets it drew at start: had their models been replaced, what a person
    # types in them would be dropped by the document (a patch that names a removed model)
    v = CassisView(samples=samples(), samples_meta=json.loads((SAMPLES / "samples.json").read_text()),
                   defer_analysis=True)
    v.open_sample(LIS)
    doc = Document()
    root = v.layout.get_root(doc)
    doc.add_root(root)
    before = {m.id for m in doc.models}
    assert v.lines_card.species_input._models[root.ref["id"]][0].id in before
    v.add_analysis()
    doc.models.recompute()
    after = {m.id for m in doc.models}
    assert before <= after, f"{len(before - after)} models of the first screen replaced"
    assert len(after) > len(before)


def _download(widget) -> bytes:
    return widget.callback().getvalue()


def test_the_spectrum_model_and_lines_export_as_csv_votable_and_fits(app, line_db):
    import io
    import warnings

    from astropy.io import fits
    from astropy.io.votable import parse

    from cassis_lite.readers import read_spectrum
    from cassis_lite.vo.linelist import transitions_from_fits, transitions_from_votable

    def strict(data):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return parse(io.BytesIO(data), verify="exception").get_first_table()

    s = app.session
    sp, model = s.spectrum, s.model
    spectrum_csv, spectrum_vot, spectrum_fits = app.spectra_card.exports.buttons
    assert spectrum_vot.filename == "I16293_Synthetic_CO.vot" and not spectrum_vot.disabled
    for button in (spectrum_csv, spectrum_vot, spectrum_fits):
        back = read_spectrum(_download(button), name=button.filename)
        np.testing.assert_array_equal(back.freq_mhz, sp.freq_mhz)
        np.testing.assert_array_equal(back.intensity, sp.intensity)
        assert back.vlsr_kms == sp.vlsr_kms
    with fits.open(io.BytesIO(_download(spectrum_fits))) as hdul:
        np.testing.assert_array_equal(np.sort(hdul[1].data["FREQ"]), sp.freq_mhz)

    model_csv, model_vot, model_fits = app.model_card.exports.buttons
    rows = np.loadtxt(io.StringIO(_download(model_csv).decode()), delimiter=",", skiprows=1, ndmin=2)
    np.testing.assert_allclose(rows[:, 1], model.intensity, rtol=1e-9, atol=1e-12)
    table = strict(_download(model_vot)).to_table()
    np.testing.assert_array_equal(table["FREQ"], model.freq_mhz)
    np.testing.assert_array_equal(table["FLUX"], model.intensity)
    with fits.open(io.BytesIO(_download(model_fits))) as hdul:
        np.testing.assert_array_equal(hdul[1].data["FLUX"], model.intensity)

    s.set_filters({"species": "CO, 13CO"})
    shown = s.lines()
    assert len(shown) > 0
    lines_csv, lines_vot, lines_fits = app.lines_card.exports.buttons
    vot = _download(lines_vot)
    assert len(strict(vot).array) == len(shown)
    for back in (transitions_from_votable(vot), transitions_from_fits(_download(lines_fits))):
        np.testing.assert_array_equal(back.freq_mhz, shown.freq_mhz)
        assert back.species_names.tolist() == shown.species_names.tolist()
    text = _download(lines_csv).decode().splitlines()
    assert text[0].startswith("species,tag,freq_mhz") and len(text) == len(shown) + 1


def test_an_export_with_nothing_to_export_is_disabled_and_said(app):
    from cassis_lite.app.cards.base import ExportButtons

    empty = ExportButtons(app.lines_card, "model", lambda: None, "x")
    assert all(b.disabled for b in empty.buttons)
    assert _download(empty.buttons[1]) == b""
    assert app.lines_card.message.visible and "no model to export" in app.lines_card.message.object


def test_a_link_restores_the_screen_it_was_made_from(app, line_db):
    from cassis_lite.app.link import decode_state

    s, v = app.session, app.view
    app.open_sample(PROFILE)
    s.set_filters({"species": "CH3CN, CO", "eup_max_k": 150})
    d = s.model_config.to_dict()
    d["components"][0]["tex_k"] = 61.5
    d["components"][0]["species"].append({"species": "13CO", "ntot_cm2": 3e15})
    s.set_model(d)
    v.x_unit = "km/s"
    v.rest_freq_mhz = 147149.068
    v.y_unit = app.view.param.y_unit.objects[0]
    v.vlsr_kms = 2.5
    lo, hi = s.spectrum.freq_mhz[100], s.spectrum.freq_mhz[900]
    app.plot.show_freq_range(lo, hi)
    made = app.link_state()
    link = call(app, "shareLink")
    assert link["notes"] == [] and link["fragment"].startswith("state=")

    other = CassisView(samples=samples(), samples_meta=json.loads((SAMPLES / "samples.json").read_text()))
    other.open_sample(LIS)  # what a visitor's page opens first
    assert asyncio.run(other.restore_link(decode_state("#" + link["fragment"]))) == []
    restored = other.link_state()
    np.testing.assert_allclose(restored["view"].pop("freq_range_mhz"), made["view"].pop("freq_range_mhz"), rtol=1e-12)
    assert restored == made
    assert other.session.spectrum.name == PROFILE
    assert other.session.model_config.components[0].tex_k == 61.5
    np.testing.assert_array_equal(other.session.model.intensity, s.model.intensity)
    assert other.lines_card.species_input.value == "CH3CN, CO"  # the widgets show what was restored
    drawn = app.plot.lines_source.data["freq_mhz"]
    assert len(drawn) > 0
    np.testing.assert_array_equal(other.plot.lines_source.data["freq_mhz"], drawn)


def test_filters_set_by_a_script_stay_and_the_widgets_show_them(app):
    # the Lines card once re-read its (stale) typed text when its widgets were set, undoing them
    call(app, "getLines", {"species": "CO"})
    app.session.set_filters({"species": "13CO", "eup_max_k": 80})
    assert app.session.filters.species == ("13CO",) and app.session.filters.eup_max_k == 80
    assert app.lines_card.species_input.value == "13CO" and app.lines_card.eup_input.value == 80
    app.lines_card.species_input.value_input = "CO"  # then the user types
    app.lines_card._apply()
    assert app.session.filters.species == ("CO",)


def test_a_link_holds_no_local_file_and_says_so(app):
    from cassis_lite.app.link import decode_state

    app.load((SAMPLES / PROFILE).read_bytes(), "my_own_file.txt")
    link = call(app, "shareLink")
    assert "my_own_file.txt was opened from a local file" in link["notes"][0]
    state = decode_state(link["fragment"])
    assert "spectrum" not in state and "view" not in state and state["model"]["components"]
    assert "my_own_file" not in json.dumps(state)


@pytest.mark.parametrize("fragment, message", [
    ("#state=AAAA", "damaged"),
    ("#state=" + "%%%", "damaged"),
    ("state=" + __import__("base64").urlsafe_b64encode(__import__("zlib").compress(b"[1, 2]")).decode(), "not an object"),
    ("state=" + __import__("base64").urlsafe_b64encode(__import__("zlib").compress(b'{"v": 9}')).decode(), "another version"),
    ("state=" + __import__("base64").urlsafe_b64encode(__import__("zlib").compress(b'{"v": 1, "x": 1}')).decode(),
     "unknown keys"),
    ("state=" + __import__("base64").urlsafe_b64encode(__import__("zlib").compress(b" " * 300_000)).decode(), "over 256"),
])
def test_a_damaged_link_is_refused_with_a_reason(fragment, message):
    from cassis_lite.app.link import LinkError, decode_state

    with pytest.raises(LinkError, match=message):
        decode_state(fragment)


def test_the_parts_of_a_link_that_do_not_apply_are_said_and_the_rest_applies(app):
    state = {"v": 1, "spectrum": {"sample": "nope.fits"}, "lines": {"species": "NoSuchMolecule"},
             "model": {"components": [{"tex_k": -3, "fwhm_kms": 1, "species": []}]},
             "view": {"x_unit": "parsec", "y_unit": "K", "freq_range_mhz": ["a", 2]}, "database": "0123"}
    before = app.link_state()
    problems = asyncio.run(app.restore_link(state))
    text = " | ".join(problems)
    for part in ("another line database", "sample 'nope.fits' is not bundled", "line filters", "model"):
        assert part in text, text
    assert app.link_state() == before  # nothing applied that could not be


def test_component_one_switches_to_non_lte_and_its_sliders_drive_radex(app, line_db):
    card = app.model_card
    card.param.update(species="CO", log_ntot=16.5)
    card.excitation = "non-LTE (RADEX)"
    assert not card.message.visible, card.message.object
    comp = app.session.model_config.components[0]
    assert comp.model == "radex" and comp.tkin_k == card.tkin_k and comp.density_cm3 == {"H2": 1e4}
    assert not card.sliders["tex_k"].visible and card.sliders["tkin_k"].visible and card.sliders["log_nh2"].visible
    card.param.update(tkin_k=80.0, log_nh2=5.5, geometry="lvg")
    comp = app.session.model_config.components[0]
    assert (comp.tkin_k, comp.geometry) == (80.0, "lvg")
    assert comp.density_cm3["H2"] == pytest.approx(10 ** 5.5, rel=1e-12)
    # the plotted model is the command line's for the same JSON
    cfg = app.session.model_config
    expected = compute_spectrum(cfg, app.session.spectrum.freq_mhz, line_db)
    np.testing.assert_allclose(app.session.model.intensity, expected.intensity, rtol=1e-12, atol=1e-12)
    assert np.nanmax(app.session.model.intensity) > 0.1
    assert app.plot.model_legend.label.value == "non-LTE model"
    assert card.table._widgets[(0, None, "tkin_k")].value == 80.0  # the table shows T_kin, not T_ex
    # a script's RADEX model shows in the card; back to LTE, T_ex rules again
    d = cfg.to_dict()
    d["components"][0].update(tkin_k=25.0, density_cm3={"pH2": 1e3, "oH2": 3e3})
    call(app, "setModel", d)
    assert card.tkin_k == 25.0 and card.log_nh2 == pytest.approx(math.log10(4e3), rel=1e-12)
    card.log_nh2 = math.log10(8e3)  # p-H2 and o-H2 scaled together
    dens = app.session.model_config.components[0].density_cm3
    assert dens["pH2"] == pytest.approx(2e3) and dens["oH2"] == pytest.approx(6e3)
    card.excitation = "LTE"
    comp = app.session.model_config.components[0]
    assert comp.model == "lte" and comp.tex_k == card.tex_k and card.sliders["tex_k"].visible
    assert app.plot.model_legend.label.value == "LTE model"


def test_non_lte_for_a_species_without_collision_data_is_said_and_the_model_stays(app):
    card = app.model_card
    card.species = "13C18O"  # in the line database, no collision rates
    before = app.session.model_config.to_dict()
    card.excitation = "non-LTE (RADEX)"
    assert card.message.visible and "13C18O" in card.message.object
    assert app.session.model_config.to_dict() == before and card.excitation == "LTE"


def test_radex_call_returns_the_command_lines_json(app, line_db):
    import subprocess
    import sys

    got = call(app, "radex", {"species": "CO", "tkin_k": [20, 60], "density_cm3": {"H2": 1e4}, "ntot_cm2": 1e16,
                              "fwhm_kms": 2, "fmax_mhz": 700000})
    out = subprocess.run([sys.executable, "-m", "cassis_lite", "radex", "--species", "CO", "--tkin", "20", "60",
                          "--nh2", "1e4", "--ntot", "1e16", "--fwhm", "2", "--fmax", "700000", "--format", "json",
                          "--db", str(line_db.path)], capture_output=True, text=True, check=True)
    assert json.loads(json.dumps(got)) == json.loads(out.stdout)
    assert len(got["models"]) == 2 and got["models"][0]["lines"][0]["transition"] == "1 -> 0"
    with pytest.raises(Exception, match="unknown radex option 'nh2'"):
        call(app, "radex", {"species": "CO", "nh2": 1e4})


def test_the_fit_card_fits_t_kin_and_density_of_a_radex_component(app):
    card = app.model_card
    card.param.update(species="CO", log_ntot=16.3)
    card.excitation = "non-LTE (RADEX)"
    card.param.update(tkin_k=60.0, log_nh2=5.0)
    d = call(app, "fit", None)
    p = d["parameters"]
    assert {"c1_tkin", "c1_density_H2", "c1_ntot_CO", "c1_fwhm", "c1_vlsr"} <= set(p)
    # the I16293 sample is an LTE synthetic spectrum: the non-LTE fit goes to densities above
    # CO 5-4's critical density (towards the LTE limit; the two lines leave n poorly bound) and finds
    # the line width and velocity of the LTE fit (4.90, 3.82 km/s)
    assert p["c1_density_H2"]["value"] > 1e5
    assert p["c1_vlsr"]["value"] == pytest.approx(3.82, abs=0.05) and p["c1_fwhm"]["value"] == pytest.approx(4.9, abs=0.15)
    assert app.session.model_config.components[0].model == "radex"  # the result became the model


def test_partition_selector_of_the_model_card_sets_the_model_and_get_state(app, line_db):
    card, s = app.model_card, app.session
    assert card.partition == "refined (~0.1 %)" and s.model_config.partition == "refined"
    assert call(app, "getState")["partition"] == "refined"
    card.param.update(log_ntot=12.0, tex_k=10.0)  # CO, optically thin
    refined = finite(app.plot.model_source.data["y"])
    card.partition_select.value = "catalogue table (as CASSIS)"  # the user picks CASSIS's convention
    assert s.model_config.partition == "catalogue"
    state = call(app, "getState")
    assert state["partition"] == "catalogue" and state["model"]["partition"] == "catalogue"
    catalogue = finite(app.plot.model_source.data["y"])
    agree(app, line_db)  # the plotted model is the catalogue-Q model, computed again
    q_ref = line_db.partition_function("CO").q(10.0)
    q_cat = line_db.partition_function("CO", partition="catalogue").q(10.0)
    assert q_cat / q_ref - 1 > 1.5e-3  # the table's interpolation is 0.16 % high there
    peak = np.argmax(refined)
    assert refined[peak] > 0
    assert refined[peak] / catalogue[peak] == pytest.approx(q_cat / q_ref, rel=1e-5)  # optically thin: 1/Q
    # a model set by script shows its setting in the card
    cfg = s.model_config.to_dict()
    cfg.pop("partition")
    call(app, "setModel", cfg)
    assert card.partition == "refined (~0.1 %)" and s.model_config.partition == "refined"
