"""``cassis-lite serve`` and ``cassis-lite build-site``: the browser app as a static site.

``serve`` is a small standard-library HTTP server for the built folder: correct MIME types
(``application/wasm`` included), precompressed ``.gz`` twins sent to browsers that accept gzip,
revalidation headers (``no-cache`` + ETag) so a rebuilt site is never served stale.
``build-site`` runs ``build_scripts/build_site.py`` of the source checkout.
"""

from __future__ import annotations

import argparse
import email.utils
import http.server
import mimetypes
import os
import subprocess
import sys
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
            return super().send_head()
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
                        "cassis-lite build-site --out DIR)")
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


def build_script() -> Path:
    script = Path(__file__).resolve().parents[2] / "build_scripts" / "build_site.py"
    if not script.is_file():
        raise SiteError("build-site needs a source checkout of cassis-lite (build_scripts/build_site.py not found)")
    return script


def build_site(args: argparse.Namespace) -> int:
    cmd = [sys.executable, str(build_script()), "--out", str(args.out)]
    for origin in args.allow_origin:
        cmd += ["--allow-origin", origin]
    if args.samples:
        cmd += ["--samples", str(args.samples)]
    if args.portable:
        cmd += ["--portable"]
    status = subprocess.run(cmd).returncode
    if status:
        raise SiteError(f"site build failed (exit status {status})")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="serve the built browser app (static site) over HTTP",
                              description="Serve a site built by `make site` / `cassis-lite build-site`.")
    p.add_argument("--dir", default="site", help="site folder (default: site)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 = any free port)")
    p.set_defaults(func=serve)

    b = subparsers.add_parser("build-site", help="build the browser app as a static site",
                              description="Assemble the self-hosted static site (Pyodide, packages, "
                              "line database, samples) from pinned, verified inputs.")
    b.add_argument("--out", required=True, help="output folder")
    b.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="origin allowed to drive an embedded app through postMessage (repeatable)")
    b.add_argument("--samples", help="folder of sample spectra to bundle (default: ../shared/samples)")
    b.add_argument("--portable", action="store_true",
                   help="keep wheels deflated (for static hosts that do not gzip .whl responses)")
    b.set_defaults(func=build_site)
