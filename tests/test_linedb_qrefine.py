"""Refined partition functions (cassis_lite/linedb/qrefine.py) against independent level sums.

Each family gets Q(T) summed here from published constants (rotational constants of the CDMS
documentation / the papers it cites; atomic levels from NIST ASD), with the nuclear-spin
statistics of the catalogue (read off its g_up), never from the database's levels. At each
temperature checked the catalogue's log-log interpolation (CASSIS's convention) is off by more
than 0.1 %, and the refined Q is within 0.1 % of the independent sum: the test fails if the
refinement does nothing. The asymmetric top (H2CO, CDMS 30501) is in tests/test_fulldb.py (its
lines are in the full catalogue only).
"""

from __future__ import annotations

import math
import sqlite3

import numpy as np
import pytest

from cassis_lite.constants import CM1_TO_MHZ, HK_MHZ
from cassis_lite.errors import PartitionRangeError, QueryError
from cassis_lite.linedb import LineDatabase, qrefine
from paths import ROOT

K_MHZ = 1.0 / HK_MHZ  # kT / h per K, MHz
BUNDLED = ROOT / "cassis_lite" / "data" / "cassis_lite.db"


@pytest.fixture(scope="module")
def db():
    return LineDatabase(BUNDLED)


def rotor_q(t_k, energies_mhz, weights):
    """sum g exp(-E / kT), energies in MHz (h nu)."""
    t = np.atleast_1d(np.asarray(t_k, dtype=float))[:, None]
    return (np.asarray(weights)[None, :] * np.exp(-np.asarray(energies_mhz)[None, :] / (K_MHZ * t))).sum(axis=1)


def linear_q(t_k, b_mhz, d_mhz, jmax=150):
    j = np.arange(jmax + 1)
    x = j * (j + 1.0)
    return rotor_q(t_k, b_mhz * x - d_mhz * x * x, 2 * j + 1)


def symmetric_top_q(t_k, a_mhz, b_mhz, dj, djk, dk, g_k, jmax=120):
    """Prolate symmetric top, E = B J(J+1) + (A-B) K^2 - D_J J^2(J+1)^2 - D_JK J(J+1) K^2 - D_K K^4;
    each (J, |K|) has weight (2J+1) g_k(K) (g_k includes the two signs of K != 0)."""
    e, g = [], []
    for j in range(jmax + 1):
        k = np.arange(j + 1)
        x = j * (j + 1.0)
        e.append(b_mhz * x + (a_mhz - b_mhz) * k**2 - dj * x * x - djk * x * k**2 - dk * k**4)
        g.append((2 * j + 1) * g_k(k))
    return rotor_q(t_k, np.concatenate(e), np.concatenate(g))


def ch3cn_vibration(t_k):
    """(1 - exp(-h nu8 / kT))^-2, nu8 = 365.024 cm-1 (doubly degenerate bending mode of CH3CN)."""
    return (1.0 - np.exp(-365.024 * CM1_TO_MHZ / (K_MHZ * np.asarray(t_k, dtype=float)))) ** -2


def relative(a, b):
    return float(a) / float(b) - 1.0


def check_family(pf_ref, pf_cat, q_indep, temps):
    """At each T: the catalogue interpolation is off by > 0.1 %, the refined Q within 0.1 %."""
    for t, qi in zip(temps, q_indep):
        old, new = relative(pf_cat.q(t), qi), relative(pf_ref.q(t), qi)
        assert abs(old) > 1e-3, (t, old)
        assert abs(new) < 1e-3, (t, new, old)
        # and the refined Q is within its own stated uncertainty (+ the independent model's 0.02 %)
        assert abs(new) <= pf_ref.relative_error(t) + 2e-4, (t, new, pf_ref.relative_error(t))


def test_linear_co_against_a_rigid_rotor_with_distortion(db):
    # CDMS entry 28503 (CO, v=0): B = 57635.968 MHz, D = 0.18350 MHz; no nuclear spin (12C, 16O),
    # g = 2J+1 (the catalogue's g_up: 3 for J = 1-0, 5 for 2-1); v=1 at 3084 K: nothing below 100 K
    temps = [3.0, 4.0, 10.0, 30.0]
    q = linear_q(temps, 57635.968, 0.18350)
    check_family(db.partition_function("CO"), db.partition_function("CO", partition="catalogue"), q, temps)
    # at 100 K the table interpolation is already good (0.05 %): the refined Q stays as good
    assert abs(relative(db.partition_function("CO").q(100.0), linear_q([100.0], 57635.968, 0.18350)[0])) < 2e-4


