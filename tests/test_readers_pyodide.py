"""The readers inside real Pyodide (the site's own Pyodide 0.27.7 + NumPy 2.0.2 wheel, run by
Node) give the same arrays as CPython for every fixture, from bytes as the browser passes them.

Needs Node and the built site (``make site``). Axes computed with 10**x or a
division chain (IRAF log-linear wavelengths) may differ by a few ulp between the two C maths
libraries; everything else must be bit-identical.
"""

import base64
import json

import numpy as np

from cassis_lite.readers import read_spectrum
from paths import FIXTURES, SAMPLES
from pyodide_node import result_of, run_in_pyodide

READ_ALL = """
import os, json, base64, numpy as np
from cassis_lite.readers import read_spectrum
res = {'python': sys.version.split()[0], 'numpy': np.__version__, 'files': {}}
for n in sorted(os.listdir('/home/pyodide/data')):
    if n.endswith(('.md', '.json', '.ltm')):  # notes, the samples' index, a model file
        continue
    sp = read_spectrum(open('/home/pyodide/data/' + n, 'rb').read(), name=n)
    res['files'][n] = [base64.b64encode(a.tobytes()).decode() for a in (sp.freq_mhz, sp.intensity)]
json.dumps(res)
"""


def test_pyodide_reads_like_cpython(built_site):
    # NumPy only, and no database: the readers must not need anything else
    proc = run_in_pyodide(READ_ALL, packages=["numpy"], trees=[(FIXTURES, "/home/pyodide/data"), (SAMPLES, "/home/pyodide/data")],
                          skip=("__pycache__", ".db"), timeout=300)
    result = result_of(proc)
    assert proc.returncode == 0 and result, proc.stderr[-2000:]
    res = json.loads(result)
    assert res["python"].startswith("3.12") and res["numpy"].startswith("2.0")
    assert len(res["files"]) >= 7
    for name, (f64, y64) in res["files"].items():
        sp = read_spectrum(FIXTURES / name if (FIXTURES / name).exists() else SAMPLES / name)
        freq = np.frombuffer(base64.b64decode(f64))
        intensity = np.frombuffer(base64.b64decode(y64))
        np.testing.assert_array_equal(intensity, sp.intensity, err_msg=name)
        if sp.meta.get("axis_log10"):
            ulps = np.abs(freq - sp.freq_mhz) / np.spacing(sp.freq_mhz)
            assert ulps.max() <= 4, name
        else:
            np.testing.assert_array_equal(freq, sp.freq_mhz, err_msg=name)
