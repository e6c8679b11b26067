"""``cassis-lite atomis``: ALMA observations of a molecule's lines in given sources (CASSIS's ATOMIS):
lines -> observed frequencies at each source's v_lsr -> an ObsCore ADQL query of the ALMA archive
(TAP, with pyvo) -> the observations with the lines each covers. ``--adql`` prints the query
without a network; ``--rows FILE`` matches a saved answer (``--save-rows``) offline."""

from __future__ import annotations

import csv
import io
import json
import math
import sys

from cassis_lite.errors import CassisError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "atomis", help="find ALMA archive observations covering the lines of a species in given sources",
        description="Lines of --species (or --lines FILE) shifted to each source's v_lsr, an ObsCore query of the ALMA "
        "archive's TAP service, and the observations with the lines each one covers (docs/vo.md).")
    what = p.add_argument_group("lines")
    what.add_argument("--species", nargs="+", metavar="NAME_OR_TAG", help="species of the line database")
    what.add_argument("--lines", metavar="FILE", help="a line list instead: cassis-lite lines CSV, VOTable or FITS")
    what.add_argument("--eup-max", type=float, metavar="K", help="keep E_up <= K")
    what.add_argument("--aij-min", type=float, metavar="S-1", help="keep A_ij >= S-1")
    what.add_argument("--fmin", type=float, metavar="MHZ", help="rest frequencies from (default 35000, ALMA Band 1)")
    what.add_argument("--fmax", type=float, metavar="MHZ", help="rest frequencies to (default 950000, Band 10)")
    what.add_argument("--db", metavar="PATH", help="line database (default: the bundled one)")
    where = p.add_argument_group("sources")
    where.add_argument("--source", action="append", metavar="'NAME,RA,DEC[,VLSR]'",
                       help="a source, one argument: name, RA (deg or hh:mm:ss), Dec (deg or dd:mm:ss), v_lsr km/s "
                       "(default 0), comma separated (or space separated in quotes); repeat for several")
    where.add_argument("--sources", metavar="FILE.csv", help="sources from CSV: name, ra, dec, vlsr (or z)")
    where.add_argument("--radius", type=float, default=10.0, metavar="ARCSEC", help="search radius (default 10)")
    where.add_argument("--position", choices=("footprint", "centre"), default="footprint",
                       help="footprint: the observed field meets the circle (default); centre: its centre is inside")
    lim = p.add_argument_group("limits")
    lim.add_argument("--resolution-min", type=float, metavar="ARCSEC", help="angular resolution >= this")
    lim.add_argument("--resolution-max", type=float, metavar="ARCSEC", help="angular resolution <= this")
    lim.add_argument("--velocity-resolution-max", type=float, metavar="KMS",
                     help="channel width at the line <= this (km/s)")
    lim.add_argument("--sensitivity-max", type=float, metavar="MJY",
                     help="line sensitivity at 10 km/s <= this (mJy/beam)")
    lim.add_argument("--public-only", action="store_true", help="only observations whose data are public")
    lim.add_argument("--include-calibration", action="store_true", help="keep non-science observations too")
    lim.add_argument("--margin", type=float, default=0.0, metavar="KMS",
                     help="a line must lie this far inside a spectral window (default 0)")
    lim.add_argument("--min-lines", type=int, default=1, metavar="N", help="observations covering >= N lines")
    svc = p.add_argument_group("archive")
    svc.add_argument("--tap-url", default=None, metavar="URL",
                     help="TAP service (default: the ALMA archive, https://almascience.eso.org/tap)")
    svc.add_argument("--profile", choices=("alma", "obscore"), default="alma",
                     help="alma: ALMA's ObsCore columns (default); obscore: only ObsCore 1.1 ones")
    svc.add_argument("--maxrec", type=int, default=10000, metavar="N", help="at most N rows (default 10000)")
    svc.add_argument("--timeout", type=float, default=120.0, metavar="S", help="network timeout (default 120 s)")
    svc.add_argument("--adql", action="store_true", help="print the ADQL query and stop (no network)")
    svc.add_argument("--rows", metavar="FILE", help="match a saved answer (VOTable) instead of querying")
    svc.add_argument("--save-rows", metavar="FILE", help="save the archive's answer (VOTable) for --rows")
    out = p.add_argument_group("output")
    out.add_argument("--format", choices=("table", "csv", "json", "votable"), default=None,
                     help="output format (default: from the -o extension, else table)")
    out.add_argument("-o", "--output", metavar="FILE", help="output file (default: stdout)")
    p.set_defaults(func=run)


