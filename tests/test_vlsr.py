"""v_lsr / redshift by cross-correlation: injected values recovered within the stated errors."""

import math
from pathlib import Path

import numpy as np
import pytest

from cassis_lite.analysis.vlsr import VelocitySearchError, fftconvolve, find_velocity
from paths import SAMPLES

C = 299792.458
LINES = np.array([100100.0, 100350.0, 100700.0])
AMPS = np.array([1.0, 0.5, 0.8])


def spectrum(v=0.0, z=0.0, fwhm=3.0, noise=0.1, seed=0, f=None):
    rng = np.random.default_rng(seed)
    f = np.arange(100000.0, 101000.0, 0.1) if f is None else f
    y = np.zeros_like(f)
    for l0, a in zip(LINES, AMPS):
        centre = l0 * (1 - v / C)
        sig = l0 * fwhm / C / 2.3548200450309493
        y += a * np.exp(-0.5 * ((f - centre) / sig) ** 2)
    return f, y + rng.normal(0, noise, f.size)


def test_fftconvolve_matches_numpy():
    rng = np.random.default_rng(1)
    a, k = rng.normal(size=1000), rng.normal(size=41)
    assert np.allclose(fftconvolve(a, k), np.convolve(a, k, mode="same"))


def test_vlsr_recovered_with_coverage():
    """100 noisy realisations: |v - truth| <= 1 sigma in ~68 % of them."""
    f = np.arange(100000.0, 101000.0, 0.2)
    hits = 0
    for seed in range(100):
        truth = 5.3 + 0.37 * (seed % 7)
        ff, y = spectrum(truth, noise=0.15, seed=seed, f=f)
        r = find_velocity(ff, y, LINES, weights=AMPS, vmin=-50, vmax=50, rms=0.15)
        assert abs(r.value - truth) < 5 * r.error
        hits += abs(r.value - truth) <= r.error
    assert abs(hits / 100 - 0.683) < 0.12


def test_vlsr_with_file_velocity_and_ccf_peak():
    f, y = spectrum(-12.0, noise=0.05)
    # frequencies given at v_file = 3.8: a line at v_lsr v shifts by (v - 3.8)
    r = find_velocity(f, y, LINES, vmin=-40, vmax=40, vlsr_file_kms=3.8)
    assert r.value == pytest.approx(-12.0 + 3.8, abs=0.05)
    assert r.grid[np.argmax(r.ccf)] == pytest.approx(-8.2, abs=0.3)
    assert r.peak_snr > 20
    assert "v_lsr = " in r.report()


def test_redshift():
    z = 0.0123
    rng = np.random.default_rng(5)
    f = np.arange(100000.0, 101000.0, 0.1)
    rest = LINES * (1 + z)  # rest frequencies that land at LINES when observed at z
    y = sum(a * np.exp(-0.5 * ((f - l0) / (l0 * 3.0 / C / 2.3548)) ** 2) for l0, a in zip(LINES, AMPS))
    y = y + rng.normal(0, 0.1, f.size)
    r = find_velocity(f, y, rest, kind="redshift", zmin=0.0, zmax=0.05)
    assert r.value == pytest.approx(z, abs=4 * r.error)
    assert r.error < 1e-6


def test_absorption_lines():
    f, y = spectrum(7.0, noise=0.05)
    r = find_velocity(f, 2.0 - y, LINES, vmin=-30, vmax=30, absorption=True)
    assert r.value == pytest.approx(7.0, abs=0.1)


def test_errors():
    f, y = spectrum()
    with pytest.raises(VelocitySearchError, match="no line"):
        find_velocity(f, y, [300000.0], vmin=-10, vmax=10)
    with pytest.raises(VelocitySearchError, match="range"):
        find_velocity(f, y, LINES, vmin=10, vmax=-10)
    with pytest.raises(VelocitySearchError, match="kind"):
        find_velocity(f, y, LINES, kind="speed")


def test_cli_vlsr_on_the_co_sample(capsys):
    from cassis_lite.cli import main
    lis = str(SAMPLES / "I16293_Synthetic_CO.lis")
    assert Path(lis).is_file()
    assert main(["vlsr", lis, "--species", "CO", "--vmin", "-30", "--vmax", "30", "--fwhm", "5",
                 "--format", "json"]) == 0
    import json
    d = json.loads(capsys.readouterr().out)
    # the CASSIS team's LTE fit of this file gives v_lsr = 3.816 km/s
    assert d["value"] == pytest.approx(3.816, abs=max(3 * d["error"], 0.03))
    assert d["n_lines"] >= 2
    assert main(["vlsr", lis, "--lines", "576267.9305", "--vmin", "-30", "--vmax", "30"]) == 0
    assert capsys.readouterr().out.startswith("v_lsr = 3.8")
    assert main(["vlsr", lis]) == 2
    assert "--species or --lines" in capsys.readouterr().err


def test_ch3cn_profile_vlsr_agrees_with_the_lte_fit():
    """Cross-correlation with the CH3CN lines of the database vs the LTE fit of the same file."""
    from cassis_lite.analysis.vlsr import species_line_weights
    from cassis_lite.fitting.lte_fit import fit_lte
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.readers import read_spectrum
    db = LineDatabase()
    assert any(s.tag == 41505 for s in db.species()), "CH3CN (tag 41505) is not in the line database"
    sp = read_spectrum(str(SAMPLES / "41505_28502_147_220GHz.txt"))
    lines, w = species_line_weights(db, "CH3CN", 140000, 230000, tex_k=100.0, fwhm_kms=3.0, eup_max_k=150)
    r = find_velocity(sp.freq_mhz, sp.intensity, lines, weights=w, vmin=-30, vmax=30, fwhm_kms=3.0,
                      vlsr_file_kms=sp.vlsr_kms)
    cfg = {"components": [{"name": "c1", "tex_k": {"value": 60.0, "min": 10, "max": 300},
                           "fwhm_kms": {"value": 3.0, "min": 0.5, "max": 15},
                           "vlsr_kms": {"value": 4.0, "min": 0, "max": 10},
                           "species": [{"species": "CH3CN", "ntot_cm2": {"value": 1e14, "min": 1e11, "max": 1e19},
                                        "eup_max_k": 150}]}],
           "fit": {"windows_kms": [-3, 9]}}
    fit = fit_lte(sp.freq_mhz, sp.intensity, cfg, db, vlsr_file_kms=sp.vlsr_kms).params["c1_vlsr"]
    assert abs(r.value - fit.value) < 3 * math.hypot(r.error, fit.stderr) + 0.02
