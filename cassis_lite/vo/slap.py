"""IVOA Simple Line Access Protocol 1.0 (REC-SLAP-1.0-20101209): the service side (a queryData
answered from a :class:`~cassis_lite.linedb.LineDatabase`) and the client side (a query URL, and
the answer of any SLAP service read into ``Transitions``). No network here: the caller fetches.

Service parameters (names case-insensitive, as DAL services take them):

- ``REQUEST=queryData`` (mandatory); ``getCapabilities`` and ``FORMAT=METADATA`` return the
  fields and the input parameters without rows;
- ``WAVELENGTH=min/max`` (mandatory): vacuum wavelength in metres; ``min/`` and ``/max`` are open
  ranges, several ranges are separated by commas, a single value is that wavelength. The bounds
  become frequencies nu = c / lambda with a relative tolerance of 1e-12, so that a bound computed
  from a catalogue frequency keeps that line;
- ``CHEMICAL_ELEMENT=a,b``: species names, formulas or tags, as ``cassis-lite lines --species``
  takes them (``HCO%2B`` or ``HCO+``; a name not found with its ``+`` is tried with ``+`` read
  as a form-encoded space: ``C+II`` is C II);
- ``INITIAL_LEVEL_ENERGY`` / ``FINAL_LEVEL_ENERGY`` (J, ranges): E_up / E_low; ``EINSTEIN_A``
  (s^-1, range);
- ``MAXREC`` (rows, default :data:`DEFAULT_MAXREC`, at most :data:`HARD_MAXREC`): a truncated
  answer ends with ``INFO QUERY_STATUS = OVERFLOW``; ``VERSION=1.0``;
- ``DATABASE`` (this service's extension): ``bundled`` (default) or ``full``.

The answer is a VOTable (RESOURCE type="results", ``INFO QUERY_STATUS`` OK / OVERFLOW / ERROR
with the message) holding the line table of :func:`cassis_lite.vo.tables.lines_table`: the
mandatory ``ssldm:Line.title`` and ``ssldm:Line.wavelength.value`` fields and the columns of
``cassis-lite lines``. Errors are answered with HTTP 200 and QUERY_STATUS=ERROR (DAL 1.0).
"""

from __future__ import annotations

import math
import urllib.parse
from dataclasses import dataclass

import numpy as np

from cassis_lite.constants import C_LIGHT, K_BOLTZMANN
from cassis_lite.errors import CassisError
from cassis_lite.vo.tables import CM1_TO_J, LINE_COLUMNS, lines_table
from cassis_lite.vo.votable_writer import Field, Info, Param, VOTable, to_xml

DEFAULT_MAXREC = 100_000
HARD_MAXREC = 1_000_000
#: relative widening of the bounds converted from wavelength or energy
TOLERANCE = 1e-12
DATABASES = ("bundled", "full")


class SlapError(CassisError):
    """A SLAP request the service refuses, or the ERROR answer of a SLAP service."""


# ------------------------------------------------------------------------------- parameters

def parse_ranges(text: str, name: str) -> list[tuple[float | None, float | None]]:
    """``"a/b,c/"`` -> [(a, b), (c, None)]; a single value ``a`` -> (a, a). Numbers must be
    finite and ``a <= b``."""
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        lo_s, sep, hi_s = part.partition("/")
        try:
            lo = float(lo_s) if lo_s.strip() else None
            hi = (float(hi_s) if hi_s.strip() else None) if sep else lo
        except ValueError:
            raise SlapError(f"{name}: {part!r} is not a number or a range min/max") from None
        for v in (lo, hi):
            if v is not None and not math.isfinite(v):
                raise SlapError(f"{name}: {part!r} is not finite")
        if lo is not None and hi is not None and lo > hi:
            raise SlapError(f"{name}: inverted range {part!r}")
        if lo is None and hi is None:
            raise SlapError(f"{name}: empty range {part!r}")
        out.append((lo, hi))
    if not out:
        raise SlapError(f"{name} is empty")
    return out


def _species_list(text: str) -> list[str]:
    return [item.strip() for item in str(text).split(",") if item.strip()]


