"""Polynomial baseline: checked against numpy.polynomial.Polynomial.fit and astropy.modeling's
LinearLSQFitter on the same channels; subtraction, history and the errors of bad input."""

import dataclasses
import json
import warnings

import numpy as np
import pytest
from astropy.modeling import fitting, models
from numpy.polynomial import Polynomial

from cassis_lite.analysis.baseline import Baseline, fit_baseline, subtract_baseline
from cassis_lite.errors import CassisError, ProcessingError
from cassis_lite.spectrum import Spectrum

REGIONS = [(100000.0, 100030.0), (100070.0, 100100.0)]


def synthetic(seed=3, n=1001, degree=3):
    """A sloped, curved baseline, a line at 100050 MHz, noise, two blanked channels in a region."""
    rng = np.random.default_rng(seed)
    f = np.linspace(100000.0, 100100.0, n)
    x = (f - 100050.0) / 50.0
    base = np.polynomial.polynomial.polyval(x, [0.4, 0.3, -0.2, 0.15, 0.05, -0.04][:degree + 1])
    y = base + 2.0 * np.exp(-0.5 * ((f - 100050.0) / 3.0) ** 2) + rng.normal(0, 0.05, n)
    y[[20, 900]] = np.nan
    return Spectrum(f, y, y_unit="K", uncertainty=np.full(n, 0.05))


def region_channels(f, y):
    use = np.zeros(f.size, dtype=bool)
    for a, b in REGIONS:
        use |= (f >= a) & (f <= b)
    return use & np.isfinite(y)


@pytest.mark.parametrize("degree", range(10))
def test_matches_numpy_polynomial_fit(degree):
    sp = synthetic(degree=min(degree, 5))
    b = fit_baseline(sp, REGIONS, degree)
    use = region_channels(sp.freq_mhz, sp.intensity)
    ref = Polynomial.fit(sp.freq_mhz[use], sp.intensity[use], degree)
    dev = np.max(np.abs(b.evaluate(sp.freq_mhz) - ref(sp.freq_mhz)))
    assert dev < 1e-10, dev
    resid = sp.intensity[use] - ref(sp.freq_mhz[use])
    assert b.rms == pytest.approx(np.sqrt(np.mean(resid**2)), rel=1e-10)
    assert b.n_channels == use.sum() == 2 * 301 - 2
    assert b.degree == degree and len(b.coefficients) == degree + 1


@pytest.mark.parametrize("degree", [0, 1, 3, 6])
def test_coefficients_match_astropy_linear_lsq(degree):
    """astropy's Polynomial1D with domain = the baseline's span has the same scaled coefficients."""
    sp = synthetic()
    b = fit_baseline(sp, REGIONS, degree)
    use = region_channels(sp.freq_mhz, sp.intensity)
    model = models.Polynomial1D(degree, domain=(b.fmin_mhz, b.fmax_mhz), window=(-1, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = fitting.LinearLSQFitter()(model, sp.freq_mhz[use], sp.intensity[use])
    np.testing.assert_allclose(b.coefficients, fitted.parameters, rtol=0, atol=1e-10)
    assert (b.fmin_mhz, b.fmax_mhz) == (100000.0, 100100.0)
    assert b.f_mid_mhz == 100050.0 and b.half_span_mhz == 50.0


def test_subtract_is_new_spectrum_with_history():
    sp = synthetic()
    b = fit_baseline(sp, REGIONS, 3)
    out = subtract_baseline(sp, b)
    np.testing.assert_array_equal(out.intensity, sp.intensity - b.evaluate(sp.freq_mhz))
    np.testing.assert_array_equal(out.uncertainty, sp.uncertainty)
    assert np.isnan(out.intensity[20])
    assert out.meta["processing"] == [{"step": "baseline", **b.to_dict()}]
    assert "processing" not in sp.meta and sp.intensity is not out.intensity
    again = subtract_baseline(out, fit_baseline(out, REGIONS, 0))
    assert [s["step"] for s in again.meta["processing"]] == ["baseline", "baseline"]
    assert len(out.meta["processing"]) == 1
    # the subtracted spectrum is flat in the regions: a refit gives ~0
    assert np.max(np.abs(fit_baseline(out, REGIONS, 3).coefficients)) < 1e-12


def test_other_windows_untouched_and_window_span():
    """Regions in the second of two windows: only that window is fitted and subtracted."""
    f1 = np.linspace(90000.0, 90010.0, 101)
    f2 = np.linspace(100000.0, 100100.0, 1001)
    y2 = 1.0 + 0.01 * (f2 - 100000.0)
    sp = Spectrum(np.concatenate((f1, f2)), np.concatenate((np.full(101, 5.0), y2)), y_unit="K")
    assert len(sp.windows()) == 2
    b = fit_baseline(sp, [(100000, 100040), (100060, 100100)], 1)
    assert (b.fmin_mhz, b.fmax_mhz) == (100000.0, 100100.0)
    out = subtract_baseline(sp, b)
    np.testing.assert_array_equal(out.intensity[:101], 5.0)
    assert np.max(np.abs(out.intensity[101:])) < 1e-12


def test_json_round_trip_of_the_record():
    b = fit_baseline(synthetic(), [[100070.0, 100100.0], [100030.0, 100000.0]], 2)
    assert b.regions_mhz == ((100070.0, 100100.0), (100000.0, 100030.0))  # each pair sorted
    d = json.loads(json.dumps(b.to_dict()))
    regions = tuple(tuple(r) for r in d.pop("regions_mhz"))
    b2 = Baseline(regions_mhz=regions, **{**d, "coefficients": tuple(d["coefficients"])})
    assert b2 == b
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.degree = 3


@pytest.mark.parametrize("regions, degree, message", [
    ([], 1, "at least one line-free region"),
    (None, 1, "at least one line-free region"),
    ([(99000.0, 99010.0)], 1, "holds no channel"),
    ([(100000.0, 100030.0), (100200.0, 100300.0)], 1, "100200.000000, 100300.000000"),
    ([(100000.0, 100000.2)], 3, "needs at least 4 finite channels"),
    ([(100000.0, 100030.0)], 10, "from 0 to 9"),
    ([(100000.0, 100030.0)], -1, "from 0 to 9"),
    ([(100000.0, 100030.0)], 1.5, "integer"),
    ([(100000.0, 100030.0)], True, "integer"),
    ([(100000.0, 100030.0, 100040.0)], 1, "pairs"),
    ([(100000.0, np.nan)], 1, "finite"),
    ("abc", 1, "pairs"),
])
def test_bad_input_gives_clear_errors(regions, degree, message):
    with pytest.raises(ProcessingError, match=message) as exc:
        fit_baseline(synthetic(), regions, degree)
    assert isinstance(exc.value, CassisError)


def test_only_blanked_channels_count_and_unit_mismatch():
    sp = synthetic()
    y = sp.intensity.copy()
    y[:301] = np.nan
    blank = Spectrum(sp.freq_mhz, y, y_unit="K")
    with pytest.raises(ProcessingError, match="found 0"):
        fit_baseline(blank, [(100000.0, 100030.0)], 0)
    b = fit_baseline(sp, REGIONS, 1)
    with pytest.raises(ProcessingError, match="fitted in 'K'"):
        subtract_baseline(Spectrum(sp.freq_mhz, sp.intensity, y_unit="Jy/beam"), b)
    far = Spectrum(sp.freq_mhz + 1e4, sp.intensity, y_unit="K")
    with pytest.raises(ProcessingError, match="holds no channel"):
        subtract_baseline(far, b)
