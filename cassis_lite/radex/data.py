"""Molecular data of one non-LTE species as plain arrays: LAMDA levels, radiative lines, and the
collision rates of every partner (Schoier et al. 2005, A&A 432, 369, for the format).

:class:`CollisionData` is what :meth:`cassis_lite.linedb.LineDatabase.collision_data` returns and
what :func:`cassis_lite.radex.solve` takes; :meth:`CollisionData.from_lamda` builds one straight
from a LAMDA file (tests, user files). Indices are 0-based (level 0 is the file's level 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cassis_lite.constants import CM1_TO_K
from cassis_lite.errors import RadexError
from cassis_lite.linedb.formats import LAMDA_PARTNERS, LamdaFile

#: every spelling of a collision partner accepted from users -> its LAMDA name
PARTNER_ALIASES = {
    "h2": "H2", "ph2": "pH2", "p-h2": "pH2", "para-h2": "pH2", "oh2": "oH2", "o-h2": "oH2", "ortho-h2": "oH2",
    "e": "e", "e-": "e", "electrons": "e", "h": "H", "he": "He", "h+": "H+",
}


def partner_name(text: str) -> str:
    """The LAMDA name (H2, pH2, oH2, e, H, He, H+) of a collision partner given as ``text``."""
    name = PARTNER_ALIASES.get(str(text).strip().lower())
    if name is None:
        raise RadexError(f"unknown collision partner {text!r} (known: {', '.join(LAMDA_PARTNERS.values())})")
    return name


@dataclass(frozen=True)
class CollisionPartner:
    """Downward rate coefficients ``rates_cm3s[i, k]`` (cm^3 s^-1) of the collisional transition
    ``up[i]`` -> ``low[i]`` at ``temperatures_k[k]`` (ascending), with one partner."""

    name: str
    temperatures_k: np.ndarray
    up: np.ndarray
    low: np.ndarray
    rates_cm3s: np.ndarray
    reference: str = ""


@dataclass(frozen=True)
class CollisionData:
    """Levels, radiative lines and collision rates of one species (one LAMDA file).

    Levels: ``level_energy_cm`` (cm^-1), ``level_weight`` (statistical weights), ``level_label``.
    Lines: ``line_up`` -> ``line_low`` (level indices), ``aij`` (s^-1), ``freq_mhz`` (the file's
    frequency column, where lines are drawn). ``partners``: one :class:`CollisionPartner` each.
    """

    species: str
    source_file: str
    molecular_weight: float
    level_energy_cm: np.ndarray
    level_weight: np.ndarray
    level_label: tuple
    line_up: np.ndarray
    line_low: np.ndarray
    aij: np.ndarray
    freq_mhz: np.ndarray
    partners: tuple
    notes: str = field(default="", repr=False)

    @property
    def n_levels(self) -> int:
        return int(self.level_energy_cm.size)

    @property
    def n_lines(self) -> int:
        return int(self.aij.size)

    @property
    def partner_names(self) -> tuple:
        return tuple(p.name for p in self.partners)

    @property
    def eup_k(self) -> np.ndarray:
        """Upper-level energy of each line, K."""
        return self.level_energy_cm[self.line_up] * CM1_TO_K

    @property
    def gup(self) -> np.ndarray:
        return self.level_weight[self.line_up]

    @property
    def line_labels(self) -> list[str]:
        """``"up -> low"`` from the level labels (level numbers where the file has none)."""
        lab = self.level_label
        return [f"{lab[u] or u + 1} -> {lab[lo] or lo + 1}" for u, lo in zip(self.line_up, self.line_low)]

    def partner(self, name: str) -> CollisionPartner | None:
        return next((p for p in self.partners if p.name == name), None)

    @classmethod
    def from_lamda(cls, lam: LamdaFile, species: str | None = None, source_file: str = "") -> "CollisionData":
        """From a parsed LAMDA file (:func:`cassis_lite.linedb.formats.parse_lamda`)."""
        if not lam.partners:
            raise RadexError(f"{source_file or lam.name}: no collision rates in the file")
        partners = []
        for p in lam.partners:
            order = np.argsort(p.temperatures_k, kind="stable")
            partners.append(CollisionPartner(p.name, np.asarray(p.temperatures_k, dtype=float)[order],
                                             np.asarray(p.up, dtype=np.intp) - 1, np.asarray(p.low, dtype=np.intp) - 1,
                                             np.asarray(p.rates_cm3s, dtype=float)[:, order], p.reference))
        return cls(
            species=species or lam.name, source_file=source_file, molecular_weight=float(lam.weight),
            level_energy_cm=np.array([lv.energy_cm for lv in lam.levels]),
            level_weight=np.array([lv.weight for lv in lam.levels]),
            level_label=tuple(lv.label for lv in lam.levels),
            line_up=np.array([ln.up - 1 for ln in lam.lines], dtype=np.intp),
            line_low=np.array([ln.low - 1 for ln in lam.lines], dtype=np.intp),
            aij=np.array([ln.aij for ln in lam.lines]),
            freq_mhz=np.array([ln.freq_ghz * 1e3 for ln in lam.lines]),
            partners=tuple(partners), notes=lam.notes)
