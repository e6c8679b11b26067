"""Writers for spectra and model results: CSV (read back by the ASCII reader) and FITS binary
tables (FREQ in MHz, FLUX, optional ERROR; units, UCDs and utypes) that astropy and CASSIS lite
both read. :func:`fits_bintable` writes any described table (the line table of
:mod:`cassis_lite.vo.exports` too); the VOTable twins are in :mod:`cassis_lite.vo`."""

from __future__ import annotations

import io
import math
import os

import numpy as np

from cassis_lite.readers.fits_format import BLOCK
from cassis_lite.spectrum import Spectrum


def _as_spectrum(obj, y_unit=None) -> Spectrum:
    """A Spectrum, or anything with ``freq_mhz`` and ``intensity`` (e.g. an LTE model result)."""
    if isinstance(obj, Spectrum):
        return obj
    unit = y_unit if y_unit is not None else getattr(obj, "unit", "") or getattr(obj, "y_unit", "")
    if str(unit) in ("Tmb", "TA*"):  # an LTE model's scale: the unit is K
        unit = "K"
    return Spectrum.from_axis(np.asarray(obj.freq_mhz), np.asarray(obj.intensity), x_unit="MHz",
                              y_unit=str(unit), name=getattr(obj, "name", "") or "model")


def _header_items(sp: Spectrum) -> list[tuple[str, object]]:
    items = [("name", sp.name), ("x_unit", "MHz"), ("y_unit", sp.y_unit), ("vlsr_kms", sp.vlsr_kms),
             ("redshift", sp.redshift), ("rest_freq_mhz", sp.rest_freq_mhz), ("telescope", sp.telescope)]
    if sp.beam_arcsec:
        items.append(("beam_arcsec", f"{sp.beam_arcsec[0]!r} {sp.beam_arcsec[1]!r}"))
    return [(k, v) for k, v in items if v not in (None, "")]


def write_csv(spectrum, path=None, y_unit=None) -> str | None:
    """Write ``freq_mhz,intensity[,uncertainty]`` with ``# key: value`` comment lines.

    Values are written with 17 significant digits (``%.17g``) so that they read back exactly.
    Returns the text if ``path`` is None.
    """
    sp = _as_spectrum(spectrum, y_unit)
    out = io.StringIO()
    out.write("# cassis-lite spectrum\n")
    for k, v in _header_items(sp):
        out.write(f"# {k}: {v}\n")
    cols = [sp.freq_mhz, sp.intensity]
    names = ["freq_mhz", "intensity"]
    if sp.uncertainty is not None:
        cols.append(sp.uncertainty)
        names.append("uncertainty")
    out.write(",".join(names) + "\n")
    np.savetxt(out, np.column_stack(cols), fmt="%.17g", delimiter=",")
    text = out.getvalue()
    if path is None:
        return text
    with open(os.fspath(path), "w", encoding="utf-8") as fh:
        fh.write(text)
    return None


def write_model_csv(result, out, with_tau: bool) -> None:
    """An LTE model (``LteResult``) as the ``cassis-lite model`` CSV: ``freq_mhz,intensity
    [unit][,tau]``, frequencies to 1 Hz and values to 10 significant digits, into the text
    stream ``out``."""
    header = f"freq_mhz,intensity [{result.y_label}]" + (",tau" if with_tau else "")
    cols = [result.freq_mhz, result.intensity] + ([result.tau] if with_tau else [])
    fmt = ["%.6f", "%.10g"] + (["%.10g"] if with_tau else [])
    out.write(header + "\n")
    np.savetxt(out, np.column_stack(cols), fmt=fmt, delimiter=",")


#: columns of a line table as CSV (``cassis-lite lines --format csv``, the app's line table export)
TRANSITION_CSV_COLUMNS = ("species", "tag", "freq_mhz", "err_mhz", "aij", "eup_k", "elow_cm", "gup", "qn", "source")


