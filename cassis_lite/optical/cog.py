"""Equivalent width of a Voigt line and the curve of growth.

The rest-frame equivalent width of one line (no instrument: the LSF conserves it) is

    W = int (1 - exp(-K H(a, u))) dlambda = lambda_0 (b / c) int (1 - exp(-K H(a, u))) / (1 + u b / c)^2 du

with K, a and u as in :mod:`~cassis_lite.optical.absorption` (u in frequency, lambda =
lambda_0 / (1 + u b / c)). It is integrated by 20-point Gauss-Legendre on segments of 0.25
Doppler widths out to |u| = 8, then on segments growing by 1.5 out to the u where tau < 1e-12
(H < 1e-12 for a weak line; or |u| b / c = 0.5), plus the Lorentz tail K a / (sqrt(pi) |u|) beyond: relative accuracy
better than 1e-8 from the linear part (W = pi e^2 / (m_e c^2) N f lambda_0^2) through the flat
part to the damping wings (W = sqrt(4 pi K a / sqrt(pi)) lambda_0 b / c for K a >> 1).

The curve of growth is W(N) for a set of b; :func:`fit_curve_of_growth` fits log10 N and b to
the equivalent widths of several lines of one ion (weighted least squares, the fit machinery of
:mod:`cassis_lite.fitting.parameters`) and places the lines on it: log10(W / lambda) against
log10(N f lambda[A]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.constants import C_LIGHT_KMS, PI_E2_MC2
from cassis_lite.errors import OpticalError
from cassis_lite.fitting.parameters import FitResult, Parameters, least_squares_fit
from cassis_lite.optical.absorption import line_constants
from cassis_lite.optical.faddeeva import voigt_h
from cassis_lite.optical.lines import AbsorptionLines, nearest_line

_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)
_SQRT_PI = math.sqrt(math.pi)
#: optical depth below which the line wing is integrated analytically (Lorentz tail)
TAU_TAIL = 1e-12


def _segment_edges(k: float, a: float, beta: float) -> tuple[np.ndarray, float]:
    """Segment edges in |u| (0 to U) and U."""
    k = max(k, 1.0)  # weak lines: H < TAU_TAIL, so that the tail's 1 / u^2 law is exact enough
    u_tau = max(math.sqrt(math.log(k / TAU_TAIL)), math.sqrt(2.0 * k * a / (_SQRT_PI * TAU_TAIL)), 8.0)
    u_end = min(u_tau, 0.5 / beta)
    edges = list(np.arange(0.0, min(8.0, u_end) + 1e-12, 0.25))
    while edges[-1] < u_end:
        edges.append(min(edges[-1] * 1.5, u_end))
    return np.asarray(edges), u_end


def line_equivalent_width_ma(wrest_a: float, f_osc: float, gamma_s: float, logn_cm2: float,
                             b_kms: float) -> float:
    """Rest-frame equivalent width (mA) of one Voigt line (formula in the module docstring).

    Parameters
    ----------
    wrest_a : float
        Vacuum rest wavelength, A.
    f_osc : float
        Oscillator strength.
    gamma_s : float
        Damping constant, s^-1.
    logn_cm2 : float
        log10 column density (cm^-2).
    b_kms : float
        Doppler parameter, km/s.
    """
    line = AbsorptionLines(wrest_a, f_osc, gamma_s, logn_cm2, b_kms, 0.0, "", 0)
    _, k, a = line_constants(line)
    k, a = float(k[0]), float(a[0])
    beta = b_kms / C_LIGHT_KMS
    edges, u_end = _segment_edges(k, a, beta)
    mid, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * np.diff(edges)
    u = (mid[:, None] + half[:, None] * _GL_X[None, :]).ravel()
    w = (half[:, None] * _GL_W[None, :]).ravel()
    depth = -np.expm1(-k * voigt_h(a, u))
    jacobian = 1.0 / (1.0 + u * beta) ** 2 + 1.0 / (1.0 - u * beta) ** 2  # both sides of the centre
    integral = float(np.sum(w * depth * jacobian))
    integral += 2.0 * k * a / (_SQRT_PI * u_end) if u_end < 0.5 / beta else 0.0  # Lorentz tail
    return wrest_a * beta * integral * 1e3


def equivalent_width_ma(ion: str, wrest_a: float, logn_cm2, b_kms, db=None):
    """Rest-frame equivalent width (mA) of the catalogue line of ``ion`` nearest ``wrest_a``.

    Parameters
    ----------
    ion : str
        Ion as the line database names it (``"C IV"``).
    wrest_a : float
        Vacuum rest wavelength (A), within 1 A of a catalogue line (``1548.2`` for C IV 1548.204).
    logn_cm2 : float or array
        log10 of the column density N (cm^-2).
    b_kms : float or array
        Doppler parameter b (km/s), broadcast against ``logn_cm2``.
    db : LineDatabase, optional
        Default: the bundled database.

    Returns
    -------
    float or ndarray
        W (mA); the weak-line limit is pi e^2 / (m_e c^2) N f lambda_0^2.
    """
    line = nearest_line(db, ion, wrest_a)
    logn, b = np.broadcast_arrays(np.asarray(logn_cm2, dtype=float), np.asarray(b_kms, dtype=float))
    if not (np.all(np.isfinite(logn)) and np.all(np.isfinite(b))) or np.any(b <= 0):
        raise OpticalError("log N must be finite and b > 0 km/s")
    ew = np.array([line_equivalent_width_ma(line["wave_vac_a"], line["f_osc"], line["gamma_s"], n, bb)
                   for n, bb in zip(logn.ravel(), b.ravel())]).reshape(logn.shape)
    return float(ew) if ew.ndim == 0 else ew


def weak_line_ew_ma(wrest_a: float, f_osc: float, logn_cm2) -> np.ndarray:
    """Linear part of the curve of growth: W = pi e^2 / (m_e c^2) N f lambda_0^2 (mA)."""
    return PI_E2_MC2 * 1e2 * 10.0 ** np.asarray(logn_cm2, dtype=float) * f_osc * (wrest_a * 1e-8) ** 2 * 1e11


@dataclass
class CurveOfGrowth:
    """W (mA, rest frame) of one line on a grid: ``ew_ma[i, j]`` for ``b_kms[i]`` and ``logn_cm2[j]``."""

    ion: str
    wrest_a: float
    f_osc: float
    gamma_s: float
    logn_cm2: np.ndarray
    b_kms: np.ndarray
    ew_ma: np.ndarray

    def records(self) -> list[dict]:
        """One ``{logn_cm2, b_kms, ew_ma}`` per grid point, b outer, N inner."""
        return [{"logn_cm2": float(n), "b_kms": float(b), "ew_ma": float(self.ew_ma[i, j])}
                for i, b in enumerate(self.b_kms) for j, n in enumerate(self.logn_cm2)]


def curve_of_growth(ion: str, wrest_a: float, logn_cm2, b_kms, db=None) -> CurveOfGrowth:
    """Equivalent widths of the line of ``ion`` nearest ``wrest_a`` (vacuum, A) for every b
    (km/s) and log10 N (cm^-2) of the grids given."""
    line = nearest_line(db, ion, wrest_a)
    logn = np.atleast_1d(np.asarray(logn_cm2, dtype=float))
    b = np.atleast_1d(np.asarray(b_kms, dtype=float))
    ew = equivalent_width_ma(ion, wrest_a, logn[None, :], b[:, None], db=db)
    return CurveOfGrowth(line["species"], line["wave_vac_a"], line["f_osc"], line["gamma_s"], logn, b,
                         np.atleast_2d(ew))


@dataclass
class CurveOfGrowthFit:
    """Column density and b of one ion from the equivalent widths of several of its lines.

    ``fit`` holds ``logn_cm2`` and ``b_kms`` with their 1-sigma errors and the reduced chi-square;
    ``lines`` the catalogue data of each line; ``x`` = log10(N f lambda[A]) at the fitted N and
    ``y`` = log10(W / lambda) (measured) with ``y_err``, the measured lines placed on the curve;
    ``curve_x``, ``curve_y`` the fitted curve (b fitted, damping of the line of largest f lambda)."""

    ion: str
    fit: FitResult
    lines: list[dict]
    ew_ma: np.ndarray
    ew_err_ma: np.ndarray
    model_ew_ma: np.ndarray
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    y_err: np.ndarray = field(repr=False)
    curve_x: np.ndarray = field(repr=False)
    curve_y: np.ndarray = field(repr=False)

    @property
    def logn_cm2(self) -> float:
        return self.fit.params["logn_cm2"].value

    @property
    def b_kms(self) -> float:
        return self.fit.params["b_kms"].value

    def report(self) -> str:
        return f"{self.ion}: " + self.fit.report().replace("\n", f"\n{self.ion}: ")

    def to_dict(self) -> dict:
        d = self.fit.to_dict()
        d["ion"] = self.ion
        d["lines"] = [{"wrest_a": ln["wave_vac_a"], "f_osc": ln["f_osc"], "ew_ma": float(e), "ew_err_ma": float(s),
                       "model_ew_ma": float(m), "x": float(x), "y": float(y), "y_err": float(ye)}
                      for ln, e, s, m, x, y, ye in zip(self.lines, self.ew_ma, self.ew_err_ma, self.model_ew_ma,
                                                       self.x, self.y, self.y_err)]
        d["curve"] = {"x": self.curve_x.tolist(), "y": self.curve_y.tolist()}
        return d


def fit_curve_of_growth(ion: str, wrest_a, ew_ma, ew_err_ma, logn_start: float | None = None,
                        b_start_kms: float = 10.0, db=None) -> CurveOfGrowthFit:
    """Fit log10 N and b of ``ion`` to measured rest-frame equivalent widths of several of its lines.

    Parameters
    ----------
    ion : str
    wrest_a : list of float
        Vacuum rest wavelengths (A), each within 1 A of a catalogue line of the ion.
    ew_ma, ew_err_ma : list of float
        Rest-frame equivalent widths and their 1-sigma errors, mA.
    logn_start : float, optional
        Start value of log10 N (default: the weak-line N of the line with the largest W / (f lambda^2)).
    b_start_kms : float
        Start value of b.

    Returns
    -------
    CurveOfGrowthFit
    """
    lines = [nearest_line(db, ion, w) for w in np.atleast_1d(np.asarray(wrest_a, dtype=float))]
    ew = np.asarray(ew_ma, dtype=float).ravel()
    err = np.asarray(ew_err_ma, dtype=float).ravel()
    if not (ew.size == err.size == len(lines)):
        raise OpticalError(f"{len(lines)} lines but {ew.size} equivalent widths and {err.size} errors")
    if len(lines) < 2:
        raise OpticalError("a curve-of-growth fit of N and b needs at least 2 lines")
    if not (np.all(np.isfinite(ew)) and np.all(np.isfinite(err)) and np.all(err > 0) and np.all(ew > 0)):
        raise OpticalError("equivalent widths must be > 0 and their errors > 0 (finite)")

    def model(logn: float, b: float) -> np.ndarray:
        return np.array([line_equivalent_width_ma(ln["wave_vac_a"], ln["f_osc"], ln["gamma_s"], logn, b)
                         for ln in lines])

    if logn_start is None:
        weak = [math.log10(e / weak_line_ew_ma(ln["wave_vac_a"], ln["f_osc"], 0.0)) for e, ln in zip(ew, lines)]
        logn_start = max(weak)
    params = Parameters()
    params.add("logn_cm2", float(logn_start), min=0.0, max=25.0, unit="log cm-2")
    params.add("b_kms", float(b_start_kms), min=0.1, max=500.0, unit="km/s")
    result = least_squares_fit(lambda p: (ew - model(p["logn_cm2"], p["b_kms"])) / err, params)
    logn, b = result.params["logn_cm2"].value, result.params["b_kms"].value
    wl = np.array([ln["wave_vac_a"] for ln in lines])
    fl = np.array([ln["f_osc"] for ln in lines])
    x = logn + np.log10(fl * wl)
    y = np.log10(ew * 1e-3 / wl)
    strongest = lines[int(np.argmax(fl * wl))]
    curve_logn = np.linspace(x.min() - 2.0, x.max() + 2.0, 81) - math.log10(strongest["f_osc"] * strongest["wave_vac_a"])
    curve_ew = np.array([line_equivalent_width_ma(strongest["wave_vac_a"], strongest["f_osc"], strongest["gamma_s"],
                                                  n, b) for n in curve_logn])
    return CurveOfGrowthFit(lines[0]["species"], result, lines, ew, err, model(logn, b), x, y,
                            err / (ew * math.log(10.0)),
                            curve_logn + math.log10(strongest["f_osc"] * strongest["wave_vac_a"]),
                            np.log10(curve_ew * 1e-3 / strongest["wave_vac_a"]))
