"""HTTP range requests of ``cassis-lite serve`` (RFC 9110 section 14), for pages that read a large
file piecewise (the browser's lazy reads of db/full.db): 206 with the file's exact slice, never
gzip-encoded, 416 out of range, the whole file for what a server may ignore."""

from __future__ import annotations

import gzip
import os
import threading
import urllib.error
import urllib.request

import pytest

from cassis_lite.commands.serve import make_server, parse_byte_range

SIZE = 3 * 2**20 + 12345


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_text("<!doctype html><title>t</title>")
    (root / "db").mkdir()
    data = os.urandom(SIZE)
    (root / "db" / "full.db").write_bytes(data)
    text = b"line of text\n" * 50_000  # a file with a gzip twin, as the site builder writes them
    (root / "big.txt").write_bytes(text)
    (root / "big.txt.gz").write_bytes(gzip.compress(text))
    srv = make_server(root, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/", data, text
    srv.shutdown()
    srv.server_close()


def get(url, **headers):
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.mark.parametrize("spec, first, last", [
    ("bytes=0-99", 0, 99), ("bytes=1048576-2097151", 1048576, 2097151), ("bytes=3000000-", 3000000, SIZE - 1),
    ("bytes=-500", SIZE - 500, SIZE - 1), ("bytes=100-99999999", 100, SIZE - 1), ("bytes=0-0", 0, 0),
])
def test_range_gives_the_exact_slice(site, spec, first, last):
    base, data, _ = site
    status, headers, body = get(base + "db/full.db", Range=spec, **{"Accept-Encoding": "gzip"})
    assert status == 206
    assert headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert int(headers["Content-Length"]) == last - first + 1
    assert body == data[first:last + 1]
    assert "Content-Encoding" not in headers and headers["Accept-Ranges"] == "bytes"


def test_range_is_never_gzip_encoded(site):
    base, _, text = site
    status, headers, body = get(base + "big.txt", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == text
    status, headers, body = get(base + "big.txt", Range="bytes=13-25", **{"Accept-Encoding": "gzip"})
    assert status == 206 and "Content-Encoding" not in headers
    assert body == text[13:26] == b"line of text\n"


def test_out_of_range_is_416(site):
    base, _, _ = site
    for spec in (f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"):
        status, headers, body = get(base + "db/full.db", Range=spec)
        assert status == 416, spec
        assert headers["Content-Range"] == f"bytes */{SIZE}" and body == b""


def test_what_the_server_may_ignore_gets_the_whole_file(site):
    base, data, _ = site
    for spec in ("bytes=0-9,20-29", "items=0-9", "bytes=9-0", "bytes=abc"):
        status, headers, body = get(base + "db/full.db", Range=spec)
        assert status == 200 and body == data, spec
    status, headers, _ = get(base + "db/full.db", Range="bytes=0-9")
    etag = headers["ETag"]
    assert get(base + "db/full.db", Range="bytes=0-9", **{"If-Range": etag})[0] == 206
    status, _, body = get(base + "db/full.db", Range="bytes=0-9", **{"If-Range": '"stale"'})
    assert status == 200 and body == data


def test_head_advertises_ranges_and_size(site):
    base, _, _ = site
    req = urllib.request.Request(base + "db/full.db", method="HEAD")
    with urllib.request.urlopen(req) as r:
        assert r.status == 200 and r.read() == b""
        assert r.headers["Accept-Ranges"] == "bytes" and int(r.headers["Content-Length"]) == SIZE
        assert r.headers.get("Content-Encoding") is None


def test_parse_byte_range():
    assert parse_byte_range("bytes=0-9", 100) == (0, 9)
    assert parse_byte_range("bytes = 5 - ", 100) == (5, 99)
    assert parse_byte_range("bytes=-200", 100) == (0, 99)
    assert parse_byte_range("bytes=100-", 100) == "unsatisfiable"
    assert parse_byte_range("bytes=0-", 0) == "unsatisfiable"
    assert parse_byte_range("bytes=-", 100) is None
    assert parse_byte_range("bytes=1-2,5-6", 100) is None
