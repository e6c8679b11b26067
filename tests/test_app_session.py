"""What a long session in the app showed left behind on switching files, under CPython: each test
is a step a person takes (a result read in a card, another file chosen) and what they then read."""

from __future__ import annotations

import asyncio

from app_view import booted_view
from paths import SAMPLES

LIS = "I16293_Synthetic_CO.lis"
OTHER = "41505_28502_147_220GHz.txt"


def call(v, name, *args):
    return asyncio.run(v.api[name](*args))


def tools_card(v):
    return next(c for c in v.analysis_cards if c.title == "Tools")


def test_the_tools_result_of_a_file_goes_when_another_file_is_shown(line_db):
    v = booted_view()
    card = tools_card(v)
    call(v, "statistics", {"fmin_mhz": 576220.0, "fmax_mhz": 576320.0})
    assert "576220" in card.output.object
    call(v, "baseline", {"regions_mhz": [[576220.0, 576250.0], [576285.0, 576315.0]], "degree": 1,
                         "subtract": True})
    assert "baseline of degree 1" in card.output.object  # processing the same file keeps its result
    v.load((SAMPLES / OTHER).read_bytes(), OTHER)
    assert card.output.object == ""  # the figures were of the other file


def test_the_map_card_does_not_say_the_cube_pixel_is_shown_when_another_file_is(line_db):
    from cube_data import region5_cube

    path = region5_cube()
    v = booted_view()
    v.load(path.read_bytes(), path.name)
    card = v.cube_card
    assert card.pixel_info.object.startswith("Spectrum shown: pixel (23, 18)")
    call(v, "selectPixel", 6, 10)
    assert card.pixel_info.object.startswith("Spectrum shown: pixel (6, 10)")
    v.open_sample(LIS)  # the sample again: the plot shows it, not the cube
    assert "Spectrum shown" not in card.pixel_info.object
    assert "pixel (6, 10)" in card.pixel_info.object and LIS in card.pixel_info.object
    call(v, "selectPixel", 12, 3)  # a click on the map brings the cube back
    assert v.session.spectrum.name == path.name
    assert card.pixel_info.object.startswith("Spectrum shown: pixel (12, 3)")


def test_the_identify_result_of_a_file_goes_when_another_file_is_shown(line_db):
    v = booted_view()
    v.load((SAMPLES / OTHER).read_bytes(), OTHER)
    card = next(c for c in v.analysis_cards if c.title == "Identify")
    d = call(v, "identify", {})
    assert d["features"] and card.feature.options and card.result.object
    v.open_sample(LIS)  # its features were the other file's lines
    assert card.result.object == "" and card.candidates.object == ""
    assert card.feature.options == [] and not card.feature.visible
    assert len(card.source.data["x"]) == 0
