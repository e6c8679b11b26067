"""``cassis-lite species``, ``cassis-lite lines`` and ``cassis-lite partition``."""

from __future__ import annotations

import json
import math
import sys

from cassis_lite.linedb import LineDatabase
from cassis_lite.readers.writers import TRANSITION_CSV_COLUMNS as CSV_COLUMNS
from cassis_lite.readers.writers import write_transitions_csv

OUTPUT_FORMATS = ("table", "csv", "json", "votable", "fits")


def add_output_options(p) -> None:
    """--format, -o/--output and --serialization of a command that writes a line table."""
    p.add_argument("--format", choices=OUTPUT_FORMATS, default=None,
                   help="output format (default: from the -o extension .csv .json .vot .xml .fits, else table)")
    p.add_argument("-o", "--output", metavar="FILE", default=None, help="output file (default: stdout)")
    p.add_argument("--serialization", choices=("tabledata", "binary2"), default="tabledata",
                   help="VOTable data encoding (default tabledata)")


def add_db_option(p) -> None:
    p.add_argument("--db", metavar="PATH", default=None,
                   help="line database file (default: the bundled one, or $CASSIS_LITE_DB)")


def register(subparsers) -> None:
    p = subparsers.add_parser("species", help="list or search the species of the line database",
                              description="List species whose name or formula contains TEXT, or whose tag is TEXT.")
    p.add_argument("text", nargs="?", default=None, metavar="TEXT")
    add_db_option(p)
    p.set_defaults(func=run_species)

    p = subparsers.add_parser("lines", help="transitions in a frequency range (a line search)",
                              description="Transitions with FMIN <= frequency <= FMAX (MHz, or --unit), sorted by "
                                          "frequency; the same search as the app's Line search card "
                                          "(cassis_lite.linedb.search).")
    p.add_argument("--fmin", type=float, required=True, metavar="X")
    p.add_argument("--fmax", type=float, required=True, metavar="X")
    p.add_argument("--unit", default="MHz", metavar="UNIT", help="unit of the range: MHz (default), GHz, um, A...")
    p.add_argument("--frame", choices=("rest", "observed"), default=None,
                   help="the range is rest or observed (default: observed if --vlsr or --z is given)")
    p.add_argument("--vlsr", type=float, default=0.0, metavar="KM/S", help="source velocity (radio convention)")
    p.add_argument("--z", type=float, default=0.0, metavar="Z", help="source redshift")
    p.add_argument("--species", nargs="+", default=None, metavar="NAME_OR_TAG")
    p.add_argument("--eup-max", type=float, default=None, metavar="K", help="keep E_up <= K")
    p.add_argument("--aij-min", type=float, default=None, metavar="S-1", help="keep A_ij >= S-1")
    p.add_argument("--smu2-min", type=float, default=None, metavar="D2", help="keep S mu^2 >= D2 (Debye^2)")
    p.add_argument("--lgint-min", type=float, default=None, metavar="LOG",
                   help="keep log10 I(300 K) >= LOG (CDMS/JPL catalogue intensity, nm^2 MHz)")
    p.add_argument("--source", nargs="+", default=None, metavar="DATABASE",
                   help="CDMS, JPL, LAMDA, Morton2003, 'JPL (Splatalogue)', 'SLAIM (Splatalogue)', 'van Hoof'...")
    p.add_argument("--sort", default=None, metavar="COLUMN",
                   help="sort by freq_mhz, freq_obs_mhz, species, eup_k, aij, smu2_d2, lgint300, source or qn "
                        "(--sort=-COLUMN: descending)")
    add_output_options(p)
    add_db_option(p)
    p.set_defaults(func=run_lines)

    p = subparsers.add_parser("partition", help="partition function Q(T) of a species",
                              description="Q(T): refined (the catalogue's table refined with its levels, "
                              "with its estimated uncertainty) or catalogue (log-log interpolation of the "
                              "tabulated log10 Q, as CASSIS does).")
    p.add_argument("species", metavar="NAME_OR_TAG")
    p.add_argument("--tex", type=float, nargs="+", required=True, metavar="K")
    p.add_argument("--partition", choices=("refined", "catalogue"), default="refined",
                   help="refined (default) or catalogue (CASSIS's interpolation of the table)")
    add_db_option(p)
    p.set_defaults(func=run_partition)


def _q_range(db: LineDatabase, sp) -> str:
    pf = db.partition_function(sp)
    if pf.temperatures_k.size == 0:
        return "-"
    lo, hi = pf.t_range_k
    return f"{pf.method} {lo:g}-{hi:g} K"


