"""The ALMA (ATOMIS) card under CPython: on the real ALMA archive row of astroquery's test data, the
card finds what ``cassis-lite atomis`` finds; its search goes through a real ``cassis-lite serve``
(the site's relay, POST /tap/sync) to a local TAP endpoint answering that row (the archive itself
is not reachable here), with the same ADQL as ``cassis-lite atomis --adql``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

import alma_data
from app_view import booted_view
from cassis_lite.errors import CassisError
from paths import ROOT

LIS = "I16293_Synthetic_CO.lis"
M83 = "M83, 13:37:00.919, -29:51:56.74, 513"
OPTIONS = {"species": "CO", "sources": M83 + "\nfar, 10.0, 10.0, 0", "radius_arcsec": 10.0}


def cli(*args) -> dict:
    out = subprocess.run([sys.executable, "-m", "cassis_lite", "atomis", "--species", "CO", "--source",
                          M83.replace(" ", ""), "--source", "far,10.0,10.0,0", *args],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout


def make_app(fetch_url=None):
    return booted_view(fetch_url)


def served(tap_url):
    """A ``cassis-lite serve`` subprocess relaying to ``tap_url``; (process, base URL)."""
    import tempfile
    from pathlib import Path

    site = Path(tempfile.mkdtemp())
    (site / "index.html").write_text("<!doctype html>")
    proc = subprocess.Popen([sys.executable, "-m", "cassis_lite", "serve", "--dir", str(site), "--port", "0",
                             "--tap-url", tap_url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=ROOT)
    first = proc.stdout.readline()
    assert " at http://" in first, first
    return proc, first.split(" at ")[1].split()[0]


def page_fetch(base):
    """What the worker's fetch does: GET or POST relative to the page; an HTTP error says its text."""
    async def fetch(url, body=None, content_type=None):
        req = urllib.request.Request(base + url, data=body, headers={"Content-Type": content_type or ""})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.read()
        except urllib.error.HTTPError as exc:
            raise CassisError(f"{url}: HTTP {exc.code}: {exc.read().decode()[:300]}") from None
    return fetch


def test_a_saved_answer_gives_the_observations_of_the_command_line(line_db, tmp_path):
    app = make_app()
    card = app.atomis_card
    card.param.update(species="CO", sources=OPTIONS["sources"])
    answer = alma_data.onerow_votable_bytes()
    got = card.show_answer(answer, label="onerow.vot")
    saved = tmp_path / "onerow.vot"
    saved.write_bytes(answer)
    ref = json.loads(cli("--rows", str(saved), "--format", "json"))
    assert got["count"] == ref["count"] == 1 and got["lines"] == ref["lines"]
    expected = [{k: v for k, v in o.items() if k != "line_list"} for o in ref["observations"]]
    assert json.loads(json.dumps(got["observations"]).replace("NaN", "null")) == expected
    assert card.source.data["proposal_id"] == ["2017.1.00079.S"] and card.source.data["source"] == ["M83"]
    assert "1 observation(s) of 1 archive row(s)" in card.summary.object
    assert asyncio.run(card.show_adql(OPTIONS)) == cli("--adql").rstrip("\n")


def test_the_search_goes_through_the_sites_relay_with_the_command_lines_adql(line_db):
    with alma_data.TapServer(alma_data.onerow_votable_bytes()) as tap:
        proc, base = served(tap.url)
        try:
            app = make_app(page_fetch(base))
            got = asyncio.run(app.api["atomisSearch"](OPTIONS))
            assert got["count"] == 1 and got["observations"][0]["proposal_id"] == "2017.1.00079.S"
            (path, form), = tap.received
            assert path == "/tap/sync" and form["QUERY"] == cli("--adql").rstrip("\n")
            assert form["REQUEST"] == "doQuery" and form["LANG"] == "ADQL"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_no_archive_no_sources_or_no_relay_is_said(line_db):
    proc, base = served("http://127.0.0.1:9/tap")  # nothing listens there
    try:
        app = make_app(page_fetch(base))
        card = app.atomis_card
        card.param.update(species="CO", sources=M83)
        asyncio.run(card.run(card.search, card.options()))
        text = card.message.object
        assert "cannot reach the TAP service http://127.0.0.1:9/tap" in text and "Show the ADQL" in text
        card.param.update(sources="")
        asyncio.run(card.run(card.search, card.options()))
        assert "give at least one source" in card.message.object
        card.param.update(sources="M83, 25:00:00, 0")
        asyncio.run(card.run(card.search, card.options()))
        assert "right ascension" in card.message.object
        with pytest.raises(CassisError, match="no line of"):
            asyncio.run(card.search({"species": "CO", "sources": M83, "eup_max_k": 0.001}))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    # a page on a static host (Python's own file server): the relay is not there
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ROOT / "web"))
    host = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    try:
        static = make_app(page_fetch(f"http://127.0.0.1:{host.server_address[1]}/"))
        with pytest.raises(CassisError, match="needs the page served by `cassis-lite serve`.*HTTP 501"):
            asyncio.run(static.atomis_card.search(OPTIONS))
    finally:
        host.shutdown()
        host.server_close()
