"""Precompile wheels to CPython 3.12 bytecode with the site's own Pyodide, run in Node.

Pyodide 0.27.7 is CPython 3.12.7: its ``compile`` produces exactly the bytecode the browser
would produce on first import, so shipping it saves that work on every visit. Each ``.py`` of a
wheel is replaced by a sourceless ``.pyc`` (unchecked-hash, deterministic), as Pyodide does for
its own packages. Results are cached in ``.cache/pyc`` by the sha256 of the input wheel.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

COMPILER = r"""
const path = require("path");
const [pyodideDir, workDir] = process.argv.slice(2);
const { loadPyodide } = require(path.join(pyodideDir, "pyodide.js"));
(async () => {
  const py = await loadPyodide({ indexURL: pyodideDir + "/" });
  py.FS.mkdirTree("/work");
  py.FS.mount(py.FS.filesystems.NODEFS, { root: workDir }, "/work");
  py.runPython(`
import importlib.util, importlib._bootstrap_external as ext, json, sys, zipfile
jobs = json.load(open("/work/jobs.json"))
for src, dst, optimize in jobs:
    zin = zipfile.ZipFile("/work/" + src)
    zout = zipfile.ZipFile("/work/" + dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9)
    for info in sorted(zin.infolist(), key=lambda i: i.filename):
        data = zin.read(info)
        name = info.filename
        if name.endswith(".py") and ".dist-info/" not in name:
            try:
                code = compile(data, "/lib/python3.12/site-packages/" + name, "exec", dont_inherit=True, optimize=optimize)
            except SyntaxError:
                code = None
            if code is not None:
                data = ext._code_to_hash_pyc(code, importlib.util.source_hash(data), False)
                name = name + "c"
        out = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
        out.compress_type = zipfile.ZIP_DEFLATED
        out.external_attr = 0o644 << 16
        zout.writestr(out, data)
    zout.close()
`);
})().catch((e) => { console.error(e); process.exit(1); });
"""


def _pyodide_dir(tarball: Path, cache: Path) -> Path:
    dest = cache / "pyodide-node" / tarball.stem
    if not (dest / "package" / "pyodide.asm.wasm").exists():
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball, "r:gz") as tar:
            tar.extractall(dest, filter="data")
    return dest / "package"


def compile_wheels(wheels: dict[str, bytes], tarball: Path, cache: Path, log=print,
                   optimize: dict[str, int] | None = None) -> dict[str, bytes]:
    """``{name: wheel bytes}`` -> the same wheels with .py replaced by .pyc.

    ``optimize`` maps a name to the ``compile`` optimisation level (2 drops docstrings and
    asserts, like ``python -OO``; only for packages that support it, e.g. NumPy and pandas).
    """
    optimize = optimize or {}
    out_dir = cache / "pyc"
    out_dir.mkdir(parents=True, exist_ok=True)
    result, todo = {}, {}
    for name, data in wheels.items():
        key = hashlib.sha256(data + bytes([optimize.get(name, 0)])).hexdigest()
        cached = out_dir / f"{key}.whl"
        if cached.exists():
            result[name] = cached.read_bytes()
        else:
            todo[name] = (key, data)
    if not todo:
        return result
    if shutil.which("node") is None:
        log("build_site: warning: node not found, wheels shipped without bytecode")
        return {**result, **{n: d for n, (_, d) in todo.items()}}
    pyodide_dir = _pyodide_dir(tarball, cache)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        tmp = Path(tmp)
        jobs = []
        for name, (key, data) in todo.items():
            (tmp / f"in-{key}.whl").write_bytes(data)
            jobs.append([f"in-{key}.whl", f"out-{key}.whl", optimize.get(name, 0)])
        (tmp / "jobs.json").write_text(json.dumps(jobs))
        (tmp / "compile.js").write_text(COMPILER)
        subprocess.run(["node", str(tmp / "compile.js"), str(pyodide_dir), str(tmp)], check=True)
        for name, (key, _) in todo.items():
            data = (tmp / f"out-{key}.whl").read_bytes()
            (out_dir / f"{key}.whl").write_bytes(data)
            result[name] = data
    log(f"build_site: compiled {len(todo)} wheels to bytecode")
    return result
