"""Reader registry: detect a file's format from its content and dispatch to its reader.

Each reader module registers a :class:`Reader` with a ``sniff(head, name) -> bool`` function
that looks at the first bytes (never only the extension) and a ``read(data, name, **options)``
function that turns the whole content into a :class:`~cassis_lite.spectrum.Spectrum`.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from cassis_lite.errors import CassisError
from cassis_lite.spectrum import Spectrum

#: Largest content the readers hold in memory (bytes after gzip decompression). A browser tab
#: runs Pyodide in 32-bit WebAssembly (at most 2-4 GB of heap) and already holds the file once
#: in JavaScript and once in Python: above 512 MiB the page would fail or crawl, so such files
#: are refused after reading only their headers. On CPython a FITS file given by path is
#: memory-mapped, so this limit applies only to what is converted (``max_bytes`` overrides it).
MAX_IN_MEMORY_BYTES = 512 * 1024**2

#: bytes needed to detect the format
SNIFF_BYTES = 4096


class ReadError(CassisError):
    """A file that cannot be read as a spectrum; the message names the file and the problem."""


class TooLargeError(ReadError):
    """A file (or the part to convert) over the memory limit, refused before reading it all."""


@dataclass(frozen=True)
class Reader:
    name: str
    description: str
    sniff: Callable[[bytes, str], bool]
    read: Callable[..., Spectrum]
    extensions: tuple[str, ...] = ()
    priority: int = 50  # detection order: lower first (generic text readers last)


_READERS: dict[str, Reader] = {}

# content that is certainly not a spectrum: (magic, what it is)
_FOREIGN = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"), (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive"),
    (b"\x7fELF", "an executable"), (b"BZh", "a bzip2 archive"), (b"\xfd7zXZ", "an xz archive"),
    (b"\x89HDF", "an HDF5 file"), (b"CDF\x01", "a NetCDF file"), (b"SQLite format 3", "an SQLite database"),
)


def register(reader: Reader) -> Reader:
    _READERS[reader.name] = reader
    ordered = sorted(_READERS.values(), key=lambda r: r.priority)
    _READERS.clear()
    _READERS.update((r.name, r) for r in ordered)
    return reader


def formats() -> list[Reader]:
    """Registered readers, in detection order."""
    return list(_READERS.values())


def _display_name(source, name):
    if name:
        return str(name)
    if isinstance(source, (str, os.PathLike)):
        return os.path.basename(os.fspath(source))
    return "<data>"


def gunzip(data, name: str, max_bytes: int) -> bytes:
    """Decompress gzip content, refusing (from the gzip trailer, before inflating) anything that
    would exceed ``max_bytes``; a corrupt stream raises :class:`ReadError`."""
    if len(data) >= 18:
        isize = struct.unpack("<I", bytes(data[-4:]))[0]  # uncompressed size mod 2^32
        if isize > max_bytes:
            raise TooLargeError(f"{name}: gzip content is {isize / 2**20:.0f} MiB uncompressed, "
                                f"over the {max_bytes / 2**20:.0f} MiB limit")
    out = []
    total = 0
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        chunk = d.decompress(bytes(data), max_bytes + 1)
        while True:
            out.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise TooLargeError(f"{name}: gzip content is over the {max_bytes / 2**20:.0f} MiB limit")
            if not d.unconsumed_tail:
                break
            chunk = d.decompress(d.unconsumed_tail, max_bytes + 1 - total)
        if not d.eof:
            raise ReadError(f"{name}: gzip stream is truncated")
    except zlib.error as exc:
        raise ReadError(f"{name}: corrupt gzip content ({exc})") from None
    return b"".join(out)


def _load(source, name: str):
    """Content of ``source`` as a bytes-like object (a read-only mmap for paths in CPython)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return source
    if hasattr(source, "read"):
        return source.read()
    path = os.fspath(source)
    try:
        size = os.path.getsize(path)
        if size == 0:
            return b""
        try:
            import mmap

            with open(path, "rb") as fh:
                return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (ImportError, OSError, ValueError):
            with open(path, "rb") as fh:
                return fh.read()
    except FileNotFoundError:
        raise ReadError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ReadError(f"{name}: is a directory, not a file") from None
    except PermissionError:
        raise ReadError(f"{name}: permission denied") from None
    except OSError as exc:
        raise ReadError(f"{name}: cannot read ({exc.strerror or exc})") from None


