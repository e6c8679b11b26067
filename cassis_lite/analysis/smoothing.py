"""Smoothing (kernel convolution on the same grid) and flux-conserving resampling of a spectrum.

Both work on each spectral window apart (:meth:`~cassis_lite.spectrum.Spectrum.windows`), so
that channels of different windows never mix, and record their step in ``meta["processing"]``.

Smoothing is a normalised convolution (Knutsson & Westin 1993; astropy.convolution's
``nan_treatment="interpolate"``): with m_i = 1 for a finite channel, 0 for a blanked one,

    I'_i = sum_j k_j m_{i-j} I_{i-j} / sum_j k_j m_{i-j},
    sigma'_i = sqrt(sum_j k_j^2 m_{i-j} sigma_{i-j}^2) / sum_j k_j m_{i-j},

so a blanked channel does not blank its neighbours (and stays blanked), and the window edges
are treated as missing channels (no edge droop). ``sigma'`` is right channel by channel, but
smoothed channels are correlated: the error of a sum over them computed as if they were
independent (an integrated intensity's) comes out too small.

Resampling onto a regular grid is the mean of the input channels weighted by their overlap
with each output channel (specutils' ``FluxConservingResampler``; Carnall 2017,
arXiv:1705.05165): I'_j = sum_i o_ij I_i / sum_i o_ij, sigma'_j = sqrt(sum_i o_ij^2 sigma_i^2)
/ sum_i o_ij, the channel edges halfway between channel centres.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from cassis_lite import units
from cassis_lite.analysis.baseline import derived_spectrum
from cassis_lite.constants import FWHM_TO_SIGMA
from cassis_lite.errors import ProcessingError
from cassis_lite.spectrum import Spectrum

SMOOTHING_KINDS = ("boxcar", "hanning", "gaussian")
#: the Gaussian kernel is cut at this many sigma either side of its centre
GAUSSIAN_HALF_WIDTH_SIGMA = 4.0


def _channels(width, kind: str, minimum: int) -> int:
    if isinstance(width, bool):
        raise ProcessingError(f"{kind} width must be a whole number of channels, got {width!r}")
    try:
        n = operator.index(width)
    except TypeError:
        if not (isinstance(width, float) and width.is_integer()):
            raise ProcessingError(f"{kind} width must be a whole number of channels, got {width!r}") from None
        n = int(width)
    if n < minimum:
        raise ProcessingError(f"{kind} width must be at least {minimum} channels, got {n}")
    return n


def smoothing_kernel(kind: str, width) -> np.ndarray:
    """The unit-sum convolution kernel (odd length, centred) of a smoothing.

    Parameters
    ----------
    kind : {"boxcar", "hanning", "gaussian"}
    width : int or float
        boxcar: channels averaged, an odd N gives N equal taps; an even N gives N + 1 taps with
        half weight at both ends (a box N channels wide centred on each channel, as astropy's
        ``Box1DKernel``), so that the result stays on the input grid without a half-channel
        shift. CLASS's ``SMOOTH BOX N`` (mean of N adjacent channels, N times fewer channels)
        is :func:`resample` with ``factor=N``.
        hanning: odd number N >= 3 of non-zero taps, k_j = cos^2(pi j / (N + 1)) = (1 + cos(2 pi j / (N + 1))) / 2,
        |j| <= (N - 1) / 2; N = 3 is CLASS's ``SMOOTH HANNING`` kernel [1/4, 1/2, 1/4] (which CLASS
        follows with a decimation by 2: ``resample(factor=2)``).
        gaussian: FWHM in channels (> 0), sampled at the channel centres out to
        :data:`GAUSSIAN_HALF_WIDTH_SIGMA` sigma, sigma = FWHM / (2 sqrt(2 ln 2)).
    """
    if kind == "boxcar":
        n = _channels(width, kind, 1)
        k = np.ones(n + 1 - n % 2)
        if n % 2 == 0:
            k[[0, -1]] = 0.5
    elif kind == "hanning":
        n = _channels(width, kind, 3)
        if n % 2 == 0:
            raise ProcessingError(f"hanning width must be an odd number of channels (3 is CLASS's "
                                  f"[1/4, 1/2, 1/4]), got {n}")
        j = np.arange(-(n // 2), n // 2 + 1)
        k = 0.5 * (1.0 + np.cos(2.0 * np.pi * j / (n + 1)))  # exactly [1/4, 1/2, 1/4] for N = 3
    elif kind == "gaussian":
        try:
            fwhm = float(width)
        except (TypeError, ValueError):
            raise ProcessingError(f"gaussian width (FWHM in channels) must be a number, got {width!r}") from None
        if isinstance(width, bool) or not (math.isfinite(fwhm) and fwhm > 0):
            raise ProcessingError(f"gaussian width (FWHM in channels) must be > 0, got {width!r}")
        sigma = fwhm * FWHM_TO_SIGMA
        half = math.ceil(GAUSSIAN_HALF_WIDTH_SIGMA * sigma)
        k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    else:
        raise ProcessingError(f"unknown smoothing {kind!r} (use one of {', '.join(SMOOTHING_KINDS)})")
    return k / k.sum()


def _convolve_same(a: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``a`` convolved with an odd, centred ``kernel``, same length as ``a`` (zeros beyond it)."""
    h = kernel.size // 2
    return np.convolve(a, kernel, mode="full")[h:h + a.size]


