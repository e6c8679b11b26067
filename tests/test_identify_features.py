"""Noise estimate and feature finding (reference: astropy.stats.mad_std; injected Gaussians)."""


import numpy as np
import pytest

from cassis_lite.analysis.features import SpectrumDataError, find_features, gaussian_smooth, robust_rms
from cassis_lite.spectrum import window_slices

C = 299792.458


def gauss(f, f0, peak, fwhm_kms):
    sig = f0 * fwhm_kms / C / 2.3548200450309493
    return peak * np.exp(-0.5 * ((f - f0) / sig) ** 2)


def test_robust_rms_equals_astropy_mad_std_and_ignores_lines():
    from astropy.stats import mad_std
    rng = np.random.default_rng(0)
    y = rng.normal(0.0, 0.2, 50_000)
    assert robust_rms(y, iterations=1) == pytest.approx(mad_std(y), rel=1e-12)
    f = np.linspace(100000, 101000, y.size)
    lines = sum(gauss(f, f0, 5.0, 5.0) for f0 in np.linspace(100050, 100950, 30))
    assert np.std(y + lines) > 0.5  # the plain std is ruined by the lines
    assert robust_rms(y + lines) == pytest.approx(0.2, rel=0.03)


def test_emission_and_absorption_recovered():
    rng = np.random.default_rng(1)
    f = np.arange(200000.0, 200500.0, 0.05)
    truth = [(200100.0, 1.0, 3.0), (200250.0, -0.6, 4.0), (200400.0, 0.4, 2.0)]
    y = sum(gauss(f, *t) for t in truth) + rng.normal(0, 0.05, f.size)
    for smooth in (0.0, 1.5):
        feats = find_features(f, y, rms=0.05, threshold=5.0, smooth_kms=smooth)
        assert len(feats) == 3
        for k, (f0, peak, fwhm) in enumerate(truth):
            assert abs(feats.freq_mhz[k] - f0) / f0 * C < 0.1
            assert feats.peak_k[k] == pytest.approx(peak, rel=0.1)
            assert feats.fwhm_kms[k] == pytest.approx(fwhm, rel=0.12)
            assert feats.area_k_kms[k] == pytest.approx(peak * fwhm * 1.0645, rel=0.15)
        assert list(feats.kind) == ["emission", "absorption", "emission"]


def test_blend_split_by_prominence_but_not_noise_on_top():
    f = np.arange(200000.0, 200100.0, 0.02)
    rng = np.random.default_rng(2)
    # two lines 8 km/s apart (FWHM 3): a clear dip between them
    y = gauss(f, 200040.0, 1.0, 3.0) + gauss(f, 200040.0 * (1 + 8 / C), 0.8, 3.0)
    y = y + rng.normal(0, 0.02, f.size)
    feats = find_features(f, y, rms=0.02, threshold=5.0)
    assert len(feats) == 2
    # one bright line with noise: a single feature despite the many noise maxima on top
    y1 = gauss(f, 200050.0, 3.0, 5.0) + rng.normal(0, 0.02, f.size)
    assert len(find_features(f, y1, rms=0.02, threshold=5.0)) == 1


def test_no_false_features_in_pure_noise_at_5_sigma():
    rng = np.random.default_rng(3)
    f = np.arange(100000.0, 100000.0 + 50_000 * 0.1, 0.1)
    y = rng.normal(0, 1.0, f.size)
    assert len(find_features(f, y, threshold=5.5)) == 0


def test_windows_are_not_joined():
    f = np.concatenate([np.arange(1000.0, 1010.0, 0.01), np.arange(2000.0, 2010.0, 0.01)])
    assert [(w.start, w.stop) for w in window_slices(f)] == [(0, 1000), (1000, 2000)]
    y = np.zeros(f.size)
    y[995:1000] = 1.0  # a line at the end of window 1
    y[1000:1003] = 0.0
    feats = find_features(f, y + np.random.default_rng(0).normal(0, 0.01, f.size), rms=0.01, threshold=6)
    assert len(feats) == 1 and feats.fmax_mhz[0] < 1010.0


def test_gaussian_smooth_preserves_area_and_matches_scipy():
    from scipy.ndimage import gaussian_filter1d
    rng = np.random.default_rng(4)
    y = rng.normal(size=3000)
    assert np.allclose(gaussian_smooth(y, 3.2), gaussian_filter1d(y, 3.2, mode="reflect", truncate=4.0),
                       atol=1e-3)


def test_bad_arrays():
    with pytest.raises(SpectrumDataError, match="shape"):
        find_features([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(SpectrumDataError, match="ascending"):
        find_features([3.0, 2.0, 1.0], [1.0, 2.0, 3.0])
    with pytest.raises(SpectrumDataError, match="no finite"):
        robust_rms([np.nan, np.nan])
