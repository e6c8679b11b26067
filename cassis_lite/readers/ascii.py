"""ASCII / CSV spectra: two or three columns (axis, intensity, [uncertainty]), with or without
a header row, separated by commas, semicolons, tabs or spaces.

Units come from a header row (``freq (GHz)``, ``frequency [MHz]``, ``freq_mhz``) or from
comments (``// unitx: GHz``, ``# unity: K``, ``# x_unit = um``); without either, the axis is
taken as MHz (CASSIS's convention) and ``meta['assumed_x_unit']`` says so. Comments may also
give ``vlsr``, ``rest_freq_mhz`` / ``restfreq``, ``redshift``, ``telescope``, ``beam_arcsec``.
"""

from __future__ import annotations

import io
import re
import warnings

import numpy as np

from cassis_lite import units
from cassis_lite.readers.registry import Reader, ReadError, register
from cassis_lite.spectrum import Spectrum

COMMENT_PREFIXES = ("#", "//", "!", "%", ";")
_SPLIT_RE = re.compile(r"[,;\s]+")
_UNIT_IN_NAME = re.compile(r"^(.*?)[\s_]*[\[(]\s*([^\])]*?)\s*[\])]\s*(.*)$")

_CANONICAL = {"hz": "Hz", "khz": "kHz", "mhz": "MHz", "ghz": "GHz", "thz": "THz", "km/s": "km/s",
              "angstrom": "Angstrom", "um": "um", "nm": "nm", "mm": "mm", "cm": "cm", "m/s": "m/s"}

AXIS_WORDS = ("freq", "frequency", "nu", "wave", "wavelength", "lambda", "lam", "velo", "velocity",
              "vlsr", "vrad", "v", "x", "wavenumber", "sigma_cm", "freqlsb")
ERROR_WORDS = ("err", "error", "sigma", "uncertainty", "unc", "noise", "rms", "dy", "e_flux", "flux_err")
Y_WORDS = ("intensity", "flux", "t", "tmb", "ta", "ta*", "tb", "y", "signal", "spectrum", "fluxdens",
           "flux_density", "int", "temperature")


def decode_text(data, label: str) -> str:
    raw = bytes(data)
    if b"\x00" in raw[:4096]:
        raise ReadError(f"{label}: binary content, not a text table")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _is_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def split_comments(text: str):
    """(comment lines without their prefix, other non-blank lines with 1-based line numbers)."""
    comments, lines = [], []
    for number, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        for p in COMMENT_PREFIXES:
            if s.startswith(p):
                comments.append(s[len(p):].strip())
                break
        else:
            lines.append((number, s))
    return comments, lines


def parse_key_values(comments) -> dict:
    """``key: value`` or ``key = value`` pairs found in comment lines (keys lower-cased)."""
    out = {}
    for c in comments:
        m = re.match(r"^([A-Za-z_][\w .\-\[\]/()]*?)\s*[:=]\s*(.*)$", c)
        if m:
            out.setdefault(m.group(1).strip().lower(), m.group(2).strip())
    return out


def numeric_table(lines, label: str):
    """(column names or None, float64 array (n_rows, n_cols)) from (line number, text) pairs."""
    if not lines:
        raise ReadError(f"{label}: no data lines")
    names = None
    first = _SPLIT_RE.split(lines[0][1].strip(", ;\t"))
    if not all(_is_number(t) for t in first):
        names = [t for t in re.split(r"\s*[,;\t]\s*|\s{2,}", lines[0][1].strip()) if t]
        if len(names) == 1:
            names = first
        lines = lines[1:]
        if not lines:
            raise ReadError(f"{label}: a header row but no data lines")
    rows = [_SPLIT_RE.split(text.strip(", ;\t")) for _, text in lines]
    ncols = len(rows[0])
    for (number, _), row in zip(lines, rows):
        if len(row) != ncols:
            raise ReadError(f"{label}: line {number} has {len(row)} columns, expected {ncols}")
    flat = [t for row in rows for t in row]
    try:
        data = np.array(flat, dtype=np.float64).reshape(len(rows), ncols)
    except ValueError:
        for (number, _), row in zip(lines, rows):
            for t in row:
                if not _is_number(t):
                    raise ReadError(f"{label}: line {number}: {t[:30]!r} is not a number") from None
        raise
    if names is not None and len(names) != ncols:
        names = names[:ncols] + [f"col{i + 1}" for i in range(len(names), ncols)]
    return names, data


def read_table(text: str, label: str):
    """(comment lines, column names or None, float64 array (n_rows, n_cols)) of a text table.

    Fast path: the comments and the header row are found line by line at the top, then the body
    goes to NumPy's C parser (``np.loadtxt``). Anything it rejects (ragged rows, words, comments
    further down...) is parsed again line by line, which names the offending line.
    """
    comments = []
    pos, n = 0, len(text)
    header_line = None
    while pos < n:
        end = text.find("\n", pos)
        end = n if end < 0 else end
        s = text[pos:end].strip()
        if not s:
            pos = end + 1
            continue
        prefix = next((p for p in COMMENT_PREFIXES if s.startswith(p)), None)
        if prefix is not None:
            comments.append(s[len(prefix):].strip())
            pos = end + 1
            continue
        tokens = _SPLIT_RE.split(s.strip(", ;\t"))
        if header_line is None and not all(_is_number(t) for t in tokens):
            header_line = s
            pos = end + 1
            continue
        delimiter = "," if "," in s else (";" if ";" in s else None)
        marks = [p for p in COMMENT_PREFIXES if p != delimiter]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = np.loadtxt(io.StringIO(text[pos:]), dtype=np.float64, delimiter=delimiter,
                                  comments=marks, ndmin=2)
        except ValueError:
            break
        if data.shape[0] == 0:
            break
        names = None
        if header_line is not None:
            names, _ = numeric_table([(0, header_line), (0, s)], label)
        if names is not None and len(names) != data.shape[1]:
            break
        return comments, names, data
    all_comments, lines = split_comments(text)
    names, data = numeric_table(lines, label)
    return all_comments, names, data


