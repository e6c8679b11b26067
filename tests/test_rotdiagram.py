"""Rotational diagram against the LTE model (an independent code path: sparse Gaussian opacity
profiles + radiative transfer from cassis_lite.lte) and against astropy units/constants."""

import math

import numpy as np
import pytest

from cassis_lite.analysis.rotdiagram import (
    RotationalDiagramError,
    integrate_lines,
    opacity_correction,
    rotational_diagram,
    upper_column_from_area,
)
from cassis_lite.lte.transfer import Layer, LineList, component_opacity, radiative_transfer
from cassis_lite.units import k_per_jy_per_beam as jy_to_k
from paths import SAMPLES

# a K-ladder-like set of lines (CH3CN 12-11 near 220.7 GHz: frequencies, A, g_u, E_up from CDMS)
FREQ = np.array([220747.2617, 220743.0111, 220730.2611, 220709.0165, 220679.2869, 220641.0839])
AIJ = np.array([9.24e-4, 9.17e-4, 8.95e-4, 8.58e-4, 8.07e-4, 7.40e-4])
GUP = np.array([50.0, 50.0, 50.0, 100.0, 50.0, 50.0])
EUP = np.array([68.9, 76.0, 97.4, 133.2, 183.1, 247.4])


def q_powerlaw(t):
    return 0.5 * t**1.5


def lte_areas(ntot, tex, fwhm, freq=FREQ, aij=AIJ, gup=GUP, eup=EUP):
    """Integrated intensities (K km/s) of each line from the LTE model, tcmb = 0, one line at a time."""
    areas = []
    for i in range(freq.size):
        lines = LineList.single(freq[i:i + 1], aij[i:i + 1], eup[i:i + 1], gup[i:i + 1])
        v = np.linspace(-8 * fwhm, 8 * fwhm, 4001)
        grid = np.sort(freq[i] * (1 - v / 299792.458))
        tau = component_opacity(grid, lines, tex, ntot, q_powerlaw(tex), fwhm, 0.0)
        t = radiative_transfer(grid, [Layer(tex, tau)], tcmb_k=0.0)
        dv = np.abs(np.gradient(grid)) / grid * 299792.458
        areas.append(float(np.sum(t * dv)))
    return np.array(areas)


def test_upper_level_column_against_astropy():
    from astropy import constants as c
    from astropy import units as u
    nu = 220747.2617 * u.MHz
    w = 3.2 * u.K * u.km / u.s
    a = 9.24e-4 / u.s
    ref = (8 * math.pi * c.k_B * nu**2 * w / (c.h * c.c**3 * a)).to(u.cm**-2).value
    assert upper_column_from_area(220747.2617, 9.24e-4, 3.2) == pytest.approx(ref, rel=1e-12)


def test_jy_to_k_against_astropy():
    from astropy import units as u
    bmaj, bmin = 1.2, 0.8
    omega = math.pi * (bmaj * u.arcsec) * (bmin * u.arcsec) / (4 * math.log(2))
    nu = 230000 * u.MHz
    ref = (1 * u.Jy / omega).to(u.K, equivalencies=u.brightness_temperature(nu)).value
    assert jy_to_k(230000.0, bmaj, bmin) == pytest.approx(ref, rel=1e-9)


def test_thin_lines_recover_tex_and_ntot():
    areas = lte_areas(1e12, 80.0, 3.0)
    r = rotational_diagram(FREQ, AIJ, GUP, EUP, areas, 1e-3 * areas, q_powerlaw)
    # residual opacity at 1e12 cm-2 is < 1e-3: exact to that level
    assert r.t_rot_k == pytest.approx(80.0, rel=2e-3)
    assert r.ntot_cm2 == pytest.approx(1e12, rel=2e-3)


def test_opacity_correction_recovers_thick_lines():
    areas = lte_areas(3e15, 80.0, 3.0)
    thin = rotational_diagram(FREQ, AIJ, GUP, EUP, areas, 1e-3 * areas, q_powerlaw)
    corr = rotational_diagram(FREQ, AIJ, GUP, EUP, areas, 1e-3 * areas, q_powerlaw,
                              tau_correction=True, fwhm_kms=3.0)
    assert corr.tau.max() > 1.0  # really optically thick
    assert thin.ntot_cm2 < 0.8 * 3e15  # the thin assumption underestimates N
    assert corr.t_rot_k == pytest.approx(80.0, rel=2e-3)
    assert corr.ntot_cm2 == pytest.approx(3e15, rel=3e-3)


def test_opacity_correction_limits():
    assert opacity_correction([1e-10])[0] == pytest.approx(1.0)
    assert opacity_correction([0.01])[0] == pytest.approx(1 + 0.01 / 2 / math.sqrt(2), rel=1e-3)
    # reference: adaptive quadrature of the same integrals
    from scipy.integrate import quad
    def g(x):
        return math.exp(-4 * math.log(2) * x * x)

    for tau0 in (0.3, 3.0, 30.0, 300.0):
        ref = (tau0 * quad(g, -10, 10)[0]) / quad(lambda x: 1 - math.exp(-tau0 * g(x)), -10, 10)[0]
        assert opacity_correction([tau0])[0] == pytest.approx(ref, rel=1e-6)
    # for a line-integrated intensity the correction is smaller than the peak's tau/(1 - e^-tau)
    assert opacity_correction([100.0])[0] < 0.5 * 100.0


