"""Statistics of a frequency range of a spectrum: mean, rms, peak, integrated intensity, centroid.

Velocities are LSR velocities in the radio convention about a rest frequency nu_0, with the
file's v_lsr added as CASSIS does (its .lis ``VeloLsb`` column, ``docs/conventions.md``):

    v_i = v_file + c (1 - nu_i / nu_0)            (:func:`cassis_lite.units.freq_to_velocity`)

The integrated intensity is the channel sum W = sum_i I_i dv_i over the channels whose centres
lie in the range, dv_i the channel width in km/s (central differences of v_i within each
spectral window), with the 1-sigma error sigma_W = sqrt(sum_i (rms_i dv_i)^2) for independent
channels of noise rms_i (the area error of CLASS and CASSIS and of
:func:`cassis_lite.analysis.rotdiagram.integrate_lines`; it ignores the correlation of channels a
smoothing introduces). The centroid is the first moment nu_c = sum_i nu_i I_i dv_i / W.

The helpers here (range channels, rest frequency, velocities, noise) are shared with
:mod:`cassis_lite.analysis.gaussfit`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cassis_lite import units
from cassis_lite.analysis.features import channel_rms
from cassis_lite.errors import ProcessingError
from cassis_lite.fitting.parameters import format_value_error
from cassis_lite.spectrum import Spectrum


def _number(value, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ProcessingError(f"{what} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(v):
        raise ProcessingError(f"{what} must be a finite number, got {value!r}")
    return v


def range_slice(spectrum: Spectrum, fmin_mhz, fmax_mhz, what: str = "range") -> tuple[float, float, slice]:
    """(fmin, fmax, channels) of a frequency range in MHz (either order): the channels whose
    centres lie in [fmin, fmax]; ProcessingError when there is none or none is finite."""
    lo, hi = sorted((_number(fmin_mhz, f"{what} fmin_mhz"), _number(fmax_mhz, f"{what} fmax_mhz")))
    f = spectrum.freq_mhz
    i0, i1 = int(np.searchsorted(f, lo, side="left")), int(np.searchsorted(f, hi, side="right"))
    if i1 <= i0:
        raise ProcessingError(f"{what} {lo:.6f} - {hi:.6f} MHz holds no channel of the spectrum "
                              f"({f[0]:.6f} - {f[-1]:.6f} MHz, {len(spectrum.windows())} window(s))")
    if not np.any(np.isfinite(spectrum.intensity[i0:i1])):
        raise ProcessingError(f"{what} {lo:.6f} - {hi:.6f} MHz holds only blanked (NaN) channels")
    return lo, hi, slice(i0, i1)


def _window_index(spectrum: Spectrum, channels: slice) -> tuple[list[slice], int]:
    """The spectrum's windows and the index of the one holding most channels of ``channels``."""
    windows = spectrum.windows()
    starts = np.array([w.start for w in windows])
    k = np.searchsorted(starts, np.arange(channels.start, channels.stop), side="right") - 1
    return windows, int(np.argmax(np.bincount(k)))


def rest_frequency(spectrum: Spectrum, channels: slice, fmin_mhz: float, fmax_mhz: float,
                   rest_freq_mhz=None) -> tuple[float, str]:
    """(nu_0 in MHz, where it came from) for the velocities of a range: ``rest_freq_mhz`` if given
    ("argument"), else the spectrum's ("spectrum"), else the rest frequency of the window the
    range lies in when the file gives one per window (CASSIS .lis: ``meta["window_rest_freq_mhz"]``,
    "window"), else the centre of the range ("range centre")."""
    if rest_freq_mhz is not None:
        f0 = _number(rest_freq_mhz, "rest_freq_mhz")
        if not f0 > 0:
            raise ProcessingError(f"rest_freq_mhz must be > 0, got {rest_freq_mhz!r}")
        return f0, "argument"
    if spectrum.rest_freq_mhz:
        return float(spectrum.rest_freq_mhz), "spectrum"
    per_window = spectrum.meta.get("window_rest_freq_mhz")
    if per_window is not None:
        windows, k = _window_index(spectrum, channels)
        f0 = per_window[k] if len(per_window) == len(windows) else None
        if f0 is not None and math.isfinite(f0) and f0 > 0:
            return float(f0), "window"
    return 0.5 * (fmin_mhz + fmax_mhz), "range centre"


