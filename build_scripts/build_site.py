#!/usr/bin/env python3
"""Assemble the static CASSIS lite site (one folder, deployable to any static host).

    python build_scripts/build_site.py --out site [--allow-origin https://archive.example.org]

Inputs are pinned in ``build_scripts/site_manifest.json`` and verified (see site_fetch.py):
the Pyodide 0.27.7 core from npm, the official compiled packages (NumPy, pandas, SciPy, sqlite3...)
checked file by file against the official ``pyodide-lock.json``, pure wheels from PyPI (Panel
without its ``dist/``, Bokeh without its ``server/static/``), pure PyYAML/MarkupSafe wheels built
from their sdists, the cassis_lite wheel with the line database, the sample spectra, and Bokeh's
and Panel's JS/CSS served once as static files.

Outputs: ``OUT/site-lock.json`` lists every file with its sha256; ``OUT/pyodide/pyodide-lock.json``
is the Pyodide lock of exactly the packages shipped (the browser verifies each download against
it with subresource integrity); large text files get a ``.gz`` twin that ``cassis-lite serve``
sends to browsers that accept gzip.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import site_fetch  # noqa: E402
import site_pyc  # noqa: E402
import site_snapshot  # noqa: E402
import site_wheels  # noqa: E402

ROOT = site_fetch.ROOT
WEB = ROOT / "web"
GZIP_SUFFIXES = (".wasm", ".js", ".json", ".css", ".html", ".txt", ".lis", ".svg", ".mjs")
# Files whose text carries the build id (so they are written last).
TEMPLATED = ("config.js", "sw.js")
# Pages: their Content-Security-Policy <meta> is the one `cassis-lite serve` sends.
CSP_PLACEHOLDER = "__CONTENT_SECURITY_POLICY__"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def canonical(name: str) -> str:
    """Package name as Pyodide's lock keys it (PEP 503 normalisation)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock_entry(name: str, version: str, file_name: str, data: bytes, imports: list[str],
                depends: list[str] | None = None, package_type: str = "package") -> dict:
    return {
        "name": name, "version": version, "file_name": file_name, "install_dir": "site",
        "sha256": hashlib.sha256(data).hexdigest(), "package_type": package_type,
        "imports": imports, "depends": depends or [], "unvendored_tests": False,
    }


def _sri(data: bytes) -> str:
    """Subresource-integrity value (the browser checks the download against it)."""
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


#: the demo spectra the site bundles (with their notice, data/samples/README.md)
SAMPLES = ROOT / "data" / "samples"


