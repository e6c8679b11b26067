"""Our LTE line-centre T_R and tau against RADEX (spectralradex 1.1.5) at very high density.

At n(H2) = 1e14 cm^-3 collisions thermalise every level (RADEX's T_ex equals T_kin to 1e-4 or better), so
RADEX's T_R = (J(T_ex) - J(T_bg)) (1 - exp(-tau)) and its tau are LTE values computed by code
nobody here wrote. Inputs are consistent on both sides: the LAMDA file RADEX reads gives our
frequencies (from its level energies, as RADEX's physics uses them), A_ul, g_u, E_u, and our
Q(T) is the sum over the file's levels (RADEX's LTE populations are normalised over the same
levels). RADEX takes FWHM = 1.0645 x (its Doppler width) in its opacity (1.0645 rounds
sqrt(pi/ln 2)/2), hence a 2.5e-5 difference; the requirement is 1 %, we assert 1e-3.
RADEX runs in its own venv (numpy < 2), built on first use: see radex_env.py.
"""

import numpy as np
import pytest

from cassis_lite.lte import Layer, LineList, component_opacity, radiative_transfer
from lte_catalogues import read_lamda

radex_env = pytest.importorskip("radex_env")

CASES = [  # (LAMDA file, T_kin = T_ex, N, FWHM, T_bg)
    ("co.dat", 100.0, 1e16, 3.0, 2.73),
    ("co.dat", 30.0, 1e18, 1.0, 2.73),  # optically thick low-J lines
    ("hco+.dat", 50.0, 1e14, 2.0, 2.73),
    ("hco+.dat", 20.0, 3e14, 1.0, 5.0),
    ("cs@lique.dat", 40.0, 1e14, 2.0, 2.73),
    ("cs@lique.dat", 15.0, 5e14, 0.5, 2.73),
    ("sio.dat", 150.0, 1e14, 5.0, 2.73),
    ("sio.dat", 60.0, 1e15, 3.0, 10.0),
]


@pytest.fixture(scope="module")
def radex_results():
    models = [{"molfile": f, "tkin": t, "cdmol": n, "linewidth": w, "tbg": tbg, "h2": 1e14,
               "fmin": 50.0, "fmax": 1000.0} for f, t, n, w, tbg in CASES]
    return radex_env.run_radex(models)


@pytest.mark.slow
@pytest.mark.parametrize("case", range(len(CASES)))
def test_line_centre_tr_and_tau_match_radex_lte_limit(case, radex_results):
    molfile, tex, ntot, fwhm, tbg = CASES[case]
    mol = read_lamda(radex_env.lamda_file(molfile))
    lines = mol.lines()
    q = mol.partition_function(tex)
    rows = radex_results[case]
    assert len(rows) >= 4
    n_checked = 0
    for row in rows:
        assert row["tex_k"] == pytest.approx(tex, rel=1e-4)  # LTE reached
        i = int(np.argmin(np.abs(mol.freq_ghz_file - row["freq_ghz"])))
        one = LineList.single(lines.freq_mhz[i:i + 1], lines.aij[i:i + 1], lines.eup_k[i:i + 1], lines.gup[i:i + 1])
        # only the line itself: evaluate its own profile at its centre
        grid = lines.freq_mhz[i:i + 1]
        tau = component_opacity(grid, one, tex, ntot, q, fwhm, 0.0)
        t_r = radiative_transfer(grid, [Layer(tex, tau)], tcmb_k=tbg)
        if row["tau"] < 1e-6 and abs(row["tr_k"]) < 1e-6:
            continue
        assert tau[0] == pytest.approx(row["tau"], rel=1e-3), row
        assert t_r[0] == pytest.approx(row["tr_k"], rel=1e-3, abs=1e-9), row
        n_checked += 1
    assert n_checked >= 4
    assert max(r["tau"] for r in rows) > 0.01


DB_CASES = [("co.dat", "CO"), ("hco+.dat", "HCO+"), ("cs@lique.dat", "CS"), ("sio.dat", "SiO")]


@pytest.mark.slow
@pytest.mark.parametrize("molfile,species", DB_CASES)
def test_database_pipeline_matches_radex_within_1_percent(molfile, species, line_db):
    """The whole chain (config -> our CDMS-built database -> spectrum) against RADEX's LAMDA run.

    Inputs now differ slightly (CDMS frequencies, A from LGINT, interpolated CDMS Q(T) vs LAMDA
    levels): the requirement is 1 %; we measure <= 8e-4.
    """
    from cassis_lite.lte import compute_spectrum

    for tex, ntot, fwhm in [(100.0, 1e16, 3.0), (20.0, 1e15, 1.0)]:
        rows = radex_env.run_radex([{"molfile": molfile, "tkin": tex, "cdmol": ntot, "linewidth": fwhm,
                                     "tbg": 2.73, "h2": 1e14, "fmin": 50.0, "fmax": 700.0}])[0]
        t = line_db.transitions(50e3, 700e3, species=[species])
        rows = [r for r in rows if r["tau"] > 1e-4]
        assert len(rows) >= 3
        grid = np.array([t.freq_mhz[np.argmin(np.abs(t.freq_mhz - 1e3 * r["freq_ghz"]))] for r in rows])
        assert np.abs(grid - 1e3 * np.array([r["freq_ghz"] for r in rows])).max() < 1.0  # same lines
        cfg = {"components": [{"tex_k": tex, "fwhm_kms": fwhm, "species": [{"species": species, "ntot_cm2": ntot}]}]}
        res = compute_spectrum(cfg, grid, line_db, with_tau=True)
        np.testing.assert_allclose(res.tau, [r["tau"] for r in rows], rtol=0.01)
        np.testing.assert_allclose(res.intensity, [r["tr_k"] for r in rows], rtol=0.01)