def _resolve_species(db, names):
    """Species of the database; a name not found is tried again with '+' read as a space (a
    form-encoded space), so that both ``HCO+`` and ``C+II`` (C II) are understood."""
    from cassis_lite.errors import UnknownSpeciesError

    out = []
    for name in names:
        try:
            out.append(db.find_species(name))
        except UnknownSpeciesError:
            if "+" not in name:
                raise
            try:
                out.append(db.find_species(name.replace("+", " ")))
            except UnknownSpeciesError:
                raise UnknownSpeciesError(f"unknown species {name!r} (nor {name.replace('+', ' ')!r})") from None
    return out


def _maxrec(text) -> int:
    if text is None or str(text).strip() == "":
        return DEFAULT_MAXREC
    try:
        n = int(str(text).strip())
    except ValueError:
        raise SlapError(f"MAXREC must be an integer, got {text!r}") from None
    if n < 0:
        raise SlapError(f"MAXREC must be >= 0, got {n}")
    return min(n, HARD_MAXREC)


@dataclass
class SlapQuery:
    """A parsed queryData: frequency ranges (MHz), species, energy and A_ij ranges, limits."""

    freq_ranges_mhz: list
    species: list | None = None
    eup_k: tuple = (None, None)
    elow_cm: tuple = (None, None)
    aij: tuple = (None, None)
    maxrec: int = DEFAULT_MAXREC
    database: str = "bundled"


def _one_range(params, key, scale, name):
    if key not in params:
        return (None, None)
    ranges = parse_ranges(params[key], name)
    if len(ranges) != 1:
        raise SlapError(f"{name} takes one range")
    lo, hi = ranges[0]
    lo = None if lo is None else lo * scale * (1 - TOLERANCE)
    hi = None if hi is None else hi * scale * (1 + TOLERANCE)
    return (lo, hi)


def parse_query(params: dict) -> SlapQuery:
    """A :class:`SlapQuery` from request parameters (upper-case keys)."""
    if "WAVELENGTH" not in params:
        raise SlapError("WAVELENGTH (min/max in metres) is mandatory")
    freq = []
    for lo, hi in parse_ranges(params["WAVELENGTH"], "WAVELENGTH"):
        if (lo is not None and lo < 0) or (hi is not None and hi <= 0):
            raise SlapError("WAVELENGTH must be positive (metres)")
        fmin = 0.0 if hi is None else C_LIGHT / hi / 1e6 * (1 - TOLERANCE)
        fmax = math.inf if not lo else C_LIGHT / lo / 1e6 * (1 + TOLERANCE)
        freq.append((fmin, fmax))
    species = _species_list(params["CHEMICAL_ELEMENT"]) if params.get("CHEMICAL_ELEMENT", "").strip() else None
    database = params.get("DATABASE", "bundled").strip().lower() or "bundled"
    if database not in DATABASES:
        raise SlapError(f"DATABASE must be one of {', '.join(DATABASES)}, got {database!r}")
    version = params.get("VERSION", "1.0").strip()
    if version and not version.startswith("1"):
        raise SlapError(f"this service speaks SLAP 1.0, not VERSION={version}")
    return SlapQuery(freq_ranges_mhz=freq, species=species,
                     eup_k=_one_range(params, "INITIAL_LEVEL_ENERGY", 1 / K_BOLTZMANN, "INITIAL_LEVEL_ENERGY"),
                     elow_cm=_one_range(params, "FINAL_LEVEL_ENERGY", 1 / CM1_TO_J, "FINAL_LEVEL_ENERGY"),
                     aij=_one_range(params, "EINSTEIN_A", 1.0, "EINSTEIN_A"),
                     maxrec=_maxrec(params.get("MAXREC")), database=database)


