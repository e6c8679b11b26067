"""The RADEX solver on its own (no reference venv): limits, RADEX's rules, batching, the database
accessors, the JSON model, the fit, the ratio map and the command line."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cassis_lite.cli import main
from cassis_lite.constants import CM1_TO_K, GAUSS_AREA, HK_MHZ
from cassis_lite.errors import ConfigError, RadexError
from cassis_lite.linedb import formats
from cassis_lite.lte import (
    Layer,
    LineList,
    ModelConfig,
    PreparedModel,
    component_opacity,
    compute_spectrum,
    radiative_transfer,
)
from cassis_lite.radex import CollisionData, escape_probability, ratio_chi2_map, solve
from cassis_lite.radex.collisions import partner_densities, rate_matrices, thermal_opr
from linedb_sources import LAMDA, source_text


@pytest.fixture(scope="module")
def co(line_db):
    return line_db.collision_data("CO")


def test_escape_probabilities_limits_and_formulas():
    tau = np.array([1e-8, 0.05, 1.0, 5.0, 30.0, 200.0])
    r = tau / 2
    sphere = 1.5 / tau * (1 - 2 / tau**2 + (2 / tau + 2 / tau**2) * np.exp(-tau))  # Osterbrock, diameter tau
    np.testing.assert_allclose(escape_probability(tau[2:5], "sphere"), sphere[2:5], rtol=1e-12)
    assert escape_probability(200.0, "sphere") == pytest.approx(sphere[5], rel=1e-4)  # RADEX's 0.75 / tau_r
    assert escape_probability(1e-8, "sphere") == pytest.approx(1.0, abs=1e-8)
    slab = -np.expm1(-3 * tau[2:5]) / (3 * tau[2:5])
    np.testing.assert_allclose(escape_probability(tau[2:5], "slab"), slab, rtol=1e-12)
    np.testing.assert_allclose(escape_probability(tau[2:4], "lvg"), (1 - np.exp(-2.34 * r[2:4])) / (2.34 * r[2:4]))
    for geometry in ("sphere", "lvg", "slab"):
        b = escape_probability(np.geomspace(1e-6, 1e4, 400), geometry)
        # decreasing, but for RADEX's jumps where it switches formula: 4e-4 for the slab at 3 tau = 0.1
        # (its series 1 - 1.5 (tau + tau^2) has the wrong second-order sign), < 1e-5 elsewhere
        assert np.all((b > 0) & (b <= 1)) and np.all(np.diff(b) <= (5e-4 if geometry == "slab" else 1e-5))


def test_thermal_ortho_para_split_and_partner_rules(co, line_db):
    assert thermal_opr(300.0) == 3.0 and thermal_opr(20.0) == pytest.approx(9 * math.exp(-170.6 / 20))
    d = partner_densities(co, {"H2": 1e4}, 20.0)  # co.dat has p-H2 and o-H2 rates: thermal split
    opr = 9 * math.exp(-170.6 / 20)
    assert d["pH2"] == pytest.approx(1e4 / (1 + opr)) and d["oH2"] == pytest.approx(1e4 * opr / (1 + opr))
    hco = line_db.collision_data("HCO+")  # H2 rates only: n(H2) = n(pH2) + n(oH2)
    assert partner_densities(hco, {"pH2": 1e3, "o-H2": 3e3}, 20.0) == {"H2": pytest.approx(4e3)}
    with pytest.raises(RadexError, match="either H2 or pH2"):
        partner_densities(co, {"H2": 1.0, "pH2": 1.0}, 20.0)
    with pytest.raises(RadexError, match="unknown collision partner"):
        partner_densities(co, {"CO2": 1.0}, 20.0)
    with pytest.raises(RadexError, match="no collision rates for the partners given"):
        solve(co, 20.0, {"e": 10.0}, 1e14, 1.0)


def test_rates_interpolated_clamped_and_detailed_balance(co):
    p = co.partner("pH2")
    t = p.temperatures_k
    i = 3
    mid = 0.5 * (t[i] + t[i + 1])
    c = rate_matrices(co, np.array([t[0] / 2, mid, t[-1] * 2]), "pH2")
    u, lo = p.up[0], p.low[0]
    assert c[0, u, lo] == p.rates_cm3s[0, 0] and c[2, u, lo] == p.rates_cm3s[0, -1]  # clamped, as RADEX
    assert c[1, u, lo] == pytest.approx(0.5 * (p.rates_cm3s[0, i] + p.rates_cm3s[0, i + 1]), rel=1e-14)
    de_k = (co.level_energy_cm[u] - co.level_energy_cm[lo]) * CM1_TO_K
    g = co.level_weight
    assert c[1, lo, u] == pytest.approx(c[1, u, lo] * g[u] / g[lo] * math.exp(-de_k / mid), rel=1e-13)


def test_two_level_thin_limit_against_the_analytic_solution():
    # optically thin two-level atom: x_u / x_l = (g_u/g_l) (C_lu + A B n_bg ...) closed form
    text = """!MOLECULE\nX\n!WEIGHT\n10\n!NLEV\n2\n1 0.0 1.0 0\n2 10.0 3.0 1\n!NRAD\n1\n1 2 1 1.0e-5 299.792458 14.4\n
