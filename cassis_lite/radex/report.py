"""A RADEX grid as RADEX prints it: one record per model, one row per radiative transition
(``cassis-lite radex --format json`` and the browser's ``cassisLite.radex(options)`` return it).

Grid axes, in this order: T_kin, n(H2), N, FWHM; each may be one number or a list. Every
combination is solved in one call of :func:`cassis_lite.radex.solve`.
"""

from __future__ import annotations

import math

import numpy as np

from cassis_lite.constants import T_CMB
from cassis_lite.errors import RadexError
from cassis_lite.radex.data import partner_name
from cassis_lite.radex.escape import GEOMETRIES
from cassis_lite.radex.solver import solve

#: the columns of a transition's row
LINE_COLUMNS = ("transition", "freq_mhz", "eup_k", "tex_k", "tau", "t_r_k", "pop_up", "pop_low", "flux_kkms")
#: the columns that name a model of a grid
MODEL_COLUMNS = ("tkin_k", "density_cm3", "ntot_cm2", "fwhm_kms")


def _axis(value, name: str) -> list[float]:
    values = value if isinstance(value, (list, tuple, np.ndarray)) else [value]
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        raise RadexError(f"{name} must be a number or a list of numbers, got {value!r}") from None
    if not out or not all(math.isfinite(v) and v > 0 for v in out):
        raise RadexError(f"{name} must be positive, got {value!r}")
    return out


def _number(x):
    x = float(x)
    return None if not math.isfinite(x) else x


def radex_grid(data, tkin_k, density_cm3: dict, ntot_cm2, fwhm_kms, tbg_k: float = T_CMB,
               geometry: str = "sphere", fmin_mhz: float | None = None, fmax_mhz: float | None = None) -> dict:
    """Solve the grid and report it: ``{species, file, models: [{tkin_k, density_cm3, ntot_cm2,
    fwhm_kms, tbg_k, geometry, converged, iterations, lines: [row, ...]}], warnings}``.

    ``data``: the species' :class:`~cassis_lite.radex.CollisionData`; ``density_cm3``: partner ->
    cm^-3 (H2, pH2, oH2, e, H, He, H+); the H2 density may be a list (the grid's second axis).
    Lines outside ``fmin_mhz``..``fmax_mhz`` are left out of the rows (not of the solution).
    """
    if geometry not in GEOMETRIES:
        raise RadexError(f"geometry must be one of {', '.join(GEOMETRIES)}, got {geometry!r}")
    if not isinstance(density_cm3, dict) or not density_cm3:
        raise RadexError("give the collision partners' densities, e.g. {\"H2\": 1e4}")
    tkin, ntot, fwhm = _axis(tkin_k, "tkin_k"), _axis(ntot_cm2, "ntot_cm2"), _axis(fwhm_kms, "fwhm_kms")
    dens = {}
    for name, value in density_cm3.items():
        partner = partner_name(name)
        if partner in dens:
            raise RadexError(f"collision partner {partner} given twice")
        values = _axis(value, f"density_cm3[{name!r}]")
        if len(values) > 1 and partner != "H2":
            raise RadexError(f"only the H2 density may be a list (the grid's axis), not {name!r}")
        dens[partner] = np.array(values)[None, :, None, None] if partner == "H2" else values[0]
    res = solve(data, np.array(tkin)[:, None, None, None], dens, np.array(ntot)[None, None, :, None],
                np.array(fwhm)[None, None, None, :], float(tbg_k), geometry)
    keep = np.ones(data.n_lines, dtype=bool)
    if fmin_mhz is not None:
        keep &= data.freq_mhz >= float(fmin_mhz)
    if fmax_mhz is not None:
        keep &= data.freq_mhz <= float(fmax_mhz)
    lines = np.flatnonzero(keep)
    labels = data.line_labels
    shape = res.converged.shape
    models = []
    for idx in np.ndindex(shape):
        density = {k: float(np.broadcast_to(v, shape)[idx]) for k, v in dens.items()}
        rows = [{"transition": labels[i], "freq_mhz": float(data.freq_mhz[i]), "eup_k": float(data.eup_k[i]),
                 **{k: _number(getattr(res, k)[idx + (i,)]) for k in LINE_COLUMNS[3:]}} for i in lines]
        models.append({"tkin_k": tkin[idx[0]], "density_cm3": density, "ntot_cm2": ntot[idx[2]],
                       "fwhm_kms": fwhm[idx[3]], "tbg_k": float(tbg_k), "geometry": geometry,
                       "converged": bool(res.converged[idx]), "iterations": int(res.iterations[idx]), "lines": rows})
    return {"species": data.species, "file": data.source_file, "models": models, "warnings": list(res.warnings)}
