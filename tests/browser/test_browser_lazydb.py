"""A large line database queried in Chromium without downloading it (issue 13, in the browser).

The site is a temporary copy of the built one with a ``db/full.db`` made by the test
(tests/lazydb_data.py: the bundled transitions x 32, clustered by frequency, ~190 MB), served by
``cassis-lite serve``'s server wrapped to log every answer (status, range, bytes). The worker reads
it through a lazy file (web/lazyfile.js: HTTP range requests); the server's log says how many bytes
crossed, and the answers are compared with ``LineDatabase(...).transitions(...)`` in CPython on the
same file. The user's own database goes through the page's file picker (read by slices of the
File), bad files are refused in words with the database in use kept, and the service worker
serves the ranges again with the server gone.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from functools import partial

import pytest

from conftest import SITE, VIEWPORTS, close_app, new_app, wait_for
from lazydb_data import build_large_db

WINDOW = (230000.0, 231000.0)  # MHz: (a) all lines of a 1 GHz window near 230 GHz
SPECIES_RANGE = (200000.0, 300000.0)  # (b) one species over 200-300 GHz


class ServerLog:
    """Every answer of the server: (path, Range header, status, body bytes)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries: list[tuple[str, str | None, int, int]] = []

    def of(self, path: str) -> list[tuple[str, str | None, int, int]]:
        with self.lock:
            return [e for e in self.entries if e[0].split("?")[0] == path]

    def bytes_of(self, path: str) -> int:
        return sum(e[3] for e in self.of(path))


def logged_server(directory, log: ServerLog):
    """cassis-lite serve's server on a free port, its handler recording what it sends."""
    from cassis_lite.commands.serve import make_server

    server = make_server(directory, "127.0.0.1", 0, quiet=True)
    base = server.RequestHandlerClass  # partial(Handler, directory=...)

    class Logged(base.func):
        def send_response(self, code, message=None):
            self._log_status = code
            self._log_length = 0
            super().send_response(code, message)

        def send_header(self, keyword, value):
            if keyword.lower() == "content-length":
                self._log_length = int(value)
            super().send_header(keyword, value)

        def end_headers(self):
            super().end_headers()
            body = 0 if self.command == "HEAD" else getattr(self, "_log_length", 0)
            with log.lock:
                log.entries.append((self.path, self.headers.get("Range"), getattr(self, "_log_status", 0), body))

    server.RequestHandlerClass = partial(Logged, **base.keywords)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.fixture(scope="module")
def large_db(tmp_path_factory, site_dir):
    from cassis_lite.linedb import default_database_path

    return build_large_db(default_database_path(), tmp_path_factory.mktemp("lazydb") / "full.db")


def link_stand_in(large_db, site):
    """The stand-in catalogue as the copy's db/full.db (in place of the real one the site holds:
    the tests know the stand-in's content, the bundled lines x 32)."""
    (site / "db").mkdir(exist_ok=True)
    target = site / "db" / "full.db"
    target.unlink(missing_ok=True)
    os.link(large_db, target)


@pytest.fixture(scope="module")
def lazy_site(tmp_path_factory, site_dir, large_db):
    """A copy of the built site (hard links) with db/full.db, on a logged server."""
    root = tmp_path_factory.mktemp("lazysite") / "site"
    shutil.copytree(site_dir, root, copy_function=os.link)
    link_stand_in(large_db, root)
    log = ServerLog()
    server, url = logged_server(root, log)
    yield url, log, server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def app(browser, lazy_site):
    url, log, _ = lazy_site
    app, context = new_app(browser, url)
    yield app
    close_app(app, context, url)


def cpython_lines(path, fmin, fmax, **kw):
    from cassis_lite.linedb import LineDatabase

    with LineDatabase(path, immutable=True) as db:
        return db.transitions(fmin, fmax, **kw).to_records()


def database_state(app):
    return app.api("getState")["database"]


def choose_in_selector(app, label_start: str) -> None:
    """Pick a database in the Lines card's selector, as a person does."""
    app.open_tab("Lines")
    select = app.page.locator("select").filter(has=app.page.locator("option", has_text=re.compile("^bundled")))
    select.first.wait_for(timeout=30_000)
    label = next(o for o in select.first.locator("option").all_inner_texts() if o.startswith(label_start))
    select.first.select_option(label=label)


