"""v_lsr (or redshift) of a spectrum by cross-correlation with a line list.

Each channel is mapped, for every line of the list, onto the velocity it would have if it
belonged to that line (radio convention, v = v_file + c (1 - nu / nu_line); for a redshift,
u = ln(nu_line / nu) = ln(1 + z)). The weighted sum of these "stacked" spectra, convolved with a
Gaussian of the line width, is the matched-filter cross-correlation; its normalisation by the
template energy makes it a signal-to-noise ratio (Turin 1960; the usual stacking detection).
Its maximum gives the first estimate; a least-squares fit of Gaussian lines at the shifted
positions (common amplitude scale, velocity and width free, weights 1/rms) then gives the value
and its 1-sigma uncertainty from the fit covariance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.analysis.features import channel_rms, check_arrays
from cassis_lite.constants import C_LIGHT_KMS, FWHM_TO_SIGMA
from cassis_lite.errors import CassisError
from cassis_lite.lte.physics import line_shift_mhz
from cassis_lite.units import lsr_velocity_kms, lsr_velocity_to_freq_mhz


class VelocitySearchError(CassisError):
    """The velocity/redshift search cannot be run (no line in range, bad range...)."""


@dataclass
class VelocityResult:
    value: float            # v_lsr (km/s) or z
    error: float            # 1-sigma from the line fit (NaN if the fit failed)
    kind: str               # "vlsr" or "redshift"
    grid: np.ndarray = field(repr=False)   # trial v_lsr (km/s) or z
    ccf: np.ndarray = field(repr=False)    # matched-filter S/N at each trial value
    peak_snr: float = 0.0
    fwhm_kms: float = float("nan")
    n_lines: int = 0

    def report(self) -> str:
        from cassis_lite.fitting.parameters import format_value_error
        name, unit = ("v_lsr", " km/s") if self.kind == "vlsr" else ("z", "")
        return (f"{name} = {format_value_error(self.value, self.error)}{unit} "
                f"(cross-correlation peak S/N {self.peak_snr:.1f}, {self.n_lines} lines, "
                f"fwhm {self.fwhm_kms:.3g} km/s)")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "value": self.value, "error": self.error,
                "peak_snr": self.peak_snr, "fwhm_kms": self.fwhm_kms, "n_lines": self.n_lines}


def _stack_ccf(pieces: list[tuple[np.ndarray, np.ndarray]], w: np.ndarray, lo: float, hi: float,
               step: float, sigma_u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matched-filter S/N on a grid from per-line (u of channels, intensities, 1/rms^2) ``pieces``.

    ``sigma_u`` (per line) is the Gaussian width in u units. Channels are binned on the grid
    (sum of w y and of w^2), then convolved with the Gaussian kernel.
    """
    nbin = int(math.ceil((hi - lo) / step)) + 1
    pad = int(math.ceil(4 * float(np.max(sigma_u)) / step)) + 1
    grid = lo + (np.arange(nbin + 2 * pad) - pad) * step
    s = np.zeros(grid.size)
    e = np.zeros(grid.size)
    for k, (uk, yk, ivk) in enumerate(pieces):
        b = np.rint((uk - grid[0]) / step).astype(np.intp)  # bincount needs intp (int32 in wasm32)
        ok = (b >= 0) & (b < grid.size)
        s += np.bincount(b[ok], weights=w[k] * yk[ok] * ivk[ok], minlength=grid.size)
        e += np.bincount(b[ok], weights=w[k] ** 2 * ivk[ok], minlength=grid.size)
    sig = float(np.median(sigma_u))
    x = np.arange(-pad, pad + 1) * step
    g = np.exp(-0.5 * (x / sig) ** 2)
    num = fftconvolve(s, g, mode="same")
    den = np.sqrt(np.maximum(fftconvolve(e, g**2, mode="same"), 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        ccf = np.where(den > 1e-12 * max(den.max(), 1e-300), num / den, 0.0)
    inside = (grid >= lo - 0.5 * step) & (grid <= hi + 0.5 * step)
    return grid[inside], ccf[inside]


def fftconvolve(a: np.ndarray, k: np.ndarray, mode: str = "same") -> np.ndarray:
    """Linear convolution of ``a`` with an odd-length kernel ``k``, centred ('same'), by FFT."""
    n = a.size + k.size - 1
    nfft = 1 << (n - 1).bit_length()
    full = np.fft.irfft(np.fft.rfft(a, nfft) * np.fft.rfft(k, nfft), nfft)[:n]
    start = (k.size - 1) // 2
    return full[start:start + a.size]


def _refine(grid, ccf):
    i = int(np.argmax(ccf))
    if 0 < i < grid.size - 1:
        ym, y0, yp = ccf[i - 1], ccf[i], ccf[i + 1]
        den = ym - 2 * y0 + yp
        if den < 0:
            off = float(np.clip(0.5 * (ym - yp) / den, -0.5, 0.5))
            return grid[i] + off * (grid[1] - grid[0]), float(y0 - 0.25 * (ym - yp) * off)
    return float(grid[i]), float(ccf[i])


def _line_fit(f, y, rms_arr, lines, w, centre, fwhm_kms, kind, vlsr_file_kms, window_kms):
    """Fit sum_l A w_l G(nu; centre, fwhm) near each line; returns (value, err, fwhm)."""
    from cassis_lite.fitting.parameters import FitError, Parameters, least_squares_fit

    def shifts(val):
        """Line centre minus rest frequency, MHz (kept apart: see cassis_lite.lte.profile)."""
        if kind == "vlsr":
            return line_shift_mhz(lines, val, vlsr_file_kms)
        return lines * (-val / (1 + val))

    c0 = lines + shifts(centre)
    half = c0 * window_kms / C_LIGHT_KMS
    lo = np.searchsorted(f, c0 - half)
    hi = np.searchsorted(f, c0 + half)
    idx = np.unique(np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)] or [np.empty(0, int)])).astype(int)
    if idx.size < 5:
        return centre, float("nan"), fwhm_kms
    fx, yx, sx = f[idx], y[idx], rms_arr[idx]
    amp0 = max(float(np.max(np.abs(yx))), float(np.median(sx)))
    # the centre may move by half the window: in km/s for v_lsr, in z (dz = (1 + z) dv / c) else
    half_range = 0.5 * window_kms if kind == "vlsr" else 0.5 * window_kms / C_LIGHT_KMS * (1 + centre)
    p = Parameters()
    p.add("amp", amp0, min=0.0)
    p.add("centre", centre, min=centre - half_range, max=centre + half_range)
    p.add("fwhm", fwhm_kms, min=fwhm_kms / 20, max=fwhm_kms * 5)

    offsets = fx[:, None] - lines[None, :]  # exact: channel and line frequencies are close

    def resid(v):
        shift = shifts(v["centre"])
        sig = (lines + shift) * v["fwhm"] / C_LIGHT_KMS * FWHM_TO_SIGMA
        d = (offsets - shift[None, :]) / sig[None, :]
        model = v["amp"] * np.sum(w[None, :] * np.exp(-0.5 * d * d), axis=1)
        return (yx - model) / sx

    try:
        r = least_squares_fit(resid, p, max_nfev=200)
    except FitError:
        return centre, float("nan"), fwhm_kms
    c = r.params["centre"]
    err = c.stderr if c.stderr is not None else float("nan")
    return c.value, err, r.params["fwhm"].value


