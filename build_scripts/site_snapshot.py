"""Start-up snapshot of the site: Pyodide's memory after Panel, Bokeh and the app are imported.

Importing Panel and Bokeh takes ~2 s of WebAssembly on every visit; unpacking their wheels
another ~0.5 s. The builder does both once, under Node with the site's own Pyodide, and ships:

- ``startup-<hash>.bundle.zst``: the start-up packages' files in one download (format in
  ``web/bundle.js``), without the modules the snapshot has already imported (their code lives in
  the snapshot), and the extension modules to load before Python starts;
- ``later-<hash>.bundle.zst``: files the first screen does not need (``LATER``), installed
  right after the app is ready;
- ``snapshot-<hash>.zst``: the WebAssembly memory after ``cassis_lite.app.boot.prepare()``
  and ``warm_up()`` (Pyodide's ``makeMemorySnapshot``).

All are zstd-compressed at the highest level, 22: 13.5 MB for the 63 MB memory and 4.4 MB for the
16 MB bundle, where level 19 gives 13.9 and 4.5 and gzip -9 about 17.4 and 6.2 (the difference
keeps the first visit under 25 MB). The worker decodes them with zstddec (zstd in WebAssembly,
~0.2 s for the memory, whatever the level; its one-shot ZSTD_decompress writes into the output
buffer, so level 22's 128 MB window costs the decoder no memory).

Pyodide 0.27.7 restores such a memory only for an interpreter without compiled extensions; NumPy
has some. They are made to work the way Cloudflare's Python Workers do: every extension module
the snapshot has imported is loaded before the runtime starts (``web/bundle.js``), when
Emscripten places it at the heap base, so it sits at the same address in the build run and in
the browser; the browser checks that heap base and table size against the build's before it
restores. Pyodide's loader (``pyodide.js``) is patched to hand the Emscripten Module to its
``fsInit`` hook for that (``patch_loader``).

Two Node runs: the first lists what ``prepare()`` imports, the second loads exactly those
extension modules first and makes the snapshot. Results are cached in ``.cache/snapshot`` by the
hash of everything that goes in.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import shutil
import struct
import subprocess
import tempfile
import zipfile
from pathlib import Path

SITE_PACKAGES = "/lib/python3.12/site-packages/"
# Not needed at run time: type stubs, and wheel .data folders (pip would put them outside
# site-packages; nothing imports them).
DROP = ("*.pyi", "*.data/*")
# Files the first screen does not read, sent in a second bundle once the app is ready (the worker
# installs it before it runs anything else): NumPy's parts for SciPy, random numbers, FFTs,
# polynomials and tests, xyzservices' tile providers (map tiles only), the non-LTE data (a RADEX
# model needs it, the first screen does not), the command line (never run in the page), and the
# parts of Bokeh's and Panel's dependencies the snapshot did not import (narwhals' other back
# ends, Markdown extensions...). The app's own modules stay: one the first screen imports lazily
# must be there before ready (cassis_lite.app.boot.FIRST_SCREEN_MODULES puts most in the snapshot).
LATER = ("numpy/f2py/*", "numpy/random/*", "numpy/fft/*", "numpy/polynomial/*", "numpy/testing/*",
         "numpy/typing/*", "xyzservices/data/*", "cassis_lite/data/*_collisions.db",
         "cassis_lite/commands/*", "narwhals/*", "markdown/*", "mdit_py_plugins/*", "bleach/*", "packaging/*",
         "typing_extensions.pyc",
         # imported only by an action after ready (exports, SAMP sends, the optical cards' tools),
         # which the worker runs after this bundle is installed
         "cassis_lite/vo/*", "cassis_lite/optical/*",
         # the optical cards, added with the other analysis cards once this bundle is installed
         "cassis_lite/app/cards/absorption.*", "cassis_lite/app/cards/broadening.*",
         # the ALMA card and the line lists' panel of the Lines card, also added with them
         "cassis_lite/app/cards/atomis.*", "cassis_lite/app/cards/linelists.*",
         # the line-database choice (full catalogue, the user's file): after ready
         "cassis_lite/app/databases.*", "cassis_lite/linedb/sqlite_file.*",
         # the Line search card and its query (added with the analysis cards)
         "cassis_lite/app/cards/linesearch.*", "cassis_lite/linedb/search.*",
         # the fit maps of the Map card (imported when the analysis cards are added, after ready)
         "cassis_lite/app/cards/cube_fit*")
ZSTD_LEVEL = 22
# Function-table entries left free before the extension modules (Chromium's worker adds one that
# Node does not).
TABLE_SLACK = 64
# prepare, warm up, then refuse a snapshot that would hold an open file object (after the restore
# its descriptor number would belong to another file: cassis_lite.app.boot.open_files)
PRELUDE = ("from cassis_lite.app.boot import open_files, prepare, warm_up\nprepare()\nwarm_up()\n"
           "_left = open_files()\n"
           "if _left:\n    raise RuntimeError(f'the snapshot would hold open files: {_left}')\n")

LOADER_FIND = "await e(t.FS,{sitePackages:t.API.sitePackages})"
LOADER_REPLACE = "await e(t.FS,{sitePackages:t.API.sitePackages,Module:t})"

RUNNER = r"""
const fs = require("fs");
const path = require("path");
const [pyodideDir, workDir] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(path.join(workDir, "spec.json"), "utf8"));
globalThis.self = globalThis;
// Panel imports it at start (a Web Worker has it): found again by name when the snapshot loads.
globalThis.XMLHttpRequest = class XMLHttpRequest {};
(0, eval)(fs.readFileSync(spec.bundleJs, "utf8"));
const { loadPyodide } = require(path.join(pyodideDir, "pyodide.js"));
(async () => {
  const bundle = self.cassisBundle.parse(fs.readFileSync(path.join(workDir, "bundle.bin")));
  let layout = null;
  const py = await loadPyodide({
    indexURL: pyodideDir + "/",
    env: { PYTHONHASHSEED: "0" },
    _makeSnapshot: spec.snapshot,
    fsInit: async (FS, { Module }) => { layout = await self.cassisBundle.install(FS, Module, bundle); },
  });
  py.runPython(spec.prelude);
  const imported = py.runPython(`import json, sys
json.dumps(sorted({f for m in list(sys.modules.values())
                   for f in [getattr(m, "__dict__", {}).get("__file__")] if isinstance(f, str)}))`);
  fs.writeFileSync(path.join(workDir, "imported.json"), imported);
  fs.writeFileSync(path.join(workDir, "layout.json"), JSON.stringify(layout));
  if (spec.snapshot) {
    // Pyodide checks that its package registry is empty in a snapshot; the browser fills it again.
    for (const name of Object.keys(py.loadedPackages)) delete py.loadedPackages[name];
    const memory = py.makeMemorySnapshot({ serializer: self.cassisBundle.serializeFunction });
    fs.writeFileSync(path.join(workDir, "snapshot.bin"), memory);
  }
})().catch((e) => { console.error(e); process.exit(1); });
"""


class SnapshotError(RuntimeError):
    """The snapshot could not be made (the site is then built without one)."""


def patch_loader(pyodide_js: bytes) -> bytes:
    """``pyodide.js`` whose ``fsInit`` hook also receives the Emscripten Module."""
    text = pyodide_js.decode()
    if text.count(LOADER_FIND) != 1:
        raise SnapshotError("pyodide.js: the fsInit call to patch was not found exactly once")
    return text.replace(LOADER_FIND, LOADER_REPLACE).encode()


def _matches(path: str, patterns) -> bool:
    return any(fnmatch.fnmatch(path.removeprefix(SITE_PACKAGES), p) for p in patterns)


def classic_script(module_js: bytes, name: str) -> bytes:
    """An ES module exporting only ``name`` as a classic script that sets ``self.<name>``
    (the Web Worker loads its scripts with importScripts)."""
    text = module_js.decode()
    export = f"export {{ {name} }}"
    if text.count(export) != 1 or text.count("export ") != 1:
        raise SnapshotError(f"{name}: not a module with a single export to convert")
    return text.replace(export, f"self.{name} = {name};").encode()


def wheel_files(wheels: list[bytes]) -> dict[str, bytes]:
    """Installed path -> content for the files of ``wheels`` (all install into site-packages)."""
    files: dict[str, bytes] = {}
    for data in wheels:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                if info.is_dir() or _matches(info.filename, DROP):
                    continue
                files[SITE_PACKAGES + info.filename] = zf.read(info)
    return files


def encode_bundle(files: dict[str, bytes], preload: list[str], table_start: int | None = None) -> bytes:
    """The bundle format read by ``web/bundle.js``."""
    paths = sorted(files)
    header = json.dumps({"files": [[p, len(files[p])] for p in paths], "preload": preload,
                         "tableStart": table_start}, separators=(",", ":")).encode()
    return b"".join([b"CLB1", struct.pack("<I", len(header)), header, *(files[p] for p in paths)])


def _run(pyodide_dir: Path, bundle_js: Path, bundle: bytes, snapshot: bool, work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    (work / "bundle.bin").write_bytes(bundle)
    (work / "spec.json").write_text(json.dumps({"bundleJs": str(bundle_js.resolve()), "prelude": PRELUDE,
                                                "snapshot": snapshot}))
    (work / "runner.js").write_text(RUNNER)
    proc = subprocess.run(["node", str(work / "runner.js"), str(pyodide_dir.resolve()), str(work)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SnapshotError(f"snapshot run failed:\n{proc.stderr[-3000:]}")
    return {"imported": json.loads((work / "imported.json").read_text()),
            "layout": json.loads((work / "layout.json").read_text())}


def build(wheels: list[bytes], pyodide_dir: Path, bundle_js: Path, cache: Path, log=print) -> dict | None:
    """Make (or reuse) the bundle and snapshot for the start-up ``wheels``.

    ``pyodide_dir`` holds the site's Pyodide (patched loader). Returns ``{"bundle": bytes,
    "snapshot": bytes (both zstd), "layout": {...}, "preload": [...], ...}``, or None without Node.
    """
    if shutil.which("node") is None:
        log("build_site: warning: node not found, the site is built without a start-up snapshot")
        return None
    import zstandard

    core = [(pyodide_dir / n).read_bytes() for n in
            ("pyodide.js", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip")]
    key = hashlib.sha256()
    for part in [Path(__file__).read_bytes(), bundle_js.read_bytes(), *core, *wheels]:
        key.update(hashlib.sha256(part).digest())
    out = cache / "snapshot" / key.hexdigest()[:24]
    parts = ("bundle", "snapshot", "later")
    if all((out / f"{n}.zst").exists() for n in parts) and (out / "meta.json").exists():
        meta = json.loads((out / "meta.json").read_text())
        return {**{n: (out / f"{n}.zst").read_bytes() for n in parts}, **meta}

    files = wheel_files(wheels)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        first = _run(pyodide_dir, bundle_js, encode_bundle(files, []), False, Path(tmp) / "list")
        preload = sorted(f for f in first["imported"] if f.endswith(".so"))
        table_start = first["layout"]["tableBefore"] + TABLE_SLACK
        second = _run(pyodide_dir, bundle_js, encode_bundle(files, preload, table_start), True, Path(tmp) / "snap")
        if second["imported"] != first["imported"]:
            raise SnapshotError("the snapshot run imported other modules than the listing run")
        memory = (Path(tmp) / "snap" / "snapshot.bin").read_bytes()
    imported = set(first["imported"])
    # Modules in the snapshot need no file any more; extension modules are still loaded from theirs.
    kept = {p: d for p, d in files.items() if p not in imported or p.endswith(".so")}
    later = {p: d for p, d in kept.items() if p not in preload and _matches(p, LATER)}
    bundle = encode_bundle({p: d for p, d in kept.items() if p not in later}, preload, table_start)
    zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=-1, write_content_size=True)
    result = {"bundle": zstd.compress(bundle), "snapshot": zstd.compress(memory),
              "later": zstd.compress(encode_bundle(later, []))}
    layout = {k: second["layout"][k] for k in ("heapBase", "tableLength")}
    meta = {"layout": layout, "preload": preload, "memory_bytes": len(memory),
            "bundle_bytes": len(bundle), "modules": len(imported), "files_dropped": len(files) - len(kept)}
    out.mkdir(parents=True, exist_ok=True)
    for name, data in result.items():
        (out / f"{name}.zst").write_bytes(data)
    (out / "meta.json").write_text(json.dumps(meta))
    log(f"build_site: start-up snapshot {len(memory) / 1e6:.1f} MB ({len(result['snapshot']) / 1e6:.1f} MB zstd), "
        f"{len(imported)} modules imported; bundle {len(bundle) / 1e6:.1f} MB ({len(result['bundle']) / 1e6:.1f} MB zstd), "
        f"after ready {len(result['later']) / 1e6:.1f} MB zstd")
    return {**result, **meta}
