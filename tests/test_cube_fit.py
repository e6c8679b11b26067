"""LTE fit maps of a cube: the batched model and noise equal the one-spectrum ones, the batched fit
equals LteModel.fit per pixel, and a synthetic cube's known parameter maps are recovered within
their errors."""

import numpy as np
import pytest

from cassis_lite.analysis.features import robust_rms
from cassis_lite.cube import Cube, CubeFitter, fit_cube
from cassis_lite.cube.noise import fit_sigma_rows, robust_rms_rows
from cassis_lite.errors import ConfigError
from cassis_lite.fitting import LteModel
from cassis_lite.fitting.lte_fit import fit_sigma
from cassis_lite.lte import ModelConfig, PreparedModel
from cube_data import CH3CN_FIT, REGION5_FIT, RMS_K, region5_cube, synthetic_ch3cn_cube

NAMES = {"c1_tex": "TEX", "c1_fwhm": "FWHM", "c1_vlsr": "VLSR", "c1_ntot_CH3CN": "NTOT_CH3CN", "c1_ntot_HCN": "NTOT_HCN"}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory, line_db):
    path = tmp_path_factory.mktemp("cube") / "ch3cn.fits"
    truth = synthetic_ch3cn_cube(path, line_db)
    cube = Cube.open(path)
    return cube, truth, fit_cube(cube, CH3CN_FIT, line_db, snr=5)


def test_noise_rows_equal_the_one_spectrum_functions():
    rng = np.random.default_rng(4)
    f = np.concatenate([np.linspace(1000.0, 1010.0, 200), np.linspace(1020.0, 1030.0, 150)])  # two windows
    y = rng.normal(0.0, 0.2, (12, f.size)) + np.where(np.arange(f.size) % 50 < 3, 2.0, 0.0)
    y[3, 10:40] = np.nan
    y[5] *= 3.0
    for row, value in zip(y, robust_rms_rows(y)):
        assert value == robust_rms(row)
    for options in ({}, {"rms_k": 0.15, "calibration_percent": 10},
                    {"calibration_percent": 5, "rms_cal": [{"fmin_mhz": 1000.0, "fmax_mhz": 1005.0, "rms_k": 0.3}]}):
        sigma, _ = fit_sigma_rows(f, y, options)
        for i in range(y.shape[0]):
            np.testing.assert_array_equal(sigma[i], fit_sigma(f, y[i], options))


def _configs():
    ch3cn = ModelConfig.from_dict({"telescope": None, "components": [{
        "name": "c1", "tex_k": 100.0, "fwhm_kms": 3.0, "vlsr_kms": 0.0,
        "species": [{"species": "CH3CN", "ntot_cm2": 1e15}]}]})
    two = ModelConfig.from_dict({
        "telescope": {"diameter_m": 30.0}, "unit": "TA*", "beam_efficiency": 0.8, "forward_efficiency": 0.95,
        "tc_k": 0.5, "components": [
            {"name": "hot", "tex_k": 150.0, "fwhm_kms": 5.0, "vlsr_kms": 1.0, "size_arcsec": 8.0,
             "species": [{"species": "CH3CN", "ntot_cm2": 5e14}]},
            {"name": "cold", "tex_k": 8.0, "fwhm_kms": 1.0, "vlsr_kms": 2.0, "interacting": True,
             "species": [{"species": "CH3CN", "ntot_cm2": 2e13, "fwhm_kms": 0.8}]}]})
    return ch3cn, two


def test_batched_model_equals_the_prepared_model(line_db):
    from cassis_lite.cube.batched_model import BatchedLteModel

    grid = np.linspace(220560.0, 220770.0, 600)
    rng = np.random.default_rng(8)
    for config in _configs():
        names = [c.name for c in config.components]
        model = BatchedLteModel(config, grid, line_db, {n: (-8.0, 8.0) for n in names}, {n: 12.0 for n in names})
        n = 6
        values, per_pixel = [], []
        for comp in config.components:
            tex = rng.uniform(0.6, 1.4, n) * comp.tex_k
            fwhm = rng.uniform(0.5, 2.0, n) * comp.fwhm_kms
            vlsr = comp.vlsr_kms + rng.uniform(-4, 4, n)
            ntot = [rng.uniform(0.1, 10.0, n) * sp.ntot_cm2 for sp in comp.species]
            values.append({"tex_k": tex, "fwhm_kms": fwhm, "vlsr_kms": vlsr, "size_arcsec": comp.size_arcsec,
                           "ntot_cm2": ntot, "species_fwhm_kms": [sp.fwhm_kms for sp in comp.species]})
            per_pixel.append((tex, fwhm, vlsr, ntot))
        batched, valid = model.evaluate(values, n)
        assert valid.all()
        prepared = PreparedModel(config, grid, line_db, velocity_margin_kms=8.0, fwhm_margin=4.0)
        for p in range(n):
            for comp, (tex, fwhm, vlsr, ntot) in zip(config.components, per_pixel):
                comp.tex_k, comp.fwhm_kms, comp.vlsr_kms = float(tex[p]), float(fwhm[p]), float(vlsr[p])
                for sp, nt in zip(comp.species, ntot):
                    sp.ntot_cm2 = float(nt[p])
            ref = prepared.compute(config).intensity
            # the one-spectrum profile evaluates groups of lines on a common width, so a line's far
            # wing may be kept a little beyond its truncation window: differences < 1e-7 of the peak
            np.testing.assert_allclose(batched[p], ref, rtol=1e-10, atol=1e-7 * np.abs(ref).max())