def name_and_unit(header_name: str) -> tuple[str, str]:
    """Split ``'freq (GHz)'`` / ``'frequency [MHz]'`` / ``'freq_mhz'`` into (name, unit)."""
    m = _UNIT_IN_NAME.match(header_name)
    if m:
        return (m.group(1) or m.group(3)).strip().lower(), m.group(2).strip()
    name = header_name.strip()
    if "_" in name:
        stem, suffix = name.rsplit("_", 1)
        for candidate in (suffix, suffix.replace("kms", "km/s")):
            try:
                units.axis_unit_kind(candidate)
                return stem.lower(), _CANONICAL.get(candidate.lower(), candidate)
            except units.UnitError:
                pass
            if units.intensity_unit_scale(candidate):
                return stem.lower(), candidate
    return name.lower(), ""


def _pick(names, words, exclude=()):
    for i, n in enumerate(names):
        if i not in exclude and n in words:
            return i
    for i, n in enumerate(names):
        if i not in exclude and any(n.startswith(w) for w in words if len(w) > 2):
            return i
    return None


def _float(text):
    try:
        return float(str(text).split()[0].strip("[](),"))
    except (ValueError, IndexError):
        return None


def _beam(text):
    nums = [float(t) for t in re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", str(text or ""))]
    if not nums or nums[0] <= 0:
        return None
    return (nums[0], nums[1] if len(nums) > 1 and nums[1] > 0 else nums[0])


def build(names, data, kv, label, fmt, default_y_unit="", meta=None) -> Spectrum:
    """Spectrum from a parsed numeric table and comment key/values."""
    ncols = data.shape[1]
    if ncols < 2:
        raise ReadError(f"{label}: one column only; a spectrum needs an axis and an intensity column")
    meta = dict(meta or {})
    parsed = [name_and_unit(n) for n in names] if names else [(f"col{i + 1}", "") for i in range(ncols)]
    plain = [p[0] for p in parsed]
    ix = _pick(plain, AXIS_WORDS) if names else 0
    ix = 0 if ix is None else ix
    ie = _pick(plain, ERROR_WORDS, exclude=(ix,)) if names else None
    iy = _pick(plain, Y_WORDS, exclude=(ix, ie)) if names else 1
    if iy is None:
        iy = next(i for i in range(ncols) if i not in (ix, ie))
    if ie is None and ncols == 3 and not names:
        ie = 2
    comment_unit = kv.get("unitx") or kv.get("x_unit") or kv.get("xunit") or ""
    if parsed[ix][1] and comment_unit and parsed[ix][1].lower() != comment_unit.lower():
        raise ReadError(f"{label}: mixed units for the axis: {parsed[ix][1]!r} in the header row but "
                        f"{comment_unit!r} in the comments")
    x_unit = parsed[ix][1] or comment_unit
    y_unit = parsed[iy][1] or kv.get("unity") or kv.get("y_unit") or kv.get("yunit") or default_y_unit
    axis_name = plain[ix]
    if not x_unit:
        if axis_name.startswith(("velo", "vlsr", "vrad")) or axis_name == "v":
            x_unit = "km/s"
        elif axis_name.startswith(("wave", "lambda", "lam")):
            x_unit = "um"
        else:
            x_unit = "MHz"
        meta["assumed_x_unit"] = x_unit
    try:
        units.axis_unit_kind(x_unit)
    except units.UnitError:
        raise ReadError(f"{label}: unknown axis unit {x_unit!r}") from None
    rest = _float(kv.get("rest_freq_mhz") or kv.get("restfreq") or kv.get("rest frequency")
                  or kv.get("restfreq_mhz") or "")
    vlsr = _float(kv.get("vlsr_kms") or kv.get("vlsr") or kv.get("vlsr [km/s]") or "") or 0.0
    z = _float(kv.get("redshift") or kv.get("z") or "") or 0.0
    air = str(kv.get("air", kv.get("airvac", ""))).lower() in ("true", "1", "yes", "air")
    if names:
        meta["columns"] = list(names)
    return Spectrum.from_axis(
        data[:, ix], data[:, iy], x_unit=x_unit, uncertainty=data[:, ie] if ie is not None else None,
        rest_freq_mhz=rest, air_wavelength=air, y_unit=units.normalise_intensity_unit(y_unit),
        vlsr_kms=vlsr, redshift=z, beam_arcsec=_beam(kv.get("beam_arcsec") or kv.get("beam")),
        telescope=kv.get("telescope") or None, meta=meta, name=label, format=fmt)


def sniff(head: bytes, name: str) -> bool:
    if b"\x00" in head[:1024]:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            try:
                text = head.decode("latin-1")
            except UnicodeDecodeError:
                return False
        else:
            text = head[:exc.start].decode("utf-8")
    _, lines = split_comments(text)
    numeric = 0
    for _, line in lines[:20]:
        tokens = _SPLIT_RE.split(line.strip(", ;\t"))
        if len(tokens) >= 2 and all(_is_number(t) for t in tokens):
            numeric += 1
    return numeric >= 1


def read(data, label: str, **_) -> Spectrum:
    text = decode_text(data, label)
    comments, names, table = read_table(text, label)
    kv = parse_key_values(comments)
    return build(names, table, kv, label, "ascii", meta={"comments": comments[:50]})


register(Reader("ascii", "ASCII/CSV table: axis, intensity [, uncertainty]", sniff, read,
                (".csv", ".txt", ".dat", ".tsv", ".asc"), priority=90))
