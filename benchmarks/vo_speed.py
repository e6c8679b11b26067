"""VOTable / FITS line-table export and SLAP service speed, next to astropy in the same process.

The whole bundled line database (every transition) as a line table: written by
``cassis_lite.vo.exports`` (TABLEDATA, BINARY2, FITS) and read back by our readers
(``cassis_lite.vo.linelist``, the code the browser runs), against astropy writing the same table
(``astropy.io.votable.from_table(...).to_xml`` / ``astropy.io.fits.BinTableHDU``) and reading
our bytes (``parse(...).to_table()``, ``fits.open``). Best of 3. Then the SLAP service of a
``cassis-lite serve`` in this process answering 1 GHz and 100 GHz windows over HTTP (urllib,
median of 10), next to ``LineDatabase.transitions`` for the same windows.

Run: .venv/bin/python benchmarks/vo_speed.py
"""

from __future__ import annotations

import io
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from astropy.io import fits
from astropy.io.votable import from_table, parse
from astropy.table import Table

from cassis_lite.commands.serve import make_server
from cassis_lite.constants import C_LIGHT
from cassis_lite.linedb import LineDatabase
from cassis_lite.vo import exports, linelist, tables


def best(fn, n=3):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    db = LineDatabase()
    t = db.transitions(0, 1e13)
    cols = tables.line_columns(t)
    ref = Table({k: v for k, v in cols.items()})
    print(f"line table: {len(t)} transitions, {len(cols)} columns")
    print(f"{'case':22s} {'ours s':>8s} {'astropy s':>10s} {'MB':>7s}")
    for ser in ("tabledata", "binary2"):
        w_ours, data = best(lambda: exports.lines_votable(t, ser))

        def astropy_write():
            buf = io.BytesIO()
            vt = from_table(ref)
            vt.get_first_table().format = ser
            vt.to_xml(buf)
            return buf.getvalue()

        w_ast, _ = best(astropy_write)
        r_ours, _ = best(lambda: linelist.transitions_from_votable(data))
        r_ast, _ = best(lambda: parse(io.BytesIO(data)).get_first_table().to_table())
        print(f"{'write ' + ser:22s} {w_ours:8.2f} {w_ast:10.2f} {len(data) / 1e6:7.1f}")
        print(f"{'read ' + ser:22s} {r_ours:8.2f} {r_ast:10.2f}")
    w_ours, data = best(lambda: exports.lines_fits(t))
    w_ast, _ = best(lambda: fits.BinTableHDU(ref).writeto(io.BytesIO()))
    r_ours, _ = best(lambda: linelist.transitions_from_fits(data))
    r_ast, _ = best(lambda: [fits.open(io.BytesIO(data))[1].data[c] for c in ref.colnames])
    print(f"{'write fits':22s} {w_ours:8.2f} {w_ast:10.2f} {len(data) / 1e6:7.1f}")
    print(f"{'read fits':22s} {r_ours:8.2f} {r_ast:10.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "index.html").write_text("<!doctype html>")
        srv = make_server(tmp, "127.0.0.1", 0, quiet=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{srv.server_address[1]}/slap?REQUEST=queryData&WAVELENGTH="
        print(f"\n{'SLAP window':12s} {'lines':>6s} {'HTTP ms':>8s} {'transitions ms':>15s} {'kB':>7s}")
        for lo, hi in ((230_000.0, 231_000.0), (200_000.0, 300_000.0)):
            url = base + f"{C_LIGHT / (hi * 1e6)!r}/{C_LIGHT / (lo * 1e6)!r}"
            http, direct = [], []
            for _ in range(10):
                t0 = time.perf_counter()
                with urllib.request.urlopen(url) as r:
                    body = r.read()
                http.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                n = len(db.transitions(lo, hi))
                direct.append(time.perf_counter() - t0)
            print(f"{f'{(hi - lo) / 1e3:g} GHz':12s} {n:6d} {statistics.median(http) * 1e3:8.1f} "
                  f"{statistics.median(direct) * 1e3:15.2f} {len(body) / 1e3:7.1f}")
        srv.shutdown()
        srv.server_close()


if __name__ == "__main__":
    main()