!NPART\n1\n1 X-H2\n1\n2\n10.0 100.0\n1 2 1 1.0e-10 3.0e-10\n"""
    data = CollisionData.from_lamda(formats.parse_lamda(text))
    n, tkin, tbg = 1e4, 50.0, 2.73
    res = solve(data, tkin, {"H2": n}, 1e6, 1.0, tbg_k=tbg)  # N tiny: beta = 1
    c_ul = n * (1e-10 + (tkin - 10) / 90 * 2e-10)
    c_lu = c_ul * 3 * math.exp(-10 * CM1_TO_K / tkin)
    nbg = 1 / math.expm1(10 * CM1_TO_K / tbg)
    a = 1e-5
    ratio = (c_lu + a * 3 * nbg) / (c_ul + a * (1 + nbg))  # x_u / x_l
    assert res.pop_up[0] / res.pop_low[0] == pytest.approx(ratio, rel=1e-8)
    assert res.tex_k[0] == pytest.approx(10 * CM1_TO_K / math.log(3 / ratio), rel=1e-8)


def test_lte_limit_equals_the_lte_model(co):
    # n = 1e12 cm^-3 thermalises every level: T_ex = T_kin, and tau and T_R are the LTE model's
    # (cassis_lite.lte with Q summed over the same levels and the line frequencies of the levels)
    tkin, ntot, fwhm = 60.0, 1e17, 2.0
    res = solve(co, tkin, {"H2": 1e12}, ntot, fwhm)
    np.testing.assert_allclose(res.tex_k[:20], tkin, rtol=1e-6)
    e_k = co.level_energy_cm * CM1_TO_K
    q = np.sum(co.level_weight * np.exp(-e_k / tkin))
    nu = (e_k[co.line_up] - e_k[co.line_low]) / HK_MHZ
    for i in range(12):
        one = LineList.single(nu[i:i + 1], co.aij[i:i + 1], co.eup_k[i:i + 1], co.gup[i:i + 1])
        tau = component_opacity(nu[i:i + 1], one, tkin, ntot, q, fwhm, 0.0)
        t_r = radiative_transfer(nu[i:i + 1], [Layer(tkin, tau)], tcmb_k=2.73)
        assert res.tau[i] == pytest.approx(tau[0], rel=1e-6)
        assert res.t_r_k[i] == pytest.approx(t_r[0], rel=1e-6)
    assert res.flux_kkms[0] == pytest.approx(GAUSS_AREA * fwhm * res.t_r_k[0])


def test_a_grid_is_the_models_one_by_one(co):
    tkin = np.array([15.0, 80.0])[:, None, None]
    dens = np.array([1e3, 1e6])[None, :, None]
    ntot = np.array([1e13, 1e17])[None, None, :]
    grid = solve(co, tkin, {"H2": dens}, ntot, 1.5, geometry="lvg")
    assert grid.t_r_k.shape == (2, 2, 2, co.n_lines) and grid.converged.all()
    for i, j, k in np.ndindex(2, 2, 2):
        one = solve(co, tkin[i, 0, 0], {"H2": dens[0, j, 0]}, ntot[0, 0, k], 1.5, geometry="lvg")
        np.testing.assert_array_equal(one.t_r_k, grid.t_r_k[i, j, k])
        np.testing.assert_array_equal(one.tau, grid.tau[i, j, k])


def test_tkin_outside_the_rate_table_is_reported(line_db):
    hcn = line_db.collision_data("HCN")
    res = solve(hcn, 2.0, {"H2": 1e4}, 1e13, 1.0)
    assert any("outside the H2 rate table (5-500 K)" in w for w in res.warnings)


def test_database_rates_are_the_lamda_file(co, line_db):
    raw = CollisionData.from_lamda(formats.parse_lamda(source_text("spectralradex", LAMDA + "co.dat")))
    for a, b in zip(co.partners, raw.partners):
        assert a.name == b.name and np.array_equal(a.up, b.up) and np.array_equal(a.temperatures_k, b.temperatures_k)
        np.testing.assert_allclose(a.rates_cm3s, b.rates_cm3s, rtol=3e-16, atol=0)  # exact above ~1e-19
    np.testing.assert_array_equal(co.level_energy_cm, raw.level_energy_cm)
    np.testing.assert_allclose(co.freq_mhz, raw.freq_mhz, rtol=1e-15)
    prov = line_db.collision_provenance("CS")
    assert prov[0]["role"] == "primary" and {p["role"] for p in prov[1:]} <= {"superseded", "duplicate"}
    assert "superseded" in {p["role"] for p in line_db.collision_provenance("HCN")}


def test_every_species_with_collision_data_solves(line_db):
    names = [c["name"] for c in line_db.collision_species()]
    new = {"C17O", "H13CN", "HC15N", "HC18O+", "HDO", "o-H2(18)O", "p-H2(18)O"}  # from pdspy
    assert len(names) >= 50 and {"CO", *new} <= set(names)
    for name in names:
        data = line_db.collision_data(name)
        dens = {"H2": 1e5} if {"H2", "pH2", "oH2"} & set(data.partner_names) else {data.partner_names[0]: 1e3}
        res = solve(data, 50.0, dens, 1e13, 1.0)
        assert np.all(np.isfinite(res.t_r_k)), name


def test_ortho_h2_18o_file_is_ortho(line_db):
    o, p = line_db.collision_data("o-H2(18)O"), line_db.collision_data("p-H2(18)O")
    assert o.level_label[0] == "1_0_1" and p.level_label[0] == "0_0_0"


def test_unknown_and_collisionless_species(line_db):
    with pytest.raises(RadexError, match="no collision data for 'XYZ'"):
        line_db.collision_data("XYZ")
    with pytest.raises(RadexError, match="13C18O has no collision rates"):
        line_db.collision_data("13C18O")


RADEX_COMPONENT = {"model": "radex", "tkin_k": 30.0, "density_cm3": {"H2": 1e4}, "fwhm_kms": 1.0,
                   "species": [{"species": "CO", "ntot_cm2": 1e16}]}


def test_radex_component_draws_radex_lines(line_db, co):
    res = solve(co, 30.0, {"H2": 1e4}, 1e16, 1.0)
    out = compute_spectrum({"components": [RADEX_COMPONENT]}, co.freq_mhz[:4], line_db, with_tau=True)
    np.testing.assert_allclose(out.tau, res.tau[:4], rtol=1e-12)
    np.testing.assert_allclose(out.intensity, res.t_r_k[:4], rtol=1e-5)  # J at the catalogue, not level, frequency


def test_lte_and_radex_components_combine(line_db):
    grid = np.linspace(115250.0, 115290.0, 801)
    lte = {"tex_k": 10.0, "fwhm_kms": 3.0, "interacting": True, "species": [{"species": "CO", "ntot_cm2": 1e17}]}
    both = compute_spectrum({"components": [RADEX_COMPONENT, lte]}, grid, line_db).intensity
    alone = compute_spectrum({"components": [RADEX_COMPONENT]}, grid, line_db).intensity
    assert both.max() < alone.max()  # the cold foreground absorbs the warm line


def test_prepared_model_resolves_without_requerying(line_db, monkeypatch):
    cfg = ModelConfig.from_dict({"components": [RADEX_COMPONENT]})
    prep = PreparedModel(cfg, np.linspace(230500, 230560, 301), line_db)
    monkeypatch.setattr(line_db, "collision_data", lambda *a: pytest.fail("database queried again"))
    first = prep.compute(cfg).intensity.max()
    cfg.components[0].tkin_k = 60.0
    cfg.components[0].density_cm3["H2"] = 1e5
    assert abs(prep.compute(cfg).intensity.max() - first) > 0.01  # solved again, same lines


@pytest.mark.parametrize("component, message", [
    ({"model": "radex", "tkin_k": 30, "fwhm_kms": 1}, r"components\[0\]\.density_cm3 is missing"),
    ({"model": "radex", "tkin_k": 30, "fwhm_kms": 1, "density_cm3": {"CO2": 1}}, "unknown collision partner"),
    ({"model": "radex", "tkin_k": 30, "fwhm_kms": 1, "density_cm3": {"H2": 0}}, "a density > 0"),
    ({"model": "radex", "tkin_k": -3, "fwhm_kms": 1, "density_cm3": {"H2": 1}}, r"components\[0\]\.tkin_k must be > 0"),
    ({"model": "radex", "tex_k": 3, "tkin_k": 3, "fwhm_kms": 1, "density_cm3": {"H2": 1}}, "computes T_ex"),
    ({"model": "radex", "tkin_k": 3, "fwhm_kms": 1, "density_cm3": {"H2": 1}, "geometry": "cube"}, "geometry"),
    ({"tex_k": 3, "fwhm_kms": 1, "tkin_k": 3}, r'tkin_k is only for "model": "radex"'),
    ({"model": "nlte", "tex_k": 3, "fwhm_kms": 1}, 'model must be "lte" or "radex"'),
])
def test_config_validation_names_the_path(component, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig.from_dict({"components": [component]})


def test_config_round_trip():
    cfg = ModelConfig.from_dict({"components": [dict(RADEX_COMPONENT, geometry="slab")]})
    again = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again.to_dict() == cfg.to_dict() and again.components[0].geometry == "slab"


def test_fit_recovers_tkin_density_and_column(line_db):
    from cassis_lite.fitting import fit_lte

    truth = dict(RADEX_COMPONENT, tkin_k=25.0, density_cm3={"H2": 3e3})
    truth["species"] = [{"species": "CO", "ntot_cm2": 3e16}]
    grid = np.concatenate([np.linspace(f - 2, f + 2, 81) for f in (115271.2018, 230538.0, 345795.9899)])
    y = compute_spectrum({"components": [truth]}, grid, line_db).intensity
    y = y + np.random.default_rng(1).normal(0, 0.02, y.size)
    start = {"model": "radex", "fwhm_kms": 1.0, "tkin_k": {"value": 40.0, "min": 5, "max": 300},
             "density_cm3": {"H2": {"value": 1e4, "min": 1e2, "max": 1e8}},
             "species": [{"species": "CO", "ntot_cm2": {"value": 1e16, "min": 1e13, "max": 1e19}}]}
    fit = fit_lte(grid, y, {"components": [start], "fit": {"rms_k": 0.02}}, line_db)
    p = fit.params
    for name, value in (("c1_tkin", 25.0), ("c1_density_H2", 3e3), ("c1_ntot_CO", 3e16)):
        assert abs(p[name].value - value) < 4 * p[name].stderr, (name, p[name])
        assert p[name].stderr < 0.5 * value
    assert fit.redchi == pytest.approx(1.0, abs=0.3)


def test_ratio_map_finds_the_true_conditions(co):
    truth = solve(co, 40.0, {"H2": 3e3}, 1e14, 1.0)
    f = truth.flux_kkms
    ratios = [(1, 0, f[1] / f[0], 0.01 * f[1] / f[0]), (2, 1, f[2] / f[1], 0.01 * f[2] / f[1]),
              (345795.9899, 115271.2018, f[2] / f[0], 0.01 * f[2] / f[0])]
    tk = np.array([20.0, 30.0, 40.0, 60.0, 90.0])
    dens = np.array([1e2, 1e3, 3e3, 1e4, 1e5])
    m = ratio_chi2_map(co, ratios, tk, {"H2": dens}, 1e14, 1.0)
    assert m.chi2.shape == (5, 5) and (m.best_tkin_k, m.best_density_cm3) == (40.0, 3e3)
    assert m.chi2.min() < 1e-6


def test_cli_table_json_and_errors(capsys):
    assert main(["radex", "--species", "CO", "--tkin", "20", "--nh2", "1e4", "--ntot", "1e15", "--fwhm", "1",
                 "--fmax", "400000"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["transition", "freq_mhz", "eup_k"] and len(out) == 4
    assert main(["radex", "--species", "CO", "--tkin", "20", "40", "--nh2", "1e3", "1e5", "--ntot", "1e15",
                 "--fwhm", "1", "--fmax", "250000", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["models"]) == 4 and {m["tkin_k"] for m in doc["models"]} == {20.0, 40.0}
    assert all(len(m["lines"]) == 2 and m["converged"] for m in doc["models"])
    for argv, message in ((["--species", "XYZ", "--nh2", "1"], "no collision data"),
                          (["--species", "SiO", "--collider", "e=1"], "no collision rates for the partners"),
                          (["--species", "CO", "--collider", "pH2=1,H2=1"], "either H2 or pH2")):
        code = main(["radex", *argv, "--tkin", "20", "--ntot", "1e14", "--fwhm", "1"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and message in err[0], err
