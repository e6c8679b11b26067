"""compute_spectrum / PreparedModel with the real line database (built by `make db`)."""

import numpy as np
import pytest

from cassis_lite.errors import CassisError, PartitionRangeError, UnknownSpeciesError
from cassis_lite.lte import (
    Layer,
    LineList,
    ModelConfig,
    PreparedModel,
    component_opacity,
    compute_spectrum,
    radiative_transfer,
)
from cassis_lite.lte.beam import dish_beam_arcsec, filling_factor
from cassis_lite.lte.physics import line_centre_mhz, line_centre_opacity, line_sigma_mhz, rj_temperature_k
from cassis_lite.lte.profile import gaussian_sum_dense
from cassis_lite.units import k_per_jy_per_beam as jy_per_beam_to_k


def one(species, ntot, tex=50.0, fwhm=3.0, vlsr=0.0, **extra):
    comp = {"name": "c1", "tex_k": tex, "fwhm_kms": fwhm, "vlsr_kms": vlsr,
            "species": [{"species": species, "ntot_cm2": ntot}]}
    comp.update(extra.pop("component", {}))
    return ModelConfig.from_dict({"components": [comp], **extra})


def by_hand(db, grid, species, ntot, tex, fwhm, vlsr, tcmb=2.73, ff=1.0, dense=False):
    t = db.transitions(grid.min() - 100, grid.max() + 100, species=[species])
    q = float(db.partition_function(species).q(tex))
    if dense:
        tau0 = line_centre_opacity(t.freq_mhz, t.aij, t.eup_k, t.gup, tex, ntot, q, fwhm)
        tau = gaussian_sum_dense(grid, line_centre_mhz(t.freq_mhz, vlsr), line_sigma_mhz(t.freq_mhz, fwhm), tau0)
    else:
        tau = component_opacity(np.sort(grid), LineList.single(t.freq_mhz, t.aij, t.eup_k, t.gup),
                                tex, ntot, q, fwhm, vlsr)
    return radiative_transfer(grid, [Layer(tex, tau, ff)], tcmb), tau


