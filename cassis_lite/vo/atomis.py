"""ATOMIS: which ALMA observations hold the lines of a molecule in given sources (the workflow of
CASSIS's ATOMIS tool).

1. lines: a ``Transitions`` (from the line database with E_up / A_ij limits, a saved line list or
   a SLAP answer);
2. sources (:class:`Source`: name, RA, Dec, v_lsr or z); each line is observed at
   nu = nu_0 (1 - v_lsr / c) / (1 + z) (radio convention, :func:`cassis_lite.units.observed_freq`);
3. :func:`obscore_adql`: one ADQL query on ``ivoa.obscore``: for each source, the position
   (ALMA: ``INTERSECTS(CIRCLE('ICRS', ra, dec, r), s_region) = 1``, the footprint meets the search
   circle; or ``CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE(...)) = 1``, the pointing centre is in
   it) AND a spectral range near one of its observed lines (``em_min``..``em_max`` meets the line,
   widened for ALMA by the span of a tuning, :data:`ALMA_TUNING_SPAN_MHZ`; more than ``max_ranges``
   intervals are joined across their smallest gaps), then the limits on angular resolution,
   velocity resolution, line sensitivity, data rights;
4. :func:`match_observations`: the rows of the answer (:class:`~cassis_lite.vo.obscore.ObscoreRows`)
   against each source (centre within the radius, plus half the field of view for footprint
   searches: a disc approximation of ``s_region``) and each observed line against the row's
   spectral windows (``frequency_support``): the lines each observation covers, with the
   window's resolution (km/s at the line) and sensitivity; :func:`filter_matches` narrows the table.

Frequencies are compared as the archive gives them (ALMA: sky frequencies of the spectral
windows); the Earth's motion (< 30 km/s, 1e-4 relative) is within ``margin_kms``'s reach.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

import numpy as np

from cassis_lite import units
from cassis_lite.constants import C_LIGHT, C_LIGHT_KMS
from cassis_lite.errors import CassisError
from cassis_lite.vo.obscore import ObscoreRows
from cassis_lite.vo.sky import parse_dec_deg, parse_ra_deg, separation_deg

#: ALMA's TAP service (the ESO mirror; almascience.nrao.edu and .nao.ac.jp serve the same archive)
ALMA_TAP_URL = "https://almascience.eso.org/tap"
#: ALMA receiver coverage, Band 1 (35 GHz) to Band 10 (950 GHz), MHz
ALMA_RANGE_MHZ = (35_000.0, 950_000.0)

ALMA_COLUMNS = ("obs_id", "member_ous_uid", "proposal_id", "target_name", "s_ra", "s_dec", "s_fov", "band_list",
                "em_min", "em_max", "frequency_support", "spatial_resolution", "velocity_resolution",
                "sensitivity_10kms", "data_rights", "obs_release_date", "t_exptime", "access_url",
                "dataproduct_type", "science_observation")
OBSCORE_COLUMNS = ("obs_id", "obs_collection", "target_name", "s_ra", "s_dec", "s_fov", "s_resolution", "em_min",
                   "em_max", "em_res_power", "data_rights", "t_exptime", "access_url", "dataproduct_type")


class AtomisError(CassisError):
    """An archive search that cannot be built: no lines, no sources, bad limits, a bad source file."""


@dataclass(frozen=True)
class Source:
    """A target: ``name``, ICRS position (deg), ``vlsr_kms`` (radio convention), ``redshift``."""

    name: str
    ra_deg: float
    dec_deg: float
    vlsr_kms: float = 0.0
    redshift: float = 0.0

    @classmethod
    def parse(cls, name, ra, dec, vlsr="0", redshift="0") -> "Source":
        """From text: RA in degrees or hh:mm:ss, Dec in degrees or dd:mm:ss."""
        try:
            v, z = float(vlsr or 0.0), float(redshift or 0.0)
        except ValueError:
            raise AtomisError(f"source {name!r}: v_lsr {vlsr!r} / z {redshift!r} are not numbers") from None
        if not (math.isfinite(v) and abs(v) < C_LIGHT_KMS and math.isfinite(z) and z > -1):
            raise AtomisError(f"source {name!r}: v_lsr {v} km/s or z {z} out of range")
        return cls(str(name), parse_ra_deg(ra), parse_dec_deg(dec), v, z)


def parse_source_spec(text: str) -> Source:
    """One source from ``'NAME,RA,DEC[,VLSR]'`` (comma separated, or space separated)."""
    spec = [x.strip() for x in (text.split(",") if "," in text else text.split())]
    if not 3 <= len(spec) <= 4:
        raise AtomisError(f"a source is 'NAME,RA,DEC[,VLSR]', got {text!r}")
    return Source.parse(*spec)


def read_sources_text(text: str) -> list[Source]:
    """Sources typed one per line (``NAME,RA,DEC[,VLSR]``), or a CSV with a header (a first line
    naming its columns: :func:`read_sources_csv`); names must be distinct."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise AtomisError("give at least one source: NAME,RA,DEC[,VLSR]")
    first = {h.strip().lower() for h in lines[0].replace(";", ",").replace("\t", ",").split(",")}
    out = read_sources_csv(text) if first & set(_SOURCE_KEYS["name"]) and first & set(_SOURCE_KEYS["ra"]) \
        else [parse_source_spec(ln) for ln in lines]
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise AtomisError(f"source names must be distinct: {names}")
    return out


