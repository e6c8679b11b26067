#!/usr/bin/env python3
"""Accuracy of the partition functions: the catalogue table's log-log interpolation (CASSIS's
convention, ``partition="catalogue"``) and the refined Q (``partition="refined"``,
cassis_lite/linedb/qrefine.py) against independent sums, per species family.

    .venv/bin/python benchmarks/partition_accuracy.py [--full build/full.db]

The independent sums are those of the tests (tests/test_linedb_qrefine.py, tests/test_fulldb.py):
rotors from published constants (CH3CN with its v8 bending mode), atoms from NIST levels, with the catalogue's spin statistics.
H2CO (asymmetric top) needs the full catalogue (``make db-full``); it is left out without it.
Prints, per species and T, Q_indep and the relative errors (%) of both, and the refined Q's own
stated uncertainty.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402

from cassis_lite.constants import CM1_TO_MHZ  # noqa: E402
from cassis_lite.linedb import LineDatabase  # noqa: E402

TEMPS = (10.0, 30.0, 100.0)


def families():
    from test_linedb_qrefine import ch3cn_vibration, linear_q, rotor_q, symmetric_top_q

    def g_k(k):
        return np.where((k > 0) & (k % 3 == 0), 4, 2)

    c_levels = [(0.0, 1), (492160.651 / CM1_TO_MHZ, 3), (1301502.62 / CM1_TO_MHZ, 5), (10192.63, 5), (21648.01, 1)]
    o_levels = [(0.0, 5), (4744777.49 / CM1_TO_MHZ, 3), ((4744777.49 + 2060069.09) / CM1_TO_MHZ, 1), (15867.862, 5)]

    def atom(levels):
        return lambda t: rotor_q(t, np.array([e for e, _ in levels]) * CM1_TO_MHZ, [g for _, g in levels])

    return [("linear", "CO", "bundled", lambda t: linear_q(t, 57635.968, 0.18350)),
            ("symmetric top", "CH3CN", "bundled",
             lambda t: symmetric_top_q(t, 158099.0, 9198.899, 3.808e-3, 177.41e-3, 2.83, g_k) * ch3cn_vibration(t)),
            ("atom", "C", "bundled", atom(c_levels)),
            ("atom", "O", "bundled", atom(o_levels))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", default=str(ROOT / "build" / "full.db"), help="full catalogue (for H2CO)")
    args = ap.parse_args(argv)
    dbs = {"bundled": LineDatabase()}
    rows = families()
    if Path(args.full).is_file():
        from test_fulldb import _asymmetric_top_q

        dbs["full"] = LineDatabase(args.full)
        rows.append(("asymmetric top", "H2CO", "full",
                     lambda t: _asymmetric_top_q(t, 281970.5, 38833.99, 34004.24, 0.0703, 1.3211, 19.39, 3, 1)))
    print(f"{'family':15s} {'species':7s} {'T_K':>6s} {'Q_indep':>10s} {'catalogue_%':>12s} {'refined_%':>10s} "
          f"{'stated_%':>9s}")
    for family, name, where, indep in rows:
        db = dbs[where]
        ref, cat = db.partition_function(name), db.partition_function(name, partition="catalogue")
        q = indep(list(TEMPS))
        for t, qi in zip(TEMPS, q):
            print(f"{family:15s} {name:7s} {t:6g} {qi:10.5g} {100 * (cat.q(t) / qi - 1):+12.3f} "
                  f"{100 * (ref.q(t) / qi - 1):+10.3f} {100 * ref.relative_error(t):9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
