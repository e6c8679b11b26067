"""The ``cassis-lite`` command line.

Sub-commands live in :mod:`cassis_lite.commands`, one module each. A :class:`CassisError` (bad
input, unknown species, unreadable file...) is printed as one line on stderr with exit status 2,
never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from cassis_lite import __version__, commands
from cassis_lite.errors import CassisError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cassis-lite",
        description="Line database, spectra and LTE models with CASSIS conventions.",
    )
    parser.add_argument("--version", action="version", version=f"cassis-lite {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"{commands.__name__}.{info.name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
    except CassisError as exc:
        print(f"cassis-lite: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    return int(status or 0)
