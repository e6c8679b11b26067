"""Gaussian fit against astropy.modeling (Gaussian1D with TRFLSQFitter and LevMarLSQFitter, the
covariance from fit_info["param_cov"]) and pyspeckit's Gaussian fitter; recovery of known truths
within the errors over many noise realisations; the I16293 CO 5-4 sample; bad input."""

import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from astropy.modeling import fitting, models

from cassis_lite.analysis.gaussfit import fit_gaussians
from cassis_lite.errors import CassisError, ProcessingError
from cassis_lite.fitting.parameters import ParameterError
from cassis_lite.readers import read_spectrum
from cassis_lite.spectrum import Spectrum
from paths import ROOT, SAMPLES

C_KMS = 299792.458
F0 = 230538.0
SIGMA_PER_FWHM = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))  # astropy's stddev = FWHM x this
LIS = SAMPLES / "I16293_Synthetic_CO.lis"


def velocity(f, f0=F0, vfile=0.0):
    return vfile + C_KMS * (1.0 - f / f0)


def synthetic(lines, offset=0.0, slope=0.0, rms=0.1, seed=0, n=1000, step=0.02, vfile=0.0):
    """Gaussian ``lines`` [(amp, centre_kms, fwhm_kms)] + offset + slope x, x in [-1, 1] over the grid."""
    f = F0 - 0.5 * n * step + step * np.arange(n)
    v = velocity(f, F0, vfile)
    y = offset + slope * (f - 0.5 * (f[0] + f[-1])) / (0.5 * (f[-1] - f[0]))
    for a, c, w in lines:
        y = y + a * np.exp(-0.5 * ((v - c) / (w * SIGMA_PER_FWHM)) ** 2)
    y = y + np.random.default_rng(seed).normal(0, rms, n)
    return Spectrum(f, y, y_unit="K", rest_freq_mhz=F0, vlsr_kms=vfile), v


