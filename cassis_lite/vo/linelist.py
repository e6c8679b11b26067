"""Line lists from tables: a VOTable (ours, a SLAP service's, TOPCAT's...) or our FITS line table
back into the ``Transitions`` that ``LineDatabase.transitions`` returns, so that a remote or saved
list overlays, models and searches like the local database.

Columns are found by our names (``freq_mhz``, ``eup_k``, ... as ``cassis-lite lines`` writes them),
then by SLAP/SSLDM utype, then by UCD:

- frequency: ``freq_mhz``; a field of UCD ``em.freq`` in its unit; else the vacuum wavelength
  ``ssldm:Line.wavelength.value`` (UCD ``em.wl``, unit m unless given): nu = c / lambda;
- species: ``species``, ``ssldm:Line.initialElement.name`` (a formula), ``ssldm:Line.species.name``,
  the title;
- A_ij: ``aij``, ``ssldm:Line.einsteinA`` (s^-1; a column of values all <= 0 is log10 A, as
  Splatalogue's SLAP service writes it);
- E_up: ``eup_k``, else ``ssldm:Line.initialLevel.energy`` converted from its unit (J: E/k;
  eV; cm-1: x hc/k; K); E_low: ``elow_cm`` or ``ssldm:Line.finalLevel.energy``. A level energy
  without a unit is taken in cm^-1 (what Splatalogue's SLAP service writes). When only one of the
  two is given, the other follows from E_up = E_low + h nu;
- g_up (``gup``), quantum numbers (``qn``, a UCD ``phys.atmol.qn`` / ``phys.atmol.transition``
  field, or initial/final level names), tag, source.

A quantity the table does not have is NaN (A_ij, E_up, E_low, uncertainty), 0 (g_up), -1 (tag).
"""

from __future__ import annotations

import numpy as np

from cassis_lite import units
from cassis_lite.constants import C_LIGHT, CM1_TO_K, HK_MHZ, K_BOLTZMANN
from cassis_lite.errors import CassisError
from cassis_lite.linedb import Transitions
from cassis_lite.vo.tables import CM1_TO_J
from cassis_lite.vo.votable_read import Table, read_tables

#: the SI electron volt (exact since 2019), J
ELECTRON_VOLT_J = 1.602176634e-19


class LineTableError(CassisError):
    """A table that is not a line list (no frequency or wavelength column)."""


def _energy_to_k(values, unit: str) -> np.ndarray:
    u = (unit or "cm-1").strip().lower().replace("**", "").replace("^", "")
    v = np.asarray(values, dtype=float)
    if u == "j":
        return v / K_BOLTZMANN
    if u == "ev":
        return v * ELECTRON_VOLT_J / K_BOLTZMANN
    if u == "mev":
        return v * 1e-3 * ELECTRON_VOLT_J / K_BOLTZMANN
    if u in ("k", "kelvin"):
        return v
    if u in ("cm-1", "1/cm", "/cm", "kayser"):
        return v * CM1_TO_K
    if u in ("m-1", "1/m"):
        return v * CM1_TO_K / 100.0
    raise LineTableError(f"unknown energy unit {unit!r}")


def _numbers(table: Table, f, n: int) -> np.ndarray:
    if f is None:
        return np.full(n, np.nan)
    v = table.columns[f.name]
    if isinstance(v, list):
        out = np.full(n, np.nan)
        for i, s in enumerate(v):
            try:
                out[i] = float(s)
            except (TypeError, ValueError):
                pass
        return out
    return np.asarray(v, dtype=float)


def _strings(table: Table, f, n: int, strip: bool = True) -> list[str]:
    if f is None:
        return [""] * n
    v = table.columns[f.name]
    if isinstance(v, list):
        return [str(x).strip() if strip else str(x) for x in v]
    return [("" if np.isnan(x) else repr(float(x))) for x in np.asarray(v, dtype=float)]


