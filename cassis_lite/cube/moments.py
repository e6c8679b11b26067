"""Moment maps of a cube over a velocity range.

With v_i the LSR velocity of channel i (radio convention about the rest frequency,
:meth:`Cube.velocity_kms`), dv_i = |dv/di| its width (the gradient of v over the channels) and
I_i the intensity, over the channels with vmin <= v_i <= vmax whose value is finite (NaN
channels are left out, not counted as zero):

    MOM0 = sum I_i dv_i                                 (cube unit x km/s)
    MOM1 = sum I_i v_i dv_i / MOM0                      (km/s, intensity-weighted velocity)
    MOM2 = sqrt(sum I_i (v_i - MOM1)^2 dv_i / MOM0)     (km/s, velocity dispersion)
    PEAK = max I_i                                      (cube unit)

as spectral-cube defines ``moment0``, ``moment1`` and ``linewidth_sigma`` (= sqrt of its
``moment2``). A pixel without a finite channel, or whose MOM0 is not positive, gets NaN in MOM1
and MOM2 (and in all maps if it has no finite channel). The cube is read in blocks of rows (32
MiB of float64 each, with one work array of the same size), so memory stays bounded whatever
its size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cassis_lite.cube.cube import Cube, CubeError, _row_blocks

BLOCK_BYTES = 64 * 2**20  # two block-sized float64 arrays at a time: ~64 MiB of heap


@dataclass
class MomentMaps:
    """Maps (ny, nx) of :func:`moment_maps`; ``unit`` is the cube's intensity unit."""

    mom0: np.ndarray = field(repr=False)
    mom1: np.ndarray = field(repr=False)
    mom2: np.ndarray = field(repr=False)
    peak: np.ndarray = field(repr=False)
    unit: str
    vmin_kms: float
    vmax_kms: float
    rest_freq_mhz: float
    channels: tuple[int, int]  # first and last+1 channel used (file order)

    def maps(self) -> dict[str, tuple[np.ndarray, str]]:
        """HDU name -> (map, unit), the order :func:`write_maps_fits` writes."""
        u = self.unit or ""
        return {"MOM0": (self.mom0, f"{u} km/s".strip()), "MOM1": (self.mom1, "km/s"),
                "MOM2": (self.mom2, "km/s"), "PEAK": (self.peak, u)}

    def cards(self) -> list[tuple[str, object]]:
        return [("RESTFRQ", float(self.rest_freq_mhz) * 1e6), ("VMIN", float(self.vmin_kms)),
                ("VMAX", float(self.vmax_kms)), ("CHAN0", int(self.channels[0])), ("CHAN1", int(self.channels[1]))]


def channel_range(velocity_kms: np.ndarray, vmin_kms, vmax_kms) -> tuple[int, int]:
    """(c0, c1): the channels c0 <= i < c1 whose velocity lies in [vmin, vmax] (all when both
    are None); the velocity axis is monotonic, so they are contiguous."""
    v = np.asarray(velocity_kms, dtype=float)
    lo = -np.inf if vmin_kms is None else float(vmin_kms)
    hi = np.inf if vmax_kms is None else float(vmax_kms)
    if lo > hi:
        lo, hi = hi, lo
    inside = np.flatnonzero((v >= lo) & (v <= hi))
    if inside.size == 0:
        raise CubeError(f"no channel between {lo:g} and {hi:g} km/s (the cube covers "
                        f"{v.min():.6g} to {v.max():.6g} km/s)")
    return int(inside[0]), int(inside[-1]) + 1


def moment_maps(cube: Cube, vmin_kms: float | None = None, vmax_kms: float | None = None,
                rest_freq_mhz: float | None = None, progress=None, block_bytes: int = BLOCK_BYTES) -> MomentMaps:
    """MOM0, MOM1, MOM2 and PEAK of ``cube`` over vmin..vmax km/s (all channels when both are
    None), velocities about ``rest_freq_mhz`` (default the cube's RESTFRQ).

    ``progress(rows_done, rows_total)`` is called after each block of rows (the browser can
    update a bar); returning False stops with :class:`CubeError`.
    """
    rest = rest_freq_mhz or cube.rest_freq_mhz
    if not rest:
        raise CubeError(f"{cube.name}: no rest frequency (RESTFRQ) in the header: give the line's "
                        "(--line FREQ_MHZ on the command line)")
    v_all = cube.velocity_kms(rest)
    c0, c1 = channel_range(v_all, vmin_kms, vmax_kms)
    dv_all = np.abs(np.gradient(v_all)) if v_all.size > 1 else np.ones(1)
    v = v_all[c0:c1]
    dv = dv_all[c0:c1]
    shape = (cube.ny, cube.nx)
    mom0, mom1, mom2, peak = (np.full(shape, np.nan) for _ in range(4))
    vc = v[:, None, None]
    for (y0, y1), _ in _row_blocks(0, cube.ny, cube.nx * (c1 - c0), block_bytes // 2):
        data = cube.planes(y0, y1, channels=slice(c0, c1))  # (channels, rows, nx), a converted copy
        with np.errstate(invalid="ignore", divide="ignore"):
            pk = np.fmax.reduce(data, axis=0)  # NaN only where every channel is
            any_good = np.isfinite(pk)
            np.nan_to_num(data, copy=False, nan=0.0)
            data *= dv[:, None, None]  # I_i dv_i
            m0 = data.sum(axis=0)
            positive = any_good & (m0 > 0)
            safe = np.where(positive, m0, 1.0)
            m1 = np.where(positive, np.einsum("cyx,c->yx", data, v) / safe, np.nan)
            tmp = vc - np.where(positive, m1, 0.0)[None]
            tmp *= tmp
            tmp *= data
            var = np.where(positive, tmp.sum(axis=0) / safe, np.nan)
            del tmp
        mom0[y0:y1] = np.where(any_good, m0, np.nan)
        mom1[y0:y1] = m1
        mom2[y0:y1] = np.where(var >= 0, np.sqrt(np.where(var >= 0, var, 0.0)), np.nan)
        peak[y0:y1] = pk
        if progress is not None and progress(y1, cube.ny) is False:
            raise CubeError("moment maps cancelled")
    return MomentMaps(mom0, mom1, mom2, peak, cube.y_unit, float(min(v[0], v[-1])), float(max(v[0], v[-1])),
                      float(rest), (c0, c1))
