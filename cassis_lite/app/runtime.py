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
