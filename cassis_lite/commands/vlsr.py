"""``cassis-lite vlsr FILE``: v_lsr (or redshift) by cross-correlation with a line list."""

from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "vlsr", help="find the v_lsr (or redshift) of a spectrum by cross-correlation",
        description="Cross-correlate the spectrum with the lines of a species (weighted by their "
                    "LTE intensity at --tex) or with given rest frequencies, over a velocity (or "
                    "redshift) range; report the best value and its 1-sigma uncertainty.")
    p.add_argument("file", help="spectrum file")
    p.add_argument("--species", default=None, metavar="NAME_OR_TAG", help="use this species' lines")
    p.add_argument("--lines", type=float, nargs="+", default=None, metavar="MHZ",
                   help="rest frequencies to use instead of a species")
    p.add_argument("--vmin", type=float, default=-100.0, metavar="KMS")
    p.add_argument("--vmax", type=float, default=100.0, metavar="KMS")
    p.add_argument("--redshift", action="store_true", help="search a redshift z instead of v_lsr")
    p.add_argument("--zmin", type=float, default=0.0)
    p.add_argument("--zmax", type=float, default=0.1)
    p.add_argument("--tex", type=float, default=100.0, metavar="K", help="T_ex for the line weights")
    p.add_argument("--fwhm", type=float, default=3.0, metavar="KMS", help="expected line FWHM")
    p.add_argument("--eup-max", type=float, default=None, metavar="K")
    p.add_argument("--absorption", action="store_true", help="lines in absorption")
    p.add_argument("--rms", type=float, default=None, metavar="K")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--db", metavar="PATH", default=None,
                   help="line database file (default: the bundled one, or $CASSIS_LITE_DB)")
    p.set_defaults(func=run)


def run(args) -> int:
    from cassis_lite.analysis_requests import velocity_request
    from cassis_lite.readers import read_spectrum
    from cassis_lite.vlsr import VelocitySearchError

    sp = read_spectrum(args.file)
    if (args.species is None) == (args.lines is None):
        raise VelocitySearchError("give either --species or --lines")
    db = None
    if args.species is not None:
        from cassis_lite.linedb import LineDatabase
        db = LineDatabase(args.db)
    d, res = velocity_request(sp, db, species=args.species, lines_mhz=args.lines, redshift=args.redshift,
                              vmin_kms=args.vmin, vmax_kms=args.vmax, zmin=args.zmin, zmax=args.zmax,
                              tex_k=args.tex, fwhm_kms=args.fwhm, eup_max_k=args.eup_max,
                              absorption=args.absorption, rms_k=args.rms)
    if args.format == "json":
        json.dump(d, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(res.report() + "\n")
    return 0
