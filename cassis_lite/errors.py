"""User-facing errors.

Every error whose message is meant for the user derives from :class:`CassisError`: the CLI prints
it as one line (``cassis-lite: error: ...``) and exits with status 2; the app shows it as a
message and keeps its state.
"""


class CassisError(Exception):
    """An error caused by the user's input or data, with a message written for them."""


class DatabaseError(CassisError):
    """The line database file is missing, unreadable or not a CASSIS lite / CASSIS database."""


class UnknownSpeciesError(CassisError):
    """No species of the line database matches the name, tag or formula given."""


class AmbiguousSpeciesError(CassisError):
    """Several species match the name given; the message lists the candidates."""


class PartitionRangeError(CassisError):
    """Q(T) asked outside the tabulated temperature range of a species' partition function."""


class ConfigError(CassisError):
    """An LTE model configuration (JSON / dict / command-line options) is invalid."""


class QueryError(CassisError):
    """A line-database query with invalid arguments (inverted frequency range, negative limits...)."""
