"""`cassis-lite model`: CSV output and one-line errors (exit status 2), run as a real process."""

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from cassis_lite.lte import compute_spectrum


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cassis_lite", "model", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def read_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], np.array(rows[1:], dtype=float)


def test_single_component_csv_with_tau(line_db):
    p = cli("--species", "CO", "--tex", "30", "--ntot", "1e17", "--fwhm", "2", "--vlsr", "5",
            "--fmin", "230500", "--fmax", "230560", "--step", "0.05", "--tau")
    assert p.returncode == 0, p.stderr
    header, data = read_csv(p.stdout)
    assert header == ["freq_mhz", "intensity [K (Tmb)]", "tau"]
    assert data.shape == (1201, 3)
    np.testing.assert_allclose(data[:, 0], 230500 + 0.05 * np.arange(1201), rtol=0, atol=1e-6)
    cfg = {"components": [{"tex_k": 30.0, "fwhm_kms": 2.0, "vlsr_kms": 5.0,
                           "species": [{"species": "CO", "ntot_cm2": 1e17}]}]}
    ref = compute_spectrum(cfg, data[:, 0], line_db, with_tau=True)
    np.testing.assert_allclose(data[:, 1], ref.intensity, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(data[:, 2], ref.tau, rtol=1e-9, atol=1e-12)
    assert data[:, 1].max() > 10


def test_config_file_several_components_units_and_output_file(tmp_path, line_db):
    config = {
        "telescope": {"diameter_m": 30.0}, "unit": "Jy/beam", "tc_k": 0.2,
        "components": [
            {"name": "warm", "tex_k": 80.0, "fwhm_kms": 5.0, "size_arcsec": 8.0,
             "species": [{"species": "CH3OH", "ntot_cm2": 1e16, "eup_max_k": 150.0}]},
            {"name": "cold", "tex_k": 10.0, "fwhm_kms": 1.0, "interacting": True,
             "species": [{"species": 32504, "ntot_cm2": 1e14}]}],
        "grid": {"fmin_mhz": 241600.0, "fmax_mhz": 241900.0, "step_mhz": 0.1},
    }
    (tmp_path / "m.json").write_text(json.dumps(config))
    out = tmp_path / "model.csv"
    p = cli("--config", "m.json", "-o", str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    header, data = read_csv(out.read_text())
    assert header == ["freq_mhz", "intensity [Jy/beam]"]
    ref = compute_spectrum(config, data[:, 0], line_db)
    np.testing.assert_allclose(data[:, 1], ref.intensity, rtol=1e-9, atol=1e-12)
    # flags override the config's grid
    p = cli("--config", "m.json", "--fmin", "241700", "--fmax", "241701", "--step", "0.5", cwd=tmp_path)
    assert read_csv(p.stdout)[1].shape == (3, 2)


@pytest.mark.parametrize("args,words", [
    (["--species", "NoSuchMolecule", "--tex", "30", "--ntot", "1e15", "--fwhm", "1"], "unknown species"),
    (["--species", "CO", "--tex", "5000", "--ntot", "1e15", "--fwhm", "1"], "5000"),
    (["--species", "CO", "--tex", "30", "--ntot", "1e15", "--fwhm", "-1"], "fwhm_kms must be > 0"),
    (["--species", "CO", "--tex", "30", "--ntot", "1e15"], "missing --fwhm"),
    (["--species", "CO", "--tex", "30", "--ntot", "1e15", "--fwhm", "1", "--unit", "Jy/beam"], "needs a telescope"),
    (["--species", "CO", "--tex", "30", "--ntot", "1e15", "--fwhm", "1", "--beam", "a,b"], "--beam must be"),
])
def test_errors_are_one_line_with_exit_status_2(args, words, line_db):
    p = cli(*args, "--fmin", "115000", "--fmax", "116000", "--step", "1")
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cassis-lite: error: ") and words in lines[0], p.stderr


def test_partition_range_error_names_species_and_range(line_db):
    p = cli("--species", "CO", "--tex", "5000", "--ntot", "1e15", "--fwhm", "1",
            "--fmin", "115000", "--fmax", "116000", "--step", "1")
    assert p.returncode == 2 and "CO" in p.stderr and "1000" in p.stderr  # table ends at 1000 K


def test_bad_or_missing_json_config(tmp_path):
    (tmp_path / "bad.json").write_text('{"components": [ {"tex_k": 10,, } ]}')
    for name, words in [("bad.json", "is not valid JSON"), ("missing.json", "cannot read config")]:
        p = cli("--config", str(tmp_path / name), "--fmin", "1", "--fmax", "2", "--step", "1")
        assert p.returncode == 2
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], p.stderr
    (tmp_path / "typo.json").write_text(json.dumps({"components": [], "tcmb": 3}))
    p = cli("--config", str(tmp_path / "typo.json"), "--fmin", "1", "--fmax", "2", "--step", "1")
    assert p.returncode == 2 and "unknown key 'tcmb'" in p.stderr


def test_partition_option_catalogue_is_cassis_and_refined_the_default(line_db):
    # CH3CN 5_0-4_0 at 30 K, optically thin: tau (and T_mb) scale as 1/Q, so the two settings differ by
    # the ratio of the two Q(30 K) (the catalogue's log-log interpolation is ~0.55 % high there)
    base = ("--species", "CH3CN", "--tex", "30", "--ntot", "1e12", "--fwhm", "2", "--fmin", "91986",
            "--fmax", "91990", "--step", "0.01", "--tau")
    runs = {}
    for extra in ((), ("--partition", "refined"), ("--partition", "catalogue")):
        p = cli(*base, *extra)
        assert p.returncode == 0, p.stderr
        runs[extra] = read_csv(p.stdout)[1]
    np.testing.assert_array_equal(runs[()], runs[("--partition", "refined")])
    q_ref = line_db.partition_function("CH3CN").q(30.0)
    q_cat = line_db.partition_function("CH3CN", partition="catalogue").q(30.0)
    assert q_cat / q_ref - 1 > 4e-3
    tau_ref, tau_cat = runs[()][:, 2].max(), runs[("--partition", "catalogue")][:, 2].max()
    assert tau_ref / tau_cat == pytest.approx(q_cat / q_ref, rel=1e-6)
    p = cli(*base, "--partition", "exact")
    assert p.returncode == 2 and "invalid choice" in p.stderr
