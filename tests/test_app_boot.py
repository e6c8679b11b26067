"""What the browser's start-up snapshot holds (cassis_lite.app.boot), checked in CPython.

The snapshot is Python's memory after ``prepare()`` and ``warm_up()``: it must hold the app's
modules but no open file (the line database) and no pandas (deferred until used).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, sys
from cassis_lite.app import boot
from cassis_lite.app.runtime import DeferredModule
boot.prepare()
boot.warm_up()
print(json.dumps({
    "missing": [m for m in boot.FIRST_SCREEN_MODULES if m not in sys.modules],
    "pandas_deferred": isinstance(sys.modules.get("pandas"), DeferredModule),
    "xyzservices_deferred": isinstance(sys.modules.get("xyzservices"), DeferredModule),
    "app_imported": "cassis_lite.app.view" in sys.modules,
    "open_files": [repr(f) for f in boot.open_files()],
}))
"""


def test_prepare_and_warm_up_import_the_app_without_pandas_or_open_files():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    state = json.loads(out.stdout.strip().splitlines()[-1])
    assert state == {"missing": [], "pandas_deferred": True, "xyzservices_deferred": True,
                     "app_imported": True, "open_files": []}


def test_open_files_finds_a_stray_file_and_release_files_closes_it(tmp_path):
    """The snapshot's check (build_scripts/site_snapshot.py) and its cure, in a Python of their
    own (release_files closes every stray file: the test runner's too)."""
    path = tmp_path / "stray.bin"
    path.write_bytes(b"x")
    script = f"""
import json
from cassis_lite.app import boot
stray = open({str(path)!r}, "rb")
found = any(f is stray for f in boot.open_files())
boot.release_files()
print(json.dumps([found, stray.closed, any(f is stray for f in boot.open_files())]))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [True, True, False]


def test_warm_up_refuses_to_leave_the_database_open(monkeypatch):
    from cassis_lite.app import boot
    from cassis_lite.app import view as view_module

    original = view_module.CassisView.__init__

    def opening_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.session.db  # a view that opened the line database at construction

    monkeypatch.setattr(view_module.CassisView, "__init__", opening_init)
    try:
        boot.warm_up()
    except RuntimeError as exc:
        assert "line database" in str(exc)
    else:
        raise AssertionError("warm_up kept an open database in the snapshot")
