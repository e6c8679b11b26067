"""Fixtures of the whole suite: the line database, the built site, Debian's Chromium.

``make test`` builds the database and the site before pytest starts, so a missing one fails the
tests that need it (it is not a reason to skip). Browser fixtures: the site on a local server, a
Chromium launched once per session, and :class:`AppPage` (a booted app that records its
requests; :func:`off_origin` lists those that left the serving origin and ``app_page`` fails the
module if there was any).

Nothing the suite reads may lie outside the repository (a user's clone has nothing beside it):
an audit hook records every file the test process opens or lists in the checkout's parent folder
outside the checkout, and the session fails if there was one.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from paths import ROOT, SITE

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BOOT_TIMEOUT_MS = 180_000
#: viewports the UI is checked at (desktop, small laptop / tablet, phone in portrait)
VIEWPORTS = {"desktop": (1440, 900), "laptop": (800, 900), "phone": (390, 844)}


# --------------------------------------------------------------------------- reads outside the repository

OUTSIDE_READS: list[str] = []


#: what tests and the tools they run create in the system's temporary folder (pytest's tmp_path,
#: tempfile.mkdtemp, Dask's scratch space): not the checkout's neighbours, even for a checkout
#: that lives in that folder
TEMP_ARTEFACTS = ("pytest-of-", "tmp", "dask-scratch-space")


def outside_repository(path, root: Path = ROOT) -> bool:
    """True for a path in the checkout's parent folder that is not inside the checkout."""
    try:
        p = Path(os.fsdecode(path))
    except TypeError:
        return False  # a file descriptor
    if not p.is_absolute():
        p = Path.cwd() / p
    p = Path(os.path.normpath(p))
    parent = root.parent
    if not p.is_relative_to(parent) or p.is_relative_to(root):
        return False
    if parent == Path(tempfile.gettempdir()).resolve():
        first = p.relative_to(parent).parts[0] if p != parent else ""
        return not first.startswith(TEMP_ARTEFACTS)
    return True


def _audit(event: str, args) -> None:
    if event in ("open", "os.listdir", "os.scandir") and args and args[0] is not None:
        if outside_repository(args[0]):
            OUTSIDE_READS.append(f"{event} {os.fsdecode(args[0])}")


sys.addaudithook(_audit)


def pytest_sessionfinish(session, exitstatus):
    if OUTSIDE_READS:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            "FAILED: the tests read outside the repository: " + "; ".join(sorted(set(OUTSIDE_READS))[:5]),
            red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --------------------------------------------------------------------------- data

@pytest.fixture(scope="session")
def line_db():
    """The bundled line database (``make db``)."""
    from cassis_lite.linedb import LineDatabase, default_database_path

    path = default_database_path()
    if not path.exists():
        pytest.fail(f"line database {path} not built: run `make db` (make test does)")
    return LineDatabase(path)


@pytest.fixture(scope="session")
def built_site() -> Path:
    """The site `make site` built (Pyodide, wheels, snapshot), for tests that run its Pyodide."""
    if not (SITE / "site-lock.json").exists() or shutil.which("node") is None:
        pytest.fail("needs the built site and Node: run `make site` (make test does)")
    return SITE


# --------------------------------------------------------------------------- browser

def _site_is_stale() -> bool:
    lock = SITE / "site-lock.json"
    if not lock.exists():
        return True
    built = lock.stat().st_mtime
    sources = [p for d in ("cassis_lite", "web", "build_scripts", "data") for p in (ROOT / d).rglob("*")
               if p.is_file() and "__pycache__" not in p.parts]
    return any(p.stat().st_mtime > built for p in sources)


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """The built site, rebuilt first if the package, web/, data/ or build_scripts/ changed since."""
    if _site_is_stale():
        sys.path.insert(0, str(ROOT / "build_scripts"))
        import build_site

        build_site.build(SITE, [])
    return SITE