def test_synthetic_cube_recovers_the_known_maps_within_their_errors(synthetic):
    cube, truth, maps = synthetic
    fitted = np.isfinite(maps.arrays["REDCHI2"])
    # the noise-only corner is below the S/N cut; every other pixel is fitted
    assert not fitted[:2, :2].any() and fitted.sum() == cube.nx * cube.ny - 4
    for name in ("TEX", "NTOT_CH3CN", "FWHM", "VLSR"):
        pull = ((maps.arrays[name] - truth[name]) / maps.arrays[name + "_ERR"])[fitted]
        assert abs(pull.mean()) < 0.35, name
        assert 0.7 < pull.std() < 1.4, name
        assert np.abs(pull).max() < 4.5, name
    assert 0.85 < np.median(maps.arrays["REDCHI2"][fitted]) < 1.15
    assert maps.units["NTOT_CH3CN"] == "cm-2" and maps.units["TEX_ERR"] == "K" and maps.complete


def test_each_pixel_equals_the_one_spectrum_fit(synthetic, line_db):
    cube, _, maps = synthetic
    model = LteModel(CH3CN_FIT, line_db)
    for x, y in [(3, 4), (6, 5), (10, 8)]:  # (6, 5) has NaN channels
        res = model.fit(cube.spectrum_at(x, y))
        for name, p in res.params.items():
            if p.vary:
                assert abs(p.value - maps.arrays[NAMES[name]][y, x]) < 1e-3 * p.stderr, (x, y, name)
                assert maps.arrays[NAMES[name] + "_ERR"][y, x] == pytest.approx(p.stderr, rel=1e-4)
        assert maps.arrays["REDCHI2"][y, x] == pytest.approx(res.redchi, rel=1e-6)


def test_real_cube_brightest_pixels_equal_the_one_spectrum_fit(line_db):
    cube = Cube.open(region5_cube())
    fitter = CubeFitter(cube, REGION5_FIT, line_db, snr=3, block=8)
    box = (14, 22, 20, 28)  # around the emission peak
    res = fitter.fit_block(box)
    model = LteModel(REGION5_FIT, line_db)
    snr = np.nan_to_num(res.maps["NTOT_HCN"] / res.maps["NTOT_HCN_ERR"])
    picks = np.argsort(snr.ravel())[-3:]
    for k in picks:
        j, i = np.unravel_index(k, snr.shape)
        ref = model.fit(cube.spectrum_at(box[2] + i, box[0] + j))
        for name, p in ref.params.items():
            if p.vary:
                assert abs(p.value - res.maps[NAMES[name]][j, i]) < 0.01 * p.stderr, name
                assert res.maps[NAMES[name] + "_ERR"][j, i] == pytest.approx(p.stderr, rel=1e-3)


def test_blocks_in_any_order_give_the_same_maps_and_progress_can_stop(synthetic, line_db):
    cube, _, maps = synthetic
    fitter = CubeFitter(cube, CH3CN_FIT, line_db, snr=5, block=(4, 5))
    assert len(fitter.blocks) == 9
    out = fitter.empty_maps()
    for box in reversed(fitter.blocks):
        out.insert(fitter.fit_block(box))
    assert out.complete
    for name, values in maps.arrays.items():
        # other blocks, other neighbours: the same minimum
        np.testing.assert_allclose(out.arrays[name], values, rtol=1e-6, equal_nan=True)
    seen = []
    partial = fitter.run(progress=lambda done, total, res: seen.append(res.box) or done < 2)
    assert len(seen) == 2 and not partial.complete and partial.blocks_done == 2


def test_signal_to_noise_cut(synthetic, line_db):
    cube, _, maps = synthetic
    # the cut: max(I - continuum) over the fit channels / rms; half the pixels pass at the median
    peak = cube.moments(-30.0, 260.0).peak
    snr = float(np.nanmedian(peak[np.isfinite(maps.arrays["TEX"])]) / RMS_K)
    strict = fit_cube(cube, CH3CN_FIT, line_db, snr=snr)
    n_strict = np.isfinite(strict.arrays["REDCHI2"]).sum()
    assert 0 < n_strict < maps.n_fitted
    kept = np.isfinite(strict.arrays["TEX"])
    np.testing.assert_allclose(strict.arrays["TEX"][kept], maps.arrays["TEX"][kept], rtol=1e-6)


def test_configurations_a_cube_fit_refuses(synthetic, line_db):
    cube, _, _ = synthetic
    radex = {"components": [{"name": "c1", "model": "radex", "tkin_k": 30.0, "density_cm3": {"H2": 1e5},
                             "fwhm_kms": 2.0, "species": [{"species": "CO", "ntot_cm2": {"value": 1e16}}]}]}
    with pytest.raises(ConfigError, match="LTE components only"):
        CubeFitter(cube, radex, line_db)
    fixed = {**CH3CN_FIT, "components": [{**CH3CN_FIT["components"][0], "tex_k": 80.0, "fwhm_kms": 3.0,
                                          "vlsr_kms": 0.0, "species": [{"species": "CH3CN", "ntot_cm2": 1e14}]}]}
    with pytest.raises(ConfigError, match="no free parameter"):
        CubeFitter(cube, fixed, line_db)
    away = {**CH3CN_FIT, "fit": {"windows_mhz": [[100.0, 200.0]]}}
    with pytest.raises(ConfigError, match="no channel of the cube"):
        CubeFitter(cube, away, line_db)