def write_transitions_csv(transitions, out) -> None:
    """A line table (``Transitions``) as CSV into the text stream ``out``: the columns of
    :data:`TRANSITION_CSV_COLUMNS`, floats as ``repr`` (they read back exactly), empty for none."""
    import csv

    w = csv.writer(out, lineterminator="\n")
    w.writerow(TRANSITION_CSV_COLUMNS)
    for r in transitions.to_records():
        w.writerow(["" if r[c] is None else (repr(r[c]) if isinstance(r[c], float) else r[c])
                    for c in TRANSITION_CSV_COLUMNS])


def _card(key: str, value=None, comment: str = "") -> str:
    if value is None:
        return f"{key:<80}"[:80]
    if isinstance(value, bool):
        v = f"{'T' if value else 'F':>20}"
    elif isinstance(value, int):
        v = f"{value:>20d}"
    elif isinstance(value, float):
        # repr round-trips exactly; free-format values may be longer than 20 characters
        v = f"{repr(value).upper():>20}" if math.isfinite(value) else f"{'0.0':>20}"
    else:
        s = str(value).replace("'", "''")[:68]
        v = f"'{s:<8}'"
        v = f"{v:<20}"
    card = f"{key:<8}= {v}"
    if comment:
        card += f" / {comment}"
    return f"{card:<80}"[:80]


def _header(cards: list[str]) -> bytes:
    text = "".join(cards) + f"{'END':<80}"
    pad = -len(text) % BLOCK
    return (text + " " * pad).encode("ascii")


_TFORMS = {"double": ("D", ">f8"), "float": ("E", ">f4"), "long": ("K", ">i8"), "int": ("J", ">i4"),
           "short": ("I", ">i2"), "unsignedByte": ("B", "u1"), "boolean": ("L", "S1")}


def _fits_column(col):
    """(TFORM, numpy dtype, array) of a column (an object with ``name``, ``values`` and optional
    ``datatype`` / ``null``; :class:`cassis_lite.vo.votable_writer.Field` is one)."""
    datatype = getattr(col, "datatype", None)
    values = col.values
    if datatype in ("char", "unicodeChar") or (datatype is None and not isinstance(values, np.ndarray)
                                                and len(values) and isinstance(values[0], str)):
        data = [("" if v is None else str(v)).encode("utf-8") for v in values]
        width = max([1] + [len(b) for b in data])
        return f"{width}A", f"S{width}", np.array(data, dtype=f"S{width}")
    arr = np.asarray(values)
    if datatype is None:
        datatype = {"b": "boolean", "i": "long", "u": "long"}.get(arr.dtype.kind, "double")
    code, dtype = _TFORMS[datatype]
    if datatype == "boolean":
        return code, dtype, np.where(arr.astype(bool), b"T", b"F")
    return code, dtype, arr.astype(dtype)


def fits_bintable(columns, cards=(), extname: str = "TABLE") -> bytes:
    """One BINTABLE extension (header + data, padded to 2880 bytes) from described columns.

    Each column gives TTYPEn, TFORMn (D double, K 64-bit integer, L logical, nA text), TUNITn,
    and where it has them TUCDn and TUTYPn (the IVOA UCD and utype, as the FITS binary-table
    convention of the VO uses them and :mod:`cassis_lite.readers.fits` reads them), TCOMMn (its
    description) and TNULLn (the null value of an integer column). ``cards``: further header
    cards (strings from :func:`_card`) after EXTNAME.
    """
    cols = [(c, *_fits_column(c)) for c in columns]
    n = len(cols[0][3]) if cols else 0
    row_bytes = sum(np.dtype(dt).itemsize for _, _, dt, _ in cols)
    head = [_card("XTENSION", "BINTABLE", "binary table extension"), _card("BITPIX", 8),
            _card("NAXIS", 2), _card("NAXIS1", row_bytes, "bytes per row"),
            _card("NAXIS2", n, "number of rows"), _card("PCOUNT", 0), _card("GCOUNT", 1),
            _card("TFIELDS", len(cols))]
    for i, (c, tform, _, values) in enumerate(cols, 1):
        if len(values) != n:
            raise ValueError(f"column {c.name!r} has {len(values)} values, the table has {n} rows")
        head += [_card(f"TTYPE{i}", c.name), _card(f"TFORM{i}", tform)]
        for key, attr in (("TUNIT", "unit"), ("TUCD", "ucd"), ("TUTYP", "utype"), ("TCOMM", "description")):
            value = getattr(c, attr, "") or ""
            if value:
                head.append(_card(f"{key}{i}", value))
        if getattr(c, "null", None) is not None and tform[-1] in "KJIB":
            head.append(_card(f"TNULL{i}", int(c.null)))
    head.append(_card("EXTNAME", extname))
    head += list(cards)
    table = np.empty(n, dtype=[(f"c{i}", dt) for i, (_, _, dt, _) in enumerate(cols)])
    for i, (_, _, _, values) in enumerate(cols):
        table[f"c{i}"] = values
    body = table.tobytes()
    body += b"\x00" * (-len(body) % BLOCK)
    return _header(head) + body


