"""The sparse Gaussian sum against the dense sum (every line on every channel)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cassis_lite.lte import profile
from cassis_lite.lte.profile import NSIGMA, TAU_FLOOR, gaussian_sum, gaussian_sum_dense


def _rel_err(sparse, dense):
    return np.abs(sparse - dense).max() / np.abs(dense).max()


def forest(rng, n_lines, fmin, fmax, fwhm_kms=(0.5, 10.0)):
    """A crowded forest: clustered centres, widths as for FWHM in km/s, peaks over 6 decades."""
    clusters = rng.uniform(fmin, fmax, max(1, n_lines // 20))
    centre = rng.choice(clusters, n_lines) + rng.normal(0, (fmax - fmin) / 200, n_lines)
    sigma = centre * rng.uniform(*fwhm_kms, n_lines) / 299792.458 / 2.3548
    peak = 10 ** rng.uniform(-4, 2, n_lines)
    return centre, sigma, peak


def test_truncation_costs_less_than_1e6_of_the_dense_sum_on_a_crowded_forest():
    rng = np.random.default_rng(1)
    centre, sigma, peak = forest(rng, 600, 241000.0, 242000.0)
    grid = np.linspace(241000.0, 242000.0, 40000)
    sparse = gaussian_sum(grid, centre, sigma, peak)
    dense = gaussian_sum_dense(grid, centre, sigma, peak)
    assert _rel_err(sparse, dense) < 1e-6
    # one isolated line: the error is the Gaussian's value at NSIGMA, exp(-NSIGMA^2 / 2)
    g1 = np.linspace(-10, 10, 200001)
    one = gaussian_sum(g1, [0.0], [1.0], [1.0], floor=None)
    assert np.abs(one - np.exp(-0.5 * g1**2)).max() == pytest.approx(np.exp(-0.5 * NSIGMA**2), rel=1e-3)


def test_very_thick_lines_are_evaluated_until_their_opacity_is_negligible():
    g1 = np.linspace(-12, 12, 240001)
    for peak in (1e-3, 1.0, 1e4, 1e9):
        one = gaussian_sum(g1, [0.0], [1.0], [peak])
        left_out = np.abs(one - peak * np.exp(-0.5 * g1**2)).max()
        assert left_out <= max(TAU_FLOOR, peak * np.exp(-0.5 * NSIGMA**2))


def test_irregular_grid_and_unsorted_lines():
    rng = np.random.default_rng(2)
    grid = np.sort(rng.uniform(100000.0, 100300.0, 30000))  # irregular spacing, with gaps
    grid = np.delete(grid, np.s_[10000:14000])
    centre, sigma, peak = forest(rng, 300, 99990.0, 100310.0)
    perm = rng.permutation(centre.size)
    sparse = gaussian_sum(grid, centre[perm], sigma[perm], peak[perm])
    dense = gaussian_sum_dense(grid, centre, sigma, peak)
    assert _rel_err(sparse, dense) < 1e-6


def test_many_chunks_give_the_same_sum(monkeypatch):
    rng = np.random.default_rng(3)
    centre, sigma, peak = forest(rng, 400, 300000.0, 300500.0)
    grid = np.linspace(300000.0, 300500.0, 50000)
    one_chunk = gaussian_sum(grid, centre, sigma, peak)
    monkeypatch.setattr(profile, "CHUNK_PAIRS", 4096)
    many = gaussian_sum(grid, centre, sigma, peak)
    dense = gaussian_sum_dense(grid, centre, sigma, peak)
    # blocks pad windows differently (adding true far-wing values), so equal to the truncation
    assert _rel_err(many, dense) < 1e-7 and _rel_err(one_chunk, dense) < 1e-7


def test_lines_outside_the_grid_and_narrower_than_a_channel():
    grid = np.linspace(1000.0, 1001.0, 11)
    out = gaussian_sum(grid, [500.0, 2000.0, 1000.5, 1000.55], [0.1, 0.1, 1e-6, 1e-6], [1.0, 1.0, 3.0, 5.0])
    assert out[5] == pytest.approx(3.0)  # the narrow line on a channel is sampled at its peak
    assert np.count_nonzero(out) == 1  # the one between channels and those off the grid add nothing
    assert gaussian_sum(np.array([]), [1.0], [1.0], [1.0]).size == 0
    assert np.all(gaussian_sum(grid, [], [], []) == 0)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_lines=st.integers(1, 80),
    n_chan=st.integers(1, 3000),
    uniform=st.booleans(),
)
def test_sparse_equals_dense_for_random_forests(seed, n_lines, n_chan, uniform):
    rng = np.random.default_rng(seed)
    grid = np.linspace(1e5, 1.001e5, n_chan) if uniform else np.sort(rng.uniform(1e5, 1.001e5, n_chan))
    centre, sigma, peak = forest(rng, n_lines, 0.9999e5, 1.0011e5, fwhm_kms=(0.05, 30.0))
    sparse = gaussian_sum(grid, centre, sigma, peak)
    dense = gaussian_sum_dense(grid, centre, sigma, peak)
    # rigorous bound: each line omits at most its value at NSIGMA on any channel
    bound = np.exp(-0.5 * NSIGMA**2) * peak.sum()
    assert np.abs(sparse - dense).max() <= bound * (1 + 1e-9)
    assert np.all(sparse <= dense * (1 + 1e-12) + 1e-300)  # truncation only removes