def run_query(q: SlapQuery, db):
    """The transitions a query selects, sorted by frequency (all of them: the caller truncates)."""
    from cassis_lite.linedb import Transitions

    parts = []
    species = _resolve_species(db, q.species) if q.species else None
    for fmin, fmax in q.freq_ranges_mhz:
        hi = fmax if math.isfinite(fmax) else 1e12
        parts.append(db.transitions(fmin, hi, species=species, eup_max_k=q.eup_k[1], aij_min=q.aij[0]))
    if len(parts) == 1:
        t = parts[0]
    else:  # overlapping ranges: each transition once
        import dataclasses

        t = Transitions(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                           for f in dataclasses.fields(Transitions)})
        key = np.rec.fromarrays([t.freq_mhz, t.species_id, t.qn])
        _, first = np.unique(key, return_index=True)
        t = t[np.sort(first)]
        t = t[np.lexsort((t.species_id, t.freq_mhz))]
    keep = np.ones(len(t), dtype=bool)
    for values, (lo, hi) in ((t.eup_k, q.eup_k), (t.elow_cm, q.elow_cm), (t.aij, q.aij)):
        if lo is not None:
            keep &= values >= lo
        if hi is not None:
            keep &= values <= hi
    return t if keep.all() else t[keep]


# --------------------------------------------------------------------------------- answers

SERVICE_DESCRIPTION = ("CASSIS lite SLAP 1.0 service: transitions of the CASSIS lite line database "
                       "(CDMS, JPL, LAMDA, Morton 2003 extracts; the full catalogue with DATABASE=full)")

INPUT_PARAMS = (
    ("WAVELENGTH", "m", "em.wl", "vacuum wavelength range min/max (open: min/ or /max; several: a/b,c/d)"),
    ("CHEMICAL_ELEMENT", "", "meta.id;phys.atmol.element", "species names, formulas or catalogue tags, comma separated"),
    ("INITIAL_LEVEL_ENERGY", "J", "phys.energy;phys.atmol.initial", "upper-level energy range min/max"),
    ("FINAL_LEVEL_ENERGY", "J", "phys.energy;phys.atmol.final", "lower-level energy range min/max"),
    ("EINSTEIN_A", "s-1", "phys.atmol.transProb", "Einstein A range min/max"),
    ("MAXREC", "", "meta.number", f"maximum number of rows (default {DEFAULT_MAXREC}, at most {HARD_MAXREC})"),
    ("DATABASE", "", "meta.code", "bundled (default) or full"),
)


def _answer(fields, status: str, message: str = "", trailing: list | None = None, params=()) -> bytes:
    table = VOTable(fields, name="lines", description=SERVICE_DESCRIPTION, params=list(params),
                    infos=[Info("QUERY_STATUS", status, message), Info("SERVICE_PROTOCOL", "1.0", "SLAP")],
                    trailing_infos=trailing or [], groups=[("Line", "ssldm:Line", ["title", "wavelength"])])
    return to_xml(table, "tabledata")


def _empty_fields() -> list[Field]:
    out = []
    for name, (ucd, unit, utype, desc) in LINE_COLUMNS.items():
        dt = "char" if name in ("title", "species", "qn", "source") else "long" if name in ("tag", "gup") else "double"
        out.append(Field(name, [] if dt == "char" else np.zeros(0), dt, unit, ucd, utype, desc,
                         null=-1 if name == "tag" else None, id=name if name in ("title", "wavelength") else None))
    return out


def error_answer(message: str) -> bytes:
    """A QUERY_STATUS=ERROR VOTable with the message."""
    return _answer(_empty_fields(), "ERROR", message)


def metadata_answer() -> bytes:
    """FORMAT=METADATA: the output fields (no rows) and the input parameters as ``INPUT:`` PARAMs."""
    params = [Param(f"INPUT:{n}", "", "char", unit, ucd, "", desc, id=f"INPUT_{n}") for n, unit, ucd, desc in INPUT_PARAMS]
    return _answer(_empty_fields(), "OK", params=params)


def parse_query_string(query: str) -> dict:
    """Request parameters of a query string (or a form-encoded body) as {UPPER-CASE name: value}.

    Values are percent-decoded but a ``+`` is kept (``1e+3``, ``HCO+``, a media type typed in
    a URL); species names are resolved with '+' as a space when the literal name is unknown.
    The last of repeated names wins."""
    out = {}
    for part in str(query).split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        out[urllib.parse.unquote_plus(name).strip().upper()] = urllib.parse.unquote(value)
    return out


