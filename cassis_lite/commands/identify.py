"""``cassis-lite identify FILE``: which species made which line (automatic identification)."""

from __future__ import annotations

import csv
import json
import sys

from cassis_lite.analysis.options import IdentifyOptions

#: command-line flag of each option (messages name the option as the user typed it)
FLAGS = {"vlsr_kms": "--vlsr", "tex_k": "--tex", "fwhm_kms": "--fwhm", "species": "--species",
         "eup_max_k": "--eup-max", "aij_min": "--aij-min", "rms_k": "--rms", "threshold": "--threshold",
         "size_arcsec": "--size", "diameter_m": "--diameter"}
_DEFAULT = IdentifyOptions()


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "identify", help="identify the species of a spectrum (LTE templates + NNLS)",
        description="Find the features of a spectrum, list the candidate transitions of each, and "
                    "choose the species (with their column densities at the given T_ex, FWHM, "
                    "v_lsr) that best explain it; each species is reported with its evidence.")
    p.add_argument("file", help="spectrum file")
    p.add_argument("--vlsr", type=float, default=None, metavar="KMS",
                   help="source v_lsr (default: the file's v_lsr)")
    p.add_argument("--tex", type=float, default=None, metavar="K", help=f"excitation temperature ({_DEFAULT.tex_k:g})")
    p.add_argument("--fwhm", type=float, default=None, metavar="KMS", help=f"line FWHM ({_DEFAULT.fwhm_kms:g} km/s)")
    p.add_argument("--species", nargs="+", default=None, metavar="NAME_OR_TAG",
                   help="restrict the search to these species")
    p.add_argument("--eup-max", type=float, default=None, metavar="K", help="only lines with E_up <= K")
    p.add_argument("--aij-min", type=float, default=None, metavar="S-1", help="only lines with A_ij >= S-1")
    p.add_argument("--rms", type=float, default=None, metavar="K",
                   help="noise rms (default: robust estimate per spectral window)")
    p.add_argument("--threshold", type=float, default=None, metavar="SIGMA",
                   help=f"feature detection threshold, on the spectrum smoothed to FWHM/2 ({_DEFAULT.threshold:g})")
    p.add_argument("--size", type=float, default=None, metavar="ARCSEC", help="source size (with --diameter)")
    p.add_argument("--diameter", type=float, default=None, metavar="M", help="telescope diameter")
    p.add_argument("--candidates", action="store_true",
                   help="also list the ranked candidate transitions of every feature")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--db", metavar="PATH", default=None,
                   help="line database file (default: the bundled one, or $CASSIS_LITE_DB)")
    p.set_defaults(func=run)


def run(args) -> int:
    from cassis_lite.analysis.requests import identify_request
    from cassis_lite.commands import options_from_args, warn
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.readers import read_spectrum

    options = IdentifyOptions.from_dict(options_from_args(args, FLAGS), FLAGS)
    sp = read_spectrum(args.file)
    db = LineDatabase(args.db)
    d, res, cands, vlsr, _ = identify_request(sp, db, options, candidates=args.candidates or args.format == "json",
                                              warn=warn)
    d["file"] = args.file
    if args.format == "json":
        json.dump(d, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if args.format == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["species", "tag", "ntot_cm2", "tex_k", "delta_chi2", "lines_predicted", "lines_matched",
                    "lines_missing", "strongest_k"])
        for e in res.species:
            w.writerow([e.species, e.tag if e.tag is not None else "", f"{e.ntot_cm2:.4e}", f"{e.tex_k:g}",
                        f"{e.delta_chi2:.1f}", e.lines_predicted, e.lines_matched, e.lines_missing,
                        f"{e.strongest_k:.4g}"])
        return 0
    out = [f"{args.file}: {len(res.features)} features (rms {res.rms:.3g} K), "
           f"{res.n_candidates} candidate species; T_ex {options.tex_k:g} K, FWHM {options.fwhm_kms:g} km/s, "
           f"v_lsr {vlsr:g} km/s"]
    if res.species:
        out.append(f"{'species':<22} {'tag':>6} {'N (cm-2)':>10} {'T_ex':>6} {'dchi2':>10} "
                   f"{'lines seen/predicted':>21} {'missing':>7}")
        for e in res.species:
            out.append(f"{e.species:<22} {e.tag if e.tag is not None else '-':>6} {e.ntot_cm2:>10.3e} {e.tex_k:>6g} "
                       f"{e.delta_chi2:>10.1f} {e.lines_matched:>10d}/{e.lines_predicted:<10d} "
                       f"{e.lines_missing:>7d}")
    else:
        out.append("no species identified")
    if res.rejected:
        out.append("rejected: " + ", ".join(
            f"{e.species} ({e.lines_matched} of {e.lines_predicted} predicted lines seen, "
            f"{e.lines_missing} missing, dchi2 {e.delta_chi2:.1f})" for e in res.rejected))
    if len(res.unexplained):
        out.append(f"unexplained features ({len(res.unexplained)}): " + ", ".join(
            f"{f:.3f} MHz ({p:+.3g} K)" for f, p in zip(res.unexplained.freq_mhz, res.unexplained.peak_k)))
    if res.mismatch is not None and len(res.mismatch):
        out.append(f"model mismatch on identified lines ({len(res.mismatch)}): " + ", ".join(
            f"{f:.3f} MHz ({p:+.3g} K)" for f, p in zip(res.mismatch.freq_mhz, res.mismatch.peak_k)))
    if cands is not None:
        out.append("candidates per feature:")
        for rec, cl in zip(res.features.to_records(), cands):
            out.append(f"  {rec['freq_mhz']:.3f} MHz {rec['peak_k']:+.3g} K (S/N {rec['snr']:.1f}):")
            for c in cl[:5]:
                out.append(f"      {c.species:<20} {c.freq_mhz:.4f} MHz  E_up {c.eup_k:7.1f} K  "
                           f"dv {c.dv_kms:+6.2f} km/s  predicted {c.predicted_k:.3g} K  {c.qn}")
            if not cl:
                out.append("      (no transition within the tolerance)")
    sys.stdout.write("\n".join(out) + "\n")
    return 0
