"""Writers for spectra and model results: CSV (read back by the ASCII reader) and a FITS
binary table (FREQ in MHz, FLUX, optional ERROR) that astropy and CASSIS lite both read."""

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


def write_fits(spectrum, path=None, y_unit=None) -> bytes | None:
    """FITS file: empty primary HDU + BINTABLE 'SPECTRUM' with FREQ (MHz), FLUX [, ERROR].

    Keywords: RESTFRQ (Hz), VELO-LSR (m/s, CLASS convention), ZSOURCE, BMAJ/BMIN (deg),
    TELESCOP, OBJECT. Returns the bytes if ``path`` is None.
    """
    sp = _as_spectrum(spectrum, y_unit)
    n = sp.n_channels
    columns = [("FREQ", sp.freq_mhz, "MHz"), ("FLUX", sp.intensity, sp.y_unit)]
    if sp.uncertainty is not None:
        columns.append(("ERROR", sp.uncertainty, sp.y_unit))
    primary = _header([_card("SIMPLE", True, "conforms to FITS standard"), _card("BITPIX", 8),
                       _card("NAXIS", 0), _card("EXTEND", True),
                       _card("ORIGIN", "cassis-lite")])
    cards = [_card("XTENSION", "BINTABLE", "binary table extension"), _card("BITPIX", 8),
             _card("NAXIS", 2), _card("NAXIS1", 8 * len(columns), "bytes per row"),
             _card("NAXIS2", n, "number of channels"), _card("PCOUNT", 0), _card("GCOUNT", 1),
             _card("TFIELDS", len(columns))]
    for i, (name, _, unit) in enumerate(columns, 1):
        cards += [_card(f"TTYPE{i}", name), _card(f"TFORM{i}", "D")]
        if unit:
            cards.append(_card(f"TUNIT{i}", unit))
    cards.append(_card("EXTNAME", "SPECTRUM"))
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
    table = np.empty(n, dtype=[(name, ">f8") for name, _, _ in columns])
    for name, values, _ in columns:
        table[name] = values
    body = table.tobytes()
    body += b"\x00" * (-len(body) % BLOCK)
    content = primary + _header(cards) + body
    if path is None:
        return content
    with open(os.fspath(path), "wb") as fh:
        fh.write(content)
    return None