def test_co_spectrum_equals_the_plain_array_layers(line_db):
    grid = np.linspace(100e3, 700e3, 300001)  # six CO lines: most channels reach no line
    res = compute_spectrum(one("CO", 1e17, tex=40.0, vlsr=7.0), grid, line_db, with_tau=True)
    ref, tau = by_hand(line_db, grid, "CO", 1e17, 40.0, 3.0, 7.0)
    np.testing.assert_allclose(res.intensity, ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(res.tau, tau, rtol=1e-12, atol=0)
    assert res.unit == "Tmb" and res.intensity.max() > 10


def test_real_ch3oh_forest_sparse_equals_dense_within_1e6(line_db):
    grid = np.linspace(241000.0, 242000.0, 20000)
    cfg = one("CH3OH", 3e17, tex=150.0, fwhm=4.0, vlsr=3.0)
    res = compute_spectrum(cfg, grid, line_db, with_tau=True)
    ref, tau = by_hand(line_db, grid, "CH3OH", 3e17, 150.0, 4.0, 3.0, dense=True)
    assert tau.max() > 1.0  # optically thick peaks too
    assert np.abs(res.tau - tau).max() / tau.max() < 1e-6
    assert np.abs(res.intensity - ref).max() / np.abs(ref).max() < 1e-6


def test_irregular_unsorted_grid_gives_the_same_numbers_in_the_callers_order(line_db):
    rng = np.random.default_rng(5)
    grid = np.sort(rng.uniform(241500.0, 242000.0, 30000))
    cfg = one("CH3OH", 1e17, tex=100.0)
    sorted_res = compute_spectrum(cfg, grid, line_db, with_tau=True)
    perm = rng.permutation(grid.size)
    shuffled = compute_spectrum(cfg, grid[perm], line_db, with_tau=True)
    np.testing.assert_array_equal(shuffled.freq_mhz, grid[perm])
    np.testing.assert_array_equal(shuffled.intensity, sorted_res.intensity[perm])
    np.testing.assert_array_equal(shuffled.tau, sorted_res.tau[perm])
    ref, _ = by_hand(line_db, grid, "CH3OH", 1e17, 100.0, 3.0, 0.0, dense=True)
    assert np.abs(sorted_res.intensity - ref).max() / np.abs(ref).max() < 1e-6


def test_prepared_model_follows_parameter_changes_and_reselects_lines(line_db):
    grid = np.linspace(230400.0, 230700.0, 6001)  # CO 2-1 at 230538 MHz
    cfg = one("CO", 1e16, tex=30.0, vlsr=0.0)
    prep = PreparedModel(cfg, grid, line_db)
    for tex, ntot, fwhm, vlsr in [(30.0, 1e16, 3.0, 0.0), (80.0, 3e17, 1.0, 20.0), (12.0, 1e15, 6.0, 150.0)]:
        c = cfg.components[0]
        c.tex_k, c.fwhm_kms, c.vlsr_kms, c.species[0].ntot_cm2 = tex, fwhm, vlsr, ntot
        fresh = compute_spectrum(cfg, grid, line_db)
        np.testing.assert_array_equal(prep.compute(cfg).intensity, fresh.intensity)
    # at v_lsr = 150 km/s CO 2-1 sits at 230423 MHz: still in the grid, found by re-selection
    assert grid[np.argmax(fresh.intensity)] == pytest.approx(230538.0 * (1 - 150 / 299792.458), abs=0.1)


def test_two_species_in_one_component_add_their_opacities(line_db):
    grid = np.linspace(86000.0, 90000.0, 40001)  # HCO+ 1-0 (89189) and SiO 2-1 (86847)
    both = ModelConfig.from_dict({"components": [{"name": "c", "tex_k": 25.0, "fwhm_kms": 2.0, "species": [
        {"species": "HCO+", "ntot_cm2": 1e14}, {"species": "SiO", "ntot_cm2": 1e14}]}]})
    res = compute_spectrum(both, grid, line_db, with_tau=True)
    tau1 = compute_spectrum(one("HCO+", 1e14, tex=25.0, fwhm=2.0), grid, line_db, with_tau=True).tau
    tau2 = compute_spectrum(one("SiO", 1e14, tex=25.0, fwhm=2.0), grid, line_db, with_tau=True).tau
    # equal up to the truncation (blocks may pad a line's window further: more far wing, < 1e-9)
    np.testing.assert_allclose(res.tau, tau1 + tau2, rtol=1e-13, atol=1e-9)
    assert res.tau.max() > 0.1
    ref = (rj_temperature_k(grid, 25.0) - rj_temperature_k(grid, 2.73)) * -np.expm1(-(tau1 + tau2))
    np.testing.assert_allclose(res.intensity, ref, rtol=1e-12, atol=25.0 * 1e-9)  # J(T_ex) x 1e-9


def test_thresholds_eup_max_and_aij_min_select_lines(line_db):
    grid = np.linspace(241000.0, 242000.0, 50001)
    cfg = one("CH3OH", 1e17, tex=150.0)
    cfg.components[0].species[0].eup_max_k = 60.0
    cfg.components[0].species[0].aij_min = 1e-5
    res = compute_spectrum(cfg, grid, line_db, with_tau=True)
    t = line_db.transitions(240990.0, 242010.0, species=["CH3OH"])
    keep = (np.asarray(t.eup_k) <= 60.0) & (np.asarray(t.aij) >= 1e-5)
    assert 0 < keep.sum() < len(t)
    q = float(line_db.partition_function("CH3OH").q(150.0))
    sel = LineList.single(*(np.asarray(a)[keep] for a in (t.freq_mhz, t.aij, t.eup_k, t.gup)))
    np.testing.assert_allclose(res.tau, component_opacity(grid, sel, 150.0, 1e17, q, 3.0, 0.0), rtol=1e-12, atol=1e-9)


def test_beam_dilution_units_and_continuum_end_to_end(line_db):
    grid = np.linspace(345700.0, 345900.0, 2001)  # CO 3-2
    base = {"tc_k": 0.8, "telescope": {"diameter_m": 12.0}}
    tmb = compute_spectrum(one("CO", 1e16, component={"size_arcsec": 10.0}, **base), grid, line_db).intensity
    nodil = compute_spectrum(one("CO", 1e16, **base), grid, line_db).intensity
    ff = filling_factor(10.0, dish_beam_arcsec(grid, 12.0))
    np.testing.assert_allclose(tmb - 0.8, ff * (nodil - 0.8), rtol=1e-10, atol=1e-13)
    assert tmb[0] == pytest.approx(0.8)  # continuum kept off-line
    ta = compute_spectrum(one("CO", 1e16, component={"size_arcsec": 10.0}, unit="TA*", beam_efficiency=0.7,
                              forward_efficiency=0.95, **base), grid, line_db).intensity
    np.testing.assert_allclose(ta, tmb * 0.7 / 0.95, rtol=1e-14)
    jy = compute_spectrum(one("CO", 1e16, component={"size_arcsec": 10.0}, unit="Jy/beam", **base),
                          grid, line_db)
    b = dish_beam_arcsec(grid, 12.0)
    np.testing.assert_allclose(jy.intensity, tmb / jy_per_beam_to_k(grid, b, b), rtol=1e-14)
    assert jy.unit == "Jy/beam" and jy.y_label == "Jy/beam"


def test_interacting_component_absorbs_the_one_behind(line_db):
    grid = np.linspace(230500.0, 230580.0, 801)
    d = {"components": [
        {"name": "hot", "tex_k": 100.0, "fwhm_kms": 10.0, "species": [{"species": "CO", "ntot_cm2": 1e17}]},
        {"name": "cold", "tex_k": 6.0, "fwhm_kms": 1.0, "interacting": True,
         "species": [{"species": "CO", "ntot_cm2": 3e16}]}]}
    stacked = compute_spectrum(d, grid, line_db, with_tau=True)
    d["components"][1]["interacting"] = False
    side = compute_spectrum(d, grid, line_db)
    centre = np.argmin(np.abs(grid - 230538.0))
    assert stacked.intensity[centre] < side.intensity[centre] - 5  # self-absorption dip
    hot = compute_spectrum({"components": [d["components"][0]]}, grid, line_db, with_tau=True)
    tau_cold = stacked.tau - hot.tau
    jb = rj_temperature_k(grid, 2.73)
    i1 = hot.intensity + jb
    ref = i1 + (rj_temperature_k(grid, 6.0) - i1) * -np.expm1(-tau_cold) - jb
    np.testing.assert_allclose(stacked.intensity, ref, rtol=1e-10, atol=1e-12)


def test_user_errors_are_cassis_errors(line_db):
    grid = np.linspace(115000.0, 116000.0, 101)
    with pytest.raises(UnknownSpeciesError):
        compute_spectrum(one("NoSuchMolecule", 1e15), grid, line_db)
    with pytest.raises(PartitionRangeError, match="5000"):
        compute_spectrum(one("CO", 1e15, tex=5000.0), grid, line_db)
    # T_ex is checked even when no line of the species falls in the window
    with pytest.raises(PartitionRangeError):
        compute_spectrum(one("CO", 1e15, tex=1.0), np.linspace(50.0, 60.0, 11), line_db)
    with pytest.raises(CassisError, match="NaN"):
        compute_spectrum(one("CO", 1e15), np.array([115000.0, np.nan]), line_db)


class CountingDatabase:
    """The real database, counting the transition queries made through it."""

    def __init__(self, db):
        self.db, self.queries = db, 0

    def transitions(self, *args, **kwargs):
        self.queries += 1
        return self.db.transitions(*args, **kwargs)

    def model_lines(self, *args, **kwargs):
        self.queries += 1
        return self.db.model_lines(*args, **kwargs)

    def partition_function(self, species, **kwargs):
        return self.db.partition_function(species, **kwargs)


def test_prepared_model_queries_the_database_only_when_needed(line_db):
    db = CountingDatabase(line_db)
    grid = np.linspace(241000.0, 242000.0, 10001)
    cfg = one("CH3OH", 1e16, tex=100.0, vlsr=0.0)
    prep = PreparedModel(cfg, grid, db)
    assert db.queries == 1
    c = cfg.components[0]
    for tex, vlsr, fwhm, ntot in [(50.0, 5.0, 4.0, 1e17), (200.0, -15.0, 2.0, 1e15), (20.0, 19.0, 4.4, 3e16)]:
        c.tex_k, c.vlsr_kms, c.fwhm_kms, c.species[0].ntot_cm2 = tex, vlsr, fwhm, ntot
        assert prep.compute(cfg, with_tau=False).tau is None
    assert db.queries == 1  # all within +-20 km/s and 1.5 x FWHM
    c.vlsr_kms = 60.0
    prep.compute(cfg)
    c.species[0].eup_max_k = 100.0
    prep.compute(cfg)
    assert db.queries == 3