def fits_file(hdus: list[bytes]) -> bytes:
    """An empty primary HDU (ORIGIN cassis-lite) followed by the given extensions."""
    primary = _header([_card("SIMPLE", True, "conforms to FITS standard"), _card("BITPIX", 8),
                       _card("NAXIS", 0), _card("EXTEND", True), _card("ORIGIN", "cassis-lite")])
    return primary + b"".join(hdus)


def _save(content: bytes, path):
    if path is None:
        return content
    with open(os.fspath(path), "wb") as fh:
        fh.write(content)
    return None


def write_fits(spectrum, path=None, y_unit=None) -> bytes | None:
    """FITS file: empty primary HDU + BINTABLE 'SPECTRUM' with FREQ (MHz), FLUX [, ERROR].

    Columns carry TUCDn (``em.freq``, ``phot.antennaTemp`` / ``phot.flux.density``,
    ``stat.error``) and TUTYPn (IVOA Spectrum DM utypes). Keywords: RESTFRQ (Hz), VELO-LSR
    (m/s, CLASS convention), ZSOURCE, BMAJ/BMIN (deg), TELESCOP, OBJECT. Returns the bytes if
    ``path`` is None.
    """
    from cassis_lite.vo.tables import spectrum_table

    sp = _as_spectrum(spectrum, y_unit)
    cards = []
    if sp.rest_freq_mhz:
        cards.append(_card("RESTFRQ", float(sp.rest_freq_mhz) * 1e6, "[Hz] rest frequency"))
    cards.append(_card("VELO-LSR", float(sp.vlsr_kms or 0.0) * 1e3, "[m/s] source velocity"))
    if sp.redshift:
        cards.append(_card("ZSOURCE", float(sp.redshift), "source redshift"))
    if sp.beam_arcsec:
        cards += [_card("BMAJ", sp.beam_arcsec[0] / 3600.0, "[deg] beam major axis FWHM"),
                  _card("BMIN", sp.beam_arcsec[1] / 3600.0, "[deg] beam minor axis FWHM")]
    if sp.telescope:
        cards.append(_card("TELESCOP", sp.telescope))
    if sp.name:
        cards.append(_card("OBJECT", sp.name))
    return _save(fits_file([fits_bintable(spectrum_table(sp).fields, cards, "SPECTRUM")]), path)


def write_model_fits(result, path=None) -> bytes | None:
    """An LTE model (``LteResult``) as FITS: BINTABLE 'LTE_MODEL' with FREQ (MHz), FLUX (K, or
    Jy/beam), TAU when computed; INTSCALE says Tmb, TA* or Jy/beam. Read back by
    :func:`cassis_lite.readers.read_spectrum` as a spectrum in K (or Jy/beam)."""
    from cassis_lite.vo.tables import model_table

    table = model_table(result)
    cards = [_card("INTSCALE", str(result.unit), "intensity scale of FLUX (Tmb, TA* or Jy/beam)")]
    return _save(fits_file([fits_bintable(table.fields, cards, "LTE_MODEL")]), path)