def run_species(args) -> int:
    db = LineDatabase(args.db)
    found = db.species(args.text)
    rows = [(s.name, "" if s.tag is None else str(s.tag), s.formula, s.source, str(s.n_lines), _q_range(db, s))
            for s in found]
    _print_table(("name", "tag", "formula", "source", "lines", "Q(T)"), rows)
    print(f"{len(found)} species", file=sys.stderr)
    return 0


def search_from_args(args):
    """The line search (:func:`cassis_lite.linedb.search.search_lines`) of ``cassis-lite lines``."""
    from cassis_lite.linedb.search import search_lines

    db = LineDatabase(args.db)
    frame = args.frame or ("observed" if (args.vlsr or args.z) else "rest")
    sort = args.sort or None
    return search_lines(db, args.fmin, args.fmax, unit=args.unit, frame=frame, vlsr_kms=args.vlsr,
                        redshift=args.z, species=args.species, eup_max_k=args.eup_max, aij_min=args.aij_min,
                        smu2_min=args.smu2_min, lgint_min=args.lgint_min, source=args.source,
                        sort=sort.lstrip("-") if sort else None, descending=bool(sort and sort.startswith("-")))


def run_lines(args) -> int:
    found = search_from_args(args)
    q = found.query
    header = {"fmin_mhz": q["rest_fmin_mhz"], "fmax_mhz": q["rest_fmax_mhz"], "frame": q["frame"],
              "vlsr_kms": q["vlsr_kms"], "redshift": q["redshift"], "citations": found.citations}
    write_transitions(found.transitions, args, header, records=found.to_records())
    if not args.output and (args.format or "table") == "table":
        for c in found.citations:
            print(f"{c['database']}: {c['citation']}", file=sys.stderr)
    return 0


def write_transitions(t, args, json_header: dict, records: list | None = None) -> None:
    """Write a line table (``Transitions``) as ``args.format`` (table, csv, json, votable, fits;
    by default from the ``args.output`` extension) to ``args.output`` or stdout."""
    from cassis_lite.errors import CassisError
    from cassis_lite.vo import exports

    fmt = args.format or exports.format_from_path(args.output, "table")
    if fmt in ("votable", "fits"):
        data = exports.export("lines", t, fmt, getattr(args, "serialization", "tabledata"))
        if args.output:
            _write_file(args.output, data)
        elif fmt == "fits" and sys.stdout.isatty():
            raise CassisError("FITS is binary: give -o FILE.fits (or redirect stdout)")
        else:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        return
    import io

    out = io.StringIO() if args.output else sys.stdout
    records = t.to_records() if records is None else records
    if fmt == "json":
        json.dump({**json_header, "count": len(records), "transitions": records}, out, indent=1)
        out.write("\n")
    elif fmt == "csv":
        write_transitions_csv(t, out)
    else:
        rows = [(r["species"], "" if r["tag"] is None else str(r["tag"]), f"{r['freq_mhz']:.4f}",
                 "" if r["err_mhz"] is None else f"{r['err_mhz']:.4f}", f"{r['aij']:.3e}",
                 f"{r['eup_k']:.2f}", f"{r['elow_cm']:.4f}", str(r["gup"]), r["qn"], r["source"])
                for r in records]
        _print_table(CSV_COLUMNS, rows, out)
        print(f"{len(records)} transitions", file=sys.stderr)
    if args.output:
        _write_file(args.output, out.getvalue().encode("utf-8"))


def _write_file(path, data: bytes) -> None:
    from cassis_lite.errors import CassisError

    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise CassisError(f"cannot write {path}: {exc.strerror}") from None


def run_partition(args) -> int:
    db = LineDatabase(args.db)
    pf = db.partition_function(args.species, partition=args.partition)
    for t in args.tex:
        lq = pf.log10_q_at(t)
        err = pf.relative_error(t)
        unc = "" if math.isnan(err) else f"  (+- {100 * err:.2g} %)"
        print(f"{pf.species}  T = {t:g} K  Q = {10 ** lq:.6g}  log10 Q = {lq:.6f}{unc}")
    lo, hi = pf.t_range_k
    extra = f"; truncation {pf.truncation_k:g} K" if pf.truncation_k and not math.isnan(pf.truncation_k) else ""
    kind = "refined" if pf.interpolation == "cubic" else "table"
    print(f"{kind} {lo:g}-{hi:g} K ({len(pf.temperatures_k)} points), {pf.source}{extra}; {pf.basis}",
          file=sys.stderr)
    return 0


def _print_table(header, rows, out=None) -> None:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    (out or sys.stdout).write("\n".join(lines) + "\n")
