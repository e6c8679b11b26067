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
* ``partition_function(species_id, temperature_k, log10_q)``.
"""

from __future__ import annotations

import hashlib
import sqlite3

SCHEMA_VERSION = "1"

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
"""

INDEXES = """
CREATE INDEX transitions_freq ON transitions (freq_mhz);
CREATE INDEX species_tag ON species (tag);
CREATE INDEX absorption_lines_species ON absorption_lines (species_id, wave_vac_a);
"""

REQUIRED_TABLES = ("meta", "sources", "species", "transitions", "partition_function")

TRANSITION_COLUMNS = ("species_id", "source_id", "freq_mhz", "err_mhz", "aij", "elow_cm", "eup_k", "gup", "qn")


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
    ]
    for q in queries:
        for row in con.execute(q):
            h.update(repr(row).encode())
            h.update(b"\n")
    return h.hexdigest()


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
