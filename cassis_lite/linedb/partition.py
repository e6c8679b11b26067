"""Partition functions Q(T) tabulated as (T, log10 Q), interpolated log-log.

log10 Q is interpolated linearly in log10 T between table points (CASSIS's and CDMS's
convention). Outside the table there is no extrapolation: :class:`PartitionRangeError` names
the species, the temperature asked and the table range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cassis_lite.errors import PartitionRangeError


@dataclass(frozen=True)
class PartitionFunction:
    species: str
    temperatures_k: np.ndarray  # ascending
    log10_q: np.ndarray
    method: str | None = None  # "table" (catalogue) or "levels" (computed from a LAMDA level list)
    source: str | None = None
    truncation_k: float | None = None  # for "levels": above this T the level list is incomplete

    def __post_init__(self):
        t = np.asarray(self.temperatures_k, dtype=float)
        q = np.asarray(self.log10_q, dtype=float)
        order = np.argsort(t)
        object.__setattr__(self, "temperatures_k", t[order])
        object.__setattr__(self, "log10_q", q[order])

    @property
    def t_range_k(self) -> tuple[float, float]:
        if self.temperatures_k.size == 0:
            return (float("nan"), float("nan"))
        return float(self.temperatures_k[0]), float(self.temperatures_k[-1])

    def _check(self, t: np.ndarray) -> None:
        if self.temperatures_k.size == 0:
            raise PartitionRangeError(
                f"no partition function for {self.species!r} ({self.source or 'no level list in its source'})")
        tmin, tmax = self.t_range_k
        bad = ~((t >= tmin * (1 - 1e-12)) & (t <= tmax * (1 + 1e-12)))
        if np.any(bad):
            tb = float(np.atleast_1d(t)[np.atleast_1d(bad)][0])
            raise PartitionRangeError(
                f"partition function of {self.species!r} is tabulated for {tmin:g}-{tmax:g} K; "
                f"T = {tb:g} K is outside")

    def log10_q_at(self, tex_k):
        """log10 Q(T): linear interpolation of log10 Q in log10 T (vectorised)."""
        t = np.asarray(tex_k, dtype=float)
        self._check(t)
        if self.temperatures_k.size == 1:
            out = np.full(t.shape, self.log10_q[0])
        else:
            out = np.interp(np.log10(t), np.log10(self.temperatures_k), self.log10_q)
        return float(out) if out.ndim == 0 else out

    def q(self, tex_k):
        """Q(T) = 10 ** log10_q_at(T); a float for a scalar T, an array otherwise."""
        lq = self.log10_q_at(tex_k)
        return float(10.0**lq) if np.ndim(lq) == 0 else 10.0**lq

    __call__ = q
