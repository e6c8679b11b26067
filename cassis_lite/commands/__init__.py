"""Sub-commands of ``cassis-lite``: each module here defines ``register(subparsers)``.

``register`` adds one or more sub-parsers and sets ``func`` (a callable taking the parsed
arguments and returning an exit status or None) with ``set_defaults``.
"""
