"""The identification / fit benchmark of ``identify_fit_speed.py`` run inside Pyodide (WebAssembly).

Pyodide 0.27.7 from the built site (``site/pyodide/``, ``make site``) is started under Node (the
V8 WebAssembly engine Chromium uses), numpy/scipy/sqlite3 are loaded from the site's own wheels,
the current ``cassis_lite`` core and the bundled database are copied into its file system, and
``identify_fit_speed.py`` runs unchanged: its figures are the browser-side times (without page,
worker and Panel overhead). The astropy reference is skipped there (no astropy in Pyodide).
Then the I16293 CO fit is run in both interpreters and the largest relative difference of the
fitted values and errors is printed (the browser and the command line must agree).

Run: .venv/bin/python benchmarks/identify_fit_speed_pyodide.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from i16293 import co_fit_config  # noqa: E402
from pyodide_node import available, run_in_pyodide  # noqa: E402

CO_FIT = co_fit_config()  # the CASSIS team's I16293 CO fit

INSIDE = """
import json
sys.argv = ["identify_fit_speed.py"]
import runpy
ns = runpy.run_path("/home/pyodide/benchmarks/identify_fit_speed.py")
from cassis_lite.linedb import LineDatabase
db = LineDatabase("/home/pyodide/cassis_lite/data/cassis_lite.db")
ns["bench_identify"](db)
ns["bench_fit"](db)
from cassis_lite.fitting.lte_fit import fit_lte
from cassis_lite.readers import read_spectrum
sp = read_spectrum("/home/pyodide/data/I16293_Synthetic_CO.lis")
r = fit_lte(sp.freq_mhz, sp.intensity, json.loads(%r), db, vlsr_file_kms=sp.vlsr_kms)
print("CO_FIT " + json.dumps({n: [p.value, p.stderr] for n, p in r.params.items() if p.vary}))
"""


def co_fit_cpython() -> dict:
    from cassis_lite.fitting.lte_fit import fit_lte
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.readers import read_spectrum
    sp = read_spectrum(str(ROOT / "tests" / "data" / "I16293_Synthetic_CO.lis"))
    r = fit_lte(sp.freq_mhz, sp.intensity, CO_FIT, LineDatabase(), vlsr_file_kms=sp.vlsr_kms)
    return {n: [p.value, p.stderr] for n, p in r.params.items() if p.vary}


def main() -> int:
    if not available():
        print("needs node and the built site (make site)")
        return 1
    print("== in Pyodide (Node, WebAssembly)")
    t0 = time.perf_counter()
    proc = run_in_pyodide(INSIDE % json.dumps(CO_FIT), packages=["numpy", "scipy", "sqlite3"],
                          trees=[(ROOT / "tests" / "data", "/home/pyodide/data"),
                                 (ROOT / "benchmarks", "/home/pyodide/benchmarks")], timeout=1800)
    print(f"(whole Pyodide run, start-up included: {time.perf_counter() - t0:.1f} s)")
    lines = proc.stdout.splitlines()
    pyo = None
    for line in lines:
        if line.startswith("CO_FIT "):
            pyo = json.loads(line[7:])
        else:
            print(line)
    if proc.returncode != 0 or pyo is None:
        print(proc.stderr[-3000:])
        return 1
    cpy = co_fit_cpython()
    worst = max(abs(a - b) / abs(a) for n in cpy for a, b in zip(cpy[n], pyo[n]) if a)
    print("== CPython vs Pyodide, I16293 CO fit (values and 1-sigma errors)")
    print(f"largest relative difference: {worst:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
