"""Noise estimate and feature (line) finding in a spectrum, emission and absorption.

- :func:`robust_rms`: 1.4826 x the median absolute deviation about the median, iterated with
  3-sigma clipping so that lines do not inflate it (for Gaussian noise 1.4826 MAD = sigma;
  Rousseeuw & Croux 1993).
- :func:`find_features`: peaks of ``|I - baseline|`` higher than ``threshold x rms`` and at least
  as prominent (so that two blended lines separated by a real dip are two features, and a noise
  wiggle on top of a bright line is not a second one), found per contiguous window of the
  spectrum (gaps between windows never join features).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cassis_lite.constants import C_LIGHT_KMS, FWHM_TO_SIGMA, GAUSS_AREA
from cassis_lite.errors import CassisError
from cassis_lite.spectrum import window_slices

MAD_TO_SIGMA = 1.482602218505602  # 1 / Phi^-1(3/4)
#: mean of a unit-peak Gaussian over +-FWHM/4 around its centre
_CENTRAL_MEAN = float(np.mean(np.exp(-4.0 * math.log(2.0) * np.linspace(-0.25, 0.25, 100001) ** 2)))


class SpectrumDataError(CassisError):
    """The spectrum arrays cannot be analysed (empty, mismatched, not finite)."""


def check_arrays(freq_mhz, intensity) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(freq_mhz, dtype=float)
    y = np.asarray(intensity, dtype=float)
    if f.ndim != 1 or f.shape != y.shape:
        raise SpectrumDataError(f"frequency ({f.shape}) and intensity ({y.shape}) arrays differ in shape")
    if f.size < 3:
        raise SpectrumDataError(f"spectrum has {f.size} channels; at least 3 needed")
    if not np.all(np.isfinite(f)):
        raise SpectrumDataError("frequencies contain NaN or infinite values")
    if np.any(np.diff(f) < 0):
        raise SpectrumDataError("frequencies must be ascending")
    return f, y


def robust_rms(y, clip: float = 3.0, iterations: int = 10) -> float:
    """Robust standard deviation of the noise in ``y`` (NaNs ignored).

    sigma = 1.4826 median(|y - median(y)|), recomputed on the points within ``clip`` sigma of
    the median until the kept set stops changing.
    """
    v = np.asarray(y, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise SpectrumDataError("no finite intensity to estimate the rms from")
    keep = v
    sigma = 0.0
    for _ in range(iterations):
        med = np.median(keep)
        sigma = MAD_TO_SIGMA * np.median(np.abs(keep - med))
        if sigma == 0:
            break
        new = v[np.abs(v - med) <= clip * sigma]
        if new.size == keep.size:
            break
        keep = new
    return float(sigma)


def channel_rms(freq_mhz, intensity, min_channels: int = 32) -> np.ndarray:
    """Per-channel noise: :func:`robust_rms` of each window (windows of a file often come from
    different receivers or integrations); windows shorter than ``min_channels`` get the global
    value."""
    f = np.asarray(freq_mhz, dtype=float)
    y = np.asarray(intensity, dtype=float)
    out = np.full(f.size, np.nan)
    for w in window_slices(f):
        seg = y[w]
        if w.stop - w.start >= min_channels and np.any(np.isfinite(seg)):
            out[w] = robust_rms(seg - np.nanmedian(seg))
    if np.any(np.isnan(out)):
        out[np.isnan(out)] = robust_rms(y - np.nanmedian(y))
    if np.any(out <= 0):
        raise SpectrumDataError("the noise is zero in a window (constant intensity?): give the rms")
    return out


@dataclass
class Features:
    """Found features as equal-length arrays (one entry per feature, sorted by frequency).

    freq_mhz: peak frequency (parabola through the 3 top channels); peak_k: signed height above
    the baseline (negative for absorption); snr: detection significance (peak / rms of the
    searched, possibly smoothed, spectrum); fwhm_kms: width at half height;
    area_k_kms: Gaussian-equivalent area peak x fwhm x 1.0645; index: peak channel;
    fmin_mhz/fmax_mhz: half-height extent.
    """

    freq_mhz: np.ndarray
    peak_k: np.ndarray
    snr: np.ndarray
    fwhm_kms: np.ndarray
    area_k_kms: np.ndarray
    index: np.ndarray
    fmin_mhz: np.ndarray
    fmax_mhz: np.ndarray
    rms: float

    def __len__(self) -> int:
        return int(self.freq_mhz.size)

    def __getitem__(self, key) -> "Features":
        return Features(*(getattr(self, n)[key] for n in
                          ("freq_mhz", "peak_k", "snr", "fwhm_kms", "area_k_kms", "index",
                           "fmin_mhz", "fmax_mhz")), rms=self.rms)

    @property
    def kind(self) -> np.ndarray:
        return np.where(self.peak_k >= 0, "emission", "absorption")

    def to_records(self) -> list[dict]:
        return [
            {"freq_mhz": float(self.freq_mhz[i]), "peak_k": float(self.peak_k[i]),
             "snr": float(self.snr[i]), "fwhm_kms": float(self.fwhm_kms[i]),
             "area_k_kms": float(self.area_k_kms[i]), "kind": str(self.kind[i])}
            for i in range(len(self))
        ]


def gaussian_smooth(y: np.ndarray, sigma_channels: float) -> np.ndarray:
    """Convolve with a unit-area Gaussian of ``sigma_channels`` (edges reflected, 4-sigma kernel)."""
    if sigma_channels <= 0.3:
        return y
    half = int(math.ceil(4.0 * sigma_channels))
    x = np.arange(-half, half + 1)
    k = np.exp(-0.5 * (x / sigma_channels) ** 2)
    k /= k.sum()
    if half >= y.size:  # kernel wider than the spectrum: only the mean survives
        return np.full_like(y, float(np.mean(y)))
    padded = np.concatenate((y[:half][::-1], y, y[::-1][:half]))  # half-sample symmetric
    out = np.convolve(padded, k, mode="same")
    return out[half:half + y.size]


def _peaks(s: np.ndarray, height: float) -> np.ndarray:
    """Indices of the peaks of ``s`` higher than ``height`` and separated by a dip of at least
    ``height`` below the lower of two neighbouring peaks (a prominence criterion)."""
    n = s.size
    if n < 3:
        return np.empty(0, dtype=int)
    mid = s[1:-1]
    pk = np.flatnonzero((mid > s[:-2]) & (mid >= s[2:]) & (mid > height)) + 1
    while pk.size > 1:
        dips = np.minimum.reduceat(s, pk)[:-1]  # min between consecutive peaks (from the left one)
        lower = np.minimum(s[pk[:-1]], s[pk[1:]])
        merge = dips > lower - height
        if not merge.any():
            break
        # in each merging pair drop the lower peak; resolve one pair per peak per pass
        drop = np.zeros(pk.size, dtype=bool)
        left_lower = s[pk[:-1]] < s[pk[1:]]
        i = np.flatnonzero(merge)
        drop[np.where(left_lower[i], i, i + 1)] = True
        pk = pk[~drop]
    return pk


def _half_widths(s: np.ndarray, pk: np.ndarray, top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fractional channel positions where ``s`` falls to half of ``top`` left and right of each peak."""
    n = s.size
    left = np.empty(pk.size)
    right = np.empty(pk.size)
    for k, (i, t) in enumerate(zip(pk, top)):
        h = 0.5 * t
        span = 64
        while True:
            a = max(0, i - span)
            seg = s[a:i + 1][::-1]
            below = np.flatnonzero(seg <= h)
            if below.size or a == 0:
                break
            span *= 4
        if below.size:
            j = i - below[0]  # s[j] <= h < s[j + 1]
            left[k] = j + (h - s[j]) / (s[j + 1] - s[j]) if s[j + 1] != s[j] else j
        else:
            left[k] = 0.0
        span = 64
        while True:
            b = min(n, i + span + 1)
            seg = s[i:b]
            below = np.flatnonzero(seg <= h)
            if below.size or b == n:
                break
            span *= 4
        if below.size:
            j = i + below[0]  # s[j] <= h < s[j - 1]
            right[k] = j - (h - s[j]) / (s[j - 1] - s[j]) if s[j - 1] != s[j] else j
        else:
            right[k] = n - 1.0
    return left, right


