"""What the first 100 bytes of a file say about it as an SQLite database, before SQLite opens it.

A line database opened in place (a user's file read by slices, a catalogue read by HTTP range)
is checked first from its header (https://www.sqlite.org/fileformat.html, section 1.3): the
magic string, the page size, and the page count, which must fit in the file: a truncated copy
(an interrupted download) is then refused in words, where SQLite would fail later, on the first
page the file lacks, with "database disk image is malformed".
"""

from __future__ import annotations

import os

MAGIC = b"SQLite format 3\x00"
HEADER_BYTES = 100


def header_problem(head: bytes, size: int, name: str = "the file") -> str | None:
    """Why the file whose first bytes are ``head`` and whose length is ``size`` is not a whole
    SQLite database, or None. Offsets of the header: 16 page size (1 means 65536), 24 change
    counter, 28 page count, valid when the "version-valid-for" number at 92 equals the change
    counter (files written by SQLite >= 3.7.0)."""
    if size < HEADER_BYTES or len(head) < HEADER_BYTES:
        return f"{name} is not an SQLite database ({size} bytes: shorter than an SQLite header)"
    if head[:16] != MAGIC:
        return f"{name} is not an SQLite database (it does not start with {MAGIC[:15].decode()!r})"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return f"{name}: damaged SQLite header (page size {page_size})"
    pages = int.from_bytes(head[28:32], "big")
    if pages and head[92:96] == head[24:28] and pages * page_size > size:
        return (f"{name} is truncated: {size} bytes where its header announces {pages} pages of {page_size} bytes "
                f"({pages * page_size} bytes); copy or download it again")
    return None


def file_problem(path) -> str | None:
    """:func:`header_problem` of the file at ``path`` (reads 100 bytes)."""
    size = os.stat(path).st_size
    with open(path, "rb", buffering=0) as f:
        head = f.read(HEADER_BYTES)
    return header_problem(head, size, os.path.basename(os.fspath(path)))
