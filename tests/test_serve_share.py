"""The share route of ``cassis-lite serve`` (POST /share from the site's own pages, GET /share/<token>
by anyone holding the address): what a page needs to hand data to other SAMP applications by URL."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from cassis_lite.commands.serve import make_server
from cassis_lite.vo.share import ShareError, ShareStore


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_text("<!doctype html>")
    srv = make_server(root, "127.0.0.1", 0, quiet=True, share_max_bytes=100_000)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def request(url, data=None, method=None, **headers):
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_share_then_fetch(base, line_db):
    from cassis_lite.vo.exports import lines_votable

    payload = lines_votable(line_db.transitions(86000, 90000))
    host = base.split("//")[1]
    status, headers, body = request(base + "/share", payload, **{"Content-Type": "application/x-votable+xml",
                                                                  "Origin": base, "Host": host,
                                                                  "Sec-Fetch-Site": "same-origin"})
    assert status == 201, body
    info = json.loads(body)
    assert info["url"].startswith("/share/") and headers["Location"] == info["url"]
    assert info["bytes"] == len(payload) and info["expires_s"] == 1800
    assert len(info["token"]) >= 24  # 18 random bytes, URL-safe base64
    status, headers, body = request(base + info["url"])
    assert status == 200 and body == payload
    assert headers["Content-Type"] == "application/x-votable+xml"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Cache-Control"] == "no-store"
    status, headers, body = request(base + info["url"], method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) == len(payload)


@pytest.mark.parametrize("headers, status, message", [
    ({"Origin": "http://evil.example"}, 403, "only the site's own pages"),
    ({"Sec-Fetch-Site": "cross-site"}, 403, "only the site's own pages"),
    ({"Content-Type": "text/html"}, 415, "cannot be shared"),
    ({"Content-Type": "application/javascript"}, 415, "cannot be shared"),
])
def test_share_refusals(base, headers, status, message):
    h = {"Content-Type": "text/csv", **headers}
    code, _, body = request(base + "/share", b"a,b\n1,2\n", **h)
    assert code == status and message in body.decode()


def test_share_limits_and_unknown_tokens(base):
    code, _, body = request(base + "/share", b"x" * 100_001, **{"Content-Type": "application/octet-stream"})
    assert code == 413 and "over the share limit of 100000 bytes" in body.decode()
    assert request(base + "/share/not-a-token")[0] == 404
    assert request(base + "/share")[0] == 405  # GET /share
    code, _, body = request(base + "/share/abc", b"x", **{"Content-Type": "text/csv"})
    assert code == 405


def test_store_expiry_and_eviction():
    now = [0.0]
    store = ShareStore(ttl_s=60, max_item_bytes=40, max_total_bytes=100, clock=lambda: now[0])
    a, _ = store.put(b"a" * 40, "text/csv")
    now[0] = 10.0
    b, _ = store.put(b"b" * 40, "text/csv")
    c, _ = store.put(b"c" * 40, "text/csv")  # 120 > 100: the oldest (a) makes room
    with pytest.raises(ShareError) as exc:
        store.get(a)
    assert exc.value.status == 404
    assert store.get(b).data == b"b" * 40 and store.total_bytes() == 80
    now[0] = 69.9
    assert store.get(c).content_type == "text/csv"
    now[0] = 70.0  # b and c were kept 60 s
    with pytest.raises(ShareError):
        store.get(c)
    assert store.total_bytes() == 0
    with pytest.raises(ShareError) as exc:
        store.put(b"x" * 41, "text/csv")
    assert exc.value.status == 413
    assert store.put(b"{}", "application/json; charset=utf-8")[1] == 60
