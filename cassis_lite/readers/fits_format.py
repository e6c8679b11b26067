"""FITS structure in pure NumPy: header cards, HDU layout, image arrays and binary tables.

FITS (Pence et al. 2010, A&A 524, A42; FITS standard 4.0): a file is a sequence of HDUs, each
an ASCII header of 80-character cards in 2880-byte blocks ending with ``END``, followed by a
big-endian data unit padded to 2880 bytes. The data size is
|BITPIX|/8 * GCOUNT * (PCOUNT + NAXIS1 * ... * NAXISn).

Nothing here reads more than the headers until an array is asked for; arrays are NumPy views
(``np.frombuffer``) on the content, which for files is a read-only memory map.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.errors import CassisError

BLOCK = 2880
CARD = 80
#: a header longer than this is not a spectrum's (and protects against garbage)
MAX_HEADER_BLOCKS = 2000
MAX_HDUS = 1000

IMAGE_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}


class FitsError(CassisError):
    """Structurally invalid FITS content."""


@dataclass
class Header:
    cards: dict = field(default_factory=dict)  # first occurrence of each keyword
    comments: list = field(default_factory=list)  # COMMENT and HISTORY text
    n_cards: int = 0

    def get(self, key, default=None):
        return self.cards.get(key, default)

    def __contains__(self, key):
        return key in self.cards

    def __getitem__(self, key):
        return self.cards[key]


@dataclass
class HDU:
    index: int
    header: Header
    header_offset: int
    data_offset: int
    data_size: int
    kind: str  # 'primary', 'image', 'bintable', 'table', 'other'

    @property
    def name(self) -> str:
        return str(self.header.get("EXTNAME", "PRIMARY" if self.index == 0 else "")).strip()

    @property
    def shape(self) -> tuple[int, ...]:
        """NumPy shape (NAXISn, ..., NAXIS1) of an image HDU."""
        n = int(self.header.get("NAXIS", 0))
        return tuple(int(self.header.get(f"NAXIS{i}", 0)) for i in range(n, 0, -1))


_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?$")


def parse_value(text: str):
    """Value of a card's value field (after ``= ``): str, bool, int, float or None."""
    s = text.lstrip()
    if s.startswith("'"):
        out = []
        i = 1
        while i < len(s):
            c = s[i]
            if c == "'":
                if i + 1 < len(s) and s[i + 1] == "'":
                    out.append("'")
                    i += 2
                    continue
                break
            out.append(c)
            i += 1
        return "".join(out).rstrip()
    token = s.split("/", 1)[0].strip()
    if not token:
        return None
    if token == "T":
        return True
    if token == "F":
        return False
    try:
        return int(token)
    except ValueError:
        pass
    if _FLOAT_RE.match(token):
        return float(token.replace("D", "E").replace("d", "e"))
    return token  # complex or non-standard: kept as text


def parse_header(buf, offset: int, label: str) -> tuple[Header, int]:
    """Parse the header starting at ``offset``; return it and the offset of its data unit."""
    header = Header()
    total = len(buf)
    last_key = None
    for block in range(MAX_HEADER_BLOCKS):
        start = offset + block * BLOCK
        if start + BLOCK > total:
            if start >= total:
                raise FitsError(f"truncated FITS header in HDU starting at byte {offset} (no END card)")
            raise FitsError(f"truncated FITS header at byte {start} (file ends inside a header block)")
        raw = bytes(buf[start:start + BLOCK])
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise FitsError(f"non-ASCII bytes in the FITS header block at byte {start}: corrupt file") from None
        for i in range(0, BLOCK, CARD):
            card = text[i:i + CARD]
            key = card[:8].rstrip()
            header.n_cards += 1
            if key == "END":
                return header, start + BLOCK
            if key in ("COMMENT", "HISTORY", ""):
                if card.strip():
                    header.comments.append(card[8:].rstrip())
                continue
            if key == "HIERARCH":
                body = card[9:]
                if "=" in body:
                    k, v = body.split("=", 1)
                    header.cards.setdefault("HIERARCH " + " ".join(k.split()), parse_value(v))
                continue
            if key == "CONTINUE" and last_key is not None:
                prev = header.cards.get(last_key)
                nxt = parse_value(card[8:])
                if isinstance(prev, str) and prev.endswith("&") and isinstance(nxt, str):
                    header.cards[last_key] = prev[:-1] + nxt
                continue
            if card[8:10] == "= ":
                if key not in header.cards:
                    header.cards[key] = parse_value(card[10:])
                    last_key = key
    raise FitsError(f"FITS header at byte {offset} has no END card in {MAX_HEADER_BLOCKS} blocks")


