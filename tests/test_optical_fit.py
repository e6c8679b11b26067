"""Absorption fits (AbsorptionModel), their JSON (AbsorptionConfig) and the command lines
``cassis-lite absorption``, ``cog``, ``broaden``."""

import json

import numpy as np
import pytest

from cassis_lite.cli import main
from cassis_lite.errors import ConfigError
from cassis_lite.optical import AbsorptionConfig, AbsorptionModel

Z = 0.35


def config(start, tie=True, lsf=None):
    comps = []
    for i, (v, b, n_civ, n_siiv) in enumerate(start):
        comps.append({"name": f"c{i + 1}", "v_kms": {"value": v, "min": v - 20, "max": v + 20},
                      "b_kms": {"value": b, "min": 2.0, "max": 40.0}, "tie_b_v": tie,
                      "ions": [{"ion": "C IV", "logn_cm2": {"value": n_civ, "min": 10, "max": 17}},
                               {"ion": "Si IV", "logn_cm2": {"value": n_siiv, "min": 10, "max": 17}}]})
    return {"redshift": Z, "lsf": lsf or {"fwhm_kms": 7.0}, "components": comps, "fit": {"windows_kms": [-150, 150]}}


TRUTH = [(-20.0, 9.0, 13.6, 12.9), (25.0, 14.0, 13.2, 12.6)]


@pytest.fixture(scope="module")
def data(line_db):
    wave = np.exp(np.arange(np.log(1385 * (1 + Z)), np.log(1560 * (1 + Z)), 2.0 / 299792.458))
    flux = AbsorptionModel(config(TRUTH), line_db).eval(None, wave)
    noisy = flux + np.random.default_rng(7).normal(0, 0.01, wave.size)
    return wave, flux, noisy


def test_fit_recovers_the_components(line_db, data):
    wave, _, noisy = data
    start = [(v + 4, b * 1.3, n - 0.3, m + 0.2) for v, b, n, m in TRUTH]
    model = AbsorptionModel(config(start), line_db)
    res = model.fit_arrays(wave, noisy, np.full(wave.size, 0.01))
    assert res.fit.success and 0.85 < res.redchi < 1.15
    for (v, b, n, m), comp in zip(TRUTH, res.components()):
        civ, siiv = comp["ions"]["C IV"], comp["ions"]["Si IV"]
        assert abs(civ["v_kms"] - v) < 4 * civ["v_err"] and abs(civ["b_kms"] - b) < 4 * civ["b_err"]
        assert abs(civ["logn_cm2"] - n) < 4 * civ["logn_err"] and abs(siiv["logn_cm2"] - m) < 4 * siiv["logn_err"]
        assert civ["b_kms"] == siiv["b_kms"]  # tied
    assert "c1_logn_C_IV = " in res.report() and json.dumps(res.to_dict())


def test_untied_components_have_their_own_b_and_v(line_db, data):
    wave, flux, _ = data
    model = AbsorptionModel(config(TRUTH, tie=False), line_db)
    params = model.config_params()
    assert {"c1_b_C_IV", "c1_b_Si_IV", "c1_v_Si_IV"} <= set(params) and "c1_b" not in params
    assert np.allclose(model.eval(params, wave), flux, atol=1e-12)
    assert all(p.vary for p in model.make_params().values())


def test_config_errors_name_the_json_path():
    good = config(TRUTH)
    cases = [
        (lambda c: c["components"][1]["ions"][0].update(logn_cm2="x"), r"components\[1\]\.ions\[0\]\.logn_cm2 must be"),
        (lambda c: c["components"][0].update(colour=1), r"unknown key components\[0\]\.colour"),
        (lambda c: c["components"][0]["ions"][1].update(b_kms=5), r"components\[0\]\.ions\[1\]\.b_kms: the ions of c1 share"),
        (lambda c: c.update(lsf={"resolving_power": 0}), r"lsf\.resolving_power must be > 0"),
        (lambda c: c.update(lsf={"resolving_power": 1e4, "fwhm_a": 1}), "exactly one of"),
        (lambda c: c["components"][0].pop("b_kms"), r"components\[0\]\.b_kms is missing"),
        (lambda c: c["fit"].update(windows_kms=[5, -5]), "fit.windows_kms: vmax must be above vmin"),
        (lambda c: c["components"][0]["b_kms"].update(value=-3), r"components\[0\]\.b_kms"),
    ]
    for change, message in cases:
        c = json.loads(json.dumps(good))
        change(c)
        with pytest.raises(ConfigError, match=message):
            AbsorptionConfig.from_dict(c)


def run_cli(argv, capsys):
    status = main(argv)
    out = capsys.readouterr()
    return status, out.out, out.err


def test_cli(tmp_path, capsys, data, line_db):
    from cassis_lite.readers import write_csv
    from cassis_lite.spectrum import Spectrum

    wave, _, noisy = data
    sp = Spectrum.from_axis(wave, noisy, x_unit="angstrom", uncertainty=np.full(wave.size, 0.01))
    write_csv(sp, tmp_path / "abs.csv")
    (tmp_path / "abs.json").write_text(json.dumps(config([(v + 2, b, n - 0.1, m) for v, b, n, m in TRUTH])))
    status, out, err = run_cli(["absorption", "fit", str(tmp_path / "abs.csv"), "--config", str(tmp_path / "abs.json"),
                                "--format", "json"], capsys)
    assert status == 0, err
    assert json.loads(out)["components"][0]["ions"]["C IV"]["logn_cm2"] == pytest.approx(13.6, abs=0.05)
    status, out, err = run_cli(["absorption", "ew", str(tmp_path / "abs.csv"), "--wmin", "2088", "--wmax", "2092",
                                "--z", str(Z), "--format", "json"], capsys)
    assert status == 0, err
    assert json.loads(out)["equivalent_width"]["ew_err_ma"] > 0
    status, out, err = run_cli(["cog", "--ion", "C IV", "--wrest", "1548.2", "--b", "5", "10", "20",
                                "--logn", "12", "13", "14", "15", "--format", "json"], capsys)
    rows = json.loads(out)
    assert status == 0 and len(rows) == 12 and set(rows[0]) == {"logn_cm2", "b_kms", "ew_ma"}
    status, out, err = run_cli(["broaden", str(tmp_path / "abs.csv"), "--vsini", "20", "--rv", "10",
                                "-o", str(tmp_path / "b.csv")], capsys)
    assert status == 0 and (tmp_path / "b.csv").stat().st_size > 0
    for argv, message in ((["cog", "--ion", "C IX", "--wrest", "1548", "--b", "5", "--logn", "12"], "unknown species"),
                          (["cog", "--ion", "C IV", "--wrest", "1700", "--b", "5", "--logn", "12"], "no line within"),
                          (["broaden", str(tmp_path / "abs.csv"), "--resolution", "0"], "resolving_power must be > 0"),
                          (["broaden", str(tmp_path / "abs.csv"), "--resolution", "-3"], "resolving_power must be > 0")):
        status, out, err = run_cli(argv, capsys)
        assert status == 2 and err.startswith("cassis-lite: error:") and message in err and err.count("\n") == 1
