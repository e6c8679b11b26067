"""Smoothing against astropy.convolution (Box1DKernel, Gaussian1DKernel, convolve with
nan_treatment="interpolate") and a hand-computed Hanning case; resampling against bin-by-bin
overlap integration written out here (specutils' FluxConservingResampler scheme) and the
flux-conservation identity; uncertainties against Monte Carlo; windows never mix; bad input."""

import math

import numpy as np
import pytest
from astropy.convolution import Box1DKernel, Gaussian1DKernel, convolve
from astropy.stats import gaussian_fwhm_to_sigma

from cassis_lite.analysis.smoothing import resample, smooth, smoothing_kernel
from cassis_lite.errors import ProcessingError
from cassis_lite.spectrum import Spectrum


def noisy(n=400, seed=5, blank=(0, 17, 18, 200, 399)):
    rng = np.random.default_rng(seed)
    f = 230000.0 + 0.25 * np.arange(n)
    y = 3.0 * np.exp(-0.5 * ((f - f[n // 2]) / 2.0) ** 2) + rng.normal(0, 0.3, n)
    y[list(blank)] = np.nan
    return Spectrum(f, y, y_unit="K", uncertainty=np.full(n, 0.3))


def astropy_smooth(y, kernel):
    """Normalised convolution: blanked channels and the region beyond the edges interpolated over."""
    return convolve(y, kernel, boundary="fill", fill_value=np.nan, nan_treatment="interpolate",
                    normalize_kernel=True, preserve_nan=True)


@pytest.mark.parametrize("width", range(1, 10))
def test_boxcar_matches_astropy(width):
    sp = noisy()
    out = smooth(sp, "boxcar", width)
    ref = astropy_smooth(sp.intensity, Box1DKernel(width))
    np.testing.assert_array_equal(np.isnan(out.intensity), np.isnan(sp.intensity))
    assert np.nanmax(np.abs(out.intensity - ref)) < 1e-12


@pytest.mark.parametrize("fwhm", [0.7, 1.5, 3.0, 7.3, 20.0])
def test_gaussian_matches_astropy(fwhm):
    sp = noisy()
    out = smooth(sp, "gaussian", fwhm)
    sigma = fwhm * gaussian_fwhm_to_sigma
    kernel = Gaussian1DKernel(sigma, x_size=2 * math.ceil(4 * sigma) + 1, mode="center")
    ref = astropy_smooth(sp.intensity, kernel)
    assert np.nanmax(np.abs(out.intensity - ref)) < 1e-12
    np.testing.assert_array_equal(np.isnan(out.intensity), np.isnan(sp.intensity))


def test_hanning_by_hand():
    """CLASS's [1/4, 1/2, 1/4]; a blanked channel and the edges renormalise the kernel."""
    y = np.array([1.0, 2.0, 4.0, np.nan, 8.0, 0.0, 2.0])
    sp = Spectrum(100.0 + np.arange(7), y, y_unit="K")
    expected = [(0.5 * 1 + 0.25 * 2) / 0.75, 0.25 * 1 + 0.5 * 2 + 0.25 * 4, (0.25 * 2 + 0.5 * 4) / 0.75, np.nan,
                (0.5 * 8 + 0.25 * 0) / 0.75, 0.25 * 8 + 0.5 * 0 + 0.25 * 2, (0.25 * 0 + 0.5 * 2) / 0.75]
    out = smooth(sp, "hanning", 3)
    np.testing.assert_allclose(out.intensity, expected, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(smoothing_kernel("hanning", 3), [0.25, 0.5, 0.25])


@pytest.mark.parametrize("width", [5, 7, 11])
def test_wider_hanning_is_the_hann_window(width):
    """Width N: the N non-zero taps of numpy's Hann window of N + 2 points."""
    sp = noisy()
    ref = astropy_smooth(sp.intensity, np.hanning(width + 2)[1:-1])
    assert np.nanmax(np.abs(smooth(sp, "hanning", width).intensity - ref)) < 1e-12


def test_windows_never_mix():
    f1, f2 = 100000.0 + 0.1 * np.arange(50), 100100.0 + 0.1 * np.arange(50)
    sp = Spectrum(np.concatenate((f1, f2)), np.concatenate((np.zeros(50), np.full(50, 10.0))), y_unit="K")
    assert len(sp.windows()) == 2
    for kind, width in (("boxcar", 7), ("hanning", 5), ("gaussian", 6.0)):
        out = smooth(sp, kind, width)
        np.testing.assert_array_equal(out.intensity[:50], 0.0)
        np.testing.assert_allclose(out.intensity[50:], 10.0, rtol=1e-14)
        step = out.meta["processing"][-1]
        assert step["step"] == "smooth" and step["kind"] == kind and step["width"] == width
        assert "processing" not in sp.meta


def test_blanked_channel_stays_blank_and_neighbours_do_not():
    sp = noisy(blank=(100,))
    out = smooth(sp, "gaussian", 5.0)
    assert np.isnan(out.intensity[100]) and np.all(np.isfinite(np.delete(out.intensity, 100)))
    assert np.isnan(out.uncertainty[100]) and np.all(np.isfinite(np.delete(out.uncertainty, 100)))


@pytest.mark.parametrize("kind, width", [("boxcar", 4), ("hanning", 3), ("gaussian", 4.5)])
def test_uncertainty_matches_monte_carlo(kind, width):
    """The propagated sigma equals the scatter of smoothed noise (uneven sigma, blanks, edges)."""
    n, trials = 60, 3000
    rng = np.random.default_rng(7)
    f = 1000.0 + np.arange(n)
    sigma = 0.5 + np.linspace(0, 1, n) ** 2
    y = np.zeros(n)
    y[30] = np.nan
    sp = Spectrum(f, y, y_unit="K", uncertainty=sigma.copy())
    propagated = smooth(sp, kind, width).uncertainty
    np.testing.assert_array_equal(sp.uncertainty, sigma)  # the input is left as it was
    draws = np.array([smooth(Spectrum(f, np.where(np.isnan(y), np.nan, rng.normal(0, sigma)), y_unit="K"),
                             kind, width).intensity for _ in range(trials)])
    ratio = np.delete(np.std(draws, axis=0) / propagated, 30)
    assert abs(np.mean(ratio) - 1) < 0.01, np.mean(ratio)
    assert np.max(np.abs(ratio - 1)) < 0.08, (ratio.min(), ratio.max())


@pytest.mark.parametrize("kind, width, message", [
    ("median", 3, "unknown smoothing"), ("boxcar", 0, "at least 1"), ("boxcar", 2.5, "whole number"),
    ("boxcar", True, "whole number"), ("hanning", 4, "odd"), ("hanning", 1, "at least 3"),
    ("gaussian", 0.0, "> 0"), ("gaussian", -2, "> 0"), ("gaussian", "wide", "number"),
    ("gaussian", float("nan"), "> 0"),
])
def test_smoothing_bad_input(kind, width, message):
    with pytest.raises(ProcessingError, match=message):
        smooth(noisy(), kind, width)


# --------------------------------------------------------------------------- resampling

def reference_rebin(f_in, y_in, s_in, step, n_out):
    """Bin-by-bin overlap integration: input edges halfway between centres (ends extrapolated),
    output bins [e_0 + j step, e_0 + (j + 1) step]; NaN inputs skipped; sigma by linear propagation."""
    e = np.concatenate(([f_in[0] - 0.5 * (f_in[1] - f_in[0])], 0.5 * (f_in[1:] + f_in[:-1]),
                        [f_in[-1] + 0.5 * (f_in[-1] - f_in[-2])]))
    out, err = [], []
    for j in range(n_out):
        lo, hi = e[0] + j * step, e[0] + (j + 1) * step
        num = den = var = 0.0
        for i in range(f_in.size):
            o = min(hi, e[i + 1]) - max(lo, e[i])
            if o > 0 and np.isfinite(y_in[i]):
                num += o * y_in[i]
                den += o
                var += (o * s_in[i]) ** 2
        out.append(num / den if den > 0 else np.nan)
        err.append(math.sqrt(var) / den if den > 0 else np.nan)
    return np.array(out), np.array(err)


@pytest.mark.parametrize("step_mhz", [0.37, 1.0, 2.5, 0.1])
def test_resample_matches_bin_integration(step_mhz):
    rng = np.random.default_rng(2)
    f = 345000.0 + 0.25 * np.arange(120) + rng.uniform(-0.02, 0.02, 120)  # slightly irregular
    y = rng.normal(1.0, 0.5, 120)
    y[[10, 11, 60]] = np.nan
    sig = rng.uniform(0.2, 0.4, 120)
    sp = Spectrum(f, y, y_unit="K", uncertainty=sig)
    out = resample(sp, step_mhz=step_mhz)
    steps = np.diff(out.freq_mhz)
    np.testing.assert_allclose(steps, step_mhz, rtol=1e-9)
    ref, ref_err = reference_rebin(f, y, sig, step_mhz, out.n_channels)
    np.testing.assert_array_equal(np.isnan(out.intensity), np.isnan(ref))
    assert np.nanmax(np.abs(out.intensity - ref)) < 1e-12
    assert np.nanmax(np.abs(out.uncertainty - ref_err)) < 1e-12
    # the output covers whole channels from the lower edge of the input
    assert out.freq_mhz[0] - step_mhz / 2 == pytest.approx(f[0] - (f[1] - f[0]) / 2, abs=1e-9)
    assert out.freq_mhz[-1] + step_mhz / 2 <= f[-1] + (f[-1] - f[-2]) / 2 + 1e-9


def test_flux_is_conserved():
    """sum(I' dnu') over the output = integral of the input over the same span (no blanks); the
    frequencies are binary fractions, so that the identity holds to rounding of the sums."""
    rng = np.random.default_rng(4)
    f = 100000.0 + 0.125 * np.arange(800)
    y = rng.normal(0, 1, 800) + np.exp(-0.5 * ((f - 100050) / 0.7) ** 2)
    sp = Spectrum(f, y, y_unit="K")
    lower = f[0] - 0.0625
    e = np.concatenate(([lower], 0.5 * (f[1:] + f[:-1]), [f[-1] + 0.0625]))
    for step in (0.375, 0.75, 1.125, 10.0):
        out = resample(sp, step_mhz=step)
        upper = lower + out.n_channels * step
        assert upper <= e[-1] < upper + step  # whole output channels only
        o = np.clip(np.minimum(e[1:], upper) - np.maximum(e[:-1], lower), 0, None)
        assert np.sum(out.intensity * step) == pytest.approx(np.sum(o * y), rel=1e-13, abs=1e-12)
    whole = resample(sp, factor=8)
    assert np.sum(whole.intensity * 1.0) == pytest.approx(np.sum(y * 0.125), rel=1e-13, abs=1e-12)


@pytest.mark.parametrize("factor", [1, 2, 3, 7])
def test_factor_is_class_box_average(factor):
    """SMOOTH BOX N of CLASS: the mean of N adjacent channels, the remainder dropped."""
    sp = noisy(n=100, blank=())
    out = resample(sp, factor=factor)
    m = 100 // factor
    np.testing.assert_allclose(out.intensity, sp.intensity[:m * factor].reshape(m, factor).mean(axis=1),
                               rtol=0, atol=1e-13)
    np.testing.assert_allclose(out.freq_mhz, sp.freq_mhz[:m * factor].reshape(m, factor).mean(axis=1), rtol=1e-15)
    np.testing.assert_allclose(out.uncertainty, 0.3 / math.sqrt(factor), rtol=1e-12)
    assert out.meta["processing"][-1] == {"step": "resample", "factor": factor, "n_channels_in": 100,
                                          "n_channels_out": m}


def test_hanning_then_decimate_is_class_smooth_hanning():
    """CLASS SMOOTH HANNING: out[J] = (y[I-1]/2 + y[I] + y[I+1]/2) / 2 on every second channel... here
    the decimation is the mean of 2 channels of the Hann-smoothed spectrum (our resample)."""
    sp = noisy(n=40, blank=())
    y = sp.intensity
    han = smooth(sp, "hanning", 3)
    np.testing.assert_allclose(han.intensity[1:-1], 0.25 * y[:-2] + 0.5 * y[1:-1] + 0.25 * y[2:], rtol=1e-14)
    out = resample(han, factor=2)
    assert out.n_channels == 20
    assert [s["step"] for s in out.meta["processing"]] == ["smooth", "resample"]


def test_resample_uncertainty_matches_monte_carlo():
    rng = np.random.default_rng(9)
    f = 1000.0 + 0.3 * np.arange(40)
    sigma = np.linspace(0.2, 1.0, 40)
    prop = resample(Spectrum(f, np.zeros(40), uncertainty=sigma), step_mhz=0.77).uncertainty
    draws = np.array([resample(Spectrum(f, rng.normal(0, sigma)), step_mhz=0.77).intensity for _ in range(4000)])
    ratio = np.std(draws, axis=0) / prop
    assert abs(np.mean(ratio) - 1) < 0.01 and np.max(np.abs(ratio - 1)) < 0.06


def test_resample_per_window_and_axis_in_file_unit():
    f = np.concatenate((100000.0 + 0.1 * np.arange(100), 100500.0 + 0.05 * np.arange(300)))
    sp = Spectrum.from_axis(f / 1000.0, np.ones(f.size), x_unit="GHz", y_unit="K",
                            meta={"freq_usb_mhz": f + 8000.0, "telescope_note": "kept"})
    assert len(sp.windows()) == 2
    out = resample(sp, step_mhz=1.0)
    assert out.n_channels == 10 + 15 and len(out.windows()) == 2
    np.testing.assert_allclose(out.intensity, 1.0, rtol=1e-14)
    np.testing.assert_allclose(out.x_original, out.freq_mhz / 1000.0, rtol=1e-15)
    assert out.x_unit == "GHz"
    assert "freq_usb_mhz" not in out.meta and out.meta["telescope_note"] == "kept"
    assert out.freq_mhz[9] < 100010.0 < out.freq_mhz[10]


def test_blanked_output_where_no_finite_input():
    y = np.ones(40)
    y[10:20] = np.nan
    out = resample(Spectrum(1000.0 + np.arange(40), y), factor=5)
    np.testing.assert_array_equal(np.isnan(out.intensity), [False, False, True, True, False, False, False, False])


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one of step_mhz and factor"), ({"step_mhz": 1.0, "factor": 2}, "exactly one of"),
    ({"factor": 0}, "at least 1"), ({"factor": 1.5}, "whole number"), ({"step_mhz": -1.0}, "> 0"),
    ({"step_mhz": "x"}, "number"), ({"step_mhz": 1e6}, "narrower than one output channel"),
    ({"factor": 1000}, "narrower than one output channel"),
])
def test_resample_bad_input(kwargs, message):
    with pytest.raises(ProcessingError, match=message):
        resample(noisy(), **kwargs)