def test_symmetric_top_ch3cn_against_a_semi_rigid_rotor(db):
    # CDMS entry 41505 (CH3CN, v=0; Mueller et al. 2015, J. Mol. Spectrosc. 312, 22, and
    # Cazzoli & Puzzarini 2006): B = 9198.899 MHz, D_J = 3.808 kHz, D_JK = 177.41 kHz; A and D_K
    # from the Delta K = 3 infrared loops of Anttila et al. 1993: A = 158099 MHz, D_K = 2.83 MHz.
    # Spin statistics as the catalogue's g_up (6 for 1_0-0_0, 10 for 2_1-1_1, 36 for 4_3-3_3):
    # g_K = 2 for K = 0 and K != 3n, 4 for K = 3n > 0
    with sqlite3.connect(f"file:{BUNDLED}?mode=ro", uri=True) as con:
        g = dict(con.execute("SELECT t.qn, t.gup FROM transitions t JOIN species s ON s.id = t.species_id "
                             "WHERE s.name = 'CH3CN' AND t.qn IN ('1_0 -> 0_0', '2_1 -> 1_1', '4_3 -> 3_3')"))
    assert g == {"1_0 -> 0_0": 6, "2_1 -> 1_1": 10, "4_3 -> 3_3": 36}

    def g_k(k):
        return np.where((k > 0) & (k % 3 == 0), 4, 2)

    # Vibration: the catalogue's Q includes the excited states; v8 = 1 (nu8 = 365.024 cm-1, Koivusaari
    # et al. 1992, doubly degenerate) is 1 % of Q at 100 K: a harmonic factor (1 - e^(-h nu8/kT))^-2
    temps = [3.0, 4.0, 10.0, 30.0, 100.0]
    q = symmetric_top_q(temps, 158099.0, 9198.899, 3.808e-3, 177.41e-3, 2.83, g_k) * ch3cn_vibration(temps)
    pf = db.partition_function("CH3CN")
    check_family(pf, db.partition_function("CH3CN", partition="catalogue"), q, temps)
    # the case: at 30 K the table interpolation is ~0.55 % high (every intensity ~0.55 % low)
    assert relative(db.partition_function("CH3CN", partition="catalogue").q(30.0), q[3]) > 4e-3


@pytest.mark.parametrize("name,levels,temps", [
    # C I 2s2 2p2 3P_0,1,2 (NIST ASD, Haris & Kramida 2017, ApJS 233, 16): 0, 16.41671, 43.41354 cm-1
    # (the laboratory 3P1-3P0 492160.651 MHz and 3P2-3P0 1301502.62 MHz of Yamamoto & Saito 1991);
    # 1D_2 10192.63 cm-1, 1S_0 21648.01 cm-1; g = 2J+1
    ("C", [(0.0, 1), (492160.651 / CM1_TO_MHZ, 3), (1301502.62 / CM1_TO_MHZ, 5), (10192.63, 5), (21648.01, 1)],
     [3.0, 10.0, 30.0, 100.0]),
    # O I 2s2 2p4 3P_2,1,0 (NIST ASD): 0, 158.2685, 226.9850 cm-1 (the laboratory 3P1-3P2 4744777.49 MHz
    # and 3P0-3P1 2060069.09 MHz of Zink et al. 1991); 1D_2 15867.862 cm-1
    ("O", [(0.0, 5), (4744777.49 / CM1_TO_MHZ, 3), ((4744777.49 + 2060069.09) / CM1_TO_MHZ, 1), (15867.862, 5)],
     [50.0, 100.0, 400.0, 700.0]),
])
def test_atoms_against_nist_fine_structure_levels(db, name, levels, temps):
    e = np.array([lv[0] for lv in levels]) * CM1_TO_MHZ
    q = rotor_q(temps, e, [lv[1] for lv in levels])
    check_family(db.partition_function(name), db.partition_function(name, partition="catalogue"), q, temps)


