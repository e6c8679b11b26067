"""What the browser benchmarks share: the headless Chromium they launch, the Bokeh document of
the page, a polling wait, the site served by ``cassis-lite serve``'s own server, and the bytes
this process has read (``/proc/self/io`` rchar: SQLite reads one page per read call)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DOC = "window.Bokeh.documents[window.Bokeh.documents.length - 1]"


def wait_for(fn, timeout: float = 120.0, poll_s: float = 0.05) -> None:
    """Poll ``fn()`` until it is true; SystemExit after ``timeout`` seconds."""
    end = time.time() + timeout
    while time.time() < end:
        if fn():
            return
        time.sleep(poll_s)
    raise SystemExit("timed out")


def serve(directory: Path):
    """(server, base URL) of the site in ``directory`` on 127.0.0.1, a free port, in a thread."""
    from cassis_lite.commands.serve import make_server

    server = make_server(directory, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def rchar() -> int:
    """Bytes this process has read so far (all files)."""
    return int(next(line for line in open("/proc/self/io") if line.startswith("rchar")).split()[1])
