"""IVOA ObsCore rows (ObsCore 1.1) and the ALMA archive's extensions, read without astropy.

- :func:`parse_frequency_support`: ALMA's ``frequency_support`` text, one
  ``[lo..hiUNIT,resolutionUNIT,S10mJy/beam@10km/s,Snative@native, POL]`` per spectral window,
  windows joined by `` U ``;
- :class:`ObscoreRows`: the answer of a TAP query on ``ivoa.obscore`` as columns (from a
  VOTable with :func:`rows_from_votable`, or from any mapping of column name to values, e.g.
  an astropy table converted by the caller), with the spectral windows of each row: ALMA's
  ``frequency_support`` when present, else the ObsCore ``em_min``..``em_max`` (vacuum
  wavelengths in m) as one window of resolving power ``em_res_power``;
- :func:`tap_sync_request`: URL and form body of a synchronous TAP query (TAP 1.1, ``/sync``),
  for ``fetch`` in the browser.

Units: ObsCore ``s_ra``/``s_dec``/``s_fov`` deg, ``s_resolution`` arcsec, ``em_min``/``em_max``
m; ALMA ``spatial_resolution`` arcsec, ``velocity_resolution`` m/s (the row of
astroquery's tests gives 317.67 for a finest window of 122.06 kHz at 115.19 GHz: c x 122.06 kHz /
115.19 GHz = 317.67 m/s), ``sensitivity_10kms`` mJy/beam, ``frequency`` GHz, ``bandwidth`` Hz.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from dataclasses import dataclass

import numpy as np

from cassis_lite import units
from cassis_lite.constants import C_LIGHT, C_LIGHT_KMS
from cassis_lite.errors import CassisError


class ObscoreError(CassisError):
    """An archive answer that cannot be used (an error status, missing position columns...)."""


@dataclass(frozen=True)
class SpectralWindow:
    """One spectral window: sky frequencies ``fmin_mhz``..``fmax_mhz``, channel resolution
    (MHz), line sensitivity at 10 km/s and at native resolution (mJy/beam), polarisations.
    NaN where the archive does not say."""

    fmin_mhz: float
    fmax_mhz: float
    resolution_mhz: float = math.nan
    sensitivity_10kms_mjy: float = math.nan
    sensitivity_native_mjy: float = math.nan
    pol: str = ""

    def velocity_resolution_kms(self, freq_mhz) -> np.ndarray:
        """Channel width in km/s at ``freq_mhz``: c x resolution / nu."""
        return C_LIGHT_KMS * self.resolution_mhz / np.asarray(freq_mhz, dtype=float)


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUM})\s*\.\.\s*({_NUM})\s*([kMGT]?Hz)\s*$")
_FREQ = re.compile(rf"^\s*({_NUM})\s*([kMGT]?Hz)\s*$")
_SENS = re.compile(rf"^\s*({_NUM})\s*([mu\u00b5]?Jy)/beam\s*@\s*(.+?)\s*$", re.IGNORECASE)
_JY = {"jy": 1e3, "mjy": 1.0, "ujy": 1e-3, "\u00b5jy": 1e-3}


def parse_frequency_support(text) -> list[SpectralWindow]:
    """The spectral windows of an ALMA ``frequency_support`` value (sky frequencies), in the
    order given. A window whose range cannot be read is left out; unknown items are ignored."""
    out = []
    for inner in re.findall(r"\[([^\]]*)\]", str(text or "")):
        items = inner.split(",")
        m = _RANGE.match(items[0])
        if not m:
            continue
        unit = m.group(3)
        lo, hi = (float(units.to_freq_mhz(float(m.group(i)), unit)) for i in (1, 2))
        res, s10, snat, pol = math.nan, math.nan, math.nan, []
        for item in items[1:]:
            if (f := _FREQ.match(item)) is not None:
                res = float(units.to_freq_mhz(float(f.group(1)), f.group(2)))
            elif (s := _SENS.match(item)) is not None:
                value = float(s.group(1)) * _JY[s.group(2).lower()]
                where = s.group(3).lower().replace(" ", "")
                if where.startswith("native"):
                    snat = value
                elif where == "10km/s":
                    s10 = value
            elif item.strip():
                pol.append(item.strip())
        out.append(SpectralWindow(min(lo, hi), max(lo, hi), res, s10, snat, " ".join(pol)))
    return out


def _floats(values, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    if values is None:
        return out
    for i, v in enumerate(values):
        try:
            x = float(v)
        except (TypeError, ValueError):
            continue
        out[i] = x
    return out


def _strs(values, n: int) -> list[str]:
    if values is None:
        return [""] * n
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append("")
        elif isinstance(v, bytes):
            out.append(v.decode("utf-8", "replace"))
        else:
            s = str(v)
            out.append("" if s == "--" else s)  # a masked astropy cell
    return out


class ObscoreRows:
    """Rows of an ObsCore answer as columns (``columns``: lower-case name -> values).

    Numbers are float arrays (NaN when missing), text columns lists of str. ``windows[i]`` are
    the spectral windows of row ``i``.
    """

    TEXT = ("obs_id", "obs_publisher_did", "member_ous_uid", "proposal_id", "target_name", "band_list",
            "frequency_support", "data_rights", "obs_release_date", "access_url", "dataproduct_type",
            "obs_collection", "facility_name", "instrument_name", "obs_title", "science_observation")
    NUMBERS = ("s_ra", "s_dec", "s_fov", "s_resolution", "em_min", "em_max", "em_res_power", "spatial_resolution",
               "velocity_resolution", "sensitivity_10kms", "t_exptime", "t_min", "frequency", "bandwidth")

    def __init__(self, columns: dict):
        cols = {str(k).lower(): v for k, v in columns.items()}
        lengths = {len(v) for v in cols.values()}
        if len(lengths) > 1:
            raise ObscoreError(f"ObsCore columns of different lengths: {sorted(lengths)}")
        self.n = lengths.pop() if lengths else 0
        for need in ("s_ra", "s_dec"):
            if need not in cols and self.n:
                raise ObscoreError(f"the ObsCore answer has no {need} column")
        self.text = {k: _strs(cols.get(k), self.n) for k in self.TEXT}
        self.num = {k: _floats(cols.get(k), self.n) for k in self.NUMBERS}
        self.columns = cols
        self.windows = [self._windows(i) for i in range(self.n)]

    def __len__(self) -> int:
        return self.n

    def _windows(self, i: int) -> list[SpectralWindow]:
        wins = parse_frequency_support(self.text["frequency_support"][i])
        if wins:
            return wins
        lo_m, hi_m = self.num["em_min"][i], self.num["em_max"][i]
        if not (lo_m > 0 and hi_m > 0):
            return []
        fmin, fmax = C_LIGHT / hi_m / 1e6, C_LIGHT / lo_m / 1e6
        power = self.num["em_res_power"][i]
        res = 0.5 * (fmin + fmax) / power if power > 0 else math.nan
        return [SpectralWindow(fmin, fmax, res)]

    def archive_url(self, i: int) -> str:
        """The row's access URL; for an ALMA row without one, the archive's MOUS page."""
        url = self.text["access_url"][i]
        if url:
            return url
        mous = self.text["member_ous_uid"][i]
        return f"https://almascience.org/aq?member_ous_id={urllib.parse.quote(mous, safe=':/')}" if mous else ""


def rows_from_votable(data, label: str = "TAP answer") -> ObscoreRows:
    """The rows of a TAP answer (a VOTable); raises :class:`ObscoreError` with the service's
    message for QUERY_STATUS=ERROR."""
    from cassis_lite.vo.votable_read import query_status, read_tables

    status, message = query_status(data)
    if status == "ERROR":
        raise ObscoreError(f"the TAP service answered an error: {message or '(no message)'}")
    tables = read_tables(data, label)
    if not tables:
        raise ObscoreError(f"{label}: no table in the answer")
    t = tables[0]
    return ObscoreRows({f.name: t.columns[f.name] for f in t.fields})


def tap_sync_request(tap_url: str, adql: str, maxrec: int | None = None) -> tuple[str, str]:
    """(URL, form-encoded body) of a synchronous ADQL query (TAP 1.1: POST to ``{tap}/sync`` with
    REQUEST=doQuery, LANG=ADQL, FORMAT=votable, QUERY, MAXREC)."""
    params = [("REQUEST", "doQuery"), ("LANG", "ADQL"), ("FORMAT", "votable"), ("QUERY", adql)]
    if maxrec is not None:
        params.append(("MAXREC", str(int(maxrec))))
    return tap_url.rstrip("/") + "/sync", urllib.parse.urlencode(params)
