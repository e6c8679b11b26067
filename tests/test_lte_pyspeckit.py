"""Our LTE spectrum against pyspeckit's ``lte_molecule.generate_model`` on identical inputs.

pyspeckit's width is the 1-sigma velocity width (we pass FWHM / (2 sqrt(2 ln 2))), its
model has no beam dilution and no continuum (ff = 1, T_c = 0 here), it evaluates J(T) at each
channel and the opacity with the rest frequency, as CASSIS does. It loops over lines over all
channels (dense); ours is truncated at 6 sigma, so agreement is to the truncation (1.5e-8).
"""

import astropy.constants as const
import astropy.units as u
import numpy as np
import pytest

from cassis_lite.lte import Layer, LineList, component_opacity, radiative_transfer
from cassis_lite.lte.physics import FWHM_TO_SIGMA
from lte_catalogues import read_lamda

lte_molecule = pytest.importorskip("pyspeckit.spectrum.models.lte_molecule")
radex_env = pytest.importorskip("radex_env")

KB_CGS = const.k_B.cgs.value


def pyspeckit_model(grid, freq, aij, eup_k, gup, q, tex, ntot, fwhm, vlsr, tbg=2.73, tau=False):
    return lte_molecule.generate_model(
        grid * u.MHz, vlsr * u.km / u.s, fwhm * FWHM_TO_SIGMA * u.km / u.s, tex * u.K, ntot * u.cm**-2,
        freq * u.MHz, np.log10(aij), gup, eup_k * KB_CGS, lambda t: q, tbg=tbg, get_tau=tau)


def ours(grid, freq, aij, eup_k, gup, q, tex, ntot, fwhm, vlsr, tbg=2.73):
    tau = component_opacity(grid, LineList.single(freq, aij, eup_k, gup), tex, ntot, q, fwhm, vlsr)
    return radiative_transfer(grid, [Layer(tex, tau)], tcmb_k=tbg), tau


def _compare(grid, lines, q, tex, ntot, fwhm, vlsr):
    args = (lines.freq_mhz, lines.aij, lines.eup_k, lines.gup, q, tex, ntot, fwhm, vlsr)
    t, tau = ours(grid, *args)
    t_ref = pyspeckit_model(grid, *args)
    tau_ref = pyspeckit_model(grid, *args, tau=True)
    assert np.abs(t_ref).max() > 0.01
    assert np.abs(t - t_ref).max() <= 1e-6 * np.abs(t_ref).max()
    assert np.abs(tau - tau_ref).max() <= 1e-6 * np.abs(tau_ref).max()


@pytest.mark.parametrize("molfile,tex,ntot,fwhm,vlsr", [
    ("co.dat", 60.0, 1e17, 4.0, 0.0),
    ("co.dat", 25.0, 1e19, 2.0, 12.5),  # optically thick
    ("hco+.dat", 15.0, 1e13, 0.7, -35.0),
    ("sio.dat", 200.0, 1e15, 20.0, 5.0),
])
def test_lamda_lines_match_pyspeckit(molfile, tex, ntot, fwhm, vlsr):
    mol = read_lamda(radex_env.lamda_file(molfile))
    lines = mol.lines()
    sel = lines[(lines.freq_mhz > 80e3) & (lines.freq_mhz < 700e3)]
    # channels around every line (an irregular grid made of windows) plus a coarse background
    windows = [f * (1 - vlsr / 299792.458) + np.linspace(-4, 4, 801) * f * fwhm / 299792.458 for f in sel.freq_mhz]
    grid = np.unique(np.concatenate(windows + [np.linspace(80e3, 700e3, 5000)]))
    _compare(grid, sel, mol.partition_function(tex), tex, ntot, fwhm, vlsr)


def test_ch3oh_forest_from_the_database_matches_pyspeckit(line_db):
    t = line_db.transitions(241000.0, 242000.0, species=["CH3OH"])
    assert len(t) > 30
    pf = line_db.partition_function("CH3OH")
    tex = 120.0
    lines = LineList.single(t.freq_mhz, t.aij, t.eup_k, t.gup)
    grid = np.linspace(241000.0, 242000.0, 100000)
    _compare(grid, lines, float(pf.q(tex)), tex, 5e16, 3.0, 4.0)