def find_velocity(freq_mhz, intensity, line_freq_mhz, *, weights=None, kind: str = "vlsr",
                  vmin: float = -100.0, vmax: float = 100.0, zmin: float = 0.0, zmax: float = 0.1,
                  fwhm_kms: float = 3.0, vlsr_file_kms: float = 0.0, rms: float | None = None,
                  baseline: float | None = None, absorption: bool = False,
                  refine: bool = True) -> VelocityResult:
    """Find v_lsr (``kind="vlsr"``, range vmin..vmax km/s) or z (``kind="redshift"``).

    ``line_freq_mhz``: rest frequencies of the expected lines; ``weights``: their relative
    expected intensities (e.g. LTE-predicted peaks; default 1). ``absorption``: look for lines
    below the baseline. ``rms``: a number, or None for the robust rms of each spectral window
    (channels are weighted by 1/rms^2 in the cross-correlation and the line fit).
    """
    f, y = check_arrays(freq_mhz, intensity)
    lines = np.atleast_1d(np.asarray(line_freq_mhz, dtype=float))
    w = np.ones_like(lines) if weights is None else np.atleast_1d(np.asarray(weights, dtype=float))
    if w.shape != lines.shape:
        raise VelocitySearchError("weights and line frequencies differ in length")
    if kind not in ("vlsr", "redshift"):
        raise VelocitySearchError(f"unknown kind {kind!r} (vlsr or redshift)")
    if not fwhm_kms > 0:
        raise VelocitySearchError(f"fwhm_kms must be positive (got {fwhm_kms})")
    y = y - (np.nanmedian(y) if baseline is None else baseline)
    if absorption:
        y = -y
    y = np.nan_to_num(y)
    rms_arr = channel_rms(f, y) if rms is None else np.full(f.size, float(rms))
    if not np.all(rms_arr > 0):
        raise VelocitySearchError("rms must be > 0")
    ivar = 1.0 / rms_arr**2
    chan_rel = float(np.median(np.diff(f) / f[:-1]))  # channel width / nu
    if kind == "vlsr":
        if not vmax > vmin:
            raise VelocitySearchError(f"empty velocity range [{vmin}, {vmax}]")
        # lines whose window [vmin, vmax] falls in the spectrum
        fl = lsr_velocity_to_freq_mhz(vmax, lines, vlsr_file_kms)
        fh = lsr_velocity_to_freq_mhz(vmin, lines, vlsr_file_kms)
        lo, hi, step = vmin, vmax, 0.5 * chan_rel * C_LIGHT_KMS
    else:
        if not (zmax > zmin > -1):
            raise VelocitySearchError(f"bad redshift range [{zmin}, {zmax}]")
        fl, fh = lines / (1 + zmax), lines / (1 + zmin)
        lo, hi, step = math.log1p(zmin), math.log1p(zmax), 0.5 * chan_rel
    keep = (fh > f[0]) & (fl < f[-1])
    if not np.any(keep):
        raise VelocitySearchError("no line of the list falls in the spectrum over the searched range")
    lines, w = lines[keep], w[keep]
    step = max(step, (hi - lo) / 2_000_000)  # cap the grid size
    fl, fh = fl[keep], fh[keep]
    margin = 1 + 5 * fwhm_kms / C_LIGHT_KMS
    i0 = np.searchsorted(f, fl / margin)
    i1 = np.searchsorted(f, fh * margin)
    pieces = []
    for k in range(lines.size):
        fk = f[i0[k]:i1[k]]
        if kind == "vlsr":
            uk = lsr_velocity_kms(fk, lines[k], vlsr_file_kms)
        else:
            uk = np.log(lines[k] / fk)
        pieces.append((uk, y[i0[k]:i1[k]], ivar[i0[k]:i1[k]]))
    if kind == "vlsr":
        sigma_u = np.full(lines.size, fwhm_kms * FWHM_TO_SIGMA)
    else:
        sigma_u = np.full(lines.size, fwhm_kms / C_LIGHT_KMS * FWHM_TO_SIGMA)
    grid, ccf = _stack_ccf(pieces, w, lo, hi, step, sigma_u)
    best_u, peak = _refine(grid, ccf)
    value = best_u if kind == "vlsr" else math.expm1(best_u)
    grid_out = grid if kind == "vlsr" else np.expm1(grid)
    err, fwhm = float("nan"), fwhm_kms
    if refine:
        value, err, fwhm = _line_fit(f, y, rms_arr, lines, w, value, fwhm_kms, kind, vlsr_file_kms,
                                     window_kms=6 * fwhm_kms)
    return VelocityResult(float(value), float(err), kind, grid_out, ccf, float(peak), float(fwhm),
                          int(lines.size))


