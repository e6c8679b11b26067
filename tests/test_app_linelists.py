"""Line lists beside the database in the app (cassis_lite.linedb.lists, cards/linelists.py), and the
events the page sends other applications (SAMP) when a cube pixel or a line is chosen.

The SLAP list comes from a real ``cassis-lite serve`` (a subprocess) fetched over HTTP, and is
compared with ``cassis-lite lines`` for the same range; the hand-written lists' expected rows follow
from their text."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest
from bokeh.events import Tap

from app_view import booted_view
from cassis_lite.errors import CassisError, UnknownSpeciesError
from cassis_lite.spectrum import window_mask
from cassis_lite.vo import exports
from cube_data import region5_cube
from paths import ROOT, SAMPLES

LIS = "I16293_Synthetic_CO.lis"


def call(v, name, *args):
    return asyncio.run(v.api[name](*args))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    (site / "index.html").write_text("<!doctype html>")
    proc = subprocess.Popen([sys.executable, "-m", "cassis_lite", "serve", "--dir", str(site), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        first = proc.stdout.readline()
        assert " at http://127.0.0.1:" in first, first
        yield first.split(" at ")[1].split()[0].rstrip("/") + "/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def make_app(fetch_url=None):
    return booted_view(fetch_url)


@pytest.fixture
def app(line_db):
    return make_app()


def window_of(v):
    f = v.session.spectrum.freq_mhz
    return float(f[0]), float(f[-1])


def listed(v, species):
    return [r for r in v.session.lines().to_records() if r["species"] == species]


def test_a_list_of_species_the_database_lacks_overlays_filters_and_merges(app, line_db):
    lo, hi = window_of(app)
    co = line_db.transitions(lo, hi, species=["CO"])
    co = co[window_mask(app.session.spectrum.freq_mhz, co.freq_mhz)]  # the file's windows only
    assert len(co) >= 1
    text = ("species,freq_mhz,eup_k,aij,qn\n"
            f"Fe II,{lo + 1.0!r},12.5,1e-5,a-b\n"
            f"Fe II,{hi - 1.0!r},,2e-6,c-d\n"  # no E_up: fails an E_up filter
            f"Fe II,{hi + 50.0!r},3.0,1e-5,outside\n"  # beyond the spectrum
            f"CO,{float(co.freq_mhz[0]) + 0.5!r},40.0,3e-7,list CO\n")
    answer = app.open_table(text.encode(), "atoms.csv", spectrum_first=False)
    assert answer == {"kind": "lines", "name": "atoms.csv", "n_lines": 4}
    assert "atoms.csv: 4 lines" in app.line_lists.listing.object
    drawn = app.plot.lines_source.data
    fe = [f for s, f in zip(drawn["species"], drawn["freq_mhz"]) if s == "Fe II"]
    assert fe == [lo + 1.0, hi - 1.0]  # overlaid in the spectrum's range only
    assert list(drawn["freq_mhz"]) == sorted(drawn["freq_mhz"])

    app.session.set_filters({"species": "Fe II"})
    assert [r["qn"] for r in app.session.lines().to_records()] == ["a-b", "c-d"]
    app.session.set_filters({"species": "fe ii", "eup_max_k": 100})
    assert [r["qn"] for r in app.session.lines().to_records()] == ["a-b"]
    app.session.set_filters({"species": "CO"})  # the database's CO lines and the list's
    got = app.session.lines()
    assert sorted(got.qn[got.sources == "atoms.csv"]) == ["list CO"]
    np.testing.assert_array_equal(got.freq_mhz[got.sources != "atoms.csv"], co.freq_mhz)
    with pytest.raises(UnknownSpeciesError):
        app.session.set_filters({"species": "Unobtainium"})
    assert app.session.filters.species == ("CO",)  # a bad filter changes nothing

    assert call(app, "removeLineList", "atoms.csv") == []
    assert "No list overlaid" in app.line_lists.listing.object
    with pytest.raises(CassisError, match="no line list named"):
        call(app, "removeLineList", "atoms.csv")


def test_a_table_is_opened_as_a_spectrum_a_line_list_or_refused_with_both_reasons(app, line_db):
    from cassis_lite.readers import read_spectrum

    other = read_spectrum((SAMPLES / "41505_28502_147_220GHz.txt").read_bytes(), name="x.txt")
    answer = app.open_table(exports.spectrum_votable(other), "spectrum.vot")
    assert answer["kind"] == "spectrum" and app.session.spectrum.freq_mhz.size == other.freq_mhz.size
    t = line_db.transitions(float(other.freq_mhz[0]), float(other.freq_mhz[-1]))
    answer = app.open_table(exports.lines_votable(t), "lines.vot")
    assert answer == {"kind": "lines", "name": "lines.vot", "n_lines": len(t)}
    np.testing.assert_array_equal(app.session.line_lists["lines.vot"].freq_mhz, t.freq_mhz)
    shown = app.session.spectrum
    with pytest.raises(CassisError) as err:
        app.open_table(b"\x00\x01 not a table at all" * 40, "junk.vot")
    assert "as a line list" in str(err.value)
    assert app.session.spectrum is shown and "junk.vot" in app.message.object


def cli_lines(lo, hi, species):
    out = subprocess.run([sys.executable, "-m", "cassis_lite", "lines", "--fmin", repr(lo), "--fmax", repr(hi),
                          "--species", species, "--format", "csv"], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    return list(csv.DictReader(io.StringIO(out.stdout)))


def test_the_slap_query_of_the_app_equals_cassis_lite_lines(line_db, server):
    async def fetch(url):  # what the worker's fetch_bytes does: an HTTP error is a CassisError
        try:
            with urllib.request.urlopen(server + url) as resp:
                return resp.read()
        except urllib.error.HTTPError as exc:
            raise CassisError(f"{url}: HTTP {exc.code}") from None

    app = make_app(fetch_url=fetch)
    lo, hi = window_of(app)
    answer = call(app, "slapQuery", {"species": "CO"})
    name = "SLAP slap"
    assert answer == {"name": name, "n_lines": answer["n_lines"], "overflow": False} and answer["n_lines"] > 0
    got = app.session.line_lists[name]
    expected = cli_lines(lo, hi, "CO")
    assert len(got) == len(expected)
    # SLAP carries wavelengths in metres: the frequency comes back through c / lambda
    np.testing.assert_allclose(got.freq_mhz, [float(r["freq_mhz"]) for r in expected], rtol=1e-13)
    np.testing.assert_allclose(got.aij, [float(r["aij"]) for r in expected], rtol=1e-12)
    np.testing.assert_allclose(got.eup_k, [float(r["eup_k"]) for r in expected], rtol=1e-9)
    assert list(got.gup) == [int(r["gup"]) for r in expected]
    assert list(got.sources) == [r["source"] for r in expected]  # the provenance passes through
    # a service that does not answer is a message, and the lists stay
    app.line_lists.url_input.value = "nowhere/slap"
    asyncio.run(app.line_lists.run(app.line_lists._query_clicked))  # what its button runs
    assert "did not answer" in app.line_lists.message.object and list(app.session.line_lists) == [name]


def test_a_chosen_line_names_its_row_in_the_line_table_exported_last(app):
    events = []
    app.on_event(lambda name, detail: events.append((name, detail)))
    src = app.plot.lines_source
    assert len(src.data["freq_mhz"]) > 2
    src.selected.indices = [1]
    assert events[-1][0] == "line" and events[-1][1]["row"] is None  # nothing exported yet
    sent = call(app, "exportText", "lines", "csv")["text"]
    rows = list(csv.DictReader(io.StringIO(sent)))
    src.selected.indices = [2]
    name, detail = events[-1]
    assert name == "line" and detail["row"] is not None
    assert float(rows[detail["row"]]["freq_mhz"]) == src.data["freq_mhz"][2]
    assert rows[detail["row"]]["species"] == detail["species"] == src.data["species"][2]


def test_a_pixel_chosen_in_the_map_is_an_event_with_its_sky_position(line_db):
    from cassis_lite.cube import Cube

    path = region5_cube()
    app = make_app()
    events = []
    app.on_event(lambda name, detail: events.append((name, detail)))
    app.load(path.read_bytes(), path.name)
    app.cube_card.figure._trigger_event(Tap(app.cube_card.figure, x=6.2, y=9.7))
    name, detail = events[-1]
    assert name == "pixel" and detail["pixel"] == [6, 10]
    ra, dec = Cube.open(path).pixel_to_world(6.0, 10.0, frame="icrs")
    assert detail["sky"]["ra_deg"] == pytest.approx(float(ra), abs=1e-12)
    assert detail["sky"]["dec_deg"] == pytest.approx(float(dec), abs=1e-12)
