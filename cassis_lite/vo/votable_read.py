"""Reading tables (not spectra) from VOTable documents: the columns of every TABLE with text
columns decoded, and the INFO elements (``QUERY_STATUS``) of a DAL service's answer.

The XML and binary decoding is :func:`cassis_lite.readers.votable.parse` (TABLEDATA, BINARY,
BINARY2); this module turns its character cells into ``str`` and finds the status a DAL service
(SLAP, TAP) wrote.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.readers.registry import ReadError
from cassis_lite.readers.votable import parse as _parse


@dataclass
class Table:
    """One TABLE: ``fields`` (name, datatype, unit, ucd, utype), ``columns`` name -> float64
    array (numbers; NaN for nulls) or list of str, ``params`` lower-case name -> (value, unit,
    ucd, utype)."""

    fields: list
    columns: dict
    n_rows: int
    params: dict = field(default_factory=dict)

    def field(self, name=None, utype=None, ucd=None):
        """The first field named ``name`` (case-insensitive), else with utype ``utype``
        (case-insensitive), else whose first UCD word is ``ucd``; None if none."""
        for f in self.fields:
            if name and f.name.lower() == name.lower():
                return f
        for f in self.fields:
            if utype and f.utype.lower() == utype.lower():
                return f
        for f in self.fields:
            if ucd and f.ucd.lower().split(";")[0] == ucd.lower():
                return f
        return None


def _text(cell, datatype: str) -> str:
    if isinstance(cell, str):
        return cell
    arr = np.asarray(cell)
    if datatype == "unicodeChar":
        return arr.astype(">u2").tobytes().decode("utf-16-be").rstrip("\x00")
    return arr.tobytes().decode("utf-8", "replace").rstrip("\x00")


def read_tables(data, label: str = "<votable>") -> list[Table]:
    """Every TABLE of a VOTable document; raises :class:`ReadError` for a document we cannot read."""
    out = []
    for t in _parse(data, label):
        cols = {}
        for f in t.fields:
            v = t.columns[f.name]
            if f.datatype in ("char", "unicodeChar"):
                if isinstance(v, np.ndarray) and v.ndim == 2:
                    v = list(v)
                cols[f.name] = [_text(c, f.datatype) for c in v]
            elif f.datatype == "boolean":
                cols[f.name] = [_text(c, "char").strip().upper()[:1] in ("T", "1") for c in v]
            else:
                cols[f.name] = np.asarray(v, dtype=np.float64) if not f.arraysize else v
        out.append(Table(t.fields, cols, t.n_rows, t.params))
    return out


def query_status(data) -> tuple[str, str]:
    """(status, message) of a DAL answer: the last ``INFO name="QUERY_STATUS"`` of the results
    RESOURCE (or of the document), upper-case; ("OK", "") when there is none."""
    try:
        root = ET.fromstring(bytes(data))
    except ET.ParseError as exc:
        raise ReadError(f"invalid XML ({exc})") from None

    def local(tag):
        return tag.rsplit("}", 1)[-1]

    def status_in(el):
        found = None
        for child in el:
            if local(child.tag) == "INFO" and (child.get("name") or "").upper() == "QUERY_STATUS":
                found = ((child.get("value") or "").strip().upper(), (child.text or "").strip())
        return found

    resources = [el for el in root.iter() if local(el.tag) == "RESOURCE"]
    results = [r for r in resources if (r.get("type") or "").lower() == "results"] or resources[:1]
    for r in results:
        s = status_in(r)
        if s is None:
            for t in r:
                if local(t.tag) == "TABLE":
                    s = status_in(t) or s
        if s is not None:
            return s
    return status_in(root) or ("OK", "")