def _normalised_convolution(y: np.ndarray, sigma: np.ndarray | None, kernel: np.ndarray):
    good = np.isfinite(y)
    weight = _convolve_same(good.astype(float), kernel)
    out = np.full(y.size, np.nan)
    out[good] = _convolve_same(np.where(good, y, 0.0), kernel)[good] / weight[good]
    if sigma is None:
        return out, None
    err = np.full(y.size, np.nan)
    err[good] = np.sqrt(_convolve_same(np.where(good, sigma**2, 0.0), kernel**2)[good]) / weight[good]
    return out, err


def smooth(spectrum: Spectrum, kind: str, width) -> Spectrum:
    """Smooth a spectrum on its own grid, window by window.

    Parameters
    ----------
    spectrum : Spectrum
    kind : {"boxcar", "hanning", "gaussian"}
        The kernel, see :func:`smoothing_kernel` (width in channels; gaussian: FWHM in channels).
    width : int or float

    Returns
    -------
    Spectrum
        Same channels; intensity (and uncertainty, when present) convolved as described in the
        module docstring; blanked channels stay NaN. ``meta["processing"]`` gains
        ``{"step": "smooth", "kind", "width", "kernel_channels"}``.
    """
    kernel = smoothing_kernel(kind, width)
    y = np.empty_like(spectrum.intensity)
    err = None if spectrum.uncertainty is None else np.empty_like(spectrum.uncertainty)
    for w in spectrum.windows():
        sig = None if err is None else spectrum.uncertainty[w]
        y[w], e = _normalised_convolution(spectrum.intensity[w], sig, kernel)
        if err is not None:
            err[w] = e
    step = {"step": "smooth", "kind": kind, "width": float(width) if kind == "gaussian" else int(width),
            "kernel_channels": int(kernel.size)}
    return derived_spectrum(spectrum, step, intensity=y, uncertainty=err)


def channel_edges(freq_mhz: np.ndarray) -> np.ndarray:
    """Edges (MHz) of the channels of one window: halfway between centres, the outer ones half a
    step beyond the first and last centres (n + 1 values)."""
    f = np.asarray(freq_mhz, dtype=float)
    mid = 0.5 * (f[1:] + f[:-1])
    return np.concatenate(([f[0] - (mid[0] - f[0])], mid, [f[-1] + (f[-1] - mid[-1])]))


def rebin(edges_in: np.ndarray, intensity: np.ndarray, sigma: np.ndarray | None, edges_out: np.ndarray):
    """Overlap-weighted mean of the input channels (``edges_in``, n + 1) in each output channel
    (``edges_out``, m + 1, within the input span); NaN inputs are left out, an output channel
    without finite input is NaN. Returns (intensity, sigma or None), m values each.

    Every piece between consecutive edges of both grids lies in one input and one output channel,
    so o_ij is the length of that piece (exact, no cumulative sums)."""
    b = np.union1d(edges_in, edges_out)
    b = b[(b >= max(edges_in[0], edges_out[0])) & (b <= min(edges_in[-1], edges_out[-1]))]
    mid = 0.5 * (b[1:] + b[:-1])
    length = np.diff(b)
    i = np.searchsorted(edges_in, mid) - 1
    j = np.searchsorted(edges_out, mid) - 1
    m = edges_out.size - 1
    good = np.isfinite(intensity[i])
    o = np.where(good, length, 0.0)
    den = np.bincount(j, o, minlength=m)
    num = np.bincount(j, o * np.where(good, intensity[i], 0.0), minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / den, np.nan)
        if sigma is None:
            return out, None
        var = np.bincount(j, o**2 * np.where(good, sigma[i], 0.0) ** 2, minlength=m)
        return out, np.where(den > 0, np.sqrt(var) / den, np.nan)


