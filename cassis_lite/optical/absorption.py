"""Voigt optical depth and normalised flux of absorption lines, convolved with the line spread
function.

For a line of vacuum rest wavelength lambda_0, oscillator strength f and damping constant Gamma,
in a component of column density N, Doppler parameter b and velocity v of a system at redshift
z (observed centre lambda_c = lambda_0 (1 + z)(1 + v / c)), the optical depth at observed
wavelength lambda is (Rybicki & Lightman 1979, eq. 10.70 and 10.77; Draine 2011, eq. 6.39)

    tau(lambda) = N (pi e^2 / m_e c) f lambda_0 / (sqrt(pi) b) H(a, u),
    u = (c / b)(lambda_c / lambda - 1),        a = Gamma lambda_0 / (4 pi b),

the Voigt function H in frequency (u = (nu - nu_0) / Delta nu_D in the line's rest frame,
Delta nu_D = b / lambda_0), as VPFIT and linetools do. Lines add their optical depths; the
normalised flux exp(-tau) is convolved with the line spread function (:func:`lsf_kernel`).

Each line is evaluated where it can reach tau > :data:`TAU_MIN` (its Doppler core
sqrt(ln(2 K / TAU_MIN)) and its Lorentz wings sqrt(2 K a / (sqrt(pi) TAU_MIN)) Doppler widths,
K = tau / H): the flux is then exact to 1e-7 per line.
"""

from __future__ import annotations

import math

import numpy as np

from cassis_lite.constants import C_LIGHT_KMS, FWHM_TO_SIGMA, PI_E2_MC
from cassis_lite.errors import OpticalError
from cassis_lite.optical.convolution import GaussianKernel, uniform_grid
from cassis_lite.optical.faddeeva import voigt_h
from cassis_lite.optical.lines import AbsorptionLines
from cassis_lite.units import air_to_vacuum

TAU_MIN = 1e-7
#: fraction of each line's window over which its optical depth is tapered to 0
TAPER = 0.3
#: the working grid resolves the narrowest line with this many points per Doppler parameter b
POINTS_PER_B = 6.0
_SQRT_PI = math.sqrt(math.pi)
#: pi e^2 / (m_e c) in cm^2 s^-1
_PI_E2_MC_CGS = PI_E2_MC * 1e4