def answer(params: dict, get_database) -> bytes:
    """The VOTable answer to a SLAP request. ``params``: {UPPER-CASE name: value};
    ``get_database(name)`` returns the ``LineDatabase`` for 'bundled' or 'full' (and may raise
    :class:`SlapError`, e.g. when no full database is configured)."""
    try:
        request = params.get("REQUEST", "").strip()
        fmt = params.get("FORMAT", "").strip().lower()
        if request.lower() == "getcapabilities" or fmt == "metadata":
            return metadata_answer()
        if request.lower() != "querydata":
            raise SlapError(f"REQUEST must be queryData (or getCapabilities), got {request!r}" if request
                            else "REQUEST=queryData is mandatory")
        if fmt not in ("", "votable", "application/x-votable+xml", "text/xml", "all"):
            raise SlapError(f"FORMAT {fmt!r} not supported: the answer is a VOTable (or FORMAT=METADATA)")
        q = parse_query(params)
        t = run_query(q, get_database(q.database))
    except CassisError as exc:
        return error_answer(str(exc))
    trailing = []
    if len(t) > q.maxrec:
        t = t[:q.maxrec]
        trailing = [Info("QUERY_STATUS", "OVERFLOW", f"truncated to MAXREC = {q.maxrec} rows")]
    table = lines_table(t)
    return _answer(table.fields, "OK", trailing=trailing)


# ---------------------------------------------------------------------------------- client

def query_url(base_url: str, fmin_mhz: float, fmax_mhz: float, species=None, eup_max_k=None, aij_min=None,
              maxrec=None, extra=None) -> str:
    """The queryData URL of a SLAP service for rest frequencies fmin..fmax (MHz): WAVELENGTH in
    metres, CHEMICAL_ELEMENT, INITIAL_LEVEL_ENERGY (J) for E_up <= eup_max_k, EINSTEIN_A for
    A_ij >= aij_min, MAXREC, and ``extra`` parameters (e.g. ``{"DATABASE": "full"}``)."""
    fmin, fmax = float(fmin_mhz), float(fmax_mhz)
    if not (fmin >= 0 and fmax > 0 and fmin <= fmax and math.isfinite(fmax)):
        raise SlapError(f"frequency range must be 0 <= fmin <= fmax, got {fmin_mhz}..{fmax_mhz} MHz")
    lo = repr(C_LIGHT / (fmax * 1e6))
    hi = repr(C_LIGHT / (fmin * 1e6)) if fmin > 0 else ""
    params = [("REQUEST", "queryData"), ("VERSION", "1.0"), ("WAVELENGTH", f"{lo}/{hi}")]
    if species:
        names = [species] if isinstance(species, (str, int)) else list(species)
        params.append(("CHEMICAL_ELEMENT", ",".join(str(s) for s in names)))
    if eup_max_k is not None:
        params.append(("INITIAL_LEVEL_ENERGY", f"/{float(eup_max_k) * K_BOLTZMANN!r}"))
    if aij_min is not None:
        params.append(("EINSTEIN_A", f"{float(aij_min)!r}/"))
    if maxrec is not None:
        params.append(("MAXREC", str(int(maxrec))))
    params += list((extra or {}).items())
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote, safe="/,")
    base = base_url.rstrip("&")
    sep = "" if base.endswith("?") else "&" if "?" in base else "?"
    return base + sep + query


@dataclass
class SlapAnswer:
    """A SLAP service's answer: the lines, whether it was truncated, its status message."""

    transitions: object
    overflow: bool
    message: str = ""


def read_answer(data, source: str | None = None, label: str = "SLAP answer") -> SlapAnswer:
    """The answer of a SLAP service (any: ours, Splatalogue's...) as ``Transitions``; raises
    :class:`SlapError` with the service's message for QUERY_STATUS=ERROR."""
    from cassis_lite.vo.linelist import transitions_from_votable
    from cassis_lite.vo.votable_read import query_status

    status, message = query_status(data)
    if status == "ERROR":
        raise SlapError(f"the SLAP service answered an error: {message or '(no message)'}")
    if status not in ("OK", "OVERFLOW"):
        raise SlapError(f"the SLAP service answered QUERY_STATUS={status!r}: {message}")
    return SlapAnswer(transitions_from_votable(data, source, label), status == "OVERFLOW", message)
