"""The line databases the app draws its lines from: the bundled file, the site's full catalogue,
the user's own file. One is in use (:attr:`Session.database`): the overlay, the line table, the
model, identification and fits read it; ``getLines({database})`` may ask another.

- ``bundled``: ``cassis_lite/data/cassis_lite.db`` (5 MB, in the start-up bundle).
- ``full``: ``db/full.db`` beside the site (docs/fulldb.md). In the browser it is never
  downloaded: a lazy file (web/lazyfile.js) at ``/lazy/full.db`` fetches the byte ranges SQLite
  reads, and the file is opened ``?mode=ro&immutable=1``. Offered only when the site has one: a
  probe of its first 100 bytes after the first screen (kept by the service worker, so it works
  offline too). Under CPython: a file path (``full=``).
- ``file``: a database on the user's disk (a CASSIS lite file, ``cassis-lite db import-cassis``
  or ``build-full`` output), read in place by slices of the page's ``File`` (the page hands the
  File to the worker; it is not uploaded nor read whole). Under CPython: a path.

Opening checks the file first (:func:`cassis_lite.linedb.sqlite_file.header_problem`: not SQLite,
truncated), then opens it as a :class:`~cassis_lite.linedb.LineDatabase`; any failure is a
:class:`DatabaseError` in words and the database in use stays. Imported after the first screen
(in the site's after-ready bundle).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cassis_lite.app.runtime import IN_PYODIDE
from cassis_lite.errors import CassisError, DatabaseError

BUNDLED, FULL, FILE = "bundled", "full", "file"
NAMES = (BUNDLED, FULL, FILE)
#: where the lazy files live in Pyodide's file system
LAZY_DIR = "/lazy"
#: the full catalogue, relative to the site's address
FULL_URL = "db/full.db"
#: options of a lazy file a script may set (``useDatabase(name, {chunk_kb, readahead})``)
LAZY_OPTIONS = {"chunk_kb": "chunkSize", "readahead": "readahead", "cache_mb": "cacheBytes"}


@dataclass
class Entry:
    """One database the app knows: its name, what it is, where it is read from."""

    name: str
    source: str  # the URL, the user's file name, or the path
    path: str = ""  # in the file system SQLite opens (a lazy file in the browser)
    lazy: bool = False
    size_bytes: int | None = None
    db: object = None  # the LineDatabase once opened
    options: dict = field(default_factory=dict)
    file: object = None  # the user's File (browser) or path (CPython)

    def label(self) -> str:
        size = f", {self.size_bytes / 1e6:.0f} MB" if self.size_bytes else ""
        n = f"{len(self.db.species())} species" if self.db is not None else ""
        what = {BUNDLED: "bundled", FULL: "full catalogue", FILE: f"your file {self.source}"}[self.name]
        return f"{what} ({n}{size})" if n or size else what


def lazy_options(options: dict | None) -> dict:
    """A script's lazy-file options (chunk_kb, readahead, cache_mb) in lazyfile.js's terms."""
    o = dict(options or {})
    unknown = sorted(set(o) - set(LAZY_OPTIONS))
    if unknown:
        raise CassisError(f"unknown database option {unknown[0]!r} (use {', '.join(LAZY_OPTIONS)})")
    out = {}
    if o.get("chunk_kb") is not None:
        kb = o["chunk_kb"]
        if not isinstance(kb, (int, float)) or kb < 1 or kb > 4096 or int(kb) & (int(kb) - 1) or kb != int(kb):
            raise CassisError(f"chunk_kb must be a power of two from 1 to 4096, got {kb!r}")
        out["chunkSize"] = int(kb) * 1024
    if o.get("readahead") is not None:
        out["readahead"] = bool(o["readahead"])
    if o.get("cache_mb") is not None:
        mb = o["cache_mb"]
        if not isinstance(mb, (int, float)) or not 1 <= mb <= 1024:
            raise CassisError(f"cache_mb must be a number from 1 to 1024, got {mb!r}")
        out["cacheBytes"] = int(mb * 2**20)
    return out


class Databases:
    """The databases of one session and the one in use.

    ``full``: the full catalogue's URL (browser, relative to ``base_url``) or path (CPython), or
    None. In the browser files are lazy (web/lazyfile.js through ``js.cassisLazyDb``)."""

    def __init__(self, session, full: str | None = None, base_url: str = "", lazy: bool = IN_PYODIDE):
        self.session = session
        self.base_url = base_url
        self.lazy = lazy
        path = session.db.path
        self.entries: dict[str, Entry] = {BUNDLED: Entry(BUNDLED, path.name, str(path), db=session.db,
                                                         size_bytes=path.stat().st_size)}
        self.full = full
        self.full_checked = not lazy  # in the browser: probed after the first screen
        self.full_problem: str | None = None
        self._opened = 0
        self._retired: list[Entry] = []  # replaced while in use: closed after the switch
        session.describe_database = self.describe

    # ------------------------------------------------------------------ what is there
    def available(self) -> list[str]:
        """The databases the selector offers, in order."""
        out = [BUNDLED]
        if self.full is not None and self.full_problem is None and self.full_checked:
            out.append(FULL)
        if FILE in self.entries:
            out.append(FILE)
        return out

    def check_full(self) -> bool:
        """CPython: does the full catalogue's file exist (no probe needed)."""
        if self.full is None:
            return False
        if not self.lazy:
            self.full_problem = None if Path(self.full).is_file() else f"{self.full}: no such file"
        return self.full_problem is None

    async def probe_full(self) -> bool:
        """Browser, after the first screen: does the site have ``db/full.db``? Its first 100 bytes
        (the SQLite header) are fetched: the size, and whether it is a whole SQLite file."""
        from cassis_lite.linedb.sqlite_file import HEADER_BYTES, header_problem

        if self.full is None:
            return False
        if not self.lazy:
            return self.check_full()
        from pyodide.http import pyfetch

        url = self._url(self.full)
        try:
            resp = await pyfetch(url, headers={"Range": f"bytes=0-{HEADER_BYTES - 1}"})
            head = await resp.bytes()
            status, content_range = resp.status, resp.headers.get("content-range", "")
        except Exception as exc:  # noqa: BLE001 - offline, refused: no full catalogue to offer
            self.full_problem = f"{FULL_URL}: could not be reached ({exc})"
        else:
            if status == 206 and "/" in content_range:
                size = int(content_range.rsplit("/", 1)[1])
                self.full_problem = header_problem(head, size, FULL_URL)
            elif status == 404:
                self.full_problem = f"this site has no full catalogue ({FULL_URL}: HTTP 404)"
            else:
                self.full_problem = f"{FULL_URL}: HTTP {status} to a range request (the host must answer ranges)"
        self.full_checked = True
        return self.full_problem is None

    def _url(self, rel: str) -> str:
        from urllib.parse import urljoin

        return urljoin(self.base_url, rel)

    # ------------------------------------------------------------------ opening
    def open(self, name: str, file=None, file_name: str | None = None, options: dict | None = None,
             reopen: bool = False):
        """The :class:`LineDatabase` ``name`` (opened now if need be; the one in use is unchanged).
        ``file``: for ``file``, the user's File (browser) or a path (CPython)."""
        name = str(name).strip().lower()
        if name not in NAMES:
            raise CassisError(f"unknown line database {name!r}: bundled, full or a file")
        opts = lazy_options(options)
        entry = self.entries.get(name)
        if name == FILE and file is not None:
            entry = None  # a new file
        elif entry is not None and entry.db is not None and not (reopen or (opts and opts != entry.options)):
            return entry.db
        if name == BUNDLED:
            return self.entries[BUNDLED].db
        if name == FULL:
            if self.full is None:
                raise DatabaseError("this site has no full catalogue (db/full.db)")
            if self.full_checked and self.full_problem:
                raise DatabaseError(self.full_problem)
            new = Entry(FULL, self._url(self.full) if self.lazy else self.full, lazy=self.lazy, options=opts)
        else:
            if file is None:
                if entry is None:
                    raise DatabaseError("no database file opened: give a file (useDatabase(file), or the "
                                        "'line database' button)")
                file, file_name = entry.file, entry.source
            new = Entry(FILE, file_name or getattr(file, "name", None) or Path(str(file)).name, lazy=self.lazy,
                        options=opts, file=file)
        self._open_entry(new)
        old = self.entries.get(name)
        self.entries[name] = new
        if old is not None and old.db is not None:
            if old.db is self.session.db:
                self._retired.append(old)  # closed once the new one is in use (use)
            else:
                self._close(old)
        return new.db

    def _open_entry(self, entry: Entry) -> None:
        from cassis_lite.linedb import LineDatabase
        from cassis_lite.linedb.sqlite_file import file_problem

        if entry.lazy:
            self._opened += 1
            entry.path = f"{LAZY_DIR}/{entry.name}-{self._opened}.db"
            entry.size_bytes = self._mount(entry)
        else:
            entry.path = str(entry.file) if entry.name == FILE else entry.source
            if not Path(entry.path).is_file():
                raise DatabaseError(f"{entry.source}: no such file")
            entry.size_bytes = Path(entry.path).stat().st_size
        try:
            problem = file_problem(entry.path)
            if problem:
                raise DatabaseError(problem.replace(Path(entry.path).name, entry.source, 1))
            entry.db = LineDatabase(entry.path, immutable=True)
        except DatabaseError as exc:
            self._unmount(entry)
            raise DatabaseError(self._reason(entry, str(exc).replace(entry.path, entry.source))) from None
        except OSError as exc:  # a read the lazy file could not serve (EIO)
            self._unmount(entry)
            raise DatabaseError(self._reason(entry, f"{entry.source}: could not be read ({exc})")) from None

    def _reason(self, entry: Entry, message: str) -> str:
        """The lazy file's own reason (an HTTP error, offline...) when a read failed: SQLite only
        saw an I/O error, which it may report as "disk I/O error" or "database disk image is
        malformed"."""
        if entry.path:
            message = message.replace(entry.path, entry.source)
        if entry.lazy and entry.path:
            import js

            error = js.cassisLazyDb.takeError(entry.path)
            if error:
                return f"cannot read line database {entry.source}: {error}"
        return message

    def explain(self, exc: CassisError, name: str | None = None) -> CassisError:
        """A query's error on database ``name`` (the one in use) in the user's words."""
        entry = self.entries.get(name or self.session.database)
        if entry is None or not isinstance(exc, DatabaseError):
            return exc
        return DatabaseError(self._reason(entry, str(exc)))

    def _mount(self, entry: Entry) -> int:
        import js

        opts = json.dumps(entry.options)
        if entry.name == FULL:
            answer = json.loads(js.cassisLazyDb.mountUrl(entry.path, entry.source, opts))
        else:
            answer = json.loads(js.cassisLazyDb.mountBlob(entry.path, entry.file, entry.source, opts))
        if answer.get("error"):
            raise DatabaseError(answer["error"])
        return int(answer["size"])

    def _unmount(self, entry: Entry) -> None:
        if entry.lazy and entry.path:
            import js

            js.cassisLazyDb.unmount(entry.path)

    def _close(self, entry: Entry) -> None:
        try:
            entry.db.close()
        finally:
            self._unmount(entry)

    def stats(self, entry: Entry | None = None) -> dict | None:
        """The lazy file's counters (requests, bytesFetched, bytesRead...), None for a plain file."""
        entry = entry or self.entries.get(self.session.database)
        if entry is None or not entry.lazy or not entry.path:
            return None
        import js

        return json.loads(js.cassisLazyDb.stats(entry.path))

    # ------------------------------------------------------------------ in use
    def use(self, name: str, file=None, file_name: str | None = None, options: dict | None = None,
            reopen: bool = False) -> dict:
        """Draw the app's lines from database ``name`` from now on; returns :meth:`describe`.
        On error the database in use stays and :class:`DatabaseError` says why."""
        db = self.open(name, file, file_name, options, reopen=reopen)
        try:
            self.session.set_database(db, str(name).strip().lower(), self.describe)
        finally:
            for entry in [e for e in self._retired if e.db is not self.session.db]:
                self._retired.remove(entry)
                self._close(entry)
        return self.describe()

    def database(self, name: str | None):
        """For ``getLines({database})``: the database ``name`` (the one in use if None)."""
        if name is None or str(name).strip().lower() == self.session.database:
            return self.session.db
        return self.open(name)

    def describe(self) -> dict:
        """What ``getState().database`` says: which database, its source and size, the choices,
        and, for a lazy file, what it read so far."""
        name = self.session.database
        entry = self.entries.get(name)
        out = {"name": name, "label": entry.label() if entry else name, "source": entry.source if entry else None,
               "size_bytes": entry.size_bytes if entry else None, "lazy": bool(entry and entry.lazy),
               "species": len(self.session.db.species()), "available": self.available(),
               "full_problem": self.full_problem if self.full is not None else "no full catalogue on this site"}
        stats = self.stats(entry) if entry else None
        if stats:
            out["reads"] = stats
        return out
