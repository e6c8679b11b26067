"""Fit parameters (value, vary, bounds, tie) mapped onto :func:`scipy.optimize.least_squares`.

Modelled on ``lmfit.Parameters``: each :class:`Parameter` is fixed (``vary=False``), free, or
free within ``[min, max]``, or tied to another parameter (``expr="c1_fwhm"``: same value);
``log=True`` fits log10 of a positive parameter (column densities, as CASSIS does), its error
then being the linear propagation N ln(10) sigma(log10 N).
:func:`least_squares_fit` minimises ``sum(residual(values)**2)`` over the free parameters and
returns 1-sigma uncertainties from the covariance

    C = (J^T J)^-1 * chi2_red,       chi2_red = sum(r^2) / (n_data - n_free)

with J the Jacobian of the (weighted) residual at the solution, as ``lmfit`` does by default
(``scale_covar=True``; Press et al., *Numerical Recipes*, sect. 15.5). Internally each free
parameter is divided by a scale (its starting magnitude), so that a column density of 1e16 and a
velocity of 3 km/s are equally well conditioned; the scaling is linear, so the covariance is
mapped back exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from cassis_lite.errors import CassisError


class ParameterError(CassisError):
    """A fit parameter is badly specified (bounds, start value, tie)."""


class FitError(CassisError):
    """A fit could not be run or did not produce a usable result."""


@dataclass
class Parameter:
    """One fit parameter. ``stderr`` is set by a fit (None when fixed or undetermined)."""

    name: str
    value: float
    vary: bool = True
    min: float = -math.inf
    max: float = math.inf
    expr: str | None = None
    unit: str = ""
    stderr: float | None = None
    at_bound: bool = False
    log: bool = False  # fitted as log10(value): for quantities spanning decades (N_tot)

    def __post_init__(self) -> None:
        self.value = float(self.value)
        self.min = -math.inf if self.min is None else float(self.min)
        self.max = math.inf if self.max is None else float(self.max)
        if not math.isfinite(self.value):
            raise ParameterError(f"parameter {self.name}: value {self.value} is not finite")
        if self.min > self.max:
            raise ParameterError(f"parameter {self.name}: min {self.min:g} > max {self.max:g}")
        if self.vary and self.expr is None and not (self.min <= self.value <= self.max):
            raise ParameterError(
                f"parameter {self.name}: start value {self.value:g} outside [{self.min:g}, {self.max:g}]"
            )
        if self.log and self.vary and self.expr is None and not self.value > 0:
            raise ParameterError(f"parameter {self.name}: fitted in log, its start value must be > 0 "
                                 f"(got {self.value:g})")

    @property
    def free(self) -> bool:
        return self.vary and self.expr is None

    def to_dict(self) -> dict:
        d = {"value": self.value, "vary": self.vary, "stderr": self.stderr}
        if math.isfinite(self.min):
            d["min"] = self.min
        if math.isfinite(self.max):
            d["max"] = self.max
        if self.expr:
            d["expr"] = self.expr
        if self.unit:
            d["unit"] = self.unit
        if self.at_bound:
            d["at_bound"] = True
        return d


class Parameters(dict):
    """Ordered mapping name -> :class:`Parameter` (insertion order is the report order)."""

    def add(self, name: str, value: float, vary: bool = True, min: float | None = None,
            max: float | None = None, expr: str | None = None, unit: str = "",
            log: bool = False) -> Parameter:
        p = Parameter(name, value, vary, -math.inf if min is None else min,
                      math.inf if max is None else max, expr, unit, log=log)
        self[name] = p
        return p

    def free_names(self) -> list[str]:
        return [n for n, p in self.items() if p.free]

    def valuesdict(self) -> dict[str, float]:
        return {n: p.value for n, p in self.items()}

    def resolve_ties(self) -> None:
        """Copy the value of the parameter named in ``expr`` (one level of tie, checked)."""
        for name, p in self.items():
            if p.expr is not None:
                if p.expr not in self:
                    raise ParameterError(f"parameter {name}: tied to unknown parameter {p.expr!r}")
                target = self[p.expr]
                if target.expr is not None:
                    raise ParameterError(f"parameter {name}: tied to {p.expr}, itself tied")
                p.value = target.value

    def copy(self) -> "Parameters":
        out = Parameters()
        for n, p in self.items():
            out[n] = Parameter(p.name, p.value, p.vary, p.min, p.max, p.expr, p.unit, p.stderr,
                               p.at_bound, p.log)
        return out


@dataclass
class FitResult:
    """Result of :func:`least_squares_fit`."""

    params: Parameters
    chisqr: float
    redchi: float
    ndata: int
    nfree: int
    nfev: int
    success: bool
    message: str
    covar: np.ndarray | None
    var_names: list[str]
    residual: np.ndarray = field(repr=False)

    def correl(self, a: str, b: str) -> float | None:
        if self.covar is None:
            return None
        i, j = self.var_names.index(a), self.var_names.index(b)
        d = math.sqrt(self.covar[i, i] * self.covar[j, j])
        return float(self.covar[i, j] / d) if d > 0 else None

    def report(self) -> str:
        """One line per parameter, as CASSIS's multi-fit prints them."""
        lines = [format_parameter(p) for p in self.params.values()]
        lines.append(f"reduced chi-square = {self.redchi:.4g} (chi-square {self.chisqr:.4g}, "
                     f"{self.ndata} points, {self.nfree} free parameters)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "parameters": {n: p.to_dict() for n, p in self.params.items()},
            "chi2": self.chisqr, "reduced_chi2": self.redchi, "n_data": self.ndata,
            "n_free": self.nfree, "n_eval": self.nfev, "success": self.success,
            "message": self.message,
        }


