"""The spectroscopic line database: species, transitions, partition functions.

    from cassis_lite.linedb import LineDatabase, default_database_path
    db = LineDatabase()                      # bundled cassis_lite/data/cassis_lite.db
    t = db.transitions(115e3, 116e3, species=["CO"])
    q = db.partition_function("CO").q(100.0)

The bundled file is built by ``build_scripts/build_linedb.py`` from the sources pinned in
``data/sources.json`` (``make db``); :func:`import_cassis` converts a database of CASSIS's own
schema.
"""

from cassis_lite.errors import (
    AmbiguousSpeciesError,
    DatabaseError,
    PartitionRangeError,
    QueryError,
    UnknownSpeciesError,
)
from cassis_lite.linedb.partition import PartitionFunction

__all__ = [
    "LineDatabase", "Species", "Transitions", "PartitionFunction", "default_database_path",
    "import_cassis", "AmbiguousSpeciesError", "DatabaseError", "PartitionRangeError", "QueryError",
    "UnknownSpeciesError",
]


_DATABASE_NAMES = ("LineDatabase", "Species", "Transitions", "default_database_path")


def __getattr__(name):
    # the database classes are imported on first use (PEP 562): they need sqlite3, which Pyodide
    # installs as a package of its own, while the file formats (linedb.formats, read by the
    # non-LTE data and the model configuration) do not
    if name in _DATABASE_NAMES:
        from cassis_lite.linedb import database

        return getattr(database, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def import_cassis(src, dst):
    """Convert a CASSIS-schema SQLite database into a CASSIS lite one (see cassis_import)."""
    from cassis_lite.linedb.cassis_import import import_cassis as _imp

    return _imp(src, dst)
