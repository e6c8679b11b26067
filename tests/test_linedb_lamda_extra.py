"""Species added from the LAMDA files of keylimepie 1.2 (13CO, C18O, CH3CN, ...), checked
against independent values: measured rest frequencies, and Einstein A from published dipole
moments through the rigid-rotor / symmetric-top line strengths."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cassis_lite.constants import CM1_TO_K
from cassis_lite.linedb import LineDatabase, default_database_path, formats
from linedb_sources import ROOT, builder

# A_ul = 64 pi^4 nu^3 mu^2 S / (3 h c^3 g_u) = A_CONST nu[MHz]^3 mu[D]^2 S / g_u  (s^-1)
A_CONST = 1.16395e-20
MU_CO_D = 0.11011  # CO dipole moment, Goorvitch 1994, ApJS 95, 535 (same for 13CO and C18O)
MU_CH3CN_D = 3.92197  # Gadhi et al. 1995, J. Mol. Spectrosc. 170, 89


@pytest.fixture(scope="module")
def db():
    d = LineDatabase(default_database_path())
    yield d
    d.close()


@pytest.mark.parametrize("name", ["13CO", "C18O", "13C18O", "CH3CN", "CCH", "CN", "N2H+", "H13CO+",
                                  "DCO+", "o-H2CO", "p-H2CO", "OCS"])
def test_new_species_present_with_provenance(db, name):
    sp = db.find_species(name)
    assert sp.source == "LAMDA" and sp.n_lines >= 30
    prov = db.provenance(name)
    assert prov[0]["role"] == "primary" and prov[0]["file"].startswith("keylimepie-1.2/keylimepie/_aux/")
    t = db.transitions(0, 1e20, species=[sp], source="LAMDA")
    assert len(t) == sp.n_lines


def test_13co_frequencies_against_measurements(db):
    # Cazzoli, Puzzarini & Lapinov 2004, ApJ 611, 615: 13CO J=1-0 at 110201.3543(5) MHz;
    # J=5-4 and 10-9 are the lines of the sample spectrum I16293_Synthetic_CO.lis (550.9 GHz band)
    t = db.transitions(110_000, 110_400, species="13CO")
    assert len(t) == 1 and t.freq_mhz[0] == pytest.approx(110201.3543, abs=2e-3)
    assert t.qn[0] == "1 -> 0" and t.gup[0] == 6 and t.elow_cm[0] == 0.0  # CDMS: 2 (2J+1), 13C spin
    assert len(db.transitions(550_900, 550_950, species="13CO")) == 1
    assert len(db.transitions(1_101_300, 1_101_400, species="13CO")) == 1


@pytest.mark.parametrize("name", ["13CO", "C18O"])
def test_co_isotopologue_einstein_a_from_dipole_moment(db, name):
    # linear rotor, J -> J-1: S = J, g_u = 2J + 1 (times the nuclear-spin weight)
    t = db.transitions(0, 700_000, species=name)  # J <= 6: centrifugal / Herman-Wallis < 1 %
    j = np.array([int(q.split(" -> ")[0]) for q in t.qn])
    spin = 2 if name == "13CO" else 1  # 13C nuclear spin 1/2 (CDMS convention)
    np.testing.assert_array_equal(t.gup, spin * (2 * j + 1))
    a_ref = A_CONST * t.freq_mhz**3 * MU_CO_D**2 * j / (2 * j + 1)
    np.testing.assert_allclose(t.aij, a_ref, rtol=0.01)


def test_ch3cn_k_ladder_against_symmetric_top(db):
    # CH3CN J=12-11 and 8-7 K ladders (sample 41505_28502_147_220GHz.txt)
    t = db.transitions(220_200, 220_800, species="CH3CN")
    jk = [tuple(int(x) for x in q.split(" -> ")[0].split("_")) for q in t.qn]
    assert sorted(k for _, k in jk) == list(range(12)) and {j for j, _ in jk} == {12}
    j, k = np.array(jk).T
    # measured rest frequencies (CDMS 41505, Mueller et al. 2015): the LAMDA file is exact at
    # K = 0 and drifts with K (0.26 MHz = 0.35 km/s at K = 5): fine for identification
    assert t.freq_mhz[k == 0][0] == pytest.approx(220747.2612, abs=0.01)
    ref = {1: 220743.0111, 2: 220730.2611, 3: 220709.0165, 4: 220679.2869, 5: 220641.0839}
    for kk, f in ref.items():
        assert t.freq_mhz[k == kk][0] == pytest.approx(f, abs=0.3)
    # nuclear-spin statistics of a C3v top: K = 3n levels weigh twice K != 3n (and K = 0)
    g = dict(zip(k, t.gup))
    assert g[3] == g[6] == g[9] == 2 * g[0] and g[1] == g[2] == g[4] == g[0]
    # A_ul = A_CONST nu^3 mu^2 (J^2 - K^2) / (J (2J + 1))  (rigid symmetric top)
    a_ref = A_CONST * t.freq_mhz**3 * MU_CH3CN_D**2 * (j**2 - k**2) / (j * (2 * j + 1))
    np.testing.assert_allclose(t.aij, a_ref, rtol=0.01)
    assert "replaced" in db.find_species("CH3CN").note  # the file's K > 0 values were repaired
    t8 = db.transitions(147_000, 147_200, species="CH3CN")
    assert t8.freq_mhz[t8.qn == "8_0 -> 7_0"][0] == pytest.approx(147174.5883, abs=0.02)


def _raw_lamda(name):
    """Levels of a keylimepie LAMDA file, parsed straight from the pinned sdist."""
    b = builder()
    manifest = json.loads((ROOT / "data" / "sources.json").read_text(encoding="utf-8"))
    dist = next(d for d in manifest["distributions"] if d["package"] == "keylimepie")
    path = f"keylimepie-1.2/keylimepie/_aux/{name}"
    raw = b.read_archive(b.fetch(dist), [path])[path].decode("latin-1")
    return formats.parse_lamda(raw, name)


@pytest.mark.parametrize("name, fname, qn, factor", [
    ("CH3CN", "ch3cn.dat", "12_0 -> 11_0", 4),  # (2J+1)/2 in the file, 4 x ... in CDMS 41505
    ("13CO", "13co.dat", "5 -> 4", 2),  # 13C spin 1/2
    ("N2H+", "n2h+.dat", "3 -> 2", 9),  # two 14N, spin 1
])
def test_spin_factor_keeps_level_populations(db, name, fname, qn, factor):
    # Upper-level population g_u exp(-E_u/kT) / Q(T) from the database (g_u x spin factor, CDMS
    # Q table) equals the one from the raw LAMDA file's own levels at 10 and 20 K, where that
    # ladder is complete: two independent data sets (LAMDA levels, CDMS partition function).
    lam = _raw_lamda(fname)
    e = np.array([lv.energy_cm for lv in lam.levels]) * CM1_TO_K
    g = np.array([lv.weight for lv in lam.levels])
    t = db.transitions(0, 1e20, species=name)
    i = int(np.flatnonzero(t.qn == qn)[0])
    up = next(lv for lv in lam.levels if abs(lv.energy_cm * CM1_TO_K - t.eup_k[i]) < 1e-3)
    assert t.gup[i] == pytest.approx(factor * up.weight)
    pf = db.partition_function(name)
    assert pf.method == "table"
    for temp in (10.0, 20.0):
        raw = up.weight * np.exp(-e[up.index - 1] / temp) / np.sum(g * np.exp(-e / temp))
        mine = t.gup[i] * np.exp(-t.eup_k[i] / temp) / pf.q(temp)
        assert mine == pytest.approx(raw, rel=0.02)
