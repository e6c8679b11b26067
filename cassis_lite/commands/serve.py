"""``cassis-lite serve``: the browser app (a static site built by ``make site``) over HTTP, and
the Virtual Observatory routes a static host cannot offer.

A small standard-library HTTP server for the built folder: correct MIME types
(``application/wasm`` included), precompressed ``.gz`` twins sent to browsers that accept gzip,
revalidation headers (``no-cache`` + ETag) so a rebuilt site is never served stale, and HTTP range
requests (``Range: bytes=a-b`` -> 206 Partial Content, one range per request, never gzip-encoded;
a multi-range request gets the whole file) for pages that read a large file piecewise. The site
is built from a source checkout (``make site``, or ``python build_scripts/build_site.py --out DIR``):
building is a job of the source tree, not of the installed package.

Routes besides the files (docs/vo.md):

- ``/slap?REQUEST=queryData&WAVELENGTH=min/max...``: an IVOA SLAP 1.0 service over the bundled
  line database (``--db``) and, with ``DATABASE=full``, the full catalogue (``--full-db PATH``;
  by default ``DIR/db/full.db`` when it exists) (:mod:`cassis_lite.vo.slap`);
- ``POST /tap/sync`` (same origin only): the page's synchronous ADQL query (ATOMIS) relayed to one
  TAP service, the ALMA archive's by default (``--tap-url``): the page itself may ask only its own
  origin (its Content-Security-Policy), and this server asks no other service than that one;
- ``POST /share`` (same origin only) then ``GET /share/<token>``: bytes the page hands to other
  SAMP applications by URL, kept in memory for a limited time and size (:mod:`cassis_lite.vo.share`).
"""

from __future__ import annotations

import argparse
import email.utils
import http.server
import json
import mimetypes
import os
import re
import threading
import urllib.parse
from functools import partial
from pathlib import Path

from cassis_lite.errors import CassisError

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".css": "text/css",
    ".html": "text/html",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".db": "application/vnd.sqlite3",
    ".lis": "text/plain",
    ".txt": "text/plain",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
}


#: origins of a SAMP hub's Web Profile (the standard port 21012): what a page that talks to a
#: hub with sampjs must be allowed to connect to (``connect-src`` of DOCUMENT_CSP); the hub
#: answers with CORS headers for the page's origin.
SAMP_HUB_ORIGINS = ("http://localhost:21012", "http://127.0.0.1:21012")
#: Content-Security-Policy of the site's pages, sent by this server and written into every page as
#: a <meta> by the site builder (so that a static host serves it too): scripts only from files of
#: the site (no inline script, no event-handler attribute, no eval), nothing from another origin.
#: Inline styles stay allowed: Bokeh and Panel lay out with style attributes, and a style cannot
#: run code.
#: ``connect-src`` also names the SAMP hub's Web Profile (the standard port 21012 on this machine):
#: the page talks to it only after the user clicks "Connect to SAMP hub".
DOCUMENT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data: blob:; font-src 'self' data:; "
                f"connect-src 'self' {' '.join(SAMP_HUB_ORIGINS)}; worker-src 'self'; "
                "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'")
#: Policy of the sky view (sky.html: Aladin Lite beside the app, which runs in an iframe under
#: DOCUMENT_CSP): Aladin Lite compiles its WebAssembly (``'wasm-unsafe-eval'``, not ``'unsafe-eval'``:
#: no JavaScript eval), fetches the FITS map the page made (a ``blob:`` URL of the page itself),
#: starts a Web Worker from a ``blob:`` URL of its own script and draws with WebGL2. Still no inline
#: script and nothing from another origin: its usage logger, default survey and HiPS lists are
#: switched off in web/sky.js, and this policy blocks them if they were not.
SKY_CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' blob:; worker-src 'self' blob:; "
           "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'")
#: pages whose policy is not DOCUMENT_CSP (by file name)
PAGE_CSP = {"sky.html": SKY_CSP}


def page_csp(name: str) -> str:
    """The Content-Security-Policy of the site's page ``name`` (a file name)."""
    return PAGE_CSP.get(name.removesuffix(".gz"), DOCUMENT_CSP)


#: A Web Worker gets the policy of its own script's response, not the page's. The Python worker
#: compiles WebAssembly and runs the JavaScript that Panel hands to Pyodide (eval): allowed there,
#: where no page content is parsed as HTML; still nothing from another origin (data: URLs: zstddec
#: fetches its own WebAssembly from one).
WORKER_CSP = "default-src 'self'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; connect-src 'self' data:"


