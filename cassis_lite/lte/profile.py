"""Sum of Gaussian opacity profiles on a frequency grid, sparse in frequency.

Each line only touches the channels within a few standard deviations of its centre. The
windows are found with :func:`numpy.searchsorted` on the (ascending, possibly irregular) grid;
lines with similar window lengths are evaluated together as one 2-D (lines x channels) block
of channel indices (broadcast, no per-pair gathers of line parameters), and the opacities are
summed per channel with :func:`numpy.bincount`. No Python loop runs over lines or channels, only
over a few blocks (window lengths within 25 %, at most ``CHUNK_PAIRS`` pairs each), so the cost
grows as (lines x channels-per-line + channels).

Truncation: a line of peak tau_0 is evaluated within n sigma of its centre, with
n = max(6, sqrt(2 ln(tau_0 / 1e-9))): what is left out of each line is at most exp(-18) = 1.5e-8
of its peak (thin lines) and at most 1e-9 in opacity (very thick lines, whose far wings still
matter in 1 - exp(-tau)). On real forests the truncated sum is within 1e-8 of the dense one
relative to its maximum (tests/test_lte_profile.py, test_lte_compute.py, test_lte_pyspeckit.py).

Precision: a line Doppler-shifted by v is centred at nu_0 + delta with delta = -nu_0 v / c. The
offset of a channel f from the centre is computed as (f - nu_0) - delta, not f - (nu_0 + delta):
f and nu_0 are close, so f - nu_0 is exact, and the offset keeps full relative precision. Rounding
nu_0 + delta first would leave an absolute error of 1e-16 nu_0 (5e-11 MHz at 500 GHz, i.e.
3e-11 km/s), which makes the model jitter at 1e-11 as v moves: the finite-difference Jacobian of a
fit in v_lsr (steps of 1e-6 km/s) then carries 1e-5 of noise, enough for CPython and WebAssembly
to report different errors.
"""

from __future__ import annotations

import numpy as np

#: Minimum half-width of the window in which a line's profile is evaluated, in sigma.
NSIGMA = 6.0

#: Opacity below which the far wings of very optically thick lines are left out.
TAU_FLOOR = 1e-9

#: Half-width (sigma) that the database selection allows for: covers tau_0 up to 5e12.
SELECT_NSIGMA = 10.0

#: Upper bound on the number of (line, channel) pairs held in memory at once (per block).
CHUNK_PAIRS = 1 << 20


def gaussian_sum(grid_mhz, centre_mhz, sigma_mhz, peak, out=None, nsigma=NSIGMA, floor=TAU_FLOOR,
                 shift_mhz=None):
    """Sum over lines of ``peak * exp(-(f - centre)^2 / (2 sigma^2))`` at the grid frequencies f.

    ``grid_mhz`` must be ascending (need not be uniform). ``centre_mhz``, ``sigma_mhz`` and
    ``peak`` are per-line arrays (``sigma_mhz`` may be a scalar), lines in any order. With
    ``shift_mhz`` (per line), each line is centred at ``centre_mhz + shift_mhz``, the offsets
    computed as ``(f - centre_mhz) - shift_mhz`` (see the module docstring). The
    result is added into ``out`` when
    given (float64, same length as the grid) and returned. Each line is evaluated within
    max(nsigma, sqrt(2 ln(|peak| / floor))) sigma of its centre (``floor=None``: nsigma).
    """
    grid_mhz = np.asarray(grid_mhz, dtype=float)
    centre_mhz = np.asarray(centre_mhz, dtype=float)
    nchan = grid_mhz.size
    if out is None:
        out = np.zeros(nchan)
    if centre_mhz.size == 0 or nchan == 0:
        return out
    sigma_mhz = np.broadcast_to(np.asarray(sigma_mhz, dtype=float), centre_mhz.shape)
    peak = np.broadcast_to(np.asarray(peak, dtype=float), centre_mhz.shape)
    shift_mhz = np.broadcast_to(np.asarray(0.0 if shift_mhz is None else shift_mhz, dtype=float),
                                centre_mhz.shape)
    if floor:
        with np.errstate(divide="ignore"):
            n_i = np.sqrt(2.0 * np.log(np.maximum(np.abs(peak) / floor, 1.0)))
        half = np.maximum(n_i, nsigma) * sigma_mhz
    else:
        half = nsigma * sigma_mhz
    shifted = centre_mhz + shift_mhz
    lo = np.searchsorted(grid_mhz, shifted - half, side="left")
    hi = np.searchsorted(grid_mhz, shifted + half, side="right")
    counts = hi - lo
    keep = (counts > 0) & (peak != 0.0)
    if not keep.all():
        lo, hi, counts = lo[keep], hi[keep], counts[keep]
        centre_mhz, sigma_mhz, peak = centre_mhz[keep], sigma_mhz[keep], peak[keep]
        shift_mhz = shift_mhz[keep]
    if counts.size == 0:
        return out
    # sqrt(0.5) / sigma: the exponent is then -(x * scale)^2
    scale = np.sqrt(0.5) / sigma_mhz
    # Lines are grouped by window length (within 25 %); a group is evaluated as a 2-D block
    # (lines x W channels, W its longest window), each line on W consecutive channels starting
    # at its window (moved left at the grid's end): a superset of its window, so nothing is lost.
    order = np.argsort(counts, kind="stable")
    sorted_counts = counts[order]
    i, n = 0, order.size
    while i < n:
        limit = max(int(sorted_counts[i] * 1.25), int(sorted_counts[i]) + 8)
        end = int(np.searchsorted(sorted_counts, limit, side="right"))
        width = int(sorted_counts[end - 1])
        end = min(end, i + max(1, CHUNK_PAIRS // width))
        width = int(sorted_counts[end - 1])
        idx = order[i:end]
        _block(grid_mhz, np.minimum(lo[idx], nchan - width), width, centre_mhz[idx], shift_mhz[idx], scale[idx],
               peak[idx], out)
        i = end
    return out


def _block(grid_mhz, start, width, centre_mhz, shift_mhz, scale, peak, out):
    c0 = int(start.min())
    c1 = int(start.max()) + width
    chan = (start - c0)[:, None] + np.arange(width)
    x = grid_mhz[c0:c1][chan]
    x -= centre_mhz[:, None]
    x -= shift_mhz[:, None]
    x *= scale[:, None]
    x *= x
    np.negative(x, out=x)
    np.exp(x, out=x)
    x *= peak[:, None]
    out[c0:c1] += np.bincount(chan.ravel(), weights=x.ravel(), minlength=c1 - c0)


def gaussian_sum_dense(grid_mhz, centre_mhz, sigma_mhz, peak):
    """Reference dense sum (every line on every channel): memory lines x channels; tests only."""
    grid_mhz = np.asarray(grid_mhz, dtype=float)[None, :]
    c = np.asarray(centre_mhz, dtype=float)[:, None]
    s = np.broadcast_to(np.asarray(sigma_mhz, dtype=float), np.shape(centre_mhz))[:, None]
    p = np.asarray(peak, dtype=float)[:, None]
    return (p * np.exp(-0.5 * ((grid_mhz - c) / s) ** 2)).sum(axis=0)
