"""``cassis-lite radex``: non-LTE line intensities of one species (RADEX, escape probability).

One row per radiative transition, as RADEX prints them; several values of --tkin, --nh2,
--ntot or --fwhm give the grid of all their combinations, solved in one call.
"""

from __future__ import annotations

import csv
import json
import sys

from cassis_lite.commands import warn
from cassis_lite.commands.lines import _print_table, add_db_option
from cassis_lite.constants import T_CMB
from cassis_lite.errors import RadexError
from cassis_lite.linedb import LineDatabase
from cassis_lite.radex import GEOMETRIES, partner_name
from cassis_lite.radex.report import LINE_COLUMNS, MODEL_COLUMNS, radex_grid


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "radex", help="non-LTE line intensities (RADEX escape probability) of one species",
        description="Statistical equilibrium of the levels of SPECIES with its collision partners (LAMDA rates) "
                    "and the background radiation, in RADEX's escape-probability approximation (van der Tak et "
                    "al. 2007). Several values of --tkin, --nh2, --ntot, --fwhm make a grid of all combinations.")
    p.add_argument("--species", required=True, metavar="NAME", help="a species with collision rates (CO, o-NH3...)")
    p.add_argument("--tkin", type=float, nargs="+", required=True, metavar="K", help="kinetic temperature")
    p.add_argument("--nh2", type=float, nargs="+", default=None, metavar="CM-3",
                   help="H2 density (split into ortho/para thermally when the data have only o-/p-H2 rates)")
    p.add_argument("--collider", action="append", default=[], metavar="NAME=CM-3[,NAME=CM-3]",
                   help="densities of collision partners: H2, pH2, oH2, e, H, He, H+ (e.g. pH2=1e3,oH2=3e3,e=10)")
    p.add_argument("--ntot", type=float, nargs="+", required=True, metavar="CM-2", help="column density")
    p.add_argument("--fwhm", type=float, nargs="+", required=True, metavar="KM/S", help="line FWHM")
    p.add_argument("--tbg", type=float, default=T_CMB, metavar="K", help=f"background temperature ({T_CMB} K)")
    p.add_argument("--geometry", choices=GEOMETRIES, default="sphere",
                   help="escape probability: uniform sphere (default), expanding sphere (LVG), slab")
    p.add_argument("--fmin", type=float, default=None, metavar="MHZ", help="lines at or above this frequency")
    p.add_argument("--fmax", type=float, default=None, metavar="MHZ", help="lines at or below this frequency")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    add_db_option(p)
    p.set_defaults(func=run_radex)


def _colliders(args) -> dict:
    """Partner -> density (cm^-3; the --nh2 values as a list: the grid's second axis)."""
    dens = {}
    for text in args.collider:
        for item in filter(None, (s.strip() for s in text.split(","))):
            name, _, value = item.partition("=")
            try:
                density = float(value)
            except ValueError:
                raise RadexError(f"--collider wants NAME=CM-3, got {item!r}") from None
            if partner_name(name) in dens:
                raise RadexError(f"collision partner {partner_name(name)} given twice")
            dens[partner_name(name)] = density
    if args.nh2 is not None:
        if "H2" in dens:
            raise RadexError("give the H2 density once (--nh2 or --collider H2=...)")
        dens["H2"] = list(args.nh2)
    if not dens:
        raise RadexError("give the collision partners' densities: --nh2 CM-3 or --collider NAME=CM-3")
    return dens


def run_radex(args) -> int:
    db = LineDatabase(args.db)
    report = radex_grid(db.collision_data(args.species), args.tkin, _colliders(args), args.ntot, args.fwhm,
                        args.tbg, args.geometry, args.fmin, args.fmax)
    for w in report["warnings"]:
        warn(w)
    models = report["models"]
    if args.format == "json":
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    grid = len(models) > 1
    header = (MODEL_COLUMNS if grid or args.format == "csv" else ()) + LINE_COLUMNS
    out = []
    for m in models:
        dens_text = " ".join(f"{k}={v:g}" for k, v in m["density_cm3"].items())
        model_cells = [m["tkin_k"], dens_text, m["ntot_cm2"], m["fwhm_kms"]] if len(header) > len(LINE_COLUMNS) else []
        for r in m["lines"]:
            out.append(model_cells + [r[c] for c in LINE_COLUMNS])
    if args.format == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(header)
        for row in out:
            w.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row])
        return 0
    fmt = {"tkin_k": "{:g}", "ntot_cm2": "{:.3e}", "fwhm_kms": "{:g}", "freq_mhz": "{:.4f}", "eup_k": "{:.1f}",
           "tex_k": "{:.3f}", "tau": "{:.3e}", "t_r_k": "{:.3e}", "pop_up": "{:.3e}", "pop_low": "{:.3e}",
           "flux_kkms": "{:.3e}"}
    _print_table(header, [[("nan" if v is None else fmt.get(h, "{}").format(v)) for h, v in zip(header, row)]
                          for row in out])
    bad = sum(not m["converged"] for m in models)
    n_lines = len(models[0]["lines"]) if models else 0
    print(f"{report['species']} ({report['file']}): {len(models)} model{'s' * grid}, {n_lines} lines"
          + (f"; {bad} not converged" if bad else ""), file=sys.stderr)
    return 0