def transitions_from_table(table: Table, source: str | None = None, sort: bool = True) -> Transitions:
    """A line list (``Transitions``) from a decoded table (:func:`~cassis_lite.vo.votable_read.read_tables`)."""
    n = table.n_rows
    f_freq = table.field(name="freq_mhz")
    if f_freq is None:
        f_freq = next((f for f in table.fields if f.ucd.lower().split(";")[0] == "em.freq" and f.unit), None)
    if f_freq is not None:
        freq = units.to_freq_mhz(_numbers(table, f_freq, n), f_freq.unit or "MHz")
    else:
        f_wl = table.field(utype="ssldm:Line.wavelength.value", ucd="em.wl")
        if f_wl is None:
            raise LineTableError("the table has no frequency (em.freq) or wavelength (ssldm:Line.wavelength.value) "
                                 f"column: {', '.join(f.name for f in table.fields[:12])}")
        freq = units.wavelength_to_freq(_numbers(table, f_wl, n), f_wl.unit or "m")
    f_title = table.field(name="title", utype="ssldm:Line.title")
    f_species = (table.field(name="species") or table.field(utype="ssldm:Line.initialElement.name")
                 or table.field(utype="ssldm:Line.species.name") or f_title)
    species = _strings(table, f_species, n)
    f_err = table.field(name="err_mhz")
    err = _numbers(table, f_err, n) if f_err is not None else np.full(n, np.nan)
    aij = _numbers(table, table.field(name="aij", utype="ssldm:Line.einsteinA"), n)
    finite = aij[np.isfinite(aij)]
    if finite.size and np.all(finite <= 0) and np.any(finite < 0):
        aij = 10.0 ** aij  # log10 A (Splatalogue's SLAP writes it so): an Einstein A is positive
    f_eup, f_elow = table.field(name="eup_k"), table.field(name="elow_cm")
    if f_eup is not None:
        eup = _numbers(table, f_eup, n)
    else:
        f = table.field(utype="ssldm:Line.initialLevel.energy")
        eup = _energy_to_k(_numbers(table, f, n), f.unit) if f is not None else np.full(n, np.nan)
    if f_elow is not None:
        elow = _numbers(table, f_elow, n)
    else:
        f = table.field(utype="ssldm:Line.finalLevel.energy")
        elow = _energy_to_k(_numbers(table, f, n), f.unit) / CM1_TO_K if f is not None else np.full(n, np.nan)
    # E_up = E_low + h nu
    eup = np.where(np.isnan(eup), elow * CM1_TO_K + HK_MHZ * freq, eup)
    elow = np.where(np.isnan(elow), (eup - HK_MHZ * freq) / CM1_TO_K, elow)
    gup = np.nan_to_num(_numbers(table, table.field(name="gup"), n), nan=0.0).astype(np.int64)
    tags = np.nan_to_num(_numbers(table, table.field(name="tag"), n), nan=-1.0).astype(np.int64)
    tags[tags < 0] = -1
    f_qn = table.field(name="qn") or table.field(ucd="phys.atmol.qn") or table.field(ucd="phys.atmol.transition")
    if f_qn is not None:
        qn = _strings(table, f_qn, n, strip=False)
    else:
        up = _strings(table, table.field(utype="ssldm:Line.initialLevel.name"), n)
        low = _strings(table, table.field(utype="ssldm:Line.finalLevel.name"), n)
        qn = [f"{a} - {b}" if a and b else a or b for a, b in zip(up, low)]
        if not any(qn) and f_title is not None and f_title is not f_species:
            qn = _strings(table, f_title, n)
    f_src = table.field(name="source")
    sources = _strings(table, f_src, n) if f_src is not None else [source or ""] * n
    names = sorted(set(species))
    sid = {s: i + 1 for i, s in enumerate(names)}
    t = Transitions(
        species_id=np.array([sid[s] for s in species], dtype=np.int64), freq_mhz=np.asarray(freq, dtype=float),
        err_mhz=err, aij=aij, elow_cm=elow, eup_k=eup, gup=gup, qn=np.array(qn, dtype=str),
        species_names=np.array(species, dtype=str), tags=tags, sources=np.array(sources, dtype=str))
    if n == 0:
        return Transitions.empty()
    if sort:
        order = np.argsort(t.freq_mhz, kind="stable")
        if np.any(order != np.arange(n)):
            t = t[order]
    return t