def test_stored_refined_table_is_what_the_core_computes(db):
    # build -> read: the builder's inputs (the catalogue table and the species' lines) through
    # the core again give the stored knots and accuracy
    with sqlite3.connect(f"file:{BUNDLED}?mode=ro", uri=True) as con:
        for name in ("CH3CN", "CO", "C", "SiO, v=0-10", "SO2"):
            sid = db.find_species(name).id
            t, lq = np.array(con.execute("SELECT temperature_k, log10_q FROM partition_function WHERE species_id = ? "
                                         "ORDER BY temperature_k", (sid,)).fetchall()).T
            rows = np.array(con.execute("SELECT freq_mhz, elow_cm, gup FROM transitions WHERE species_id = ?",
                                        (sid,)).fetchall())
            r = qrefine.refine_species(t, lq, rows[:, 1], rows[:, 0], rows[:, 2])
            pf = db.partition_function(name)
            np.testing.assert_allclose(pf.temperatures_k, r.temperatures_k, rtol=1e-12)
            np.testing.assert_allclose(pf.log10_q, r.log10_q, atol=1e-12)
            assert [a[:2] for a in pf.accuracy] == [a[:2] for a in r.accuracy]
            np.testing.assert_allclose([a[2] for a in pf.accuracy], [a[2] for a in r.accuracy], rtol=5e-3)  # 3 digits
            # the table's own nodes are kept (to its rounding) ...
            inside = (t >= pf.t_range_k[0]) & (t <= pf.t_range_k[1])
            np.testing.assert_allclose(pf.log10_q_at(t[inside]), lq[inside], atol=1.5e-4)


def test_stored_knots_reproduce_the_refined_function_to_1e5(db):
    # the cubic spline through 8 knots per octave against the refinement's own function
    with sqlite3.connect(f"file:{BUNDLED}?mode=ro", uri=True) as con:
        sid = db.find_species("CH3CN").id
        t, lq = np.array(con.execute("SELECT temperature_k, log10_q FROM partition_function WHERE species_id = ? "
                                     "ORDER BY temperature_k", (sid,)).fetchall()).T
        rows = np.array(con.execute("SELECT freq_mhz, elow_cm, gup FROM transitions WHERE species_id = ?",
                                    (sid,)).fetchall())
    levels = qrefine.fit_lower_weights(*qrefine.levels_from_lines(rows[:, 1], rows[:, 0], rows[:, 2]), t, lq)
    assert levels is not None
    pf = db.partition_function("CH3CN")
    fine = np.exp(np.linspace(math.log(2.725), math.log(18.75), 400))  # the level-sum range
    x = np.log(t)
    r = lq * math.log(10) - levels.log_q(t)
    spline = qrefine.cubic_spline(x, r)
    direct = (levels.log_q(fine) + spline(np.log(fine))) / math.log(10)
    assert np.max(np.abs(pf.log10_q_at(fine) - direct)) * math.log(10) < qrefine.KNOT_TOLERANCE


def test_no_extrapolation_and_clear_refusals(db):
    pf = db.partition_function("CH3CN")
    lo, hi = pf.t_range_k
    assert lo == 2.725 and hi == 500.0  # the table's range: the levels do not justify more here
    with pytest.raises(PartitionRangeError, match="refined for 2.725-500 K; T = 600 K is outside"):
        pf.q(600.0)
    with pytest.raises(PartitionRangeError, match="tabulated"):
        db.partition_function("CH3CN", partition="catalogue").q(600.0)
    with pytest.raises(QueryError, match="partition must be one of refined, catalogue"):
        db.partition_function("CO", partition="exact")
    # a species without a catalogue table (a LAMDA level sum): the table stands in, and says so
    hcl = db.partition_function("HCl")
    assert hcl.interpolation == "loglog" and "no refined Q" in hcl.basis
    assert hcl.q(30.0) == db.partition_function("HCl", partition="catalogue").q(30.0)


def test_refusal_message_of_a_species_without_partition_function():
    pf = qrefine.RefinedQ  # noqa: F841 (the module is importable alone)
    from cassis_lite.linedb.partition import PartitionFunction

    with pytest.raises(PartitionRangeError, match="would only be a lower bound"):
        PartitionFunction("X", np.zeros(0), np.zeros(0)).q(10.0)


def test_old_database_without_refined_tables_reads_the_catalogue_table(db, tmp_path):
    import shutil

    old = tmp_path / "old.db"
    shutil.copy(BUNDLED, old)
    with sqlite3.connect(old) as con:
        con.execute("DROP TABLE partition_refined")
        con.execute("DROP TABLE partition_accuracy")
    pf = LineDatabase(old).partition_function("CO")
    assert pf.interpolation == "loglog" and "no refined Q" in pf.basis
    assert pf.q(30.0) == db.partition_function("CO", partition="catalogue").q(30.0)
