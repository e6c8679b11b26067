"""The sky view's files in the site (no browser: tests/browser/test_browser_sky.py drives the page).

Aladin Lite comes from its npm tarball, refused when it does not match the pinned sha512 (a
tampered tarball in the cache, and a registry that serves one); its inlined WebAssembly is moved
to its own file and the module must inline it exactly once; sky.html carries its own policy (the
server sends the same); the app's page never references Aladin Lite.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import sys
import tarfile
import threading
import urllib.request
from pathlib import Path

import pytest

from paths import ROOT

sys.path.insert(0, str(ROOT / "build_scripts"))

import build_site  # noqa: E402
import site_fetch  # noqa: E402

SPEC = site_fetch.load_manifest()["aladin"]
ROOT_CACHE = site_fetch.CACHE


def _tarball_with(path: Path, module: bytes) -> None:
    """An npm-style tarball of aladin-lite whose dist/aladin.js is ``module``."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in (("package/package.json", b'{"name": "aladin-lite", "version": "3.8.2"}'),
                           ("package/" + SPEC["file"], module), ("package/LICENSE", b"LGPL"),
                           ("package/COPYING", b"GPL")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture()
def genuine(monkeypatch, tmp_path):
    """The pinned tarball (fetched once into the shared cache), copied into a private cache."""
    files = build_site.aladin_files(SPEC)  # verifies the shared cache's copy (npm pack if missing)
    cache = tmp_path / "cache"
    (cache / "npm").mkdir(parents=True)
    shutil.copy(site_fetch.CACHE / "npm" / SPEC["tarball"], cache / "npm" / SPEC["tarball"])
    monkeypatch.setattr(site_fetch, "CACHE", cache)
    return files, cache / "npm" / SPEC["tarball"]


def test_the_vendored_files_come_from_the_verified_tarball(genuine):
    files, tarball = genuine
    assert site_fetch._sri_sha512(tarball) == SPEC["integrity"]
    module, wasm = files["vendor/aladin/aladin.js"], files["vendor/aladin/aladin-core.wasm"]
    assert wasm.startswith(b"\0asm") and len(wasm) > 1_000_000
    assert b"data:application/wasm" not in module
    assert module.count(b'new URL("aladin-core.wasm",import.meta.url)') == 1
    with tarfile.open(tarball) as tar:
        original = tar.extractfile("package/" + SPEC["file"]).read()
    # the only change: the data: URL of the WebAssembly replaced by the file's name
    payload = build_site.ALADIN_WASM_URL.search(original).group(1)
    assert base64.b64decode(payload) == wasm
    assert original.replace(build_site.ALADIN_WASM_URL.search(original).group(0),
                            b'new URL("aladin-core.wasm",import.meta.url)') == module
    assert files["vendor/aladin/LICENSE.txt"].startswith(b"GNU LESSER GENERAL PUBLIC LICENSE")


def test_a_tampered_tarball_is_refused(genuine, tmp_path):
    _, tarball = genuine
    with tarfile.open(tarball) as tar:
        original = tar.extractfile("package/" + SPEC["file"]).read()
    evil = tmp_path / "evil.tgz"
    _tarball_with(evil, original + b'\nfetch("https://evil.example/");\n')
    shutil.copy(evil, tarball)  # the cache holds a tampered copy...
    # ...and the registry serves one too (npm pack of a local tarball: the real client, no network)
    spec = {**SPEC, "npm": str(evil)}
    with pytest.raises(site_fetch.FetchError, match="differs from the pinned"):
        build_site.aladin_files(spec)


def test_the_build_stops_on_a_tampered_tarball(genuine, tmp_path, monkeypatch, capsys):
    """The real build, its other inputs from the shared cache: refused before anything is written."""
    _, tarball = genuine
    cache = tarball.parents[1]
    for rel in ("npm/pyodide-0.27.7.tgz", "pypi"):
        (cache / rel).symlink_to(ROOT_CACHE / rel)
    evil = tmp_path / "evil.tgz"
    _tarball_with(evil, b"export default {};\n")
    shutil.copy(evil, tarball)
    manifest = site_fetch.load_manifest()
    manifest["aladin"]["npm"] = str(evil)  # a registry that serves the tampered tarball
    monkeypatch.setattr(site_fetch, "load_manifest", lambda: manifest)
    out = tmp_path / "site"
    assert build_site.main(["--out", str(out)]) == 2
    assert "aladin-lite-3.8.2.tgz: integrity" in capsys.readouterr().err
    assert not out.exists()


def test_a_module_without_its_webassembly_inlined_once_is_refused(tmp_path, monkeypatch):
    wasm = base64.b64encode(b"\0asm\1\0\0\0").decode()
    for module, message in ((b"export default {};", "found 0"),
                            (f'new URL("data:application/wasm;base64,{wasm}",self.location);'.encode() * 2, "found 2"),
                            (b'new URL("data:application/wasm;base64,AAAA",self.location);', "not WebAssembly")):
        tarball = tmp_path / "npm" / SPEC["tarball"]
        tarball.parent.mkdir(exist_ok=True)
        _tarball_with(tarball, module)
        digest = hashlib.file_digest(open(tarball, "rb"), "sha512").digest()
        spec = {**SPEC, "integrity": "sha512-" + base64.b64encode(digest).decode()}
        monkeypatch.setattr(site_fetch, "CACHE", tmp_path)
        with pytest.raises(SystemExit, match=message):
            build_site.aladin_files(spec)


def test_sky_page_policy_in_the_site_and_from_the_server(site_dir):
    from cassis_lite.commands.serve import DOCUMENT_CSP, SKY_CSP, make_server

    sky = (site_dir / "sky.html").read_text()
    assert f'content="{SKY_CSP}"' in sky and "'unsafe-eval'" not in SKY_CSP and "'unsafe-inline'" not in \
        SKY_CSP.split("script-src")[1].split(";")[0]
    assert "connect-src 'self' blob:;" in SKY_CSP  # no host, no data:
    for rel in ("vendor/aladin/aladin.js", "vendor/aladin/aladin-core.wasm", "vendor/aladin/LICENSE.txt"):
        assert (site_dir / rel).is_file(), rel
    # the app's page and what it loads never name Aladin Lite (sky.html alone pays for it)
    for rel in ("index.html", "main.js", "worker.js", "sw.js", "config.js", "samp-link.js"):
        text = (site_dir / rel).read_text()
        assert "vendor/aladin" not in text and "sky.js" not in text and "aladin-core" not in text, rel
    srv = make_server(site_dir, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}/"
    try:
        for page, policy in (("sky.html", SKY_CSP), ("index.html", DOCUMENT_CSP)):
            for enc in ("identity", "gzip"):
                req = urllib.request.Request(base + page, headers={"Accept-Encoding": enc})
                with urllib.request.urlopen(req) as r:
                    assert r.headers["Content-Security-Policy"] == policy, (page, enc)
        with urllib.request.urlopen(base + "vendor/aladin/aladin-core.wasm") as r:
            assert r.headers["Content-Type"] == "application/wasm"
    finally:
        srv.shutdown()
        srv.server_close()
