"""``cassis-lite serve``: the browser app (a static site built by ``make site``) over HTTP.

A small standard-library HTTP server for the built folder: correct MIME types
(``application/wasm`` included), precompressed ``.gz`` twins sent to browsers that accept gzip,
revalidation headers (``no-cache`` + ETag) so a rebuilt site is never served stale. The site is
built from a source checkout (``make site``, or ``python build_scripts/build_site.py --out DIR``):
building is a job of the source tree, not of the installed package.
"""

from __future__ import annotations

import argparse
import email.utils
import http.server
import mimetypes
import os
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


#: Content-Security-Policy of the site's pages, sent by this server and written into every page as
#: a <meta> by the site builder (so that a static host serves it too): scripts only from files of
#: the site (no inline script, no event-handler attribute, no eval), nothing from another origin.
#: Inline styles stay allowed: Bokeh and Panel lay out with style attributes, and a style cannot
#: run code.
DOCUMENT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self'; "
                "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'")
#: A Web Worker gets the policy of its own script's response, not the page's. The Python worker
#: compiles WebAssembly and runs the JavaScript that Panel hands to Pyodide (eval): allowed there,
#: where no page content is parsed as HTML; still nothing from another origin (data: URLs: zstddec
#: fetches its own WebAssembly from one).
WORKER_CSP = "default-src 'self'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; connect-src 'self' data:"


class SiteError(CassisError):
    """The site folder is missing or incomplete, or the build failed."""


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
        try:
            super().copyfile(source, outputfile)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send_head(self):
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            index = os.path.join(path, "index.html")
            if not self.path.split("?", 1)[0].endswith("/") or not os.path.isfile(index):
                return super().send_head()  # the redirect to "dir/", or the error
            path = index
        gz = path + ".gz"
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        if accepts_gzip and os.path.isfile(gz) and os.path.isfile(path):
            self._encoding = "gzip"
            return self._send_file(gz, self.guess_type(path), os.stat(path))
        self._encoding = None
        if not os.path.isfile(path):
            return super().send_head()
        return self._send_file(path, self.guess_type(path), os.stat(path))

    def _send_file(self, path, ctype, stat_for_etag):
        st = os.stat(path)
        etag = f'"{int(stat_for_etag.st_mtime_ns):x}-{stat_for_etag.st_size:x}-{self._encoding or "id"}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            return None
        f = open(path, "rb")
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(st.st_size))
        if self._encoding:
            self.send_header("Content-Encoding", self._encoding)
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(stat_for_etag.st_mtime, usegmt=True))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if ctype.startswith("text/html"):
            self.send_header("Content-Security-Policy", DOCUMENT_CSP)
        elif ctype.startswith("text/javascript"):
            self.send_header("Content-Security-Policy", WORKER_CSP)
        self.end_headers()
        return f


class SiteServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(directory: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000,
                quiet: bool = False) -> SiteServer:
    """An HTTP server for a built site folder (port 0 picks a free port)."""
    directory = Path(directory)
    if not (directory / "index.html").is_file():
        raise SiteError(f"{directory}: no index.html; build the site first (make site, or "
                        "python build_scripts/build_site.py --out DIR)")
    handler = partial(type("Handler", (SiteHandler,), {"quiet": quiet}), directory=str(directory))
    try:
        return SiteServer((host, port), handler)
    except OSError as exc:
        raise SiteError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve(args: argparse.Namespace) -> int:
    server = make_server(args.dir, args.host, args.port)
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"CASSIS lite: serving {Path(args.dir).resolve()} at http://{shown}:{port}/  (Ctrl-C to stop)",
          flush=True)
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
    p.set_defaults(func=serve)
