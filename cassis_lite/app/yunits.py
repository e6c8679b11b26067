"""The plot's y axis in K or Jy/beam: which beam converts, and the factor per channel.

Only the display changes; the spectrum and the model keep their own units. The conversion is
the core's (:func:`cassis_lite.units.k_per_jy_per_beam`): S = 2 k Omega nu^2 T / (c^2 1e-26),
Omega = pi bmaj bmin / (4 ln 2), with the spectrum's beam if the file gives one, else the beam of
the model's telescope (a dish beam 1.22 c / (nu D) changes with frequency).
"""

from __future__ import annotations

import numpy as np

from cassis_lite.units import intensity_unit_scale, k_per_jy_per_beam

Y_UNITS = ("K", "Jy/beam")


def base_unit(unit: str | None) -> tuple[str, float] | None:
    """(K or Jy/beam, scale) of an intensity unit; model scales Tmb / TA* are K."""
    if unit in ("Tmb", "TA*"):
        return "K", 1.0
    scale = intensity_unit_scale(unit)
    if scale is None or scale[0] not in Y_UNITS:
        return None
    return scale


def beam_axes(spectrum, telescope, freq_mhz):
    """(bmaj, bmin, where) in arcsec (arrays for a dish beam), or None when no beam is known."""
    if spectrum is not None and spectrum.beam_arcsec:
        bmaj, bmin = spectrum.beam_arcsec
        return float(bmaj), float(bmin), "the spectrum's beam"
    if telescope is not None:
        bmaj, bmin = telescope.beam_axes_arcsec(np.asarray(freq_mhz, float))
        return bmaj, bmin, "the model telescope's beam"
    return None


def display_factor(freq_mhz, unit: str | None, target: str, beam) -> np.ndarray | float:
    """Multiply values in ``unit`` by this to show them in ``target`` (K or Jy/beam).

    Raises ValueError naming what is missing (unknown unit, no beam)."""
    base = base_unit(unit)
    if base is None:
        raise ValueError(f"intensity unit {unit!r} cannot be shown in {target}")
    name, scale = base
    if name == target:
        return scale
    if beam is None:
        raise ValueError("no beam known (the file gives none and the model has no telescope)")
    k_per_jy = k_per_jy_per_beam(freq_mhz, beam[0], beam[1])
    return scale / k_per_jy if target == "Jy/beam" else scale * k_per_jy
