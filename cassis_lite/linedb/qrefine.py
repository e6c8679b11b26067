"""Partition functions to 0.1 %: the catalogue table refined with the catalogue's own levels.

Run when a database is built (``build_scripts/build_linedb.py``, ``build_fulldb.py``); the result
is stored as knots of (T, log10 Q), 8 per octave (table ``partition_refined``), that
:class:`~cassis_lite.linedb.partition.PartitionFunction` interpolates with a cubic spline in
(ln T, ln Q) at run time (that step adds < 1e-5, :data:`KNOT_TOLERANCE`), with the uncertainty of Q per temperature range (table
``partition_accuracy``). The catalogue's own table stays in ``partition_function`` (CASSIS's
convention, ``partition="catalogue"``).

Why: CDMS and JPL tabulate log10 Q at 7 to 11 temperatures (2.725, 5, 9.375, 18.75, 37.5, 75, 150,
225, 300, 500, 1000 K). Linear interpolation in (log T, log Q) between them is ~0.6 % high at 30 K
for a symmetric top (the K ladders bend Q in log-log), so every LTE intensity is 0.6 % low.

Method, per species:

* Level sum ``Q_lev(T) = sum_i g_i exp(-E_i / kT)`` over the levels the catalogue's lines define
  (:func:`levels_from_lines`: upper levels E_low + h nu with g_up; levels that are only ever
  lower levels, the lowest of each symmetry species mostly, get their weight from the table at
  its lowest temperatures, :func:`fit_lower_weights`). Vibrational states are in the sum where
  the line list has their lines.
* The table keeps the last word at its nodes: ``ln Q = ln Q_lev + r(ln T)``, r a not-a-knot cubic
  spline through ``ln(Q_tab / Q_lev)`` at the nodes. Where the levels are complete r is flat
  (up to the table's rounding) and Q is the level sum; where they are not (states the list does
  not reach), r carries the difference, which varies much more slowly than Q. Without levels:
  a cubic spline of ln Q_tab in ln T (r with Q_lev = 1).
* Uncertainty per table interval: |cubic spline - monotone PCHIP| of the same nodes (PCHIP is a
  few times less accurate on rotors, so the difference bounds the spline's error) + the table's
  rounding (0.5e-4 dex). In each interval the variant (levels or table alone) with the smaller
  uncertainty is used. An estimate, not a bound: a wrong level in the list (one level given to 2
  decimals by one source and 3 by another once made two of it) bends r between the nodes unseen;
  tests/test_linedb_qrefine.py and test_fulldb.py compare with independent sums per family.
* Beyond the table (JPL tables stop at 9.375 and 300 K; CDMS at 2.725 and 300-1000 K): only with
  levels, r held at its end value; the uncertainty grows with the slope of r over the last table
  interval (and, upwards, with the weight of the top of the list, :meth:`Levels.missing_fraction`);
  the range stops where it reaches :data:`MAX_EXTRAPOLATED_ERROR` (1 %): above that, Q(T) raises
  :class:`~cassis_lite.errors.PartitionRangeError`, never a guess.

A species without a catalogue table gets no refined Q: a level sum over its lines alone is only
a lower bound (levels without lines in the list are missing), so models of it are refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.constants import CM1_TO_K, CM1_TO_MHZ
from cassis_lite.linedb.partition import _poly, cubic_spline

T_MIN_K, T_MAX_K = 2.725, 1000.0
#: half a unit in the 4th decimal of log10 Q, as a relative error of Q
TABLE_ROUNDING = 0.5e-4 * math.log(10.0)
#: the cubic spline through the stored knots reproduces the refined Q to this (relative)
KNOT_TOLERANCE = 1e-5
#: stored knots per factor 2 in T
KNOTS_PER_OCTAVE = 8
#: beyond the table, stop where the estimated uncertainty reaches this
MAX_EXTRAPOLATED_ERROR = 0.01


# ----------------------------------------------------------------------------- interpolants
def pchip(x, y):
    """Monotone piecewise cubic Hermite interpolant (Fritsch & Carlson 1980; end slopes as in
    Moler's ``pchip``); returns f(x_new)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = x.size
    if n < 3:
        return _poly(x, y)
    h = np.diff(x)
    d = np.diff(y) / h
    s = np.zeros(n)
    w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
    same = d[:-1] * d[1:] > 0
    s[1:-1][same] = ((w1 + w2) / (w1 / np.where(same, d[:-1], 1) + w2 / np.where(same, d[1:], 1)))[same]

    def end(h0, h1, d0, d1):
        v = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
        if np.sign(v) != np.sign(d0):
            return 0.0
        if np.sign(d0) != np.sign(d1) and abs(v) > abs(3 * d0):
            return 3 * d0
        return v

    s[0], s[-1] = end(h[0], h[1], d[0], d[1]), end(h[-1], h[-2], d[-1], d[-2])

    def f(xn):
        xn = np.asarray(xn, dtype=float)
        i = np.clip(np.searchsorted(x, xn, side="right") - 1, 0, n - 2)
        t = (xn - x[i]) / h[i]
        return ((1 + 2 * t) * (1 - t) ** 2 * y[i] + t * (1 - t) ** 2 * h[i] * s[i]
                + t * t * (3 - 2 * t) * y[i + 1] + t * t * (t - 1) * h[i] * s[i + 1])

    return f


# ----------------------------------------------------------------------------------- levels
@dataclass
class Levels:
    """Energy levels: ``energy_cm`` (cm^-1, the catalogue's zero), ``weight`` (the catalogue's
    degeneracy convention, nuclear spin included as it is in g_up)."""

    energy_cm: np.ndarray
    weight: np.ndarray

    def __post_init__(self):
        order = np.argsort(np.asarray(self.energy_cm, dtype=float))
        self.energy_cm = np.asarray(self.energy_cm, dtype=float)[order]
        self.weight = np.asarray(self.weight, dtype=float)[order]

    def terms(self, t_k):
        """g_i exp(-E_i / kT): rows T, columns levels (E from the lowest level, see :meth:`log_q`)."""
        e = (self.energy_cm - self.energy_cm[0]) * CM1_TO_K
        t = np.atleast_1d(np.asarray(t_k, dtype=float))[:, None]
        return self.weight[None, :] * np.exp(-e[None, :] / t)

    def log_q(self, t_k):
        """ln Q(T) = ln sum_i g_i exp(-E_i/kT), energies from the catalogue's zero (vectorised)."""
        t = np.atleast_1d(np.asarray(t_k, dtype=float))
        e0 = self.energy_cm[0] * CM1_TO_K
        return np.log(self.terms(t).sum(axis=1)) - e0 / t

    def share(self, t_k, mask):
        """The share of Q carried by the levels in ``mask``."""
        w = self.terms(t_k)
        return w[:, mask].sum(axis=1) / w.sum(axis=1)

    def missing_fraction(self, t_k):
        """Estimate of the share of Q above the top of the list (a truncated ladder): twice the
        share of the levels within kT of the top, where that is the tail of a decreasing
        population (an estimate, not a bound)."""
        t = np.atleast_1d(np.asarray(t_k, dtype=float))
        top = self.energy_cm[-1]
        return np.array([2.0 * self.share(tt, self.energy_cm > top - tt / CM1_TO_K)[0] for tt in t])


def levels_from_lines(elow_cm, freq_mhz, gup, tol_cm=2e-3):
    """(upper energies, upper weights, lower-only energies, their partner weights) of a line list.

    Upper levels are E_low + h nu with weight g_up, one per distinct (energy within ``tol_cm``,
    weight), counted as many times as the largest number of its lines that go to one same lower
    energy (two degenerate levels of equal weight each have their own line to a partner). A lower
    energy that is no upper level (within 0.02 cm^-1) is returned apart, its weight unknown
    (:func:`fit_lower_weights`), with the smallest g_up of the lines that end on it."""
    elow = np.asarray(elow_cm, dtype=float)
    eup = elow + np.asarray(freq_mhz, dtype=float) / CM1_TO_MHZ
    g = np.asarray(gup, dtype=np.int64)
    if elow.size == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0)
    qu = np.round(eup / tol_cm).astype(np.int64)
    ql = np.round(elow / tol_cm).astype(np.int64)
    # hyperfine-resolved components (lines from one upper energy to one lower energy with several
    # g_up): one level, of the largest g_up (the hyperfine-free weight (2J+1)(2I+1) where the list
    # has it)
    pair_ul, inv_ul = np.unique(np.stack([qu, ql], axis=1), axis=0, return_inverse=True)
    inv_ul = inv_ul.ravel()
    gmax, gmin = np.zeros(len(pair_ul), np.int64), np.full(len(pair_ul), np.iinfo(np.int64).max)
    np.maximum.at(gmax, inv_ul, g)
    np.minimum.at(gmin, inv_ul, g)
    hf_up = np.unique(pair_ul[gmax != gmin, 0])
    hf = np.isin(qu, hf_up)
    g = np.where(hf, gmax[inv_ul], g)
    trip = np.stack([qu, g, ql], axis=1)
    trip = np.concatenate([trip[~hf], np.unique(trip[hf], axis=0)])
    trip, counts = np.unique(trip, axis=0, return_counts=True)
    pairs, first = np.unique(trip[:, :2], axis=0, return_inverse=True)
    mult = np.zeros(len(pairs), dtype=np.int64)
    np.maximum.at(mult, first.ravel(), counts)
    upper_e = np.repeat(pairs[:, 0] * tol_cm, mult)
    upper_g = np.repeat(pairs[:, 1].astype(float), mult)
    uq = np.unique(pairs[:, 0])
    lows, inv = np.unique(ql, return_inverse=True)
    partner = np.full(lows.size, np.iinfo(np.int64).max)
    np.minimum.at(partner, inv.ravel(), g)
    pos = np.clip(np.searchsorted(uq, lows), 1, uq.size - 1) if uq.size > 1 else np.zeros(lows.size, int)
    # within 0.02 cm^-1 of an upper level: the same level (lists merged from several sources give
    # one level to 2-3 decimals)
    near = np.minimum(np.abs(lows - uq[pos]), np.abs(lows - uq[np.maximum(pos - 1, 0)])) * tol_cm <= 0.02 + 1e-9
    return upper_e, upper_g, lows[~near] * tol_cm, partner[~near].astype(float)


