"""Run ``cassis-lite ARGS`` in the test process (the same ``cassis_lite.cli.main`` the console script
calls), capturing its binary stdout and its stderr: quicker than a subprocess per call."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout


def run_cli(*args) -> tuple[int, bytes, str]:
    """(exit status, stdout bytes, stderr text) of ``cassis-lite *args``."""
    from cassis_lite.cli import main

    buf = io.BytesIO()
    out = io.TextIOWrapper(buf, encoding="utf-8", newline="")
    err = io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code
        out.flush()
    return int(code or 0), buf.getvalue(), err.getvalue()
