"""The code base passes the linter configured in pyproject.toml (pyflakes, pycodestyle, isort)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from paths import ROOT


def test_ruff_clean():
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run([str(ruff), "check", "--no-cache", "--output-format", "concise", str(ROOT)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
