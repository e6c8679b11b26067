"""A separate virtual environment with the optical/UV reference codes, built on first use and reused.

linetools 0.3.2 (Voigt optical depths, ``linetools.analysis.voigt``) and PyAstronomy 0.25.0
(``pyasl.rotBroad``, ``fastRotBroad``, ``instrBroadGaussFast``) are installed into
``.venv-optical-ref`` from the hashed ``requirements/optical-ref.lock`` with
``pip --require-hashes`` (linetools brings astropy, matplotlib, h5py, IPython and qtpy, which
have no place in the project venv), and run by subprocess (``optical_ref_runner.py``).
``python tests/optical_ref_env.py`` builds it; the tests' fixture does the same if needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("CASSIS_OPTICAL_REF_VENV", ROOT / ".venv-optical-ref"))
LOCK = ROOT / "requirements" / "optical-ref.lock"
RUNNER = Path(__file__).with_name("optical_ref_runner.py")


def reference_python() -> Path:
    """Interpreter of the reference venv, creating and filling it from the lock if needed."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if marker.exists() and python.exists() and marker.read_text() == digest:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--require-hashes", "--only-binary", ":all:", "-r", str(LOCK)], check=True)
    marker.write_text(digest)
    return python


def run_reference(jobs: list[dict]) -> list:
    """Run the reference codes on ``jobs`` (see ``optical_ref_runner.py``); one result per job."""
    proc = subprocess.run([str(reference_python()), "-W", "ignore", str(RUNNER)], input=json.dumps(jobs),
                          capture_output=True, text=True, check=False, timeout=600,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"})
    if proc.returncode != 0:
        raise RuntimeError(f"optical reference runner failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(reference_python())
