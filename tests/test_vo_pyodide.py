"""The VO core in Pyodide (WebAssembly, as in the browser) writes what CPython writes: the exports (VOTable
TABLEDATA / BINARY2 and FITS of a line table, a spectrum VOTable), the SLAP answer and query URL, and
the ATOMIS steps (frequency_support, ADQL, coverage) are byte for byte the same. Runs the built site's
Pyodide 0.27.7 under Node with the current cassis_lite tree (tests/pyodide_node.py)."""

from __future__ import annotations

import hashlib
import json

import pytest

from paths import SAMPLES
from pyodide_node import result_of, run_in_pyodide

pytestmark = pytest.mark.slow

SCRIPT = """
import hashlib, json
from cassis_lite.linedb import LineDatabase
from cassis_lite.readers import read_spectrum
from cassis_lite.vo import atomis, exports, slap
from cassis_lite.vo.obscore import ObscoreRows

def h(b):
    return hashlib.sha256(b).hexdigest()

db = LineDatabase(DB)
t = db.transitions(80000.0, 300000.0)
out = {"n": len(t)}
for ser in ("tabledata", "binary2"):
    out["lines_" + ser] = h(exports.lines_votable(t, ser))
out["lines_fits"] = h(exports.lines_fits(t))
out["spectrum_vot"] = h(exports.spectrum_votable(read_spectrum(SAMPLE), "binary2"))
answer = slap.answer(slap.parse_query_string("REQUEST=queryData&WAVELENGTH=1e-3/4e-3&CHEMICAL_ELEMENT=HCO+,CO"),
                     lambda name: db)
out["slap_lines"] = slap.read_answer(answer).transitions.freq_mhz.tolist()
out["slap_url"] = slap.query_url("http://127.0.0.1:8000/slap", 86000, 90000, species=["HCO+"], eup_max_k=50)
fs = ("[112.35..114.23GHz,1952.95kHz,8mJy/beam@10km/s,360.2uJy/beam@native, XX YY] U "
      "[114.95..115.19GHz,122.06kHz,8.2mJy/beam@10km/s,1mJy/beam@native, XX YY]")
rows = ObscoreRows({"s_ra": [204.247], "s_dec": [-29.8689], "s_fov": [0.165], "frequency_support": [fs]})
co = db.transitions(115271.0, 115272.0, species=["CO"])
src = atomis.Source.parse("M83", "13:37:00.919", "-29:51:56.74", "513")
out["adql"] = atomis.obscore_adql(co, [src])
out["matches"] = [[c.window, c.observed_freq_mhz, c.velocity_resolution_kms]
                  for m in atomis.match_observations(rows, co, [src]) for c in m.lines]
json.dumps(out)
"""


def test_vo_core_in_pyodide_equals_cpython(built_site, line_db):
    from cassis_lite.linedb import default_database_path

    db = default_database_path()
    script = (f"DB = '/home/pyodide/cassis_lite/data/{db.name}'\n"
              "SAMPLE = '/home/pyodide/samples/I16293_Synthetic_CO.lis'\n" + SCRIPT)
    proc = run_in_pyodide(script, packages=("numpy", "sqlite3"), trees=[(SAMPLES, "/home/pyodide/samples")])
    assert proc.returncode == 0, proc.stderr[-3000:]
    wasm = json.loads(result_of(proc))
    ns = {"DB": str(db), "SAMPLE": str(SAMPLES / "I16293_Synthetic_CO.lis"), "hashlib": hashlib}
    exec(SCRIPT.rsplit("\n", 2)[0], ns)  # the same script in CPython
    cpython = ns["out"]
    assert wasm["n"] == cpython["n"] > 100
    assert wasm == json.loads(json.dumps(cpython))
