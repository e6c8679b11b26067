"""The identification / fit core in Pyodide (WebAssembly, as in the browser) gives the CPython numbers.

Runs the built site's Pyodide 0.27.7 under Node (V8, the engine of Chromium) with the site's
own numpy/scipy/sqlite3 wheels, copies the current ``cassis_lite`` core and database into it,
and compares an LTE fit, an identification, a v_lsr search and a rotational diagram of the
I16293 sample with the same calls in CPython.
"""

import json

import pytest

from paths import SAMPLES
from pyodide_node import result_of, run_in_pyodide

pytestmark = pytest.mark.slow

CALLS = """
import json
from cassis_lite.fitting.lte_fit import fit_lte
from cassis_lite.analysis.identify import LteSetup, identify_spectrum
from cassis_lite.linedb import LineDatabase
from cassis_lite.readers import read_spectrum
from cassis_lite.analysis.rotdiagram import measure_species_lines, rotational_diagram
from cassis_lite.analysis.vlsr import find_velocity, species_line_weights

db = LineDatabase(DB)
sp = read_spectrum(SAMPLE)
cfg = {"telescope": {"diameter_m": 3.5}, "components": [{"name": "c1",
       "tex_k": {"value": 100.0, "min": 10.0, "max": 300.0}, "fwhm_kms": {"value": 3.0, "min": 1.0, "max": 15.0},
       "vlsr_kms": {"value": 4.0, "min": 3.5, "max": 10.0}, "size_arcsec": 30.0,
       "species": [{"species": "CO", "ntot_cm2": {"value": 2e16, "min": 2e13, "max": 2e19}}]}],
       "fit": {"windows_kms": [-2.0, 10.0], "rms_k": 0.2, "calibration_percent": 15}}
out = {}
r = fit_lte(sp.freq_mhz, sp.intensity, cfg, db, vlsr_file_kms=sp.vlsr_kms)
out["fit"] = [[p.value, p.stderr] for p in r.params.values() if p.vary] + [[r.fit.chisqr]]
out["report"] = r.report()
ident = identify_spectrum(sp.freq_mhz, sp.intensity, db, LteSetup(70.0, 5.0, 3.8, 3.8))
out["identify"] = [[e.species, e.ntot_cm2, e.lines_matched] for e in ident.species]
lines, w = species_line_weights(db, "CO", 500000, 1200000, 70.0, 5.0)
v = find_velocity(sp.freq_mhz, sp.intensity, lines, weights=w, vmin=-30, vmax=30, fwhm_kms=5.0,
                  vlsr_file_kms=sp.vlsr_kms)
out["vlsr"] = [v.value, v.error]
m = measure_species_lines(sp.freq_mhz, sp.intensity, db, "CO", -5, 13, vlsr_file_kms=sp.vlsr_kms)
rd = rotational_diagram(m.freq_mhz, m.aij, m.gup, m.eup_k, m.area_k_kms, m.area_err_k_kms,
                        db.partition_function("CO").q)
out["rotdiagram"] = [rd.t_rot_k, rd.t_rot_err_k, rd.ntot_cm2, rd.ntot_err_cm2]
json.dumps(out)
"""


def close(a, b, rel):
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y, rel) for x, y in zip(a, b))
    if isinstance(a, float):
        return abs(a - b) <= rel * max(abs(a), 1e-300)
    return a == b


def test_pyodide_numbers_equal_cpython(built_site):
    from cassis_lite.linedb import default_database_path
    db = default_database_path()
    proc = run_in_pyodide(f"DB = '/home/pyodide/cassis_lite/data/{db.name}'\n"
                          "SAMPLE = '/home/pyodide/data/I16293_Synthetic_CO.lis'\n" + CALLS,
                          packages=["numpy", "scipy", "sqlite3"], trees=[(SAMPLES, "/home/pyodide/data")])
    result = result_of(proc)
    assert proc.returncode == 0 and result, proc.stderr[-2000:]
    pyo = json.loads(result)
    ns = {"DB": str(db), "SAMPLE": str(SAMPLES / "I16293_Synthetic_CO.lis")}
    exec(CALLS.replace("json.dumps(out)", "RESULT = json.dumps(out)"), ns)
    cpy = json.loads(ns["RESULT"])
    assert pyo["report"] == cpy["report"]  # what the user reads is identical
    assert close(cpy["fit"], pyo["fit"], 1e-6)
    assert close(cpy["identify"], pyo["identify"], 1e-9)
    assert close(cpy["vlsr"], pyo["vlsr"], 1e-4)
    assert close(cpy["rotdiagram"], pyo["rotdiagram"], 1e-9)