#: policy of a shared item and of a SLAP answer (data only: nothing in it may run in this origin)
SHARE_CSP = "default-src 'none'; sandbox"

_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class SiteError(CassisError):
    """The site folder is missing or incomplete, or the build failed."""


def parse_byte_range(header: str, size: int):
    """One byte range of a ``Range`` header for a file of ``size`` bytes (RFC 9110, 14.1.2):
    ``(first, last)`` inclusive, ``"unsatisfiable"`` (answer 416), or None (ignore the header
    and send the whole file: another unit, a malformed value, several ranges)."""
    if "," in header:
        return None
    m = _RANGE_RE.match(header)
    if not m or (not m.group(1) and not m.group(2)):
        return None
    first, last = m.group(1), m.group(2)
    if not first:  # suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    a = int(first)
    if last and int(last) < a:
        return None
    if a >= size:
        return "unsatisfiable"
    return a, min(int(last), size - 1) if last else size - 1


class Services:
    """What the VO routes use: the line databases (opened on first use, one lock each, since
    the server answers in threads) and the share store."""

    def __init__(self, db_path=None, full_db_path=None, share=None, tap_url: str | None = None,
                 tap_timeout_s: float = 120.0):
        from cassis_lite.vo.atomis import ALMA_TAP_URL
        from cassis_lite.vo.share import ShareStore

        self.tap_url = (tap_url or ALMA_TAP_URL).rstrip("/")
        self.tap_timeout_s = tap_timeout_s
        self.db_path = db_path
        self.full_db_path = full_db_path
        self.share = share if share is not None else ShareStore()
        self._dbs: dict = {}
        self._locks = {"bundled": threading.Lock(), "full": threading.Lock()}
        self._open_lock = threading.Lock()

    def database(self, name: str):
        from cassis_lite.linedb import LineDatabase
        from cassis_lite.vo.slap import SlapError

        if name == "full" and self.full_db_path is None:
            raise SlapError("no full database on this server (start cassis-lite serve with --full-db PATH)")
        with self._open_lock:
            if name not in self._dbs:
                self._dbs[name] = LineDatabase(self.full_db_path if name == "full" else self.db_path)
            return self._dbs[name]

    def slap(self, query: str) -> bytes:
        from cassis_lite.vo import slap

        params = slap.parse_query_string(query)
        name = params.get("DATABASE", "bundled").strip().lower() or "bundled"
        lock = self._locks.get(name, self._locks["bundled"])
        with lock:  # one query at a time per SQLite connection
            return slap.answer(params, self.database)


    def tap(self, body: bytes) -> bytes:
        """The answer of the TAP service to the page's form-encoded query (``{tap_url}/sync``)."""
        from cassis_lite.commands.atomis import post_tap_sync

        return post_tap_sync(self.tap_url + "/sync", body, self.tap_timeout_s, self.tap_url)


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with wasm MIME type, gzip twins and revalidation headers."""

    extensions_map = {**mimetypes.types_map, **MIME_TYPES, "": "application/octet-stream"}
    quiet = False

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        if not self.quiet:
            super().log_message(format, *args)

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away (page closed mid-download)

    def copyfile(self, source, outputfile):
        remaining = getattr(self, "_remaining", None)
        try:
            if remaining is None:
                super().copyfile(source, outputfile)
                return
            while remaining > 0:
                chunk = source.read(min(remaining, 64 * 1024))
                if not chunk:
                    break
                outputfile.write(chunk)
                remaining -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # --- routes --------------------------------------------------------------------------------
    services: Services | None = None

    def _route(self, method: str) -> bool:
        """Answer the VO routes; False for a file of the site."""
        path, _, query = self.path.partition("?")
        path = urllib.parse.unquote(path)
        if self.services is None:
            return False
        if path in ("/slap", "/slap/"):
            if method == "POST":
                try:
                    query = self._read_body(1 << 20).decode("latin-1")
                except _HttpError as exc:
                    self.close_connection = True
                    self._send_error_text(exc.status, str(exc))
                    return True
            if method in ("GET", "HEAD", "POST"):
                self._send_bytes(200, self.services.slap(query), "application/x-votable+xml",
                                 {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache",
                                  "Content-Security-Policy": SHARE_CSP}, head_only=method == "HEAD")
            else:
                self._send_error_text(405, "the SLAP service answers GET (and POST)")
            return True
        if path == "/tap/sync":
            if method == "POST":
                self._tap_post()
            else:
                self._send_error_text(405, "POST an ADQL query (REQUEST=doQuery&LANG=ADQL&QUERY=...) to /tap/sync")
            return True
        if path == "/share":
            if method == "POST":
                self._share_post()
            else:
                self._send_error_text(405, "POST data to /share, then GET /share/<token>")
            return True
        if path.startswith("/share/"):
            if method in ("GET", "HEAD"):
                self._share_get(path[len("/share/"):], head_only=method == "HEAD")
            else:
                self._send_error_text(405, "GET /share/<token>")
            return True
        return False

    def do_GET(self):
        if not self._route("GET"):
            super().do_GET()

    def do_HEAD(self):
        if not self._route("HEAD"):
            super().do_HEAD()

    def do_POST(self):
        if not self._route("POST"):
            self._send_error_text(405, "this server takes POST only on /share and /slap")

    def _read_body(self, limit: int) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            raise _HttpError(411, "a Content-Length is needed")
        n = int(length)
        if n > limit:
            raise _HttpError(413, f"{n} bytes is over the limit of {limit} bytes")
        data = self.rfile.read(n)
        if len(data) != n:
            raise _HttpError(400, "the request body is shorter than its Content-Length")
        return data

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin")
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            return False
        return origin is None or origin == f"http://{self.headers.get('Host', '')}"

    def _share_post(self):
        from cassis_lite.vo.share import ShareError

        store = self.services.share
        try:
            if not self._same_origin():
                raise ShareError("only the site's own pages may share data", 403)
            length = self.headers.get("Content-Length", "")
            if length.strip().isdigit():
                store.check_size(int(length))
            data = self._read_body(store.max_item_bytes)
            token, ttl = store.put(data, self.headers.get("Content-Type"), self.headers.get("X-Filename", ""))
        except (ShareError, _HttpError) as exc:
            self.close_connection = True  # the body may be unread
            self._send_error_text(exc.status, str(exc))
            return
        url = f"/share/{token}"
        body = json.dumps({"url": url, "token": token, "expires_s": ttl, "bytes": len(data)}).encode()
        self._send_bytes(201, body, "application/json", {"Location": url, "Cache-Control": "no-store"})

    def _tap_post(self):
        try:
            if not self._same_origin():
                raise _HttpError(403, "only the site's own pages may query the archive through this server")
            body = self._read_body(1 << 20)
            answer = self.services.tap(body)
        except _HttpError as exc:
            self.close_connection = True
            self._send_error_text(exc.status, str(exc))
            return
        except CassisError as exc:
            self._send_error_text(502, str(exc))
            return
        self._send_bytes(200, answer, "application/x-votable+xml", {"Cache-Control": "no-store"})

    def _share_get(self, token: str, head_only: bool):
        from cassis_lite.vo.share import ShareError

        try:
            item = self.services.share.get(token)
        except ShareError as exc:
            self._send_error_text(exc.status, str(exc))
            return
        self._send_bytes(200, item.data, item.content_type,
                         {"Cache-Control": "no-store", "Content-Security-Policy": SHARE_CSP,
                          "Access-Control-Allow-Origin": "*"}, head_only=head_only)

    def _send_bytes(self, status: int, body: bytes, ctype: str, headers=None, head_only: bool = False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head_only:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def _send_error_text(self, status: int, message: str):
        self._send_bytes(status, (message + "\n").encode("utf-8"), "text/plain; charset=utf-8",
                         {"Cache-Control": "no-store"})

    # --- files ---------------------------------------------------------------------------------
    def send_head(self):
        self._remaining = None
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            index = os.path.join(path, "index.html")
            if not self.path.split("?", 1)[0].endswith("/") or not os.path.isfile(index):
                return super().send_head()  # the redirect to "dir/", or the error
            path = index
        if self.headers.get("Range") and os.path.isfile(path):
            st = os.stat(path)
            etag = self._etag(st, None)
            if_range = self.headers.get("If-Range")
            if if_range is None or if_range.strip() == etag:
                byte_range = parse_byte_range(self.headers["Range"], st.st_size)
                if byte_range == "unsatisfiable":
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{st.st_size}")
                    self.send_header("Content-Length", "0")
                    self.send_header("Accept-Ranges", "bytes")
                    self.end_headers()
                    return None
                if byte_range is not None:
                    self._encoding = None
                    return self._send_file(path, self.guess_type(path), st, byte_range)
        gz = path + ".gz"
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        if accepts_gzip and os.path.isfile(gz) and os.path.isfile(path):
            self._encoding = "gzip"
            return self._send_file(gz, self.guess_type(path), os.stat(path))
        self._encoding = None
        if not os.path.isfile(path):
            return super().send_head()
        return self._send_file(path, self.guess_type(path), os.stat(path))

    @staticmethod
    def _etag(stat_for_etag, encoding) -> str:
        return f'"{int(stat_for_etag.st_mtime_ns):x}-{stat_for_etag.st_size:x}-{encoding or "id"}"'

    def _send_file(self, path, ctype, stat_for_etag, byte_range=None):
        st = os.stat(path)
        etag = self._etag(stat_for_etag, self._encoding)
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            return None
        f = open(path, "rb")
        if byte_range is not None:
            first, last = byte_range
            f.seek(first)
            self._remaining = last - first + 1
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{last}/{st.st_size}")
            self.send_header("Content-Length", str(self._remaining))
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(st.st_size))
        self.send_header("Content-Type", ctype)
        if self._encoding:
            self.send_header("Content-Encoding", self._encoding)
        else:
            self.send_header("Accept-Ranges", "bytes")
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(stat_for_etag.st_mtime, usegmt=True))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if ctype.startswith("text/html"):
            self.send_header("Content-Security-Policy", page_csp(os.path.basename(path)))
        elif ctype.startswith("text/javascript"):
            self.send_header("Content-Security-Policy", WORKER_CSP)
        self.end_headers()
        return f


class _HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class SiteServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    services: Services | None = None


def make_server(directory: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000,
                quiet: bool = False, db=None, full_db=None, share_ttl_s: float = 1800.0,
                share_max_bytes: int = 64 * 2**20, tap_url: str | None = None) -> SiteServer:
    """An HTTP server for a built site folder (port 0 picks a free port), with the SLAP route over
    ``db`` (default: the bundled database) and ``full_db`` (default: ``DIR/db/full.db`` if it
    exists), and the share route (items kept ``share_ttl_s`` seconds, at most ``share_max_bytes``
    each, 4 x that in all), and the TAP relay to ``tap_url`` (default: the ALMA archive)."""
    from cassis_lite.vo.share import ShareStore

    directory = Path(directory)
    if not (directory / "index.html").is_file():
        raise SiteError(f"{directory}: no index.html; build the site first (make site, or "
                        "python build_scripts/build_site.py --out DIR)")
    if full_db is None and (directory / "db" / "full.db").is_file():
        full_db = directory / "db" / "full.db"
    if full_db is not None and not Path(full_db).is_file():
        raise SiteError(f"--full-db {full_db}: no such file")
    services = Services(db, full_db, ShareStore(share_ttl_s, share_max_bytes, 4 * share_max_bytes), tap_url)
    handler = partial(type("Handler", (SiteHandler,), {"quiet": quiet, "services": services}),
                      directory=str(directory))
    try:
        server = SiteServer((host, port), handler)
    except OSError as exc:
        raise SiteError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    server.services = services
    return server


def serve(args: argparse.Namespace) -> int:
    server = make_server(args.dir, args.host, args.port, db=args.db, full_db=args.full_db,
                         share_ttl_s=args.share_ttl, share_max_bytes=int(args.share_max_mb * 2**20),
                         tap_url=args.tap_url)
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"CASSIS lite: serving {Path(args.dir).resolve()} at http://{shown}:{port}/  (Ctrl-C to stop)",
          flush=True)
    full = server.services.full_db_path
    print(f"SLAP 1.0 service: http://{shown}:{port}/slap (bundled database"
          + (f"; DATABASE=full: {full})" if full else ")"), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="serve the built browser app (static site) over HTTP",
                              description="Serve a site built by `make site` (build_scripts/build_site.py).")
    p.add_argument("--dir", default="site", help="site folder (default: site)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 = any free port)")
    p.add_argument("--db", metavar="PATH", default=None,
                   help="line database of the /slap service (default: the bundled one, or $CASSIS_LITE_DB)")
    p.add_argument("--full-db", metavar="PATH", default=None,
                   help="full catalogue for /slap?...&DATABASE=full (default: DIR/db/full.db if it exists)")
    p.add_argument("--share-ttl", type=float, default=1800.0, metavar="SECONDS",
                   help="how long data a page shares (POST /share) stay available (default 1800)")
    p.add_argument("--share-max-mb", type=float, default=64.0, metavar="MB",
                   help="largest item a page may share (default 64; 4 x that in all)")
    p.add_argument("--tap-url", metavar="URL", default=None,
                   help="the TAP service the page's archive searches are relayed to (POST /tap/sync; "
                   "default: the ALMA archive, https://almascience.eso.org/tap)")
    p.set_defaults(func=serve)