def find_features(freq_mhz, intensity, rms: float | None = None, threshold: float = 3.0,
                  baseline=None, min_channels: int = 1, absorption: bool = True,
                  smooth_kms: float = 0.0) -> Features:
    """Find emission (and absorption) features higher than ``threshold x rms``.

    ``baseline``: None (median of each window), a number, or an array like ``intensity``.
    ``rms``: None (:func:`channel_rms`: robust rms of each window), a number or a per-channel
    array; it is the rms of the raw spectrum. ``smooth_kms``: FWHM of a Gaussian smoothing applied before the
    search (a matched filter: lines of similar width gain signal-to-noise, one-channel spikes
    lose it); the threshold then applies to the smoothed spectrum and its own rms, and peak
    heights and widths are deconvolved back to the raw spectrum (exact for Gaussian lines;
    areas are unchanged by a unit-area kernel).
    """
    f, y = check_arrays(freq_mhz, intensity)
    windows = window_slices(f)
    if baseline is None:
        base = np.empty_like(y)
        for w in windows:
            base[w] = np.nanmedian(y[w])
    else:
        base = np.broadcast_to(np.asarray(baseline, dtype=float), y.shape)
    d = y - base
    rms_arr = channel_rms(f, d) if rms is None else np.broadcast_to(np.asarray(rms, dtype=float), f.shape)
    if not np.all(rms_arr > 0):
        raise SpectrumDataError(f"rms must be positive (got {float(np.min(rms_arr))})")
    cols: dict[str, list] = {k: [] for k in ("idx", "peak", "fwhm", "fmin", "fmax", "fpk", "snr")}
    for w in windows:
        fw, dw = f[w], np.nan_to_num(d[w])
        if fw.size < 3:
            continue
        rms = float(np.median(rms_arr[w]))
        chan_kms = float(np.median(np.diff(fw) / fw[:-1])) * C_LIGHT_KMS
        sig_k = smooth_kms / chan_kms * FWHM_TO_SIGMA if smooth_kms > 0 else 0.0
        if sig_k > 0.3:
            dw = gaussian_smooth(dw, sig_k)
            # rms of the smoothed noise: white noise through the kernel (sum of squared weights)
            height = threshold * rms / math.sqrt(2.0 * math.sqrt(math.pi) * sig_k)
        else:
            sig_k = 0.0
            height = threshold * rms
        for sign in ((1.0, -1.0) if absorption else (1.0,)):
            s = sign * dw
            pk = _peaks(s, height)
            if pk.size == 0:
                continue
            ch = np.arange(fw.size)
            # parabola through the three top channels: first height, for the half-height widths
            i0 = np.clip(pk, 1, fw.size - 2)
            ym, y0, yp = s[i0 - 1], s[i0], s[i0 + 1]
            den = ym - 2 * y0 + yp
            off = np.where(den < 0, 0.5 * (ym - yp) / np.where(den < 0, den, -1.0), 0.0)
            off = np.clip(off, -0.5, 0.5)
            top = np.maximum(y0 - 0.25 * (ym - yp) * off, s[pk])
            left, right = _half_widths(s, pk, top)
            wid = right - left
            if min_channels > 1:
                ok = wid >= min_channels
                pk, top, left, right, wid, off = pk[ok], top[ok], left[ok], right[ok], wid[ok], off[ok]
            # less noisy than the top channels: the centroid above half height, and the mean over
            # the central half-width divided by its value for a Gaussian of unit peak
            cs = np.concatenate(([0.0], np.cumsum(s)))
            csi = np.concatenate(([0.0], np.cumsum(s * ch)))
            a = np.ceil(left).astype(int)
            b = np.floor(right).astype(int) + 1
            wsum = cs[b] - cs[a]
            centre = np.where((b - a >= 3) & (wsum > 0), (csi[b] - csi[a]) / np.where(wsum > 0, wsum, 1.0),
                              pk + off)
            a2 = np.ceil(centre - wid / 4).astype(int).clip(0, fw.size)
            b2 = (np.floor(centre + wid / 4).astype(int) + 1).clip(0, fw.size)
            n2 = b2 - a2
            mean_c = (cs[b2] - cs[a2]) / np.maximum(n2, 1)
            top = np.where(n2 >= 3, mean_c / _CENTRAL_MEAN, top)
            # width from the area over +-1.5 half-height widths (the half-height crossings of a
            # noisy line come early); kept within [0.7, 1.6] of the crossing width for blends
            a3 = np.ceil(centre - 1.5 * wid).astype(int).clip(0, fw.size)
            b3 = (np.floor(centre + 1.5 * wid).astype(int) + 1).clip(0, fw.size)
            area_ch = cs[b3] - cs[a3]
            wid_area = np.where(top > 0, area_ch / (GAUSS_AREA * np.where(top > 0, top, 1.0)), wid)
            wid_new = np.clip(wid_area, 0.7 * wid, 1.6 * wid)
            left, right = centre - 0.5 * wid_new, centre + 0.5 * wid_new
            wid = wid_new
            fpk = np.interp(centre, ch, fw)
            fl, fr = np.interp(left, ch, fw), np.interp(right, ch, fw)
            cols["snr"].append(top * threshold / height)
            fwhm = np.abs(fr - fl) / fpk * C_LIGHT_KMS
            if sig_k > 0:
                # deconvolve: sigma_obs^2 = sigma_line^2 + sigma_kernel^2, peak x sigma conserved
                s_obs = wid * FWHM_TO_SIGMA
                s_line = np.sqrt(np.maximum(s_obs**2 - sig_k**2, 0.25))
                top = top * s_obs / s_line
                fwhm = fwhm * s_line / s_obs
            cols["idx"].append(pk + w.start)
            cols["peak"].append(sign * top)
            cols["fwhm"].append(fwhm)
            cols["fmin"].append(fl)
            cols["fmax"].append(fr)
            cols["fpk"].append(fpk)
    if not cols["idx"]:
        e = np.empty(0)
        return Features(e, e, e, e, e, np.empty(0, dtype=int), e, e, float(np.median(rms_arr)))
    cat = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.argsort(cat["fpk"], kind="stable")
    peak = cat["peak"][order]
    fwhm = cat["fwhm"][order]
    return Features(cat["fpk"][order], peak, cat["snr"][order], fwhm, peak * fwhm * GAUSS_AREA,
                    cat["idx"][order].astype(int), cat["fmin"][order], cat["fmax"][order],
                    float(np.median(rms_arr)))
