"""The quick-look tools of the app's Tools card on the command line, with the same numbers:
``cassis-lite baseline | smooth | resample`` write the processed spectrum, ``cassis-lite stats``
and ``cassis-lite gaussfit`` measure a frequency range (``cassis_lite.analysis``)."""

from __future__ import annotations

import json
import sys

from cassis_lite.errors import CassisError


def _spectrum_argument(p) -> None:
    p.add_argument("file", help="spectrum file (any format cassis-lite info reads)")


def _output_arguments(p) -> None:
    p.add_argument("-o", "--output", default=None,
                   help="processed spectrum: .fits (binary table) or CSV (default: CSV on stdout)")


def _range_arguments(p) -> None:
    p.add_argument("--fmin", type=float, required=True, metavar="MHZ", help="range start (MHz)")
    p.add_argument("--fmax", type=float, required=True, metavar="MHZ", help="range end (MHz)")
    p.add_argument("--rest", type=float, default=None, metavar="MHZ",
                   help="rest frequency of the velocity scale (default: the file's for that window)")
    p.add_argument("--format", choices=("table", "json"), default="table")


def register(subparsers) -> None:
    p = subparsers.add_parser("baseline", help="fit a polynomial baseline over line-free regions and subtract it",
                              description="Fit a polynomial (least squares, per spectral window) to the "
                              "channels inside the --region ranges and write the spectrum minus it.")
    _spectrum_argument(p)
    p.add_argument("--region", type=float, nargs=2, action="append", required=True, metavar=("FMIN", "FMAX"),
                   help="a line-free range in MHz (repeat for several)")
    p.add_argument("--degree", type=int, default=1, help="polynomial degree (1)")
    _output_arguments(p)
    p.set_defaults(func=run_baseline)

    p = subparsers.add_parser("smooth", help="smooth a spectrum (boxcar, Hanning, Gaussian; per window)")
    _spectrum_argument(p)
    from cassis_lite.analysis.smoothing import SMOOTHING_KINDS

    p.add_argument("--kind", choices=SMOOTHING_KINDS, default="hanning")
    p.add_argument("--width", type=float, default=3, help="kernel width in channels (Gaussian: FWHM) (3)")
    _output_arguments(p)
    p.set_defaults(func=run_smooth)

    p = subparsers.add_parser("resample", help="flux-conserving resampling onto a regular grid (per window)")
    _spectrum_argument(p)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--step", type=float, metavar="MHZ", help="output channel width (MHz)")
    g.add_argument("--factor", type=int, help="merge this many channels into one")
    _output_arguments(p)
    p.set_defaults(func=run_resample)

    p = subparsers.add_parser("stats", help="statistics, integrated intensity and centroid of a frequency range")
    _spectrum_argument(p)
    _range_arguments(p)
    p.set_defaults(func=run_stats)

    p = subparsers.add_parser("gaussfit", help="fit Gaussian components and a baseline over a frequency range")
    _spectrum_argument(p)
    _range_arguments(p)
    p.add_argument("-n", type=int, default=1, help="number of Gaussian components (1)")
    p.add_argument("--baseline-degree", type=int, default=0, help="polynomial baseline degree, -1 for none (0)")
    p.set_defaults(func=run_gaussfit)


def _read(path):
    from cassis_lite.readers import read_spectrum

    return read_spectrum(path)


def _write(spectrum, output) -> int:
    from cassis_lite.readers.writers import write_csv, write_fits

    if output is None:
        sys.stdout.write(write_csv(spectrum))
    elif output.lower().endswith((".fits", ".fit", ".fts")):
        write_fits(spectrum, output)
    else:
        write_csv(spectrum, output)
    return 0


def run_baseline(args) -> int:
    from cassis_lite.analysis.baseline import fit_baseline, subtract_baseline

    sp = _read(args.file)
    base = fit_baseline(sp, args.region, args.degree)
    sys.stderr.write(f"cassis-lite: baseline of degree {base.degree} over {len(args.region)} region(s), "
                     f"{base.n_channels} channels: rms {base.rms:.4g} {sp.y_unit}\n")
    return _write(subtract_baseline(sp, base), args.output)


def run_smooth(args) -> int:
    from cassis_lite.analysis.smoothing import smooth

    return _write(smooth(_read(args.file), args.kind, args.width), args.output)


def run_resample(args) -> int:
    from cassis_lite.analysis.smoothing import resample

    return _write(resample(_read(args.file), step_mhz=args.step, factor=args.factor), args.output)


def _print(result, fmt: str) -> int:
    print(json.dumps(result.to_dict(), indent=2) if fmt == "json" else result.report())
    return 0


def run_stats(args) -> int:
    from cassis_lite.analysis.statistics import range_statistics

    return _print(range_statistics(_read(args.file), args.fmin, args.fmax, rest_freq_mhz=args.rest), args.format)


def run_gaussfit(args) -> int:
    from cassis_lite.analysis.gaussfit import fit_gaussians

    if args.n < 1:
        raise CassisError(f"-n must be at least 1, got {args.n}")
    degree = None if args.baseline_degree < 0 else args.baseline_degree
    res = fit_gaussians(_read(args.file), args.fmin, args.fmax, n=args.n, rest_freq_mhz=args.rest,
                        baseline_degree=degree)
    return _print(res, args.format)
