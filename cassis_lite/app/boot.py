"""What the browser worker runs before the app starts, and what a start-up snapshot holds.

``prepare()`` imports Panel, Bokeh and the app, the slow part of a start (about 2 s in
WebAssembly). The site builder runs it and ``warm_up()`` once under Node and saves Pyodide's
memory after them (``build_scripts/site_snapshot.py``); the browser restores that memory instead
of importing again, then calls ``after_restore()``. Without a snapshot the worker calls
``prepare()`` itself.
Nothing here may open a file or hold a browser object that cannot be found again by name: a
snapshot keeps Python's memory, not the file descriptors or the JavaScript objects it pointed to
(``pyodide.http``, for one, holds Pyodide's internal API object, so it is imported at start).
"""

from __future__ import annotations

import os
import sys

# Panel's resource URLs, relative to the page (index.html and embed.html sit at the site root):
# Panel reads this when it is imported, so a snapshot made at build time cannot know the site's
# address.
PANEL_CDN_ROOT = "panel/"


# Imported while the first screen is built (the app's core modules; what Panel and Bokeh import
# when they first render text, tables and documents). Imported here they are in the snapshot; a
# module missing from this list only costs its import time at start.
FIRST_SCREEN_MODULES = (
    "sqlite3", "cassis_lite.linedb.database", "cassis_lite.lte.compute", "cassis_lite.readers",
    "cassis_lite.spectrum", "cassis_lite.units", "cassis_lite.analysis.options", "cassis_lite.readers.writers",
    "markdown", "markdown_it", "mdit_py_plugins.anchors", "mdit_py_plugins.deflist",
    "mdit_py_plugins.footnote", "mdit_py_plugins.tasklists", "linkify_it", "bleach.sanitizer",
    "bleach.linkifier", "narwhals.stable.v1", "narwhals.stable.v2", "numpy.ma", "decimal",
    "xml.etree.ElementTree", "unicodedata", "secrets", "bokeh.server", "panel.io.location",
    "panel.io.browser",
)


def open_files() -> list:
    """Python file objects still open, besides the standard streams. A snapshot must hold none:
    it keeps Python's memory, not the descriptors, and after the restore a stale object's fd
    number belongs to another file (the line database's, once): when the collector finalises the
    stale object, it closes that file under the app."""
    import gc
    import io

    std = {id(f) for s in (sys.stdin, sys.stdout, sys.stderr, sys.__stdin__, sys.__stdout__, sys.__stderr__)
           if s is not None for f in (s, getattr(s, "buffer", None), getattr(getattr(s, "buffer", None), "raw", None))}
    out = []
    for obj in gc.get_objects():
        if isinstance(obj, io.IOBase) and id(obj) not in std:
            try:
                if not obj.closed:
                    out.append(obj)
            except ValueError:
                pass
    return out


def release_files() -> None:
    """Close what the imports left open. importlib.metadata caches a ``zipfile.Path`` of every
    zip on ``sys.path`` (here ``python312.zip``), which holds the zip open."""
    import gc
    import importlib.metadata

    importlib.metadata.FastPath.__new__.cache_clear()
    gc.collect()
    for f in open_files():
        f.close()


def prepare() -> None:
    os.environ["PANEL_CDN_ROOT"] = PANEL_CDN_ROOT
    from cassis_lite.app.runtime import defer_import, defer_pandas

    defer_pandas()
    # Bokeh imports it for map tiles only (Plot.add_tile), and it parses an 850 kB provider list
    defer_import("xyzservices")
    import importlib

    import cassis_lite.app.worker  # noqa: F401

    for name in FIRST_SCREEN_MODULES:
        importlib.import_module(name)
    release_files()


def warm_up() -> None:
    """Build the app's screen once without data and throw it away: Bokeh, param and Panel fill
    their per-class caches (property lists, defaults, parameter watchers). Worth it in the
    snapshot only (0.2 s less at every start); no database is opened (a snapshot cannot keep
    file handles)."""
    from bokeh.document import Document

    from cassis_lite.app.view import CassisView

    view = CassisView(samples={}, defer_analysis=True)
    root = view.layout.get_root(Document())
    view.layout._cleanup(root)
    if view.session._db is not None:
        raise RuntimeError("the warm-up opened the line database")
    release_files()


def after_restore() -> None:
    """Fresh randomness for this visit: the snapshot's generators were seeded at build time."""
    import random

    random.seed()
