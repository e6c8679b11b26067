"""The SLAP client side (cassis_lite.vo.slap, cassis_lite.vo.linelist) on answers of other services:
the Splatalogue SLAP answer pyvo's tests hold (pyvo 1.9.1, pyvo/dal/tests/data/sla/dataset.xml),
checked against that answer's own redundant columns; error and overflow statuses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvo
from astropy.io.votable import parse_single_table

from cassis_lite.constants import C_LIGHT
from cassis_lite.vo import slap
from cassis_lite.vo.linelist import LineTableError, transitions_from_votable

SPLATALOGUE = Path(pyvo.__file__).parent / "dal" / "tests" / "data" / "sla" / "dataset.xml"


def test_splatalogue_answer_reads_into_transitions():
    data = SPLATALOGUE.read_bytes()
    ref = parse_single_table(SPLATALOGUE).to_table()
    answer = slap.read_answer(data)
    t = answer.transitions
    assert not answer.overflow and len(t) == len(ref) == 21
    order = np.argsort(np.asarray(ref["frequency"]), kind="stable")
    ref = ref[order]
    # frequency column (MHz) and wavelength column (m): the service's two spellings of one value
    np.testing.assert_array_equal(t.freq_mhz, np.asarray(ref["frequency"], float))
    np.testing.assert_allclose(t.freq_mhz, C_LIGHT / np.asarray(ref["wavelength"], float) / 1e6, rtol=1e-9)
    # E_up from the initialLevel.energy column (cm-1, no unit given) against Splatalogue's own K column: they
    # convert with hc/k = 1.438769 cm K (older CODATA), CODATA 2018 gives 1.438777: 6e-6 apart
    np.testing.assert_allclose(t.eup_k, np.asarray(ref["upperstateenergyK"], float), rtol=1e-5)
    np.testing.assert_allclose(t.elow_cm, np.asarray(ref["lowerstateenergy"], float), rtol=1e-6, atol=1e-6)
    # ssldm:Line.einsteinA holds log10 A there
    np.testing.assert_allclose(t.aij, 10.0 ** np.asarray(ref["aij"], float), rtol=1e-12)
    assert t.species_names.tolist() == [str(x) for x in ref["molformula"]]
    assert [q.strip() for q in t.qn.tolist()] == [str(x) for x in ref["QNs"]]  # astropy strips the cells
    assert set(t.sources.tolist()) == {""}  # no source column: the caller labels them


def test_error_and_overflow_statuses(line_db):
    with pytest.raises(slap.SlapError, match="answered an error: WAVELENGTH .* is mandatory"):
        slap.read_answer(slap.answer({"REQUEST": "queryData"}, lambda name: line_db))
    data = slap.answer({"REQUEST": "queryData", "WAVELENGTH": "1e-3/4e-3", "MAXREC": "4"}, lambda name: line_db)
    a = slap.read_answer(data)
    assert a.overflow and len(a.transitions) == 4 and "MAXREC = 4" in a.message
    ref = line_db.transitions(C_LIGHT / 4e-3 / 1e6, C_LIGHT / 1e-3 / 1e6)[:4]
    np.testing.assert_array_equal(a.transitions.freq_mhz, ref.freq_mhz)
    with pytest.raises(LineTableError, match="no frequency"):
        transitions_from_votable(b'<VOTABLE><RESOURCE><TABLE><FIELD name="x" datatype="int"/><DATA><TABLEDATA>'
                                 b'<TR><TD>1</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>')


def test_parse_ranges_and_several_wavelength_ranges(line_db):
    assert slap.parse_ranges("1e-3/2e-3, 3e-3/, /1e-4, 5e-3", "W") == [(1e-3, 2e-3), (3e-3, None), (None, 1e-4),
                                                                       (5e-3, 5e-3)]
    for bad in ("", "a/b", "2/1", "/", "inf/"):
        with pytest.raises(slap.SlapError):
            slap.parse_ranges(bad, "W")
    # two overlapping ranges: each line once, sorted
    lam = lambda f: C_LIGHT / (f * 1e6)  # noqa: E731
    params = {"REQUEST": "queryData", "WAVELENGTH": f"{lam(100000)!r}/{lam(86000)!r},{lam(110000)!r}/{lam(95000)!r}"}
    t = slap.read_answer(slap.answer(params, lambda name: line_db)).transitions
    ref = line_db.transitions(86000, 110000)
    np.testing.assert_array_equal(t.freq_mhz, ref.freq_mhz)
    assert t.qn.tolist() == ref.qn.tolist()
