"""Identification against the real line database: candidate ranking, automatic identification of
synthetic spectra made with the LTE model from known species (precision / recall), the samples."""

import json

import numpy as np
import pytest

from cassis_lite.analysis.features import find_features
from cassis_lite.analysis.identify import LteSetup, identify_spectrum, line_candidates
from cassis_lite.cli import main
from cassis_lite.errors import CassisError
from cassis_lite.linedb import LineDatabase
from cassis_lite.lte import compute_spectrum
from paths import SAMPLES

C = 299792.458

GRID = np.concatenate([np.arange(85000.0, 92000.0, 0.2), np.arange(215000.0, 232000.0, 0.25)])
TEX = 40.0


@pytest.fixture(scope="module")
def db():
    return LineDatabase()


def one(name, n, tex=TEX, fwhm=3.0, vlsr=0.0):
    return {"components": [{"name": "c1", "tex_k": tex, "fwhm_kms": fwhm, "vlsr_kms": vlsr,
                            "species": [{"species": name, "ntot_cm2": n}]}]}


@pytest.fixture(scope="module")
def usable(db):
    """Molecules of the database with a line in GRID that the LTE model can compute at TEX."""
    names = []
    for s in db.species():
        if s.source == "Morton2003" or not len(db.transitions(GRID[0], GRID[-1], species=[s])):
            continue
        try:
            peak = compute_spectrum(one(s.name, 1e12), GRID, db).intensity.max()
        except CassisError:
            continue  # T_ex outside its partition-function table
        if peak > 1e-6:
            names.append((s.name, peak))
    assert len(names) >= 8
    return names


def synthetic(db, usable, rng, rms, snr_range, tex=TEX):
    k = int(rng.integers(2, 5))
    pick = rng.choice(len(usable), size=k, replace=False)
    species = []
    for i in pick:
        name, peak = usable[i]
        species.append({"species": name, "ntot_cm2": 1e12 * rms * rng.uniform(*snr_range) / peak})
    cfg = {"components": [{"name": "c1", "tex_k": tex, "fwhm_kms": 3.0, "vlsr_kms": 0.0,
                           "species": species}]}
    y = compute_spectrum(cfg, GRID, db).intensity + rng.normal(0, rms, GRID.size)
    return y, {usable[i][0] for i in pick}


def precision_recall(db, usable, trials, snr_range, tex_true=TEX, seed=0):
    rng = np.random.default_rng(seed)
    tp = fp = fn = 0
    for _ in range(trials):
        y, truth = synthetic(db, usable, rng, 0.05, snr_range, tex_true)
        found = set(identify_spectrum(GRID, y, db, LteSetup(tex_k=TEX, fwhm_kms=3.0)).species_names())
        tp += len(found & truth)
        fp += len(found - truth)
        fn += len(truth - found)
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def test_precision_recall_on_synthetic_spectra(db, usable):
    p, r = precision_recall(db, usable, trials=8, snr_range=(5, 40))
    assert p >= 0.9 and r >= 0.9


def test_precision_recall_with_wrong_tex(db, usable):
    """Spectra made at 25 K, identified assuming 40 K: still mostly right."""
    p, r = precision_recall(db, usable, trials=6, snr_range=(8, 40), tex_true=25.0, seed=1)
    assert p >= 0.8 and r >= 0.8


def test_template_equals_lte_model(db):
    """The identification model of a single species is the LTE model at the fitted column."""
    y = compute_spectrum(one("HCO+", 2e13), GRID, db).intensity
    res = identify_spectrum(GRID, y + np.random.default_rng(0).normal(0, 0.02, GRID.size), db,
                            LteSetup(tex_k=TEX, fwhm_kms=3.0), species=["HCO+"], baseline=0.0)
    assert res.species_names() == ["HCO+"]
    n = res.species[0].ntot_cm2
    assert n == pytest.approx(2e13, rel=0.02)
    ref = compute_spectrum(one("HCO+", n), GRID, db).intensity
    assert np.allclose(res.model, ref, atol=1e-6 * ref.max())


