"""A VOTable 1.4 writer (IVOA VOTable Recommendation 1.4, 2019) with the standard library and NumPy.

A document is one RESOURCE holding INFOs, PARAMs and one TABLE. Columns are :class:`Field`
objects carrying their values, unit, UCD and utype; the data are written as TABLEDATA (text,
every double written with ``repr``, so it reads back bit for bit) or BINARY2 (base64 of
big-endian rows, each led by a null bitmap, VOTable 1.4 section 5.4).

Nulls: a NaN double is an empty TD in TABLEDATA and a set null bit in BINARY2; an integer field
with ``null=`` declares ``<VALUES null="..."/>`` and its null cells are that value (and flagged
in BINARY2). Strings are ``char`` when all values are ASCII, ``unicodeChar`` (UCS-2) otherwise.
"""

from __future__ import annotations

import base64
import math
import struct
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import numpy as np

VOTABLE_NS = "http://www.ivoa.net/xml/VOTable/v1.3"  # VOTable 1.4 keeps the 1.3 namespace
SERIALIZATIONS = ("tabledata", "binary2")
#: media type of a VOTable document (VOTable 1.4, section 1)
MEDIA_TYPE = "application/x-votable+xml"

_NUMERIC = {"double": ">f8", "float": ">f4", "long": ">i8", "int": ">i4", "short": ">i2",
            "unsignedByte": "u1"}


@dataclass
class Field:
    """One column: ``values`` (a sequence: numbers, bools or strings), its VOTable metadata.

    ``datatype`` is inferred when None: ``double`` for floats, ``long`` for integers,
    ``boolean`` for bools, ``char`` / ``unicodeChar`` for strings. ``null`` (integers only) is
    the value that marks a missing cell.
    """

    name: str
    values: object
    datatype: str | None = None
    unit: str = ""
    ucd: str = ""
    utype: str = ""
    description: str = ""
    null: int | None = None
    id: str | None = None

    def resolved(self) -> tuple[str, np.ndarray | list]:
        """(datatype, values as an array or a list of str)."""
        dt = self.datatype
        if dt in ("char", "unicodeChar"):
            vals = ["" if v is None else str(v) for v in self.values]
            if dt == "char" and not all(v.isascii() for v in vals):
                dt = "unicodeChar"
            return dt, vals
        arr = np.asarray(self.values)
        if dt is None:
            if arr.dtype.kind in "US" or arr.dtype == object:
                return Field(self.name, self.values, "char").resolved()
            dt = {"b": "boolean", "i": "long", "u": "long", "f": "double"}.get(arr.dtype.kind)
            if dt is None:
                raise TypeError(f"field {self.name!r}: cannot write values of dtype {arr.dtype}")
        if dt == "boolean":
            return dt, arr.astype(bool)
        if dt not in _NUMERIC:
            raise ValueError(f"field {self.name!r}: unsupported datatype {dt!r}")
        return dt, arr.astype(_NUMERIC[dt].replace(">", "="))


@dataclass
class Param:
    """A PARAM: a constant of the table (a number or a string)."""

    name: str
    value: object
    datatype: str | None = None
    unit: str = ""
    ucd: str = ""
    utype: str = ""
    description: str = ""
    id: str | None = None


@dataclass
class Info:
    """An INFO element (e.g. ``QUERY_STATUS``); ``content`` is its text."""

    name: str
    value: str
    content: str = ""


@dataclass
class VOTable:
    """One RESOURCE with one TABLE. ``infos`` come before the TABLE, ``trailing_infos`` after it
    (DAL services put ``QUERY_STATUS = OVERFLOW`` there)."""

    fields: list
    name: str = "table"
    description: str = ""
    params: list = field(default_factory=list)
    infos: list = field(default_factory=list)
    trailing_infos: list = field(default_factory=list)
    resource_type: str = "results"
    resource_utype: str = ""
    table_utype: str = ""
    resource_params: list = field(default_factory=list)
    groups: list = field(default_factory=list)  # (name, utype, [field ids]): GROUPs of FIELDrefs

    @property
    def n_rows(self) -> int:
        return len(self.fields[0].values) if self.fields else 0


def _attr(name: str, value) -> str:
    return f" {name}={quoteattr(str(value))}" if value not in (None, "") else ""


def _format_double(x: float) -> str:
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return repr(x)


def _param_xml(p: Param) -> str:
    value = p.value
    dt = p.datatype
    if dt is None:
        if isinstance(value, bool):
            dt = "boolean"
        elif isinstance(value, (int, np.integer)):
            dt = "long"
        elif isinstance(value, (float, np.floating)):
            dt = "double"
        else:
            dt = "char"
    if dt == "boolean":
        text = "T" if value else "F"
    elif dt in ("double", "float"):
        text = _format_double(float(value))
    elif dt in _NUMERIC:
        text = str(int(value))
    else:
        text = str(value)
        if not text.isascii():
            dt = "unicodeChar"
    size = ' arraysize="*"' if dt in ("char", "unicodeChar") else ""
    desc = f"<DESCRIPTION>{escape(p.description)}</DESCRIPTION>" if p.description else ""
    return (f"<PARAM{_attr('ID', p.id)}{_attr('name', p.name)} datatype=\"{dt}\"{size}{_attr('unit', p.unit)}"
            f"{_attr('ucd', p.ucd)}{_attr('utype', p.utype)}{_attr('value', text)}>{desc}</PARAM>")


