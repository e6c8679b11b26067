#!/usr/bin/env python3
"""A large line database read by HTTP range in the browser app, next to CPython on the same file.

    .venv/bin/python benchmarks/lazydb_browser.py [--site site] [--db build/full.db] [--chunks 4 16 64]
        [--species 'CH3OH, vt=0-2'] [--search HC3N]

The file: ``--db`` (e.g. the full catalogue, docs/fulldb.md), or by default one made from the
bundled database (tests/lazydb_data.py: its transitions x 32 clustered by frequency, ~190 MB,
1.56 M lines). It is placed as ``db/full.db`` in a temporary copy of the built site (hard
links), served by ``cassis-lite serve``'s server on localhost, and read by the app in headless
Chromium (Debian's) through its lazy file (web/lazyfile.js). For each chunk size, with and
without read-ahead, the database is opened afresh (``useDatabase("full", {chunk_kb, readahead,
reopen: true})``: empty chunk cache, new SQLite connection) before each query:

(a) all lines in a 1 GHz window near 230 GHz (``getLines({fmin_mhz, fmax_mhz})``);
(b) one species (``--species``) over 200-300 GHz, all columns (``getLines({species})``);
(c) a species search (``--search``): the species table is read once when the file opens (the "open" row), the
    search itself (``LineDatabase.species(text)``) is then in memory;

bytes fetched and requests are the lazy file's counters (checked equal to the server's log in
tests/browser/test_browser_lazydb.py); times are the page's, from the call to the resolved
Promise (the worker's Python, SQLite over synchronous range requests, the JSON answer). Then how
bytes grow with the window (0.1, 1, 10, 100 GHz from 230 GHz) at the default chunk size.
Reference, same run: CPython ``LineDatabase(path, immutable=True).transitions`` on the same file
in a child process (a new connection per query; the OS file cache is warm), median of 3, and
the bytes that call read from the file (/proc/self/io ``rchar``; SQLite reads one page per
pread: what 4 KiB chunks without read-ahead fetch).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from _browser import ARGS, CHROMIUM, serve  # noqa: E402

WINDOW = {"fmin_mhz": 230000.0, "fmax_mhz": 231000.0}
SPECIES_RANGE = {"fmin_mhz": 200000.0, "fmax_mhz": 300000.0}
GROWTH = (100.0, 1000.0, 10000.0, 100000.0)  # MHz windows starting at 230 GHz

# CPython through the same core call, in a child process: /proc/self/io rchar around the query
# (SQLite reads one 4 KiB page per pread, no mmap: what a lazy file with 4 KiB chunks would fetch)
CHILD = r"""
import json, statistics, sys, time
from cassis_lite.linedb import LineDatabase
def rchar():
    return int(next(l for l in open('/proc/self/io') if l.startswith('rchar')).split()[1])
path, q, repeats = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
times, nbytes, n = [], None, 0
for _ in range(repeats):
    t0 = time.perf_counter()
    db = LineDatabase(path, immutable=True)
    r0 = rchar()
    t1 = time.perf_counter()
    n = len(db.transitions(q["fmin_mhz"], q["fmax_mhz"], species=q.get("species")))
    t2 = time.perf_counter()
    r1 = rchar()
    db.close()
    nbytes = r1 - r0 if nbytes is None else nbytes
    times.append(t2 - t1)