def _int_key(header: Header, key: str, default=None, minimum=0) -> int:
    value = header.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        if value is None:
            raise FitsError(f"missing {key} keyword")
        raise FitsError(f"{key} = {value!r} is not an integer")
    if value < minimum:
        raise FitsError(f"{key} = {value} is out of range")
    return value


def data_size(header: Header) -> int:
    """Size in bytes of the data unit described by ``header`` (without padding)."""
    bitpix = _int_key(header, "BITPIX", minimum=-64)
    if bitpix not in IMAGE_DTYPES:
        raise FitsError(f"BITPIX = {bitpix} is not one of 8, 16, 32, 64, -32, -64")
    naxis = _int_key(header, "NAXIS")
    if naxis > 999:
        raise FitsError(f"NAXIS = {naxis} is out of range")
    if naxis == 0:
        return 0
    dims = [_int_key(header, f"NAXIS{i}") for i in range(1, naxis + 1)]
    if dims[0] == 0 and header.get("GROUPS") is True:  # random groups
        dims = dims[1:]
    n = 1
    for d in dims:
        n *= d
    pcount = _int_key(header, "PCOUNT", 0)
    gcount = _int_key(header, "GCOUNT", 1)
    return abs(bitpix) // 8 * gcount * (pcount + n)


def scan(buf, label: str, stop_after: int | None = None) -> list[HDU]:
    """Walk the HDUs of FITS content reading headers only. A truncated data unit is allowed
    only for the last HDU found (the reader checks the size of the one it uses)."""
    if bytes(buf[:9]) != b"SIMPLE  =":
        raise FitsError("not a FITS file (does not start with SIMPLE =)")
    hdus: list[HDU] = []
    offset = 0
    total = len(buf)
    while offset < total and len(hdus) < MAX_HDUS:
        if hdus:
            head = bytes(buf[offset:offset + 10])
            if head != b"XTENSION= ":
                break  # trailing padding or junk after the last HDU, as astropy tolerates
        header, data_offset = parse_header(buf, offset, label)
        size = data_size(header)
        if not hdus:
            kind = "primary"
        else:
            xt = str(header.get("XTENSION", "")).strip().upper()
            kind = {"IMAGE": "image", "BINTABLE": "bintable", "TABLE": "table"}.get(xt, "other")
        hdus.append(HDU(len(hdus), header, offset, data_offset, size, kind))
        if stop_after is not None and len(hdus) > stop_after:
            break
        offset = data_offset + -(-size // BLOCK) * BLOCK
    return hdus


def check_data(hdu: HDU, buf) -> None:
    end = hdu.data_offset + hdu.data_size
    if end > len(buf):
        raise FitsError(
            f"truncated FITS file: HDU {hdu.index} declares {hdu.data_size} bytes of data from byte "
            f"{hdu.data_offset} but the file has {len(buf)} bytes")


def image_array(hdu: HDU, buf) -> np.ndarray:
    """Raw image data of an HDU as a big-endian NumPy view (no scaling), NumPy axis order."""
    check_data(hdu, buf)
    bitpix = int(hdu.header["BITPIX"])
    shape = hdu.shape
    count = 1
    for d in shape:
        count *= d
    return np.frombuffer(buf, dtype=IMAGE_DTYPES[bitpix], count=count,
                         offset=hdu.data_offset).reshape(shape)


def scale_image(raw: np.ndarray, header: Header) -> np.ndarray:
    """Physical values (float64): BLANK -> NaN for integer data, then BSCALE * raw + BZERO."""
    out = raw.astype(np.float64)
    if raw.dtype.kind in "iu":
        blank = header.get("BLANK")
        if isinstance(blank, int) and not isinstance(blank, bool):
            out[raw == blank] = np.nan
    bscale = header.get("BSCALE", 1.0)
    bzero = header.get("BZERO", 0.0)
    if isinstance(bscale, (int, float)) and bscale != 1:
        out *= bscale
    if isinstance(bzero, (int, float)) and bzero != 0:
        out += bzero
    return out


# --- binary tables ---------------------------------------------------------------------------

_TFORM_RE = re.compile(r"^\s*(\d*)([LXBIJKAEDCMPQ])(.*)$")
_TFORM_DTYPE = {"L": ("i1", 1), "B": ("u1", 1), "I": (">i2", 2), "J": (">i4", 4), "K": (">i8", 8),
                "A": ("S1", 1), "E": (">f4", 4), "D": (">f8", 8), "C": (">c8", 8), "M": (">c16", 16)}


@dataclass
class Column:
    name: str
    code: str  # TFORM letter (P/Q: the element letter, with ``vla`` set)
    repeat: int
    offset: int
    width: int
    unit: str
    ucd: str
    utype: str
    vla: str = ""  # 'P' or 'Q' for variable-length arrays
    index: int = 0


def table_columns(hdu: HDU) -> list[Column]:
    """Columns of a BINTABLE HDU with their byte layout; checks that they fill NAXIS1."""
    h = hdu.header
    nfields = _int_key(h, "TFIELDS")
    if nfields > 999:
        raise FitsError(f"TFIELDS = {nfields} is out of range")
    cols = []
    offset = 0
    for i in range(1, nfields + 1):
        tform = h.get(f"TFORM{i}")
        m = _TFORM_RE.match(str(tform)) if isinstance(tform, str) else None
        if not m:
            raise FitsError(f"invalid TFORM{i} = {tform!r}")
        repeat = int(m.group(1)) if m.group(1) else 1
        code = m.group(2)
        vla = ""
        if code in "PQ":
            vla = code
            elem = m.group(3).strip()[:1]
            if elem not in _TFORM_DTYPE:
                raise FitsError(f"unsupported variable-length TFORM{i} = {tform!r}")
            width = repeat * (8 if code == "P" else 16)
            code = elem
        elif code == "X":
            width = -(-repeat // 8)
        else:
            width = repeat * _TFORM_DTYPE[code][1]
        cols.append(Column(
            name=str(h.get(f"TTYPE{i}", f"col{i}")).strip(), code=code, repeat=repeat,
            offset=offset, width=width, unit=str(h.get(f"TUNIT{i}", "") or "").strip(),
            ucd=str(h.get(f"TUCD{i}", "") or "").strip(), utype=str(h.get(f"TUTYP{i}", "") or "").strip(),
            vla=vla, index=i))
        offset += width
    naxis1 = _int_key(h, "NAXIS1")
    if offset != naxis1:
        raise FitsError(f"BINTABLE columns take {offset} bytes per row but NAXIS1 = {naxis1}")
    return cols


def table_column(hdu: HDU, buf, col: Column) -> np.ndarray:
    """Values of a numeric column as float64: shape (nrows,) or (nrows, repeat) or, for a
    variable-length column, a list of 1-D arrays. TNULL -> NaN, then TSCAL/TZERO applied."""
    check_data(hdu, buf)
    h = hdu.header
    nrows = _int_key(h, "NAXIS2")
    rowlen = _int_key(h, "NAXIS1")
    if col.code in "AX" or col.code in "CM":
        raise FitsError(f"column {col.name!r} is not real-valued (TFORM {col.code})")
    base, size = _TFORM_DTYPE[col.code]
    table = np.frombuffer(buf, dtype=np.uint8, count=nrows * rowlen, offset=hdu.data_offset)
    table = table.reshape(nrows, rowlen)

    def finish(raw):
        out = raw.astype(np.float64)
        tnull = h.get(f"TNULL{col.index}")
        if raw.dtype.kind in "iu" and isinstance(tnull, int) and not isinstance(tnull, bool):
            out[raw == tnull] = np.nan
        tscal = h.get(f"TSCAL{col.index}", 1.0)
        tzero = h.get(f"TZERO{col.index}", 0.0)
        if isinstance(tscal, (int, float)) and tscal != 1:
            out *= tscal
        if isinstance(tzero, (int, float)) and tzero != 0:
            out += tzero
        return out

    if col.vla:
        desc_dtype = ">i4" if col.vla == "P" else ">i8"
        desc = np.ascontiguousarray(table[:, col.offset:col.offset + col.width]).view(desc_dtype)
        heap_start = hdu.data_offset + int(h.get("THEAP", nrows * rowlen))
        heap_end = hdu.data_offset + hdu.data_size
        arrays = []
        for count, off in desc.reshape(nrows, 2):
            start = heap_start + int(off)
            if count < 0 or off < 0 or start + int(count) * size > heap_end:
                raise FitsError(f"variable-length column {col.name!r} points outside the heap")
            arrays.append(finish(np.frombuffer(buf, dtype=base, count=int(count), offset=start)))
        return arrays
    raw = np.ascontiguousarray(table[:, col.offset:col.offset + col.width]).view(base)
    raw = raw.reshape(nrows, col.repeat) if col.repeat != 1 else raw.reshape(nrows)
    return finish(raw)
