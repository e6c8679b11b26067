"""``cassis-lite cog``: curve of growth of one line, or N and b of an ion from equivalent widths."""

from __future__ import annotations

import csv
import json
import sys

from cassis_lite.errors import OpticalError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "cog", help="curve of growth: equivalent width against log N for a set of b (Voigt, rest frame)",
        description="Rest-frame equivalent widths (mA) of the catalogue line of ION nearest --wrest (vacuum, "
                    "A) for every b and log N given; or, with --fit, log N and b of the ion fitted to the "
                    "equivalent widths of several of its lines (CSV columns wrest_a, ew_ma, ew_err_ma).")
    p.add_argument("--ion", required=True, metavar="ION", help='ion as the line database names it, e.g. "C IV"')
    p.add_argument("--wrest", type=float, default=None, metavar="A", help="vacuum rest wavelength (within 1 A)")
    p.add_argument("--b", type=float, nargs="+", default=None, metavar="KMS", help="Doppler parameters b")
    p.add_argument("--logn", type=float, nargs="+", default=None, metavar="LOGN", help="log10 N (cm^-2)")
    p.add_argument("--fit", metavar="EWS.csv", default=None,
                   help="fit log N and b to these equivalent widths (columns wrest_a, ew_ma, ew_err_ma)")
    p.add_argument("--b-start", type=float, default=10.0, metavar="KMS", help="start value of b for --fit (10)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--db", metavar="PATH", default=None,
                   help="line database file (default: the bundled one, or $CASSIS_LITE_DB)")
    p.set_defaults(func=run)


def _read_ews(path: str):
    cols = ("wrest_a", "ew_ma", "ew_err_ma")
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(row for row in fh if not row.startswith("#")))
    except OSError as exc:
        raise OpticalError(f"cannot read {path}: {exc.strerror}") from None
    if not rows or any(c not in rows[0] for c in cols):
        raise OpticalError(f"{path} needs the columns {', '.join(cols)}")
    try:
        return [[float(r[c]) for r in rows] for c in cols]
    except ValueError as exc:
        raise OpticalError(f"{path}: {exc}") from None


def run(args) -> int:
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.optical import curve_of_growth, fit_curve_of_growth

    db = LineDatabase(args.db)
    if args.fit:
        wrest, ew, err = _read_ews(args.fit)
        res = fit_curve_of_growth(args.ion, wrest, ew, err, b_start_kms=args.b_start, db=db)
        if args.format == "json":
            json.dump(res.to_dict(), sys.stdout, indent=2)
            sys.stdout.write("\n")
        elif args.format == "csv":
            w = csv.writer(sys.stdout, lineterminator="\n")
            w.writerow(["wrest_a", "f_osc", "ew_ma", "ew_err_ma", "model_ew_ma", "x_log_nflambda", "y_log_w_lambda"])
            for d in res.to_dict()["lines"]:
                w.writerow([d["wrest_a"], d["f_osc"], d["ew_ma"], d["ew_err_ma"], f"{d['model_ew_ma']:.6g}",
                            f"{d['x']:.5f}", f"{d['y']:.5f}"])
        else:
            sys.stdout.write(res.report() + "\n")
        return 0
    if args.wrest is None or args.b is None or args.logn is None:
        raise OpticalError("give --wrest, --b and --logn (or --fit EWS.csv)")
    cog = curve_of_growth(args.ion, args.wrest, args.logn, args.b, db=db)
    records = cog.records()
    if args.format == "json":
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.format == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["logn_cm2", "b_kms", "ew_ma"])
        for r in records:
            w.writerow([r["logn_cm2"], r["b_kms"], f"{r['ew_ma']:.8g}"])
    else:
        out = [f"{cog.ion} {cog.wrest_a:.4f} A (vacuum), f = {cog.f_osc:g}, Gamma = {cog.gamma_s:.4g} s-1: "
               "rest-frame W (mA)", f"{'log N':>7} " + " ".join(f"{'b=' + format(b, 'g'):>11}" for b in cog.b_kms)]
        for j, n in enumerate(cog.logn_cm2):
            out.append(f"{n:>7.2f} " + " ".join(f"{cog.ew_ma[i, j]:>11.4f}" for i in range(cog.b_kms.size)))
        sys.stdout.write("\n".join(out) + "\n")
    return 0
