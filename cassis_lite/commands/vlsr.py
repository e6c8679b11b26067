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
    from cassis_lite.constants import C_LIGHT_KMS
    from cassis_lite.readers import read_spectrum
    from cassis_lite.vlsr import VelocitySearchError, find_velocity, species_line_weights

    sp = read_spectrum(args.file)
    if (args.species is None) == (args.lines is None):
        raise VelocitySearchError("give either --species or --lines")
    kind = "redshift" if args.redshift else "vlsr"
    weights = None
    if args.species is not None:
        from cassis_lite.linedb import LineDatabase
        db = LineDatabase(args.db)
        f0, f1 = float(sp.freq_mhz[0]), float(sp.freq_mhz[-1])
        if kind == "vlsr":
            lo = f0 / (1 - (args.vmin - sp.vlsr_kms) / C_LIGHT_KMS)
            hi = f1 / (1 - (args.vmax - sp.vlsr_kms) / C_LIGHT_KMS)
        else:
            lo, hi = f0 * (1 + args.zmin), f1 * (1 + args.zmax)
        lines, weights = species_line_weights(db, args.species, min(lo, hi), max(lo, hi), args.tex,
                                              args.fwhm, args.eup_max)
    else:
        lines = args.lines
    res = find_velocity(sp.freq_mhz, sp.intensity, lines, weights=weights, kind=kind, vmin=args.vmin,
                        vmax=args.vmax, zmin=args.zmin, zmax=args.zmax, fwhm_kms=args.fwhm,
                        vlsr_file_kms=sp.vlsr_kms, rms=args.rms, absorption=args.absorption)
    if args.format == "json":
        json.dump(res.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(res.report() + "\n")
    return 0
