"""Chi-square maps of line-intensity ratios over a grid of (T_kin, density): the classic RADEX use.

For observed ratios R_k = I(a_k) / I(b_k) of integrated intensities (K km/s) with 1-sigma errors
s_k, every model of the grid is solved in one call of :func:`cassis_lite.radex.solve` and

    chi2(T_kin, n) = sum_k ((R_k,model(T_kin, n) - R_k) / s_k)^2.

The column density and line width are fixed (ratios of optically thin lines hardly depend on
them). The minimum of the map is the best (T_kin, n); chi2 - chi2_min = 2.30 and 6.18 bound the
68 % and 95 % regions of two parameters (Press et al., Numerical Recipes, sect. 15.6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cassis_lite.constants import T_CMB
from cassis_lite.errors import RadexError
from cassis_lite.radex.data import CollisionData, partner_name
from cassis_lite.radex.solver import solve

#: a line is matched to a frequency given in MHz within this tolerance
LINE_MATCH_MHZ = 1.0


@dataclass
class RatioMap:
    """``chi2[i, j]`` at ``tkin_k[i]``, ``density_cm3[j]`` (of ``partner``); ``model_ratios[i, j, k]``
    for each observed ratio k; ``best_tkin_k``, ``best_density_cm3`` at the minimum; ``converged``
    per model."""

    tkin_k: np.ndarray
    density_cm3: np.ndarray
    partner: str
    chi2: np.ndarray
    model_ratios: np.ndarray
    best_tkin_k: float
    best_density_cm3: float
    converged: np.ndarray


def line_index(data: CollisionData, line) -> int:
    """Index of a line given by its index (int) or its frequency in MHz (float, nearest within 1 MHz)."""
    if isinstance(line, (int, np.integer)):
        if not 0 <= line < data.n_lines:
            raise RadexError(f"{data.species} has no line {line} (0..{data.n_lines - 1})")
        return int(line)
    i = int(np.argmin(np.abs(data.freq_mhz - float(line))))
    if abs(data.freq_mhz[i] - float(line)) > LINE_MATCH_MHZ:
        raise RadexError(f"{data.species} has no line within {LINE_MATCH_MHZ} MHz of {float(line):g} MHz")
    return i


def ratio_chi2_map(species_data: CollisionData, ratios, tkin_k, density_cm3: dict, ntot_cm2, fwhm_kms,
                   tbg_k=T_CMB, geometry: str = "sphere") -> RatioMap:
    """Chi-square of observed line ratios over a (T_kin, density) grid (module docstring).

    Parameters
    ----------
    species_data : CollisionData
    ratios : list of (line_a, line_b, ratio, sigma)
        Observed I(line_a) / I(line_b) (integrated intensities) and its 1-sigma error; a line is its
        index in ``species_data`` or its rest frequency in MHz.
    tkin_k : 1-D array
        Kinetic temperatures of the grid, K.
    density_cm3 : dict
        One collision partner -> 1-D array of densities of the grid (cm^-3), e.g.
        ``{"H2": np.geomspace(1e2, 1e8, 61)}``.
    ntot_cm2, fwhm_kms, tbg_k, geometry
        As :func:`cassis_lite.radex.solve` (fixed over the grid).
    """
    if not isinstance(density_cm3, dict) or len(density_cm3) != 1:
        raise RadexError("density_cm3 must give one collision partner with the densities of the grid")
    (partner, dens), = density_cm3.items()
    tkin = np.atleast_1d(np.asarray(tkin_k, dtype=float))
    dens = np.atleast_1d(np.asarray(dens, dtype=float))
    if tkin.ndim != 1 or dens.ndim != 1:
        raise RadexError("tkin_k and the densities must be 1-D arrays (the axes of the grid)")
    pairs = [(line_index(species_data, a), line_index(species_data, b), float(r), float(s)) for a, b, r, s in ratios]
    if not pairs or any(s <= 0 for *_, s in pairs):
        raise RadexError("give at least one ratio, each with an error > 0")
    res = solve(species_data, tkin[:, None], {partner: dens[None, :]}, ntot_cm2, fwhm_kms, tbg_k, geometry)
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    obs = np.array([p[2] for p in pairs])
    sig = np.array([p[3] for p in pairs])
    with np.errstate(divide="ignore", invalid="ignore"):
        model = res.flux_kkms[..., a] / res.flux_kkms[..., b]
    chi2 = np.nansum(((model - obs) / sig) ** 2, axis=-1)
    chi2 = np.where(np.all(np.isfinite(model), axis=-1), chi2, np.inf)
    i, j = np.unravel_index(int(np.argmin(chi2)), chi2.shape)
    return RatioMap(tkin, dens, partner_name(partner), chi2, model, float(tkin[i]), float(dens[j]), res.converged)
