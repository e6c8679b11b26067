"""SAMP in the page (web/samp-link.js, sampjs 1.0.3) against a real hub: pyvo's SAMPHubServer with
the Web Profile on its standard port, a consent dialog that accepts the test page's origin, and a
Python client on the standard profile (tests/samp_hub.py).

Through the UI: Connect (status light, the applications on the hub), Send the line table to the
Python client, which reads the VOTable it is sent with astropy and finds the rows of
``cassis-lite lines`` for the spectrum's windows; then the Python client sends a spectrum (a
VOTable on a server of another origin, read by the page through the hub's translator) and the
page shows it. Until the user connects, the page makes no request to the hub.
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import subprocess
import sys
import threading
import urllib.request
import warnings

import numpy as np
import pytest

from conftest import SITE, VIEWPORTS, new_app, off_origin, wait_for
from paths import ROOT
from samp_hub import WEB_PROFILE_PORT, Inbox, running_hub, samp_client

SAMPLE = "I16293_Synthetic_CO.lis"
HUB_ORIGINS = ("http://localhost:21012", "http://127.0.0.1:21012")
DOC = "window.Bokeh.documents[window.Bokeh.documents.length - 1]"


@pytest.fixture
def file_server(tmp_path):
    """A plain HTTP server of ``tmp_path`` on another port (another origin than the site)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def cli_lines_votable_rows(fmin, fmax, species):
    out = subprocess.run([sys.executable, "-m", "cassis_lite", "lines", "--fmin", repr(fmin), "--fmax", repr(fmax),
                          "--species", species, "--format", "votable"], capture_output=True, check=True)
    from astropy.io.votable import parse

    return parse(io.BytesIO(out.stdout)).get_first_table().to_table()


def test_connect_send_the_line_table_and_receive_a_spectrum(browser, base_url, tmp_path, file_server):
    from astropy.io.votable import parse
    from astropy.table import vstack

    from cassis_lite.readers import read_spectrum
    from cassis_lite.spectrum import window_slices
    from cassis_lite.vo import exports

    origin = base_url.rstrip("/")
    with running_hub(tmp_path, allowed_origins=[origin], web_port=WEB_PROFILE_PORT) as hub:
        receiver = samp_client(hub, "receiver")
        inbox = Inbox(receiver, ["table.load.votable", "spectrum.load.ssa-generic"])
        app, context = new_app(browser, base_url)
        try:
            page = app.page
            assert not [u for u in app.requests if u.startswith(HUB_ORIGINS)], "the page spoke to the hub unasked"

            page.click("#cl-samp-connect")
            page.wait_for_selector("#cl-samp-light.cl-on", timeout=30_000)
            wait_for(lambda: "receiver" in page.inner_text("#cl-samp-clients"), what="the client list")
            assert page.inner_text("#cl-samp-clients") == "on the hub: receiver"  # the hub itself is not listed
            assert hub.dialog.requests and hub.dialog.requests[0][1:] == (origin, True)
            app.screenshot("samp-connected.png")

            # the user filters CO, chooses the line table and the receiver, and sends
            app.open_tab("Lines")
            field = page.get_by_label("Species (comma separated, empty = all)")
            field.fill("CO")
            field.press("Enter")
            wait_for(lambda: app.api("getState")["filters"]["species"] == ["CO"], what="the CO filter")
            page.select_option("#cl-samp-what", "lines")
            page.select_option("#cl-samp-to", label="receiver")
            page.click("#cl-samp-send")
            params, sender = inbox.wait("table.load.votable", timeout=30)
            assert receiver.get_metadata(sender)["samp.name"] == "CASSIS lite"
            with urllib.request.urlopen(params["url"]) as resp:
                data = resp.read()
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                table = parse(io.BytesIO(data), verify="exception").get_first_table().to_table()
            sp = read_spectrum((SITE / "samples" / SAMPLE).read_bytes(), name=SAMPLE)
            expected = vstack([cli_lines_votable_rows(float(sp.freq_mhz[w][0]), float(sp.freq_mhz[w][-1]), "CO")
                               for w in window_slices(sp.freq_mhz)])
            assert len(table) == len(expected) > 0
            for column in ("freq_mhz", "aij", "eup_k", "gup"):
                np.testing.assert_array_equal(np.asarray(table[column]), np.asarray(expected[column]), err_msg=column)
            assert list(table["qn"]) == list(expected["qn"]) and list(table["species"]) == list(expected["species"])
            assert "Sent the lines" in page.inner_text("#cl-drop-status")

            # another application sends a spectrum: a VOTable on a server of another origin
            folder, url = file_server
            other = read_spectrum((SITE / "samples" / "41505_28502_147_220GHz.txt").read_bytes(),
                                  name="41505_28502_147_220GHz.txt")
            (folder / "sent_by_python.vot").write_bytes(exports.spectrum_votable(other))
            receiver.notify_all({"samp.mtype": "table.load.votable",
                                 "samp.params": {"url": url + "sent_by_python.vot", "name": "sent_by_python.vot"}})
            wait_for(lambda: app.api("getState")["spectrum"]["name"] == "sent_by_python.vot", what="the sent spectrum")
            shown = app.api("getState")["spectrum"]
            assert shown["n_channels"] == other.freq_mhz.size and shown["fmin_mhz"] == other.freq_mhz[0]
            assert "Received sent_by_python.vot from receiver" in page.inner_text("#cl-drop-status")
            app.screenshot("samp-received.png")
            leaked = [u for u in off_origin(app.requests, base_url) if not u.startswith(HUB_ORIGINS)]
            assert not leaked, leaked[:5]
            assert not app.errors, app.errors[:3]
        finally:
            context.close()
            receiver.disconnect()


