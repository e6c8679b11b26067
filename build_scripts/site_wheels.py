"""Wheels for the site: trimmed PyPI wheels, pure wheels from sdists, the cassis_lite wheel.

All archives are written deterministically (sorted members, fixed timestamps) so that two builds
of the same inputs give byte-identical files and the site lock does not churn.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

EPOCH = (2020, 1, 1, 0, 0, 0)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, members[name])
    return buf.getvalue()


def restored(data: bytes) -> bytes:
    """The same wheel with its members stored uncompressed (same names, order and dates).

    Served with HTTP gzip, a stored wheel travels smaller than a deflated one (the compressor
    sees across files) and the browser checks the same bytes against the lock.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for info in src.infolist():
            out = zipfile.ZipInfo(info.filename, info.date_time)
            out.external_attr = info.external_attr
            zf.writestr(out, src.read(info))
    return buf.getvalue()


def _record(members: dict[str, bytes], dist_info: str) -> bytes:
    lines = []
    for name in sorted(members):
        digest = base64.urlsafe_b64encode(hashlib.sha256(members[name]).digest()).rstrip(b"=").decode()
        lines.append(f"{name},sha256={digest},{len(members[name])}")
    lines.append(f"{dist_info}/RECORD,,")
    return ("\n".join(lines) + "\n").encode()


def _stripped(name: str, patterns: list[str]) -> bool:
    for pat in patterns:
        if pat.endswith("/") and name.startswith(pat):
            return True
        if not pat.endswith("/") and (name == pat or fnmatch.fnmatch(name.rsplit("/", 1)[-1], pat)):
            return True
    return False


def trim_wheel(path: Path, strip: list[str]) -> bytes:
    """The wheel without the members matching ``strip`` (folders end with '/'), RECORD rewritten."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()
                   if not n.endswith("/") and not _stripped(n, strip)}
    if not strip:
        return path.read_bytes()
    dist_info = next(n.split("/")[0] for n in members if n.split("/")[0].endswith(".dist-info"))
    members = {n: d for n, d in members.items() if n != f"{dist_info}/RECORD"}
    members[f"{dist_info}/RECORD"] = _record(members, dist_info)
    return _zip(members)


def _metadata(name: str, version: str, extra: str = "") -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{extra}".encode()


_WHEEL = b"Wheel-Version: 1.0\nGenerator: cassis-lite build_site\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def wheel_from_members(name: str, version: str, members: dict[str, bytes]) -> tuple[str, bytes]:
    """A py3-none-any wheel (file name, bytes) holding ``members`` plus its dist-info."""
    dist = name.replace("-", "_")
    dist_info = f"{dist}-{version}.dist-info"
    members = dict(members)
    members[f"{dist_info}/METADATA"] = _metadata(name, version)
    members[f"{dist_info}/WHEEL"] = _WHEEL
    members[f"{dist_info}/RECORD"] = _record(members, dist_info)
    return f"{dist}-{version}-py3-none-any.whl", _zip(members)


def pure_wheel_from_sdist(sdist: Path, name: str, version: str, src: str, packages: list[str]) -> tuple[str, bytes]:
    """Pure-Python wheel from an sdist: the ``.py`` (and ``py.typed``) files of ``packages``.

    C sources are left out; PyYAML and MarkupSafe fall back to their pure-Python code.
    """
    members = {}
    with tarfile.open(sdist, "r:*") as tar:
        top = tar.getmembers()[0].name.split("/")[0]
        for member in tar.getmembers():
            if not member.isfile():
                continue
            rel = member.name.removeprefix(f"{top}/")
            if not rel.startswith(src):
                continue
            rel = rel.removeprefix(src)
            if rel.split("/")[0] in packages and rel.endswith((".py", "py.typed")):
                members[rel] = tar.extractfile(member).read()
    if not members:
        raise RuntimeError(f"{sdist.name}: no Python files under {src}{packages}")
    return wheel_from_members(name, version, members)


def cassis_lite_wheel(root: Path, version: str) -> tuple[str, bytes]:
    """The cassis_lite package (Python files + bundled data) as a wheel for Pyodide."""
    pkg = root / "cassis_lite"
    members = {}
    for path in sorted(pkg.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".py" or (path.parent.name == "data" and path.suffix in (".db", ".json", ".txt")):
            members[rel] = path.read_bytes()
    return wheel_from_members("cassis_lite", version, members)
