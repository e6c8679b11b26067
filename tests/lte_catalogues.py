"""Test-side readers of public catalogue files, independent of the line database.

- CDMS/JPL ``.cat`` lines (fixed-width format of Pickett et al. 1998, JQSRT 60, 883), with
  A_ul from LGINT as docs/conventions.md states (CDMS documentation):
  S mu^2 = I Q(300) 24025.120666 / (nu (exp(-E_l/kT) - exp(-E_u/kT))),
  A = 1.16395e-20 nu^3 S mu^2 / g_u   (nu in MHz, T = 300 K).
- LAMDA molecular data files (Schoier et al. 2005, A&A 432, 369): levels, radiative transitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cassis_lite.constants import CM1_TO_K, CM1_TO_MHZ


@dataclass
class Lines:
    freq_mhz: np.ndarray
    aij: np.ndarray
    eup_k: np.ndarray
    gup: np.ndarray
    elow_cm: np.ndarray

    def __len__(self):
        return self.freq_mhz.size

    def __getitem__(self, idx):
        return Lines(*(getattr(self, k)[idx] for k in ("freq_mhz", "aij", "eup_k", "gup", "elow_cm")))


def _gup(field: str) -> int:
    field = field.strip()
    if field and field[0].isalpha():  # values >= 1000 are written A0..Z9 (A = 10, B = 11, ...)
        return (ord(field[0].upper()) - ord("A") + 10) * 100 + int(field[1:])
    return int(field)


def read_cdms_cat(path, log10_q300: float) -> Lines:
    """Lines of a CDMS/JPL .cat file; A_ul computed from LGINT with log10 Q(300 K)."""
    freq, lgint, elow, gup = [], [], [], []
    for row in Path(path).read_text().splitlines():
        if len(row) < 55 or not row[:13].strip():
            continue
        freq.append(float(row[0:13]))
        lgint.append(float(row[21:29]))
        elow.append(float(row[31:41]))
        gup.append(_gup(row[41:44]))
    freq = np.array(freq)
    elow = np.array(elow)
    gup = np.array(gup, dtype=float)
    eup_cm = elow + freq / CM1_TO_MHZ
    t = 300.0
    boltz = np.exp(-elow * CM1_TO_K / t) - np.exp(-eup_cm * CM1_TO_K / t)
    smu2 = 10.0 ** np.array(lgint) * 10.0**log10_q300 * 24025.120666 / (freq * boltz)
    aij = 1.16395e-20 * freq**3 * smu2 / gup
    order = np.argsort(freq, kind="stable")
    return Lines(freq[order], aij[order], (eup_cm * CM1_TO_K)[order], gup[order], elow[order])


def read_cdms_partfunc(path, tag: int):
    """(temperatures_k ascending, log10 Q) for one tag of astroquery's CDMS ``partfunc.cat``."""
    lines = Path(path).read_text().splitlines()
    header = [c.strip() for c in lines[0].strip().strip("|").split("|")]
    temps = [float(h[h.index("(", 4) + 1 : -2]) for h in header[3:]]
    for row in lines[1:]:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if cells and cells[0] == str(tag):
            logq = np.array([float(c) for c in cells[3:]])
            t = np.array(temps)
            ok = np.isfinite(logq)
            order = np.argsort(t[ok])
            return t[ok][order], logq[ok][order]
    raise KeyError(tag)


def loglog_q(temps_k, log10_q):
    """Q(T) by linear interpolation of log10 Q in log10 T (CASSIS's convention)."""
    lt = np.log10(temps_k)

    def q(tex_k):
        return 10.0 ** np.interp(np.log10(tex_k), lt, log10_q)

    return q


@dataclass
class LamdaMolecule:
    name: str
    level_energy_cm: np.ndarray  # indexed by level number - 1
    level_g: np.ndarray
    upper: np.ndarray  # level numbers (1-based)
    lower: np.ndarray
    aij: np.ndarray
    freq_ghz_file: np.ndarray

    def partition_function(self, tex_k: float) -> float:
        """Q(T) as RADEX's LTE populations see it: sum over the file's levels."""
        return float(np.sum(self.level_g * np.exp(-self.level_energy_cm * CM1_TO_K / tex_k)))

    def lines(self) -> Lines:
        """Lines with frequencies from the level energies (what RADEX uses in its physics)."""
        eu = self.level_energy_cm[self.upper - 1]
        el = self.level_energy_cm[self.lower - 1]
        freq = (eu - el) * CM1_TO_MHZ
        return Lines(freq, self.aij.copy(), eu * CM1_TO_K, self.level_g[self.upper - 1].copy(), el)


def read_lamda(path) -> LamdaMolecule:
    rows = [r for r in Path(path).read_text().splitlines()]
    it = iter(rows)

    def data_row():
        for r in it:
            if r.strip() and not r.lstrip().startswith("!"):
                return r
        raise ValueError("truncated LAMDA file")

    name = data_row().strip()
    data_row()  # molecular weight
    nlev = int(data_row().split()[0])
    energy, g = np.empty(nlev), np.empty(nlev)
    for i in range(nlev):
        parts = data_row().split()
        energy[i], g[i] = float(parts[1]), float(parts[2])
    nrad = int(data_row().split()[0])
    up, low, a, f = (np.empty(nrad, dtype=int), np.empty(nrad, dtype=int), np.empty(nrad), np.empty(nrad))
    for i in range(nrad):
        parts = data_row().split()
        up[i], low[i], a[i], f[i] = int(parts[1]), int(parts[2]), float(parts[3]), float(parts[4])
    return LamdaMolecule(name, energy, g, up, low, a, f)