def test_uncertainty_coverage_200_trials():
    rng = np.random.default_rng(7)
    areas = lte_areas(1e12, 60.0, 3.0)
    err = 0.05 * areas
    hits_t = hits_n = 0
    for _ in range(200):
        noisy = areas + rng.normal(0, err)
        r = rotational_diagram(FREQ, AIJ, GUP, EUP, noisy, err, q_powerlaw, scale_covar=False)
        hits_t += abs(r.t_rot_k - 60.0) <= r.t_rot_err_k
        hits_n += abs(math.log(r.ntot_cm2 / 1e12)) <= r.ntot_err_cm2 / r.ntot_cm2
    assert abs(hits_t / 200 - 0.683) < 0.1
    assert abs(hits_n / 200 - 0.683) < 0.1


def test_integrate_lines_matches_gaussian_area():
    f = np.linspace(100000, 100010, 2001)
    f0, fwhm = 100005.0, 3.0
    sig = f0 * fwhm / 299792.458 / 2.3548200450309493
    y = 2.0 * np.exp(-0.5 * ((f - f0) / sig) ** 2)
    area, err, n = integrate_lines(f, y, [f0, 200000.0], -10, 10, rms=0.1)
    assert area[0] == pytest.approx(2.0 * fwhm * 1.0644670194312262, rel=1e-4)
    assert n[0] > 0 and err[0] > 0
    assert np.isnan(area[1]) and n[1] == 0


def test_bad_input_messages():
    with pytest.raises(RotationalDiagramError, match="at least 2"):
        rotational_diagram(FREQ[:1], AIJ[:1], GUP[:1], EUP[:1], [1.0], [0.1], q_powerlaw)
    with pytest.raises(RotationalDiagramError, match="same E_up"):
        rotational_diagram(FREQ[:2], AIJ[:2], GUP[:2], [50.0, 50.0], [1.0, 1.0], [0.1, 0.1], q_powerlaw)
    with pytest.raises(RotationalDiagramError, match="positive"):
        rotational_diagram(FREQ[:2], AIJ[:2], GUP[:2], EUP[:2], [1.0, -1.0], [0.1, 0.1], q_powerlaw)
    with pytest.raises(RotationalDiagramError, match="FWHM"):
        rotational_diagram(FREQ[:2], AIJ[:2], GUP[:2], EUP[:2], [1.0, 0.5], [0.1, 0.1], q_powerlaw,
                           tau_correction=True)


def test_cli_rotdiagram_from_table_and_spectrum(tmp_path, capsys):
    import json

    from cassis_lite.cli import main
    from cassis_lite.linedb import LineDatabase
    db = LineDatabase()
    t = db.transitions(200000, 1200000, species=["CO"])
    q = db.partition_function("CO").q
    # thin LTE areas at 40 K, 1e14 cm-2 from the same formula inverted by hand
    nu = 1e14 * t.gup * np.exp(-t.eup_k / 40.0) / q(40.0)
    area = nu / upper_column_from_area(t.freq_mhz, t.aij, 1.0)
    path = tmp_path / "lines.csv"
    rows = ["freq_mhz,aij,gup,eup_k,area_k_kms,area_err_k_kms"]
    rows += [f"{f},{a},{g},{e},{w},{0.01 * w}" for f, a, g, e, w in zip(t.freq_mhz, t.aij, t.gup, t.eup_k, area)]
    path.write_text("\n".join(rows) + "\n")
    assert main(["rotdiagram", "--species", "CO", "--table", str(path), "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["t_rot_k"] == pytest.approx(40.0, rel=1e-6)
    assert d["ntot_cm2"] == pytest.approx(1e14, rel=1e-5)
    # the same areas in Jy/beam km/s for a 2" x 1" beam give the same answer
    jy = area / jy_to_k(t.freq_mhz, 2.0, 1.0)
    rows = ["freq_mhz,aij,gup,eup_k,area_k_kms,area_err_k_kms"]
    rows += [f"{f},{a},{g},{e},{w},{0.01 * w}" for f, a, g, e, w in zip(t.freq_mhz, t.aij, t.gup, t.eup_k, jy)]
    path.write_text("\n".join(rows) + "\n")
    assert main(["rotdiagram", "--species", "CO", "--table", str(path), "--beam", "2", "1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["ntot_cm2"] == pytest.approx(1e14, rel=1e-5)
    lis = str(SAMPLES / "I16293_Synthetic_CO.lis")
    assert main(["rotdiagram", lis, "--species", "CO", "--vmin", "-5", "--vmax", "13"]) == 0
    out = capsys.readouterr().out
    assert "T_rot = " in out and "not covered by the spectrum" in out
    assert main(["rotdiagram", lis, "--species", "CO"]) == 2
    assert "--vmin" in capsys.readouterr().err