# --------------------------------------------------------------------------- the site's full catalogue

def test_start_up_reads_nothing_of_it_and_the_selector_offers_it(app, lazy_site, large_db):
    _, log, _ = lazy_site
    wait_for(lambda: "full" in database_state(app)["available"], timeout=60, what="the full catalogue offered")
    # before anyone asks for it: one probe of the header (100 bytes, after the first screen)
    probes = log.of("/db/full.db")
    assert [(r, s, n) for _, r, s, n in probes] == [("bytes=0-99", 206, 100)]
    state = database_state(app)
    assert state["name"] == "bundled" and state["full_problem"] is None
    choose_in_selector(app, "full catalogue")
    wait_for(lambda: database_state(app)["name"] == "full", timeout=60, what="the full catalogue in use")
    state = database_state(app)
    assert state["lazy"] and state["size_bytes"] == large_db.stat().st_size
    assert state["species"] == 149
    app.screenshot("lazydb_lines_full_desktop.png")


def test_a_window_over_http_equals_cpython_and_reads_a_small_part(app, lazy_site, large_db):
    _, log, _ = lazy_site
    if database_state(app)["name"] != "full":
        app.api("useDatabase", "full")
    before = log.bytes_of("/db/full.db")
    got = app.api("getLines", {"fmin_mhz": WINDOW[0], "fmax_mhz": WINDOW[1]})
    ref = cpython_lines(large_db, *WINDOW)
    assert got == ref and len(ref) > 400
    fetched = log.bytes_of("/db/full.db") - before
    size = large_db.stat().st_size
    assert 0 < fetched < 0.01 * size, (fetched, size)  # a 1 GHz window: < 1 % of the file
    # the lazy file's own count is the server's
    reads = database_state(app)["reads"]
    assert reads["bytesFetched"] == log.bytes_of("/db/full.db") - 100  # less the probe
    assert all(s == 206 for _, r, s, _ in log.of("/db/full.db"))
    # the same window again: no new request
    assert app.api("getLines", {"fmin_mhz": WINDOW[0], "fmax_mhz": WINDOW[1]}) == ref
    assert log.bytes_of("/db/full.db") - before == fetched


def test_one_species_and_filters_over_http_equal_cpython(app, lazy_site, large_db):
    _, log, _ = lazy_site
    if database_state(app)["name"] != "full":
        app.api("useDatabase", "full")
    before = log.bytes_of("/db/full.db")
    got = app.api("getLines", {"fmin_mhz": SPECIES_RANGE[0], "fmax_mhz": SPECIES_RANGE[1], "species": ["CH3CN"],
                               "eup_max_k": 300})
    ref = cpython_lines(large_db, *SPECIES_RANGE, species=["CH3CN"], eup_max_k=300)
    assert got == ref and len(ref) > 1000
    assert log.bytes_of("/db/full.db") - before < 0.02 * large_db.stat().st_size
    # the model and the overlay draw from it too (the sample spectrum's window: CO lines x 32)
    lines = app.bokeh_data("lines_source", "freq_mhz")
    assert len(lines) > 0
    # the bundled database answers beside it when asked by name
    bundled = app.api("getLines", {"fmin_mhz": WINDOW[0], "fmax_mhz": WINDOW[1], "database": "bundled"})
    assert len(bundled) * 32 == len(cpython_lines(large_db, *WINDOW))


# --------------------------------------------------------------------------- the user's own file

def test_a_database_from_the_file_picker_is_read_in_place(app, large_db):
    app.page.set_input_files("#cl-db-file", str(large_db))
    wait_for(lambda: database_state(app)["name"] == "file", timeout=60, what="the user's database in use")
    wait_for(lambda: "Lines now from" in app.text("#cl-drop-status"), what="the page's note")
    assert "full.db" in app.text("#cl-drop-status")
    got = app.api("getLines", {"fmin_mhz": WINDOW[0], "fmax_mhz": WINDOW[1]})
    assert got == cpython_lines(large_db, *WINDOW)
    reads = database_state(app)["reads"]
    assert reads["size"] == large_db.stat().st_size
    assert reads["bytesFetched"] < 0.01 * reads["size"], reads  # not read whole
    app.open_tab("Lines")
    app.screenshot("lazydb_lines_file_desktop.png")


