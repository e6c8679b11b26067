"""SQLite schema of the CASSIS lite line database, and the writer used by the builder and the
CASSIS importer.

Tables (CASSIS-like: a catalogue directory, transitions, partition functions, source databases):

* ``meta(key, value)``: schema version, build date, source versions, content hash.
* ``sources(id, name, package, version, sha256, licence, citation, url)``: one row per source
  database (CDMS, JPL, LAMDA, Morton 2003, or an imported CASSIS database).
* ``species(id, tag, name, formula, source_id, source_file, n_lines, q_method, q_source,
  q_truncation_k, note)``: the catalogue directory. ``tag`` is the CDMS/JPL tag where one exists.
* ``species_sources(species_id, source_id, file, role, n_lines, note)``: provenance: every file
  that holds the species, with role ``primary`` (its transitions are in the database),
  ``merged`` (its transitions were added, see DESIGN in data/README.md), ``superseded`` (not
  used: the rule chose another file) or ``partition_function``.
* ``transitions(species_id, source_id, freq_mhz, err_mhz, aij, elow_cm, eup_k, gup, qn)``.
* ``partition_function(species_id, temperature_k, log10_q)``: the catalogue's table (CDMS
  ``partfunc.cat``, JPL ``catdir.cat``, or a LAMDA level sum), interpolated log-log as CASSIS does.
* ``partition_refined(species_id, temperature_k, log10_q)`` and ``partition_accuracy(species_id,
  tmin_k, tmax_k, rel_error, basis)`` (schema 3, optional: older files and CASSIS imports have
  none): Q(T) refined with the catalogue's levels (:mod:`cassis_lite.linedb.qrefine`), as knots
  dense enough for log-log interpolation to 1e-5, and its estimated relative uncertainty per
  temperature range.
* Non-LTE data (one LAMDA file per collision species, see data/README.md):
  ``collision_species(id, name, species_id, source_id, file, molecule, molecular_weight, n_levels,
  n_lines, notes)`` (``species_id``: the line-database species it describes, NULL for species with
  collision data only), ``collision_levels(collision_id, level, energy_cm, weight, label)``,
  ``collision_lines(collision_id, line, up, low, aij, freq_mhz)`` (levels numbered from 1, as in
  the file), ``collision_partners(collision_id, partner, name, reference, n_transitions,
  temperatures_k, up, low, rate_mantissa, rate_digits, rate_exponent)`` (arrays as blobs, see
  :func:`pack_rates`) and ``collision_sources(collision_id, source_id, file, role, note)``: every
  file that holds the species' rates, role ``primary`` (stored), ``duplicate`` (same data) or
  ``superseded`` (the rule chose another file; ``note`` says why).
"""

from __future__ import annotations

import hashlib
import sqlite3

import numpy as np

SCHEMA_VERSION = "3"

DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, package TEXT, version TEXT, sha256 TEXT,
    licence TEXT, citation TEXT, url TEXT);
CREATE TABLE species (
    id INTEGER PRIMARY KEY, tag INTEGER, name TEXT NOT NULL UNIQUE, formula TEXT NOT NULL,
    source_id INTEGER NOT NULL REFERENCES sources(id), source_file TEXT, n_lines INTEGER NOT NULL,
    q_method TEXT, q_source TEXT, q_truncation_k REAL, note TEXT);
CREATE TABLE species_sources (
    species_id INTEGER NOT NULL REFERENCES species(id), source_id INTEGER NOT NULL REFERENCES sources(id),
    file TEXT NOT NULL, role TEXT NOT NULL, n_lines INTEGER, note TEXT);
CREATE TABLE transitions (
    id INTEGER PRIMARY KEY, species_id INTEGER NOT NULL REFERENCES species(id),
    source_id INTEGER NOT NULL REFERENCES sources(id),
    freq_mhz REAL NOT NULL, err_mhz REAL, aij REAL NOT NULL, elow_cm REAL NOT NULL,
    eup_k REAL NOT NULL, gup INTEGER NOT NULL, qn TEXT);
CREATE TABLE absorption_lines (
    species_id INTEGER NOT NULL REFERENCES species(id), source_id INTEGER NOT NULL REFERENCES sources(id),
    wave_vac_a REAL NOT NULL, f_osc REAL NOT NULL, gamma_s REAL, gl INTEGER NOT NULL, gu INTEGER NOT NULL,
    elow_cm REAL NOT NULL, aij REAL NOT NULL);
CREATE TABLE partition_function (
    species_id INTEGER NOT NULL REFERENCES species(id), temperature_k REAL NOT NULL,
    log10_q REAL NOT NULL, PRIMARY KEY (species_id, temperature_k)) WITHOUT ROWID;
CREATE TABLE partition_refined (
    species_id INTEGER NOT NULL REFERENCES species(id), temperature_k REAL NOT NULL,
    log10_q REAL NOT NULL, PRIMARY KEY (species_id, temperature_k)) WITHOUT ROWID;
