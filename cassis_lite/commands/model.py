"""``cassis-lite model``: an LTE synthetic spectrum as CSV (freq_mhz, intensity [unit], tau), or as
a VOTable / FITS binary table (``--format``, or the ``-o`` extension .vot/.xml/.fits)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cassis_lite.errors import ConfigError

_SIMPLE = ("species", "tex", "ntot", "fwhm")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "model",
        help="compute an LTE synthetic spectrum (CASSIS conventions)",
        description="LTE synthetic spectrum on a regular grid, written as CSV. Either one component "
        "from the options (--species --tex --ntot --fwhm ...) or several from --config FILE.json "
        "(schema: README, section 'LTE model').",
    )
    p.add_argument("--config", metavar="FILE.json", help="model configuration (JSON)")
    p.add_argument("--species", action="append", metavar="NAME_OR_TAG",
                   help="species name or catalogue tag (repeat for several species)")
    p.add_argument("--tex", type=float, metavar="K", help="excitation temperature")
    p.add_argument("--ntot", type=float, action="append", metavar="CM-2",
                   help="total column density (once, or once per --species)")
    p.add_argument("--fwhm", type=float, metavar="KMS", help="line FWHM")
    p.add_argument("--vlsr", type=float, default=0.0, metavar="KMS", help="source v_lsr (default 0)")
    p.add_argument("--size", type=float, metavar="ARCSEC", help="source size (default: fills the beam)")
    tel = p.add_mutually_exclusive_group()
    tel.add_argument("--telescope-diameter", type=float, metavar="M", help="dish diameter")
    tel.add_argument("--beam", metavar="ARCSEC[,ARCSEC]", help="beam FWHM, or bmaj,bmin")
    tel.add_argument("--telescope", metavar="NAME", help="known telescope (hifi, iram, apex, jcmt, ...)")
    p.add_argument("--unit", choices=("Tmb", "TA*", "Jy/beam"), help="output scale (default Tmb)")
    p.add_argument("--beam-efficiency", type=float, metavar="B_EFF", help="for TA* (default 1)")
    p.add_argument("--forward-efficiency", type=float, metavar="F_EFF", help="for TA* (default 1)")
    p.add_argument("--eup-max", type=float, metavar="K", help="keep transitions with E_up <= this")
    p.add_argument("--aij-min", type=float, metavar="S-1", help="keep transitions with A_ij >= this")
    p.add_argument("--tbg", type=float, metavar="K", help="cosmic background temperature (default 2.73)")
    p.add_argument("--tc", type=float, metavar="K", help="continuum temperature (default 0)")
    add_partition_option(p)
    p.add_argument("--fmin", type=float, metavar="MHZ", help="first channel frequency")
    p.add_argument("--fmax", type=float, metavar="MHZ", help="last channel frequency")
    p.add_argument("--step", type=float, metavar="MHZ", help="channel spacing")
    p.add_argument("--tau", action="store_true", help="add the total opacity column")
    p.add_argument("--db", metavar="PATH", help="line database (default: the bundled one)")
    p.add_argument("-o", "--output", metavar="FILE.csv", help="output file (default: stdout)")
    p.add_argument("--format", choices=("csv", "votable", "fits"), default=None,
                   help="output format (default: from the -o extension .vot .xml .fits, else csv)")
    p.add_argument("--serialization", choices=("tabledata", "binary2"), default="tabledata",
                   help="VOTable data encoding (default tabledata)")
    p.set_defaults(func=run)


def add_partition_option(p) -> None:
    """``--partition refined|catalogue`` (the model's ``partition`` setting)."""
    p.add_argument("--partition", choices=("refined", "catalogue"), default=None,
                   help="partition functions: refined (default: the catalogue table refined with its levels, "
                   "~0.1 %%) or catalogue (its table interpolated log-log, as CASSIS does: to compare with CASSIS)")


def _beam(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError(f"--beam must be ARCSEC or BMAJ,BMIN in arcsec, got {text!r}") from None
    if len(values) == 1:
        values *= 2
    if len(values) != 2:
        raise ConfigError(f"--beam must be ARCSEC or BMAJ,BMIN in arcsec, got {text!r}")
    return values


def config_from_args(args):
    """The configuration dict described by the command-line options."""
    from cassis_lite.lte import ModelConfig

    simple_given = [k for k in _SIMPLE if getattr(args, k) is not None]
    if args.config:
        if simple_given:
            raise ConfigError(f"--config cannot be combined with --{simple_given[0]}")
        try:
            text = Path(args.config).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config {args.config}: {getattr(exc, 'strerror', None) or exc}") from None
        d = ModelConfig.from_json(text, source=f"config {args.config}").to_dict()
    else:
        missing = [k for k in _SIMPLE if getattr(args, k) is None]
        if missing:
            raise ConfigError("give --config FILE.json or all of --species, --tex, --ntot, --fwhm "
                              f"(missing --{missing[0]})")
        ntot = args.ntot
        if len(ntot) == 1:
            ntot = ntot * len(args.species)
        if len(ntot) != len(args.species):
            raise ConfigError(f"{len(args.species)} --species but {len(args.ntot)} --ntot values")
        species = [{"species": int(s) if s.strip().isdigit() else s, "ntot_cm2": n,
                    "eup_max_k": args.eup_max, "aij_min": args.aij_min} for s, n in zip(args.species, ntot)]
        d = {"components": [{"name": "c1", "tex_k": args.tex, "fwhm_kms": args.fwhm, "vlsr_kms": args.vlsr,
                             "size_arcsec": args.size, "interacting": False, "species": species}]}
    if args.telescope_diameter is not None:
        d["telescope"] = {"diameter_m": args.telescope_diameter}
    elif args.beam is not None:
        d["telescope"] = {"beam_arcsec": _beam(args.beam)}
    elif args.telescope is not None:
        d["telescope"] = {"name": args.telescope}
    for opt, key in (("unit", "unit"), ("beam_efficiency", "beam_efficiency"),
                     ("forward_efficiency", "forward_efficiency"), ("tbg", "tcmb_k"), ("tc", "tc_k"),
                     ("partition", "partition")):
        if getattr(args, opt) is not None:
            d[key] = getattr(args, opt)
    grid = dict(d.get("grid") or {})
    for opt in ("fmin", "fmax", "step"):
        if getattr(args, opt) is not None:
            grid[f"{opt}_mhz"] = getattr(args, opt)
    missing = [k for k in ("fmin_mhz", "fmax_mhz", "step_mhz") if k not in grid]
    if missing:
        raise ConfigError(f"the frequency grid needs --{missing[0].split('_')[0]} (or \"grid\" in the config)")
    d["grid"] = grid
    return ModelConfig.from_dict(d)


def run(args: argparse.Namespace) -> int:
    from cassis_lite.lte import compute_spectrum
    from cassis_lite.readers.writers import write_model_csv

    config = config_from_args(args)
    from cassis_lite.linedb import LineDatabase

    freq = config.grid.frequencies()
    db = LineDatabase(args.db)
    result = compute_spectrum(config, freq, db, with_tau=args.tau)
    from cassis_lite.vo import exports

    fmt = args.format or exports.format_from_path(args.output, "csv")
    if fmt in ("votable", "fits"):
        data = exports.export("model", result, fmt, args.serialization, config=config)
        if not args.output:
            if fmt == "fits" and sys.stdout.isatty():
                raise ConfigError("FITS is binary: give -o FILE.fits (or redirect stdout)")
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return 0
        try:
            with open(args.output, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise ConfigError(f"cannot write {args.output}: {exc.strerror}") from None
        return 0
    if args.output:
        try:
            with open(args.output, "w") as fh:
                write_model_csv(result, fh, args.tau)
        except OSError as exc:
            raise ConfigError(f"cannot write {args.output}: {exc.strerror}") from None
    else:
        write_model_csv(result, sys.stdout, args.tau)
    return 0