def serve_dir(directory: Path, host: str = "127.0.0.1"):
    """Start cassis-lite's static server on a free port; returns (server, base_url)."""
    from cassis_lite.commands.serve import make_server

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
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail("Debian's chromium is not installed: run `make chromium`")
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
    """A page of the app with its request log, console errors and CSP violations."""

    def __init__(self, page, base):
        self.page = page
        self.base = base
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(message.text)
        elif "Dropping a patch" in message.text:
            # Bokeh drops a change the page sent about a model Python no longer has: what the
            # person did is lost (a widget shown after its model was replaced)
            self.errors.append(message.text)

    def goto(self, path=""):
        self.page.goto(self.base + path)
        self.page.wait_for_function("() => document.documentElement.dataset.cassisState !== 'loading'",
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

    def text(self, css: str) -> str:
        """The text a person reads in the first element matching ``css``: a Panel pane draws its
        content in a shadow root, which ``innerText`` of the element does not include."""
        return self.page.locator(css).first.evaluate(
            """(el) => el.shadowRoot ? [...el.shadowRoot.children].filter((c) => !['STYLE', 'LINK'].includes(c.tagName))
                                          .map((c) => c.innerText).join('\\n') : el.innerText""")

    def open_tab(self, name: str) -> None:
        """Open a card of the side panel (a card's widgets are drawn when its tab is opened)."""
        import re

        self.page.locator(".bk-tab").filter(has_text=re.compile(f"^{re.escape(name)}$")).first.click()

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path


#: page coordinates of the data point (x, y) of the figure named ``name`` (as drawn now)
DATA_TO_PAGE = """([name, x, y]) => {
  const model = window.Bokeh.documents[window.Bokeh.documents.length - 1].get_model_by_name(name);
  const find = (v) => { if (v.model === model) return v;
    for (const c of v.child_views || []) { const f = find(c); if (f) return f; } return null; };
  const view = window.Bokeh.index.roots.map(find).find((v) => v);
  if (!view) return null;
  const r = view.canvas_view.el.getBoundingClientRect();
  return [r.left + view.frame.x_scale.compute(x), r.top + view.frame.y_scale.compute(y)];
}"""


def wait_for(fn, timeout=30.0, what="condition"):
    """The first true value of ``fn()`` (polled every 0.1 s), or AssertionError after ``timeout`` s."""
    end = time.time() + timeout
    while time.time() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def new_app(browser, base_url, path="index.html", viewport=VIEWPORTS["desktop"]) -> tuple[AppPage, object]:
    """A fresh browser context with a booted app; returns (app, context). The caller closes it."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    app = AppPage(context.new_page(), base_url)
    state = app.goto(path)
    assert state == "ready", f"app state {state!r}; page errors: {app.errors[-3:]}"
    return app, context


def close_app(app: AppPage, context, base_url: str) -> None:
    """Close a page's context; fail if it sent a request off the origin or Bokeh dropped a change
    the person made (a patch naming a model Python no longer has)."""
    leaked = off_origin(app.requests, base_url)
    context.close()
    assert not leaked, leaked[:5]
    dropped = [e for e in app.errors if "Dropping a patch" in e]
    assert not dropped, dropped[:2]


@pytest.fixture(scope="module")
def app_page(browser, base_url):
    """One booted app per test module (each Pyodide boot costs seconds)."""
    app, context = new_app(browser, base_url)
    yield app
    leaked = off_origin(app.requests, base_url)
    context.close()
    assert not leaked, f"requests left the origin: {leaked[:5]}"


def pytest_collection_modifyitems(config, items):
    """Tests under tests/browser/ drive Chromium; tests that use the built site (its Pyodide under
    Node, its files) are marked ``site``: ``make test-unit`` leaves both out."""
    browser_dir = ROOT / "tests" / "browser"
    for item in items:
        if Path(item.fspath).is_relative_to(browser_dir):
            item.add_marker(pytest.mark.browser)
        if {"built_site", "site_dir"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.site)
    # Tests that use Chromium run last: Playwright's sync API keeps its event loop running in the
    # main thread while the session's browser lives, and asyncio.run() refuses to start there.
    uses_browser = [i for i in items if "browser" in getattr(i, "fixturenames", ())]
    if uses_browser:
        chosen = set(map(id, uses_browser))
        items[:] = [i for i in items if id(i) not in chosen] + uses_browser