def build(out: Path, allowed_origins: list[str], samples_dir: Path = SAMPLES, log=print,
          portable: bool = False) -> dict:
    """Build the site into ``out``. ``portable``: wheels stay deflated (for static hosts that do
    not gzip ``.whl`` responses); by default they are stored uncompressed with a ``.gz`` twin."""
    if (out / "pyproject.toml").exists() or out.resolve() == ROOT:
        raise SystemExit(f"build_site: refusing to build into {out} (it holds other files)")
    t0 = time.time()
    manifest = site_fetch.load_manifest()
    core = site_fetch.fetch_pyodide_core(manifest)
    official_lock = json.loads(core["pyodide-lock.json"])
    pypi = site_fetch.fetch_pypi(manifest)
    comp = manifest["compiled"]
    compiled = site_fetch.compiled_packages(manifest, pypi[comp["pypi"].split("==")[0]], official_lock)
    aladin = aladin_files(manifest["aladin"])
    log(f"build_site: inputs verified ({time.time() - t0:.1f} s)")

    out.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()

    def put(rel: str, data: bytes) -> None:
        _write(out / rel, data)
        written.add(rel)

    # Pyodide core + packages + the site's own Pyodide lock.
    for name in manifest["pyodide"]["core_files"]:
        data = core[name]
        if name == "pyodide.js":
            data = site_snapshot.patch_loader(data)
        put(f"pyodide/{name}", data)
    lock_packages = {}
    startup = list(comp["startup"])
    lazy = list(comp["lazy"])
    shipped: dict[str, tuple[str, list[str], bytes, dict | None]] = {}  # key -> (file, imports, data, entry)
    for name, (entry, data) in compiled.items():
        shipped[name] = (entry["file_name"], entry["imports"], data, entry)
    for spec in manifest["wheels"]:
        data = site_wheels.trim_wheel(pypi[spec["name"]], spec.get("strip", []))
        key = canonical(spec["name"])
        shipped[key] = (pypi[spec["name"]].name, spec["imports"], data, None)
        (lazy if spec.get("lazy") else startup).append(key)
    for spec in manifest["sdists"]:
        file_name, data = site_wheels.pure_wheel_from_sdist(
            pypi[spec["name"]], spec["name"], spec["version"], spec["src"], spec["packages"])
        key = canonical(spec["name"])
        shipped[key] = (file_name, spec["imports"], data, None)
        startup.append(key)
    # Bytecode for the wheels the first screen imports (Python source compiles slowly in wasm).
    to_compile = {key: shipped[key][2] for key in startup
                  if shipped[key][0].endswith(".whl") and key not in comp.get("no_bytecode", [])}
    tarball = site_fetch.CACHE / "npm" / manifest["pyodide"]["tarball"]
    for key, data in site_pyc.compile_wheels(to_compile, tarball, site_fetch.CACHE, log).items():
        file_name, imports, _, entry = shipped[key]
        shipped[key] = (file_name, imports, data, entry)
    for key, (file_name, imports, data, entry) in shipped.items():
        if not portable and file_name.endswith(".whl") and key in startup:
            data = site_wheels.restored(data)
        put(f"pyodide/{file_name}", data)
        if entry is not None:
            entry = dict(entry, sha256=hashlib.sha256(data).hexdigest())
            if entry["sha256"] != compiled[key][0]["sha256"]:
                entry["official_sha256"] = compiled[key][0]["sha256"]  # verified input, before bytecode
            lock_packages[key] = entry
        else:
            version = next((w["version"] for w in manifest["wheels"] + manifest["sdists"] if canonical(w["name"]) == key))
            lock_packages[key] = _lock_entry(key, version, file_name, data, imports)
    sys.path.insert(0, str(ROOT))
    from cassis_lite import __version__
    db = ROOT / "cassis_lite" / "data" / "cassis_lite.db"
    if not db.exists():
        log(f"build_site: warning: {db.relative_to(ROOT)} missing (run `make db`); the site has no line database")
    file_name, data = site_wheels.cassis_lite_wheel(ROOT, __version__)
    data = site_pyc.compile_wheels({"cassis-lite": data}, tarball, site_fetch.CACHE, log)["cassis-lite"]
    startup_wheels = [shipped[key][2] for key in startup] + [data]  # as compiled (the snapshot's input)
    if not portable:
        data = site_wheels.restored(data)
    put(f"pyodide/{file_name}", data)
    lock_packages["cassis-lite"] = _lock_entry("cassis-lite", __version__, file_name, data, ["cassis_lite"])
    startup.append("cassis-lite")
    site_lock_pyodide = {"info": official_lock["info"], "packages": dict(sorted(lock_packages.items()))}
    put("pyodide/pyodide-lock.json", json.dumps(site_lock_pyodide, indent=1, sort_keys=True).encode())

    # Bokeh and Panel JS/CSS, served once from the site (Panel's CDN root points here at runtime).
    static = manifest["static"]
    with zipfile.ZipFile(pypi["bokeh"]) as zf:
        for name in static["bokeh_js"]:
            put(f"static/bokeh/{name}", zf.read(f"bokeh/server/static/js/{name}"))
    panel_version = next(w["version"] for w in manifest["wheels"] if w["name"] == "panel")
    panel_dist = f"panel/{panel_version}/dist/"
    with zipfile.ZipFile(pypi["panel"]) as zf:
        for member in zf.namelist():
            if not member.startswith("panel/dist/") or member.endswith("/"):
                continue
            rel = member.removeprefix("panel/dist/")
            if rel in static["panel_js"] or any(rel.startswith(d + "/") for d in static["panel_dist_dirs"]):
                put(panel_dist + rel, zf.read(member))

    # Start-up snapshot (see site_snapshot.py) and the zstd decoder the worker reads it with.
    snapshot_config = None
    try:
        snap = site_snapshot.build(startup_wheels, out / "pyodide", WEB / "bundle.js", site_fetch.CACHE, log)
    except site_snapshot.SnapshotError as exc:
        log(f"build_site: warning: {exc}; the site is built without a start-up snapshot")
        snap = None
    if snap is not None:
        tag = hashlib.sha256(snap["bundle"] + snap["snapshot"] + snap["later"]).hexdigest()[:12]
        rel = {"bundle": f"pyodide/startup-{tag}.bundle.zst", "memory": f"pyodide/snapshot-{tag}.zst",
               "later": f"pyodide/later-{tag}.bundle.zst"}
        for key, part in (("bundle", "bundle"), ("memory", "snapshot"), ("later", "later")):
            put(rel[key], snap[part])
        zstddec = manifest["zstddec"]
        module = site_fetch.fetch_npm(zstddec, {zstddec["file"]})[zstddec["file"]]
        put("vendor/zstddec.js", site_snapshot.classic_script(module, "ZSTDDecoder"))
        snapshot_config = {
            "bundle": rel["bundle"], "bundleIntegrity": _sri(snap["bundle"]),
            "memory": rel["memory"], "memoryIntegrity": _sri(snap["snapshot"]),
            "later": rel["later"], "laterIntegrity": _sri(snap["later"]),
            "layout": snap["layout"],
        }

    # Samples.
    samples = []
    for path in sorted(samples_dir.iterdir()):
        if path.is_file() and path.suffix.lower() not in (".md", ".json"):
            put(f"samples/{path.name}", path.read_bytes())
            samples.append(path.name)
    for extra in ("README.md", "samples.json"):  # the notice; what the files do not say themselves
        if (samples_dir / extra).exists():
            put(f"samples/{extra}", (samples_dir / extra).read_bytes())

    # The SAMP Web Profile client, loaded when the user connects to a hub (web/samp-link.js).
    sampjs = manifest["sampjs"]
    put("vendor/samp.js", samp_script(site_fetch.fetch_npm(sampjs, {sampjs["file"]})[sampjs["file"]]))

    # Aladin Lite, for the sky view (web/sky.html; the app's page never loads it).
    for rel, data in aladin.items():
        put(rel, data)

    # The shell (web/), except the templated files.
    from cassis_lite.commands.serve import page_csp

    for path in sorted(WEB.rglob("*")):
        rel = path.relative_to(WEB).as_posix()
        if path.is_file() and rel not in TEMPLATED:
            data = path.read_bytes()
            if rel.endswith(".html"):
                if data.count(CSP_PLACEHOLDER.encode()) != 1:
                    raise SystemExit(f"build_site: web/{rel} has no Content-Security-Policy placeholder")
                data = data.replace(CSP_PLACEHOLDER.encode(), page_csp(path.name).encode())
            put(rel, data)

    # The full line catalogue (build/full.db, `make db-full`, docs/fulldb.md), read by HTTP range
    # requests: hard-linked (or copied) as is, no gzip twin (a range is of the raw bytes).
    full_db = ROOT / "build" / "full.db"
    full_info = None
    if full_db.exists():
        dst = out / "db" / "full.db"
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists() or not os.path.samefile(dst, full_db):
            dst.unlink(missing_ok=True)
            try:
                os.link(full_db, dst)
            except OSError:
                shutil.copyfile(full_db, dst)
        written.add("db/full.db")
        with sqlite3.connect(f"file:{full_db}?mode=ro&immutable=1", uri=True) as con:
            page = con.execute("PRAGMA page_size").fetchone()[0]
        full_info = {"path": "db/full.db", "bytes": full_db.stat().st_size, "pageSize": page}
    else:
        log("build_site: build/full.db missing (`make db-full`): the site has no full catalogue")

    # Build id over everything but the templated files, then those files.
    digest = hashlib.sha256((WEB / "sw.js").read_bytes())
    for rel in sorted(written):
        digest.update(rel.encode() + b"\0" + hashlib.sha256((out / rel).read_bytes()).digest())
    build_id = digest.hexdigest()[:16]
    config = {
        "buildId": build_id,
        "version": __version__,
        "pyodideVersion": official_lock["info"]["version"],
        "startupPackages": startup,
        "lazyPackages": lazy,
        "backgroundPackages": list(comp.get("background", [])),
        "prefetchPackages": list(comp.get("prefetch", [])),
        "allowedOrigins": allowed_origins,
        "samples": samples,
        "defaultSamples": samples,
        "bokehJs": [f"static/bokeh/{n}" for n in static["bokeh_js"]],
        "panelJs": [panel_dist + n for n in static["panel_js"]],
        "panelCdnRoot": "panel/",
        "hasDatabase": db.exists(),
        "fullDatabase": full_info,
        "snapshot": snapshot_config,
    }
    put("config.js", ("self.CASSIS_SITE = " + json.dumps(config, indent=1) + ";\n").encode())
    sw = (WEB / "sw.js").read_text().replace("__BUILD_ID__", build_id)
    put("sw.js", sw.encode())

    # gzip twins of compressible files, then remove stale files of a previous build.
    for rel in sorted(written):
        path = out / rel
        compressible = rel.endswith(GZIP_SUFFIXES) or (rel.endswith(".whl") and not portable)
        if compressible and path.stat().st_size > 1024:
            gz = out / (rel + ".gz")
            if not gz.exists() or gz.stat().st_mtime < path.stat().st_mtime:
                gz.write_bytes(gzip.compress(path.read_bytes(), 9 if rel.endswith(".whl") else 6, mtime=0))
            written.add(rel + ".gz")
    for path in sorted(out.rglob("*"), reverse=True):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel not in written and rel != "site-lock.json":
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()

    files = {rel: {"sha256": hashlib.sha256((out / rel).read_bytes()).hexdigest(),
                   "bytes": (out / rel).stat().st_size} for rel in sorted(written)}
    site_lock = {"build_id": build_id, "cassis_lite": __version__, "pyodide": config["pyodideVersion"],
                 "inputs": {"npm": manifest["pyodide"]["npm"], "compiled_from": comp["pypi"],
                            "wheels": {w["name"]: w["version"] for w in manifest["wheels"]},
                            "sdists": {s["name"]: s["version"] for s in manifest["sdists"]}},
                 "files": files}
    _write(out / "site-lock.json", json.dumps(site_lock, indent=1).encode())
    total = sum(f["bytes"] for f in files.values())
    log(f"build_site: {len(files)} files, {total / 1e6:.1f} MB in {out} ({time.time() - t0:.1f} s), build {build_id}")
    return site_lock