def test_without_a_hub_connecting_says_so_and_the_app_goes_on(browser, base_url):
    app, context = new_app(browser, base_url, viewport=VIEWPORTS["phone"])
    try:
        app.page.click("#cl-samp-connect")
        wait_for(lambda: "no SAMP hub accepted" in app.page.inner_text("#cl-drop-status"), what="the message")
        assert not app.page.locator("#cl-samp-light.cl-on").count()
        assert app.api("getState")["spectrum"]["name"] == SAMPLE
        reply = app.page.evaluate("() => window.cassisLite.sampSend('lines').then(() => 'sent', (e) => e.message)")
        assert "not connected to a SAMP hub" in reply
        app.screenshot("samp-no-hub-phone.png")
    finally:
        context.close()


def test_the_sampjs_build_wrapper_refuses_an_unexpected_file(site_dir):
    sys.path.insert(0, str(ROOT / "build_scripts"))
    import build_site

    wrapped = build_site.samp_script(b"var samp = (function() { return {}; })();\n\nmodule.exports = { samp }\n")
    assert wrapped.rstrip().endswith(b"self.samp = module.exports.samp;\n})();")
    with pytest.raises(SystemExit, match="module.exports"):
        build_site.samp_script(b"var samp = 1;\nexport default samp;\n")
    assert json.loads((site_dir / "site-lock.json").read_text())["files"]["vendor/samp.js"]["sha256"]
    assert (site_dir / "vendor" / "samp.js").read_bytes().count(b"module.exports = { samp }") == 1


LINE_LIST_VOTABLE = """<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE name="atoms">
<FIELD name="species" datatype="char" arraysize="*"/><FIELD name="freq_mhz" datatype="double" unit="MHz" ucd="em.freq"/>
<FIELD name="qn" datatype="char" arraysize="*"/>
<DATA><TABLEDATA><TR><TD>Fe II</TD><TD>{f1!r}</TD><TD>a</TD></TR><TR><TD>Fe II</TD><TD>{f2!r}</TD><TD>b</TD></TR>
</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"""