def species_line_weights(db, species, fmin_mhz: float, fmax_mhz: float, tex_k: float = 100.0,
                         fwhm_kms: float = 3.0, eup_max_k: float | None = None,
                         aij_min: float | None = None, min_relative: float = 1e-3):
    """Rest frequencies and LTE weights (thin line-centre opacity per unit N x (J(T_ex) - J(T_cmb)),
    normalised to the strongest) of one species' lines in [fmin, fmax] MHz; lines weaker than
    ``min_relative`` of the strongest are left out."""
    from cassis_lite.constants import T_CMB
    from cassis_lite.lte.physics import line_centre_opacity, rj_temperature_k

    freq, aij, eup, gup = db.model_lines(fmin_mhz, fmax_mhz, [species], eup_max_k=eup_max_k, aij_min=aij_min)
    if freq.size == 0:
        raise VelocitySearchError(f"species {species!r} has no line between {fmin_mhz:g} and {fmax_mhz:g} MHz")
    q = float(db.partition_function(species).q(tex_k))
    tau1 = line_centre_opacity(freq, aij, eup, gup, tex_k, 1.0, q, fwhm_kms)
    w = tau1 * (rj_temperature_k(freq, tex_k) - rj_temperature_k(freq, T_CMB))
    if not np.any(w > 0):
        raise VelocitySearchError(f"species {species!r}: no line with positive LTE intensity at {tex_k:g} K")
    w = w / w.max()
    keep = w >= min_relative
    return freq[keep], w[keep]
