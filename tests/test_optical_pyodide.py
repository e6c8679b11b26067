"""voigt_flux, equivalent_width_ma and broaden give in the site's Pyodide (WebAssembly, NumPy
2.0.2, under Node) the numbers they give in CPython (tests/pyodide_node.py)."""

import json

import numpy as np
import pytest

from pyodide_node import result_of, run_in_pyodide

pytestmark = pytest.mark.slow

CALLS = """
import json
import numpy as np
from cassis_lite.linedb import LineDatabase
from cassis_lite.optical import Component, broaden, equivalent_width_ma, system_lines, voigt_flux

db = LineDatabase(DB)
lines = system_lines([Component(-20.0, 8.0, {"C IV": 14.2, "Si II": 13.0}), Component(30.0, 4.0, {"C IV": 13.1})],
                     2000.0, 2200.0, redshift=0.35, db=db)
wave = np.linspace(2088.0, 2096.0, 4001)
out = {"flux_r": voigt_flux(wave, lines, redshift=0.35, resolving_power=40000).tolist(),
       "flux_a": voigt_flux(wave, lines, redshift=0.35, fwhm_a=0.05).tolist(),
       "ew": [float(equivalent_width_ma(i, w, n, b, db=db)) for i, w, n, b in
              (("C IV", 1548.2, 14.0, 10.0), ("H I", 1215.67, 19.0, 20.0), ("Mg II", 2796.35, 12.5, 5.0))]}
sw = 5000.0 + 30.0 * np.linspace(0, 1, 3001) + 20.0 * np.linspace(0, 1, 3001) ** 2
sf = 1 - 0.6 * np.exp(-0.5 * ((sw - 5020.0) / 0.04) ** 2)
out["broad"] = broaden(sw, sf, rv_kms=12.0, vsini_kms=25.0, macro_kms=4.0, resolving_power=45000).tolist()
json.dumps(out)
"""


def test_pyodide_numbers_equal_cpython(built_site):
    from cassis_lite.linedb import default_database_path

    db = default_database_path()
    proc = run_in_pyodide(f"DB = '/home/pyodide/cassis_lite/data/{db.name}'\n" + CALLS,
                          packages=["numpy", "sqlite3"])
    result = result_of(proc)
    assert proc.returncode == 0 and result, proc.stderr[-2000:]
    pyo = json.loads(result)
    ns = {"DB": str(db)}
    exec(CALLS.replace("json.dumps(out)", "RESULT = json.dumps(out)"), ns)
    cpy = json.loads(ns["RESULT"])
    for key in ("flux_r", "flux_a", "ew", "broad"):
        a, b = np.asarray(cpy[key]), np.asarray(pyo[key])
        print(key, np.max(np.abs(a - b)))
        # libm's last digits (NumPy's AVX-512 exp here, WebAssembly's in Pyodide): 7.7e-13 measured
        assert np.allclose(a, b, rtol=1e-10, atol=1e-11), key
