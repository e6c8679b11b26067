"""``cassis-lite rotdiagram``: rotational diagram of one species (T_rot, N_tot)."""

from __future__ import annotations

import csv
import json
import sys

from cassis_lite.rotdiagram import RotationalDiagramError


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
    p.add_argument("--calibration", type=float, default=0.0, metavar="PERCENT")
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


def run(args) -> int:
    import numpy as np

    from cassis_lite.linedb import LineDatabase
    from cassis_lite.lte.beam import dish_beam_arcsec, filling_factor
    from cassis_lite.rotdiagram import measure_species_lines, rotational_diagram

    db = LineDatabase(args.db)
    pf = db.partition_function(args.species)
    dropped = []
    if args.table:
        freq, aij, gup, eup, area, err = (np.asarray(v) for v in _read_table(args.table))
        if args.beam is not None:
            from cassis_lite.rotdiagram import jy_to_k
            k_per_jy = jy_to_k(freq, *args.beam)
            area, err = area * k_per_jy, err * k_per_jy
    else:
        if args.file is None:
            raise RotationalDiagramError("give a spectrum FILE or --table")
        if args.vmin is None or args.vmax is None:
            raise RotationalDiagramError("--vmin and --vmax (LSR velocity window of the lines) are needed")
        from cassis_lite.readers import read_spectrum
        sp = read_spectrum(args.file)
        from cassis_lite.identify import spectrum_in_kelvin
        y, note = spectrum_in_kelvin(sp)
        if note:
            sys.stderr.write(f"cassis-lite: note: {note}\n")
        m = measure_species_lines(sp.freq_mhz, y, db, args.species, args.vmin, args.vmax,
                                  vlsr_file_kms=sp.vlsr_kms, rms=args.rms, eup_max_k=args.eup_max,
                                  aij_min=args.aij_min)
        freq, aij, gup, eup, area, err, dropped = m.freq_mhz, m.aij, m.gup, m.eup_k, m.area_k_kms, \
            m.area_err_k_kms, m.dropped
    ff = 1.0
    if args.size is not None:
        if args.diameter is None:
            raise RotationalDiagramError("--size needs --diameter (telescope) for the beam filling")
        ff = filling_factor(args.size, dish_beam_arcsec(freq, args.diameter))
    res = rotational_diagram(freq, aij, gup, eup, area, err, pf.q, beam_filling=ff,
                             calibration=args.calibration / 100.0, tau_correction=args.tau_correction,
                             fwhm_kms=args.fwhm)
    if args.format == "json":
        d = res.to_dict()
        d["species"] = args.species
        d["dropped"] = [{"freq_mhz": f, "reason": r} for f, r in dropped]
        json.dump(d, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
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
