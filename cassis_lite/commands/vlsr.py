"""``cassis-lite vlsr FILE``: v_lsr (or redshift) by cross-correlation with a line list."""

from __future__ import annotations

import json
import sys

from cassis_lite.analysis.options import VelocityOptions

FLAGS = {"species": "--species", "lines_mhz": "--lines", "vmin_kms": "--vmin", "vmax_kms": "--vmax",
         "redshift": "--redshift", "zmin": "--zmin", "zmax": "--zmax", "tex_k": "--tex", "fwhm_kms": "--fwhm",
         "eup_max_k": "--eup-max", "absorption": "--absorption", "rms_k": "--rms"}
_DEFAULT = VelocityOptions(lines_mhz=(1.0,))


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
    p.add_argument("--vmin", type=float, default=None, metavar="KMS", help=f"({_DEFAULT.vmin_kms:g})")
    p.add_argument("--vmax", type=float, default=None, metavar="KMS", help=f"({_DEFAULT.vmax_kms:g})")
    p.add_argument("--redshift", action="store_true", help="search a redshift z instead of v_lsr")
    p.add_argument("--zmin", type=float, default=None, help=f"({_DEFAULT.zmin:g})")
    p.add_argument("--zmax", type=float, default=None, help=f"({_DEFAULT.zmax:g})")
    p.add_argument("--tex", type=float, default=None, metavar="K",
                   help=f"T_ex for the line weights ({_DEFAULT.tex_k:g})")
    p.add_argument("--fwhm", type=float, default=None, metavar="KMS",
                   help=f"expected line FWHM ({_DEFAULT.fwhm_kms:g})")
    p.add_argument("--eup-max", type=float, default=None, metavar="K")
    p.add_argument("--absorption", action="store_true", help="lines in absorption")
    p.add_argument("--rms", type=float, default=None, metavar="K")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--db", metavar="PATH", default=None,
                   help="line database file (default: the bundled one, or $CASSIS_LITE_DB)")
    p.set_defaults(func=run)


def run(args) -> int:
    from cassis_lite.analysis.requests import velocity_request
    from cassis_lite.commands import options_from_args
    from cassis_lite.readers import read_spectrum

    options = VelocityOptions.from_dict(options_from_args(args, FLAGS), FLAGS)
    sp = read_spectrum(args.file)
    db = None
    if options.species is not None:
        from cassis_lite.linedb import LineDatabase
        db = LineDatabase(args.db)
    d, res = velocity_request(sp, db, options)
    d["file"] = args.file
    if args.format == "json":
        json.dump(d, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(res.report() + "\n")
    return 0