def fit_lower_weights(upper_e, upper_g, lower_e, lower_guess, table_t, table_lq, max_residual=2e-3):
    """The :class:`Levels`, with the weights of the lower-only levels fixed by the table.

    ``Q_tab(T_k) - sum_upper g e^(-E/kT_k) = sum_j g_j e^(-E_j/kT_k)`` at the table's lowest T_k
    (up to 9.375, 18.75 or 37.5 K, the first that works) is solved for the weights g_j >= 0 of the
    lowest lower-only levels (non-negative least squares on relative residuals, fewer unknowns than
    temperatures, so it is a test; rounded to integers: the catalogues' weights are integers);
    every residual must be below ``max_residual``. The higher lower-only levels (the bottom of
    each K ladder of a symmetric top) keep ``lower_guess``, the smallest g_up of their lines: an
    approximation whose error varies smoothly with T and is carried by the ratio to the table
    (:func:`refine`). None when the table cannot be reproduced (levels missing at the bottom of
    the list, or another degeneracy convention): then the table alone is used."""
    upper_e, upper_g = np.asarray(upper_e, float), np.asarray(upper_g, float)
    order = np.argsort(np.asarray(lower_e, float))
    lower_e, guess = np.asarray(lower_e, float)[order], np.asarray(lower_guess, float)[order]
    tt, qt = np.asarray(table_t, float), 10.0 ** np.asarray(table_lq, float)
    if upper_e.size == 0:
        return None

    def boltz(e, t):
        return np.exp(-e[None, :] * CM1_TO_K / t[:, None])

    for t_max in (9.375, 18.75, 37.5):
        sel = tt <= t_max * (1 + 1e-9)
        if sel.sum() < 2:
            continue
        tf, qf = tt[sel], qt[sel]
        known = (upper_g[None, :] * boltz(upper_e, tf)).sum(axis=1)
        a = boltz(lower_e, tf)
        visible = (a * guess[None, :] / qf[:, None]).max(axis=0) > 1e-4 if lower_e.size else np.zeros(0, bool)
        free = visible & (np.cumsum(visible) < sel.sum())  # the lowest ones, fewer than the temperatures
        g = guess.copy()
        if free.any():
            rest = (a[:, ~free] * g[~free]).sum(axis=1)
            g[free] = np.round(_nnls(a[:, free] / qf[:, None], (qf - known - rest) / qf))
        resid = (known + (a * g[None, :]).sum(axis=1)) / qf - 1.0
        if np.all(np.isfinite(resid)) and np.max(np.abs(resid)) <= max_residual and np.all(g[free] > 0):
            return Levels(np.concatenate([upper_e, lower_e]), np.concatenate([upper_g, g]))
    return None