def test_bright_low_eup_line_outranks_a_closer_forest_line(db):
    """A feature 1 km/s from CO 10-9 and 0.2 km/s from a CH3OH line with E_up 2200 K: CO first."""
    f = np.arange(1151940.0, 1152030.0, 0.1)
    f_feat = 1151981.5
    sig = f_feat * 4.0 / C / 2.3548
    y = 1.0 * np.exp(-0.5 * ((f - f_feat) / sig) ** 2)
    feats = find_features(f, y, rms=0.01)
    assert len(feats) == 1
    cands = line_candidates(feats, db, LteSetup(tex_k=70.0, fwhm_kms=4.0), tolerance_kms=2.0)[0]
    names = [c.species for c in cands]
    assert names[0] == "CO"
    ch3oh = [c for c in cands if c.species.startswith("CH3OH")]
    assert ch3oh and abs(ch3oh[0].dv_kms) < abs(cands[0].dv_kms)
    assert cands[0].predicted_k == pytest.approx(1.0, rel=0.02)  # scaled to the feature
    assert ch3oh[0].predicted_k < 1e-3


def test_sample_lis_finds_co_and_13co(db):
    from cassis_lite.readers import read_spectrum
    sp = read_spectrum(str(SAMPLES / "I16293_Synthetic_CO.lis"))
    res = identify_spectrum(sp.freq_mhz, sp.intensity, db,
                            LteSetup(tex_k=70.0, fwhm_kms=5.0, vlsr_kms=3.8, vlsr_file_kms=3.8))
    has_13co = any(s.tag == 29501 for s in db.species())
    assert set(res.species_names()) == ({"CO", "13CO"} if has_13co else {"CO"})
    co = res.species[0]
    assert co.species == "CO" and co.lines_matched == 2 and co.lines_missing == 0
    # 13CO 5-4 (550926 MHz) and 10-9 (1101350 MHz): explained when 13CO is in the database
    near = [abs(f - 550926.3) < 2 or abs(f - 1101349.6) < 2 for f in res.unexplained.freq_mhz]
    assert sum(near) == (0 if has_13co else 2)


def test_sample_ch3cn_profile(db):
    from cassis_lite.readers import read_spectrum
    sp = read_spectrum(str(SAMPLES / "41505_28502_147_220GHz.txt"))
    res = identify_spectrum(sp.freq_mhz, sp.intensity, db,
                            LteSetup(tex_k=100.0, fwhm_kms=4.0, vlsr_kms=3.0, vlsr_file_kms=3.0))
    assert any(s.tag == 41505 for s in db.species()), "CH3CN (tag 41505) is not in the bundled line database"
    assert any("CH3CN" in n for n in res.species_names())


def test_cli_identify_formats(capsys):
    lis = str(SAMPLES / "I16293_Synthetic_CO.lis")
    assert main(["identify", lis, "--tex", "70", "--fwhm", "5", "--candidates"]) == 0
    out = capsys.readouterr().out
    assert "CO" in out and "28503" in out and "5 -> 4" in out
    assert main(["identify", lis, "--tex", "70", "--fwhm", "5", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0].startswith("species,tag,ntot_cm2") and rows[1].startswith("CO,28503,")
    assert main(["identify", lis, "--tex", "70", "--fwhm", "5", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["species"][0]["species"] == "CO"
    assert any(c["species"] == "CO" for feat in d["features"] for c in feat["candidates"])
    assert main(["identify", lis, "--species", "NoSuchMolecule"]) == 2
    assert "unknown species" in capsys.readouterr().err


def test_spectrum_in_kelvin_against_astropy():
    from astropy import units as u

    from cassis_lite.spectrum import Spectrum

    def spectrum_in_kelvin(sp):
        return sp.intensity_in_kelvin()

    f = np.array([230000.0, 230001.0, 230002.0])
    sp = Spectrum(f, np.array([1.0, 2.0, 3.0]), y_unit="mJy/beam", beam_arcsec=(0.5, 0.4))
    y, note = spectrum_in_kelvin(sp)
    omega = np.pi * (0.5 * u.arcsec) * (0.4 * u.arcsec) / (4 * np.log(2))
    ref = (3e-3 * u.Jy / omega).to(u.K, equivalencies=u.brightness_temperature(f[2] * u.MHz)).value
    assert note is None and y[2] == pytest.approx(ref, rel=1e-9)
    y, note = spectrum_in_kelvin(Spectrum(f, np.ones(3), y_unit="mK"))
    assert note is None and np.allclose(y, 1e-3)
    y, note = spectrum_in_kelvin(Spectrum(f, np.ones(3), y_unit="Jy/beam"))
    assert "without a beam" in note
