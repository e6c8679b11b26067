"""The cube core in Pyodide (WebAssembly, as in the browser) gives the CPython numbers.

Runs the built site's Pyodide under Node with only NumPy and sqlite3 loaded (a cube fit needs no
SciPy), opens a synthetic CH3CN cube from bytes as the browser does, and compares the moment
maps, a fit map filled block by block, and the sky <-> pixel transforms with CPython's.
"""

import json

import numpy as np
import pytest

from cube_data import CH3CN_FIT, synthetic_ch3cn_cube
from pyodide_node import result_of, run_in_pyodide

pytestmark = pytest.mark.slow

CALLS = """
import json
import numpy as np
from cassis_lite.cube import Cube, CubeFitter, write_maps_fits
from cassis_lite.linedb import LineDatabase

def listed(a):
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(a, dtype=float).ravel()]

with open(CUBE, "rb") as fh:
    cube = Cube.open(fh.read(), name="ch3cn.fits")
db = LineDatabase(DB)
out = {}
m = cube.moments(-8.0, 8.0)
out["moments"] = [listed(a) for a in (m.mom0, m.mom1, m.mom2, m.peak)]
fitter = CubeFitter(cube, CONFIG, db, snr=5, block=3)
maps = fitter.empty_maps()
for box in fitter.blocks:
    maps.insert(fitter.fit_block(box))
out["fit"] = {name: listed(a) for name, a in maps.arrays.items()}
out["fits_bytes"] = len(write_maps_fits(maps, cube.wcs))
x, y = cube.world_to_pixel([266.4170, 266.4160], [-28.9005, -28.8990], frame="galactic")
out["world_to_pixel"] = listed(np.concatenate([x, y]))
lon, lat = cube.pixel_to_world([0.0, 5.5], [0.0, 4.0], frame="galactic")
out["pixel_to_world"] = listed(np.concatenate([lon, lat]))
json.dumps(out)
"""


def close(a, b, rel, atol=0.0):
    a, b = np.array(a, dtype=float), np.array(b, dtype=float)
    return a.shape == b.shape and np.array_equal(np.isnan(a), np.isnan(b)) and \
        np.allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=rel, atol=atol)


def test_pyodide_cube_numbers_equal_cpython(built_site, tmp_path, line_db):
    from cassis_lite.linedb import default_database_path

    synthetic_ch3cn_cube(tmp_path / "ch3cn.fits", line_db, ny=5, nx=6)
    db = default_database_path()
    header = f"CONFIG = json.loads({json.dumps(json.dumps(CH3CN_FIT))})\n"
    proc = run_in_pyodide("import json\n" + f"DB = '/home/pyodide/cassis_lite/data/{db.name}'\n"
                          "CUBE = '/home/pyodide/data/ch3cn.fits'\n" + header + CALLS,
                          packages=["numpy", "sqlite3"], trees=[(tmp_path, "/home/pyodide/data")])
    result = result_of(proc)
    assert proc.returncode == 0 and result, proc.stderr[-3000:]
    pyo = json.loads(result)
    ns = {"DB": str(db), "CUBE": str(tmp_path / "ch3cn.fits"), "CONFIG": CH3CN_FIT}
    exec(CALLS.replace("json.dumps(out)", "RESULT = json.dumps(out)"), ns)
    cpy = json.loads(ns["RESULT"])
    for a, b in zip(cpy["moments"], pyo["moments"]):
        assert close(a, b, 1e-12)
    assert list(cpy["fit"]) == list(pyo["fit"])
    assert np.isfinite(np.array(cpy["fit"]["TEX"], dtype=float)).sum() == 26
    for name in cpy["fit"]:
        assert close(cpy["fit"][name], pyo["fit"][name], 1e-6), name
    assert cpy["fits_bytes"] == pyo["fits_bytes"]
    # the two maths libraries differ in the last bits of sin/atan2: < 1e-12 pixel, < 1e-13 deg
    assert close(cpy["world_to_pixel"], pyo["world_to_pixel"], 0.0, atol=1e-12)
    assert close(cpy["pixel_to_world"], pyo["pixel_to_world"], 0.0, atol=1e-13)
