"""The ALMA (ATOMIS) card in Chromium, as a person uses it: species and sources typed, "Search the
ALMA archive" clicked; the page asks only its own server (``cassis-lite serve`` relays POST /tap/sync
to a local TAP endpoint answering the real ALMA row of astroquery's test data: the archive itself is
not reachable here); the table shows what ``cassis-lite atomis`` finds. Then the saved answer
opened with the file picker, on a phone."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

import alma_data
from conftest import VIEWPORTS, close_app, new_app, wait_for
from paths import ROOT

M83 = "M83, 13:37:00.919, -29:51:56.74, 513"


@pytest.fixture(scope="module")
def tap():
    with alma_data.TapServer(alma_data.onerow_votable_bytes()) as server:
        yield server


@pytest.fixture(scope="module")
def relay_url(site_dir, tap):
    from cassis_lite.commands.serve import make_server

    server = make_server(site_dir, "127.0.0.1", 0, quiet=True, tap_url=tap.url)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def cli_json(*args) -> dict:
    out = subprocess.run([sys.executable, "-m", "cassis_lite", "atomis", "--species", "CO", "--source",
                          M83.replace(" ", ""), *args, "--format", "json"], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return json.loads(out.stdout)


def fill_query(page):
    page.get_by_label("Species (comma separated)").fill("CO")
    sources = page.get_by_label("Sources: NAME, RA, DEC[, v_lsr km/s], one per line")
    sources.fill(M83)
    sources.press("Tab")  # a text area sends its value when it loses focus


def test_a_search_through_the_site_lists_the_observations_of_the_command_line(browser, relay_url, tap, tmp_path):
    app, context = new_app(browser, relay_url)
    try:
        page = app.page
        app.open_tab("ALMA")
        fill_query(page)
        page.get_by_role("button", name="Search the ALMA archive").click()
        wait_for(lambda: app.bokeh_data("atomis_source", "proposal_id") == ["2017.1.00079.S"], timeout=60,
                 what="the observations")
        saved = tmp_path / "onerow.vot"
        saved.write_bytes(alma_data.onerow_votable_bytes())
        ref = cli_json("--rows", str(saved))
        assert app.bokeh_data("atomis_source", "lines") == [o["lines"] for o in ref["observations"]]
        assert app.bokeh_data("atomis_source", "access_url") == [o["access_url"] for o in ref["observations"]]
        (path, form), = tap.received[-1:]
        assert path == "/tap/sync" and "ivoa.obscore" in form["QUERY"]
        assert "1 observation(s) of 1 archive row(s)" in app.text(".cl-atomis-summary")
        page.get_by_role("button", name="Show the ADQL").click()
        wait_for(lambda: "SELECT" in app.text(".cl-atomis-adql"), what="the ADQL")
        app.screenshot("atomis-desktop.png")
        assert not app.errors, app.errors[:3]
    finally:
        close_app(app, context, relay_url)


def test_a_saved_answer_opens_on_a_phone_without_a_relay(browser, base_url, tmp_path):
    app, context = new_app(browser, base_url, viewport=VIEWPORTS["phone"])
    try:
        page = app.page
        app.open_tab("ALMA")
        fill_query(page)
        saved = tmp_path / "answer.vot"
        saved.write_bytes(alma_data.onerow_votable_bytes())
        page.locator("input[type=file][accept='.vot,.xml,.votable']").set_input_files(str(saved))
        wait_for(lambda: app.bokeh_data("atomis_source", "source") == ["M83"], timeout=60, what="the table")
        app.screenshot("atomis-phone.png")
        assert not app.errors, app.errors[:3]
    finally:
        close_app(app, context, base_url)