SAMPJS_EXPORT = b"module.exports = { samp }"


def samp_script(source: bytes) -> bytes:
    """sampjs as a classic script that defines ``self.samp`` and nothing else: it ends with a
    CommonJS ``module.exports`` line (it would throw in a page), so the file is wrapped in a
    function with a ``module`` of its own. Refuses a file that does not end as expected."""
    body = source.rstrip()
    if not body.endswith(SAMPJS_EXPORT) or body.count(SAMPJS_EXPORT) != 1:
        raise SystemExit("build_site: sampjs does not end with its module.exports line: check the pinned version")
    return (b"// sampjs 1.0.3 (CC0-1.0, Mark Taylor), wrapped by CASSIS lite's build_site.py\n"
            b"(function () {\nvar module = { exports: {} };\n" + body + b";\nself.samp = module.exports.samp;\n})();\n")


#: how Aladin Lite 3.8.2 loads its WebAssembly (wasm-bindgen's default: the module inlined as a
#: data: URL, which the page would have to fetch: connect-src data:)
ALADIN_WASM_URL = re.compile(rb'new URL\("data:application/wasm;base64,([A-Za-z0-9+/=]+)",self\.location\)')
ALADIN_WASM_FILE = "aladin-core.wasm"


def aladin_files(spec: dict) -> dict[str, bytes]:
    """Aladin Lite (npm tarball verified by its pinned integrity) as site files under
    ``vendor/aladin/``: ``aladin.js`` (the ES module) with its inlined WebAssembly moved to
    ``aladin-core.wasm`` beside it (loaded from ``import.meta.url``: same origin, served as
    application/wasm, so the page's connect-src stays 'self'), and its licence texts. Refuses a
    module that does not inline its WebAssembly exactly once, or a payload that is not WebAssembly."""
    wanted = {spec["file"], *spec["licence_files"]}
    files = site_fetch.fetch_npm(spec, wanted)
    module = files[spec["file"]]
    found = ALADIN_WASM_URL.findall(module)
    if len(found) != 1:
        raise SystemExit(f"build_site: {spec['npm']}: expected one inlined WebAssembly module, found {len(found)}")
    wasm = base64.b64decode(found[0], validate=True)
    if not wasm.startswith(b"\0asm"):
        raise SystemExit(f"build_site: {spec['npm']}: the inlined data: URL is not WebAssembly")
    module = ALADIN_WASM_URL.sub(f'new URL("{ALADIN_WASM_FILE}",import.meta.url)'.encode(), module)
    out = {"vendor/aladin/aladin.js": module, f"vendor/aladin/{ALADIN_WASM_FILE}": wasm}
    for name in spec["licence_files"]:
        out[f"vendor/aladin/{name}.txt"] = files[name]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "site", help="output folder (default: site)")
    parser.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                        help="origin allowed to drive an embedded app through postMessage (repeatable)")
    parser.add_argument("--samples", type=Path, default=SAMPLES,
                        help="folder of sample spectra to bundle (default: data/samples)")
    parser.add_argument("--portable", action="store_true",
                        help="keep wheels deflated (for static hosts that do not gzip .whl responses)")
    args = parser.parse_args(argv)
    try:
        build(args.out, args.allow_origin, args.samples, portable=args.portable)
    except site_fetch.FetchError as exc:
        print(f"build_site: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
