"""``cassis-lite info FILE [--format json]``: what was read from a spectrum file, or why not."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("info", help="describe a spectrum file (format, axis, units, v_lsr, beam)",
                              description="Read a spectrum file (FITS, VOTable, CASSIS .lis or "
                              "spectral profile, ASCII/CSV) and describe it.")
    p.add_argument("file", help="spectrum file")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("--reader", default=None, help="force a reader (fits, votable, cassis-lis, "
                   "cassis-profile, ascii) instead of detecting the format")
    p.add_argument("--hdu", default=None, help="FITS HDU (index or EXTNAME)")
    p.add_argument("--pixel", type=int, nargs=2, metavar=("X", "Y"), default=None,
                   help="cube: spectrum at this 0-based pixel (default: the central pixel)")
    p.add_argument("--region", type=int, nargs=4, metavar=("X0", "X1", "Y0", "Y1"), default=None,
                   help="cube: mean spectrum over pixels X0 <= x < X1, Y0 <= y < Y1")
    p.set_defaults(func=run)


def run(args) -> int:
    from cassis_lite.readers import read_spectrum

    options = {}
    if args.hdu is not None:
        options["hdu"] = args.hdu
    if args.pixel is not None:
        options["pixel"] = tuple(args.pixel)
    if args.region is not None:
        options["region"] = tuple(args.region)
    sp = read_spectrum(args.file, format=args.reader, **options)
    info = sp.summary()
    for key in ("assumed_x_unit", "pixel", "region", "window_rest_freq_mhz", "telescopes", "x_column",
                "y_column", "error_column", "hdu", "specsys", "dsb"):
        if key in sp.meta and key not in info:
            value = sp.meta[key]
            info[key] = value.tolist() if hasattr(value, "tolist") else value
    if args.format == "json":
        print(json.dumps(info, indent=2))
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        if value is None or value == "":
            value = "-"
        print(f"{key:<{width}}  {value}")
    return 0
