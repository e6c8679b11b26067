"""Separate virtual environments with the two reference non-LTE codes, built on first use, reused.

- ``.venv-radex``: RADEX itself (the Fortran code, wrapped by spectralradex 1.1.5), whose compiled
  module needs numpy < 2, which the project venv does not have;
- ``.venv-pythonradex``: pythonradex 2.0.2, a pure-Python port of RADEX. It imports numba only for
  ``@jit`` and ``typed.List``: a stand-in ``numba`` module (jit returns the function, typed.List is
  ``list``) is written into the venv, so pythonradex runs as plain Python + NumPy.

Both are installed from hashed locks (``requirements/radex-ref.lock``,
``requirements/pythonradex-ref.lock``) with ``pip --require-hashes``; a venv is rebuilt when its
lock changes. Each code runs in a subprocess (``radex_runner.py``): a JSON list of models on stdin,
a JSON list of results on stdout. ``python tests/radex_env.py`` builds both.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNNER = Path(__file__).with_name("radex_runner.py")

NUMBA_STANDIN = '''"""Stand-in for numba written by tests/radex_env.py: pythonradex runs as plain Python."""


def jit(*args, **kwargs):
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda func: func


njit = jit


class typed:
    List = list
'''

VENVS = {
    "radex": (Path(os.environ.get("CASSIS_RADEX_VENV", ROOT / ".venv-radex")),
              ROOT / "requirements" / "radex-ref.lock", ()),
    "pythonradex": (Path(os.environ.get("CASSIS_PYTHONRADEX_VENV", ROOT / ".venv-pythonradex")),
                    ROOT / "requirements" / "pythonradex-ref.lock", ("--no-deps",)),
}


def reference_python(code: str) -> Path:
    """Interpreter of the venv of ``code`` ("radex" or "pythonradex"), built if missing or stale."""
    venv, lock, pip_args = VENVS[code]
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if marker.exists() and python.exists() and marker.read_text() == digest:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--require-hashes", *pip_args, "-r", str(lock)], check=True)
    if code == "pythonradex":
        site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
        (Path(site) / "numba").mkdir(exist_ok=True)
        (Path(site) / "numba" / "__init__.py").write_text(NUMBA_STANDIN)
    marker.write_text(digest)
    return python


def radex_python() -> Path:
    """Interpreter of the RADEX (spectralradex) venv."""
    return reference_python("radex")


def run_reference(code: str, models: list[dict], timeout: float = 1200, mode: str | None = None):
    """Run ``code`` on JSON-able model dicts in its venv (``mode``: the runner's, default ``code``;
    see ``radex_runner.py``)."""
    proc = subprocess.run([str(reference_python(code)), str(RUNNER), mode or code], input=json.dumps(models),
                          capture_output=True, text=True, check=False, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{code} runner failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_radex(models: list[dict]) -> list[list[dict]]:
    """Run RADEX (spectralradex.radex.run) on parameter dicts; one list of line rows per model."""
    return run_reference("radex", models)


def run_pythonradex(models: list[dict]) -> list[dict]:
    """Run pythonradex on model dicts (see ``radex_runner.py``); one dict of per-line arrays per model."""
    return run_reference("pythonradex", models)


def lamda_file(name: str) -> Path:
    """Path of a LAMDA data file shipped inside the spectralradex wheel."""
    out = subprocess.run([str(radex_python()), "-c",
                          "import spectralradex.radex as r; print(r.add_data_path(%r))" % name],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


if __name__ == "__main__":
    for name in VENVS:
        print(reference_python(name))