def _decimals_for(err: float) -> int:
    """Decimals showing the first significant digit of ``err``."""
    return max(0, -int(math.floor(math.log10(err))))


def format_value_error(value: float, err: float | None) -> str:
    """``2.68 +/- 0.01 (0.39%)`` for ordinary magnitudes, ``2.26e+16 +/- 1.2e+14 (0.53%)`` else."""
    rel = ""
    if err is not None and math.isfinite(err) and value != 0:
        rel = f" ({100.0 * err / abs(value):.2f}%)"
    scientific = value != 0 and not (1e-3 <= abs(value) < 1e5)
    if err is None or not math.isfinite(err) or err <= 0:
        v = f"{value:.4e}" if scientific else f"{value:.6g}"
        e = "nan" if err is None or not math.isfinite(err) else f"{err:g}"
        return f"{v} +/- {e}{rel}"
    if scientific:
        exp = int(math.floor(math.log10(abs(value))))
        digits = max(1, min(8, exp - int(math.floor(math.log10(err))) + 1))
        return f"{value:.{digits}e} +/- {err:.2g}{rel}".replace("e+0", "e+").replace("e-0", "e-")
    dec = min(8, _decimals_for(err))
    return f"{value:.{dec}f} +/- {err:.{dec}f}{rel}"


def format_parameter(p: Parameter) -> str:
    """``c1_vlsr = 2.68 +/- 0.01 (0.39%)`` (CASSIS's multi-fit line; units are in the names'
    conventions: K, km/s, arcsec, cm-2), ``(fixed)``, ``(= other)`` or ``(at bound)``."""
    if p.expr is not None:
        return f"{p.name} = {p.value:.6g} (= {p.expr})"
    if not p.vary:
        return f"{p.name} = {p.value:.6g} (fixed)"
    flag = " (at bound)" if p.at_bound else ""
    return f"{p.name} = {format_value_error(p.value, p.stderr)}{flag}"


