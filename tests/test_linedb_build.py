"""The database builder: pinned and hash-checked sources, deterministic output."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys

from cassis_lite.linedb import LineDatabase, default_database_path
from linedb_sources import ROOT, builder

BUILD = ROOT / "build_scripts" / "build_linedb.py"
CACHE = ROOT / ".cache" / "sources"


def _build(out, env_extra=None, manifest=None):
    import os

    env = dict(os.environ, **(env_extra or {}))
    cmd = [sys.executable, str(BUILD), "--out", str(out), "--cache", str(CACHE)]
    if manifest:
        cmd += ["--manifest", str(manifest)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def test_manifest_is_complete():
    m = json.loads((ROOT / "data" / "sources.json").read_text(encoding="utf-8"))
    for d in m["distributions"]:
        assert re.fullmatch(r"[0-9a-f]{64}", d["sha256"])
        assert d["package"] and d["version"] and d["licence"]
        assert d["filename"].startswith(d["package"] + "-" + d["version"])
        assert d.get("files") or d.get("files_glob")
    for name, db in m["databases"].items():
        assert db["citation"] and db["url"] and db["via"] in {d["package"] for d in m["distributions"]}


def test_build_is_deterministic(tmp_path):
    builder().read_sources(json.loads((ROOT / "data" / "sources.json").read_text()), CACHE)  # warm cache
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    for out in (a, b):
        r = _build(out, {"SOURCE_DATE_EPOCH": "1767225600"})
        assert r.returncode == 0, r.stderr
    assert a.read_bytes() == b.read_bytes()
    meta = LineDatabase(a).meta
    assert meta["build_date"] == "2026-01-01"
    # same content as the bundled database, built from the same pinned sources
    assert meta["content_sha256"] == LineDatabase(default_database_path()).meta["content_sha256"]


def test_sha256_mismatch_stops_the_build(tmp_path):
    m = json.loads((ROOT / "data" / "sources.json").read_text(encoding="utf-8"))
    m["distributions"][0]["sha256"] = "0" * 64
    bad = tmp_path / "sources.json"
    bad.write_text(json.dumps(m))
    r = _build(tmp_path / "x.db", manifest=bad)
    assert r.returncode != 0
    assert "sha256 mismatch" in r.stderr and m["distributions"][0]["filename"] in r.stderr
    assert not (tmp_path / "x.db").exists()


def test_metadata_records_sources_and_versions():
    con = sqlite3.connect(default_database_path())
    meta = dict(con.execute("SELECT key, value FROM meta"))
    m = json.loads((ROOT / "data" / "sources.json").read_text(encoding="utf-8"))
    for d in m["distributions"]:
        if d.get("full_catalogue_only"):  # read by build_fulldb.py only (tests/test_fulldb.py)
            assert f"source:{d['package']}" not in meta
            continue
        assert meta[f"source:{d['package']}"] == f"{d['version']} sha256={d['sha256']}"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", meta["build_date"])
    cites = {r[0]: r[1] for r in con.execute("SELECT name, citation FROM sources")}
    assert "Schöier" in cites["LAMDA"] and "Morton" in cites["Morton2003"]
