"""Serve the built site with the benchmarks' reference pages beside it (same origin, same files).

The reference pages (``benchmarks/pages/``: a bare Pyodide + NumPy page) are not part of the
product: they are linked into a temporary folder next to links to every entry of the built site,
and that folder is served by ``cassis-lite serve``'s server.
"""

from __future__ import annotations

import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

PAGES = Path(__file__).resolve().parent / "pages"


@contextmanager
def serve_site(site: Path):
    """Yields the base URL of ``site`` served with the reference pages beside it."""
    from cassis_lite.commands.serve import make_server

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for entry in list(site.iterdir()) + list(PAGES.iterdir()):
            (root / entry.name).symlink_to(entry.resolve())
        server = make_server(root, "127.0.0.1", 0, quiet=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()
            server.server_close()
