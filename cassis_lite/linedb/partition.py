"""Partition functions Q(T) tabulated as (T, log10 Q).

Two kinds (``LineDatabase.partition_function(species, partition=...)``):

* ``"catalogue"``: the catalogue's table (CDMS/JPL, 7-11 temperatures), log10 Q interpolated
  linearly in log10 T (``interpolation="loglog"``, CASSIS's and CDMS's convention): 0.1-2 % off
  between the nodes (0.55 % high at 30 K for CH3CN, 0.9 % low for C I).
* ``"refined"``: Q refined with the catalogue's levels at build time
  (:mod:`cassis_lite.linedb.qrefine`), stored at 8 knots per octave and interpolated by a
  not-a-knot cubic spline in (ln T, ln Q) (``interpolation="cubic"``, adds < 1e-5), with the
  estimated uncertainty per temperature range in ``accuracy`` (:meth:`relative_error`).

Outside the table there is no extrapolation: :class:`PartitionRangeError` names the species, the
temperature asked and the range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cassis_lite.errors import PartitionRangeError

#: ``partition`` settings: the catalogue's table as CASSIS interpolates it, or the refined Q
PARTITION_KINDS = ("refined", "catalogue")


@dataclass(frozen=True)
class PartitionFunction:
    species: str
    temperatures_k: np.ndarray  # ascending
    log10_q: np.ndarray
    method: str | None = None  # "table" (catalogue) or "levels" (computed from a LAMDA level list)
    source: str | None = None
    truncation_k: float | None = None  # for "levels": above this T the level list is incomplete
    interpolation: str = "loglog"  # "loglog" (catalogue, CASSIS) or "cubic" (refined knots)
    #: ((tmin_k, tmax_k, relative uncertainty, basis), ...): empty when the database gives none
    accuracy: tuple = ()
    kind: str = "catalogue"  # "catalogue" or "refined" (what was asked for; see ``basis``)
    basis: str = ""  # how the refined Q was obtained, or why the catalogue table stands in for it

    def __post_init__(self):
        t = np.asarray(self.temperatures_k, dtype=float)
        q = np.asarray(self.log10_q, dtype=float)
        order = np.argsort(t)
        object.__setattr__(self, "temperatures_k", t[order])
        object.__setattr__(self, "log10_q", q[order])
        spline = None
        if self.interpolation == "cubic" and t.size > 1:
            spline = cubic_spline(np.log(t[order]), q[order] * np.log(10.0))
        object.__setattr__(self, "_spline", spline)

    @property
    def t_range_k(self) -> tuple[float, float]:
        if self.temperatures_k.size == 0:
            return (float("nan"), float("nan"))
        return float(self.temperatures_k[0]), float(self.temperatures_k[-1])

    def _check(self, t: np.ndarray) -> None:
        if self.temperatures_k.size == 0:
            raise PartitionRangeError(
                f"no partition function for {self.species!r} ({self.source or 'no level list in its source'}): "
                "its catalogue gives no table, and a sum over the levels of its lines would only be a lower "
                "bound (levels without lines in the list are missing), so no LTE intensity is computed")
        tmin, tmax = self.t_range_k
        bad = ~((t >= tmin * (1 - 1e-12)) & (t <= tmax * (1 + 1e-12)))
        if np.any(bad):
            tb = float(np.atleast_1d(t)[np.atleast_1d(bad)][0])
            what = "refined" if self.kind == "refined" and self.interpolation == "cubic" else "tabulated"
            raise PartitionRangeError(
                f"partition function of {self.species!r} is {what} for {tmin:g}-{tmax:g} K; "
                f"T = {tb:g} K is outside")

    def log10_q_at(self, tex_k):
        """log10 Q(T) (vectorised): linear in log10 T between the table's points ("loglog"), or the
        cubic spline of the refined knots ("cubic")."""
        t = np.asarray(tex_k, dtype=float)
        self._check(t)
        if self.temperatures_k.size == 1:
            out = np.full(t.shape, self.log10_q[0])
        elif self._spline is not None:
            out = self._spline(np.log(t)) / np.log(10.0)
        else:
            out = np.interp(np.log10(t), np.log10(self.temperatures_k), self.log10_q)
        return float(out) if out.ndim == 0 else out

    def q(self, tex_k):
        """Q(T) = 10 ** log10_q_at(T); a float for a scalar T, an array otherwise."""
        lq = self.log10_q_at(tex_k)
        return float(10.0**lq) if np.ndim(lq) == 0 else 10.0**lq

    __call__ = q

    def relative_error(self, tex_k):
        """Estimated relative uncertainty of Q(T) (the database's ``partition_accuracy``: the
        largest over the ranges that hold T); NaN where the database gives none (the catalogue's
        table: the error of its interpolation is not known). Vectorised like :meth:`q`."""
        t = np.asarray(tex_k, dtype=float)
        self._check(t)
        out = np.full(t.shape, np.nan)
        for tmin, tmax, err, _ in self.accuracy:
            inside = (t >= tmin * (1 - 1e-12)) & (t <= tmax * (1 + 1e-12))
            out = np.where(inside, np.fmax(out, err), out)
        return float(out) if out.ndim == 0 else out


def cubic_spline(x, y):
    """Not-a-knot cubic spline through (x, y) (x ascending); returns f(x_new). Fewer than 4
    nodes: the interpolating polynomial (de Boor, A Practical Guide to Splines, ch. IV)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = x.size
    if n < 4:
        return _poly(x, y)
    h = np.diff(x)
    a, b = np.zeros((n, n)), np.zeros(n)
    for i in range(1, n - 1):  # continuity of y' (unknowns: the second derivatives m)
        a[i, i - 1:i + 2] = h[i - 1], 2.0 * (h[i - 1] + h[i]), h[i]
        b[i] = 6.0 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1])
    a[0, :3] = h[1], -(h[0] + h[1]), h[0]  # not-a-knot: y''' continuous at x[1] and x[n-2]
    a[-1, -3:] = h[-1], -(h[-2] + h[-1]), h[-2]
    m = np.linalg.solve(a, b)

    def f(xn):
        xn = np.asarray(xn, dtype=float)
        i = np.clip(np.searchsorted(x, xn, side="right") - 1, 0, n - 2)
        t0, t1, hi = xn - x[i], x[i + 1] - xn, h[i]
        return (m[i] * t1**3 / (6 * hi) + m[i + 1] * t0**3 / (6 * hi)
                + (y[i] / hi - m[i] * hi / 6) * t1 + (y[i + 1] / hi - m[i + 1] * hi / 6) * t0)

    return f


def _poly(x, y):
    c = np.polyfit(x, y, x.size - 1) if x.size > 1 else np.array([y[0]])
    return lambda xn: np.polyval(c, np.asarray(xn, dtype=float))
