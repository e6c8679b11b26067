"""The quick-look tools in Pyodide (WebAssembly, as in the browser) give the CPython numbers.

Runs the built site's Pyodide 0.27.7 under Node with the site's own wheels: smoothing,
resampling, baseline and range statistics of the I16293 sample with NumPy alone (they must not
need SciPy, which the browser loads lazily), then a Gaussian fit of CO 5-4 with NumPy and SciPy,
and compares with the same calls in CPython: the tools within 1e-12 of the largest magnitude of
each result (most are bitwise equal, the rest differ in the last bit), the fitted values within
1e-7 of their 1-sigma errors and the errors within 1e-7 of themselves (measured ~1e-8 and ~1e-10:
the fit's finite-difference Jacobian sets that floor), and the fit's report text identical.
"""

import json

import numpy as np
import pytest

from paths import SAMPLES
from pyodide_node import result_of, run_in_pyodide

pytestmark = pytest.mark.slow

TOOLS = """
import json, sys
import numpy as np
from cassis_lite.readers import read_spectrum
from cassis_lite.analysis.baseline import fit_baseline, subtract_baseline
from cassis_lite.analysis.smoothing import resample, smooth
from cassis_lite.analysis.statistics import range_statistics

sp = read_spectrum(SAMPLE)
out = {}
for kind, width in (("boxcar", 4), ("hanning", 3), ("gaussian", 5.5)):
    out[kind] = smooth(sp, kind, width).intensity.tolist()
r = resample(sp, step_mhz=0.73)
out["resample_freq"], out["resample_step"] = r.freq_mhz.tolist(), r.intensity.tolist()
out["resample_factor"] = resample(sp, factor=3).intensity.tolist()
b = fit_baseline(sp, [(576220.0, 576250.0), (576290.0, 576315.0)], 3)
out["baseline"] = list(b.coefficients) + [b.rms]
out["subtracted"] = subtract_baseline(sp, b).intensity.tolist()
st = range_statistics(sp, 576240.0, 576296.0)
out["statistics"] = {k: v for k, v in st.to_dict().items() if isinstance(v, float)}
out["scipy_loaded"] = "scipy" in sys.modules
json.dumps(out)
"""

GAUSS = """
import json
from cassis_lite.readers import read_spectrum
from cassis_lite.analysis.gaussfit import fit_gaussians

sp = read_spectrum(SAMPLE)
r = fit_gaussians(sp, 576240.0, 576296.0, n=1, baseline_degree=1)
out = {name: [p.value, p.stderr] for name, p in r.params.items()}
out.update(area=[r.gaussians[0].area, r.gaussians[0].area_err], report=r.report())
json.dumps(out)
"""


def max_deviation(a, b) -> float:
    """Largest difference between two JSON results, relative to the largest magnitude of the
    array (or number) it is in: dicts key by key, lists of numbers as one array (NaN == NaN)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        return max((max_deviation(a[k], b[k]) for k in a), default=0.0)
    if isinstance(a, (str, bool)):
        assert a == b
        return 0.0
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert x.shape == y.shape
    np.testing.assert_array_equal(np.isnan(x), np.isnan(y))
    scale = np.nanmax(np.abs(x))
    return float(np.nanmax(np.abs(x - y)) / scale) if scale > 0 else float(np.nanmax(np.abs(y)))


def both(script: str, packages: list[str]) -> tuple[dict, dict]:
    sample = "/home/pyodide/data/I16293_Synthetic_CO.lis"
    proc = run_in_pyodide(f"SAMPLE = {sample!r}\n" + script, packages=packages,
                          trees=[(SAMPLES, "/home/pyodide/data")])
    result = result_of(proc)
    assert proc.returncode == 0 and result, proc.stderr[-2000:]
    ns = {"SAMPLE": str(SAMPLES / "I16293_Synthetic_CO.lis")}
    exec(script.replace("json.dumps(out)", "RESULT = json.dumps(out)"), ns)
    return json.loads(result), json.loads(ns["RESULT"])


def test_tools_without_scipy_equal_cpython(built_site):
    pyo, cpy = both(TOOLS, ["numpy"])
    assert pyo.pop("scipy_loaded") is False
    cpy.pop("scipy_loaded")
    deviation = max_deviation(cpy, pyo)
    print(f"smooth/resample/baseline/statistics: largest relative deviation Pyodide - CPython {deviation:.3g}")
    assert deviation <= 1e-12


def test_gaussian_fit_equals_cpython(built_site):
    pyo, cpy = both(GAUSS, ["numpy", "scipy"])
    assert pyo.pop("report") == cpy.pop("report")  # what the user reads is identical
    # an iterative fit with a finite-difference Jacobian: the rounding of the residuals (1e-16)
    # divided by the difference step (1e-6) moves the solution by ~1e-10 of the parameters, so the
    # values are compared in units of their 1-sigma errors, the errors relative to themselves
    (value, err), (value_p, err_p) = (np.array(list(d.values())).T for d in (cpy, pyo))
    in_sigma = float(np.max(np.abs(value - value_p) / err))
    rel_err = float(np.max(np.abs(err - err_p) / err))
    print(f"fit_gaussians: Pyodide - CPython: values {in_sigma:.3g} sigma, errors {rel_err:.3g} relative")
    assert in_sigma <= 1e-7 and rel_err <= 1e-7
