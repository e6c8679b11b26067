"""``cassis-lite baseline | smooth | resample | stats | gaussfit``: the numbers of the library
(which tests/test_tools_*.py check against astropy, specutils' rules and pyspeckit) and of the
app's Tools card (tests/browser/test_browser_session.py), with errors as one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cassis_lite.analysis.baseline import fit_baseline, subtract_baseline
from cassis_lite.analysis.gaussfit import fit_gaussians
from cassis_lite.analysis.smoothing import resample, smooth
from cassis_lite.analysis.statistics import range_statistics
from cassis_lite.cli import main
from cassis_lite.readers import read_spectrum
from paths import SAMPLES

LIS = SAMPLES / "I16293_Synthetic_CO.lis"
REGIONS = [[576220.0, 576250.0], [576285.0, 576315.0]]


@pytest.fixture(scope="module")
def sp():
    return read_spectrum(LIS)


def run_json(capsys, *argv):
    assert main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("argv, expected", [
    (["baseline", str(LIS), "--region", "576220", "576250", "--region", "576285", "576315", "--degree", "1"],
     lambda s: subtract_baseline(s, fit_baseline(s, REGIONS, 1))),
    (["smooth", str(LIS), "--kind", "boxcar", "--width", "5"], lambda s: smooth(s, "boxcar", 5)),
    (["resample", str(LIS), "--factor", "3"], lambda s: resample(s, factor=3)),
])
@pytest.mark.parametrize("suffix", [".csv", ".fits"])
def test_processed_spectrum_is_the_librarys(sp, tmp_path, argv, expected, suffix):
    out = tmp_path / ("out" + suffix)
    assert main([*argv, "-o", str(out)]) == 0
    got, ref = read_spectrum(out), expected(sp)
    np.testing.assert_array_equal(got.freq_mhz, ref.freq_mhz)
    np.testing.assert_array_equal(got.intensity, ref.intensity)
    assert got.vlsr_kms == sp.vlsr_kms


def test_stats_and_gaussfit_are_the_librarys(sp, capsys):
    d = run_json(capsys, "stats", str(LIS), "--fmin", "576250", "--fmax", "576285")
    assert d == json.loads(json.dumps(range_statistics(sp, 576250, 576285).to_dict()))
    d = run_json(capsys, "gaussfit", str(LIS), "--fmin", "576240", "--fmax", "576300", "-n", "1")
    ref = fit_gaussians(sp, 576240, 576300, n=1).to_dict()
    assert d["gaussians"][0]["centre_kms"] == pytest.approx(ref["gaussians"][0]["centre_kms"], rel=1e-12)
    assert d["gaussians"][0]["fwhm_kms"] == pytest.approx(ref["gaussians"][0]["fwhm_kms"], rel=1e-12)
    assert main(["stats", str(LIS), "--fmin", "576250", "--fmax", "576285"]) == 0
    assert "integrated" in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["smooth", "missing.fits"], "missing.fits"),
    (["gaussfit", str(LIS), "--fmin", "576240", "--fmax", "576300", "-n", "0"], "-n must be at least 1"),
    (["stats", str(LIS), "--fmin", "1", "--fmax", "2"], "range"),
    (["baseline", str(LIS), "--region", "1", "2"], "region"),
])
def test_bad_input_is_one_line(capsys, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("cassis-lite: error:") and words in err and "Traceback" not in err, err
