"""Collision rates of a batch of models, as RADEX computes them (``readdata`` in RADEX's io.f).

- Partner densities (cm^-3): when p-H2 and/or o-H2 are given, n(H2) = n(p-H2) + n(o-H2) (used
  with a file's H2 rates); when only H2 is given and the file has p-H2 or o-H2 rates but no H2
  rates, H2 is split with the thermal ortho/para ratio opr = min(3, 9 exp(-170.6 / T_kin)):
  n(p-H2) = n(H2) / (1 + opr), n(o-H2) = n(H2) / (1 + 1 / opr). (RADEX splits only when the
  file has several partners; with a single p-H2 or o-H2 partner it stops, "no rates found".)
  Partners the file has no rates for are not used.
- Rate coefficients are interpolated linearly in T_kin between the file's temperatures; outside
  them the rates of the first or last temperature are used, as RADEX does (reported as a warning).
- Upward rates from detailed balance: C_lu = C_ul (g_u / g_l) exp(-(E_u - E_l) / k T_kin),
  0 where (E_u - E_l) / k T_kin >= 160 (RADEX's cut-off).

Rates are combined per unique T_kin of the batch (a grid has few), then scaled by the densities.
"""

from __future__ import annotations

import numpy as np

from cassis_lite.constants import CM1_TO_K
from cassis_lite.errors import RadexError
from cassis_lite.radex.data import CollisionData, partner_name

#: ortho/para ratio of H2 in thermal equilibrium (RADEX): min(3, 9 exp(-170.6 K / T_kin))
OPR_MAX, OPR_SCALE, OPR_T0_K = 3.0, 9.0, 170.6


def thermal_opr(tkin_k):
    """H2 ortho/para ratio at T_kin used by RADEX: min(3, 9 exp(-170.6 / T_kin))."""
    return np.minimum(OPR_MAX, OPR_SCALE * np.exp(-OPR_T0_K / np.asarray(tkin_k, dtype=float)))


def partner_densities(data: CollisionData, density_cm3: dict, tkin_k) -> dict[str, np.ndarray]:
    """Density of each partner of the file (name -> array broadcast with T_kin), by RADEX's rules
    (module docstring). Raises :class:`RadexError` for unknown or negative densities, H2 given
    together with p-H2/o-H2, or when no partner of the file gets a positive density."""
    if not isinstance(density_cm3, dict) or not density_cm3:
        raise RadexError("density_cm3 must map collision partners to densities, e.g. {'H2': 1e4}")
    given = {}
    for key, value in density_cm3.items():
        name = partner_name(key)
        if name in given:
            raise RadexError(f"collision partner {name} given twice")
        arr = np.asarray(value, dtype=float)
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise RadexError(f"density of {name} must be finite and >= 0 cm^-3")
        given[name] = arr
    ortho_para = {"pH2", "oH2"} & set(given)
    if ortho_para and "H2" in given:
        raise RadexError("give either H2 or pH2/oH2 densities, not both (n(H2) = n(pH2) + n(oH2))")
    tkin = np.asarray(tkin_k, dtype=float)
    zero = np.zeros(())
    if ortho_para:
        given["H2"] = given.get("pH2", zero) + given.get("oH2", zero)
    elif "H2" in given and data.partner("H2") is None and {"pH2", "oH2"} & set(data.partner_names):
        opr = thermal_opr(tkin)
        given["pH2"] = given["H2"] / (1.0 + opr)
        given["oH2"] = given["H2"] / (1.0 + 1.0 / opr)
    out = {p.name: given[p.name] for p in data.partners if p.name in given}
    if not any(np.any(v > 0) for v in out.values()):
        raise RadexError(f"{data.species}: no collision rates for the partners given "
                         f"({', '.join(sorted(density_cm3))}); {data.source_file or 'the data'} has "
                         f"{', '.join(data.partner_names)}")
    return out


def interpolated_rates(partner, tkin_k):
    """Downward rate coefficients of ``partner`` at each T_kin, shape (T, n_transitions): linear
    in T between the file's temperatures, the edge values outside (RADEX)."""
    t = partner.temperatures_k
    tkin = np.asarray(tkin_k, dtype=float)
    if t.size == 1:
        return np.broadcast_to(partner.rates_cm3s[:, 0], (tkin.size, partner.rates_cm3s.shape[0]))
    i = np.clip(np.searchsorted(t, tkin, side="left") - 1, 0, t.size - 2)
    frac = np.clip((tkin - t[i]) / (t[i + 1] - t[i]), 0.0, 1.0)
    lo, hi = partner.rates_cm3s[:, i].T, partner.rates_cm3s[:, i + 1].T
    return lo + frac[:, None] * (hi - lo)


def rate_matrices(data: CollisionData, tkin_k, partner_name_: str):
    """Collision rate per unit density, C[t, i, j] from level i to level j (cm^3 s^-1), for the
    partner ``partner_name_`` at each T_kin t: the file's downward rates and the upward ones from
    detailed balance."""
    partner = data.partner(partner_name_)
    tkin = np.asarray(tkin_k, dtype=float)
    n = data.n_levels
    down = np.zeros((tkin.size, n, n))
    down[:, partner.up, partner.low] = interpolated_rates(partner, tkin)
    e_k = data.level_energy_cm * CM1_TO_K
    de = e_k[:, None] - e_k[None, :]  # E_i - E_j
    down = np.where(de[None] < 0.0, 0.0, down)  # RADEX overwrites these with detailed balance
    g = data.level_weight
    with np.errstate(over="ignore", invalid="ignore"):
        x = np.where(de > 0, de, 0.0)[None] / tkin[:, None, None]
        boltz = np.where((de > 0)[None] & (x < 160.0), (g[:, None] / g[None, :])[None] * np.exp(-x), 0.0)
    return down + np.swapaxes(boltz * down, 1, 2)


def collision_operator(data: CollisionData, density_cm3: dict, tkin_k):
    """The collisional part of the rate equations of every model, with the warnings to report.

    Returns (Y, warnings): Y[m, i, j] = coefficient of the population of level j in the
    equation of level i (loss positive, gain negative): Y_ii = sum_j C_ij, Y_ij = -C_ji (i != j), with
    C = sum over partners of n_partner C_partner (s^-1). ``tkin_k`` and the densities are
    flattened to the models m (already broadcast to one shape by the caller).
    """
    tkin = np.asarray(tkin_k, dtype=float).ravel()
    dens = partner_densities(data, density_cm3, tkin)
    uniq, inverse = np.unique(tkin, return_inverse=True)
    total = np.zeros((tkin.size, data.n_levels, data.n_levels))
    warnings = []
    for name, n_p in dens.items():
        n_p = np.broadcast_to(n_p, tkin.shape)
        if not np.any(n_p > 0):
            continue
        total += n_p[:, None, None] * rate_matrices(data, uniq, name)[inverse]
        t = data.partner(name).temperatures_k
        outside = (uniq < t[0]) | (uniq > t[-1])
        if np.any(outside):
            warnings.append(f"{data.species}: T_kin {', '.join(f'{x:g}' for x in uniq[outside][:5])} K outside the "
                            f"{name} rate table ({t[0]:g}-{t[-1]:g} K): rates of the nearest temperature used "
                            f"(as RADEX does)")
    y = np.ascontiguousarray(-np.swapaxes(total, 1, 2))
    idx = np.arange(data.n_levels)
    y[:, idx, idx] = total.sum(axis=2)
    return y, warnings
