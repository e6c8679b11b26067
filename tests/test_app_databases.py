"""The line database in use, under CPython: the Lines card's selector and ``useDatabase`` /
``getLines({database})`` (cassis_lite.app.databases), and the SQLite header check that refuses a
file that is not SQLite or is truncated before SQLite opens it (cassis_lite.linedb.sqlite_file).
The browser half (lazy files over HTTP ranges and over the user's File) is
tests/browser/test_browser_lazydb.py."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3

import numpy as np
import pytest
from bokeh.document import Document

from cassis_lite.app.databases import lazy_options
from cassis_lite.app.view import CassisView
from cassis_lite.errors import CassisError, DatabaseError
from cassis_lite.linedb.sqlite_file import file_problem, header_problem
from paths import SAMPLES

LIS = "I16293_Synthetic_CO.lis"


def call(v, name, *args, **kw):
    return asyncio.run(v.api[name](*args, **kw))


@pytest.fixture
def other_db(tmp_path, line_db):
    """A second database: the bundled one without CO (so the switch is visible) and 13CO doubled."""
    path = tmp_path / "mine.db"
    shutil.copyfile(line_db.path, path)
    con = sqlite3.connect(path)
    co = con.execute("SELECT id FROM species WHERE name = 'CO'").fetchone()[0]
    con.execute("DELETE FROM transitions WHERE species_id = ?", (co,))
    con.execute("DELETE FROM partition_function WHERE species_id = ?", (co,))
    con.execute("DELETE FROM species_sources WHERE species_id = ?", (co,))
    con.execute("DELETE FROM species WHERE id = ?", (co,))
    con.commit()
    con.execute("VACUUM")
    con.close()
    return path


@pytest.fixture
def app(line_db, other_db):
    v = CassisView(samples={LIS: (SAMPLES / LIS).read_bytes()},
                   samples_meta=json.loads((SAMPLES / "samples.json").read_text()))
    v.open_sample(LIS)
    v.layout.get_root(Document())
    v.lines_card.full_db_path = str(other_db)
    return v


# --------------------------------------------------------------------------- the header check

def test_header_check_names_what_is_wrong(line_db, tmp_path):
    data = line_db.path.read_bytes()
    assert header_problem(data[:100], len(data)) is None
    assert file_problem(line_db.path) is None
    assert "not an SQLite database" in header_problem(b"SIMPLE  =                    T" + b" " * 70, 2880)
    assert "shorter than an SQLite header" in header_problem(data[:50], 50)
    half = len(data) // 2
    problem = header_problem(data[:100], half, "cut.db")
    assert problem.startswith("cut.db is truncated") and str(half) in problem and str(len(data)) in problem
    # one page short is truncated too; one page more (a file with free space at the end) is not
    assert "truncated" in header_problem(data[:100], len(data) - 4096)
    assert header_problem(data[:100], len(data) + 4096) is None
    bad = bytearray(data[:100])
    bad[16:18] = (1000).to_bytes(2, "big")
    assert "page size 1000" in header_problem(bytes(bad), len(data))


# --------------------------------------------------------------------------- the database in use

def test_bundled_is_the_default_and_get_state_says_so(app):
    state = call(app, "getState")["database"]
    assert state["name"] == "bundled" and state["lazy"] is False
    app.lines_card.databases  # the chooser, made on first use
    state = call(app, "getState")["database"]
    assert state["name"] == "bundled" and state["species"] == 149
    assert state["available"] == ["bundled", "full"]


def test_use_full_then_lines_model_and_get_lines_come_from_it(app, line_db, other_db):
    s = app.session
    assert "CO" in set(app.plot.lines_source.data["species"])
    answer = call(app, "useDatabase", "full")
    assert answer["name"] == "full" and answer["source"] == str(other_db)
    assert call(app, "getState")["database"]["name"] == "full"
    # the overlay is redrawn from the new database: no CO there
    assert "CO" not in set(app.plot.lines_source.data["species"])
    assert app.lines_card.database_select.value == "full"
    # the model (CO, the default) cannot be computed from a database without CO: said, not guessed
    assert s.model is None and "CO" in s.model_error
    # getLines: the database in use, or the one named
    got = call(app, "getLines", {"fmin_mhz": 220000, "fmax_mhz": 231000})
    from cassis_lite.linedb import LineDatabase

    ref = LineDatabase(other_db).transitions(220000, 231000)
    assert [r["freq_mhz"] for r in got] == ref.freq_mhz.tolist() and len(got) == len(ref) > 0
    bundled = call(app, "getLines", {"fmin_mhz": 220000, "fmax_mhz": 231000, "database": "bundled"})
    assert np.array_equal([r["freq_mhz"] for r in bundled], line_db.transitions(220000, 231000).freq_mhz)
    assert call(app, "getState")["database"]["name"] == "full"  # asking another does not switch
    # back to the bundled one: CO again, and the model computes
    call(app, "useDatabase", "bundled")
    assert "CO" in set(app.plot.lines_source.data["species"]) and s.model is not None and not s.model_error


def test_the_selector_switches_and_a_filter_the_new_database_lacks_is_cleared(app):
    card = app.lines_card
    card.show_databases()
    assert list(card.database_select.options.values()) == ["bundled", "full"]
    app.session.set_filters({"species": ["CO"]})
    card.database_select.value = "full"  # as the user picks it
    assert app.session.database == "full"
    assert app.session.filters.species is None
    assert card.message.visible and "species filter CO was cleared" in card.message.object


def test_a_user_file_opens_and_a_bad_one_keeps_the_database_in_use(app, other_db, tmp_path):
    answer = call(app, "useDatabase", "file", {}, None, data=str(other_db))
    assert answer["name"] == "file" and answer["label"].startswith("your file mine.db")
    assert "file" in call(app, "getState")["database"]["available"]
    before = list(app.plot.lines_source.data["freq_mhz"])
    cut = tmp_path / "cut.db"
    cut.write_bytes(other_db.read_bytes()[:300_000])
    text = tmp_path / "spectrum.db"
    text.write_text("freq intensity\n1 2\n" * 100)
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
    for path, words in ((cut, "truncated"), (text, "not an SQLite database"),
                        (empty, "not a CASSIS lite line database"), (tmp_path / "none.db", "no such file")):
        with pytest.raises(DatabaseError, match=words):
            call(app, "useDatabase", "file", {}, None, data=str(path))
        assert app.session.database == "file"
        assert list(app.plot.lines_source.data["freq_mhz"]) == before
        assert words in app.lines_card.message.object


def test_full_missing_is_said(app, tmp_path):
    app.lines_card.full_db_path = str(tmp_path / "nothing.db")
    with pytest.raises(DatabaseError, match="no such file"):
        call(app, "useDatabase", "full")
    assert app.session.database == "bundled"
    assert "full" not in call(app, "getState")["database"]["available"]
    with pytest.raises(CassisError, match="unknown line database 'huge'"):
        call(app, "useDatabase", "huge")


def test_lazy_options_are_checked():
    assert lazy_options({"chunk_kb": 4, "readahead": False}) == {"chunkSize": 4096, "readahead": False}
    assert lazy_options({"cache_mb": 8}) == {"cacheBytes": 8 * 2**20}
    for bad in ({"chunk_kb": 3}, {"chunk_kb": 0}, {"chunk_kb": "16"}, {"cache_mb": 0}, {"pages": 1}):
        with pytest.raises(CassisError):
            lazy_options(bad)


def test_the_overlay_queries_each_window_not_the_span(app, line_db):
    """The sample holds two windows (CO 5-4 at 576 GHz, 10-9 at 1152 GHz): the lines in its
    windows are those of the span that fall in a window, found with one query per window."""
    from cassis_lite.app.state import window_ranges
    from cassis_lite.spectrum import window_mask

    f = app.session.spectrum.freq_mhz
    ranges = window_ranges(f)
    assert len(ranges) >= 2 and all(hi - lo < 1000 for lo, hi in ranges)
    span = line_db.transitions(float(f.min()), float(f.max()))
    expected = span[window_mask(f, span.freq_mhz)]
    got = app.session.lines()
    assert len(got) == len(expected) > 0
    assert np.array_equal(got.freq_mhz, expected.freq_mhz)
    assert list(got.species_names) == list(expected.species_names)
