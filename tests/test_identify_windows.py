"""Identification of a spectrum of several windows reads the line database window by window.

A spectrum of two 2 GHz windows far apart (an ALMA-like set-up of two sidebands) is identified
against the bundled database and against the full catalogue (build/full.db, tests/test_fulldb.py
builds it if missing): the lines between the windows touch no channel, so reading them changes
nothing but the bytes. The bytes SQLite reads from the file are counted as tests/test_fulldb.py
does (/proc/self/io ``rchar`` around the call, in a child process: SQLite reads one page per
pread), on a fresh connection after a first call has imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cassis_lite.analysis.identify import LteSetup, identify_spectrum
from cassis_lite.linedb import LineDatabase
from cassis_lite.lte import compute_spectrum
from tests.test_fulldb import full_path  # noqa: F401  (the built full catalogue)

ROOT = Path(__file__).resolve().parent.parent
#: two windows of 20,000 channels at 100 kHz, 18.5 GHz apart; species of the bundled database
GRID = np.concatenate([88000.0 + 0.1 * np.arange(20_000), 108500.0 + 0.1 * np.arange(20_000)])
TRUTH = {"HCN": 5e13, "HCO+": 3e13, "CH3OH, vt=0-2": 1e15, "C18O": 3e15, "13CO": 3e16}
#: band 6 (218-220 and 230.5-232.5 GHz), species of the full catalogue
GRID_FULL = np.concatenate([218000.0 + 0.1 * np.arange(20_000), 230500.0 + 0.1 * np.arange(20_000)])
TRUTH_FULL = {"C18O": 3e15, "SO": 1e15, "HNCO v=0": 1e15, "OCS": 1e16, "CH3OH, vt=0-2": 1e16}
CASES = {"bundled": (GRID, TRUTH), "full": (GRID_FULL, TRUTH_FULL)}
SETUP = {"tex_k": 40.0, "fwhm_kms": 3.0}
RMS = 0.02

CHILD = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from test_identify_windows import CASES, SETUP, spectrum
from cassis_lite.analysis.identify import LteSetup, identify_spectrum, line_candidates
from cassis_lite.linedb import LineDatabase
def rchar():
    return int(next(l for l in open('/proc/self/io') if l.startswith('rchar')).split()[1])
setup = LteSetup(**SETUP)
grid, truth = CASES[sys.argv[3]]
y = spectrum(LineDatabase(sys.argv[1], immutable=True), grid, truth)
identify_spectrum(grid, y, LineDatabase(sys.argv[1], immutable=True), setup)  # imports everything it needs
db = LineDatabase(sys.argv[1], immutable=True)
read_q, pf = [0], db.partition_function
def counted_pf(*args, **kwargs):
    q0 = rchar(); out = pf(*args, **kwargs); read_q[0] += rchar() - q0
    return out
db.partition_function = counted_pf
r0 = rchar(); res = identify_spectrum(grid, y, db, setup); r1 = rchar()
db = LineDatabase(sys.argv[1], immutable=True)
r2 = rchar(); line_candidates(res.features, db, setup); r3 = rchar()
db = LineDatabase(sys.argv[1], immutable=True)
r4 = rchar(); db.transitions(grid[0], grid[-1]); r5 = rchar()
print(json.dumps({"identify": r1 - r0, "partition": read_q[0], "candidates": r3 - r2, "span": r5 - r4,
                  "species": sorted(res.species_names())}))
"""


def spectrum(db, grid=GRID, truth=TRUTH) -> np.ndarray:
    cfg = {"components": [{"name": "c1", "tex_k": SETUP["tex_k"], "fwhm_kms": SETUP["fwhm_kms"], "vlsr_kms": 0.0,
                           "species": [{"species": k, "ntot_cm2": v} for k, v in truth.items()]}]}
    return compute_spectrum(cfg, grid, db).intensity + np.random.default_rng(3).normal(0, RMS, grid.size)


def bytes_read(path, case: str) -> dict:
    """Bytes read by identify_spectrum, by line_candidates of its features, and by the lines of the
    whole span (what the single query of the span read), each on a fresh connection."""
    return json.loads(subprocess.run([sys.executable, "-c", CHILD, os.fspath(path), str(ROOT / "tests"), case],
                                     check=True, capture_output=True, text=True, cwd=ROOT).stdout)


@pytest.fixture(scope="module")
def db():
    return LineDatabase()


def test_the_lines_read_are_those_of_the_windows(db):
    """window_transitions: the span's lines that lie within the windows (+ the margin), nothing
    between them; one window: the span query itself."""
    from cassis_lite.analysis.identify import window_transitions

    margin = 1 + 18.0 / 299792.458
    t = window_transitions(db, GRID, 1.0, margin)
    span = db.transitions(GRID[0] / margin, GRID[-1] * margin)
    inside = np.zeros(len(span), dtype=bool)
    for lo, hi in ((GRID[0], GRID[19_999]), (GRID[20_000], GRID[-1])):
        inside |= (span.freq_mhz >= lo / margin) & (span.freq_mhz <= hi * margin)
    assert 0 < inside.sum() < 0.5 * len(span)
    assert np.array_equal(t.freq_mhz, span.freq_mhz[inside]) and np.array_equal(t.species_id, span.species_id[inside])
    one = GRID[:20_000]
    assert np.array_equal(window_transitions(db, one, 1.0, margin).freq_mhz,
                          db.transitions(one[0] / margin, one[-1] * margin).freq_mhz)


def test_identification_of_two_windows(db):
    """The species and column densities of the truth, from the windows' lines."""
    res = identify_spectrum(GRID, spectrum(db), db, LteSetup(**SETUP))
    assert set(res.species_names()) == set(TRUTH)
    for e in res.species:
        assert e.ntot_cm2 == pytest.approx(TRUTH[e.species], rel=0.15)
    assert len(res.features) == 5 and len(res.unexplained) == 0


@pytest.mark.site
@pytest.mark.slow
def test_against_the_full_catalogue_two_windows_read_their_lines_only(full_path):  # noqa: F811
    """Against the full catalogue (frequency-ordered, read by range in the browser): identification
    and the candidate table read far fewer bytes of lines than the span's lines (4 of 14.5 GHz),
    the same species found. The candidates' partition functions (their refined tables, a few KB
    a species wherever the windows are) are counted apart."""
    out = bytes_read(full_path, "full")
    assert out["species"] == sorted(TRUTH_FULL)
    assert out["span"] > 500_000, out
    assert 0 < out["partition"] < out["identify"], out
    assert out["identify"] - out["partition"] < 0.5 * out["span"], out
    assert out["candidates"] < 0.5 * out["span"], out
