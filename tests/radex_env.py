"""A separate virtual environment with spectralradex (RADEX), built on first use and reused.

spectralradex 1.1.5's compiled module needs numpy < 2, which the project venv does not have, so
RADEX runs in ``.venv-radex`` (a subprocess; see ``radex_runner.py``). ``python
tests/radex_env.py`` (or ``make radex``) builds it; the test fixture does the same if needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("CASSIS_RADEX_VENV", ROOT / ".venv-radex"))
REQUIREMENTS = ["spectralradex==1.1.5", "numpy==1.26.4", "pandas==2.2.3"]
RUNNER = Path(__file__).with_name("radex_runner.py")


def radex_python() -> Path:
    """Path of the interpreter of the RADEX venv, creating and filling the venv if needed."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if marker.exists() and python.exists() and marker.read_text() == "\n".join(REQUIREMENTS):
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    *REQUIREMENTS], check=True)
    marker.write_text("\n".join(REQUIREMENTS))
    return python


def run_radex(models: list[dict]) -> list[list[dict]]:
    """Run RADEX (spectralradex.radex.run) on parameter dicts; one list of line rows per model."""
    proc = subprocess.run([str(radex_python()), str(RUNNER)], input=json.dumps(models),
                          capture_output=True, text=True, check=False, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"RADEX runner failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def lamda_file(name: str) -> Path:
    """Path of a LAMDA data file shipped inside the spectralradex wheel."""
    out = subprocess.run([str(radex_python()), "-c",
                          "import spectralradex.radex as r; print(r.add_data_path(%r))" % name],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


if __name__ == "__main__":
    print(radex_python())
