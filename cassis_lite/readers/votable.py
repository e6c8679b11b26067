"""VOTable spectra (IVOA VOTable 1.1-1.5) with ``xml.etree`` and NumPy: TABLEDATA, BINARY and
BINARY2 (base64 STREAM) serialisations.

The spectral and flux fields are found by utype (IVOA Spectrum data model:
``spec:Data.SpectralAxis.Value``, ``spec:Data.FluxAxis.Value``, ``...FluxAxis.Accuracy.StatError``),
then by UCD (``em.freq``, ``em.wl``, ``em.wavenumber``, ``spect.dopplerVeloc``; ``phot.flux*``,
``phot.antennaTemp``, ``phys.transmission``; ``stat.error``), then by name. A spectrum stored
as one row of array-valued fields is read too.

BINARY rows are the fields one after the other, big-endian; variable-size arrays
(``arraysize="*"``) are preceded by a 4-byte element count. BINARY2 adds at the start of each
row a null bitmap of ceil(n_fields / 8) bytes (most significant bit first).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np

from cassis_lite import units
from cassis_lite.readers.fits import AXIS_NAMES, ERROR_NAMES, FLUX_NAMES
from cassis_lite.readers.registry import Reader, ReadError, register
from cassis_lite.spectrum import Spectrum

_TYPES = {  # datatype -> (numpy big-endian dtype, size)
    "boolean": ("S1", 1), "unsignedByte": ("u1", 1), "short": (">i2", 2), "int": (">i4", 4),
    "long": (">i8", 8), "char": ("S1", 1), "unicodeChar": (">u2", 2), "float": (">f4", 4),
    "double": (">f8", 8), "floatComplex": (">c8", 8), "doubleComplex": (">c16", 16), "bit": ("u1", 1),
}
_NUMERIC = ("unsignedByte", "short", "int", "long", "float", "double")


@dataclass
class VOField:
    name: str
    datatype: str
    arraysize: str | None
    unit: str = ""
    ucd: str = ""
    utype: str = ""
    null: str | None = None

    @property
    def variable(self) -> bool:
        return bool(self.arraysize) and self.arraysize.endswith("*")

    @property
    def count(self) -> int:
        """Elements of a fixed-size field (1 for a scalar); for a variable-size field, elements
        per counted item."""
        if not self.arraysize:
            return 1
        dims = self.arraysize.split("x")
        if self.variable:  # "2x3x*" or "2x4*": items of the fixed leading shape (2x3, 2)
            dims = dims[:-1]
        n = 1
        for part in dims:
            n *= int(part)
        return n


@dataclass
class VOTable:
    fields: list
    columns: dict  # name -> np.ndarray (n_rows,) or (n_rows, k), or list of arrays
    n_rows: int
    params: dict = field(default_factory=dict)  # lower-case name -> (value, unit, ucd, utype)
    serialization: str = ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el, name):
    return [c for c in el if _local(c.tag) == name]


def sniff(head: bytes, name: str) -> bool:
    text = head[:2048].lstrip().lstrip(b"\xef\xbb\xbf")
    return text.startswith(b"<") and b"VOTABLE" in head


def _field(el, null_refs=None) -> VOField:
    values = _children(el, "VALUES")
    null = values[0].get("null") if values else None
    if values and null is None and values[0].get("ref"):
        null = (null_refs or {}).get(values[0].get("ref"))
    datatype = el.get("datatype", "")
    if datatype not in _TYPES:
        raise ReadError(f"FIELD {el.get('name')!r} has unknown datatype {datatype!r}")
    arraysize = el.get("arraysize")
    if arraysize is not None:
        arraysize = arraysize.strip()
        if not re.fullmatch(r"(\d+x)*(\d+|\d*\*)", arraysize):
            raise ReadError(f"FIELD {el.get('name')!r} has invalid arraysize {arraysize!r}")
        if arraysize == "1":
            arraysize = None
    return VOField(name=el.get("name") or el.get("ID") or "", datatype=datatype, arraysize=arraysize,
                   unit=el.get("unit", "") or "", ucd=el.get("ucd", "") or "", utype=el.get("utype", "") or "",
                   null=null)


def _to_float(values: list[str], f: VOField) -> np.ndarray:
    out = np.empty(len(values))
    for i, v in enumerate(values):
        v = v.strip()
        if not v or v == f.null or v.lower() in ("nan", "null"):
            out[i] = np.nan
        else:
            out[i] = float(v)
    if f.datatype == "float":  # the declared precision, as a binary serialisation would give
        out = out.astype(np.float32).astype(np.float64)
    return out


def _tabledata(table_el, fields) -> tuple[dict, int]:
    rows = [[(td.text or "") for td in _children(tr, "TD")] for tr in _children(table_el, "TR")]
    n = len(fields)
    for i, r in enumerate(rows):
        if len(r) != n:
            raise ReadError(f"TABLEDATA row {i + 1} has {len(r)} cells, the table has {n} fields")
    cols = {}
    for j, f in enumerate(fields):
        cells = [r[j] for r in rows]
        if f.datatype not in _NUMERIC:
            cols[f.name] = cells
        elif f.arraysize:
            cols[f.name] = [_to_float(c.split(), f) for c in cells]
        else:
            try:
                cols[f.name] = _to_float(cells, f)
            except ValueError as exc:
                raise ReadError(f"field {f.name!r}: {exc}") from None
    return cols, len(rows)


def _binary(stream_el, fields, binary2: bool) -> tuple[dict, int]:
    if stream_el.get("href"):
        raise ReadError("the table data is in an external stream (href); only inline data is supported")
    encoding = stream_el.get("encoding", "base64")
    if encoding != "base64":
        raise ReadError(f"STREAM encoding {encoding!r} not supported (only base64)")
    try:
        raw = base64.b64decode("".join((stream_el.text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReadError(f"invalid base64 in the binary STREAM ({exc})") from None
    nfields = len(fields)
    mask_bytes = -(-nfields // 8) if binary2 else 0
    if not any(f.variable for f in fields):
        # fixed-size rows: one NumPy structured view of the whole stream
        names, formats, offsets = [], [], []
        pos = mask_bytes
        for j, f in enumerate(fields):
            dt, size = _TYPES[f.datatype]
            n = -(-f.count // 8) if f.datatype == "bit" else f.count
            names.append(f"f{j}")
            formats.append(np.dtype((dt, (n,))) if n != 1 else np.dtype(dt))
            offsets.append(pos)
            pos += size * n
        if pos == 0:
            return {f.name: [] for f in fields}, 0
        if len(raw) % pos:
            raise ReadError(f"binary stream of {len(raw)} bytes is not a whole number of {pos}-byte rows "
                            "(truncated?)")
        rec = np.frombuffer(raw, dtype=np.dtype({"names": names, "formats": formats,
                                                  "offsets": offsets, "itemsize": pos}))
        nulls = None
        if binary2 and len(rec):
            maskarr = np.frombuffer(raw, dtype=np.uint8).reshape(len(rec), pos)[:, :mask_bytes]
            nulls = np.unpackbits(maskarr, axis=1)[:, :nfields].astype(bool)
        cols = {}
        for j, f in enumerate(fields):
            v = rec[f"f{j}"]
            if f.datatype in _NUMERIC:
                out = v.astype(np.float64)
                if f.null is not None and f.datatype not in ("float", "double"):
                    try:
                        out[v == int(f.null)] = np.nan
                    except ValueError:
                        pass
                if nulls is not None:
                    out[nulls[:, j]] = np.nan
                cols[f.name] = out
            else:
                cols[f.name] = v
        return cols, len(rec)
    # variable-size fields: walk the rows
    cols = {f.name: [] for f in fields}
    pos, n_rows, total = 0, 0, len(raw)
    view = memoryview(raw)
    while pos < total:
        nullbits = None
        if binary2:
            if pos + mask_bytes > total:
                raise ReadError("binary stream truncated inside a row's null flags")
            nullbits = np.unpackbits(np.frombuffer(view[pos:pos + mask_bytes], np.uint8))
            pos += mask_bytes
        for j, f in enumerate(fields):
            dt, size = _TYPES[f.datatype]
            item_bytes = -(-f.count // 8) if f.datatype == "bit" else f.count * size
            if f.variable:
                if pos + 4 > total:
                    raise ReadError(f"binary stream truncated in field {f.name!r} of row {n_rows + 1}")
                # the count is of items of the fixed leading shape ("2x3x*": 2x3 blocks)
                items = struct.unpack(">I", view[pos:pos + 4])[0]
                pos += 4
                n, nbytes = items * f.count, items * item_bytes
            else:
                n, nbytes = f.count, item_bytes
            if pos + nbytes > total:
                raise ReadError(f"binary stream truncated in field {f.name!r} of row {n_rows + 1}")
            cell = np.frombuffer(view[pos:pos + nbytes], dtype=dt)
            pos += nbytes
            if f.datatype in _NUMERIC:
                raw_cell = cell
                cell = cell.astype(np.float64)
                if f.null is not None and f.datatype not in ("float", "double"):
                    try:
                        cell[raw_cell == int(f.null)] = np.nan
                    except ValueError:
                        pass
                if nullbits is not None and nullbits[j]:
                    cell[:] = np.nan
                cols[f.name].append(cell if f.arraysize else (cell[0] if cell.size else np.nan))
            else:
                cols[f.name].append(cell)
        n_rows += 1
    for f in fields:
        if f.datatype in _NUMERIC and not f.arraysize:
            cols[f.name] = np.asarray(cols[f.name], dtype=np.float64)
    return cols, n_rows


def parse(data, label: str = "<data>") -> list[VOTable]:
    """All tables of a VOTable document with their decoded columns."""
    raw = bytes(data)
    if b"<!ENTITY" in raw[:65536]:
        raise ReadError("XML entity declarations are not allowed in a VOTable")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise ReadError(f"invalid XML ({exc})") from None
    if _local(root.tag) != "VOTABLE":
        raise ReadError(f"XML root element is <{_local(root.tag)}>, not <VOTABLE>")
    params = {}
    for p in root.iter():
        if _local(p.tag) == "PARAM":
            key = (p.get("name") or p.get("ID") or "").lower()
            params.setdefault(key, (p.get("value", ""), p.get("unit", "") or "", p.get("ucd", "") or "",
                                    p.get("utype", "") or ""))
    null_refs = {v.get("ID"): v.get("null") for v in root.iter()
                 if _local(v.tag) == "VALUES" and v.get("ID") and v.get("null") is not None}
    out = []
    for t in root.iter():
        if _local(t.tag) != "TABLE":
            continue
        fields = [_field(f, null_refs) for f in _children(t, "FIELD")]
        datas = _children(t, "DATA")
        cols, n, ser = {f.name: [] for f in fields}, 0, "none"
        if datas:
            body = list(datas[0])
            kinds = {_local(b.tag): b for b in body}
            if "TABLEDATA" in kinds:
                cols, n = _tabledata(kinds["TABLEDATA"], fields)
                ser = "tabledata"
            elif "BINARY" in kinds or "BINARY2" in kinds:
                ser = "binary2" if "BINARY2" in kinds else "binary"
                streams = _children(kinds.get("BINARY2", kinds.get("BINARY")), "STREAM")
                if not streams:
                    raise ReadError(f"<{ser.upper()}> without a <STREAM>")
                cols, n = _binary(streams[0], fields, ser == "binary2")
            elif "FITS" in kinds:
                raise ReadError("VOTable with FITS-serialised data is not supported")
        out.append(VOTable(fields=fields, columns=cols, n_rows=n, params=params, serialization=ser))
    return out


def _pick(fields, utype_words, ucd_words, names, exclude=()):
    cands = [f for f in fields if f.datatype in _NUMERIC and f.name not in exclude]
    for f in cands:
        if any(w in f.utype.lower() for w in utype_words):
            return f
    for f in cands:
        first = f.ucd.lower().split(";")[0]
        if any(first.startswith(w) for w in ucd_words):
            return f
    by_name = {f.name.upper(): f for f in cands}
    for n in names:
        if n in by_name:
            return by_name[n]
    return None


def _param_float(params, keys):
    for k in keys:
        if k in params:
            value, unit, _, _ = params[k]
            try:
                v = float(value.split()[0])
            except (ValueError, IndexError):
                continue
            return v, unit
    return None, ""


def _beam_arcsec(params, label: str):
    """(bmaj, bmin) in arcsec from ``bmaj``/``bmin`` PARAMs (a missing unit means arcsec), or None."""
    bmaj, maj_unit = _param_float(params, ("bmaj", "beam_major", "beam"))
    if bmaj is None:
        return None
    bmin, min_unit = _param_float(params, ("bmin", "beam_minor"))
    try:
        major = float(units.angle_to_arcsec(bmaj, maj_unit or "arcsec"))
        minor = major if bmin is None else float(units.angle_to_arcsec(bmin, min_unit or "arcsec"))
    except units.UnitError as exc:
        raise ReadError(f"{label}: beam PARAM: {exc}") from None
    if not (major > 0 and minor > 0):
        raise ReadError(f"{label}: beam PARAMs must be positive (bmaj {bmaj}, bmin {bmin})")
    return (major, minor)


def read(data, label: str, table=None, **_) -> Spectrum:
    tables = parse(data, label)
    if not tables:
        raise ReadError(f"{label}: VOTable has no TABLE")
    choices = tables if table is None else [tables[int(table)]]
    problems = []
    for t in choices:
        axis_names = [n for _, names in AXIS_NAMES for n in names]
        xf = _pick(t.fields, ("spectralaxis.value",), ("em.freq", "em.wl", "em.wavenumber", "spect.dopplerveloc"),
                   axis_names)
        if xf is None:
            problems.append(f"table with fields {[f.name for f in t.fields][:8]} has no spectral field")
            continue
        ef = _pick(t.fields, ("fluxaxis.accuracy.staterr", "fluxaxis.accuracy"), ("stat.error",), ERROR_NAMES,
                   exclude=(xf.name,))
        yf = _pick(t.fields, ("fluxaxis.value",), ("phot.flux", "phot.antennatemp", "phys.transmission",
                                                   "phot.count", "phot.mag", "spect.line.intensity"),
                   FLUX_NAMES, exclude=(xf.name, ef.name if ef else ""))
        if yf is None:
            rest = [f for f in t.fields if f.datatype in _NUMERIC and f not in (xf, ef)]
            if not rest:
                problems.append(f"spectral field {xf.name!r} but no flux field")
                continue
            yf = rest[0]
        if t.n_rows == 0:
            problems.append("table has no rows")
            continue

        def col(f):
            v = t.columns[f.name]
            if f.arraysize:  # one spectrum per row: the first row
                return np.asarray(v[0], dtype=np.float64).ravel()
            return np.asarray(v, dtype=np.float64)

        x, y = col(xf), col(yf)
        err = col(ef) if ef is not None else None
        meta = {"x_field": xf.name, "y_field": yf.name, "serialization": t.serialization,
                "n_rows": t.n_rows, "params": {k: v[0] for k, v in list(t.params.items())[:100]}}
        x_unit = xf.unit
        if not x_unit:
            ucd = xf.ucd.lower()
            x_unit = "MHz" if "freq" in ucd or "FREQ" in xf.name.upper() else "Angstrom"
            meta["assumed_x_unit"] = x_unit
        try:
            units.axis_unit_kind(x_unit)
        except units.UnitError:
            raise ReadError(f"{label}: field {xf.name!r} has unknown unit {x_unit!r}") from None
        rest, runit = _param_float(t.params, ("restfreq", "restfrq", "rest_frequency", "restfrequency",
                                              "rest_freq"))
        rest_mhz = None
        if rest:
            try:
                rest_mhz = float(units.to_freq_mhz(rest, runit or "Hz"))
            except units.UnitError:
                rest_mhz = None
        vlsr, vunit = _param_float(t.params, ("vlsr", "velo-lsr", "vlsr_kms"))
        if vlsr is not None and vunit:
            kind, factor = units.axis_unit_kind(vunit)
            vlsr *= factor
        z, _ = _param_float(t.params, ("redshift", "z", "zsource"))
        tel = t.params.get("telescope", t.params.get("telescop", ("",)))[0] or None
        return Spectrum.from_axis(
            x, y, x_unit=x_unit, uncertainty=err, rest_freq_mhz=rest_mhz,
            y_unit=units.normalise_intensity_unit(yf.unit), vlsr_kms=vlsr or 0.0, redshift=z or 0.0,
            telescope=tel, beam_arcsec=_beam_arcsec(t.params, label), meta=meta, name=label, format="votable")
    raise ReadError(f"{label}: no spectrum in the VOTable: " + "; ".join(problems))


register(Reader("votable", "IVOA VOTable (TABLEDATA, BINARY, BINARY2)", sniff, read, (".xml", ".vot", ".votable"), priority=20))
