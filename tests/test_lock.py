"""The test environment is the hashed lock, and the lock runs the browser's versions.

``requirements/dev.lock`` pins every package with its sha256 (``make venv`` installs it with
``pip --require-hashes``). Its NumPy, SciPy and pandas must be the versions the site's Pyodide
ships (the official ``pyodide-lock.json`` of the pinned npm package), and every pure package the
site bundles (Panel, Bokeh, param...) the version of ``build_scripts/site_manifest.json``: then
the command line, the CPython app tests and the browser run the same code.
"""

from __future__ import annotations

import json
import re
import sys
from importlib.metadata import version

import pytest

from paths import ROOT

sys.path.insert(0, str(ROOT / "build_scripts"))
import site_fetch  # noqa: E402

LOCK = ROOT / "requirements" / "dev.lock"
SAME_AS_PYODIDE = ("numpy", "scipy", "pandas")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, str]:
    """name -> version of every requirement of the lock; each must carry a sha256."""
    text = LOCK.read_text()
    out = {}
    for block in re.split(r"\n(?=\S)", text):
        if block.startswith("#") or not block.strip():
            continue
        m = re.match(r"([A-Za-z0-9_.\-]+)==([^\s;\\]+)", block)
        assert m, f"not a pinned requirement: {block.splitlines()[0]!r}"
        assert "--hash=sha256:" in block, f"{m.group(1)} has no hash"
        out[canonical(m.group(1))] = m.group(2)
    return out


def test_every_locked_package_is_pinned_with_a_hash():
    pins = locked()
    assert len(pins) > 30 and {"numpy", "scipy", "panel", "bokeh", "pytest"} <= set(pins)


def test_numpy_scipy_pandas_are_the_sites_pyodide_versions():
    manifest = site_fetch.load_manifest()
    official = json.loads(site_fetch.fetch_pyodide_core(manifest)["pyodide-lock.json"])["packages"]
    pins = locked()
    for name in SAME_AS_PYODIDE:
        assert pins[name] == official[name]["version"], (
            f"{name}: lock {pins[name]}, the site's Pyodide {official[name]['version']} (run `make lock`)")


def test_bundled_pure_packages_are_the_locked_versions():
    manifest = site_fetch.load_manifest()
    pins = locked()
    shipped = {canonical(w["name"]): w["version"] for w in manifest["wheels"] + manifest["sdists"]}
    common = set(shipped) & set(pins)
    assert {"panel", "bokeh", "param", "markdown"} <= common
    differ = {n: (pins[n], shipped[n]) for n in common if pins[n] != shipped[n]}
    assert not differ, f"lock vs site versions: {differ}"


@pytest.mark.parametrize("name", SAME_AS_PYODIDE + ("panel", "bokeh"))
def test_this_environment_was_installed_from_the_lock(name):
    assert version(name) == locked()[name]
