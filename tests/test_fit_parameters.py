"""Parameters / least-squares machinery: bounds, ties, uncertainties, formatting.

References: scipy.stats.linregress (independent straight-line fit with standard errors) and the
coverage of the 1-sigma intervals over many noisy realisations (68.3 % for Gaussian noise).
"""

import math

import numpy as np
import pytest
from scipy import stats

from cassis_lite.fitting.parameters import (
    FitError,
    Parameter,
    ParameterError,
    Parameters,
    format_value_error,
    least_squares_fit,
    parameters_from_spec,
)


def gaussian(x, amp, mu, fwhm):
    return amp * np.exp(-4 * math.log(2) * ((x - mu) / fwhm) ** 2)


def test_straight_line_matches_linregress():
    rng = np.random.default_rng(3)
    x = np.linspace(0, 10, 40)
    y = 1.7 - 0.45 * x + rng.normal(0, 0.3, x.size)
    p = Parameters()
    p.add("a", 1.0)
    p.add("b", 0.0)
    r = least_squares_fit(lambda v: y - (v["a"] + v["b"] * x), p)
    ref = stats.linregress(x, y)
    assert r.params["b"].value == pytest.approx(ref.slope, rel=1e-8)
    assert r.params["a"].value == pytest.approx(ref.intercept, rel=1e-8)
    assert r.params["b"].stderr == pytest.approx(ref.stderr, rel=1e-6)
    assert r.params["a"].stderr == pytest.approx(ref.intercept_stderr, rel=1e-6)
    assert r.ndata == 40 and r.nfree == 2
    assert r.correl("a", "b") < 0


def test_one_sigma_coverage_over_200_noisy_gaussians():
    """Reported 1-sigma errors must contain the truth in ~68.3 % of trials (2-sigma: ~95.4 %)."""
    rng = np.random.default_rng(20261125)
    x = np.linspace(-10, 10, 120)
    truth = {"amp": 1.0, "mu": 0.3, "fwhm": 3.0}
    sigma = 0.1
    inside1 = inside2 = total = 0
    for _ in range(200):
        y = gaussian(x, **truth) + rng.normal(0, sigma, x.size)
        p = Parameters()
        p.add("amp", 0.8, min=0)
        p.add("mu", 0.0, min=-5, max=5)
        p.add("fwhm", 2.0, min=0.1, max=20)
        r = least_squares_fit(lambda v: (y - gaussian(x, v["amp"], v["mu"], v["fwhm"])) / sigma, p)
        for name, true in truth.items():
            z = abs(r.params[name].value - true) / r.params[name].stderr
            inside1 += z <= 1
            inside2 += z <= 2
            total += 1
    # 600 samples (correlated by trial): binomial sd ~ 1.9 %; allow ~3 sd
    assert abs(inside1 / total - 0.6827) < 0.06
    assert abs(inside2 / total - 0.9545) < 0.03


def test_fixed_bounded_and_tied_parameters():
    x = np.linspace(-10, 10, 200)
    y = gaussian(x, 2.0, 1.0, 3.0) + gaussian(x, 1.0, 5.0, 3.0)
    p = Parameters()
    p.add("a1", 1.0, min=0)
    p.add("a2", 1.0, vary=False)  # fixed at the true value
    p.add("mu", 0.0, min=-2, max=0.5)  # truth (1.0) outside the bounds
    p.add("w1", 2.0, min=0.5, max=10)
    p.add("w2", 0.0, expr="w1")
    r = least_squares_fit(lambda v: y - gaussian(x, v["a1"], v["mu"], v["w1"])
                          - gaussian(x, v["a2"], 5.0, v["w2"]), p)
    assert r.params["a2"].value == 1.0 and r.params["a2"].stderr is None
    assert r.params["mu"].value == pytest.approx(0.5)
    assert r.params["mu"].at_bound
    assert r.params["w2"].value == r.params["w1"].value
    assert r.nfree == 3
    assert "(at bound)" in r.report()
    assert "a2 = 1 (fixed)" in r.report()
    assert "w2 = " in r.report() and "(= w1)" in r.report()


def test_format_like_cassis():
    assert format_value_error(2.68, 0.0105) == "2.68 +/- 0.01 (0.39%)"
    assert format_value_error(71.875, 0.43) == "71.9 +/- 0.4 (0.60%)"
    s = format_value_error(2.2614e16, 1.2e14)
    assert s.startswith("2.261e+16 +/- 1.2e+14") and s.endswith("(0.53%)")


def test_bad_parameters_raise_clear_errors():
    with pytest.raises(ParameterError, match="outside"):
        Parameter("c1_tex", 500.0, min=10, max=300)
    with pytest.raises(ParameterError, match="min"):
        Parameter("c1_tex", 50.0, min=100, max=30)
    with pytest.raises(ParameterError, match="not a number"):
        parameters_from_spec([("c1_vlsr", "fast", "km/s")])
    with pytest.raises(ParameterError, match="unknown key"):
        parameters_from_spec([("c1_vlsr", {"value": 1, "varies": True}, "km/s")])
    p = Parameters()
    p.add("a", 1.0, vary=False)
    with pytest.raises(FitError, match="no free parameter"):
        least_squares_fit(lambda v: np.zeros(5), p)
    p = Parameters()
    p.add("a", 1.0)
    p.add("b", 1.0, expr="nope")
    with pytest.raises(ParameterError, match="unknown parameter"):
        least_squares_fit(lambda v: np.zeros(5), p)


def test_log_parameter_gives_the_same_answer_and_propagated_error():
    rng = np.random.default_rng(5)
    x = np.linspace(-10, 10, 200)
    y = gaussian(x, 3e-4, 0.5, 3.0) + rng.normal(0, 2e-5, x.size)
    fits = []
    for log in (False, True):
        p = Parameters()
        p.add("amp", 3e-2 if log else 2e-4, min=1e-9, max=1.0, log=log)  # log: start 100x off
        p.add("mu", 0.0, min=-5, max=5)
        p.add("fwhm", 2.0, min=0.1, max=20)
        fits.append(least_squares_fit(lambda v: (y - gaussian(x, v["amp"], v["mu"], v["fwhm"])) / 2e-5, p))
    lin, lg = fits
    assert lg.params["amp"].value == pytest.approx(lin.params["amp"].value, rel=1e-6)
    assert lg.params["amp"].stderr == pytest.approx(lin.params["amp"].stderr, rel=1e-4)
    assert lg.chisqr == pytest.approx(lin.chisqr, rel=1e-9)
    with pytest.raises(ParameterError, match="log"):
        Parameter("n", -1.0, min=-2, max=2, log=True)
