"""Fixtures for the browser tests: the built site on a local server, Debian's Chromium.

The site is the one `make site` builds (``site/``); if it is missing it is built here. Every page
records its requests; :func:`off_origin` lists those that left the serving origin, and the
``app_page`` fixture fails the module if there was any.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))  # shared test data modules (tests/i16293.py)
SITE = ROOT / "site"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BOOT_TIMEOUT_MS = 180_000

pytestmark = pytest.mark.browser


def _require_chromium():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail("Debian's chromium is not installed: run `make chromium`")


def _site_is_stale() -> bool:
    lock = SITE / "site-lock.json"
    if not lock.exists():
        return True
    built = lock.stat().st_mtime
    sources = [p for d in ("cassis_lite", "web", "build_scripts") for p in (ROOT / d).rglob("*")
               if p.is_file() and "__pycache__" not in p.parts]
    return any(p.stat().st_mtime > built for p in sources)


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """The built site, rebuilt first if the package, web/ or build_scripts/ changed since."""
    if _site_is_stale():
        import sys

        sys.path.insert(0, str(ROOT / "build_scripts"))
        import build_site

        build_site.build(SITE, [], build_site.default_samples_dir())
    return SITE


def serve_dir(directory: Path, host: str = "127.0.0.1"):
    """Start cassis-lite's static server on a free port; returns (server, base_url)."""
    from cassis_lite.commands.site import make_server

    server = make_server(directory, host, 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}/"


@pytest.fixture(scope="session")
def base_url(site_dir):
    server, url = serve_dir(site_dir)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def off_origin(requests: list[str], base: str) -> list[str]:
    """Requests that left the origin of ``base`` (data: and blob: URLs stay in the page)."""
    origin = origin_of(base)
    return [u for u in requests if not u.startswith(("data:", "blob:")) and origin_of(u) != origin]


class AppPage:
    """A page of the app with its request log and console errors."""

    def __init__(self, page, base):
        self.page = page
        self.base = base
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def goto(self, path=""):
        self.page.goto(self.base + path)
        self.page.wait_for_function("document.documentElement.dataset.cassisState !== 'loading'",
                                    timeout=BOOT_TIMEOUT_MS)
        return self.page.evaluate("document.documentElement.dataset.cassisState")

    def api(self, method: str, *args):
        """Call window.cassisLite.<method>(*args) in the page and return its resolved value."""
        return self.page.evaluate(f"(args) => window.cassisLite.{method}(...args)", list(args))

    def bokeh_data(self, source_name: str, column: str) -> list:
        """A column of a named ColumnDataSource of the rendered Bokeh document."""
        return self.page.evaluate(
            """([name, col]) => {
                 const docs = window.Bokeh.documents;
                 const src = docs[docs.length - 1].get_model_by_name(name);
                 return Array.from(src.data.get ? src.data.get(col) : src.data[col]);
               }""", [source_name, column])

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture(scope="module")
def app_page(browser, base_url):
    """One booted app per test module (each Pyodide boot costs seconds)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    app = AppPage(context.new_page(), base_url)
    state = app.goto("index.html")
    assert state == "ready", f"app state {state!r}; page errors: {app.errors[-3:]}"
    yield app
    leaked = off_origin(app.requests, base_url)
    context.close()
    assert not leaked, f"requests left the origin: {leaked[:5]}"
