"""Parsers of the real catalogue formats (cassis_lite.linedb.formats), checked against the
format specifications, catalogue identities and independent catalogues."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cassis_lite.constants import CM1_TO_K, CM1_TO_MHZ
from cassis_lite.linedb import formats as F
from linedb_sources import LAMDA, source_text, wheel_files

CDMS_CO_QUERY = "astroquery/linelists/cdms/tests/data/028503 CO, v=0.data"
CDMS_HC7N_QUERY = "astroquery/linelists/cdms/tests/data/099501 HC7N, v=0.data"


# ----------------------------------------------------------------------------- .cat format
@pytest.mark.parametrize("text,value", [
    ("12", 12), (" 5", 5), ("-1", -1), ("A0", 100), ("A9", 109), ("B3", 113), ("Z9", 359),
    ("a0", -10), ("b3", -23), ("A71", 1071), ("B01", 1101), ("  7", 7),
])
def test_decode_letter_coded_integers(text, value):
    # JPL catalogue documentation: A0 = 100, ..., a0 = -10, b0 = -20; GUP uses the same scheme.
    assert F.decode_int(text) == value


def test_decode_rejects_garbage():
    with pytest.raises(F.FormatError):
        F.decode_int("A-")
    with pytest.raises(F.FormatError):
        F.decode_int("  ")


def test_cat_line_with_touching_fields_and_negative_tag():
    # c044505.cat (SiO v=10 J=1-0): ERR/LGINT and DR/ELO have no space between them.
    ln = F.parse_cat_line("   40418.2270  0.0020-27.8955 211765.1703  3 -445051202 110         010         ")
    assert (ln.freq_mhz, ln.err_mhz, ln.lgint, ln.dr, ln.elow_cm, ln.gup) == (40418.227, 0.002, -27.8955, 2, 11765.1703, 3)
    assert ln.tag == -44505 and ln.experimental
    assert ln.qnfmt == 1202 and ln.qn_up == (1, 10) and ln.qn_low == (0, 10)


def test_cat_error_field_touching_frequency_is_not_skipped():
    # JPL HDO answer (multi.data): ERR >= 100 MHz fills its 8 columns and touches FREQ
    text = source_text("astroquery", "astroquery/jplspec/tests/data/multi.data")
    lines = F.parse_cat(text)
    data_rows = [r for r in text.splitlines() if len(r) >= 55 and r[44:51].strip().lstrip("-").isdigit()]
    assert len(lines) == len(data_rows) == 208
    (ln,) = [x for x in lines if x.freq_mhz == 632122.6056]
    assert (ln.err_mhz, ln.lgint, ln.tag, ln.qn_up, ln.qn_low) == (167.9812, -8.4849, 19002, (16, 4, 12), (15, 6, 9))


def test_cat_line_negative_quantum_number():
    # c032504-5Q.cat (CH3OH): a negative QN written '-1' in its two-character field
    ln = F.parse_cat_line("       0.0010  0.0000-20.6318 3   80.0408 44  325041405 5 4 1 0 1   5 4 2 0-1  ")
    assert ln.tag == 32504 and not ln.experimental
    assert ln.qn_up == (5, 4, 1, 0, 1) and ln.qn_low == (5, 4, 2, 0, -1)
    assert ln.qn_text == "5 4 1 0 1 -> 5 4 2 0 -1"


def test_cat_line_wide_quantum_number_layout():
    # c017506.cat (NH3 with hyperfine structure): 95-column lines, 10 QN fields per state
    ln = F.parse_cat_line("   18390.0138  0.0057 -8.2506 3  411.8310 26  175061304 6 1 1 6             6 1 0 5            ")
    assert ln.qn_up == (6, 1, 1, 6) and ln.qn_low == (6, 1, 0, 5)


def test_letter_coded_gup_and_qn_in_real_cdms_answer():
    lines = F.parse_cat(source_text("astroquery", CDMS_HC7N_QUERY), layout="cdms_query")
    assert len(lines) > 10
    first = lines[0]
    assert first.gup == 1071 and first.qn_up == (178,) and first.qn_low == (177,)
    # catalogue identity for HC7N with unresolved 14N hyperfine structure: g_up = 3 (2J + 1)
    for ln in lines:
        assert ln.gup == 3 * (2 * ln.qn_up[0] + 1)
        assert ln.qn_up[0] == ln.qn_low[0] + 1
    # experimental (negative tag) and calculated lines both present in the answer
    assert {ln.experimental for ln in lines} == {True, False}


def test_every_linecat_file_parses_with_consistent_tags():
    expected = {"CH3OH/c032504-5Q.cat": (32504, 38743), "NH3/c017506.cat": (17506, 346),
                "OH/c017507.cat": (17507, 1028), "SiO/c044505.cat": (44505, 1190)}
    for name, (tag, n) in expected.items():
        text = source_text("linecat", f"linecat/data/molecules/{name}")
        lines = F.parse_cat(text)
        assert len(lines) == n == sum(1 for row in text.splitlines() if row.strip())
        assert {abs(ln.tag) for ln in lines} == {tag}
        freqs = np.array([ln.freq_mhz for ln in lines])
        assert np.all(freqs > 0) and np.all(np.diff(freqs) >= 0)  # catalogues are sorted


# ------------------------------------------------------------------------- LGINT -> A_ij
def test_co_1_0_lgint_to_aij_matches_cdms():
    # docs/conventions.md: JPL LGINT -5.0105, lg Q(300) 2.0369 -> A = 7.2035e-08; CDMS lists log10 A = -7.1425
    a = F.lgint_to_aij(-5.0105, 115271.2018, 0.0, 3, 2.0369)
    assert a == pytest.approx(7.2035e-08, rel=2e-4)
    assert math.log10(a) == pytest.approx(-7.1425, abs=5e-4)


def test_jpl_co_intensities_give_cdms_einstein_a():
    """Two catalogues side by side: JPL CO LGINT converted with JPL's own Q(300) against the
    log10 A_ij column of a CDMS answer, for the 8 lines both hold."""
    jpl_q = F.parse_jpl_catdir(source_text("astroquery", "astroquery/jplspec/data/catdir.cat"))
    name, pts = jpl_q[28001]
    assert name == "CO"
    jpl = F.parse_cat(source_text("astroquery", "astroquery/jplspec/tests/data/CO.data"))
    cdms = F.parse_cat(source_text("astroquery", CDMS_CO_QUERY), layout="cdms_query")
    assert len(jpl) == len(cdms) == 8
    assert [ln.freq_mhz for ln in jpl] == [ln.freq_mhz for ln in cdms]
    a = F.lgint_to_aij([ln.lgint for ln in jpl], [ln.freq_mhz for ln in jpl], [ln.elow_cm for ln in jpl],
                       [ln.gup for ln in jpl], dict(pts)[300.0])
    np.testing.assert_allclose(a, 10.0 ** np.array([ln.lgint for ln in cdms]), rtol=2e-3)


def test_lamda_sio_einstein_a_agree_with_cdms_within_1_percent():
    pf = F.parse_cdms_partfunc(source_text("astroquery", "astroquery/linelists/cdms/data/partfunc.cat"))
    cdms = [ln for ln in F.parse_cat(source_text("linecat", "linecat/data/molecules/SiO/c044505.cat"))
            if ln.qn_up[1] == 0 and ln.qn_low[1] == 0]  # v = 0 (QNs are J, v)
    freq = np.array([ln.freq_mhz for ln in cdms])
    a_cdms = F.lgint_to_aij([ln.lgint for ln in cdms], freq, [ln.elow_cm for ln in cdms],
                            [ln.gup for ln in cdms], dict(pf[44505][1])[300.0])
    lam = F.parse_lamda(source_text("spectralradex", LAMDA + "sio.dat"))
    assert len(lam.lines) == 40
    for ln in lam.lines:
        i = int(np.argmin(np.abs(freq - ln.freq_ghz * 1e3)))
        assert abs(freq[i] - ln.freq_ghz * 1e3) < 5.0, ln  # LAMDA rounds SiO to 10 kHz..MHz
        assert ln.aij == pytest.approx(a_cdms[i], rel=0.01)


def test_lamda_co_einstein_a_agree_with_cdms_within_1_percent():
    lam = F.parse_lamda(source_text("spectralradex", LAMDA + "co.dat"))
    cdms = F.parse_cat(source_text("astroquery", CDMS_CO_QUERY), layout="cdms_query")
    for lam_line, c in zip(lam.lines[:8], cdms):
        assert lam_line.freq_ghz * 1e3 == pytest.approx(c.freq_mhz, abs=1e-3)
        assert lam_line.aij == pytest.approx(10.0 ** c.lgint, rel=0.01)


# ------------------------------------------------------------------------ partition tables
def test_cdms_partfunc_table():
    pf = F.parse_cdms_partfunc(source_text("astroquery", "astroquery/linelists/cdms/data/partfunc.cat"))
    assert len(pf) > 1300
    name, pts = pf[28503]
    assert name == "CO, v=0"
    assert pts[0] == (2.725, 0.1478) and pts[-1] == (1000.0, 2.5595)
    assert dict(pts)[300.0] == 2.0369
    _, hco = pf[29507]  # 'nan' at 1000 K in the file: dropped, not read as a number
    assert max(t for t, _ in hco) == 500.0
    assert all(math.isfinite(q) for _, q in hco)


def test_q_from_lamda_levels_reproduces_cdms_table_for_co():
    """CO: Q summed over LAMDA's 41 levels against CDMS's tabulated Q (independent calculation)."""
    pf = F.parse_cdms_partfunc(source_text("astroquery", "astroquery/linelists/cdms/data/partfunc.cat"))
    lam = F.parse_lamda(source_text("spectralradex", LAMDA + "co.dat"))
    t, q = np.array(pf[28503][1]).T
    mine = F.log10_q_from_levels([lv.energy_cm for lv in lam.levels], [lv.weight for lv in lam.levels], t)
    ok = t <= 500
    np.testing.assert_allclose(mine[ok], q[ok], atol=2e-4)  # table rounded to 1e-4 dex
    # at 1000 K the 41-level ladder (top at 4513 K) misses ~1% of Q: truncation is visible
    assert -0.01 < mine[~ok][0] - q[~ok][0] < -0.001


def test_truncation_temperature_two_level_analytic():
    # top-level fraction 3 e^-x / (1 + 3 e^-x) = 0.01 -> x = ln(297), x = E / kT
    t = F.truncation_temperature([0.0, 10.0], [1.0, 3.0], fraction=0.01)
    assert t == pytest.approx(10.0 * CM1_TO_K / math.log(297.0), rel=1e-6)
    assert F.truncation_temperature([0.0, 1e4], [1.0, 3.0]) == 1000.0  # capped


# ------------------------------------------------------------------------------- LAMDA
def test_lamda_file_with_uncommented_header_line():
    # so2@lowT.dat: "NUMBER OF ENERGY LEVELS" has no '!' in front of it
    text = source_text("spectralradex", LAMDA + "so2@lowT.dat")
    assert "\nNUMBER OF ENERGY LEVELS" in text
    lam = F.parse_lamda(text)
    assert len(lam.levels) == 31 and len(lam.lines) == 74
    assert lam.levels[1].label == "2_0_2"


def test_lamda_quoted_labels_and_weights():
    lam = F.parse_lamda(source_text("spectralradex", LAMDA + "hcn.dat"))
    assert lam.name == "HCN" and lam.weight == 27.0
    assert len(lam.levels) == 26 and len(lam.lines) == 25
    assert lam.levels[1].label == "01" and lam.levels[1].weight == 9.0  # 3 (2J+1): 14N spin
    ln = lam.lines[0]
    assert (ln.up, ln.low, ln.aij, ln.freq_ghz, ln.eup_k) == (2, 1, 2.407e-05, 88.63160220, 4.25)


def test_lamda_every_file_energies_match_frequencies():
    """Catalogue identity E_up - E_low = h nu for every LAMDA line; one known bad level."""
    bad = {}
    names = wheel_files("spectralradex", LAMDA)
    assert len(names) == 34
    for name in names:
        lam = F.parse_lamda(source_text("spectralradex", name), name)
        for ln in lam.lines:
            d = lam.level(ln.up).energy_cm - lam.level(ln.low).energy_cm - ln.freq_ghz * 1e3 / CM1_TO_MHZ
            if abs(d) > max(1e-3 * lam.level(ln.up).energy_cm, 0.05):
                bad.setdefault(name.rsplit("/", 1)[-1], set()).update({ln.up, ln.low})
    # oh2s.dat level 16 (4_4_1) is listed at 114.1776 cm^-1; its 3 lines say 195.66 cm^-1
    assert set(bad) == {"oh2s.dat"} and 16 in bad["oh2s.dat"]


def test_lamda_rejects_truncated_file():
    text = "!MOLECULE\nCO\n!WEIGHT\n28.0\n!NUMBER OF ENERGY LEVELS\n3\n!LEVELS\n1 0.0 1.0 0\n2 3.845 3.0 1\n"
    with pytest.raises(F.FormatError, match="level 3"):
        F.parse_lamda(text, "cut.dat")


# ----------------------------------------------------------------------------- Morton 2003
def test_morton_table_parses_with_wavelength_identity():
    lines = F.parse_morton03(source_text("linetools", "linetools/data/lines/morton03_table2.dat"))
    assert len(lines) > 3000
    assert len({ln.ion for ln in lines}) > 100
    lya = [ln for ln in lines if ln.ion == "H I" and ln.wavelength_vac_a == 1215.6736]
    assert len(lya) == 1 and lya[0].aij == 6.265e8 and (lya[0].gl, lya[0].gu) == (2, 2)
    # identity: lambda_vac = 1 / (E_up - E_low) for every line
    for ln in lines:
        assert 1e8 / (ln.eup_cm - ln.elow_cm) == pytest.approx(ln.wavelength_vac_a, rel=2e-4)
    assert all(ln.aij > 0 for ln in lines)


def test_morton_blank_a_column_taken_from_f():
    lines = F.parse_morton03(source_text("linetools", "linetools/data/lines/morton03_table2.dat"))
    (ln,) = [x for x in lines if x.ion == "O I" and x.wavelength_vac_a == 950.1121]
    # row has no A; f = 6.30e-3: A = 0.6670e16 g_l f / (g_u lambda^2)
    assert ln.aij == pytest.approx(0.6670e16 * 3 * 6.30e-3 / (8 * 950.1121**2), rel=1e-9)


def test_eup_from_elow_and_frequency():
    # E_up = E_low + h nu (K); checked on CO 2-1 from the CDMS answer: E_low 3.8450 cm^-1
    (ln,) = [x for x in F.parse_cat(source_text("astroquery", CDMS_CO_QUERY), layout="cdms_query")
             if x.qn_up == (2,)]
    eup = (ln.elow_cm + ln.freq_mhz / CM1_TO_MHZ) * CM1_TO_K
    assert eup == pytest.approx(16.596, abs=2e-3)  # CDMS lists E_up = 16.5962 K for CO 2-1
