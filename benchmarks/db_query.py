#!/usr/bin/env python3
"""Line database figures: query time (1 GHz and 100 GHz windows), build time, file size.

    .venv/bin/python benchmarks/db_query.py

Side by side in the same process: ``LineDatabase.transitions`` (SQLite + arrays), the same
SQL through the bare sqlite3 module (floor of the SQLite part), and a NumPy searchsorted on
the whole table held in memory (what an all-in-RAM design would cost per query).
"""

from __future__ import annotations

import gzip
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cassis_lite.linedb import LineDatabase, default_database_path  # noqa: E402

WINDOWS = [("1 GHz", 230_000.0, 231_000.0), ("100 GHz", 200_000.0, 300_000.0)]


def timeit(fn, repeat=30):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def main() -> int:
    path = default_database_path()
    db = LineDatabase(path)
    con = sqlite3.connect(path)
    sql = ("SELECT species_id, freq_mhz, err_mhz, aij, elow_cm, eup_k, gup, qn, source_id FROM transitions "
           "WHERE freq_mhz >= ? AND freq_mhz <= ?")
    t0 = time.perf_counter()
    full = db.transitions(0.0, 1e20)
    load_all = time.perf_counter() - t0
    print(f"database: {path}")
    print(f"{'window':<8} {'lines':>6} {'LineDatabase ms':>16} {'raw sqlite3 ms':>15} {'numpy in-RAM ms':>16}")
    for label, fmin, fmax in WINDOWS:
        n = len(db.transitions(fmin, fmax))
        a, _ = timeit(lambda: db.transitions(fmin, fmax))
        b, _ = timeit(lambda: con.execute(sql, (fmin, fmax)).fetchall())

        def ram():
            i = np.searchsorted(full.freq_mhz, fmin, side="left")
            j = np.searchsorted(full.freq_mhz, fmax, side="right")
            return full[i:j]

        c, _ = timeit(ram)
        print(f"{label:<8} {n:>6} {a * 1e3:>16.3f} {b * 1e3:>15.3f} {c * 1e3:>16.3f}")
    print(f"(loading all {len(full)} transitions into RAM once: {load_all * 1e3:.1f} ms)")

    raw = path.stat().st_size
    gz = len(gzip.compress(path.read_bytes(), compresslevel=9))
    print(f"file size: {raw} bytes ({raw / 1e6:.2f} MB), gzip -9: {gz} bytes ({gz / 1e6:.2f} MB)")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.db"
        cmd = [sys.executable, str(ROOT / "build_scripts" / "build_linedb.py"), "--out", str(out)]
        subprocess.run(cmd, check=True, capture_output=True)  # warm the download cache
        t0 = time.perf_counter()
        r = subprocess.run(cmd, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        print(f"build time (sources cached, whole process): {wall:.2f} s")
        print(f"  builder says: {r.stdout.strip().splitlines()[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
