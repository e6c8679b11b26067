"""Escape probabilities of RADEX's three geometries (van der Tak et al. 2007, A&A 468, 627, sect. 3.2).

beta(tau) is the probability that a line photon created in the cloud escapes it; tau is the
line-centre optical depth RADEX computes (the whole diameter of a sphere, the thickness of a
slab). The formulas, their series and asymptotic branches and the branch thresholds are RADEX's
(``escprob`` in matrix.f, RADEX version 30nov2011). As in RADEX, the branch is chosen on |tau|
and the formula applied to the signed tau (masing lines, tau < 0).
"""

from __future__ import annotations

import numpy as np

GEOMETRIES = ("sphere", "lvg", "slab")


def _sphere(tau):
    """Uniform sphere (Osterbrock 1974, appendix 2), tau_r = tau / 2 the optical radius:
    beta = 0.75 / tau_r (1 - 1 / (2 tau_r^2) + (1 / tau_r + 1 / (2 tau_r^2)) exp(-2 tau_r));
    series 1 - 3/4 tau_r + tau_r^2 / 2.5 - tau_r^3 / 6 + tau_r^4 / 17.5 for |tau_r| < 0.1;
    0.75 / tau_r for |tau_r| > 50."""
    r = tau / 2.0
    a = np.abs(r)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        full = 0.75 / r * (1.0 - 1.0 / (2.0 * r**2) + (1.0 / r + 1.0 / (2.0 * r**2)) * np.exp(-2.0 * r))
        series = 1.0 - 0.75 * r + r**2 / 2.5 - r**3 / 6.0 + r**4 / 17.5
        return np.where(a < 0.1, series, np.where(a > 50.0, 0.75 / r, full))


def _lvg(tau):
    """Expanding sphere, large velocity gradient (de Jong, Boland & Dalgarno 1980, A&A 91, 68,
    with RADEX's factor 2 so that beta(0) = 1): beta = (1 - exp(-2.34 tau_r)) / (2.34 tau_r) for
    |tau_r| < 7, 1 / (2 tau_r sqrt(ln(tau_r / sqrt(pi)))) above, 1 for |tau_r| < 0.01."""
    r = tau / 2.0
    a = np.abs(r)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mid = 2.0 * (1.0 - np.exp(-2.34 * r)) / (4.68 * r)
        high = 2.0 / (r * 4.0 * np.sqrt(np.log(r / np.sqrt(np.pi))))
        return np.where(a < 0.01, 1.0, np.where(a < 7.0, mid, high))


def _slab(tau):
    """Plane-parallel slab (de Jong, Dalgarno & Chu 1975, ApJ 199, 69): beta = (1 - exp(-3 tau)) /
    (3 tau); 1 - 1.5 (tau + tau^2) for |3 tau| < 0.1, 1 / (3 tau) for |3 tau| > 50."""
    a = np.abs(3.0 * tau)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        full = (1.0 - np.exp(-3.0 * tau)) / (3.0 * tau)
        return np.where(a < 0.1, 1.0 - 1.5 * (tau + tau**2), np.where(a > 50.0, 1.0 / (3.0 * tau), full))


_FUNCTIONS = {"sphere": _sphere, "lvg": _lvg, "slab": _slab}


def escape_probability(tau, geometry: str = "sphere"):
    """beta(tau) of ``geometry`` ("sphere": uniform sphere, "lvg": expanding sphere / LVG,
    "slab": plane-parallel slab), elementwise on an array of line-centre optical depths."""
    return _FUNCTIONS[geometry](np.asarray(tau, dtype=float))
