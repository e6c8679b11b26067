"""Spectrum readers (detection by content) and writers.

    from cassis_lite.readers import read_spectrum, write_csv, write_fits
    sp = read_spectrum("spectrum.fits")           # or bytes, with name= for messages
    sp = read_spectrum(data, name="cube.fits", pixel=(10, 12))   # cube: spectrum at a pixel
    sp = read_spectrum(data, name="cube.fits", region=(0, 20, 0, 20))  # mean over a region

Formats: FITS (1-D image with spectral WCS, binary table, cube), VOTable (TABLEDATA, BINARY,
BINARY2), CASSIS .lis and "Spectral profile" exports, ASCII/CSV. Core readers use only NumPy
and the standard library, so they run unchanged in Pyodide.
"""

from cassis_lite.readers import ascii as _ascii  # noqa: E402,F401
from cassis_lite.readers import cassis as _cassis  # noqa: E402,F401

# registration order is detection order: binary formats first, generic text last
from cassis_lite.readers import fits as _fits  # noqa: E402,F401
from cassis_lite.readers import votable as _votable  # noqa: E402,F401
from cassis_lite.readers.fits import probe as probe_fits  # noqa: E402,F401
from cassis_lite.readers.registry import (  # noqa: F401
    MAX_IN_MEMORY_BYTES,
    Reader,
    ReadError,
    TooLargeError,
    detect,
    formats,
    read_spectrum,
    register,
)
from cassis_lite.readers.writers import write_csv, write_fits  # noqa: E402,F401


def probe(head: bytes, file_size: int, name: str = "<data>", max_bytes: int | None = None) -> dict:
    """Check a file from its first bytes and its size before reading it all (the browser calls
    this with ``File.slice(0, 64 KiB)``): raises :class:`TooLargeError` for a file over the
    limit (FITS: naming the HDU shapes from the headers), :class:`ReadError` for an empty or
    foreign file; returns ``{'format': ..., 'file_size': ...}`` (+ ``'hdus'`` for FITS)."""
    limit = MAX_IN_MEMORY_BYTES if max_bytes is None else max_bytes
    head = bytes(head)
    if head[:2] == b"\x1f\x8b":
        if file_size > limit:
            raise TooLargeError(f"{name}: compressed file is {file_size / 2**20:.0f} MiB, over the "
                                f"{limit / 2**20:.0f} MiB limit")
        return {"format": "gzip", "file_size": file_size}
    reader = detect(head, name)
    if reader.name == "fits":
        info = probe_fits(head, file_size, name, limit)
        info["format"] = "fits"
        return info
    if file_size > limit:
        raise TooLargeError(f"{name}: file is {file_size / 2**20:.0f} MiB, over the "
                            f"{limit / 2**20:.0f} MiB limit")
    return {"format": reader.name, "file_size": file_size}


__all__ = ["read_spectrum", "write_csv", "write_fits", "ReadError", "TooLargeError", "probe",
           "formats", "register", "Reader", "detect", "MAX_IN_MEMORY_BYTES"]