def least_squares_fit(residual: Callable[[dict[str, float]], np.ndarray], params: Parameters,
                      *, max_nfev: int | None = None, xtol: float = 1e-10, ftol: float = 1e-10,
                      gtol: float = 1e-10, diff_step: float | None = None,
                      scale_covar: bool = True) -> FitResult:
    """Minimise ``sum(residual(values)**2)`` over the free parameters of ``params``.

    ``residual`` receives a dict name -> value (ties resolved) and returns the weighted
    residual vector ``(data - model) / sigma``. Returns a :class:`FitResult` holding a copy of
    ``params`` with best values and ``stderr`` set.
    """
    from scipy.optimize import least_squares  # SciPy only when a fit is asked for

    work = params.copy()
    work.resolve_ties()
    names = work.free_names()
    if not names:
        raise FitError("no free parameter: set vary=true on at least one")
    p0 = np.array([work[n].value for n in names])
    is_log = np.array([work[n].log for n in names], dtype=bool)
    scale = np.where(p0 != 0, np.abs(p0), 1.0)
    pmin = np.array([work[n].min for n in names])
    pmax = np.array([work[n].max for n in names])
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.where(is_log, np.where(pmin > 0, np.log10(np.where(pmin > 0, pmin, 1.0)), -np.inf), pmin / scale)
        hi = np.where(is_log, np.log10(np.where(pmax > 0, pmax, 1.0)), pmax / scale)
        u0 = np.where(is_log, np.log10(np.where(is_log, p0, 1.0)), p0 / scale)
    nfev = 0

    def physical(u: np.ndarray) -> np.ndarray:
        return np.where(is_log, 10.0 ** np.where(is_log, u, 0.0), u * scale)

    def values_at(u: np.ndarray) -> dict[str, float]:
        for n, x in zip(names, physical(u)):
            work[n].value = float(x)
        work.resolve_ties()
        return work.valuesdict()

    def fun(u: np.ndarray) -> np.ndarray:
        nonlocal nfev
        nfev += 1
        r = np.asarray(residual(values_at(u)), dtype=float)
        if not np.all(np.isfinite(r)):
            # an unphysical trial point: push the solver away instead of crashing
            r = np.where(np.isfinite(r), r, 1e10)
        return r

    r0 = fun(u0)
    if r0.size < len(names):
        raise FitError(f"{r0.size} data points for {len(names)} free parameters: "
                       "widen the fit windows or fix parameters")
    bounded = bool(np.any(np.isfinite(lo)) or np.any(np.isfinite(hi)))
    res = least_squares(fun, u0, bounds=(lo, hi), method="trf" if bounded else "lm",
                        x_scale=1.0, xtol=xtol, ftol=ftol, gtol=gtol,
                        max_nfev=max_nfev, diff_step=diff_step)
    u, r = res.x, fun(res.x)
    jac = _central_jacobian(fun, u, r, lo, hi)
    # one Gauss-Newton polish step with that Jacobian: the minimiser stops when chi-square
    # changes by < ftol, which leaves the last digits of the parameters to rounding (CPython
    # and Pyodide then differ at ~1e-7); after it they agree to ~1e-10
    if np.all(np.isfinite(jac)):
        step = np.linalg.lstsq(jac, -r, rcond=None)[0]
        u_new = np.clip(u + step, lo, hi)
        r_new = fun(u_new)
        if np.all(np.isfinite(r_new)) and np.sum(r_new**2) < np.sum(r**2):
            u, r = u_new, r_new
            jac = _central_jacobian(fun, u, r, lo, hi)
    values_at(u)
    chisqr = float(np.sum(r**2))
    ndata, k = r.size, len(names)
    redchi = chisqr / (ndata - k) if ndata > k else float("nan")
    covar = _covariance(jac, redchi if scale_covar and ndata > k else 1.0)
    # d value / d u at the solution: errors of log-fitted parameters by linear propagation
    deriv = np.where(is_log, physical(u) * math.log(10.0), scale)
    for i, n in enumerate(names):
        p = work[n]
        p.at_bound = bool(np.isclose(u[i], lo[i], rtol=1e-9, atol=1e-12)
                          or np.isclose(u[i], hi[i], rtol=1e-9, atol=1e-12))
        if covar is not None and covar[i, i] >= 0:
            p.stderr = float(math.sqrt(covar[i, i]) * deriv[i])
    for p in work.values():  # tied parameters inherit their target's uncertainty
        if p.expr is not None:
            p.stderr = work[p.expr].stderr
    phys_cov = None if covar is None else covar * np.outer(deriv, deriv)
    return FitResult(work, chisqr, redchi, ndata, k, nfev, bool(res.success), str(res.message),
                     phys_cov, names, r)


