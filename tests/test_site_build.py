"""The static site's build and server, without a browser (tests/browser/ drives the page).

Checks the locks against the files actually on disk, that a tampered input is refused, and
that ``cassis-lite serve`` sends wasm, gzip and revalidation answers a browser relies on.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "site"
sys.path.insert(0, str(ROOT / "build_scripts"))

import site_fetch  # noqa: E402
import site_snapshot  # noqa: E402
import site_wheels  # noqa: E402


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_site_lock_lists_every_file_with_its_sha256(built_site):
    lock = json.loads((SITE / "site-lock.json").read_text())
    on_disk = {p.relative_to(SITE).as_posix() for p in SITE.rglob("*") if p.is_file()} - {"site-lock.json"}
    assert set(lock["files"]) == on_disk
    for rel in ("index.html", "pyodide/pyodide.asm.wasm", "config.js", "sw.js"):
        assert lock["files"][rel]["sha256"] == sha256(SITE / rel)
    # gzip twins decode to their file
    wasm_gz = gzip.decompress((SITE / "pyodide/pyodide.asm.wasm.gz").read_bytes())
    assert hashlib.sha256(wasm_gz).hexdigest() == lock["files"]["pyodide/pyodide.asm.wasm"]["sha256"]


def test_pyodide_lock_matches_shipped_files_and_official_hashes(built_site):
    manifest = site_fetch.load_manifest()
    official = json.loads(site_fetch.fetch_pyodide_core(manifest)["pyodide-lock.json"])["packages"]
    lock = json.loads((SITE / "pyodide/pyodide-lock.json").read_text())
    assert lock["info"]["version"] == "0.27.7"
    for name, entry in lock["packages"].items():
        path = SITE / "pyodide" / entry["file_name"]
        assert path.exists(), name
        assert entry["sha256"] == sha256(path), name
        if name in official and official[name]["file_name"] == entry["file_name"]:  # official build
            assert entry.get("official_sha256", entry["sha256"]) == official[name]["sha256"], name
    config = (SITE / "config.js").read_text()
    site = json.loads(config.split("=", 1)[1].rstrip().rstrip(";"))
    assert "scipy" in site["lazyPackages"] and "scipy" not in site["startupPackages"]
    assert set(site["startupPackages"]) <= set(lock["packages"])
    # Panel ships without its dist/, Bokeh without its static JS (served once, as files)
    panel = next(SITE.glob("pyodide/panel-*.whl"))
    names = zipfile.ZipFile(panel).namelist()
    assert not any(n.startswith("panel/dist/") for n in names)
    assert (SITE / "panel/1.8.10/dist/panel.min.js").exists()
    assert (SITE / "static/bokeh/bokeh.min.js").exists()


def test_compiled_package_with_wrong_hash_is_refused(tmp_path):
    good = b"numpy wheel bytes"
    lock = {"packages": {"numpy": {"file_name": "numpy-2.0.2-x.whl", "depends": [],
                                   "sha256": hashlib.sha256(good).hexdigest()}}}
    manifest = {"compiled": {"prefix": "assets/", "startup": ["numpy"], "lazy": []}}
    carrier = tmp_path / "carrier.whl"
    with zipfile.ZipFile(carrier, "w") as zf:
        zf.writestr("assets/numpy-2.0.2-x.whl", good)
    assert site_fetch.compiled_packages(manifest, carrier, lock)["numpy"][1] == good
    with zipfile.ZipFile(carrier, "w") as zf:
        zf.writestr("assets/numpy-2.0.2-x.whl", good + b"tampered")
    with pytest.raises(site_fetch.FetchError, match="differs from the official"):
        site_fetch.compiled_packages(manifest, carrier, lock)


def test_pure_wheel_from_sdist_and_trim(tmp_path):
    import io
    import tarfile

    sdist = tmp_path / "demo-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        for name, text in (("demo-1.0/src/demo/__init__.py", b"X = 1\n"), ("demo-1.0/src/demo/_speedups.c", b"int x;"),
                           ("demo-1.0/setup.py", b"")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    file_name, data = site_wheels.pure_wheel_from_sdist(sdist, "demo", "1.0", "src/", ["demo"])
    assert file_name == "demo-1.0-py3-none-any.whl"
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "demo/__init__.py" in names and "demo/_speedups.c" not in names
    assert "demo-1.0.dist-info/RECORD" in names
    whl = tmp_path / file_name
    whl.write_bytes(data)
    trimmed = zipfile.ZipFile(io.BytesIO(site_wheels.trim_wheel(whl, ["demo/__init__.py"]))).namelist()
    assert "demo/__init__.py" not in trimmed
    # same input, same bytes (the site lock must not churn between builds)
    assert site_wheels.pure_wheel_from_sdist(sdist, "demo", "1.0", "src/", ["demo"])[1] == data


@pytest.fixture()
def server(tmp_path):
    from cassis_lite.commands.serve import make_server

    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    payload = b"\0asm" + bytes(range(256)) * 40
    (tmp_path / "m.wasm").write_bytes(payload)
    (tmp_path / "m.wasm.gz").write_bytes(gzip.compress(payload))
    srv = make_server(tmp_path, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/", payload
    srv.shutdown()
    srv.server_close()


def test_server_mime_gzip_and_revalidation(server):
    base, payload = server
    with urllib.request.urlopen(base + "m.wasm") as r:
        assert r.headers["Content-Type"] == "application/wasm"
        assert r.headers.get("Content-Encoding") is None
        assert r.read() == payload
        etag = r.headers["ETag"]
    req = urllib.request.Request(base + "m.wasm", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req) as r:
        assert r.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(r.read()) == payload
    req = urllib.request.Request(base + "m.wasm", headers={"If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req)
    assert exc.value.code == 304
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(base + "missing.js")
    assert exc.value.code == 404


def test_serve_command_prints_address_and_rejects_missing_site(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html>")
    proc = subprocess.Popen([sys.executable, "-m", "cassis_lite", "serve", "--dir", str(tmp_path), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url) as r:
            assert r.read() == b"<!doctype html>"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    out = subprocess.run([sys.executable, "-m", "cassis_lite", "serve", "--dir", str(tmp_path / "nope")],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2
    assert out.stderr.startswith("cassis-lite: error:") and "build the site first" in out.stderr
    assert "Traceback" not in out.stderr


def test_snapshot_bundles_hold_the_startup_packages_minus_what_the_snapshot_imported(built_site):
    """The bundle (first screen) and the second bundle together hold every file of the start-up
    wheels except type stubs and the modules already in the snapshot; the extension modules the
    snapshot loaded come first, and config.js pins each part's hash."""
    import zstandard

    config = json.loads((SITE / "config.js").read_text().split("=", 1)[1].rstrip().rstrip(";"))
    snap = config["snapshot"]
    assert snap is not None, "site built without a snapshot (no Node?)"
    lock = json.loads((SITE / "pyodide" / "pyodide-lock.json").read_text())["packages"]
    parts = {}
    for key in ("bundle", "later"):
        data = (SITE / snap[key]).read_bytes()
        assert snap[key + "Integrity"] == "sha256-" + __import__("base64").b64encode(
            hashlib.sha256(data).digest()).decode()
        raw = zstandard.ZstdDecompressor().decompress(data)
        assert raw[:4] == b"CLB1"
        n = int.from_bytes(raw[4:8], "little")
        header = json.loads(raw[8:8 + n])
        assert 8 + n + sum(size for _, size in header["files"]) == len(raw)
        parts[key] = header
    first, later = parts["bundle"], parts["later"]
    files = {p for p, _ in first["files"]}
    assert first["preload"] and set(first["preload"]) <= files
    assert any(p.endswith("_multiarray_umath.cpython-312-wasm32-emscripten.so") for p in first["preload"])
    assert any(p.endswith("cassis_lite/data/cassis_lite.db") for p in files)
    wheel_paths = set()
    for name in config["startupPackages"]:
        with zipfile.ZipFile(SITE / "pyodide" / lock[name]["file_name"]) as zf:
            wheel_paths |= {site_snapshot.SITE_PACKAGES + n for n in zf.namelist() if not n.endswith("/")}
    shipped = files | {p for p, _ in later["files"]}
    assert shipped <= wheel_paths
    missing = wheel_paths - shipped
    # what is missing is type stubs, wheel data, or the compiled code of imported modules
    assert all(p.endswith((".pyi", ".pyc", ".py")) or ".data/" in p for p in missing)
    assert any(p.endswith("panel/__init__.pyc") for p in missing)  # in the snapshot
    assert not any(p.endswith("numpy/fft/_pocketfft.pyc") for p in missing)  # not imported: shipped
    # the cards added once the app is ready come with the second bundle, after the first screen
    for card in ("absorption", "broadening", "atomis", "linelists", "linesearch"):
        assert any(f"cassis_lite/app/cards/{card}." in p for p, _ in later["files"]), card
        assert not any(f"cassis_lite/app/cards/{card}." in p for p in files), card
    assert any("cassis_lite/linedb/search." in p for p, _ in later["files"])  # the line search's query


def test_loader_patch_is_exact():
    js = b"x;await e(t.FS,{sitePackages:t.API.sitePackages});y"
    assert site_snapshot.patch_loader(js) == b"x;await e(t.FS,{sitePackages:t.API.sitePackages,Module:t});y"
    with pytest.raises(site_snapshot.SnapshotError):
        site_snapshot.patch_loader(b"a different pyodide.js")
    module = b"//#region x\nvar A = 1;\nexport { A }\n"
    assert site_snapshot.classic_script(module, "A").endswith(b"self.A = A;\n")
    with pytest.raises(site_snapshot.SnapshotError):
        site_snapshot.classic_script(b"export { A, B }", "A")