def channel_width_kms(spectrum: Spectrum, rest_freq_mhz: float) -> np.ndarray:
    """|dv| of every channel (km/s): central differences of the velocities within each window
    (one-sided at its ends; NaN for a one-channel window)."""
    v = units.freq_to_velocity(spectrum.freq_mhz, rest_freq_mhz, "radio")
    dv = np.full(v.size, np.nan)
    for w in spectrum.windows():
        if w.stop - w.start > 1:
            dv[w] = np.abs(np.gradient(v[w]))
    return dv


def noise_rms(spectrum: Spectrum, channels: slice, rms=None) -> tuple[np.ndarray, str]:
    """(per-channel noise of ``channels``, its origin): ``rms`` if given ("argument"), else the
    robust rms of the window each channel lies in (:func:`cassis_lite.analysis.features.channel_rms`,
    "window robust rms")."""
    n = channels.stop - channels.start
    if rms is not None:
        r = _number(rms, "rms")
        if not r > 0:
            raise ProcessingError(f"rms must be > 0, got {rms!r}")
        return np.full(n, r), "argument"
    return channel_rms(spectrum.freq_mhz, spectrum.intensity)[channels], "window robust rms"


def _quadratic_mean(noise: np.ndarray, dv: np.ndarray) -> float:
    """sqrt(sum rms_i^2 dv_i^2 / sum dv_i^2): the one noise of the integral's error (the window's
    own value when the range lies in one window)."""
    if np.all(noise == noise[0]):
        return float(noise[0])
    return float(math.sqrt(np.sum((noise * dv) ** 2) / np.sum(dv**2)))


@dataclass
class RangeStatistics:
    """Statistics of the channels whose centres lie in [fmin_mhz, fmax_mhz].

    n_channels: channels in the range (n_blank of them NaN, ignored everywhere); mean, rms (about
    the mean, sqrt(mean((I - mean)^2))), minimum, maximum: in ``y_unit``; peak: the value of
    largest |I| (signed) at peak_freq_mhz / peak_velocity_kms; integrated, integrated_err:
    sum I dv and its 1-sigma error in ``y_unit`` km/s; rms_noise: the noise used for that error
    (``y_unit``; rms_source: "argument" or "window robust rms"); centroid_freq_mhz,
    centroid_velocity_kms: first moment (NaN when the integral is 0); velocities: LSR, radio
    convention about rest_freq_mhz (rest_freq_source: "argument", "spectrum", "window" or
    "range centre") with the file's v_lsr vlsr_file_kms added; velocity_kms: of each channel.
    """

    fmin_mhz: float
    fmax_mhz: float
    n_channels: int
    n_blank: int
    mean: float
    rms: float
    minimum: float
    maximum: float
    peak: float
    peak_freq_mhz: float
    peak_velocity_kms: float
    integrated: float
    integrated_err: float
    rms_noise: float
    rms_source: str
    centroid_freq_mhz: float
    centroid_velocity_kms: float
    rest_freq_mhz: float
    rest_freq_source: str
    vlsr_file_kms: float
    y_unit: str
    velocity_kms: np.ndarray = field(repr=False)

    @property
    def integrated_unit(self) -> str:
        return f"{self.y_unit} km/s".strip()

    def to_dict(self) -> dict:
        """JSON-ready values (the channel velocities left out)."""
        return {k: v for k, v in self.__dict__.items() if k != "velocity_kms"} | {
            "integrated_unit": self.integrated_unit}

    def report(self) -> str:
        """The statistics on one screen (six lines)."""
        u = self.y_unit
        blank = f" ({self.n_blank} blanked)" if self.n_blank else ""
        integrated = format_value_error(self.integrated, self.integrated_err)
        return "\n".join([
            f"range {self.fmin_mhz:.6f} - {self.fmax_mhz:.6f} MHz: {self.n_channels} channels{blank}",
            (f"mean = {self.mean:.6g} {u}, rms = {self.rms:.6g} {u} (about the mean), "
             f"min = {self.minimum:.6g} {u}, max = {self.maximum:.6g} {u}"),
            f"peak = {self.peak:.6g} {u} at {self.peak_freq_mhz:.6f} MHz (v = {self.peak_velocity_kms:.3f} km/s)",
            (f"integrated intensity = {integrated} {self.integrated_unit} "
             f"(noise rms {self.rms_noise:.4g} {u}, {self.rms_source})"),
            f"centroid = {self.centroid_freq_mhz:.6f} MHz, v = {self.centroid_velocity_kms:.3f} km/s",
            (f"velocities: LSR, radio convention about {self.rest_freq_mhz:.6f} MHz ({self.rest_freq_source}), "
             f"file v_lsr {self.vlsr_file_kms:g} km/s"),
        ])