def test_line_lists_sky_positions_and_highlighted_rows_travel_both_ways(browser, base_url, tmp_path, file_server):
    """A line list and a position received; a pixel and a line row sent; the SLAP button."""
    from astropy.io.votable import parse

    from cassis_lite.cube import Cube
    from cube_data import region5_cube

    origin = base_url.rstrip("/")
    folder, url = file_server
    with running_hub(tmp_path, allowed_origins=[origin], web_port=WEB_PROFILE_PORT) as hub:
        receiver = samp_client(hub, "receiver")
        inbox = Inbox(receiver, ["table.load.votable", "coord.pointAt.sky", "table.highlight.row", "image.load.fits"])
        app, context = new_app(browser, base_url, viewport=VIEWPORTS["laptop"])
        try:
            page = app.page
            page.click("#cl-samp-connect")
            page.wait_for_selector("#cl-samp-light.cl-on", timeout=30_000)
            spectrum = app.api("getState")["spectrum"]
            f1, f2 = spectrum["fmin_mhz"] + 1.0, spectrum["fmin_mhz"] + 2.0
            # TOPCAT sends a line list: it is overlaid, not opened as a spectrum
            (folder / "atoms.vot").write_text(LINE_LIST_VOTABLE.format(f1=f1, f2=f2))
            receiver.notify_all({"samp.mtype": "table.load.votable",
                                 "samp.params": {"url": url + "atoms.vot", "name": "atoms.vot"}})
            wait_for(lambda: app.api("getState")["line_lists"] == [{"name": "atoms.vot", "n_lines": 2}],
                     what="the received line list")
            assert app.api("getState")["spectrum"]["name"] == spectrum["name"]
            assert "Received the line list atoms.vot (2 lines) from receiver" in page.inner_text("#cl-drop-status")
            drawn = dict(zip(app.bokeh_data("lines_source", "freq_mhz"), app.bokeh_data("lines_source", "species")))
            assert drawn[f1] == drawn[f2] == "Fe II"
            app.open_tab("Lines")
            assert "atoms.vot: 2 lines" in app.text(".cl-line-lists")

            # the line table goes to the receiver; a row clicked in the table is highlighted there
            page.select_option("#cl-samp-what", "lines")
            page.select_option("#cl-samp-to", label="receiver")
            page.click("#cl-samp-send")
            sent, _ = inbox.wait("table.load.votable", timeout=30)
            with urllib.request.urlopen(sent["url"]) as resp:
                table = parse(io.BytesIO(resp.read())).get_first_table().to_table()
            row = page.locator(".slick-row").nth(3)
            row.scroll_into_view_if_needed()
            row.locator(".slick-cell").first.click()
            highlight, _ = inbox.wait("table.highlight.row", timeout=30)
            assert highlight["url"] == sent["url"] and highlight["table-id"] == sent["table-id"]
            chosen = app.page.evaluate(f"""() => {{ const s = {DOC}.get_model_by_name("lines_source");
                return s.data.freq_mhz[s.selected.indices[0]]; }}""")
            assert float(table["freq_mhz"][int(highlight["row"])]) == chosen
            app.screenshot("samp-line-list-laptop.png")

            # the site's own SLAP service, from the Lines card's button
            page.get_by_role("button", name="Query SLAP").click()
            wait_for(lambda: any(x["name"] == "SLAP slap" for x in app.api("getState")["line_lists"]),
                     what="the SLAP list")

            # cube mode: a position received selects its pixel; a pixel clicked is sent
            cube_path = region5_cube()
            cube = Cube.open(cube_path)
            page.locator("#cl-file").set_input_files(str(cube_path))
            wait_for(lambda: (app.api("getState").get("cube") or {}).get("pixel") == [23, 18], timeout=90,
                     what="cube mode")
            inbox.messages.clear()
            ra, dec = (float(v) for v in cube.pixel_to_world(6.0, 10.0, frame="icrs"))
            receiver.notify_all({"samp.mtype": "coord.pointAt.sky", "samp.params": {"ra": repr(ra), "dec": repr(dec)}})
            wait_for(lambda: app.api("getState")["cube"]["pixel"] == [6, 10], what="the pointed pixel")
            assert "the spectrum of pixel (6, 10)" in page.inner_text("#cl-drop-status")
            app.api("selectPixel", 20, 5)
            pointed, _ = inbox.wait("coord.pointAt.sky", timeout=30)
            ra20, dec20 = (float(v) for v in cube.pixel_to_world(20.0, 5.0, frame="icrs"))
            assert float(pointed["ra"]) == pytest.approx(ra20, abs=1e-9)
            assert float(pointed["dec"]) == pytest.approx(dec20, abs=1e-9)
            # the position it received was not sent back
            assert [m for m, _, _ in inbox.messages].count("coord.pointAt.sky") == 1
            # the map shown goes out as a FITS image with the cube's sky WCS
            page.select_option("#cl-samp-what", "map")
            page.select_option("#cl-samp-to", label="receiver")
            page.click("#cl-samp-send")
            image, _ = inbox.wait("image.load.fits", timeout=30)
            from astropy.io import fits
            from astropy.wcs import WCS

            with urllib.request.urlopen(image["url"]) as resp:
                hdus = fits.open(io.BytesIO(resp.read()))
            mom0 = cube.moments().mom0
            np.testing.assert_allclose(hdus[0].data, mom0, rtol=1e-6, equal_nan=True)
            lon, lat = WCS(hdus[0].header).celestial.all_pix2world(6.0, 10.0, 0)
            np.testing.assert_allclose([lon, lat], [float(v) for v in cube.pixel_to_world(6.0, 10.0)], atol=1e-9)
            assert image["name"] == "region5_hcn_crop_MOM0.fits"
            leaked = [u for u in off_origin(app.requests, base_url) if not u.startswith(HUB_ORIGINS + (url,))]
            assert not leaked, leaked[:5]
            assert not app.errors, app.errors[:3]
        finally:
            context.close()
            receiver.disconnect()