def line_constants(lines: AbsorptionLines, redshift: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed centre (vacuum, A), K = tau / H(a, u) and the damping parameter a of each line."""
    b_cms = lines.b_kms * 1e5
    wrest_cm = lines.wrest_a * 1e-8
    k = 10.0 ** lines.logn_cm2 * _PI_E2_MC_CGS * lines.f_osc * wrest_cm / (_SQRT_PI * b_cms)
    a = lines.gamma_s * wrest_cm / (4.0 * math.pi * b_cms)
    return lines.observed_a(redshift), k, a


def _half_widths_u(k: np.ndarray, a: np.ndarray, beta_b: np.ndarray) -> np.ndarray:
    """Doppler widths from the centre beyond which tau < TAU_MIN (H <= e^-u^2 + a / (sqrt(pi) u^2),
    with a factor 2 of margin), at most to lambda_c / 1.5 and lambda_c / 0.5."""
    core = np.sqrt(np.log(np.maximum(2.0 * k / TAU_MIN, 1.0)))
    wings = np.sqrt(2.0 * k * a / (_SQRT_PI * TAU_MIN))
    return np.minimum(np.maximum(np.maximum(core, wings), 5.0), 0.5 / beta_b)


def line_windows(lines: AbsorptionLines, redshift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Observed vacuum wavelength range (A) of each line where its tau can exceed TAU_MIN."""
    centre, k, a = line_constants(lines, redshift)
    beta = _half_widths_u(k, a, lines.b_kms / C_LIGHT_KMS) * lines.b_kms / C_LIGHT_KMS
    return centre / (1.0 + beta), centre / (1.0 - beta)


def optical_depth(wave_a, lines: AbsorptionLines, redshift: float = 0.0, air: bool = False) -> np.ndarray:
    """Total optical depth of ``lines`` at observed wavelengths ``wave_a`` (A, any order).

    Parameters
    ----------
    wave_a : array
        Observed wavelengths, A: vacuum, or air if ``air`` (converted with Morton 2000).
    lines : AbsorptionLines
    redshift : float
        Redshift z of the system.

    Returns
    -------
    ndarray
        tau at each wavelength (formula in the module docstring). Each line is tapered to 0 over
        the last :data:`TAPER` of its window (where its tau < 4 TAU_MIN) by a cubic smoothstep, so
        that the optical depth is continuous and differentiable in N, b and v (a fit's finite
        differences see no jumps where a window grows by a pixel).
    """
    wave = as_vacuum_a(wave_a, air)
    order = np.argsort(wave, kind="stable")
    ws = wave[order]
    tau = np.zeros(ws.size)
    centre, k, a = line_constants(lines, _check_redshift(redshift))
    beta_b = lines.b_kms / C_LIGHT_KMS
    u_max = _half_widths_u(k, a, beta_b)
    i0 = np.searchsorted(ws, centre / (1.0 + u_max * beta_b))
    i1 = np.searchsorted(ws, centre / (1.0 - u_max * beta_b), side="right")
    for j in np.flatnonzero(i1 > i0):
        seg = slice(i0[j], i1[j])
        u = (centre[j] / ws[seg] - 1.0) / beta_b[j]
        s = np.clip((np.abs(u) / u_max[j] - 1.0 + TAPER) / TAPER, 0.0, 1.0)
        tau[seg] += k[j] * voigt_h(a[j], u) * (1.0 - s * s * (3.0 - 2.0 * s))
    out = np.empty_like(tau)
    out[order] = tau
    return out


def lsf_kernel(fwhm_a: float | None = None, fwhm_kms: float | None = None,
               resolving_power: float | None = None) -> tuple[GaussianKernel, str] | None:
    """The Gaussian line spread function from one of its FWHM in A, its FWHM in km/s or the
    resolving power R = lambda / FWHM; returns (kernel, axis) for
    :func:`~cassis_lite.optical.convolution.convolve_spectrum` ("wavelength": sigma in A;
    "velocity": sigma in units of c), or None when none is given."""
    given = {k: v for k, v in (("fwhm_a", fwhm_a), ("fwhm_kms", fwhm_kms), ("resolving_power", resolving_power))
             if v is not None}
    if not given:
        return None
    if len(given) > 1:
        raise OpticalError(f"give one of fwhm_a, fwhm_kms, resolving_power for the line spread function, "
                           f"not {' and '.join(given)}")
    (name, value), = given.items()
    value = _positive(value, name)
    if name == "fwhm_a":
        return GaussianKernel(value * FWHM_TO_SIGMA), "wavelength"
    fwhm_beta = value / C_LIGHT_KMS if name == "fwhm_kms" else 1.0 / value
    return GaussianKernel(fwhm_beta * FWHM_TO_SIGMA), "velocity"


def voigt_flux(wave_a, lines: AbsorptionLines, *, redshift: float = 0.0, fwhm_a: float | None = None,
               fwhm_kms: float | None = None, resolving_power: float | None = None, air: bool = False) -> np.ndarray:
    """Normalised flux exp(-tau) of absorption lines, convolved with a Gaussian line spread function.

    Parameters
    ----------
    wave_a : array
        Observed wavelengths, A, any order and spacing: vacuum, or air if ``air``.
    lines : AbsorptionLines
        The lines (:func:`~cassis_lite.optical.system_lines` builds them from components).
    redshift : float
        Redshift z of the system (components sit at velocities v relative to it).
    fwhm_a, fwhm_kms, resolving_power : float, optional
        The line spread function: FWHM in A (constant in wavelength), FWHM in km/s or R = lambda /
        FWHM (constant in velocity); at most one. None: no convolution.
    air : bool
        ``wave_a`` are air wavelengths (the lines are vacuum: Morton).

    Returns
    -------
    ndarray
        Flux / continuum at ``wave_a``. Without a line spread function exp(-tau) at each point;
        with one, the convolution integral at each point (:func:`convolved_flux`) from exp(-tau)
        on uniform grids of b / 6 around the lines.
    """
    wave = as_vacuum_a(wave_a, air)
    lsf = lsf_kernel(fwhm_a, fwhm_kms, resolving_power)
    if lsf is None or len(lines) == 0:
        return np.exp(-optical_depth(wave, lines, redshift))
    kernel, axis = lsf
    x_data = to_x(wave, axis)
    lo, hi = line_windows(lines, _check_redshift(redshift))
    x_lo, x_hi = to_x(lo, axis) - kernel.half_width, to_x(hi, axis) + kernel.half_width
    near = (x_hi >= x_data.min()) & (x_lo <= x_data.max())
    segments = []
    for s0, s1, b_min in _segments(x_lo[near], x_hi[near], lines.b_kms[near]):
        step = b_min / (POINTS_PER_B * C_LIGHT_KMS) * (s0 if axis == "wavelength" else 1.0)
        segments.append((max(s0, x_data.min() - kernel.half_width), min(s1, x_data.max() + kernel.half_width), step))
    return convolved_flux(x_data, lines[near], redshift, kernel, axis, segments)


def to_x(wave_a, axis: str) -> np.ndarray:
    """The working variable of the line spread function: ln(lambda) or lambda (A)."""
    return np.log(wave_a) if axis == "velocity" else np.asarray(wave_a, dtype=float)


def convolved_flux(x_data: np.ndarray, lines: AbsorptionLines, redshift: float, kernel: GaussianKernel,
                   axis: str, segments) -> np.ndarray:
    """exp(-tau) convolved with the Gaussian ``kernel`` at the points ``x_data`` of the working
    variable (:func:`to_x`), from the uniform grids ``segments`` = [(x_start, x_end, step)] (1
    outside them; a fit keeps its segments fixed, so that the model is smooth in its parameters).

    The convolution integral is the trapezoidal sum over the grid at each point of ``x_data``:
    1 - F(x) = h sum_j (1 - exp(-tau(x_j))) K(x - x_j). Both factors are analytic, so the sum
    converges exponentially with the step (b / 6 and sigma_LSF / 2 at most: error < 1e-8)."""
    from_x = np.exp if axis == "velocity" else (lambda x: x)
    flux = np.ones(x_data.size)
    for s0, s1, step in segments:
        inside = np.flatnonzero((x_data >= s0) & (x_data <= s1))
        if inside.size == 0:
            continue
        grid, step = uniform_grid(s0, s1, min(step, 0.5 * kernel.sigma))
        depth = -np.expm1(-optical_depth(from_x(grid), lines, redshift))
        flux[inside] = 1.0 - _gaussian_sum(x_data[inside], grid[0], step, depth, kernel)
    return flux


def _gaussian_sum(x: np.ndarray, x0: float, step: float, values: np.ndarray, kernel: GaussianKernel) -> np.ndarray:
    """step * sum_j values_j K(x - x0 - j step) at each x (the grid values beyond both ends are 0)."""
    reach = int(math.ceil(kernel.half_width / step))
    offsets = np.arange(-reach, reach + 1)
    norm = step / (kernel.sigma * math.sqrt(2.0 * math.pi))
    out = np.empty(x.size)
    chunk = max(1, 2_000_000 // offsets.size)
    for c in range(0, x.size, chunk):
        xc = x[c:c + chunk]
        j = np.rint((xc - x0) / step).astype(np.int64)[:, None] + offsets
        valid = (j >= 0) & (j < values.size)
        d = (xc[:, None] - x0 - j * step) / kernel.sigma
        out[c:c + chunk] = norm * np.sum(np.exp(-0.5 * d * d) * np.where(valid, values[np.clip(j, 0, values.size - 1)], 0.0),
                                         axis=1)
    return out


def _segments(lo: np.ndarray, hi: np.ndarray, b_kms: np.ndarray):
    """Merged overlapping intervals [lo, hi] with the smallest b of the lines in each."""
    order = np.argsort(lo)
    out = []
    for j in order:
        if out and lo[j] <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi[j])
            out[-1][2] = min(out[-1][2], b_kms[j])
        else:
            out.append([lo[j], hi[j], b_kms[j]])
    return [tuple(s) for s in out]


def as_vacuum_a(wave_a, air: bool) -> np.ndarray:
    """Wavelengths (A, flattened) as vacuum wavelengths, checked positive and finite; air ones
    (``air``) converted with Morton (2000) (:func:`cassis_lite.units.air_to_vacuum`)."""
    wave = np.asarray(wave_a, dtype=float).ravel()
    if wave.size == 0:
        raise OpticalError("empty wavelength array")
    if not np.all(np.isfinite(wave)) or np.any(wave <= 0):
        bad = int(np.count_nonzero(~np.isfinite(wave) | (wave <= 0)))
        raise OpticalError(f"wavelengths must be positive finite numbers ({bad} are not)")
    return air_to_vacuum(wave * 1e-10) * 1e10 if air else wave


def _check_redshift(z: float) -> float:
    if not (np.isfinite(z) and z > -1):
        raise OpticalError(f"redshift must be > -1, got {z!r}")
    return float(z)


def _positive(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise OpticalError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise OpticalError(f"{name} must be > 0, got {value!r}")
    return v