def _nnls(a, b, iters=300):
    """Non-negative least squares by projected coordinate descent (a few unknowns)."""
    x = np.maximum(np.linalg.lstsq(a, b, rcond=None)[0], 0.0)
    ata, atb = a.T @ a, a.T @ b
    for _ in range(iters):
        for j in range(x.size):
            if ata[j, j] > 0:
                x[j] = max(0.0, x[j] + (atb[j] - ata[j] @ x) / ata[j, j])
    return x


# ------------------------------------------------------------------------------ refinement
@dataclass
class RefinedQ:
    """Knots (T, log10 Q), the uncertainty per range [(tmin_k, tmax_k, rel_error, basis)], and a
    one-line account of how Q was obtained."""

    temperatures_k: np.ndarray
    log10_q: np.ndarray
    accuracy: list = field(default_factory=list)
    basis: str = ""

    def log10_q_at(self, t_k):
        return np.interp(np.log10(t_k), np.log10(self.temperatures_k), self.log10_q)


def refine(table_t, table_lq, levels: Levels | None = None, t_min=T_MIN_K, t_max=T_MAX_K) -> RefinedQ:
    """Refined Q(T) of a catalogue table (T_i, log10 Q_i) with ``levels`` (module docstring):
    knots over the table's range, extended with the levels towards ``t_min``/``t_max`` while the
    estimated uncertainty stays below :data:`MAX_EXTRAPOLATED_ERROR`."""
    tt, lq = np.asarray(table_t, dtype=float), np.asarray(table_lq, dtype=float)
    ok = np.isfinite(lq) & (tt > 0)
    order = np.argsort(tt[ok])
    tt, lq = tt[ok][order], lq[ok][order]
    x, y = np.log(tt), lq * math.log(10.0)
    if tt.size < 2:
        return RefinedQ(tt, lq, [(float(tt[0]), float(tt[0]), TABLE_ROUNDING, "catalogue table")] if tt.size else [],
                        "catalogue table (one point)")
    fine = np.exp(np.linspace(x[0], x[-1], 801))
    xf = np.log(fine)
    variants = []  # (name, ln Q(T), uncertainty on the fine grid)
    fs, fp = cubic_spline(x, y), pchip(x, y)
    variants.append(("table", lambda t: fs(np.log(t)), np.abs(fs(xf) - fp(xf)) + TABLE_ROUNDING))
    r = None
    if levels is not None and levels.energy_cm.size:
        r = y - levels.log_q(tt)
        rs, rp = cubic_spline(x, r), pchip(x, r)
        unc = np.abs(rs(xf) - rp(xf)) + TABLE_ROUNDING
        variants.append(("levels", lambda t: levels.log_q(t) + rs(np.log(t)), unc))
    seg = np.clip(np.searchsorted(tt, fine, side="right") - 1, 0, tt.size - 2)
    choice = np.array([min(range(len(variants)), key=lambda k: (float(np.max(variants[k][2][seg == i])), -k))
                       for i in range(tt.size - 1)])
    unc = np.choose(choice[seg], [v[2] for v in variants])

    def ln_q(t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        i = np.clip(np.searchsorted(tt, t, side="right") - 1, 0, tt.size - 2)
        out = np.empty(t.shape)
        for k, (_, f, _) in enumerate(variants):
            m = choice[i] == k
            if m.any():
                out[m] = f(t[m])
        return out

    acc = []
    for i in range(tt.size - 1):
        acc.append((float(tt[i]), float(tt[i + 1]), float(np.max(unc[seg == i])), variants[choice[i]][0]))
    used = {variants[k][0] for k in choice}
    if used == {"table"}:
        basis = "cubic spline of the catalogue table in (ln T, ln Q)"
    else:
        basis = (f"sum over {levels.energy_cm.size} levels of the catalogue's lines x cubic spline of "
                 "Q_table / level sum in ln T" + ("" if used == {"levels"} else
                                                  " (cubic spline of the table where that is better)"))
    t_lo, t_hi = tt[0], tt[-1]
    if r is not None:
        t_lo, lo_acc = _extend(levels, r[0], r[1], tt[0], tt[1], t_min, down=True)
        t_hi, hi_acc = _extend(levels, r[-1], r[-2], tt[-1], tt[-2], t_max, down=False)
        acc = lo_acc + acc + hi_acc

    def ln_q_all(t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        out = np.empty(t.shape)
        inside = (t >= tt[0]) & (t <= tt[-1])
        out[inside] = ln_q(t[inside])
        for m, r_end in ((t < tt[0], r[0] if r is not None else 0.0), (t > tt[-1], r[-1] if r is not None else 0.0)):
            if m.any():
                out[m] = levels.log_q(t[m]) + r_end
        return out

    tk, lk = knots(ln_q_all, t_lo, t_hi)
    return RefinedQ(tk, lk, acc, basis)


def _extend(levels: Levels, r_end, r_prev, t_end, t_prev, t_goal, down: bool):
    """How far beyond the table's end ``t_end`` towards ``t_goal`` Q may go with ln Q = level
    sum + r_end: (the last temperature, [(tmin, tmax, uncertainty, basis)]). The uncertainty is
    the trend of r over the last table interval times the distance in ln T (+ rounding and,
    upwards, the missing top of the list); the range stops where it reaches 1 %."""
    if (t_goal >= t_end * (1 - 1e-9)) if down else (t_goal <= t_end * (1 + 1e-9)):
        return t_end, []
    slope = abs(r_end - r_prev) / abs(math.log(t_end / t_prev))
    fine = np.exp(np.linspace(math.log(t_end), math.log(t_goal), 301))
    unc = slope * np.abs(np.log(fine / t_end)) + TABLE_ROUNDING
    if not down:
        unc = unc + levels.missing_fraction(fine)
    ok = unc <= MAX_EXTRAPOLATED_ERROR
    n = unc.size if ok.all() else int(np.argmin(ok))
    if n <= 1:
        return t_end, []
    t_stop = t_goal if n == unc.size else float(f"{fine[n - 1]:.4g}")
    lo, hi = (t_stop, t_end) if down else (t_end, t_stop)
    what = "below" if down else "above"
    return t_stop, [(float(lo), float(hi), float(np.max(unc[:n])), f"levels {what} the table (ratio held)")]


def knots(fun_ln_q, t_lo, t_hi, per_octave=KNOTS_PER_OCTAVE):
    """Temperatures evenly spaced in log T over [t_lo, t_hi] (``per_octave`` per factor 2, the
    ends included) and log10 Q there (rounded to 1e-7), for the not-a-knot cubic spline in
    (ln T, ln Q) of :class:`~cassis_lite.linedb.partition.PartitionFunction` (it reproduces the
    refined Q to better than :data:`KNOT_TOLERANCE`, checked in tests/test_linedb_qrefine.py)."""
    t_lo, t_hi = float(t_lo), float(t_hi)
    n = max(2, int(math.ceil(per_octave * math.log2(t_hi / t_lo))) + 1)
    t = np.exp(np.linspace(math.log(t_lo), math.log(t_hi), n))
    t[0], t[-1] = t_lo, t_hi
    t = np.array([float(f"{v:.6g}") for v in t])
    return t, np.round(np.asarray(fun_ln_q(t), dtype=float) / math.log(10.0), 7)


def refine_species(table_t, table_lq, elow_cm=(), freq_mhz=(), gup=()) -> RefinedQ:
    """Refined Q of a species from its catalogue table and its lines (E_low cm^-1, frequency MHz,
    g_up): the levels of :func:`levels_from_lines` with :func:`fit_lower_weights`, or the table
    alone where those levels do not reproduce the table at low temperature."""
    levels = None
    if len(freq_mhz):
        levels = fit_lower_weights(*levels_from_lines(elow_cm, freq_mhz, gup), table_t, table_lq)
    return refine(table_t, table_lq, levels)
