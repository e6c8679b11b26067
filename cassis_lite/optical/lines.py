"""Absorption lines of a system: the small structure of arrays :func:`voigt_flux` takes, and its
construction from absorption components and the line database (Morton 2003 resonance lines).

One row per (component, transition): the catalogue's vacuum rest wavelength, oscillator strength
and damping constant, with the component's column density (log10 N of the ion), Doppler parameter
b and velocity. A line with no damping constant in the catalogue gets Gamma = A_ul (its own
Einstein coefficient, a lower bound of the upper level's total decay rate; for a resonance line
whose upper level decays only to the ground term they are equal).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from cassis_lite.constants import C_LIGHT_KMS
from cassis_lite.errors import OpticalError, UnknownLineError

#: rest-wavelength distance within which a catalogue line answers a request "near wrest", A
NEAR_LINE_A = 1.0


@dataclass
class AbsorptionLines:
    """Lines to compute, one row per (component, transition); all arrays of equal length.

    Attributes
    ----------
    wrest_a : ndarray
        Vacuum rest wavelength, A.
    f_osc : ndarray
        Absorption oscillator strength.
    gamma_s : ndarray
        Damping constant Gamma (s^-1): the Lorentzian FWHM in angular frequency.
    logn_cm2 : ndarray
        log10 of the column density of the ion in that component (N in cm^-2).
    b_kms : ndarray
        Doppler parameter b = sqrt(2) sigma_v (km/s).
    v_kms : ndarray
        Velocity of the component in the rest frame of the system (km/s): the line is observed at
        wrest (1 + z)(1 + v / c).
    ion : ndarray of str
        The ion's name in the database (``"C IV"``).
    component : ndarray of int
        Index of the component each row belongs to.
    """

    wrest_a: np.ndarray
    f_osc: np.ndarray
    gamma_s: np.ndarray
    logn_cm2: np.ndarray
    b_kms: np.ndarray
    v_kms: np.ndarray
    ion: np.ndarray
    component: np.ndarray

    def __post_init__(self):
        for f in fields(self):
            kind = str if f.name == "ion" else (int if f.name == "component" else float)
            setattr(self, f.name, np.atleast_1d(np.asarray(getattr(self, f.name), dtype=kind)))
        n = self.wrest_a.size
        if any(getattr(self, f.name).shape != (n,) for f in fields(self)):
            raise OpticalError("absorption lines: every array must have the same length")
        for name in ("wrest_a", "f_osc", "gamma_s", "logn_cm2", "b_kms", "v_kms"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise OpticalError(f"absorption lines: {name} has NaN or infinite values")
        if np.any(self.wrest_a <= 0) or np.any(self.f_osc < 0) or np.any(self.gamma_s < 0):
            raise OpticalError("absorption lines: wrest_a must be > 0, f_osc and gamma_s >= 0")
        if np.any(self.b_kms <= 0):
            raise OpticalError(f"absorption lines: b must be > 0 km/s (got {self.b_kms.min():g})")

    def __len__(self) -> int:
        return int(self.wrest_a.size)

    def __getitem__(self, item) -> "AbsorptionLines":
        return AbsorptionLines(**{f.name: getattr(self, f.name)[item] for f in fields(self)})

    @classmethod
    def concatenate(cls, parts: list["AbsorptionLines"]) -> "AbsorptionLines":
        if not parts:
            raise OpticalError("no absorption line")
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})

    def observed_a(self, redshift: float = 0.0) -> np.ndarray:
        """Observed vacuum wavelength of each line, A: wrest (1 + z)(1 + v / c)."""
        return self.wrest_a * (1.0 + redshift) * (1.0 + self.v_kms / C_LIGHT_KMS)


def database(db):
    """``db``, or the bundled line database when it is None."""
    if db is None:
        from cassis_lite.linedb import LineDatabase

        return LineDatabase()
    return db


def ion_line_data(db, ion: str, wmin_a: float | None = None, wmax_a: float | None = None) -> dict:
    """The catalogue lines of ``ion`` with vacuum rest wavelengths in [wmin_a, wmax_a] (A), with
    Gamma = A_ul where the catalogue gives no damping constant.

    Raises :class:`~cassis_lite.errors.UnknownSpeciesError` for an unknown ion and
    :class:`~cassis_lite.errors.UnknownLineError` when it has no line there."""
    data = database(db).absorption_lines(ion, wmin_a, wmax_a)
    if data["wave_vac_a"].size == 0:
        where = "" if wmin_a is None else f" between {wmin_a:.2f} and {wmax_a:.2f} A (vacuum, rest frame)"
        raise UnknownLineError(f"{data['species']} has no absorption line in the database{where}")
    gamma = data["gamma_s"]
    data["gamma_s"] = np.where(np.isfinite(gamma), gamma, np.nan_to_num(data["aij"]))
    return data


def nearest_line(db, ion: str, wrest_a: float, tolerance_a: float = NEAR_LINE_A) -> dict:
    """The one catalogue line of ``ion`` nearest the vacuum rest wavelength ``wrest_a`` (A),
    within ``tolerance_a``: dict of floats ``wave_vac_a, f_osc, gamma_s, ...`` and ``species``."""
    if not np.isfinite(wrest_a) or wrest_a <= 0:
        raise OpticalError(f"rest wavelength must be a positive number, got {wrest_a!r}")
    try:
        data = ion_line_data(db, ion, wrest_a - tolerance_a, wrest_a + tolerance_a)
    except UnknownLineError:
        everything = ion_line_data(db, ion)
        near = everything["wave_vac_a"][np.argsort(np.abs(everything["wave_vac_a"] - wrest_a))[:3]]
        raise UnknownLineError(
            f"{everything['species']} has no line within {tolerance_a:g} A of {wrest_a:g} A (vacuum); "
            f"nearest: {', '.join(f'{w:.4f}' for w in sorted(near))} A") from None
    i = int(np.argmin(np.abs(data["wave_vac_a"] - wrest_a)))
    out = {k: float(v[i]) for k, v in data.items() if isinstance(v, np.ndarray)}
    out["species"] = data["species"]
    return out


@dataclass
class Component:
    """One absorption component: velocity (km/s, rest frame of the system), Doppler parameter b
    (km/s) and the log10 column density (N in cm^-2) of each ion, e.g.
    ``Component(-20.0, 8.0, {"C IV": 13.6, "Si IV": 12.9})``."""

    v_kms: float
    b_kms: float
    logn_cm2: dict


def system_lines(components, wmin_a: float, wmax_a: float, redshift: float = 0.0, db=None) -> AbsorptionLines:
    """Every catalogue line of the components' ions observed in [wmin_a, wmax_a] (vacuum, A) for a
    system at ``redshift``: the :class:`AbsorptionLines` of :func:`~cassis_lite.optical.voigt_flux`.

    Parameters
    ----------
    components : list of Component
    wmin_a, wmax_a : float
        Observed vacuum wavelength range, A.
    redshift : float
        Redshift z of the system.
    db : LineDatabase, optional
        Default: the bundled database.

    Raises
    ------
    UnknownSpeciesError
        An ion the database does not know.
    UnknownLineError
        An ion with no line in the range (for any of the components).
    """
    if not (np.isfinite(wmin_a) and np.isfinite(wmax_a) and wmax_a > wmin_a > 0):
        raise OpticalError(f"empty or invalid wavelength range [{wmin_a!r}, {wmax_a!r}] A")
    if not (np.isfinite(redshift) and redshift > -1):
        raise OpticalError(f"redshift must be > -1, got {redshift!r}")
    db = database(db)
    rows = []
    for ion in dict.fromkeys(ion for c in components for ion in c.logn_cm2):
        comps = [(j, c) for j, c in enumerate(components) if ion in c.logn_cm2]
        shifts = [(1.0 + redshift) * (1.0 + c.v_kms / C_LIGHT_KMS) for _, c in comps]
        rest_range = (wmin_a / max(shifts), wmax_a / min(shifts))
        try:
            data = ion_line_data(db, ion, *rest_range)
        except UnknownLineError:
            raise UnknownLineError(f"{ion} has no absorption line observed between {wmin_a:.2f} and "
                                   f"{wmax_a:.2f} A (vacuum) at z = {redshift:g}") from None
        for (j, c), shift in zip(comps, shifts):
            keep = (data["wave_vac_a"] * shift >= wmin_a) & (data["wave_vac_a"] * shift <= wmax_a)
            n = int(keep.sum())
            rows.append(AbsorptionLines(data["wave_vac_a"][keep], data["f_osc"][keep], data["gamma_s"][keep],
                                        np.full(n, float(c.logn_cm2[ion])), np.full(n, float(c.b_kms)),
                                        np.full(n, float(c.v_kms)), np.full(n, data["species"]), np.full(n, j)))
    return AbsorptionLines.concatenate(rows)