def astropy_fit(fitter, model, v, y, rms):
    """Best-fit model and 1-sigma errors scaled by the reduced chi-square (as lmfit and we do;
    astropy's param_cov with weights is the unscaled (J^T W J)^-1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = fitter(model, v, y, weights=np.full(v.size, 1.0 / rms), maxiter=2000)
    n_free = len(fitted.parameters)
    redchi = np.sum(((y - fitted(v)) / rms) ** 2) / (v.size - n_free)
    cov = fitter.fit_info["param_cov"] * redchi
    return fitted, cov, redchi


def area_and_error(amp, stddev, cov2):
    """Area A sigma sqrt(2 pi) of a Gaussian and its error from the (amp, stddev) covariance."""
    g = np.array([stddev, amp]) * math.sqrt(2 * math.pi)
    return amp * stddev * math.sqrt(2 * math.pi), math.sqrt(g @ cov2 @ g)


@pytest.mark.parametrize("fitter", [fitting.TRFLSQFitter, fitting.LevMarLSQFitter])
def test_one_line_with_offset_matches_astropy(fitter):
    sp, v = synthetic([(1.5, 2.0, 3.0)], offset=0.05, seed=1)
    r = fit_gaussians(sp, sp.freq_mhz[0], sp.freq_mhz[-1], n=1, rms=0.1)
    fit = fitter(calc_uncertainties=True)
    ref, cov, redchi = astropy_fit(fit, models.Gaussian1D(1.0, 0.0, 1.0) + models.Const1D(0.0), v, sp.intensity, 0.1)
    amp, mean, stddev, _ = ref.parameters
    err = np.sqrt(np.diag(cov))
    g, p = r.gaussians[0], r.params
    ours = [g.amplitude, g.centre_kms, g.fwhm_kms * SIGMA_PER_FWHM, p["base_0"].value]
    ours_err = [g.amplitude_err, g.centre_err_kms, g.fwhm_err_kms * SIGMA_PER_FWHM, p["base_0"].stderr]
    assert np.max(np.abs((np.array(ours) - ref.parameters) / err)) < 1e-4
    np.testing.assert_allclose(ours_err, err, rtol=1e-4)
    assert r.redchi == pytest.approx(redchi, rel=1e-8)
    area, area_err = area_and_error(amp, stddev, cov[np.ix_([0, 2], [0, 2])])
    assert g.area == pytest.approx(area, rel=1e-5) and g.area_err == pytest.approx(area_err, rel=1e-4)
    assert g.centre_mhz == pytest.approx(F0 * (1 - mean / C_KMS), abs=1e-4 * err[1] * F0 / C_KMS + 1e-9)
    assert g.centre_err_mhz == pytest.approx(err[1] * F0 / C_KMS, rel=1e-4)


def test_two_blended_lines_and_linear_baseline_match_astropy():
    truth = [(1.2, -1.5, 2.5), (0.7, 1.6, 2.0)]
    sp, v = synthetic(truth, offset=0.1, slope=0.05, seed=2)
    r = fit_gaussians(sp, sp.freq_mhz[0], sp.freq_mhz[-1], n=2, rms=0.1, baseline_degree=1,
                      initial=[(1.0, -1.0, 2.0), (0.5, 2.0, 2.0)])
    model = (models.Gaussian1D(1.0, -1.0, 2.0 * SIGMA_PER_FWHM) + models.Gaussian1D(0.5, 2.0, 2.0 * SIGMA_PER_FWHM)
             + models.Polynomial1D(1))
    ref, cov, redchi = astropy_fit(fitting.TRFLSQFitter(calc_uncertainties=True), model, v, sp.intensity, 0.1)
    err = np.sqrt(np.diag(cov))
    ours, ours_err = [], []
    for g in r.gaussians:
        ours += [g.amplitude, g.centre_kms, g.fwhm_kms * SIGMA_PER_FWHM]
        ours_err += [g.amplitude_err, g.centre_err_kms, g.fwhm_err_kms * SIGMA_PER_FWHM]
    assert np.max(np.abs((np.array(ours) - ref.parameters[:6]) / err[:6])) < 1e-4
    np.testing.assert_allclose(ours_err, err[:6], rtol=1e-4)
    assert r.redchi == pytest.approx(redchi, rel=1e-8)
    np.testing.assert_allclose(r.model(sp.freq_mhz), ref(v), rtol=0, atol=1e-5 * 0.1)
    np.testing.assert_allclose(r.baseline(sp.freq_mhz), ref[2](v), rtol=0, atol=1e-5 * 0.1)
    np.testing.assert_allclose(r.components(sp.freq_mhz), [ref[0](v), ref[1](v)], rtol=0, atol=1e-5 * 0.1)


def test_matches_pyspeckit_without_baseline():
    import pyspeckit

    sp, v = synthetic([(1.5, 2.0, 3.0)], seed=3)
    r = fit_gaussians(sp, sp.freq_mhz[0], sp.freq_mhz[-1], n=1, rms=0.1, baseline_degree=None)
    order = np.argsort(v)
    axis = pyspeckit.units.SpectroscopicAxis(v[order], unit="km/s")
    psp = pyspeckit.Spectrum(xarr=axis, data=sp.intensity[order], error=np.full(v.size, 0.1))
    psp.specfit(fittype="gaussian", guesses=[1.0, 1.0, 1.0], quiet=True)
    redchi = psp.specfit.chi2 / (v.size - 3)
    vals = np.array([p.value for p in psp.specfit.parinfo])
    errs = np.array([p.error for p in psp.specfit.parinfo]) * math.sqrt(redchi)  # mpfit's are unscaled
    g = r.gaussians[0]
    ours = np.array([g.amplitude, g.centre_kms, g.fwhm_kms * SIGMA_PER_FWHM])
    assert np.max(np.abs((ours - vals) / errs)) < 1e-4
    np.testing.assert_allclose([g.amplitude_err, g.centre_err_kms, g.fwhm_err_kms * SIGMA_PER_FWHM], errs, rtol=1e-4)
    assert r.redchi == pytest.approx(redchi, rel=1e-6)


def test_recovers_truth_within_errors_over_realisations():
    """150 noisy realisations: each parameter (and the area) within its 1-sigma error in ~68 % of
    the trials, pulls of unit width, reduced chi-square near 1; starting values from the data."""
    truth = {"amp": 0.8, "centre": 1.0, "fwhm": 2.0}
    area_true = 0.8 * 2.0 * math.sqrt(math.pi / (4 * math.log(2)))
    hits, total, pulls, redchi = 0, 0, [], []
    for seed in range(150):
        sp, _ = synthetic([(0.8, 1.0, 2.0)], offset=0.2, rms=0.15, seed=100 + seed, n=300, step=0.05)
        r = fit_gaussians(sp, sp.freq_mhz[0], sp.freq_mhz[-1], n=1, rms=0.15)
        g = r.gaussians[0]
        for value, err, true in ((g.amplitude, g.amplitude_err, truth["amp"]),
                                 (g.centre_kms, g.centre_err_kms, truth["centre"]),
                                 (g.fwhm_kms, g.fwhm_err_kms, truth["fwhm"]), (g.area, g.area_err, area_true),
                                 (r.params["base_0"].value, r.params["base_0"].stderr, 0.2)):
            hits += abs(value - true) <= err
            total += 1
            pulls.append((value - true) / err)
        redchi.append(r.redchi)
    assert abs(hits / total - 0.683) < 0.05, hits / total
    assert abs(np.std(pulls) - 1.0) < 0.08 and abs(np.mean(pulls)) < 0.1
    assert abs(np.mean(redchi) - 1.0) < 0.02


def test_co54_sample_matches_astropy():
    """I16293 synthetic CO 5-4 (576267.93 MHz): default rms (robust rms of the window), the
    window's rest frequency and the file's v_lsr 3.8 km/s."""
    sp = read_spectrum(LIS)
    lo, hi = 576240.0, 576296.0
    r = fit_gaussians(sp, lo, hi, n=1)
    assert r.rest_freq_source == "window" and r.rest_freq_mhz == pytest.approx(576267.9305, abs=2e-3)
    assert r.rms_source == "window robust rms" and 0.1 < r.rms < 0.25
    sel = (sp.freq_mhz >= lo) & (sp.freq_mhz <= hi)
    v = velocity(sp.freq_mhz[sel], r.rest_freq_mhz, 3.8)
    ref, cov, _ = astropy_fit(fitting.TRFLSQFitter(calc_uncertainties=True),
                              models.Gaussian1D(3.0, 4.0, 2.0) + models.Const1D(0.0), v,
                              sp.intensity[sel], r.rms)
    err = np.sqrt(np.diag(cov))
    g = r.gaussians[0]
    ours = [g.amplitude, g.centre_kms, g.fwhm_kms * SIGMA_PER_FWHM, r.params["base_0"].value]
    assert np.max(np.abs((np.array(ours) - ref.parameters) / err)) < 1e-4
    np.testing.assert_allclose([g.amplitude_err, g.centre_err_kms, g.fwhm_err_kms * SIGMA_PER_FWHM,
                                r.params["base_0"].stderr], err, rtol=1e-4)
    assert 3.5 < g.centre_kms < 4.2 and 3.0 < g.amplitude < 4.0
    assert abs(g.centre_mhz - 576267.93) < 0.5
    report = r.report()
    assert "amp_1 = " in report and "fwhm_1 = " in report and "reduced chi-square" in report and "MHz" in report
    d = json.loads(json.dumps(r.to_dict()))
    assert d["gaussians"][0]["fwhm_kms"] == g.fwhm_kms and d["rest_freq_source"] == "window"


def test_automatic_start_finds_emission_and_absorption():
    sp, _ = synthetic([(1.0, -6.0, 2.0), (-0.6, 5.0, 3.0)], offset=0.3, rms=0.05, seed=5)
    r = fit_gaussians(sp, sp.freq_mhz[0], sp.freq_mhz[-1], n=2)
    (a, b) = r.gaussians
    assert a.centre_kms == pytest.approx(-6.0, abs=5 * a.centre_err_kms)
    assert b.amplitude == pytest.approx(-0.6, abs=5 * b.amplitude_err)
    assert b.fwhm_kms == pytest.approx(3.0, abs=5 * b.fwhm_err_kms)
    assert r.params["base_0"].value == pytest.approx(0.3, abs=5 * r.params["base_0"].stderr)
    assert r.success


def test_fixed_parameter_from_previous_result():
    sp, _ = synthetic([(1.5, 2.0, 3.0)], seed=6)
    first = fit_gaussians(sp, sp.freq_mhz[0], sp.freq_mhz[-1], rms=0.1)
    params = first.params.copy()
    params["fwhm_1"].value, params["fwhm_1"].vary = 3.0, False
    r = fit_gaussians(sp, sp.freq_mhz[0], sp.freq_mhz[-1], rms=0.1, initial=params)
    g = r.gaussians[0]
    assert g.fwhm_kms == 3.0 and g.fwhm_err_kms == 0.0 and r.n_free == 3
    assert g.area_err == pytest.approx(3.0 * math.sqrt(math.pi / (4 * math.log(2))) * g.amplitude_err, rel=1e-12)
    assert "fwhm_1 = 3 (fixed)" in r.report()


def test_core_modules_do_not_import_scipy():
    """SciPy is loaded lazily in the browser: importing the tools must not pull it in."""
    code = ("import sys\nimport cassis_lite.analysis.gaussfit, cassis_lite.analysis.smoothing, "
            "cassis_lite.analysis.statistics, cassis_lite.analysis.baseline\n"
            "assert 'scipy' not in sys.modules, sorted(m for m in sys.modules if m.startswith('scipy'))[:3]")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-1000:]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"n": 0}, ProcessingError, "integer >= 1"),
    ({"n": 1.5}, ProcessingError, "integer >= 1"),
    ({"fmin_mhz": 1e5, "fmax_mhz": 1.1e5}, ProcessingError, "holds no channel"),
    ({"fmin_mhz": F0, "fmax_mhz": F0 + 0.07}, ProcessingError, "4 finite channels for 4 free"),
    ({"n": 2, "initial": [(1.0, 0.0, 2.0)]}, ProcessingError, "2 \\(amp, centre_kms, fwhm_kms\\) triples"),
    ({"initial": [(1.0, float("nan"), 2.0)]}, ProcessingError, "finite"),
    ({"initial": "abc"}, ProcessingError, "triples"),
    ({"initial": [(1.0, 500.0, 2.0)]}, ParameterError, "centre_1: start value 500"),
    ({"initial": [(1.0, 0.0, -2.0)]}, ParameterError, "fwhm_1: start value -2"),
    ({"baseline_degree": 10}, ProcessingError, "from 0 to 9"),
    ({"rms": -1.0}, ProcessingError, "> 0"),
    ({"rest_freq_mhz": 0.0}, ProcessingError, "> 0"),
])
def test_bad_input(kwargs, error, message):
    sp, _ = synthetic([(1.0, 0.0, 2.0)])
    args = {"fmin_mhz": sp.freq_mhz[0], "fmax_mhz": sp.freq_mhz[-1], **kwargs}
    with pytest.raises(error, match=message) as exc:
        fit_gaussians(sp, **args)
    assert isinstance(exc.value, CassisError)


def test_initial_parameters_with_other_names():
    sp, _ = synthetic([(1.0, 0.0, 2.0)])
    r = fit_gaussians(sp, sp.freq_mhz[0], sp.freq_mhz[-1])
    with pytest.raises(ProcessingError, match="amp_1, centre_1, fwhm_1, amp_2"):
        fit_gaussians(sp, sp.freq_mhz[0], sp.freq_mhz[-1], n=2, initial=r.params)
