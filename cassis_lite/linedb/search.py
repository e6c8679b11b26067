"""Line search the way Splatalogue users expect, shared by ``cassis-lite lines`` and the app's
Line search card (one implementation of the query; the app holds widgets only).

- Frequency range in the rest frame, or observed from a source at ``vlsr_kms`` (radio
  convention) and redshift ``z``: the rest range is nu_0 = nu_obs (1 + z) / (1 - v/c)
  (:func:`cassis_lite.units.rest_freq`, the inverse of the shift the plot's line markers use).
  The range may be given in any frequency or wavelength unit (``GHz``, ``um``, ``A``...).
- Species: names, tags or formulas (:meth:`LineDatabase.find_species` and its tie rule);
  :func:`species_variants` lists the isotopologues and states a text may mean.
- Filters: E_up <= ``eup_max_k`` (K), A_ij >= ``aij_min`` (s^-1), S mu^2 >= ``smu2_min``
  (D^2), log10 I(300 K) >= ``lgint_min`` (the CDMS/JPL catalogue intensity, nm^2 MHz), source
  lists (``CDMS``, ``JPL (Splatalogue)``, ``SLAIM (Splatalogue)``, ``van Hoof``...).
  S mu^2 and log10 I(300 K) are computed from A_ij, g_u, E_low and Q(300 K) by
  :func:`~cassis_lite.linedb.formats.aij_to_smu2` / :func:`~cassis_lite.linedb.formats.smu2_to_lgint`;
  a line whose source gives no A_ij or g_u (Lovas/NIST) has no S mu^2, a species without a
  partition function no log10 I: such lines fail a filter on that quantity.
- Each row carries its source list; :attr:`LineSearch.citations` says how to cite them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cassis_lite.errors import QueryError
from cassis_lite.linedb.formats import aij_to_smu2, smu2_to_lgint
from cassis_lite.units import axis_unit_kind, observed_freq, rest_freq, to_freq_mhz

FRAMES = ("rest", "observed")
#: the columns a search may be sorted by (those of :meth:`LineSearch.to_records`)
SORT_COLUMNS = ("freq_mhz", "freq_obs_mhz", "species", "eup_k", "aij", "smu2_d2", "lgint300", "source", "qn")


@dataclass
class LineSearch:
    """The answer of :func:`search_lines`: the transitions (rest frequencies), where they are
    observed, their S mu^2 and log10 I(300 K), and the citations of their source lists."""

    transitions: object  # Transitions
    freq_obs_mhz: np.ndarray
    smu2_d2: np.ndarray
    lgint300: np.ndarray
    citations: list
    query: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.transitions)

    def __getitem__(self, item) -> "LineSearch":
        return LineSearch(self.transitions[item], self.freq_obs_mhz[item], self.smu2_d2[item],
                          self.lgint300[item], self.citations, self.query)

    def sorted(self, column: str = "freq_mhz", descending: bool = False) -> "LineSearch":
        """The rows sorted by ``column`` (:data:`SORT_COLUMNS`), stably; NaN last."""
        if column not in SORT_COLUMNS:
            raise QueryError(f"cannot sort by {column!r}: {', '.join(SORT_COLUMNS)}")
        t = self.transitions
        values = {"freq_mhz": t.freq_mhz, "freq_obs_mhz": self.freq_obs_mhz, "species": t.species_names,
                  "eup_k": t.eup_k, "aij": t.aij, "smu2_d2": self.smu2_d2, "lgint300": self.lgint300,
                  "source": t.sources, "qn": t.qn}[column]
        if values.dtype.kind in "US":
            order = np.argsort(values, kind="stable")
            if descending:
                order = order[::-1]
        else:
            v = np.asarray(values, dtype=float)
            key = -v if descending else v
            order = np.lexsort((key, np.isnan(v)))
        return self[order]

    def to_records(self) -> list[dict]:
        """One dict per line: the columns of ``cassis-lite lines`` plus ``freq_obs_mhz``,
        ``smu2_d2`` and ``lgint300`` (None where unknown) and the source's ``citation``."""
        cite = {c["database"]: c["citation"] for c in self.citations}
        out = self.transitions.to_records()
        for r, fo, s, lg in zip(out, self.freq_obs_mhz, self.smu2_d2, self.lgint300):
            r["freq_obs_mhz"] = float(fo)
            r["smu2_d2"] = None if np.isnan(s) else float(s)
            r["lgint300"] = None if np.isnan(lg) else float(lg)
            r["citation"] = cite.get(r["source"], "")
        return out


def rest_range_mhz(fmin, fmax, unit: str = "MHz", frame: str = "rest", vlsr_kms: float = 0.0,
                   redshift: float = 0.0) -> tuple[float, float]:
    """The rest-frame frequency range (MHz, low to high) of a range given in ``unit``
    (frequency or wavelength) in ``frame`` 'rest' or 'observed' (from a source at ``vlsr_kms``,
    radio convention, and redshift ``redshift``)."""
    if frame not in FRAMES:
        raise QueryError(f"frame must be rest or observed, got {frame!r}")
    try:
        lo, hi = float(fmin), float(fmax)
        v, z = float(vlsr_kms or 0.0), float(redshift or 0.0)
    except (TypeError, ValueError):
        raise QueryError(f"the range, v_lsr and z must be numbers, got {fmin!r}..{fmax!r}") from None
    if not all(np.isfinite((lo, hi, v, z))):
        raise QueryError("the range, v_lsr and z must be finite numbers")
    kind, _ = axis_unit_kind(unit)
    if kind not in ("frequency", "wavelength"):
        raise QueryError(f"a search range is a frequency or a wavelength, not in {unit!r}")
    if lo > hi:
        raise QueryError(f"inverted frequency range: {lo:g} > {hi:g} {unit}")
    if kind == "wavelength" and lo <= 0:
        raise QueryError(f"a wavelength range must be positive, got {lo:g} {unit}")
    if z <= -1 or abs(v) >= 299792.458:
        raise QueryError(f"v_lsr must be below c and z above -1, got v_lsr {v:g} km/s, z {z:g}")
    f = np.sort(to_freq_mhz(np.array([lo, hi]), unit))
    if frame == "observed":
        f = np.sort(rest_freq(f, v, z))
    return float(f[0]), float(f[1])


