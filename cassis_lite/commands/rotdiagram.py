"""``cassis-lite rotdiagram``: rotational diagram of one species (T_rot, N_tot)."""

from __future__ import annotations

import csv
import json
import sys

from cassis_lite.analysis.rotdiagram import RotationalDiagramError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "rotdiagram", help="rotational diagram: T_rot and N_tot from the lines of one species",
        description="ln(N_u/g_u) against E_up and a weighted straight-line fit. The integrated "
                    "intensities come from a spectrum (each line of the species integrated over "
                    "[vmin, vmax] km/s) or from a CSV table with columns freq_mhz, aij, gup, eup_k, "
                    "area_k_kms, area_err_k_kms.")
    p.add_argument("file", nargs="?", default=None, help="spectrum file (or use --table)")
    p.add_argument("--species", required=True, metavar="NAME_OR_TAG")
    p.add_argument("--table", metavar="LINES.csv", default=None, help="integrated intensities table")
    p.add_argument("--beam", type=float, nargs=2, default=None, metavar=("BMAJ", "BMIN"),
                   help="the table's areas are in Jy/beam km/s for this beam (arcsec): converted to K km/s")
    p.add_argument("--vmin", type=float, default=None, metavar="KMS", help="window start (LSR velocity)")
    p.add_argument("--vmax", type=float, default=None, metavar="KMS", help="window end (LSR velocity)")
    p.add_argument("--rms", type=float, default=None, metavar="K")
    p.add_argument("--calibration", type=float, default=None, metavar="PERCENT", help="(0)")
    p.add_argument("--eup-max", type=float, default=None, metavar="K")
    p.add_argument("--aij-min", type=float, default=None, metavar="S-1")
    p.add_argument("--size", type=float, default=None, metavar="ARCSEC",
                   help="source size: divide by the beam filling factor (needs --diameter)")
    p.add_argument("--diameter", type=float, default=None, metavar="M", help="telescope diameter")
    p.add_argument("--tau-correction", action="store_true", help="correct for line opacity (needs --fwhm)")
    p.add_argument("--fwhm", type=float, default=None, metavar="KMS", help="line FWHM for the opacity")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--db", metavar="PATH", default=None,
                   help="line database file (default: the bundled one, or $CASSIS_LITE_DB)")
    p.set_defaults(func=run)


def _read_table(path):
    cols = ("freq_mhz", "aij", "gup", "eup_k", "area_k_kms", "area_err_k_kms")
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise RotationalDiagramError(f"cannot read {path}: {exc.strerror}") from None
    if not rows or any(c not in rows[0] for c in cols):
        raise RotationalDiagramError(f"{path} needs the columns {', '.join(cols)}")
    try:
        return [[float(r[c]) for r in rows] for c in cols]
    except ValueError as exc:
        raise RotationalDiagramError(f"{path}: {exc}") from None


FLAGS = {"species": "--species", "vmin_kms": "--vmin", "vmax_kms": "--vmax", "rms_k": "--rms",
         "calibration_percent": "--calibration", "eup_max_k": "--eup-max", "aij_min": "--aij-min",
         "size_arcsec": "--size", "diameter_m": "--diameter", "tau_correction": "--tau-correction",
         "fwhm_kms": "--fwhm"}


def run(args) -> int:
    import numpy as np

    from cassis_lite.analysis.options import RotationalDiagramOptions
    from cassis_lite.analysis.requests import measure_lines_request, rotational_diagram_request
    from cassis_lite.analysis.rotdiagram import SpectrumLines
    from cassis_lite.commands import options_from_args, warn
    from cassis_lite.linedb import LineDatabase

    options = RotationalDiagramOptions.from_dict(options_from_args(args, FLAGS), FLAGS)
    db = LineDatabase(args.db)
    pf = db.partition_function(options.species)
    if args.table:
        freq, aij, gup, eup, area, err = (np.asarray(v) for v in _read_table(args.table))
        if args.beam is not None:
            from cassis_lite.units import k_per_jy_per_beam
            k_per_jy = k_per_jy_per_beam(freq, *args.beam)
            area, err = area * k_per_jy, err * k_per_jy
        lines = SpectrumLines(freq, aij, gup, eup, area, err, qn=np.full(len(freq), ""), dropped=[])
    else:
        if args.file is None:
            raise RotationalDiagramError("give a spectrum FILE or --table")
        options.require_window(FLAGS)
        from cassis_lite.readers import read_spectrum
        sp = read_spectrum(args.file)
        lines, _ = measure_lines_request(sp, db, options, warn=warn)
    d, res = rotational_diagram_request(options.species, pf.q, lines, options)
    d["file"] = args.file if args.file else args.table
    if args.format == "json":
        json.dump(d, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    freq, eup, area, err, dropped = lines.freq_mhz, lines.eup_k, lines.area_k_kms, lines.area_err_k_kms, lines.dropped
    out = [f"{args.species}: {len(freq)} lines"]
    out.append(f"{'freq_mhz':>14} {'E_up (K)':>9} {'area (K km/s)':>14} {'ln(Nu/gu)':>10} {'tau':>7}")
    for i in range(len(freq)):
        out.append(f"{freq[i]:>14.4f} {eup[i]:>9.2f} {area[i]:>8.4g} +/- {err[i]:<7.2g}"
                   f"{res.ln_nu_gu[i]:>8.3f} {res.tau[i]:>7.3g}")
    for f, r in dropped:
        out.append(f"dropped {f:.4f} MHz: {r}")
    out.append(res.report())
    sys.stdout.write("\n".join(out) + "\n")
    return 0