def display_name(source, name: str | None = None) -> str:
    """The name messages use for ``source``: ``name``, a path's file name, or ``<data>``."""
    return _display_name(source, name)


def load_content(source, name: str = "<data>"):
    """Content of a path (a read-only memory map on CPython), bytes or a binary file object,
    without decompressing; errors as :class:`ReadError` naming ``name`` (cubes use this)."""
    return _load(source, name)


def detect(head: bytes, name: str = "") -> Reader:
    """The reader for content starting with ``head``; :class:`ReadError` if none fits."""
    label = name or "<data>"
    if not head:
        raise ReadError(f"{label}: file is empty")
    for magic, what in _FOREIGN:
        if head.startswith(magic):
            raise ReadError(f"{label}: this is {what}, not a spectrum")
    for reader in _READERS.values():
        if reader.sniff(head, name):
            return reader
    if b"\x00" in head[:1024]:
        raise ReadError(f"{label}: unrecognised binary content (not FITS, VOTable or text)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        raise ReadError(f"{label}: unrecognised content (not FITS, VOTable, CSV/ASCII or a CASSIS export)") from None
    raise ReadError(f"{label}: text without rows of two or more numbers: not a spectrum table "
                    "(FITS, VOTable, CSV/ASCII or a CASSIS export)")


def read_spectrum(source, name: str | None = None, format: str | None = None,
                  max_bytes: int | None = None, **options) -> Spectrum:
    """Read a spectrum from a path, bytes or a binary file object.

    The format is detected from the content (``format`` forces one: see :func:`formats`);
    gzip-compressed content is decompressed first. ``options`` go to the reader: for FITS
    ``hdu`` (index or EXTNAME), ``pixel=(x, y)`` (0-based) or ``region=(x0, x1, y0, y1)``
    (mean, half-open) for cubes. Errors are :class:`ReadError` naming the file.
    """
    label = _display_name(source, name)
    limit = MAX_IN_MEMORY_BYTES if max_bytes is None else int(max_bytes)
    data = _load(source, label)
    head = bytes(data[:SNIFF_BYTES])
    if head[:2] == b"\x1f\x8b":
        data = gunzip(data, label, limit)
        head = bytes(data[:SNIFF_BYTES])
    if format is not None:
        if format not in _READERS:
            raise ReadError(f"{label}: unknown format {format!r} (known: {', '.join(_READERS)})")
        reader = _READERS[format]
        if not head:
            raise ReadError(f"{label}: file is empty")
    else:
        reader = detect(head, label)
    if reader.name != "fits" and len(data) > limit:  # FITS checks its headers itself
        raise TooLargeError(f"{label}: file is {len(data) / 2**20:.0f} MiB, over the "
                            f"{limit / 2**20:.0f} MiB limit")
    try:
        # overflow etc. in corrupt values end up as non-finite numbers, which the checks of
        # Spectrum.from_axis report; NumPy's warnings would only add noise
        with np.errstate(all="ignore"):
            spectrum = reader.read(data, label, max_bytes=limit, **options)
    except ReadError as exc:
        if str(exc).startswith(f"{label}:"):
            raise
        raise type(exc)(f"{label}: {exc}") from None
    except CassisError as exc:
        raise ReadError(f"{label}: {exc}") from None
    except (ValueError, IndexError, KeyError, OverflowError, struct.error, UnicodeError,
            EOFError, gzip.BadGzipFile, zlib.error, MemoryError) as exc:
        # a reader bug or a file corrupt in a way no check caught: still one clear line
        raise ReadError(f"{label}: corrupt or unsupported {reader.name} content "
                        f"({type(exc).__name__}: {exc})") from None
    spectrum.name = spectrum.name or label
    spectrum.format = spectrum.format or reader.name
    return spectrum