print(json.dumps({"s": statistics.median(times), "rows": n, "bytes": nbytes}))
"""


def in_page(page, method: str, *args):
    """(seconds, answer) of window.cassisLite.<method>(...args), timed in the page."""
    out = page.evaluate("""async ([method, args]) => {
        const t0 = performance.now();
        const r = await window.cassisLite[method](...args);
        return [(performance.now() - t0) / 1000, r];
    }""", [method, list(args)])
    return out[0], out[1]


def reads(page) -> dict:
    return page.evaluate("window.cassisLite.getState()")["database"].get("reads") or {}


def browser_query(page, chunk_kb: int, readahead: bool, query: dict):
    """Open afresh, then one query: (open stats, query seconds, query bytes, query requests, rows)."""
    t_open, _ = in_page(page, "useDatabase", "full", {"chunk_kb": chunk_kb, "readahead": readahead, "reopen": True})
    opened = reads(page)
    t, rows = in_page(page, "getLines", query)
    after = reads(page)
    return ({"s": t_open, "bytes": opened["bytesFetched"], "requests": opened["requests"]}, t,
            after["bytesFetched"] - opened["bytesFetched"], after["requests"] - opened["requests"], len(rows))


def cpython(path: Path, query: dict, repeats: int = 3):
    """(median query seconds after a fresh open, rows, bytes the first query read from the file)."""
    import json
    import subprocess

    out = subprocess.run([sys.executable, "-c", CHILD, os.fspath(path), json.dumps(query), str(repeats)],
                         check=True, capture_output=True, text=True, cwd=ROOT).stdout
    r = json.loads(out)
    return r["s"], r["rows"], r["bytes"]


def cpython_open_and_search(path: Path, text: str, repeats: int = 3):
    """(median open s, median search s, hits, bytes the open read) in CPython, the core's calls."""
    import json
    import subprocess

    code = ("import json, statistics, sys, time\n"
            "from cassis_lite.linedb import LineDatabase\n"
            "def rchar():\n"
            "    return int(next(l for l in open('/proc/self/io') if l.startswith('rchar')).split()[1])\n"
            "opens, searches, nbytes = [], [], None\n"
            "for _ in range(int(sys.argv[3])):\n"
            "    r0 = rchar(); t0 = time.perf_counter(); db = LineDatabase(sys.argv[1], immutable=True)\n"
            "    t1 = time.perf_counter(); r1 = rchar(); hits = len(db.species(sys.argv[2]))\n"
            "    searches.append(time.perf_counter() - t1); opens.append(t1 - t0); db.close()\n"
            "    nbytes = r1 - r0 if nbytes is None else nbytes\n"
            "print(json.dumps([statistics.median(opens), statistics.median(searches), hits, nbytes]))\n")
    out = subprocess.run([sys.executable, "-c", code, os.fspath(path), text, str(repeats)], check=True,
                         capture_output=True, text=True, cwd=ROOT).stdout
    return tuple(json.loads(out))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--db", type=Path, default=None, help="the file to read (default: made from the bundled one)")
    parser.add_argument("--chunks", type=int, nargs="+", default=[4, 16, 64], help="chunk sizes, KiB")
    parser.add_argument("--species", default="CH3OH, vt=0-2", help="the species of query (b)")
    parser.add_argument("--search", default="HC3N", help="the text of the species search (c)")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").exists():
        raise SystemExit(f"{args.site}: no built site (make site)")
    work = Path(tempfile.mkdtemp(prefix="cassis-lazydb-bench-"))
    try:
        if args.db is None:
            from cassis_lite.linedb import default_database_path
            from lazydb_data import build_large_db

            t0 = time.perf_counter()
            db_path = build_large_db(default_database_path(), work / "full.db")
            print(f"made {db_path.name}: {db_path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s "
                  "(bundled transitions x 32, clustered by frequency)")
        else:
            db_path = args.db.resolve()
        site = work / "site"
        shutil.copytree(args.site, site, copy_function=os.link)
        (site / "db").mkdir(exist_ok=True)
        target = site / "db" / "full.db"
        # the copy's db/full.db is a hard link of the built site's: replace the link, never write through it
        target.unlink(missing_ok=True)
        try:
            os.link(db_path, target)
        except OSError:
            shutil.copyfile(db_path, target)
        run(site, db_path, args.chunks, args.species, args.search)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def run(site: Path, db_path: Path, chunks: list[int], species: str, search: str) -> None:
    from playwright.sync_api import sync_playwright

    size = db_path.stat().st_size
    server, url = serve(site)
    print(f"file: {size / 1e6:.1f} MB; server {url}; Chromium {CHROMIUM}")
    queries = {"a": WINDOW, "b": {**SPECIES_RANGE, "species": [species]}}
    labels = {"a": "(a) 1 GHz window at 230 GHz", "b": f"(b) {species} 200-300 GHz"}
    ref = {name: cpython(db_path, q) for name, q in queries.items()}
    ref_open, ref_search, hits, open_bytes = cpython_open_and_search(db_path, search)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context().new_page()
            page.goto(url)
            page.wait_for_function("() => document.documentElement.dataset.cassisState !== 'loading'",
                                   timeout=300_000)
            assert page.evaluate("document.documentElement.dataset.cassisState") == "ready"
            page.wait_for_function("() => window.cassisLite.getState().then((s) => "
                                   "s.database.available.includes('full'))", timeout=60_000)
            print()
            width = max(len(v) for v in labels.values())
            print(f"{'query':{width}s}  chunk  read-ahead  open KB/req   query KB  requests   rows"
                  "   browser s  CPython s  CPython KB")
            for chunk in chunks:
                for readahead in (False, True):
                    for name, q in queries.items():
                        opened, t, nbytes, nreq, rows = browser_query(page, chunk, readahead, q)
                        assert rows == ref[name][1], (rows, ref[name])
                        print(f"{labels[name]:{width}s} {chunk:4d} KiB  {'on ' if readahead else 'off'}       "
                              f"{opened['bytes'] / 1024:6.0f}/{opened['requests']:<4d}  {nbytes / 1024:8.0f}  "
                              f"{nreq:8d}  {rows:5d}   {t:8.3f}   {ref[name][0]:8.4f}  {ref[name][2] / 1024:9.0f}",
                              flush=True)
            print(f"(c) species search {search!r}: {hits} species; open (schema, meta, sources, species) in CPython "
                  f"{ref_open * 1e3:.1f} ms and {open_bytes / 1024:.0f} KB read, search {ref_search * 1e6:.0f} us "
                  "(in memory, also in the browser: 0 bytes after the open column above)")
            print()
            print("bytes by window (16 KiB chunks, read-ahead on), from a fresh open each:")
            for width in GROWTH:
                q = {"fmin_mhz": 230000.0, "fmax_mhz": 230000.0 + width}
                _, t, nbytes, nreq, rows = browser_query(page, 16, True, q)
                ref_t, ref_n, ref_b = cpython(db_path, q)
                assert rows == ref_n
                print(f"  {width / 1e3:5.1f} GHz: {rows:6d} lines, {nbytes / 1024:8.0f} KB in {nreq:4d} requests "
                      f"({100 * nbytes / size:.3f} % of the file), browser {t:.3f} s; CPython {ref_t:.4f} s, "
                      f"{ref_b / 1024:.0f} KB", flush=True)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    raise SystemExit(main())
