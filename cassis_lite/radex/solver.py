"""Statistical equilibrium with escape probabilities, RADEX's algorithm vectorised over models.

RADEX (van der Tak et al. 2007, A&A 468, 627; the Fortran of version 30nov2011 as spectralradex
1.1.5 ships it) solves, for the fractional level populations x of a homogeneous medium,

    sum_j x_j (C_ji + R_ji) = x_i sum_j (C_ij + R_ij),     sum_i x_i = 1,

with C the collision rates (:mod:`cassis_lite.radex.collisions`) and the radiative rates of a
line u -> l of escape probability beta and background photon occupation n_bg:

    R_ul = A_ul beta (1 + n_bg),     R_lu = A_ul (g_u / g_l) beta n_bg

(the local radiation field is split off, so photons trapped in the line are not counted). The
line-centre optical depth of a Gaussian line of FWHM dv (MS15 eq. 29 in level populations):

    tau = A_ul N (x_l g_u / g_l - x_u) / (8 pi GAUSS_AREA (nu / c)^3 dv)

and T_ex from x_u / x_l = (g_u / g_l) exp(-h nu / k T_ex). Frequencies in the physics are the
level-energy differences, as in RADEX. The iteration is RADEX's: a first solution with
beta = 1 (optically thin, background only), then at each step tau and beta from the current
populations, a new solution x_new, T_ex <- (T_ex(x_new) + T_ex) / 2, and the populations
under-relaxed, x <- 0.3 x_new + 0.7 x; populations are floored at 1e-20. A model has converged
after at least 10 iterations when no line has tau > 0.01, or when the mean over those lines of
|T_ex(x_new) - T_ex| / T_ex(x_new) is below 1e-6. All models of a batch iterate together
(:func:`numpy.linalg.solve` on stacked matrices), each stopping when it converges.

Outputs as RADEX's: T_R = (S - J(T_bg)) (1 - exp(-tau)) (Rayleigh-Jeans equivalent of the line
brightness above the background; exp(-tau) taken as 0 for |tau| > 300, as RADEX does), with
S = J(T_ex) the source function, and the integrated line flux GAUSS_AREA T_R dv (K km/s).
Masing lines (T_ex < 0, tau < 0) are reported as RADEX reports them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.constants import CM1_TO_K, GAUSS_AREA, HK_MHZ, T_CMB
from cassis_lite.errors import RadexError
from cassis_lite.lte.physics import rj_temperature_k
from cassis_lite.radex.collisions import collision_operator
from cassis_lite.radex.data import CollisionData
from cassis_lite.radex.escape import GEOMETRIES, escape_probability

MIN_ITERATIONS = 10
MAX_ITERATIONS = 9999
CONVERGENCE = 1e-6  # mean relative change of T_ex of the thick lines
THICK_TAU = 0.01  # lines above this optical depth count for convergence
MIN_POPULATION = 1e-20
RELAXATION = 0.3  # weight of the new populations at each step
EXP_CUTOFF = 160.0  # RADEX takes exp(-x) as 0 beyond x = 160
TAU_CUTOFF = 300.0  # and exp(-tau) as 0 for |tau| > 300 in T_R
#: matrix elements held at once (models x levels^2): sets the chunk of models solved together
CHUNK_ELEMENTS = 1 << 22


@dataclass
class RadexResult:
    """RADEX's output, one value per model (leading dimensions: the broadcast batch shape) and per
    radiative line of the data (last dimension, in the file's order).

    ``freq_mhz``, ``eup_k``: per line. ``tex_k`` (K; NaN where a level population is at the
    1e-20 floor), ``tau`` (line centre), ``t_r_k`` (K), ``pop_up``, ``pop_low`` (fractional
    populations), ``flux_kkms`` (K km/s); ``source_k`` = J(T_ex) at the line (K, what the spectrum
    uses); ``populations`` (batch x levels); ``converged`` and ``iterations`` per model;
    ``warnings``: what RADEX would print (T_kin outside a rate table, models not converged).
    """

    freq_mhz: np.ndarray
    eup_k: np.ndarray
    tex_k: np.ndarray
    tau: np.ndarray
    t_r_k: np.ndarray
    pop_up: np.ndarray
    pop_low: np.ndarray
    flux_kkms: np.ndarray
    source_k: np.ndarray
    populations: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    warnings: list = field(default_factory=list)


@dataclass
class _Lines:
    """Per-line constants of the rate equations (physics frequencies from the level energies)."""

    up: np.ndarray
    low: np.ndarray
    aij: np.ndarray
    g_ratio: np.ndarray  # g_u / g_l
    hnu_k: np.ndarray  # h nu / k, K
    tau_per_column: np.ndarray  # A / (8 pi GAUSS_AREA xnu^3), cm^3 s^-1 (times N / dv -> tau)
    cell_lu: np.ndarray  # flat index of (l, u) in a levels x levels matrix
    cell_ul: np.ndarray
    onehot_up: np.ndarray  # (lines, levels): 1 at each line's upper level
    onehot_low: np.ndarray

    @classmethod
    def of(cls, data: CollisionData):
        e = data.level_energy_cm
        u, lo, n = data.line_up, data.line_low, data.n_levels
        xnu = e[u] - e[lo]
        if np.any(xnu <= 0):
            raise RadexError(f"{data.species}: a radiative line has its upper level below its lower one")
        if np.unique(u * n + lo).size != u.size:
            raise RadexError(f"{data.species}: a radiative line is listed twice")
        eye = np.eye(n)
        return cls(u, lo, data.aij, data.level_weight[u] / data.level_weight[lo], xnu * CM1_TO_K,
                   data.aij / (8.0 * math.pi * GAUSS_AREA * xnu**3), lo * n + u, u * n + lo, eye[u], eye[lo])


def _occupation(hnu_k, temperature_k):
    """Photon occupation 1 / (exp(h nu / k T) - 1) of a black body, 0 beyond RADEX's cut-off."""
    with np.errstate(divide="ignore", over="ignore"):
        x = hnu_k / temperature_k
        return np.where((temperature_k > 0) & (x < EXP_CUTOFF), 1.0 / np.expm1(np.minimum(x, EXP_CUTOFF)), 0.0)


def _add_radiative(y, lines: _Lines, beta, n_bg):
    """The rate matrices y (m, levels, levels) of m models plus their radiative rates (y may be
    overwritten): line u -> l adds A beta (1 + n) to Y_uu and -Y_lu, A (g_u/g_l) beta n to Y_ll
    and -Y_ul."""
    m, n = y.shape[:2]
    down = lines.aij * beta * (1.0 + n_bg)
    up = lines.aij * lines.g_ratio * beta * n_bg
    flat = y.reshape(m, n * n)
    flat[:, lines.cell_lu] -= down
    flat[:, lines.cell_ul] -= up
    diag = np.arange(n) * (n + 1)
    flat[:, diag] += down @ lines.onehot_up + up @ lines.onehot_low
    return flat.reshape(m, n, n)


def _populations(y):
    """Normalised solution of Y x = 0 (first equation replaced by sum x = 1), floored at 1e-20;
    NaN for a model whose equations are singular or not finite (RADEX stops on those). ``y`` is
    overwritten."""
    y[:, 0, :] = 1.0
    rhs = np.zeros(y.shape[:2] + (1,))
    rhs[:, 0, 0] = 1.0
    bad = ~np.isfinite(y).all(axis=(1, 2))
    y[bad] = np.eye(y.shape[1])
    try:
        x = np.linalg.solve(y, rhs)[:, :, 0]
    except np.linalg.LinAlgError:  # rare: find the singular ones, one by one
        x = np.full(y.shape[:2], np.nan)
        for i in range(y.shape[0]):
            try:
                x[i] = np.linalg.solve(y[i], rhs[i])[:, 0]
            except np.linalg.LinAlgError:
                pass
    x[bad] = np.nan
    with np.errstate(invalid="ignore"):
        return np.maximum(MIN_POPULATION, x / x.sum(axis=1, keepdims=True))


def _excitation(lines: _Lines, pops):
    """T_ex of each line and whether one of its levels sits at the population floor."""
    xu, xl = pops[:, lines.up], pops[:, lines.low]
    floored = (xu <= MIN_POPULATION) | (xl <= MIN_POPULATION)
    with np.errstate(divide="ignore", invalid="ignore"):
        tex = lines.hnu_k / np.log(xl * lines.g_ratio / xu)
    return tex, floored


def _optical_depth(lines: _Lines, pops, n_over_dv):
    return n_over_dv[:, None] * lines.tau_per_column * (pops[:, lines.low] * lines.g_ratio - pops[:, lines.up])


def _iterate(lines: _Lines, y_coll, n_bg, n_over_dv, geometry, max_iterations):
    """RADEX's iteration for m models; returns populations, T_ex, tau, convergence, iterations."""
    m = y_coll.shape[0]
    pops = _populations(_add_radiative(y_coll.copy(), lines, np.ones_like(n_bg), n_bg))
    tex, floored = _excitation(lines, pops)
    tex = np.where(floored, 0.0, tex)  # RADEX starts those from its background intensity, ~0
    tau = np.empty_like(tex)
    converged = np.zeros(m, dtype=bool)
    iterations = np.zeros(m, dtype=np.int64)
    act = np.arange(m)
    for niter in range(1, max_iterations + 1):
        p, t_old = pops[act], tex[act]
        tau_old = _optical_depth(lines, p, n_over_dv[act])
        beta = escape_probability(tau_old, geometry)
        new = _populations(_add_radiative(y_coll[act], lines, beta, n_bg[act]))
        this, floored = _excitation(lines, new)
        this = np.where(floored, t_old, this)
        thick = tau_old > THICK_TAU
        n_thick = thick.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.where(thick, np.abs((this - t_old) / this), 0.0).sum(axis=1)
            done = (niter >= MIN_ITERATIONS) & ((n_thick == 0) | (change / np.maximum(n_thick, 1) < CONVERGENCE))
        failed = np.isnan(new).any(axis=1)
        done &= ~failed
        tex[act] = 0.5 * (this + t_old)
        pops[act] = RELAXATION * new + (1.0 - RELAXATION) * p
        iterations[act] = niter
        if done.any() or failed.any() or niter == max_iterations:
            last = done | failed | (niter == max_iterations)
            tau[act[last]] = _optical_depth(lines, new[last], n_over_dv[act[last]])
            converged[act[done]] = True
            act = act[~last]
            if act.size == 0:
                break
    return pops, tex, tau, converged, iterations


def solve(species_data: CollisionData, tkin_k, density_cm3: dict, ntot_cm2, fwhm_kms, tbg_k=T_CMB,
          geometry: str = "sphere", background_k=None, max_iterations: int = MAX_ITERATIONS) -> RadexResult:
    """Non-LTE level populations and line intensities of a homogeneous medium (RADEX).

    All physical arguments broadcast together to the batch shape; a grid of models is solved in
    one call (no Python loop per model).

    Parameters
    ----------
    species_data : CollisionData
        Levels, lines and collision rates (``LineDatabase.collision_data(name)`` or
        ``CollisionData.from_lamda``).
    tkin_k : float or array
        Kinetic temperature, K. Outside a partner's rate table the nearest tabulated rates are used
        (RADEX) and a warning is returned.
    density_cm3 : dict
        Collision partner -> density (cm^-3, scalar or array): H2, pH2, oH2, e, H, He, H+ (aliases
        such as "p-H2", "e-" accepted). H2 alone is split into ortho/para thermally when the data
        have only ortho/para rates (see :mod:`cassis_lite.radex.collisions`).
    ntot_cm2 : float or array
        Total column density of the species, cm^-2 (the sphere's diameter for "sphere" and "lvg").
    fwhm_kms : float or array
        Line FWHM, km/s (Gaussian profile, RADEX's ``linewidth``).
    tbg_k : float or array
        Temperature of the black-body background (CMB), K; 0 for none.
    geometry : {"sphere", "lvg", "slab"}
        Escape probability: uniform sphere, expanding sphere (LVG), plane-parallel slab
        (:mod:`cassis_lite.radex.escape`).
    background_k : None, array or callable, optional
        Extra background radiation (a user field) as Rayleigh-Jeans equivalent intensity in K at
        each line: an array broadcasting to (batch..., n_lines) or ``f(freq_mhz) -> K``; added to
        J(T_bg) for the excitation and subtracted, like the CMB, from T_R.
    max_iterations : int
        RADEX's 9999 by default; models not converged by then are flagged (``converged``).

    Returns
    -------
    RadexResult
    """
    if geometry not in GEOMETRIES:
        raise RadexError(f"geometry must be one of {', '.join(GEOMETRIES)}, got {geometry!r}")
    data = species_data
    lines = _Lines.of(data)
    values = {"tkin_k": tkin_k, "ntot_cm2": ntot_cm2, "fwhm_kms": fwhm_kms, "tbg_k": tbg_k}
    arrays = {k: np.asarray(v, dtype=float) for k, v in values.items()}
    dens = {k: np.asarray(v, dtype=float) for k, v in (density_cm3 or {}).items()} if isinstance(
        density_cm3, dict) else density_cm3
    for key, positive in (("tkin_k", True), ("ntot_cm2", False), ("fwhm_kms", True), ("tbg_k", False)):
        a = arrays[key]
        if not np.all(np.isfinite(a)) or np.any(a <= 0 if positive else a < 0):
            raise RadexError(f"{key} must be finite and {'> 0' if positive else '>= 0'}")
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values()),
                                *(np.shape(v) for v in (dens.values() if isinstance(dens, dict) else ())))
    flat = {k: np.broadcast_to(a, shape).ravel() for k, a in arrays.items()}
    flat_dens = {k: np.broadcast_to(v, shape).ravel() for k, v in dens.items()} if isinstance(dens, dict) else dens
    hnu_k = lines.hnu_k
    freq_phys_mhz = hnu_k / HK_MHZ
    extra = 0.0
    if background_k is not None:
        extra = background_k(freq_phys_mhz) if callable(background_k) else background_k
        extra = np.broadcast_to(np.asarray(extra, dtype=float), shape + (data.n_lines,)).reshape(-1, data.n_lines)
    n_models = flat["tkin_k"].size
    n_bg = _occupation(hnu_k, flat["tbg_k"][:, None]) + extra / hnu_k
    n_over_dv = flat["ntot_cm2"] / (flat["fwhm_kms"] * 1e5)
    pops = np.empty((n_models, data.n_levels))
    tex = np.empty((n_models, data.n_lines))
    tau = np.empty((n_models, data.n_lines))
    converged = np.empty(n_models, dtype=bool)
    iterations = np.empty(n_models, dtype=np.int64)
    warnings = []
    step = max(1, CHUNK_ELEMENTS // max(data.n_levels**2, 1, data.n_lines))
    for s in range(0, n_models, step):
        sl = slice(s, s + step)
        y_coll, warn = collision_operator(data, {k: v[sl] for k, v in flat_dens.items()}, flat["tkin_k"][sl])
        warnings += [w for w in warn if w not in warnings]
        pops[sl], tex[sl], tau[sl], converged[sl], iterations[sl] = _iterate(
            lines, y_coll, np.broadcast_to(n_bg, (n_models, data.n_lines))[sl], n_over_dv[sl], geometry,
            max_iterations)
    failed = np.isnan(pops).any(axis=1)
    if failed.any():
        warnings.append(f"{data.species}: {int(failed.sum())} of {n_models} models have singular rate equations "
                        f"(RADEX stops on those): their results are NaN")
    if not converged.all():
        warnings.append(f"{data.species}: {int((~converged & ~failed).sum())} of {n_models} models did not converge "
                        f"in {max_iterations} iterations")
    xu, xl = pops[:, lines.up], pops[:, lines.low]
    floored = (xu <= MIN_POPULATION) | (xl <= MIN_POPULATION)
    with np.errstate(divide="ignore", invalid="ignore"):
        source = np.where(floored, 0.0, hnu_k / (xl * lines.g_ratio / xu - 1.0))
    j_bg = rj_temperature_k(freq_phys_mhz, flat["tbg_k"][:, None]) + extra
    ftau = np.where(np.abs(tau) <= TAU_CUTOFF, np.exp(-np.clip(tau, -TAU_CUTOFF, TAU_CUTOFF)), 0.0)
    t_r = (source - j_bg) * (1.0 - ftau)
    tex = np.where(floored, np.nan, tex)

    def out(a):
        return a.reshape(shape + a.shape[1:])

    return RadexResult(
        freq_mhz=data.freq_mhz.copy(), eup_k=data.eup_k, tex_k=out(tex), tau=out(tau), t_r_k=out(t_r),
        pop_up=out(xu), pop_low=out(xl), flux_kkms=out(GAUSS_AREA * flat["fwhm_kms"][:, None] * t_r),
        source_k=out(source), populations=out(pops), converged=out(converged), iterations=out(iterations),
        warnings=warnings)
