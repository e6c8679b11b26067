"""``cassis-lite absorption fit|model|ew|continuum``: Voigt absorption lines of optical/UV spectra."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from cassis_lite.errors import ConfigError, OpticalError

DB_HELP = "line database file (default: the bundled one, or $CASSIS_LITE_DB)"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "absorption", help="Voigt absorption lines: fits, models, equivalent widths, continua",
        description="Optical/UV absorption lines of atoms and ions (Morton 2003 vacuum wavelengths, f, Gamma).")
    sub = p.add_subparsers(dest="absorption_command", metavar="ACTION", required=True)

    f = sub.add_parser("fit", help="fit Voigt components (log N, b, v) to a normalised spectrum",
                       description="Fit the components of an absorption JSON (see docs/optical.md) to a "
                                   "continuum-normalised spectrum; prints one line per parameter.")
    f.add_argument("file", help="normalised spectrum file")
    f.add_argument("--config", required=True, metavar="ABS.json")
    f.add_argument("-o", "--output", metavar="RESULT.json", default=None, help="write the result as JSON")
    f.add_argument("--model", metavar="MODEL.csv", default=None, help="write the best model (wave_a, flux)")
    f.add_argument("--format", choices=("text", "json"), default="text")
    f.add_argument("--db", metavar="PATH", default=None, help=DB_HELP)
    f.set_defaults(func=run_fit)

    m = sub.add_parser("model", help="normalised flux of the components of an absorption JSON on a grid",
                       description="Writes CSV columns wave_a (vacuum, or air with --air), flux.")
    m.add_argument("--config", required=True, metavar="ABS.json")
    m.add_argument("--wmin", type=float, required=True, metavar="A")
    m.add_argument("--wmax", type=float, required=True, metavar="A")
    m.add_argument("--step", type=float, required=True, metavar="A")
    m.add_argument("--air", action="store_true", help="the grid is in air wavelengths (Morton 2000)")
    m.add_argument("-o", "--output", metavar="MODEL.csv", default=None, help="output CSV (default: stdout)")
    m.add_argument("--db", metavar="PATH", default=None, help=DB_HELP)
    m.set_defaults(func=run_model)

    e = sub.add_parser("ew", help="equivalent width (and apparent optical depth column) over a range",
                       description="Direct integration of 1 - F over [wmin, wmax] (the spectrum's own "
                                   "air/vacuum convention) of a normalised spectrum, with its error when the "
                                   "file has uncertainties; with --ion and --wrest, also the apparent optical "
                                   "depth column density (Savage & Sembach 1991) over --vmin..--vmax.")
    e.add_argument("file", help="normalised spectrum file")
    e.add_argument("--wmin", type=float, default=None, metavar="A")
    e.add_argument("--wmax", type=float, default=None, metavar="A")
    e.add_argument("--z", type=float, default=0.0, metavar="Z", help="redshift: rest-frame results (0)")
    e.add_argument("--ion", default=None, metavar="ION")
    e.add_argument("--wrest", type=float, default=None, metavar="A", help="vacuum rest wavelength of the line")
    e.add_argument("--vmin", type=float, default=None, metavar="KMS")
    e.add_argument("--vmax", type=float, default=None, metavar="KMS")
    e.add_argument("--format", choices=("text", "json"), default="text")
    e.add_argument("--db", metavar="PATH", default=None, help=DB_HELP)
    e.set_defaults(func=run_ew)

    c = sub.add_parser("continuum", help="fit the continuum and write the normalised spectrum",
                       description="Chebyshev polynomial or cubic spline, fitted to --region windows (or to "
                                   "every pixel) with iterative asymmetric sigma clipping.")
    c.add_argument("file", help="spectrum file")
    c.add_argument("--region", type=float, nargs=2, action="append", default=None, metavar=("WMIN", "WMAX"),
                   help="continuum window in A (the spectrum's convention); repeat for several")
    c.add_argument("--method", choices=("polynomial", "spline"), default="polynomial")
    c.add_argument("--order", type=int, default=3, help="polynomial degree (3)")
    c.add_argument("--knots", type=float, default=None, metavar="A", help="spline knot spacing")
    c.add_argument("-o", "--output", metavar="NORM.csv", default=None, help="output CSV (default: stdout)")
    c.set_defaults(func=run_continuum)


def _write(text: str, path: str | None) -> None:
    if path is None:
        sys.stdout.write(text)
        return
    try:
        Path(path).write_text(text)
    except OSError as exc:
        raise OpticalError(f"cannot write {path}: {exc.strerror}") from None


def _table(wave, flux, air: bool) -> str:
    lines = [f"wave_a ({'air' if air else 'vacuum'}),flux"]
    lines += [f"{w:.6f},{f:.10g}" for w, f in zip(wave, flux)]
    return "\n".join(lines) + "\n"


def run_fit(args) -> int:
    from cassis_lite.commands.fit import load_config
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.optical import AbsorptionModel
    from cassis_lite.readers import read_spectrum

    model = AbsorptionModel(load_config(args.config), LineDatabase(args.db))
    sp = read_spectrum(args.file)
    res = model.fit(sp)
    d = res.to_dict()
    d["file"] = args.file
    if args.output:
        _write(json.dumps(d, indent=2) + "\n", args.output)
    if args.model:
        _write(_table(res.wave_a, res.model, False), args.model)
    if args.format == "json":
        sys.stdout.write(json.dumps(d, indent=2) + "\n")
    else:
        sys.stdout.write(res.report() + "\n")
    return 0


def run_model(args) -> int:
    from cassis_lite.commands.fit import load_config
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.optical import AbsorptionModel

    if not (args.step > 0 and args.wmax > args.wmin > 0):
        raise OpticalError("need 0 < --wmin < --wmax and --step > 0")
    n = int(np.floor((args.wmax - args.wmin) / args.step + 1e-9)) + 1
    if n > 10_000_000:
        raise OpticalError(f"{n} wavelengths: use a larger --step")
    wave = args.wmin + args.step * np.arange(n)
    model = AbsorptionModel(load_config(args.config), LineDatabase(args.db))
    _write(_table(wave, model.eval(None, wave, air=args.air), args.air), args.output)
    return 0


def run_ew(args) -> int:
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.optical import apparent_column_density, equivalent_width
    from cassis_lite.readers import read_spectrum

    sp = read_spectrum(args.file)
    air = sp.air_wavelength
    wave = sp.wavelength("angstrom", air=air)
    out = {"file": args.file, "air_wavelength": air}
    if args.wmin is not None or args.wmax is not None:
        if args.wmin is None or args.wmax is None:
            raise OpticalError("give both --wmin and --wmax")
        out["equivalent_width"] = equivalent_width(wave, sp.intensity, args.wmin, args.wmax, sp.uncertainty,
                                                   redshift=args.z, air=air).to_dict()
    if args.ion is not None or args.wrest is not None:
        if None in (args.ion, args.wrest, args.vmin, args.vmax):
            raise OpticalError("the apparent optical depth needs --ion, --wrest, --vmin and --vmax")
        aod = apparent_column_density(wave, sp.intensity, args.ion, args.wrest, args.vmin, args.vmax,
                                      sp.uncertainty, redshift=args.z, air=air, db=LineDatabase(args.db))
        out["apparent_column"] = aod.to_dict()
    if len(out) == 2:
        raise ConfigError("give --wmin/--wmax (equivalent width) and/or --ion/--wrest/--vmin/--vmax (AOD)")
    if args.format == "json":
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return 0
    text = []
    if "equivalent_width" in out:
        e = out["equivalent_width"]
        err = "" if e["ew_err_ma"] is None else f" +/- {e['ew_err_ma']:.4g}"
        text.append(f"W = {e['ew_ma']:.4g}{err} mA (rest frame, z = {e['redshift']:g}) over "
                    f"{e['wmin_a']:g}-{e['wmax_a']:g} A ({'air' if air else 'vacuum'}), {e['n_pixels']} pixels")
    if "apparent_column" in out:
        a = out["apparent_column"]
        err = "" if a["logn_err"] is None else f" +/- {a['logn_err']:.3f}"
        limit = " (lower limit: saturated pixels)" if a["saturated"] else ""
        text.append(f"{a['ion']} {a['wrest_a']:.3f}: log N_a = {a['logn_cm2']:.3f}{err}{limit}")
    sys.stdout.write("\n".join(text) + "\n")
    return 0


def run_continuum(args) -> int:
    from cassis_lite.optical import fit_continuum
    from cassis_lite.readers import read_spectrum, write_csv

    sp = read_spectrum(args.file)
    wave = sp.wavelength("angstrom", air=sp.air_wavelength)
    cont = fit_continuum(wave, sp.intensity, args.region, args.method, args.order, args.knots, sp.uncertainty)
    out = replace(sp, intensity=cont.normalised, uncertainty=cont.normalised_uncertainty, y_unit="",
                  meta=dict(sp.meta))
    text = write_csv(out, args.output)
    if text is not None:
        sys.stdout.write(text)
    return 0