def _info_xml(i: Info) -> str:
    return f"<INFO{_attr('name', i.name)} value={quoteattr(str(i.value))}>{escape(i.content)}</INFO>"


def _field_xml(f: Field, datatype: str) -> str:
    size = ' arraysize="*"' if datatype in ("char", "unicodeChar") else ""
    inner = f"<DESCRIPTION>{escape(f.description)}</DESCRIPTION>" if f.description else ""
    if f.null is not None and datatype in _NUMERIC and datatype not in ("double", "float"):
        inner += f'<VALUES null="{int(f.null)}"/>'
    return (f"<FIELD{_attr('ID', f.id)}{_attr('name', f.name)} datatype=\"{datatype}\"{size}{_attr('unit', f.unit)}"
            f"{_attr('ucd', f.ucd)}{_attr('utype', f.utype)}>{inner}</FIELD>")


def _null_mask(datatype: str, values, null) -> np.ndarray:
    if datatype in ("double", "float"):
        return np.isnan(values)
    if datatype in _NUMERIC and null is not None:
        return values == null
    return np.zeros(len(values), dtype=bool)


def _tabledata(resolved, nulls, n_rows: int) -> str:
    cols = []
    for (dt, values), null in zip(resolved, nulls):
        if dt in ("double", "float"):
            cells = [_format_double(x) for x in values.tolist()]
        elif dt == "boolean":
            cells = ["T" if x else "F" for x in values.tolist()]
        elif dt in _NUMERIC:
            cells = [str(x) for x in values.tolist()]
        else:
            cells = [escape(x) for x in values]
        cols.append(cells)
    rows = ["<TR>" + "".join(f"<TD>{c}</TD>" for c in row) + "</TR>" for row in zip(*cols)] if cols else []
    return "<TABLEDATA>\n" + "\n".join(rows) + ("\n" if rows else "") + "</TABLEDATA>"


def _binary2(resolved, nulls, n_rows: int) -> str:
    """BINARY2 rows: null bitmap (ceil(n_fields / 8) bytes, first field = most significant bit of
    the first byte), then each field big-endian; a ``char``/``unicodeChar`` cell is a 4-byte
    character count followed by the characters (1 byte / UCS-2)."""
    n_fields = len(resolved)
    mask = np.packbits(np.column_stack(nulls), axis=1) if n_fields else np.zeros((n_rows, 0), np.uint8)
    pieces = [[bytes(row) for row in mask]]
    for dt, values in resolved:
        if dt in _NUMERIC:
            raw = np.ascontiguousarray(values.astype(_NUMERIC[dt])).tobytes()
            w = np.dtype(_NUMERIC[dt]).itemsize
            pieces.append([raw[i * w:(i + 1) * w] for i in range(n_rows)])
        elif dt == "boolean":
            pieces.append([b"T" if x else b"F" for x in values.tolist()])
        elif dt == "char":
            pieces.append([struct.pack(">I", len(s)) + s.encode("ascii") for s in values])
        else:
            out = []
            for s in values:
                data = s.encode("utf-16-be")
                if len(data) != 2 * len(s):
                    raise ValueError("unicodeChar holds UCS-2 only: a character outside the Basic Multilingual Plane")
                out.append(struct.pack(">I", len(s)) + data)
            pieces.append(out)
    stream = b"".join(b"".join(parts) for parts in zip(*pieces))
    text = base64.encodebytes(stream).decode("ascii")
    return f'<BINARY2><STREAM encoding="base64">\n{text}</STREAM></BINARY2>'


def to_xml(table: VOTable, serialization: str = "tabledata") -> bytes:
    """The VOTable document as UTF-8 bytes; ``serialization`` is ``tabledata`` or ``binary2``."""
    serialization = serialization.lower()
    if serialization not in SERIALIZATIONS:
        raise ValueError(f"serialization must be one of {SERIALIZATIONS}, got {serialization!r}")
    n = table.n_rows
    resolved = []
    for f in table.fields:
        dt, values = f.resolved()
        if len(values) != n:
            raise ValueError(f"field {f.name!r} has {len(values)} values, the table has {n} rows")
        resolved.append((dt, values))
    nulls = [_null_mask(dt, values, f.null) for f, (dt, values) in zip(table.fields, resolved)]
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<VOTABLE version="1.4" xmlns="{VOTABLE_NS}" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
           f"<RESOURCE{_attr('type', table.resource_type)}{_attr('utype', table.resource_utype)}>"]
    if table.description:
        out.append(f"<DESCRIPTION>{escape(table.description)}</DESCRIPTION>")
    out += [_info_xml(i) for i in table.infos]
    out += [_param_xml(p) for p in table.resource_params]
    out.append(f"<TABLE{_attr('name', table.name)}{_attr('utype', table.table_utype)}"
               f"{_attr('nrows', n)}>")
    out += [_param_xml(p) for p in table.params]
    out += [_field_xml(f, dt) for f, (dt, _) in zip(table.fields, resolved)]
    for name, utype, refs in table.groups:
        out.append(f"<GROUP{_attr('name', name)}{_attr('utype', utype)}>"
                   + "".join(f'<FIELDref ref="{r}"/>' for r in refs) + "</GROUP>")
    body = _tabledata(resolved, nulls, n) if serialization == "tabledata" else _binary2(resolved, nulls, n)
    out.append(f"<DATA>{body}</DATA>")
    out.append("</TABLE>")
    out += [_info_xml(i) for i in table.trailing_infos]
    out += ["</RESOURCE>", "</VOTABLE>", ""]
    return "\n".join(out).encode("utf-8")
