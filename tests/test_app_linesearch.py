"""The Line search card under CPython (the app as the worker builds it): the card gives what
``cassis-lite lines`` gives (same rows, same CSV bytes), its widgets drive the search, a row is
shown in the plot, the citations are shown (escaped) here and in the Lines card, bad input is a
message. The browser half is tests/browser/test_browser_linesearch.py."""

from __future__ import annotations

import asyncio
import io
import json

import numpy as np
import pytest

from app_view import booted_view
from cassis_lite.cli import main
from cassis_lite.errors import CassisError
from cassis_lite.linedb.search import search_lines
from cassis_lite.vo import exports

C_KMS = 299792.458


def call(v, name, *args):
    return asyncio.run(v.api[name](*args))


@pytest.fixture
def v(line_db):
    return booted_view()


def test_search_lines_equals_the_cli(v, capsys):
    rows = call(v, "searchLines", {"fmin": 86, "fmax": 90, "unit": "GHz", "frame": "observed", "vlsr_kms": 8.0,
                                    "eup_max_k": 100, "aij_min": 1e-6, "sort": "aij", "descending": True})
    assert main(["lines", "--fmin", "86", "--fmax", "90", "--unit", "GHz", "--vlsr", "8", "--eup-max", "100",
                 "--aij-min", "1e-6", "--sort=-aij", "--format", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert len(rows) > 3 and rows == cli["transitions"]
    card = v.line_search_card
    assert main(["lines", "--fmin", "86", "--fmax", "90", "--unit", "GHz", "--vlsr", "8", "--eup-max", "100",
                 "--aij-min", "1e-6", "--sort=-aij", "--format", "csv"]) == 0
    assert card.exports.data("csv") == capsys.readouterr().out.encode()
    assert card.exports.data("votable").startswith(b"<?xml")
    # the table shows the rows
    assert list(card.source.data["freq_mhz"]) == [r["freq_mhz"] for r in rows]


def test_species_variants_and_the_widgets(v, line_db):
    card = v.line_search_card
    card.species_input.param.update(value="CH3CN", value_input="CH3CN")
    assert card.variant_select.options and card.variant_select.options[0] == "CH3CN"
    card.variant_select.value = ["CH3CN"]
    card.param.update(fmin=220.70, fmax=220.75, unit="GHz", frame="observed", vlsr_kms=5.0)
    found = card.run_search()
    ref = search_lines(line_db, 220.70, 220.75, unit="GHz", frame="observed", vlsr_kms=5.0, species=["CH3CN"])
    assert len(found) == len(ref) > 3
    np.testing.assert_array_equal(found.transitions.freq_mhz, ref.transitions.freq_mhz)
    np.testing.assert_allclose(found.freq_obs_mhz, ref.transitions.freq_mhz * (1 - 5.0 / C_KMS), rtol=1e-13)
    assert "LAMDA" in card.citations.object and "Sch" in card.citations.object


def test_a_row_is_shown_in_the_plot(v):
    card = v.line_search_card
    call(v, "searchLines", {"fmin": 115.2, "fmax": 115.3, "unit": "GHz", "species": "CO"})
    card.source.selected.indices = [0]
    f = float(card.source.data["freq_mhz"][0])
    assert card.marker.visible
    assert card.marker.location == pytest.approx(float(v.plot.to_x(np.array([f]))[0]))
    a, b = sorted((v.plot.x_range.start, v.plot.x_range.end))
    assert a < card.marker.location < b
    assert "CO" in card.line_info.object


def test_bad_input_is_a_message(v):
    card = v.line_search_card
    with pytest.raises(CassisError, match="inverted"):
        call(v, "searchLines", {"fmin": 2, "fmax": 1})
    assert card.message.visible and "inverted" in card.message.object
    with pytest.raises(CassisError, match="unknown option"):
        call(v, "searchLines", {"fmin": 1, "fmax": 2, "colour": "red"})
    with pytest.raises(CassisError, match="cannot sort"):
        call(v, "searchLines", {"fmin": 1, "fmax": 2, "sort": "colour"})


def test_citations_are_escaped_and_shown_in_the_lines_card(v, line_db):
    html = v.lines_card.citations.object
    assert "LAMDA" in html and "Sch&ouml;ier" not in html and "Schöier" in html
    from cassis_lite.app.text import citations_html

    out = citations_html([{"database": "<script>x</script>", "citation": "a & b <img src=x>"}])
    assert "<script>" not in out and "&lt;script&gt;" in out and "<img" not in out


def test_csv_export_reads_back(v):
    import csv

    rows = call(v, "searchLines", {"fmin": 86, "fmax": 90, "unit": "GHz", "source": "CDMS"})
    back = list(csv.DictReader(io.StringIO(v.line_search_card.exports.data("csv").decode())))
    assert [float(r["freq_mhz"]) for r in back] == [r["freq_mhz"] for r in rows]
    assert {r["source"] for r in back} == {"CDMS"}
    assert exports.export("lines", v.line_search_card._result.transitions, "csv") == \
        v.line_search_card.exports.data("csv")


def test_the_plots_range_is_taken_observed(v):
    card = v.line_search_card
    d = v.plot.lines_source.data
    x_co = next(x for s, x in zip(d["species"], d["x"]) if s == "CO")  # a CO marker the plot draws
    f_co = float(v.plot.from_x(np.array([x_co]))[0])
    v.plot.set_range(f_co - 20.0, f_co + 20.0, pad=0.0)
    card.plot_range_button.clicks += 1
    sp = v.session.spectrum
    assert card.frame == "observed" and card.unit in ("MHz", "GHz")
    scale = 1.0 if card.unit == "MHz" else 1e3
    assert card.fmin * scale == pytest.approx(f_co - 20.0, abs=1e-3)
    assert card.fmax * scale == pytest.approx(f_co + 20.0, abs=1e-3)
    assert card.vlsr_kms == pytest.approx(float(v.view.vlsr_kms or 0) - float(sp.vlsr_kms or 0))
    # the search puts CO where the plot's markers put it
    rows = call(v, "searchLines", {"fmin": card.fmin, "fmax": card.fmax, "unit": card.unit, "frame": "observed",
                                    "vlsr_kms": card.vlsr_kms, "z": card.redshift, "species": "CO"})
    assert rows
    xs = v.plot.to_x(np.array([r["freq_obs_mhz"] for r in rows]))
    assert np.min(np.abs(xs - x_co)) < 1e-6 * abs(x_co)