def _output_edges(edges_in: np.ndarray, step_mhz: float | None, factor: int | None) -> np.ndarray:
    if factor is not None:
        n_out = (edges_in.size - 1) // factor
        return edges_in[:n_out * factor + 1:factor]
    n_out = math.floor((edges_in[-1] - edges_in[0]) / step_mhz + 1e-9)
    return edges_in[0] + step_mhz * np.arange(n_out + 1)


def resample(spectrum: Spectrum, step_mhz: float | None = None, factor: int | None = None) -> Spectrum:
    """Flux-conserving rebinning of each window onto a regular grid.

    Parameters
    ----------
    spectrum : Spectrum
    step_mhz : float, optional
        Output channel width in MHz: each window is cut into the whole output channels that fit
        within it, starting at its lower edge (a partial last channel is dropped).
    factor : int, optional
        Input channels per output channel (>= 1): output channel j covers input channels
        j N ... j N + N - 1 exactly (CLASS's ``SMOOTH BOX N``); the last ``n mod N`` channels
        of a window are dropped. Give exactly one of ``step_mhz`` and ``factor``.

    Returns
    -------
    Spectrum
        On the new grid (``x_original`` recomputed in ``x_unit``); intensity and uncertainty as in
        the module docstring (NaNs left out of the means). Per-channel arrays of ``meta`` (e.g.
        ``freq_usb_mhz``) no longer match the channels and are dropped. ``meta["processing"]``
        gains ``{"step": "resample", "step_mhz" | "factor", "n_channels_in", "n_channels_out"}``.

    Raises
    ------
    ProcessingError
        Neither or both of step_mhz and factor, a bad value, a one-channel window (no width), or a
        window narrower than one output channel.
    """
    if (step_mhz is None) == (factor is None):
        raise ProcessingError("resample: give exactly one of step_mhz and factor")
    if factor is not None:
        factor = _channels(factor, "resample factor", 1)
        step = {"step": "resample", "factor": factor}
    else:
        try:
            step_mhz = float(step_mhz)
        except (TypeError, ValueError):
            raise ProcessingError(f"resample step_mhz must be a number, got {step_mhz!r}") from None
        if not (math.isfinite(step_mhz) and step_mhz > 0):
            raise ProcessingError(f"resample step_mhz must be > 0, got {step_mhz!r}")
        step = {"step": "resample", "step_mhz": step_mhz}
    freq, y, err = [], [], []
    for w in spectrum.windows():
        f = spectrum.freq_mhz[w]
        if f.size < 2:
            raise ProcessingError(f"resample: the window at {f[0]:.6f} MHz has one channel (no channel width)")
        e_in = channel_edges(f)
        e_out = _output_edges(e_in, step_mhz, factor)
        if e_out.size < 2:
            raise ProcessingError(f"resample: the window {e_in[0]:.6f} - {e_in[-1]:.6f} MHz is narrower "
                                  "than one output channel")
        sig = None if spectrum.uncertainty is None else spectrum.uncertainty[w]
        yw, ew = rebin(e_in, spectrum.intensity[w], sig, e_out)
        freq.append(0.5 * (e_out[1:] + e_out[:-1]))
        y.append(yw)
        err.append(ew)
    freq_mhz = np.concatenate(freq)
    n_in = spectrum.n_channels
    step.update(n_channels_in=n_in, n_channels_out=int(freq_mhz.size))
    meta = {k: v for k, v in spectrum.meta.items() if not (isinstance(v, np.ndarray) and v.shape[:1] == (n_in,))}
    x = units.from_freq_mhz(freq_mhz, spectrum.x_unit, spectrum.rest_freq_mhz, spectrum.velocity_convention,
                            spectrum.air_wavelength)
    return derived_spectrum(spectrum, step, meta=meta, freq_mhz=freq_mhz, intensity=np.concatenate(y),
                            uncertainty=None if spectrum.uncertainty is None else np.concatenate(err),
                            x_original=x)