_SOURCE_KEYS = {"name": ("name", "source", "target", "object"), "ra": ("ra", "ra_deg", "s_ra", "raj2000"),
                "dec": ("dec", "dec_deg", "s_dec", "dej2000", "decj2000"),
                "vlsr": ("vlsr", "vlsr_kms", "v_lsr", "velocity", "v"), "z": ("z", "redshift")}


def read_sources_csv(text: str) -> list[Source]:
    """Sources from CSV text with a header naming the columns ``name, ra, dec[, vlsr][, z]`` (also
    ``ra_deg``, ``dec_deg``, ``vlsr_kms``, ``redshift``...); ``#`` lines are comments; comma,
    semicolon or tab separated."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise AtomisError("the source file is empty")
    dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t") if any(c in lines[0] for c in ",;\t") else csv.excel
    rows = list(csv.reader(io.StringIO("\n".join(lines)), dialect))
    header = [h.strip().lower() for h in rows[0]]
    idx = {}
    for key, names in _SOURCE_KEYS.items():
        idx[key] = next((header.index(n) for n in names if n in header), None)
    missing = [k for k in ("name", "ra", "dec") if idx[k] is None]
    if missing:
        raise AtomisError(f"the source file needs columns name, ra, dec (and vlsr or z); header: {rows[0]}")
    out = []
    for n, row in enumerate(rows[1:], 2):
        cell = {k: (row[i].strip() if i is not None and i < len(row) else "") for k, i in idx.items()}
        try:
            out.append(Source.parse(cell["name"], cell["ra"], cell["dec"], cell["vlsr"] or "0", cell["z"] or "0"))
        except CassisError as exc:
            raise AtomisError(f"source file line {n}: {exc}") from None
    return out


@dataclass
class Limits:
    """Limits of the search (None: no limit). Angular resolution in arcsec, velocity resolution
    in km/s (channel width at the line), line sensitivity at 10 km/s in mJy/beam."""

    radius_arcsec: float = 10.0
    position: str = "footprint"  # or "centre"
    spatial_resolution_min_arcsec: float | None = None
    spatial_resolution_max_arcsec: float | None = None
    velocity_resolution_max_kms: float | None = None
    sensitivity_10kms_max_mjy: float | None = None
    public_only: bool = False
    science_only: bool = True
    margin_kms: float = 0.0

    def check(self) -> None:
        if not (self.radius_arcsec > 0 and math.isfinite(self.radius_arcsec)):
            raise AtomisError(f"search radius must be > 0 arcsec, got {self.radius_arcsec}")
        if self.position not in ("footprint", "centre"):
            raise AtomisError(f"position must be 'footprint' or 'centre', got {self.position!r}")
        for name in ("spatial_resolution_min_arcsec", "spatial_resolution_max_arcsec", "velocity_resolution_max_kms",
                     "sensitivity_10kms_max_mjy"):
            v = getattr(self, name)
            if v is not None and not (v >= 0 and math.isfinite(v)):
                raise AtomisError(f"{name} must be >= 0, got {v}")


def observed_freq_mhz(t, source: Source) -> np.ndarray:
    """Observed frequencies of the lines of ``t`` in ``source``: nu_0 (1 - v/c) / (1 + z)."""
    return units.observed_freq(np.asarray(t.freq_mhz, dtype=float), source.vlsr_kms, source.redshift)


def frequency_intervals(freq_mhz, max_ranges: int, pad_mhz: float = 0.0) -> list[tuple[float, float]]:
    """Frequency intervals (MHz) holding every frequency widened by ``pad_mhz`` on both sides:
    overlapping ones merged, then at most ``max_ranges`` made by joining across the smallest gaps."""
    f = np.unique(np.asarray(freq_mhz, dtype=float))
    if f.size == 0:
        return []
    lo, hi = f - pad_mhz, f + pad_mhz
    gaps = lo[1:] - hi[:-1]
    cut = np.flatnonzero(gaps > 0)  # disjoint after padding
    if cut.size > max_ranges - 1:
        cut = np.sort(cut[np.argsort(gaps[cut])[::-1][:max_ranges - 1]])
    starts = np.concatenate([[0], cut + 1])
    ends = np.concatenate([cut, [f.size - 1]])
    return [(float(max(lo[a], 0.0)), float(hi[b])) for a, b in zip(starts, ends)]


def _num(x: float) -> str:
    return repr(float(x))


#: the widest sky-frequency span of one ALMA tuning (Bands 9 and 10, double sideband, IF 4-12 GHz:
#: 2 x 12 GHz), MHz. ALMA's em_min / em_max may describe one spectral window only (the row of
#: astroquery's tests: 112.35-114.23 GHz while its windows reach 115.79 GHz), so the query keeps
#: rows whose range comes this close to a line and the spectral windows decide.
ALMA_TUNING_SPAN_MHZ = 24_000.0


def obscore_adql(t, sources, limits: Limits | None = None, profile: str = "alma", max_ranges: int = 40,
                 columns=None) -> str:
    """The ADQL query of ``ivoa.obscore`` for the lines ``t`` in ``sources`` (see the module doc).

    ``profile`` 'alma' uses ALMA's columns (``spatial_resolution``, ``velocity_resolution`` in
    m/s, ``sensitivity_10kms``, ``data_rights = 'Public'``, ``science_observation = 'T'``) and
    widens each line by :data:`ALMA_TUNING_SPAN_MHZ`; 'obscore' only ObsCore 1.1 ones
    (``s_resolution``, ``em_res_power`` >= c / dv, ``data_rights = 'public'``) with exact
    ``em_min <= lambda <= em_max``."""
    limits = limits or Limits()
    limits.check()
    if profile not in ("alma", "obscore"):
        raise AtomisError(f"profile must be 'alma' or 'obscore', got {profile!r}")
    if len(t) == 0:
        raise AtomisError("no lines to search for (check the species, the E_up / A_ij limits and the range)")
    if not sources:
        raise AtomisError("no source to search around")
    radius_deg = limits.radius_arcsec / 3600.0
    blocks = []
    for s in sources:
        circle = f"CIRCLE('ICRS', {_num(s.ra_deg)}, {_num(s.dec_deg)}, {_num(radius_deg)})"
        pos = (f"INTERSECTS({circle}, s_region) = 1" if limits.position == "footprint"
               else f"CONTAINS(POINT('ICRS', s_ra, s_dec), {circle}) = 1")
        pad = ALMA_TUNING_SPAN_MHZ if profile == "alma" else 0.0
        spans = []
        for f_lo, f_hi in frequency_intervals(observed_freq_mhz(t, s), max_ranges, pad):
            lam_lo = C_LIGHT / (f_hi * 1e6)
            lam_hi = C_LIGHT / (f_lo * 1e6) if f_lo > 0 else 1.0
            spans.append(f"(em_min <= {_num(lam_hi)} AND em_max >= {_num(lam_lo)})")
        spec = " OR ".join(spans)
        blocks.append(f"({pos} AND ({spec}))")
    where = ["(" + "\n    OR ".join(blocks) + ")"]
    res_col = "spatial_resolution" if profile == "alma" else "s_resolution"
    if limits.spatial_resolution_min_arcsec is not None:
        where.append(f"{res_col} >= {_num(limits.spatial_resolution_min_arcsec)}")
    if limits.spatial_resolution_max_arcsec is not None:
        where.append(f"{res_col} <= {_num(limits.spatial_resolution_max_arcsec)}")
    if limits.velocity_resolution_max_kms is not None:
        if profile == "alma":  # the finest window of the row: per-line windows are checked on the answer
            where.append(f"velocity_resolution <= {_num(limits.velocity_resolution_max_kms * 1e3)}")
        else:
            where.append(f"em_res_power >= {_num(C_LIGHT_KMS / limits.velocity_resolution_max_kms)}")
    if limits.sensitivity_10kms_max_mjy is not None and profile == "alma":
        where.append(f"sensitivity_10kms <= {_num(limits.sensitivity_10kms_max_mjy)}")
    if limits.public_only:
        where.append("data_rights = 'Public'" if profile == "alma" else "data_rights = 'public'")
    if limits.science_only and profile == "alma":
        where.append("science_observation = 'T'")
    cols = ", ".join(columns or (ALMA_COLUMNS if profile == "alma" else OBSCORE_COLUMNS))
    return f"SELECT {cols}\nFROM ivoa.obscore\nWHERE " + "\n  AND ".join(where)


@dataclass
class LineCoverage:
    """A line seen by an observation: its rest and observed frequencies, the finest window that
    covers it (index in the row's windows), that window's channel width at the line (km/s) and
    line sensitivity at 10 km/s (mJy/beam)."""

    species: str
    qn: str
    rest_freq_mhz: float
    observed_freq_mhz: float
    eup_k: float
    aij: float
    window: int
    velocity_resolution_kms: float
    sensitivity_10kms_mjy: float


@dataclass
class Match:
    """An observation (row ``row`` of the answer) of ``source``, with the lines it covers."""

    source: Source
    row: int
    separation_arcsec: float
    obs: dict
    lines: list = field(default_factory=list)

    @property
    def n_lines(self) -> int:
        return len(self.lines)


def _row_info(rows: ObscoreRows, i: int) -> dict:
    n, s = rows.num, rows.text
    vres = n["velocity_resolution"][i]
    spatial = n["spatial_resolution"][i] if not math.isnan(n["spatial_resolution"][i]) else n["s_resolution"][i]
    return {"obs_id": s["obs_id"][i], "member_ous_uid": s["member_ous_uid"][i], "proposal_id": s["proposal_id"][i],
            "target_name": s["target_name"][i], "band_list": s["band_list"][i], "s_ra": float(n["s_ra"][i]),
            "s_dec": float(n["s_dec"][i]), "spatial_resolution_arcsec": float(spatial),
            "velocity_resolution_kms": float(vres / 1e3) if not math.isnan(vres) else math.nan,
            "sensitivity_10kms_mjy": float(n["sensitivity_10kms"][i]), "data_rights": s["data_rights"][i],
            "obs_release_date": s["obs_release_date"][i], "t_exptime_s": float(n["t_exptime"][i]),
            "access_url": rows.archive_url(i)}


def covered_lines(windows, t, observed_mhz, margin_kms: float = 0.0) -> list[LineCoverage]:
    """The lines of ``t`` (observed at ``observed_mhz``) inside a window at least ``margin_kms``
    from its edges, each with the finest-resolution window that holds it."""
    if not windows or len(t) == 0:
        return []
    lo = np.array([w.fmin_mhz for w in windows])
    hi = np.array([w.fmax_mhz for w in windows])
    res = np.nan_to_num(np.array([w.resolution_mhz for w in windows]), nan=np.inf)
    f = np.asarray(observed_mhz, dtype=float)[:, None]
    pad = f * (margin_kms / C_LIGHT_KMS)
    inside = (f - pad >= lo[None, :]) & (f + pad <= hi[None, :])
    hit = np.flatnonzero(inside.any(axis=1))
    first = np.where(inside, res[None, :], np.inf).argmin(axis=1)
    out = []
    for k in hit.tolist():
        w = windows[int(first[k])]
        fk = float(f[k, 0])
        out.append(LineCoverage(str(t.species_names[k]), str(t.qn[k]), float(t.freq_mhz[k]), fk, float(t.eup_k[k]),
                                float(t.aij[k]), int(first[k]), float(w.velocity_resolution_kms(fk)),
                                float(w.sensitivity_10kms_mjy)))
    return out


def match_observations(rows: ObscoreRows, t, sources, limits: Limits | None = None) -> list[Match]:
    """Observations x sources with the lines each covers (only pairs with at least one line),
    sorted by source, then most lines, then finest angular resolution. Rows outside the
    resolution / sensitivity / data-rights limits are left out; a line whose window is coarser
    than ``velocity_resolution_max_kms`` or less sensitive than ``sensitivity_10kms_max_mjy`` is
    not counted."""
    limits = limits or Limits()
    limits.check()
    if len(rows) == 0 or not sources:
        return []
    n = rows.num
    ok = np.ones(len(rows), dtype=bool)
    spatial = np.where(np.isnan(n["spatial_resolution"]), n["s_resolution"], n["spatial_resolution"])
    with np.errstate(invalid="ignore"):
        if limits.spatial_resolution_min_arcsec is not None:
            ok &= spatial >= limits.spatial_resolution_min_arcsec
        if limits.spatial_resolution_max_arcsec is not None:
            ok &= spatial <= limits.spatial_resolution_max_arcsec
    if limits.public_only:
        ok &= np.array([r.strip().lower() == "public" for r in rows.text["data_rights"]])
    if limits.science_only:  # ALMA's flag; rows without it are kept
        ok &= np.array([r.strip().upper() != "F" for r in rows.text["science_observation"]])
    out = []
    fov = np.nan_to_num(n["s_fov"], nan=0.0)
    for s in sources:
        sep_deg = separation_deg(s.ra_deg, s.dec_deg, n["s_ra"], n["s_dec"])
        reach = limits.radius_arcsec / 3600.0 + (0.5 * fov if limits.position == "footprint" else 0.0)
        near = ok & (sep_deg <= reach)
        observed = observed_freq_mhz(t, s)
        for i in np.flatnonzero(near).tolist():
            lines = covered_lines(rows.windows[i], t, observed, limits.margin_kms)
            if limits.velocity_resolution_max_kms is not None:
                lines = [c for c in lines if not c.velocity_resolution_kms > limits.velocity_resolution_max_kms]
            if limits.sensitivity_10kms_max_mjy is not None:
                lines = [c for c in lines if not c.sensitivity_10kms_mjy > limits.sensitivity_10kms_max_mjy]
            if lines:
                out.append(Match(s, i, float(sep_deg[i] * 3600.0), _row_info(rows, i), lines))
    order = {s.name: k for k, s in enumerate(sources)}
    out.sort(key=lambda m: (order[m.source.name], -m.n_lines, np.nan_to_num(m.obs["spatial_resolution_arcsec"],
                                                                            nan=np.inf), m.row))
    return out


def filter_matches(matches, species=None, min_lines: int = 1, public_only: bool = False, source=None,
                   spatial_resolution_max_arcsec=None) -> list[Match]:
    """The matches that cover at least ``min_lines`` lines of ``species`` (names; None: any),
    public ones only if asked, of one source, finer than a resolution."""
    wanted = None if not species else {str(s) for s in ([species] if isinstance(species, str) else species)}
    out = []
    for m in matches:
        lines = [c for c in m.lines if wanted is None or c.species in wanted]
        if len(lines) < min_lines:
            continue
        if public_only and m.obs["data_rights"].strip().lower() != "public":
            continue
        if source is not None and m.source.name != source:
            continue
        if spatial_resolution_max_arcsec is not None and not m.obs["spatial_resolution_arcsec"] <= spatial_resolution_max_arcsec:
            continue
        out.append(Match(m.source, m.row, m.separation_arcsec, m.obs, lines))
    return out


def matches_of_answer(data, t, sources, limits: Limits | None = None, min_lines: int = 1,
                      label: str = "TAP answer"):
    """(matches, rows): the observations of a TAP answer (VOTable bytes) that cover the lines
    ``t`` in ``sources``, at least ``min_lines`` of them each."""
    from cassis_lite.vo.obscore import rows_from_votable

    rows = rows_from_votable(data, label)
    return filter_matches(match_observations(rows, t, sources, limits), min_lines=min_lines), rows


def matches_records(matches) -> list[dict]:
    """One dict per match (JSON/CSV/VOTable rows): source, observation, lines as text."""
    out = []
    for m in matches:
        out.append({"source": m.source.name, "vlsr_kms": m.source.vlsr_kms, **m.obs,
                    "separation_arcsec": m.separation_arcsec, "n_lines": m.n_lines,
                    "lines": "; ".join(f"{c.species} {c.qn} {c.rest_freq_mhz:.4f} MHz".replace("  ", " ")
                                       for c in m.lines),
                    "line_list": [c.__dict__ for c in m.lines]})
    return out


def matches_table(matches):
    """The matches as a described table (VOTable / FITS export), one row per observation x source."""
    from cassis_lite.vo.votable_writer import Field, VOTable

    recs = matches_records(matches)

    def col(key):
        return [r[key] for r in recs]

    def num(key):
        return np.array([r[key] for r in recs], dtype=float)

    fields = [
        Field("source", col("source"), "char", "", "meta.id;src"),
        Field("obs_id", col("obs_id"), "char", "", "meta.id;obs"),
        Field("member_ous_uid", col("member_ous_uid"), "char", "", "meta.id"),
        Field("proposal_id", col("proposal_id"), "char", "", "meta.id;obs.proposal"),
        Field("target_name", col("target_name"), "char", "", "meta.id;src"),
        Field("band_list", col("band_list"), "char", "", "instr.bandpass"),
        Field("separation", num("separation_arcsec"), "double", "arcsec", "pos.angDistance"),
        Field("spatial_resolution", num("spatial_resolution_arcsec"), "double", "arcsec", "pos.angResolution"),
        Field("velocity_resolution", num("velocity_resolution_kms"), "double", "km/s",
              "spect.resolution;spect.dopplerVeloc"),
        Field("sensitivity_10kms", num("sensitivity_10kms_mjy"), "double", "mJy/beam",
              "instr.sensitivity;phot.flux.density"),
        Field("data_rights", col("data_rights"), "char", "", "meta.code"),
        Field("obs_release_date", col("obs_release_date"), "char", "", "time.release"),
        Field("n_lines", np.array([r["n_lines"] for r in recs], dtype=np.int64), "long", "", "meta.number"),
        Field("lines", col("lines"), "char", "", "meta.note"),
        Field("access_url", col("access_url"), "char", "", "meta.ref.url"),
    ]
    return VOTable(fields, name="atomis", description="ALMA observations covering the lines (cassis-lite atomis)")