def transitions_from_votable(data, source: str | None = None, label: str = "<votable>") -> Transitions:
    """The line list of the first table of a VOTable document that has one."""
    tables = read_tables(data, label)
    if not tables:
        raise LineTableError(f"{label}: no TABLE in the VOTable")
    problems = []
    for t in tables:
        try:
            return transitions_from_table(t, source)
        except LineTableError as exc:
            problems.append(str(exc))
    raise LineTableError(f"{label}: {problems[0]}")


def transitions_from_csv(text: str, label: str = "<csv>") -> Transitions:
    """The line list of a CSV file with a header row (the columns of ``cassis-lite lines --format
    csv``: species, tag, freq_mhz, err_mhz, aij, eup_k, elow_cm, gup, qn, source; ``freq_mhz``
    at least)."""
    import csv
    import io

    from cassis_lite.readers.votable import VOField

    rows = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].lstrip().startswith("#")]
    if not rows:
        raise LineTableError(f"{label}: empty line list")
    header = [h.strip() for h in rows[0]]
    if "freq_mhz" not in header:
        raise LineTableError(f"{label}: a line-list CSV needs a freq_mhz column (header: {header[:10]})")
    body = rows[1:]
    text_cols = ("species", "qn", "source", "title")
    fields = [VOField(name=h, datatype="char" if h in text_cols else "double", arraysize=None,
                      unit="MHz" if h == "freq_mhz" else "") for h in header]
    columns = {h: [(r[j] if j < len(r) else "") for r in body] for j, h in enumerate(header)}
    return transitions_from_table(Table(fields, columns, len(body)), None)


def transitions_from_bytes(data, label: str = "<line list>", source: str | None = None) -> Transitions:
    """The line list of a file's bytes, by content: a FITS table, a VOTable, or a CSV (UTF-8)."""
    data = bytes(data)
    if data[:6] == b"SIMPLE":
        return transitions_from_fits(data, label)
    if data.lstrip()[:1] == b"<":
        return transitions_from_votable(data, source, label)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LineTableError(f"{label}: not a line table (a VOTable, a FITS table or a CSV file)") from None
    return transitions_from_csv(text, label)


def transitions_from_fits(data, label: str = "<fits>") -> Transitions:
    """The line list of the first binary table of a FITS file written by :func:`cassis_lite.vo.exports.lines_fits`
    (or any table with the same column names)."""
    from cassis_lite.readers import fits_format as ff
    from cassis_lite.readers.registry import ReadError
    from cassis_lite.readers.votable import VOField

    buf = memoryview(bytes(data))
    try:
        hdus = ff.scan(buf, label)
        hdu = next((h for h in hdus if h.kind == "bintable"), None)
        if hdu is None:
            raise LineTableError(f"{label}: no binary table in the FITS file")
        cols = ff.table_columns(hdu)
        ff.check_data(hdu, buf)
        nrows = int(hdu.header.get("NAXIS2", 0))
        rowlen = int(hdu.header.get("NAXIS1", 0))
        raw = np.frombuffer(buf, dtype=np.uint8, count=nrows * rowlen, offset=hdu.data_offset).reshape(nrows, rowlen)
        fields, columns = [], {}
        for c in cols:
            if c.code == "A":
                cells = np.ascontiguousarray(raw[:, c.offset:c.offset + c.width]).view(f"S{c.width}").ravel()
                columns[c.name] = [b.decode("utf-8", "replace").rstrip(" ") for b in cells.tolist()]
                dt = "char"
            else:
                columns[c.name] = ff.table_column(hdu, buf, c)
                dt = "double"
            fields.append(VOField(name=c.name, datatype=dt, arraysize=None, unit=c.unit, ucd=c.ucd, utype=c.utype))
    except (ff.FitsError, ReadError) as exc:
        raise LineTableError(f"{label}: {exc}") from None
    return transitions_from_table(Table(fields, columns, nrows), None)


__all__ = ["transitions_from_table", "transitions_from_votable", "transitions_from_fits", "transitions_from_csv",
           "LineTableError",
           "C_LIGHT", "CM1_TO_J"]