def _sources(args):
    from cassis_lite.vo.atomis import AtomisError, parse_source_spec, read_sources_csv

    out = [parse_source_spec(text) for text in args.source or []]
    if args.sources:
        try:
            with open(args.sources, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise AtomisError(f"cannot read {args.sources}: {getattr(exc, 'strerror', None) or exc}") from None
        out += read_sources_csv(text)
    if not out:
        raise AtomisError("give at least one --source 'NAME,RA,DEC[,VLSR]' or --sources FILE.csv")
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise AtomisError(f"source names must be distinct: {names}")
    return out


def _lines(args):
    from cassis_lite.vo.atomis import ALMA_RANGE_MHZ, AtomisError

    fmin = args.fmin if args.fmin is not None else ALMA_RANGE_MHZ[0]
    fmax = args.fmax if args.fmax is not None else ALMA_RANGE_MHZ[1]
    if args.lines:
        if args.species:
            raise AtomisError("give --species or --lines, not both")
        t = read_line_file(args.lines)
        keep = (t.freq_mhz >= fmin) & (t.freq_mhz <= fmax)
        if args.eup_max is not None:
            keep &= t.eup_k <= args.eup_max
        if args.aij_min is not None:
            keep &= t.aij >= args.aij_min
        return t[keep]
    if not args.species:
        raise AtomisError("give --species NAME ... (or --lines FILE)")
    from cassis_lite.linedb import LineDatabase

    return LineDatabase(args.db).transitions(fmin, fmax, species=args.species, eup_max_k=args.eup_max,
                                             aij_min=args.aij_min)


def read_line_file(path):
    """A line list from a file: VOTable, FITS, or the CSV of ``cassis-lite lines``."""
    from cassis_lite.vo.linelist import transitions_from_bytes

    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise CassisError(f"cannot read {path}: {exc.strerror}") from None
    return transitions_from_bytes(data, str(path))


def _query(url: str, adql: str, maxrec: int, timeout: float) -> bytes:
    """The raw VOTable answer of a synchronous TAP query: pyvo when installed, else urllib."""
    try:
        import pyvo  # noqa: F401
        import requests
    except ImportError:
        return _query_urllib(url, adql, maxrec, timeout)
    from pyvo.dal import DALServiceError, TAPService

    class TimeoutSession(requests.Session):
        def request(self, *a, **kw):
            kw.setdefault("timeout", timeout)
            return super().request(*a, **kw)

    try:
        response = TAPService(url, session=TimeoutSession()).create_query(adql, maxrec=maxrec).submit()
        data = response.content
    except (requests.RequestException, DALServiceError, OSError) as exc:
        raise CassisError(f"cannot reach the TAP service {url}: {_reason(exc)} (offline? --rows FILE matches a "
                          "saved answer)") from None
    if response.status_code >= 400 and b"VOTABLE" not in data[:2048].upper():
        raise CassisError(f"the TAP service {url} answered HTTP {response.status_code} {response.reason}")
    return data


def _query_urllib(url: str, adql: str, maxrec: int, timeout: float) -> bytes:
    from cassis_lite.vo.obscore import tap_sync_request

    sync, body = tap_sync_request(url, adql, maxrec)
    return post_tap_sync(sync, body.encode(), timeout, url)


def post_tap_sync(sync_url: str, body: bytes, timeout: float, service: str | None = None) -> bytes:
    """The VOTable answer of a form-encoded synchronous TAP query POSTed to ``sync_url`` (an
    answer with an error VOTable is returned as it is: it says why); CassisError when the service
    cannot be reached or answers no VOTable. Also what ``cassis-lite serve`` relays for the page."""
    import urllib.error
    import urllib.request

    service = service or sync_url
    req = urllib.request.Request(sync_url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read()
    except urllib.error.HTTPError as exc:
        data = exc.read()
        if b"VOTABLE" in data[:2048].upper():
            return data
        raise CassisError(f"the TAP service {service} answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise CassisError(f"cannot reach the TAP service {service}: {_reason(exc)} (offline? --rows FILE matches a "
                          "saved answer)") from None


def _reason(exc) -> str:
    text = str(getattr(exc, "reason", None) or exc).splitlines()[0]
    return text[:200]


def run(args) -> int:
    from cassis_lite.vo import atomis

    sources = _sources(args)
    t = _lines(args)
    limits = atomis.Limits(radius_arcsec=args.radius, position=args.position,
                           spatial_resolution_min_arcsec=args.resolution_min,
                           spatial_resolution_max_arcsec=args.resolution_max,
                           velocity_resolution_max_kms=args.velocity_resolution_max,
                           sensitivity_10kms_max_mjy=args.sensitivity_max, public_only=args.public_only,
                           science_only=not args.include_calibration, margin_kms=args.margin)
    adql = atomis.obscore_adql(t, sources, limits, profile=args.profile)
    if args.adql:
        print(adql)
        return 0
    if args.rows:
        try:
            with open(args.rows, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise CassisError(f"cannot read {args.rows}: {exc.strerror}") from None
    else:
        url = args.tap_url or atomis.ALMA_TAP_URL
        print(f"querying {url} for {len(t)} lines in {len(sources)} source(s)...", file=sys.stderr)
        data = _query(url, adql, args.maxrec, args.timeout)
        if args.save_rows:
            with open(args.save_rows, "wb") as fh:
                fh.write(data)
    from cassis_lite.vo.votable_read import query_status

    matches, rows = atomis.matches_of_answer(data, t, sources, limits, args.min_lines, args.rows or "TAP answer")
    if query_status(data)[0] == "OVERFLOW" or (not args.rows and len(rows) >= args.maxrec):
        print(f"cassis-lite: warning: the archive's answer was truncated at {len(rows)} rows (--maxrec)",
              file=sys.stderr)
    _write(matches, args, {"adql": adql, "rows": len(rows), "lines": len(t)})
    return 0


def _write(matches, args, header: dict) -> None:
    from cassis_lite.vo import atomis
    from cassis_lite.vo.exports import format_from_path

    fmt = args.format or format_from_path(args.output, "table")
    if fmt not in ("table", "csv", "json", "votable"):
        raise CassisError(f"atomis writes table, csv, json or votable, not {fmt}")
    recs = atomis.matches_records(matches)
    if fmt == "votable":
        from cassis_lite.vo.votable_writer import to_xml

        data = to_xml(atomis.matches_table(matches))
    elif fmt == "json":
        clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in recs]
        data = (json.dumps({**header, "count": len(recs), "observations": clean}, indent=1) + "\n").encode()
    else:
        cols = ("source", "proposal_id", "member_ous_uid", "target_name", "band_list", "separation_arcsec",
                "spatial_resolution_arcsec", "velocity_resolution_kms", "sensitivity_10kms_mjy", "data_rights",
                "n_lines", "lines", "access_url")
        buf = io.StringIO()
        if fmt == "csv":
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(cols)
            for r in recs:
                w.writerow([repr(r[c]) if isinstance(r[c], float) else r[c] for c in cols])
        else:
            from cassis_lite.commands.lines import _print_table

            def cell(v):
                return f"{v:.3g}" if isinstance(v, float) else str(v)

            _print_table(cols, [[cell(r[c]) for c in cols] for r in recs], buf)
            print(f"{len(recs)} observation(s) x source(s) covering the lines", file=sys.stderr)
        data = buf.getvalue().encode("utf-8")
    if args.output:
        try:
            with open(args.output, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise CassisError(f"cannot write {args.output}: {exc.strerror}") from None
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