def _central_jacobian(fun, u: np.ndarray, r0: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                      rel_step: float = 1e-6) -> np.ndarray:
    """Jacobian of the residual at the solution by central differences (one-sided at a bound).

    Recomputed here rather than taken from the minimiser, whose last Jacobian is a forward
    difference at a slightly different point: the errors then depend only on the solution
    (same numbers in CPython and Pyodide to ~1e-7) and are second-order accurate.
    """
    jac = np.empty((r0.size, u.size))
    for i in range(u.size):
        h = rel_step * max(abs(u[i]), 1.0)
        up, dn = u.copy(), u.copy()
        if u[i] + h <= hi[i] and u[i] - h >= lo[i]:
            up[i] += h
            dn[i] -= h
            jac[:, i] = (fun(up) - fun(dn)) / (2 * h)
        elif u[i] + h <= hi[i]:
            up[i] += h
            jac[:, i] = (fun(up) - r0) / h
        else:
            dn[i] -= h
            jac[:, i] = (r0 - fun(dn)) / h
    return jac


def _covariance(jac: np.ndarray, factor: float) -> np.ndarray | None:
    """(J^T J)^-1 * factor via the SVD of J (as scipy's curve_fit), None if J is degenerate."""
    jac = np.asarray(jac, dtype=float)
    if not np.all(np.isfinite(jac)):
        return None
    _, s, vt = np.linalg.svd(jac, full_matrices=False)
    threshold = np.finfo(float).eps * max(jac.shape) * (s[0] if s.size else 0.0)
    if s.size == 0 or np.any(s <= threshold):
        return None
    return (vt.T / s**2) @ vt * factor


def parameter_label(text) -> str:
    """A parameter-name-safe label of a species or ion name: ``CH3OH, vt=0-2`` -> ``CH3OH_vt_0_2``,
    ``C IV`` -> ``C_IV``; tags stay digits (``c1_ntot_28503``)."""
    import re

    return re.sub(r"[^A-Za-z0-9+]+", "_", str(text).strip()).strip("_")


def parameters_from_spec(items: Iterable[tuple], log_names: Iterable[str] = ()) -> Parameters:
    """Build :class:`Parameters` from ``(name, spec, unit)`` where spec is a number (fixed) or a
    dict ``{"value", "vary", "min", "max", "expr", "log"}`` (``vary`` defaults to true; ``log``
    defaults to true for the names in ``log_names``)."""
    params = Parameters()
    log_names = set(log_names)
    for name, spec, unit in items:
        if isinstance(spec, dict):
            unknown = set(spec) - {"value", "vary", "min", "max", "expr", "log"}
            if unknown:
                raise ParameterError(f"parameter {name}: unknown key(s) {sorted(unknown)}")
            if "value" not in spec and not spec.get("expr"):
                raise ParameterError(f"parameter {name}: no 'value'")
            try:
                params.add(name, float(spec.get("value", 0.0)), bool(spec.get("vary", True)),
                           spec.get("min"), spec.get("max"), spec.get("expr"), unit,
                           bool(spec.get("log", name in log_names)))
            except (TypeError, ValueError) as exc:
                raise ParameterError(f"parameter {name}: {exc}") from None
        else:
            try:
                params.add(name, float(spec), False, unit=unit)
            except (TypeError, ValueError):
                raise ParameterError(f"parameter {name}: {spec!r} is not a number") from None
    return params
