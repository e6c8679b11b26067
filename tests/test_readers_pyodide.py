"""The readers inside real Pyodide (the site's own Pyodide 0.27.7 + NumPy 2.0.2 wheel, run by
Node) give the same arrays as CPython for every fixture, from bytes as the browser passes them.

Skipped when Node or the built site (``make site``) is missing. Axes computed with 10**x or a
division chain (IRAF log-linear wavelengths) may differ by a few ulp between the two C maths
libraries; everything else must be bit-identical.
"""

import base64
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cassis_lite.readers import read_spectrum

ROOT = Path(__file__).resolve().parents[1]
PYODIDE = ROOT / "site" / "pyodide"
DATA = Path(__file__).parent / "data"

SCRIPT = r"""
const fs = require('fs'), path = require('path');
const { loadPyodide } = require(process.argv[2] + '/pyodide.js');
(async () => {
  const py = await loadPyodide({ indexURL: process.argv[2] + '/' });
  const wheel = fs.readdirSync(process.argv[2]).find(f => /^numpy-.*\.whl$/.test(f));
  await py.loadPackage(process.argv[2] + '/' + wheel, { messageCallback: () => {} });
  const copy = (src, dst) => {
    py.FS.mkdirTree(dst);
    for (const e of fs.readdirSync(src, { withFileTypes: true })) {
      if (e.name === '__pycache__' || e.name.endsWith('.db')) continue;
      const s = path.join(src, e.name), d = dst + '/' + e.name;
      if (e.isDirectory()) copy(s, d); else py.FS.writeFile(d, fs.readFileSync(s));
    }
  };
  copy(process.argv[3], '/home/pyodide/cassis_lite');
  copy(process.argv[4], '/home/pyodide/data');
  const out = py.runPython(`
import sys, os, json, base64, numpy as np
sys.path.insert(0, '/home/pyodide')
from cassis_lite.readers import read_spectrum
res = {'python': sys.version.split()[0], 'numpy': np.__version__, 'files': {}}
for n in sorted(os.listdir('/home/pyodide/data')):
    if n.endswith('.md'):
        continue
    sp = read_spectrum(open('/home/pyodide/data/' + n, 'rb').read(), name=n)
    res['files'][n] = [base64.b64encode(a.tobytes()).decode() for a in (sp.freq_mhz, sp.intensity)]
json.dumps(res)
`);
  process.stdout.write(out);
})().catch(e => { console.error(e); process.exit(1); });
"""


def test_pyodide_reads_like_cpython(tmp_path):
    node = shutil.which("node")
    if node is None or not (PYODIDE / "pyodide.js").exists():
        pytest.skip("needs node and the built site (make site)")
    js = tmp_path / "run.js"
    js.write_text(SCRIPT)
    proc = subprocess.run([node, str(js), str(PYODIDE), str(ROOT / "cassis_lite"), str(DATA)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout)
    assert res["python"].startswith("3.12") and res["numpy"].startswith("2.0")
    assert len(res["files"]) >= 7
    for name, (f64, y64) in res["files"].items():
        sp = read_spectrum(DATA / name)
        freq = np.frombuffer(base64.b64decode(f64))
        intensity = np.frombuffer(base64.b64decode(y64))
        np.testing.assert_array_equal(intensity, sp.intensity, err_msg=name)
        if sp.meta.get("axis_log10"):
            ulps = np.abs(freq - sp.freq_mhz) / np.spacing(sp.freq_mhz)
            assert ulps.max() <= 4, name
        else:
            np.testing.assert_array_equal(freq, sp.freq_mhz, err_msg=name)
