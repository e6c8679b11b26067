"""Convolution of a spectrum with broadening kernels, on any (also non-uniform) wavelength grid.

A kernel is stationary either in velocity (rotation, macroturbulence, an instrument of resolving
power R: the working variable is x = ln(lambda), widths in units of v / c) or in wavelength (an
instrument of constant FWHM in A: x = lambda). The spectrum is resampled on a uniform grid in x (as
fine as the finest step of the input and a quarter of the narrowest kernel; :data:`MAX_POINTS` at
most): by Keys' cubic convolution when the input is uniform in lambda or in ln(lambda) (error
O(h^3)), else by averaging the piecewise-linear function through the points over the grid's
cells, which keeps its integral exactly (point samples of the piecewise-linear function on a grid
incommensurate with the input's would change the equivalent width of a line 3 pixels wide by
~2e-3; the cell averages widen it by a variance h^2 / 4). The grid is convolved, and the
result, now smooth on the kernel's scale, is interpolated back to the input wavelengths by Keys'
cubic convolution (Keys 1981, IEEE Trans. ASSP 29, 1153; error O(h^3)). Beyond the ends of the
spectrum the first and last values are repeated (PyAstronomy's ``edgeHandling="firstlast"``). A
shift alone (no kernel) is the piecewise-linear spectrum evaluated at the shifted wavelengths.

On the uniform grid of step h the convolution is a discrete one with weights
W_m = int K(x) S(m - x / h) dx, S Keys' cubic kernel: the exact convolution of the cubic
interpolant of the grid values (S has no second moment, so that no width is added to the
kernel's, unlike the h^2 / 6 of piecewise-linear weights). W is computed from each kernel's
cumulative distribution on sub-steps of h (a kernel narrower than a pixel tends to the identity)
and normalised to sum 1: the discrete convolution conserves the integral of 1 - F, i.e. the
equivalent width, to rounding. A spectrum already uniform in x at the grid's step is used as it
is (no resampling): for a wavelength-uniform spectrum and a FWHM in A the result is the plain
discrete convolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cassis_lite.errors import OpticalError

#: largest uniform working grid (points); 2**22 float64 = 32 MiB, fine in a browser tab
MAX_POINTS = 2**22
#: kernels shorter than this are applied by direct summation, longer ones by FFT
DIRECT_LENGTH = 64
_erf = np.vectorize(math.erf, otypes=[float])
_SQRT_PI = math.sqrt(math.pi)


@dataclass(frozen=True)
class GaussianKernel:
    """Normalised Gaussian of standard deviation ``sigma`` (units of the working variable)."""

    sigma: float

    @property
    def half_width(self) -> float:
        return 8.0 * self.sigma  # the mass beyond is 1.2e-15

    @property
    def scale(self) -> float:
        return self.sigma

    def cdf(self, x):
        return 0.5 * (1.0 + _erf(np.asarray(x, dtype=float) / (self.sigma * math.sqrt(2.0))))


@dataclass(frozen=True)
class RotationKernel:
    """Gray's rotation profile with linear limb darkening (Gray, *The Observation and Analysis of
    Stellar Photospheres*, 3rd ed. 2005, eq. 18.14), s = x / x_L, x_L = v sin i / c:

        G(s) = [2 (1 - eps) sqrt(1 - s^2) + (pi eps / 2)(1 - s^2)] / [pi x_L (1 - eps / 3)],  |s| < 1
    """

    half_width: float
    epsilon: float

    @property
    def scale(self) -> float:
        return self.half_width

    def cdf(self, x):
        s = np.clip(np.asarray(x, dtype=float) / self.half_width, -1.0, 1.0)
        e = self.epsilon
        disk = 0.5 * (s * np.sqrt(1.0 - s * s) + np.arcsin(s)) + 0.25 * math.pi  # int sqrt(1 - t^2)
        limb = s - s**3 / 3.0 + 2.0 / 3.0  # int (1 - t^2)
        return (2.0 * (1.0 - e) * disk + 0.5 * math.pi * e * limb) / (math.pi * (1.0 - e / 3.0))


@dataclass(frozen=True)
class MacroturbulenceKernel:
    """Gray's radial-tangential macroturbulence profile with equal radial and tangential areas
    and no limb darkening (Gray 2005, eq. 17.4-17.6 integrated over the disk), u = |x| / zeta:

        M(x) = (2 / (sqrt(pi) zeta)) [exp(-u^2) - sqrt(pi) u erfc(u)]

    its cumulative 1/2 + sign(x) [erf(u) / 2 - u^2 erfc(u) + u exp(-u^2) / sqrt(pi)]."""

    zeta: float

    @property
    def half_width(self) -> float:
        return 7.0 * self.zeta  # the mass beyond is ~ 1e-23

    @property
    def scale(self) -> float:
        return 0.5 * self.zeta  # the profile has a cusp at 0: resolve it finely

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        u = np.abs(x) / self.zeta
        erf_u = _erf(u)
        half = 0.5 * erf_u - u * u * (1.0 - erf_u) + u * np.exp(-u * u) / _SQRT_PI
        return 0.5 + np.sign(x) * half


def discrete_kernel(kernels, step: float) -> np.ndarray:
    """Weights W_m (odd length, centred, sum 1) of the convolution of ``kernels`` on a uniform grid
    of ``step``: W_m = int K(x) S(m - x / step) dx with K the kernels convolved together and S
    Keys' cubic kernel."""
    sub = int(np.clip(math.ceil(8.0 * step / min(k.scale for k in kernels)), 2, 256))
    h = step / sub
    combined = np.ones(1)
    for k in kernels:
        n = math.ceil(k.half_width / h)
        bins = np.diff(k.cdf((np.arange(-n, n + 2) - 0.5) * h))
        combined = _convolve_full(combined, bins)
    t = (np.arange(combined.size) - combined.size // 2) / sub  # sub-step centres, in steps
    i = np.floor(t).astype(np.intp)  # intp: np.bincount's index type (32 bits in WebAssembly)
    half = int(np.max(np.abs(i))) + 3
    weights = np.zeros(2 * half + 1)
    for d, w in zip((-1, 0, 1, 2), _keys_taps(t - i)):  # S(m - t) for the 4 grid points around t
        weights += np.bincount(i + d + half, w * combined, minlength=weights.size)
    nz = np.flatnonzero(weights > 1e-17 * weights.max())
    trim = min(nz[0], weights.size - 1 - nz[-1])
    weights = weights[trim: weights.size - trim]
    return weights / weights.sum()


def _keys_taps(t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Keys' cubic kernel (a = -1/2) at the grid points i - 1, i, i + 1, i + 2 around a point
    i + t, 0 <= t < 1 (Keys 1981, eq. 15)."""
    t2, t3 = t * t, t * t * t
    return (0.5 * (-t3 + 2.0 * t2 - t), 0.5 * (3.0 * t3 - 5.0 * t2 + 2.0), 0.5 * (-3.0 * t3 + 4.0 * t2 + t),
            0.5 * (t3 - t2))


def _convolve_full(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if min(a.size, b.size) <= DIRECT_LENGTH:
        return np.convolve(a, b)
    n = a.size + b.size - 1
    nfft = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(a, nfft) * np.fft.rfft(b, nfft), nfft)[:n]


def convolve_uniform(y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``y`` (uniform grid) convolved with the centred ``weights``, the end values repeated beyond
    both ends; same length as ``y``."""
    half = weights.size // 2
    if half == 0:
        return y * weights[0]
    padded = np.concatenate((np.full(half, y[0]), y, np.full(half, y[-1])))
    return _convolve_full(padded, weights)[2 * half: 2 * half + y.size]


def _cell_averages(x: np.ndarray, y: np.ndarray, centres: np.ndarray, width: float) -> np.ndarray:
    """Means of the piecewise-linear function through (x, y) over [c - width/2, c + width/2]
    (end values repeated outside)."""
    dx = np.diff(x)
    cum = np.concatenate(([0.0], np.cumsum(0.5 * (y[1:] + y[:-1]) * dx)))

    def primitive(q):
        k = np.clip(np.searchsorted(x, q, side="right") - 1, 0, x.size - 2)
        d = q - x[k]
        inside = cum[k] + y[k] * d + 0.5 * (y[k + 1] - y[k]) / dx[k] * d * d
        below = (q - x[0]) * y[0]
        above = cum[-1] + (q - x[-1]) * y[-1]
        return np.where(q < x[0], below, np.where(q > x[-1], above, inside))

    return (primitive(centres + 0.5 * width) - primitive(centres - 0.5 * width)) / width


def interpolate_uniform(x: np.ndarray, x0: float, step: float, values: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution (a = -1/2, Catmull-Rom) of ``values`` on the uniform grid
    x0 + step * i, at ``x`` (end values repeated beyond the grid)."""
    s = (np.asarray(x, dtype=float) - x0) / step
    i = np.floor(s).astype(np.int64)
    last = values.size - 1
    return sum(w * values[np.clip(i + d, 0, last)] for w, d in zip(_keys_taps(s - i), (-1, 0, 1, 2)))


def _uniform_step(x: np.ndarray) -> float | None:
    """The step of ``x`` if its points are uniform to 1e-4 of a step, else None."""
    step = (x[-1] - x[0]) / (x.size - 1)
    return step if np.max(np.abs(x - (x[0] + step * np.arange(x.size)))) <= 1e-4 * step else None


def uniform_grid(x_min: float, x_max: float, step: float, max_points: int = MAX_POINTS) -> tuple[np.ndarray, float]:
    """A uniform grid covering [x_min, x_max] with ``step`` or the coarser step that keeps it
    within ``max_points``; returns (grid, step)."""
    span = x_max - x_min
    if span / step + 1 > max_points:
        step = span / (max_points - 1)
    n = int(math.ceil(span / step * (1.0 - 1e-12))) + 1
    return x_min + step * np.arange(n), step


def convolve_spectrum(wave_a, flux, kernels, axis: str = "velocity", shift: float = 0.0,
                      max_points: int = MAX_POINTS) -> np.ndarray:
    """``flux`` at ``wave_a`` convolved with ``kernels``, and shifted by ``shift``.

    Parameters
    ----------
    wave_a : array
        Wavelengths (A), any order and spacing (no repeated value).
    flux : array
        Values at ``wave_a`` (finite).
    kernels : list
        :class:`GaussianKernel`, :class:`RotationKernel`, :class:`MacroturbulenceKernel` with
        widths in the units of the working variable: v / c for ``axis="velocity"``
        (x = ln lambda), A for ``axis="wavelength"`` (x = lambda). May be empty.
    shift : float
        Shift of the spectrum in the working variable: ln(1 + v / c) for a Doppler shift.

    Returns
    -------
    ndarray
        The result at ``wave_a``, in the caller's order.
    """
    wave = np.asarray(wave_a, dtype=float)
    y = np.asarray(flux, dtype=float)
    order = np.argsort(wave, kind="stable")
    x = np.log(wave[order]) if axis == "velocity" else wave[order]
    ys = y[order]
    steps = np.diff(x)
    if steps.size == 0 or np.any(steps <= 0):
        raise OpticalError("the wavelength grid needs at least 2 distinct values and no repeated one")
    out = np.empty_like(ys)
    if not kernels:
        out[order] = np.interp(x - shift, x, ys)
        return out
    step = min(float(steps.min()), 0.25 * min(k.scale for k in kernels))
    if shift == 0.0 and _uniform_step(x) == step:  # already uniform at the grid's step: used as it is
        out[order] = convolve_uniform(ys, discrete_kernel(kernels, step))
        return out
    grid, step = uniform_grid(x[0], x[-1], step, max_points)
    other = np.exp if axis == "velocity" else np.log  # lambda <-> ln(lambda)
    if _uniform_step(x) is not None:
        sampled = interpolate_uniform(grid - shift, x[0], _uniform_step(x), ys)
    elif _uniform_step(other(x)) is not None:
        sampled = interpolate_uniform(other(grid - shift), other(x[0]), _uniform_step(other(x)), ys)
    else:
        sampled = _cell_averages(x, ys, grid - shift, step)
    sampled = convolve_uniform(sampled, discrete_kernel(kernels, step))
    out[order] = interpolate_uniform(x, grid[0], step, sampled)
    return out
