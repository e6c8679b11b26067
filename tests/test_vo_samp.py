"""SAMP with a real hub (pyvo.samp) and real clients: a table.load.votable message whose URL points at
a line table that ``cassis-lite serve`` holds (POST /share, as the page does), read by the receiver
with astropy.io.votable: the rows of ``cassis-lite lines``. And the Web Profile side a page uses:
consent by origin, CORS, the hub's URL translator."""

from __future__ import annotations

import csv
import io
import threading
import urllib.error
import urllib.request
import warnings
import xmlrpc.client

import numpy as np
import pytest
from astropy.io.votable import parse

from cassis_lite.commands.serve import make_server
from samp_hub import Inbox, running_hub, samp_client
from vo_cli import run_cli


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_text("<!doctype html>")
    srv = make_server(root, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def share(base: str, data: bytes, ctype: str) -> str:
    req = urllib.request.Request(base + "/share", data=data, headers={"Content-Type": ctype, "Origin": base})
    with urllib.request.urlopen(req) as r:
        import json

        return base + json.loads(r.read())["url"]


def test_table_load_votable_from_a_served_share(tmp_path, site):
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.vo.exports import lines_votable

    url = share(site, lines_votable(LineDatabase().transitions(86000, 90000), "binary2"), "application/x-votable+xml")
    with running_hub(tmp_path, web_port=0) as hub:
        receiver = samp_client(hub, "receiver")
        sender = samp_client(hub, "cassis-lite")
        try:
            inbox = Inbox(receiver, ["table.load.votable"])
            recipients = sender.get_subscribed_clients("table.load.votable")
            assert receiver.get_public_id() in recipients
            reply = sender.call_and_wait(receiver.get_public_id(), {
                "samp.mtype": "table.load.votable",
                "samp.params": {"url": url, "table-id": "cassis-lite-lines", "name": "lines 86-90 GHz"}}, "10")
            assert reply["samp.status"] == "samp.ok"
            params, sender_id = inbox.wait("table.load.votable")
            assert sender_id == sender.get_public_id() and params["table-id"] == "cassis-lite-lines"
            with urllib.request.urlopen(params["url"]) as r:
                data = r.read()
        finally:
            sender.disconnect()
            receiver.disconnect()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = parse(io.BytesIO(data), verify="exception").get_first_table().to_table()
    code, out, err = run_cli("lines", "--fmin", "86000", "--fmax", "90000", "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out.decode())))
    assert len(table) == len(rows) > 10
    np.testing.assert_array_equal(table["freq_mhz"], [float(r["freq_mhz"]) for r in rows])
    np.testing.assert_array_equal(table["aij"], [float(r["aij"]) for r in rows])
    assert [str(s) for s in table["species"]] == [r["species"] for r in rows]
    assert [str(q) for q in table["qn"]] == [r["qn"] for r in rows]


def web_call(hub, method: str, params, origin: str):
    """An XML-RPC call to the hub's Web Profile as a page at ``origin`` makes it."""
    body = xmlrpc.client.dumps(tuple(params), methodname=method).encode()
    req = urllib.request.Request(hub.web_url, data=body, headers={"Content-Type": "text/xml", "Origin": origin})
    with urllib.request.urlopen(req, timeout=10) as r:
        return xmlrpc.client.loads(r.read())[0][0], r.headers


def test_web_profile_consent_cors_and_translator(tmp_path, site):
    page = site  # the origin of a page cassis-lite serve serves
    url = share(site, b"freq_mhz,intensity\n1,2\n", "text/csv")
    with running_hub(tmp_path, allowed_origins=[page], web_port=0) as hub:
        answer, headers = web_call(hub, "samp.webhub.register", [{"samp.name": "CASSIS lite"}], page)
        assert headers["Access-Control-Allow-Origin"] == page
        assert answer["samp.private-key"] and answer["samp.url-translator"].startswith(hub.web_url + "translator/")
        with urllib.request.urlopen(answer["samp.url-translator"] + urllib.request.quote(url, safe="")) as r:
            assert r.read() == b"freq_mhz,intensity\n1,2\n"  # what the page reads of a URL another client sent
        with pytest.raises(xmlrpc.client.Fault, match="rejected by the user"):
            web_call(hub, "samp.webhub.register", [{"samp.name": "intruder"}], "http://evil.example")
        assert hub.dialog.requests == [("CASSIS lite", page, True), ("intruder", "http://evil.example", False)]
