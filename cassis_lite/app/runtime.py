"""Where the app runs (browser worker or CPython) and on-demand packages in the browser.

The first screen needs no SciPy; the site ships it as a lazy package (see
``build_scripts/site_manifest.json``). Code that needs it (fits) awaits
``ensure_packages(["scipy"])`` first: in Pyodide this downloads and installs it once (verified
against the site's lock), in CPython it does nothing.
"""

from __future__ import annotations

import sys

IN_PYODIDE = sys.platform == "emscripten"


async def ensure_packages(names: list[str]) -> None:
    """Install site packages (by Pyodide name, e.g. "scipy") if they are not loaded yet."""
    if not IN_PYODIDE:
        return
    import pyodide_js

    loaded = pyodide_js.loadedPackages.to_py() if hasattr(pyodide_js.loadedPackages, "to_py") else {}
    missing = [n for n in names if n not in loaded]
    if missing:
        await pyodide_js.loadPackage(missing)


def lazy_package_for(module: str, lazy: list[str]) -> str | None:
    """The lazy site package that provides ``module`` (top-level import name), if any."""
    top = module.split(".")[0].lower().replace("_", "-")
    return top if top in lazy else None


class DeferredModule(type(sys)):
    """Stands in for a heavy module until one of its attributes is used.

    ``import pandas as pd`` then hands out this placeholder (it has no ``__spec__``, so the
    import system does not touch it); the first attribute access imports the real module,
    which must be installed by then. Bokeh imports pandas in every ColumnDataSource and Panel
    on start, but the app never gives them a DataFrame: deferring saves seconds of start-up.
    """

    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_deferred_name"] = name

    def __getattr__(self, attr):
        name = self.__dict__["_deferred_name"]
        if sys.modules.get(name) is self:
            del sys.modules[name]
        import importlib

        real = importlib.import_module(name)
        sys.modules[name] = real
        return getattr(real, attr)


def defer_import(name: str) -> None:
    """Put a :class:`DeferredModule` for ``name`` in ``sys.modules`` (if not imported yet)."""
    if name not in sys.modules:
        module = DeferredModule(name)
        module.__spec__ = None
        sys.modules[name] = module


def defer_pandas() -> None:
    """Defer pandas (several seconds to import in the browser) until something really uses it.

    Bokeh asks for pandas' datetime types whenever it validates a Datetime property; no pandas
    object can exist before pandas is imported, so until then the answer without pandas' types
    is exact. Written for the pinned Bokeh 3.8 (``bokeh.util.serialization``).
    """
    import datetime as dt

    import numpy as np

    defer_import("pandas")
    from bokeh.util import serialization

    original = serialization._compute_datetime_types
    base = {dt.time, dt.datetime, np.datetime64}

    def datetime_types() -> set[type]:
        if isinstance(sys.modules.get("pandas"), DeferredModule):
            return base
        return original()

    serialization._compute_datetime_types = datetime_types


class Debouncer:
    """Calls ``fn`` once, ``delay_s`` after the last of a burst of :meth:`trigger` calls (typing).

    In the browser (an asyncio loop runs: Pyodide's WebLoop) the call waits; without a running
    loop (CPython tests, scripts) it happens at once."""

    def __init__(self, fn, delay_s: float = 0.35):
        self.fn = fn
        self.delay_s = delay_s
        self._handle = None

    def trigger(self) -> None:
        import asyncio

        try:
            loop = asyncio.get_running_loop() if not IN_PYODIDE else asyncio.get_event_loop()
        except RuntimeError:
            loop = None
        if loop is None or (not IN_PYODIDE and not loop.is_running()):
            self.fn()
            return
        if self._handle is not None:
            self._handle.cancel()
        self._handle = loop.call_later(self.delay_s, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self.fn()
