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


class OpticalError(CassisError):
    """Bad input to an optical/UV absorption or stellar-broadening computation (NaN arrays, R <= 0,
    an empty wavelength range...)."""


class UnknownLineError(OpticalError):
    """No catalogue line of the ion near the rest wavelength asked for, or no line of an ion in a
    wavelength range."""


class ProcessingError(CassisError):
    """A quick-look tool (baseline, smoothing, resampling, range statistics, Gaussian fit) asked
    with arguments the spectrum cannot take (no region, too few channels, range outside...)."""


class RadexError(CassisError):
    """A non-LTE (RADEX) model cannot be computed: a species without collision data, collision
    partners the data file does not have, invalid physical conditions."""
