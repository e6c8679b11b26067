"""Sub-commands of ``cassis-lite``: each module here defines ``register(subparsers)``.

``register`` adds one or more sub-parsers and sets ``func`` (a callable taking the parsed
arguments and returning an exit status or None) with ``set_defaults``.
"""

import sys


def options_from_args(args, flags: dict) -> dict:
    """The options dict of an analysis from parsed flags (``flags``: option key -> flag); flags
    not given are left out, so that the options object's defaults apply."""
    out = {}
    for key, flag in flags.items():
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if value is not None and value is not False:
            out[key] = value
    return out


def warn(note: str) -> None:
    """A note for the user on stderr (the command goes on)."""
    sys.stderr.write(f"cassis-lite: note: {note}\n")
