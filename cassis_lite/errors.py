"""User-facing errors.

Every error whose message is meant for the user derives from :class:`CassisError`: the CLI prints
it as one line (``cassis-lite: error: ...``) and exits with status 2; the app shows it as a
message and keeps its state.
"""


class CassisError(Exception):
    """An error caused by the user's input or data, with a message written for them."""