def range_statistics(spectrum: Spectrum, fmin_mhz: float, fmax_mhz: float, rest_freq_mhz: float | None = None,
                     rms: float | None = None) -> RangeStatistics:
    """Statistics, integrated intensity and centroid of a frequency range.

    Parameters
    ----------
    spectrum : Spectrum
    fmin_mhz, fmax_mhz : float
        The range in MHz (either order); the channels whose centres lie in it are used.
    rest_freq_mhz : float, optional
        nu_0 of the velocities (MHz); default: see :func:`rest_frequency`.
    rms : float, optional
        Noise per channel in ``spectrum.y_unit`` for the error of the integral; default: the
        robust rms of the window(s) the range lies in.

    Returns
    -------
    RangeStatistics
        See the module docstring for the formulae.
    """
    lo, hi, sl = range_slice(spectrum, fmin_mhz, fmax_mhz)
    f0, source = rest_frequency(spectrum, sl, lo, hi, rest_freq_mhz)
    noise, rms_source = noise_rms(spectrum, sl, rms)
    vfile = float(spectrum.vlsr_kms or 0.0)
    f = spectrum.freq_mhz[sl]
    y = spectrum.intensity[sl]
    v = units.lsr_velocity_kms(f, f0, vfile)
    dv = channel_width_kms(spectrum, f0)[sl]
    good = np.isfinite(y)
    fg, yg, vg, dvg, ng = f[good], y[good], v[good], dv[good], noise[good]
    mean = float(np.mean(yg))
    ipk = int(np.argmax(np.abs(yg)))
    integrated = float(np.sum(yg * dvg))
    err = float(math.sqrt(np.sum((ng * dvg) ** 2)))
    centroid = float(np.sum(fg * yg * dvg) / integrated) if integrated != 0 else math.nan
    return RangeStatistics(
        fmin_mhz=lo, fmax_mhz=hi, n_channels=int(y.size), n_blank=int(y.size - yg.size), mean=mean,
        rms=float(math.sqrt(np.mean((yg - mean) ** 2))), minimum=float(np.min(yg)), maximum=float(np.max(yg)),
        peak=float(yg[ipk]), peak_freq_mhz=float(fg[ipk]), peak_velocity_kms=float(vg[ipk]),
        integrated=integrated, integrated_err=err, rms_noise=_quadratic_mean(ng, dvg),
        rms_source=rms_source, centroid_freq_mhz=centroid,
        centroid_velocity_kms=float(units.lsr_velocity_kms(centroid, f0, vfile)), rest_freq_mhz=f0,
        rest_freq_source=source, vlsr_file_kms=vfile, y_unit=spectrum.y_unit, velocity_kms=v)