def test_bad_files_are_refused_in_words_and_the_database_stays(app, large_db, tmp_path):
    if database_state(app)["name"] != "file":
        app.api("useDatabase", "full")
    kept = database_state(app)["name"]
    before = app.bokeh_data("lines_source", "freq_mhz")
    cut = tmp_path / "cut.db"
    with open(large_db, "rb") as f:
        cut.write_bytes(f.read(3_000_000))
    notdb = tmp_path / "spectrum.db"
    notdb.write_bytes((SITE / "samples" / "I16293_Synthetic_CO.lis").read_bytes())
    for path, words in ((cut, "is truncated"), (notdb, "is not an SQLite database")):
        app.page.set_input_files("#cl-db-file", str(path))
        wait_for(lambda: words in app.text("#cl-drop-status"), timeout=60, what=f"the message {words!r}")
        assert path.name in app.text("#cl-drop-status")
        assert database_state(app)["name"] == kept
        assert app.bokeh_data("lines_source", "freq_mhz") == before
    # a script gets the same refusal as an error
    err = app.page.evaluate("""async () => {
        try { await window.cassisLite.useDatabase(new File([new Uint8Array(5000)], "zeros.db")); return null; }
        catch (e) { return e.message; } }""")
    assert "zeros.db is not an SQLite database" in err
    assert database_state(app)["name"] == kept
    app.open_tab("Lines")
    app.page.locator(".cl-card-error", has_text="zeros.db is not an SQLite database").first.wait_for(timeout=30_000)
    app.screenshot("lazydb_bad_file_desktop.png")


def test_phone_shows_the_selector(browser, lazy_site):
    url, _, _ = lazy_site
    app, context = new_app(browser, url, viewport=VIEWPORTS["phone"])
    try:
        wait_for(lambda: "full" in database_state(app)["available"], timeout=60, what="the full catalogue offered")
        choose_in_selector(app, "full catalogue")
        wait_for(lambda: database_state(app)["name"] == "full", timeout=60, what="the full catalogue in use")
        app.page.locator(".cl-database-note").first.scroll_into_view_if_needed()
        app.screenshot("lazydb_lines_full_phone.png")
    finally:
        close_app(app, context, url)


# --------------------------------------------------------------------------- offline

def test_the_service_worker_serves_the_ranges_again_offline(browser, tmp_path_factory, site_dir, large_db):
    """Visit, reload (the page and its worker now go through the service worker), query; then
    the server stops: the app reloads from the service worker's cache and the same query is
    answered from the ranges it kept."""
    root = tmp_path_factory.mktemp("offline") / "site"
    shutil.copytree(site_dir, root, copy_function=os.link)
    link_stand_in(large_db, root)
    log = ServerLog()
    server, url = logged_server(root, log)
    app, context = new_app(browser, url)
    try:
        app.page.wait_for_function("""() => navigator.serviceWorker.ready.then(
            (r) => r.active && r.active.state === "activated")""", timeout=120_000)
        app.goto("")
        assert app.page.evaluate("!!navigator.serviceWorker.controller")
        app.api("useDatabase", "full")
        online = app.api("getLines", {"fmin_mhz": WINDOW[0], "fmax_mhz": WINDOW[1]})
        assert len(online) > 400
        server.shutdown()
        server.server_close()
        n = len(log.entries)
        app.goto("")
        assert app.page.evaluate("document.documentElement.dataset.cassisState") == "ready"
        app.api("useDatabase", "full")
        assert app.api("getLines", {"fmin_mhz": WINDOW[0], "fmax_mhz": WINDOW[1]}) == online
        assert len(log.entries) == n  # nothing reached the (stopped) server
        # a window never read before cannot come: said, and the database in use stays
        err = app.page.evaluate("""async () => {
            try { await window.cassisLite.getLines({fmin_mhz: 600000, fmax_mhz: 601000}); return null; }
            catch (e) { return e.message; } }""")
        assert err and "could not be fetched (offline" in err and "malformed" not in err, err
        assert database_state(app)["name"] == "full"
    finally:
        close_app(app, context, url)
