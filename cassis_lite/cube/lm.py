"""Levenberg-Marquardt for many independent least-squares problems at once (one per pixel).

Each pixel p minimises chi2_p(u) = sum_i r_pi(u)^2 over its own K parameters u (bounded,
lo <= u <= hi). One call of ``residual(u, rows)`` evaluates the residuals of the pixels
``rows`` at their parameters ``u`` (len(rows), K) -> (len(rows), M): every step is array
arithmetic over the pixels still iterating.

Step (Marquardt 1963; Press et al., Numerical Recipes, sect. 15.5): J the Jacobian (forward
differences), (J^T J + lambda diag(J^T J)) du = -J^T r; a parameter at a bound whose gradient
points outwards is held (projected step); a step that lowers chi2 is taken and lambda divided by
10, else lambda is multiplied by 10. A pixel stops when an accepted step lowers chi2 by less
than ``ftol`` relatively or is below ``xtol`` (|du| <= xtol (|u| + xtol)), SciPy's tests, or
when lambda exceeds 1e12.

At the solution, as :func:`cassis_lite.fitting.parameters.least_squares_fit`: the Jacobian by
central differences (steps 1e-6 max(|u|, 1), one-sided at a bound), one Gauss-Newton polish step
kept if it lowers chi2, and the covariance (J^T J)^-1 chi2_red from the SVD of J (None, i.e.
NaN errors, when J is degenerate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LmResult:
    u: np.ndarray  # (P, K) solution
    chisqr: np.ndarray  # (P,)
    covar: np.ndarray  # (P, K, K) covariance of u, scaled by chi2_red; NaN when undetermined
    nfev: int  # model evaluations (each over a set of pixels)
    iterations: np.ndarray  # (P,)
    converged: np.ndarray  # (P,) bool


def _chi2(r):
    return np.einsum("pm,pm->p", r, r)


def _forward_jacobian(residual, u, r, rows, lo, hi, rel_step=1e-7):
    P, K = u.shape
    jac = np.empty((P, r.shape[1], K))
    for k in range(K):
        h = rel_step * np.maximum(np.abs(u[:, k]), 1.0)
        h = np.where(u[:, k] + h <= hi[k], h, -h)
        up = u.copy()
        up[:, k] += h
        jac[:, :, k] = (residual(up, rows) - r) / h[:, None]
    return jac


def central_jacobian(residual, u, r, rows, lo, hi, rel_step=1e-6):
    """Central differences (one-sided where a bound is within the step), per pixel."""
    P, K = u.shape
    jac = np.empty((P, r.shape[1], K))
    for k in range(K):
        h = rel_step * np.maximum(np.abs(u[:, k]), 1.0)
        both = (u[:, k] + h <= hi[k]) & (u[:, k] - h >= lo[k])
        up_ok = u[:, k] + h <= hi[k]
        up, dn = u.copy(), u.copy()
        up[:, k] = np.where(up_ok, u[:, k] + h, u[:, k])
        dn[:, k] = np.where(both | ~up_ok, u[:, k] - h, u[:, k])
        r_up = residual(up, rows)
        r_dn = residual(dn, rows)
        span = (up[:, k] - dn[:, k])[:, None]
        jac[:, :, k] = (r_up - r_dn) / span
    return jac


def svd_covariance(jac: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """(J^T J)^-1 * factor per pixel via the SVD of J (NaN where J is degenerate)."""
    P, M, K = jac.shape
    out = np.full((P, K, K), np.nan)
    finite = np.all(np.isfinite(jac), axis=(1, 2))
    if not finite.any():
        return out
    _, s, vt = np.linalg.svd(jac[finite], full_matrices=False)
    threshold = np.finfo(float).eps * max(M, K) * s[:, :1]
    good = np.all(s > threshold, axis=1) & (s[:, 0] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = np.einsum("pki,pk,pkj->pij", vt, 1.0 / s**2, vt) * factor[finite][:, None, None]
    cov[~good] = np.nan
    out[finite] = cov
    return out


def _gauss_newton_step(jac, r):
    """Least-squares step -J^+ r per pixel (SVD; zero where J is degenerate)."""
    P, M, K = jac.shape
    step = np.zeros((P, K))
    finite = np.all(np.isfinite(jac), axis=(1, 2)) & np.all(np.isfinite(r), axis=1)
    if finite.any():
        u_, s, vt = np.linalg.svd(jac[finite], full_matrices=False)
        threshold = np.finfo(float).eps * max(M, K) * s[:, :1]
        inv = np.where(s > threshold, 1.0 / np.where(s > threshold, s, 1.0), 0.0)
        proj = np.einsum("pmk,pm->pk", u_, -r[finite]) * inv
        step[finite] = np.einsum("pkj,pk->pj", vt, proj)
    return step


def levenberg_marquardt(residual, u0: np.ndarray, lo: np.ndarray, hi: np.ndarray, ndata: np.ndarray, *,
                        max_iter: int = 200, ftol: float = 1e-8, xtol: float = 1e-8) -> LmResult:
    """Minimise every pixel's chi-square from ``u0`` (P, K) within [lo, hi] (K,); ``ndata`` (P,)
    are the numbers of residuals that count (for chi2_red = chi2 / (ndata - K))."""
    u = np.clip(np.array(u0, dtype=float), lo, hi)
    P, K = u.shape
    rows_all = np.arange(P)
    nfev = 0
    r = residual(u, rows_all)
    nfev += 1
    chi2 = _chi2(r)
    lam = np.full(P, 1e-3)
    iters = np.zeros(P, dtype=int)
    converged = np.zeros(P, dtype=bool)
    active = np.isfinite(chi2)
    jac = np.empty((P, r.shape[1], K))
    need_jac = active.copy()
    eye = np.eye(K)
    for _ in range(max_iter):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        jr = np.flatnonzero(need_jac & active)
        if jr.size:
            jac[jr] = _forward_jacobian(residual, u[jr], r[jr], jr, lo, hi)
            nfev += K
            need_jac[jr] = False
        J = jac[rows]
        A = np.einsum("pmi,pmj->pij", J, J)
        g = np.einsum("pmi,pm->pi", J, r[rows])
        ur = u[rows]
        held = ((ur <= lo) & (g > 0)) | ((ur >= hi) & (g < 0))
        d = np.einsum("pii->pi", A).copy()
        d = np.where(d > 0, d, 1.0)
        M = A + (lam[rows][:, None] * d)[:, :, None] * eye
        keep = ~held
        M = M * (keep[:, :, None] & keep[:, None, :]) + eye * held[:, None, :] * d[:, None, :]
        g = np.where(held, 0.0, g)
        try:
            step = -np.linalg.solve(M, g[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = -np.einsum("pij,pj->pi", np.linalg.pinv(M), g)
        u_new = np.clip(ur + step, lo, hi)
        r_new = residual(u_new, rows)
        nfev += 1
        chi2_new = _chi2(r_new)
        better = np.isfinite(chi2_new) & (chi2_new < chi2[rows])
        small_step = np.all(np.abs(u_new - ur) <= xtol * (np.abs(ur) + xtol), axis=1)
        small_gain = (chi2[rows] - chi2_new) <= ftol * chi2[rows]
        acc = rows[better]
        iters[rows] += 1
        done_acc = better & (small_gain | small_step)  # scipy's ftol / xtol tests
        u[acc] = u_new[better]
        r[acc] = r_new[better]
        chi2[acc] = chi2_new[better]
        lam[acc] = np.maximum(lam[acc] / 10.0, 1e-12)
        need_jac[acc] = True
        rej = rows[~better]
        lam[rej] *= 10.0
        # a rejected step this small (or no room left) means the minimum is reached
        done_rej = ~better & (small_step | (lam[rows] > 1e12))
        finished = rows[done_acc | done_rej]
        converged[finished] = True
        active[finished] = False
    # polish and covariance at the solution
    ok = np.flatnonzero(np.isfinite(chi2))
    covar = np.full((P, K, K), np.nan)
    if ok.size:
        jc = central_jacobian(residual, u[ok], r[ok], ok, lo, hi)
        nfev += 2 * K
        u_p = np.clip(u[ok] + _gauss_newton_step(jc, r[ok]), lo, hi)
        r_p = residual(u_p, ok)
        nfev += 1
        chi2_p = _chi2(r_p)
        better = np.isfinite(chi2_p) & (chi2_p < chi2[ok])
        if better.any():
            b = ok[better]
            u[b], r[b], chi2[b] = u_p[better], r_p[better], chi2_p[better]
            jc[better] = central_jacobian(residual, u[b], r[b], b, lo, hi)
            nfev += 2 * K
        dof = ndata[ok] - K
        redchi = np.where(dof > 0, chi2[ok] / np.where(dof > 0, dof, 1), np.nan)
        covar[ok] = svd_covariance(jc, redchi)
    return LmResult(u, chi2, covar, nfev, iters, converged)
