"""Equivalent widths and their errors, apparent optical depth columns (Savage & Sembach 1991),
curves of growth and their fit, continuum normalisation."""

import math

import numpy as np
import pytest

from cassis_lite.errors import OpticalError
from cassis_lite.optical import (
    Component,
    apparent_column_density,
    equivalent_width,
    equivalent_width_ma,
    fit_continuum,
    fit_curve_of_growth,
    system_lines,
    voigt_flux,
)


@pytest.fixture(scope="module")
def civ(line_db):
    wave = np.arange(1545.0, 1553.0, 0.01)
    lines = system_lines([Component(0.0, 15.0, {"C IV": 13.2})], 1540.0, 1560.0, db=line_db)
    return wave, voigt_flux(wave, lines, fwhm_kms=7.0)


def test_equivalent_width_of_a_model_and_its_noise_error(civ, line_db):
    wave, flux = civ
    model = equivalent_width(wave, flux, 1547.5, 1549.0)
    assert model.ew_ma == pytest.approx(equivalent_width_ma("C IV", 1548.2, 13.2, 15.0, db=line_db), rel=2e-4)
    rng = np.random.default_rng(5)
    draws = [equivalent_width(wave, flux + rng.normal(0, 0.02, wave.size), 1547.5, 1549.0,
                              uncertainty=np.full(wave.size, 0.02)) for _ in range(400)]
    scatter = np.std([d.ew_ma for d in draws])
    assert draws[0].ew_err_ma == pytest.approx(scatter, rel=0.1)  # 400 draws: 3.5 % on a std
    assert equivalent_width(wave * 2, flux, 3095.0, 3098.0, redshift=1.0).ew_ma == pytest.approx(model.ew_ma, rel=1e-3)


def test_apparent_optical_depth_recovers_an_unsaturated_column(civ, line_db):
    wave, flux = civ
    aod = apparent_column_density(wave, flux, "C IV", 1548.2, -80, 80, uncertainty=np.full(wave.size, 0.01),
                                  db=line_db)
    assert aod.logn_cm2 == pytest.approx(13.2, abs=0.01)  # tau0 ~ 0.5: AOD is exact to ~1 % there
    assert not aod.saturated and aod.logn_err == pytest.approx(0.01 * 3.768e14 / (0.1899 * 1548.204) * math.sqrt(
        np.sum(np.diff(aod.velocity_kms).mean() ** 2 / flux[np.abs(wave - 1548.2) < 0.42] ** 2)) / (aod.n_cm2 * math.log(10)),
        rel=0.05)
    strong = voigt_flux(wave, system_lines([Component(0.0, 5.0, {"C IV": 15.5})], 1540.0, 1560.0, db=line_db))
    sat = apparent_column_density(wave, strong, "C IV", 1548.2, -60, 60, uncertainty=np.full(wave.size, 0.01),
                                  db=line_db)
    assert sat.saturated and sat.logn_cm2 < 15.5


def test_curve_of_growth_fit_recovers_n_and_b(line_db):
    wrest = [2344.2, 2374.46, 2382.77, 2586.65, 2600.17]
    true = [equivalent_width_ma("Fe II", w, 14.3, 7.5, db=line_db) for w in wrest]
    err = [0.02 * t for t in true]
    res = fit_curve_of_growth("Fe II", wrest, true, err, db=line_db)
    assert res.logn_cm2 == pytest.approx(14.3, abs=1e-4) and res.b_kms == pytest.approx(7.5, abs=1e-3)
    assert res.fit.params["logn_cm2"].stderr > 0 and res.fit.params["b_kms"].stderr > 0
    assert np.allclose(res.model_ew_ma, true, rtol=1e-5)
    assert np.all(np.diff(res.curve_y) > 0) and res.x.size == 5
    with pytest.raises(OpticalError, match="at least 2 lines"):
        fit_curve_of_growth("Fe II", [2382.77], [100.0], [5.0], db=line_db)


@pytest.mark.parametrize("method", ["polynomial", "spline"])
def test_continuum_with_clipping(method):
    wave = np.linspace(4000.0, 4100.0, 5001)
    cont = 2.0 + 0.01 * (wave - 4050.0) - 3e-5 * (wave - 4050.0) ** 2
    absorb = 1 - 0.7 * np.exp(-0.5 * ((wave - 4030.0) / 0.3) ** 2) - 0.5 * np.exp(-0.5 * ((wave - 4071.0) / 0.5) ** 2)
    rng = np.random.default_rng(1)
    flux = cont * absorb + rng.normal(0, 0.01, wave.size)
    res = fit_continuum(wave, flux, method=method, order=2, knot_spacing_a=25.0)
    assert np.max(np.abs(res.continuum / cont - 1)) < 3e-3
    assert not res.used[np.argmin(np.abs(wave - 4030.0))]
    assert np.allclose(res.normalised, flux / res.continuum)
    regions = fit_continuum(wave, flux, regions_a=[[4000, 4020], [4040, 4065], [4080, 4100]], method=method, order=2,
                            knot_spacing_a=25.0)
    assert np.max(np.abs(regions.continuum / cont - 1)) < 5e-3


def test_bad_measurement_input(civ, line_db):
    wave, flux = civ
    with pytest.raises(OpticalError, match="NaN"):
        equivalent_width(wave, np.where(np.abs(wave - 1548.2) < 0.01, np.nan, flux), 1547.5, 1549.0)
    with pytest.raises(OpticalError, match="no pixel"):
        equivalent_width(wave, flux, 1600.0, 1601.0)
    with pytest.raises(OpticalError, match="unknown method"):
        fit_continuum(wave, flux, method="lowess")
    with pytest.raises(OpticalError, match="knot_spacing_a"):
        fit_continuum(wave, flux, method="spline")
