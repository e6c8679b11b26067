"""Run Python in the built site's own Pyodide 0.27.7 under Node (V8, the engine of Chromium).

Used by the tests and benchmarks that check the core gives in WebAssembly what it gives in
CPython: the site's own wheels are loaded, the current ``cassis_lite`` tree (and any data files)
is copied into Pyodide's file system, then a Python script runs there. Whatever the script
prints comes back on stdout; the value of its last expression comes back as a ``RESULT `` line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYODIDE_DIR = ROOT / "site" / "pyodide"
HOME = "/home/pyodide"

RUNNER = r"""
import { createRequire } from "module";
import fs from "fs";
import path from "path";
const require = createRequire(import.meta.url);
const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { loadPyodide } = require(spec.index + "/pyodide.js");
const py = await loadPyodide({ indexURL: spec.index + "/", stdout: (s) => console.log(s) });
await py.loadPackage(spec.packages, { messageCallback: () => {} });
function copyTree(src, dst, skip) {
  py.FS.mkdirTree(dst);
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    if (skip.some((s) => e.name === s || (s.startsWith(".") && e.name.endsWith(s)))) continue;
    const s = path.join(src, e.name), d = dst + "/" + e.name;
    if (e.isDirectory()) copyTree(s, d, skip); else py.FS.writeFile(d, fs.readFileSync(s));
  }
}
for (const [src, dst, skip] of spec.trees) copyTree(src, dst, skip);
let result;
try {
  result = await py.runPythonAsync(fs.readFileSync(spec.script, "utf8"));
} catch (e) {
  // written synchronously: Node's own report of an uncaught error starts with the minified
  // line of pyodide.asm.js and is cut at 128 KiB on exit, losing the Python traceback
  fs.writeSync(2, String(e && e.message || e) + "\n");
  process.exit(1);
}
if (result !== undefined) console.log("RESULT " + result);
"""


def available() -> bool:
    """True when Node and the built site (``make site``) are there."""
    return shutil.which("node") is not None and (PYODIDE_DIR / "pyodide.js").is_file()


def run_in_pyodide(script: str, packages=("numpy",), trees=(), skip=("__pycache__", "app"),
                   timeout=900) -> subprocess.CompletedProcess:
    """Run ``script`` in Pyodide with ``packages`` loaded and ``cassis_lite`` at HOME/cassis_lite.

    ``trees``: more (host folder, Pyodide folder) pairs to copy. ``skip``: file or folder names
    left out of every copy (an entry starting with "." is a suffix, e.g. ".db").
    """
    with tempfile.TemporaryDirectory() as tmp:
        runner, spec, code = Path(tmp, "run.mjs"), Path(tmp, "spec.json"), Path(tmp, "script.py")
        runner.write_text(RUNNER)
        code.write_text(f"import sys\nsys.path.insert(0, {HOME!r})\n" + script)
        copies = [(str(ROOT / "cassis_lite"), f"{HOME}/cassis_lite"), *((str(s), d) for s, d in trees)]
        spec.write_text(json.dumps({"index": str(PYODIDE_DIR), "packages": list(packages),
                                    "trees": [[s, d, list(skip)] for s, d in copies], "script": str(code)}))
        return subprocess.run(["node", str(runner), str(spec)], capture_output=True, text=True,
                              timeout=timeout)


def result_of(proc: subprocess.CompletedProcess) -> str | None:
    """The ``RESULT`` line's text of a :func:`run_in_pyodide` run (None if there is none)."""
    lines = [s for s in proc.stdout.splitlines() if s.startswith("RESULT ")]
    return lines[-1][len("RESULT "):] if lines else None
