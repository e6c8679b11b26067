#!/usr/bin/env python3
"""The full line catalogue (build/full.db): size, content, and what a query costs in bytes read
and time, beside the bundled database for the same queries (docs/fulldb.md, benchmarks/README.md).

    .venv/bin/python benchmarks/fulldb.py [--build] [--page-sizes 1024,4096,8192,16384]

--build times a build (sources cached) into a temporary file first. Bytes read: /proc/self/io
``rchar`` around the query on a fresh connection in a child process (SQLite reads one page per
pread, no mmap): the bytes a lazy file with chunk = page size would fetch.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FULL = ROOT / "build" / "full.db"
BUNDLED = ROOT / "cassis_lite" / "data" / "cassis_lite.db"

WINDOW = ("SELECT species_id, freq_mhz, err_mhz, aij, elow_cm, eup_k, gup, qn, source_id FROM transitions "
          "WHERE id BETWEEN (SELECT id FROM transitions WHERE freq_mhz >= :fmin ORDER BY freq_mhz LIMIT 1) "
          "AND (SELECT id FROM transitions WHERE freq_mhz <= :fmax ORDER BY freq_mhz DESC LIMIT 1) "
          "AND freq_mhz BETWEEN :fmin AND :fmax")
SPECIES = ("SELECT species_id, freq_mhz, err_mhz, aij, elow_cm, eup_k, gup, qn, source_id FROM transitions "
           "WHERE species_id = (SELECT id FROM species WHERE name = :name) AND freq_mhz BETWEEN :fmin AND :fmax")
MODEL = ("SELECT freq_mhz, aij, eup_k, gup FROM transitions WHERE species_id = (SELECT id FROM species "
         "WHERE name = :name) AND freq_mhz BETWEEN :fmin AND :fmax")
SEARCH = "SELECT id, tag, name, formula, n_lines FROM species WHERE name LIKE :q OR formula LIKE :q"

CHILD = r"""
import json, sqlite3, sys, time, urllib.parse
def rchar():
    return int(next(l for l in open('/proc/self/io') if l.startswith('rchar')).split()[1])
