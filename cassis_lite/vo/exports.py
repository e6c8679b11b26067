"""Exports of a spectrum, an LTE model and a line table as VOTable (TABLEDATA or BINARY2) and FITS
binary table: one column description (:mod:`cassis_lite.vo.tables`), two serialisations.

    from cassis_lite.vo import exports
    data = exports.lines_votable(db.transitions(86e3, 90e3), "binary2")   # bytes
    data = exports.export("model", result, "fits", config=config)          # the CLI's and the app's entry

Every export reads back through our readers exactly: spectra and models with
:func:`cassis_lite.readers.read_spectrum`, line tables with
:func:`cassis_lite.vo.linelist.transitions_from_votable` / ``transitions_from_fits``.
"""

from __future__ import annotations

import os

from cassis_lite.errors import CassisError
from cassis_lite.vo import tables
from cassis_lite.vo.votable_writer import to_xml

FORMATS = ("votable", "fits")
#: file extension -> export format (``-o x.vot`` picks VOTable)
EXTENSIONS = {".vot": "votable", ".votable": "votable", ".xml": "votable", ".fits": "fits", ".fit": "fits",
              ".fts": "fits", ".csv": "csv", ".json": "json", ".txt": "table"}
#: media types, for HTTP and SAMP
MEDIA_TYPES = {"votable": "application/x-votable+xml", "fits": "application/fits", "csv": "text/csv",
               "json": "application/json"}


def format_from_path(path, default: str) -> str:
    """The export format a file name asks for by its extension (``default`` when unknown)."""
    if not path:
        return default
    return EXTENSIONS.get(os.path.splitext(os.fspath(path))[1].lower(), default)


def spectrum_votable(sp, serialization: str = "tabledata") -> bytes:
    return to_xml(tables.spectrum_table(sp), serialization)


def model_votable(result, config=None, serialization: str = "tabledata") -> bytes:
    return to_xml(tables.model_table(result, config), serialization)


def lines_votable(t, serialization: str = "tabledata") -> bytes:
    return to_xml(tables.lines_table(t), serialization)


def spectrum_fits(sp) -> bytes:
    from cassis_lite.readers.writers import write_fits

    return write_fits(sp)


def model_fits(result) -> bytes:
    from cassis_lite.readers.writers import write_model_fits

    return write_model_fits(result)


def lines_fits(t) -> bytes:
    """The line table as FITS: BINTABLE 'LINES' with the columns of :func:`tables.lines_table`
    (TTYPE/TFORM/TUNIT/TUCD/TUTYP/TCOMM; TNULL -1 for ``tag``)."""
    from cassis_lite.readers.writers import fits_bintable, fits_file

    return fits_file([fits_bintable(tables.line_fields(t), (), "LINES")])


def export(kind: str, obj, fmt: str, serialization: str = "tabledata", config=None) -> bytes:
    """``kind`` 'spectrum' | 'model' | 'lines' as ``fmt`` 'votable' | 'fits' | 'csv' (bytes; CSV is
    the command line's: ``write_csv``, ``write_model_csv`` with tau when computed,
    ``write_transitions_csv``)."""
    if fmt == "csv":
        return _csv(kind, obj)
    if fmt not in FORMATS:
        raise CassisError(f"export format must be one of {', '.join(FORMATS)} or csv, got {fmt!r}")
    if kind == "spectrum":
        return spectrum_votable(obj, serialization) if fmt == "votable" else spectrum_fits(obj)
    if kind == "model":
        return model_votable(obj, config, serialization) if fmt == "votable" else model_fits(obj)
    if kind == "lines":
        return lines_votable(obj, serialization) if fmt == "votable" else lines_fits(obj)
    raise CassisError(f"unknown export {kind!r}: spectrum, model or lines")


def _csv(kind: str, obj) -> bytes:
    import io

    from cassis_lite.readers import writers

    out = io.StringIO()
    if kind == "spectrum":
        out.write(writers.write_csv(obj))
    elif kind == "model":
        writers.write_model_csv(obj, out, with_tau=obj.tau is not None)
    elif kind == "lines":
        writers.write_transitions_csv(obj, out)
    else:
        raise CassisError(f"unknown export {kind!r}: spectrum, model or lines")
    return out.getvalue().encode("utf-8")