CREATE TABLE partition_accuracy (
    species_id INTEGER NOT NULL REFERENCES species(id), tmin_k REAL NOT NULL, tmax_k REAL NOT NULL,
    rel_error REAL NOT NULL, basis TEXT, PRIMARY KEY (species_id, tmin_k)) WITHOUT ROWID;
CREATE TABLE collision_species (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, species_id INTEGER REFERENCES species(id),
    source_id INTEGER NOT NULL REFERENCES sources(id), file TEXT NOT NULL, molecule TEXT,
    molecular_weight REAL NOT NULL, n_levels INTEGER NOT NULL, n_lines INTEGER NOT NULL, notes TEXT);
CREATE TABLE collision_levels (
    collision_id INTEGER NOT NULL REFERENCES collision_species(id), level INTEGER NOT NULL,
    energy_cm REAL NOT NULL, weight REAL NOT NULL, label TEXT, PRIMARY KEY (collision_id, level)) WITHOUT ROWID;
CREATE TABLE collision_lines (
    collision_id INTEGER NOT NULL REFERENCES collision_species(id), line INTEGER NOT NULL,
    up INTEGER NOT NULL, low INTEGER NOT NULL, aij REAL NOT NULL, freq_mhz REAL NOT NULL,
    PRIMARY KEY (collision_id, line)) WITHOUT ROWID;
CREATE TABLE collision_partners (
    collision_id INTEGER NOT NULL REFERENCES collision_species(id), partner INTEGER NOT NULL,
    name TEXT NOT NULL, reference TEXT, n_transitions INTEGER NOT NULL, temperatures_k BLOB NOT NULL,
    up BLOB NOT NULL, low BLOB NOT NULL, rate_mantissa BLOB NOT NULL, rate_digits INTEGER NOT NULL,
    rate_exponent BLOB NOT NULL, PRIMARY KEY (collision_id, partner)) WITHOUT ROWID;
CREATE TABLE collision_sources (
    collision_id INTEGER NOT NULL REFERENCES collision_species(id), source_id INTEGER NOT NULL REFERENCES sources(id),
    file TEXT NOT NULL, role TEXT NOT NULL, note TEXT);