p, sql, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
c = sqlite3.connect('file:' + urllib.parse.quote(p) + '?mode=ro&immutable=1', uri=True)
c.execute('SELECT 1').fetchall()
r0 = rchar(); t0 = time.perf_counter(); n = len(c.execute(sql, args).fetchall()); t1 = time.perf_counter(); r1 = rchar()
t2 = time.perf_counter(); c.execute(sql, args).fetchall(); t3 = time.perf_counter()
print(json.dumps({"rows": n, "bytes": r1 - r0, "cold_ms": (t1 - t0) * 1e3, "warm_ms": (t3 - t2) * 1e3}))
"""


def measure(path, sql, args) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, os.fspath(path), sql, json.dumps(args)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def gzip_size(path) -> int:
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            n += len(z.compress(chunk))
    return n + len(z.flush())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", action="store_true", help="time a build into a temporary file first")
    ap.add_argument("--page-sizes", default="", help="comma-separated page sizes to compare (copies + VACUUM)")
    args = ap.parse_args()
    path = FULL
    if args.build:
        tmp = Path(tempfile.mkdtemp()) / "full.db"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "build_scripts" / "build_fulldb.py"), "--out", str(tmp),
                        "--bundled", str(BUNDLED)], check=True)
        print(f"build time (sources cached, whole process): {time.perf_counter() - t0:.1f} s")
        path = tmp
    if not path.is_file():
        sys.exit(f"{path} not found: make db-full")
    size = path.stat().st_size
    print(f"file size: {size} bytes ({size / 1e6:.1f} MB), gzip -6: {gzip_size(path) / 1e6:.1f} MB; "
          f"bundled: {BUNDLED.stat().st_size / 1e6:.2f} MB")
    con = sqlite3.connect("file:" + urllib.parse.quote(path.as_posix()) + "?mode=ro&immutable=1", uri=True)
    print("lines and species by source:")
    for name, n_lines, n_sp, n_noq in con.execute(
            "SELECT c.database, c.n_lines, (SELECT COUNT(*) FROM species s WHERE s.source_id = c.source_id), "
            "(SELECT COUNT(*) FROM species s WHERE s.source_id = c.source_id AND s.q_method IS NULL) "
            "FROM citations c WHERE c.n_lines > 0 ORDER BY c.n_lines DESC"):
        print(f"  {name:28s} {n_lines:9d} lines {n_sp:5d} species ({n_noq} without Q)")
    total = con.execute("SELECT COUNT(*), (SELECT COUNT(*) FROM species) FROM transitions").fetchone()
    print(f"  {'total':28s} {total[0]:9d} lines {total[1]:5d} species")
    con.close()

    cases = [("(a) all lines 230-231 GHz", WINDOW, {"fmin": 230000.0, "fmax": 231000.0}),
             ("(b) CH3OH, vt=0-2 200-300 GHz", SPECIES, {"name": "CH3OH, vt=0-2", "fmin": 2e5, "fmax": 3e5}),
             ("(b) CH3OCHO v=0 200-300 GHz", SPECIES, {"name": "CH3OCHO v=0", "fmin": 2e5, "fmax": 3e5}),
             ("(b) CH3OH model columns", MODEL, {"name": "CH3OH, vt=0-2", "fmin": 2e5, "fmax": 3e5}),
             ("(b) CH3OCHO v=0 model columns", MODEL, {"name": "CH3OCHO v=0", "fmin": 2e5, "fmax": 3e5}),
             ("(c) species search '%HC3N%'", SEARCH, {"q": "%HC3N%"})]
    print(f"\n{'query':34s} {'db':8s} {'rows':>7s} {'bytes read':>11s} {'cold ms':>8s} {'warm ms':>8s}")
    for label, sql, a in cases:
        for tag, p in (("full", path), ("bundled", BUNDLED)):
            try:
                m = measure(p, sql, a)
            except subprocess.CalledProcessError:
                continue
            print(f"{label:34s} {tag:8s} {m['rows']:7d} {m['bytes']:11d} {m['cold_ms']:8.1f} {m['warm_ms']:8.1f}")
    print("\nbytes read vs window width (all lines, centred on 230.5 GHz):")
    for width in (10.0, 100.0, 1000.0, 10000.0, 100000.0):
        a = {"fmin": 230500.0 - width / 2, "fmax": 230500.0 + width / 2}
        m = measure(path, WINDOW, a)
        plain = measure(path, "SELECT * FROM transitions WHERE freq_mhz BETWEEN :fmin AND :fmax", a)
        print(f"  {width / 1e3:8.2f} GHz {m['rows']:7d} rows {m['bytes']:10d} bytes (id-range form) "
              f"{plain['bytes']:10d} bytes (plain BETWEEN) {m['cold_ms']:7.1f} ms")
    join = measure(path, "SELECT s.name, t.freq_mhz FROM species s CROSS JOIN transitions t ON t.species_id = s.id "
                   "WHERE t.freq_mhz BETWEEN :fmin AND :fmax", {"fmin": 230000.0, "fmax": 231000.0})
    print(f"  1 GHz joined from the species side (what not to write): {join['bytes']} bytes, {join['cold_ms']:.0f} ms")

    if args.page_sizes:
        print("\npage size: bytes read (a), (b) CH3OCHO model columns, file size")
        for ps in [int(x) for x in args.page_sizes.split(",")]:
            d = Path(tempfile.mkdtemp()) / f"full_{ps}.db"
            shutil.copyfile(path, d)
            c = sqlite3.connect(d)
            c.execute(f"PRAGMA page_size = {ps}")
            c.execute("VACUUM")
            c.close()
            a = measure(d, *cases[0][1:])
            b = measure(d, *cases[4][1:])
            print(f"  {ps:6d} {a['bytes']:10d} {b['bytes']:10d} {d.stat().st_size / 1e6:8.1f} MB")
            shutil.rmtree(d.parent)
    if args.build:
        shutil.rmtree(path.parent)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