def search_lines(db, fmin, fmax, unit: str = "MHz", frame: str = "rest", vlsr_kms: float = 0.0,
                 redshift: float = 0.0, species=None, eup_max_k=None, aij_min=None, smu2_min=None,
                 lgint_min=None, source=None, sort: str | None = None, descending: bool = False) -> LineSearch:
    """Lines of ``db`` (a :class:`~cassis_lite.linedb.LineDatabase`) in a range (module
    docstring). The observed frequencies use the same v_lsr and z in either frame."""
    lo, hi = rest_range_mhz(fmin, fmax, unit, frame, vlsr_kms, redshift)
    if isinstance(species, str):
        species = [x.strip() for x in species.split(",") if x.strip()] or None
    if isinstance(source, str):
        source = [source]
    t = db.transitions(lo, hi, species=species, eup_max_k=eup_max_k, aij_min=aij_min,
                       source=list(source) if source else None)
    smu2 = aij_to_smu2(t.aij, t.freq_mhz, t.gup)
    lq = _log10_q300(db, t.species_id)
    lgint = smu2_to_lgint(smu2, t.freq_mhz, t.elow_cm, lq)
    keep = np.ones(len(t), dtype=bool)
    for values, minimum, what in ((smu2, smu2_min, "S mu^2"), (lgint, lgint_min, "log10 I(300 K)")):
        if minimum is not None:
            try:
                m = float(minimum)
            except (TypeError, ValueError):
                raise QueryError(f"{what} minimum must be a number, got {minimum!r}") from None
            keep &= values >= m  # NaN (unknown) fails
    v, z = float(vlsr_kms or 0.0), float(redshift or 0.0)
    if not keep.all():
        t, smu2, lgint = t[keep], smu2[keep], lgint[keep]
    query = {"fmin": fmin, "fmax": fmax, "unit": unit, "frame": frame, "vlsr_kms": v, "redshift": z,
             "rest_fmin_mhz": lo, "rest_fmax_mhz": hi}
    out = LineSearch(t, observed_freq(t.freq_mhz, v, z), smu2, lgint,
                     db.citations(np.unique(t.sources)) if len(t) else [], query)
    return out.sorted(sort, descending) if sort else out


def _log10_q300(db, species_id: np.ndarray) -> np.ndarray:
    """log10 Q(300 K) of each row's species from the catalogue's own table (the Q behind the
    CDMS/JPL catalogue intensity; NaN for a species without a partition function or whose table
    stops below 300 K): one table read per species of the answer."""
    from cassis_lite.errors import CassisError

    out = np.full(species_id.shape, np.nan)
    by_id = {s.id: s for s in db.species()}
    for sid in np.unique(species_id):
        try:
            lq = float(db.partition_function(by_id[int(sid)], partition="catalogue").log10_q_at(300.0))
        except (CassisError, KeyError, ValueError):
            continue
        out[species_id == sid] = lq
    return out


def species_variants(db, text: str, limit: int = 200) -> list:
    """The species ``text`` may mean, for a search box: those whose name or formula contains it
    or whose tag it is, and every isotopologue and state of the molecule it names
    (:func:`cassis_lite.linedb.names.family_key`: ``CH3CN`` lists ``CH3CN v8=1``,
    ``(13)CH3CN``, ``CH3(13)CN``, ``CH2DCN``...). Order: the species a plain name resolves to
    (the tie rule) first, then the main isotopologue's states, ground before excited, then the
    other isotopologues, each by source priority and name."""
    from cassis_lite.errors import CassisError
    from cassis_lite.linedb.database import source_rank
    from cassis_lite.linedb.names import family_key, is_ground_state, parse_species

    q = str(text or "").strip()
    if not q:
        return []
    found = {s.id: s for s in db.species(q)}
    keys = set()
    try:
        keys.add(family_key(q))
    except (ValueError, IndexError):
        pass
    try:
        first = db.find_species(q)
    except CassisError:
        first = None
    if first is not None:
        found[first.id] = first
        keys.add(family_key(first.name))
    keys.discard(None)
    for s in db.species():
        if s.id not in found and keys:
            try:
                k = family_key(s.name)
            except (ValueError, IndexError):
                continue
            if k in keys:
                found[s.id] = s
    try:
        main = parse_species(q).written
    except (ValueError, IndexError):
        main = q

    def order(s):
        try:
            written = parse_species(s.name).written
        except (ValueError, IndexError):
            written = s.name
        return (s is not first, written != main, not is_ground_state(s.name), source_rank(s.source),
                s.name.lower())

    return sorted(found.values(), key=order)[:limit]
