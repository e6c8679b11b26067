"""The RADEX solver gives the same numbers in the site's Pyodide (WebAssembly, NumPy 2.0.2) as in
CPython: a grid of models from the bundled database, and a radex component drawn on a spectrum."""

from __future__ import annotations

import json

import numpy as np

import pyodide_node

SCRIPT = r"""
import json
import numpy as np
from cassis_lite.linedb import LineDatabase
from cassis_lite.lte import compute_spectrum
from cassis_lite.radex import solve

db = LineDatabase("/home/pyodide/cassis_lite/data/cassis_lite.db")
out = {}
for name, dens in (("CO", {"H2": np.array([1e2, 1e4, 1e6])[None, :, None]}),
                   ("HCN", {"H2": np.array([1e3, 1e5, 1e7])[None, :, None], "e": 10.0})):
    r = solve(db.collision_data(name), np.array([10.0, 50.0, 200.0])[:, None, None], dens,
              np.array([1e12, 1e15])[None, None, :], 1.0, geometry="lvg")
    out[name] = {k: getattr(r, k).ravel().tolist() for k in ("tex_k", "tau", "t_r_k", "pop_up")}
cfg = {"components": [{"model": "radex", "tkin_k": 30.0, "density_cm3": {"H2": 1e4}, "fwhm_kms": 1.0,
                       "species": [{"species": "HCO+", "ntot_cm2": 1e14}]},
                      {"tex_k": 8.0, "fwhm_kms": 2.0, "interacting": True,
                       "species": [{"species": "HCO+", "ntot_cm2": 1e13}]}]}
out["spectrum"] = compute_spectrum(cfg, np.linspace(89180.0, 89195.0, 301), db).intensity.tolist()
json.dumps({k: v for k, v in out.items()}).replace("NaN", "null")
"""


def _cpython():
    ns = {}
    exec(SCRIPT.replace("/home/pyodide/cassis_lite/data/cassis_lite.db", str(pyodide_node.ROOT / "cassis_lite" /
                                                                             "data" / "cassis_lite.db")), ns)
    return ns


def test_radex_in_pyodide_equals_cpython(built_site):
    proc = pyodide_node.run_in_pyodide("out = None\n" + SCRIPT.rstrip().rsplit("\n", 1)[0] +
                                       "\njson.dumps(out).replace('NaN', 'null')\n",
                                       packages=["numpy", "sqlite3"], skip=("__pycache__", "app"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    wasm = json.loads(pyodide_node.result_of(proc))
    native = json.loads(json.dumps(_cpython()["out"]).replace("NaN", "null"))
    worst, identical, total = {}, 0, 0
    for key, ref in native.items():
        pairs = ([(key + "." + k, wasm[key][k], ref[k]) for k in ref] if isinstance(ref, dict)
                 else [(key, wasm[key], ref)])
        for label, got, exp in pairs:
            a = np.array([np.nan if v is None else v for v in got])
            b = np.array([np.nan if v is None else v for v in exp])
            np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
            ok = ~np.isnan(b)
            identical += int(np.sum(a[ok] == b[ok]))
            total += int(ok.sum())
            # relative to each array's largest value: populations and opacities of the top levels are
            # ~1e-20 of the others, where rounding of the other terms shows
            worst[label] = float(np.max(np.abs(a[ok] - b[ok])) / np.max(np.abs(b[ok])))
    print(f"\nPyodide vs CPython: {identical}/{total} values bitwise equal; worst difference relative to each "
          f"array's maximum: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    assert max(worst.values()) <= 1e-12