"""

INDEXES = """
CREATE INDEX transitions_freq ON transitions (freq_mhz);
CREATE INDEX species_tag ON species (tag);
CREATE INDEX absorption_lines_species ON absorption_lines (species_id, wave_vac_a);
"""

REQUIRED_TABLES = ("meta", "sources", "species", "transitions", "partition_function")

TRANSITION_COLUMNS = ("species_id", "source_id", "freq_mhz", "err_mhz", "aij", "elow_cm", "eup_k", "gup", "qn")


#: the non-LTE tables live in a file of their own beside the line database (the browser fetches it
#: after the first screen): ``<name>_collisions.db``; :class:`LineDatabase` attaches it on first use
COLLISION_TABLES_PREFIX = "collision_"


def collisions_path(path):
    """The non-LTE data file that goes with the line database at ``path``."""
    from pathlib import Path

    path = Path(path)
    return path.with_name(path.stem + "_collisions" + path.suffix)


def move_tables(con: sqlite3.Connection, prefix: str, path) -> int:
    """Move the tables whose names start with ``prefix`` (definitions and rows) from ``con`` into
    a new SQLite file at ``path``; returns how many. Their rows still refer to ``con``'s species
    and sources by id: the two files are one database (attach the second to query it)."""
    import os

    if os.path.exists(path):
        os.remove(path)
    con.execute("ATTACH DATABASE ? AS moved", (os.fspath(path),))
    tables = [(n, sql) for n, sql in con.execute("SELECT name, sql FROM main.sqlite_master WHERE type = 'table' "
                                                 "ORDER BY name") if n.startswith(prefix)]
    for name, sql in tables:
        con.execute(sql.replace(f"CREATE TABLE {name}", f"CREATE TABLE moved.{name}", 1))
        con.execute(f"INSERT INTO moved.{name} SELECT * FROM main.{name}")
        con.execute(f"DROP TABLE main.{name}")
    con.commit()
    con.execute("DETACH DATABASE moved")
    moved = sqlite3.connect(path)
    moved.execute("VACUUM")
    moved.close()
    return len(tables)


def create(path) -> sqlite3.Connection:
    """Create an empty database (tables, no indexes yet) at ``path`` (overwritten)."""
    import os

    if os.path.exists(path):
        os.remove(path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.executescript(DDL)
    return con


def content_sha256(con: sqlite3.Connection) -> str:
    """SHA-256 of the database content (all tables except the build date), row by row in a
    fixed order: equal for two builds from the same sources, whatever the day or machine."""
    h = hashlib.sha256()
    queries = [
        "SELECT key, value FROM meta WHERE key NOT IN ('build_date', 'content_sha256') ORDER BY key",
        "SELECT * FROM sources ORDER BY id",
        "SELECT * FROM species ORDER BY id",
        "SELECT * FROM species_sources ORDER BY species_id, source_id, file",
        "SELECT * FROM transitions ORDER BY id",
        "SELECT * FROM partition_function ORDER BY species_id, temperature_k",
        "SELECT * FROM partition_refined ORDER BY species_id, temperature_k",
        "SELECT * FROM partition_accuracy ORDER BY species_id, tmin_k",
        "SELECT * FROM collision_species ORDER BY id",
        "SELECT * FROM collision_levels ORDER BY collision_id, level",
        "SELECT * FROM collision_lines ORDER BY collision_id, line",
        "SELECT * FROM collision_partners ORDER BY collision_id, partner",
        "SELECT * FROM collision_sources ORDER BY collision_id, source_id, file",
    ]
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for q in queries:
        if q.split(" FROM ")[1].split()[0] not in tables:
            continue  # an older file (no refined partition functions)
        for row in con.execute(q):
            h.update(repr(row).encode())
            h.update(b"\n")
    return h.hexdigest()


# Powers of ten from their decimal text (correctly rounded everywhere, unlike pow() in some libms)
_POW10 = np.array([float(f"1e{k}") for k in range(0, 100)])
_MANTISSA_DTYPES = ((2, "<u1"), (4, "<u2"), (9, "<u4"))


def pack_rates(rates) -> tuple[bytes, int, bytes]:
    """Rate coefficients as decimal mantissas and exponents: (mantissa bytes, digits, exponent bytes).

    Each value v is written m x 10^e with the fewest significant digits (at most 9) that give v
    back (LAMDA files print 2 to 4), m in the smallest unsigned integer type that holds them
    (uint8 up to 2 digits, uint16 up to 4, else uint32) and e as int8. This takes 2 to 3 bytes a
    value instead of 8, and compresses well (the wheel and the site are deflated).
    :func:`unpack_rates` gives the float64 values back: exactly where 10^-e is exact (e >= -22,
    i.e. rates above ~1e-19 cm^3 s^-1 with 4 digits), within one unit in the last place below.
    """
    v = np.asarray(rates, dtype=float).ravel()
    if np.any(v < 0) or not np.all(np.isfinite(v)):
        raise ValueError("rate coefficients must be finite and >= 0")
    pos = v > 0
    with np.errstate(divide="ignore"):
        top = np.where(pos, np.floor(np.log10(np.where(pos, v, 1.0))), 0).astype(np.int64)
    for digits in range(1, 10):
        expo = top - digits + 1
        mant = np.rint(_scaled(v, -expo))
        carry = mant >= 10.0**digits  # log10 rounded down one decade too few
        expo = np.where(carry, expo + 1, expo)
        mant = np.where(carry, np.rint(_scaled(v, -expo)), mant)
        back = _scaled(mant, expo)
        if np.all(np.abs(back - v) <= np.finfo(float).eps * v):
            break
    else:
        raise ValueError("rate coefficients need more than 9 significant digits")
    expo = np.where(mant == 0, 0, expo)
    if np.any(np.abs(expo) >= _POW10.size):
        raise ValueError("rate coefficients beyond 1e+-99")
    dtype = next(dt for d, dt in _MANTISSA_DTYPES if digits <= d)
    return mant.astype(dtype).tobytes(), digits, expo.astype("i1").tobytes()


def _scaled(m, e):
    """m x 10^e elementwise, dividing by the exact 10^-e for e < 0."""
    e = np.asarray(e, dtype=np.int64)
    return np.where(e < 0, m / _POW10[np.clip(-e, 0, 99)], m * _POW10[np.clip(e, 0, 99)])


def unpack_rates(mantissa: bytes, digits: int, exponent: bytes) -> np.ndarray:
    """Inverse of :func:`pack_rates`: float64 values m / 10^-e (m x 10^e for e >= 0)."""
    dtype = next(dt for d, dt in _MANTISSA_DTYPES if digits <= d)
    return _scaled(np.frombuffer(mantissa, dtype=dtype).astype(float), np.frombuffer(exponent, dtype="i1"))


def finish(con: sqlite3.Connection, meta: dict) -> None:
    """Write the metadata, create the indexes, and compact the file."""
    con.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    sorted((k, str(v)) for k, v in meta.items()))
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
    con.commit()
    con.executescript(INDEXES)
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('content_sha256', ?)", (content_sha256(con),))
    con.commit()
    con.execute("VACUUM")
    con.close()


def write_refined_partition(con: sqlite3.Connection, species_id: int, refined) -> None:
    """Store a :class:`~cassis_lite.linedb.qrefine.RefinedQ` of a species (knots and accuracy)."""
    con.executemany("INSERT INTO partition_refined VALUES (?,?,?)",
                    [(species_id, float(t), round(float(q), 7)) for t, q in zip(refined.temperatures_k,
                                                                                 refined.log10_q)])
    con.executemany("INSERT INTO partition_accuracy VALUES (?,?,?,?,?)",
                    [(species_id, float(a), float(b), float(f"{e:.3g}"), basis) for a, b, e, basis in refined.accuracy])
