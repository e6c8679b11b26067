"""``cassis-lite fit FILE --config FILE.json [-o result.json]``: LTE fit with uncertainties."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cassis_lite.commands.model import add_partition_option
from cassis_lite.errors import ConfigError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "fit", help="fit an LTE model (N, T_ex, FWHM, v_lsr, size) to a spectrum",
        description="Fit the free parameters of an LTE model configuration to a spectrum. In the "
                    "model JSON, a number is fixed and {\"value\": v, \"vary\": true, \"min\": a, "
                    "\"max\": b} (or {\"expr\": \"c1_fwhm\"}) is fitted; an optional \"fit\" object "
                    "sets windows_mhz / windows_kms, rms_k, calibration_percent, rms_cal, max_nfev. "
                    "Prints one line per parameter (value +/- 1 sigma (relative)).")
    p.add_argument("file", help="spectrum file")
    p.add_argument("--config", required=True, metavar="FILE.json", help="model + fit configuration")
    p.add_argument("-o", "--output", metavar="RESULT.json", default=None,
                   help="write the result (parameters, errors, chi-square, best model config) as JSON")
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_partition_option(p)
    p.add_argument("--db", metavar="PATH", default=None,
                   help="line database file (default: the bundled one, or $CASSIS_LITE_DB)")
    p.set_defaults(func=run)


def load_config(path: str) -> dict:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read fit configuration {path}: {exc.strerror}") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(d, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return d


def run(args) -> int:
    from cassis_lite.analysis.requests import fit_request
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.readers import read_spectrum

    cfg = load_config(args.config)
    if args.partition is not None:
        cfg["partition"] = args.partition
    sp = read_spectrum(args.file)
    db = LineDatabase(args.db)
    d, res = fit_request(sp, db, cfg)
    d["file"] = args.file
    if args.output:
        try:
            Path(args.output).write_text(json.dumps(d, indent=2) + "\n")
        except OSError as exc:
            raise ConfigError(f"cannot write {args.output}: {exc.strerror}") from None
    if args.format == "json":
        json.dump(d, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(d["report"] + "\n")
    return 0
