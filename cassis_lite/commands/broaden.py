"""``cassis-lite broaden SPECTRUM``: radial velocity, rotation, macroturbulence and instrumental profile."""

from __future__ import annotations

import sys
from dataclasses import replace

from cassis_lite.errors import OpticalError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "broaden", help="shift and broaden a (synthetic) stellar spectrum: v_rad, v sin i, macroturbulence, R",
        description="Doppler shift (lambda (1 + v_rad / c)), rotation (Gray's kernel, linear limb darkening), "
                    "radial-tangential macroturbulence (Gray) and a Gaussian instrumental profile, in that order, "
                    "on the spectrum's own wavelengths (any spacing); writes the cassis-lite CSV.")
    p.add_argument("file", help="spectrum file (any format cassis-lite reads)")
    p.add_argument("--rv", type=float, default=0.0, metavar="KMS", help="radial velocity (0)")
    p.add_argument("--vsini", type=float, default=0.0, metavar="KMS", help="projected rotation velocity (0)")
    p.add_argument("--epsilon", type=float, default=0.6, metavar="EPS", help="linear limb darkening (0.6)")
    p.add_argument("--macro", type=float, default=0.0, metavar="KMS", help="macroturbulence zeta_RT (0)")
    inst = p.add_mutually_exclusive_group()
    inst.add_argument("--fwhm-a", type=float, default=None, metavar="A", help="instrumental FWHM in A")
    inst.add_argument("--resolution", type=float, default=None, metavar="R", help="resolving power lambda / FWHM")
    p.add_argument("-o", "--output", metavar="OUT.csv", default=None, help="output CSV (default: stdout)")
    p.set_defaults(func=run)


def run(args) -> int:
    from cassis_lite.commands import warn
    from cassis_lite.optical import broaden
    from cassis_lite.readers import read_spectrum, write_csv

    if not (args.rv or args.vsini or args.macro or args.fwhm_a is not None or args.resolution is not None):
        raise OpticalError("nothing to do: give --rv, --vsini, --macro, --fwhm-a or --resolution")
    sp = read_spectrum(args.file)
    wave = sp.wavelength("angstrom", air=sp.air_wavelength)
    flux = broaden(wave, sp.intensity, rv_kms=args.rv, vsini_kms=args.vsini, limb_darkening=args.epsilon,
                   macro_kms=args.macro, fwhm_a=args.fwhm_a, resolving_power=args.resolution)
    if sp.uncertainty is not None:
        warn("the uncertainty column is not written: broadening correlates the noise of neighbouring pixels")
    out = replace(sp, intensity=flux, uncertainty=None, meta=dict(sp.meta))
    text = write_csv(out, args.output)
    if text is not None:
        sys.stdout.write(text)
    return 0
