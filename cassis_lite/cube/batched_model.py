"""The LTE model of a fit configuration evaluated for many pixels at once on one grid.

Every pixel of a block has the same channels and the same transitions (selected once for the
whole cube, for every v_lsr and FWHM the parameter bounds allow, as the one-spectrum fit selects
them for its bounds); only T_ex, N, FWHM, v_lsr and size differ. So the model is array
arithmetic on (pixels, lines) and (pixels, channels), with the building blocks of the
one-spectrum model (:mod:`cassis_lite.lte.physics`, :func:`cassis_lite.lte.beam.filling_factor`,
:func:`cassis_lite.lte.compute.convert_tmb`):

    tau_c(p, f) = sum_l tau_0(p, l) exp(-((f - nu_l) - delta_l(p))^2 / (2 sigma_l(p)^2))
    T_mb(p, f)  = B + D - J(T_cmb)   (radiative transfer of :func:`cassis_lite.lte.radiative_transfer`)

with tau_0 from :func:`~cassis_lite.lte.physics.line_centre_opacity` (MS15 eq. 29), the shift
delta = -nu (v_lsr - v_file) / c and sigma = nu FWHM / (c 2 sqrt(2 ln 2)). Each line is
evaluated within max(6, sqrt(2 ln(tau_0 / 1e-9))) sigma of its centre, the truncation of
:mod:`cassis_lite.lte.profile`: the block's window of a line is the union of its pixels'
windows, each pixel's values outside its own window set to zero, so a pixel's model is the one
:class:`cassis_lite.lte.PreparedModel` computes (to rounding).
"""

from __future__ import annotations

import math

import numpy as np

from cassis_lite.errors import ConfigError
from cassis_lite.lte.beam import filling_factor
from cassis_lite.lte.compute import convert_tmb, rest_frequency_range
from cassis_lite.lte.physics import line_centre_opacity, line_shift_mhz, line_sigma_mhz, rj_temperature_k
from cassis_lite.lte.profile import NSIGMA, TAU_FLOOR
from cassis_lite.lte.transfer import LineList

#: (pixels x lines x channels) values evaluated at once per group of lines
MAX_PAIRS = 1 << 22
#: up to this many lines reach the grid: one slice of it per line instead of groups
FEW_LINES = 16


class BatchedLteModel:
    """LTE model of ``config`` (a :class:`~cassis_lite.lte.ModelConfig`, LTE components only) on
    the ascending grid ``freq_mhz`` (MHz), for arrays of parameter values.

    ``dv_range_kms[name]`` / ``fwhm_max_kms[name]`` per component name: the range of v_lsr -
    v_file and the largest FWHM the fit may reach (the transitions are selected once for them).
    """

    def __init__(self, config, freq_mhz, db, dv_range_kms: dict, fwhm_max_kms: dict):
        self.config = config
        self.grid = np.asarray(freq_mhz, dtype=float)
        if self.grid.size > 1 and np.any(np.diff(self.grid) <= 0):
            raise ConfigError("the fit grid must be ascending")
        self.components = []
        for comp in config.components:
            if not comp.enabled:
                continue
            if comp.model != "lte":
                raise ConfigError(f"component {comp.name}: cube fits take LTE components only "
                                  f"(got model {comp.model!r})")
            lo, hi = dv_range_kms[comp.name]
            fmax = fwhm_max_kms[comp.name]
            fmin_mhz, fmax_mhz = (rest_frequency_range(self.grid[0], self.grid[-1], lo, hi, fmax * 1.001)
                                  if self.grid.size else (np.inf, -np.inf))
            parts, pfs = [], []
            for sp in comp.species:
                tr = db.transitions(fmin_mhz, fmax_mhz, species=[sp.species], eup_max_k=sp.eup_max_k,
                                    aij_min=sp.aij_min)
                parts.append((tr.freq_mhz, tr.aij, tr.eup_k, tr.gup))
                pfs.append(db.partition_function(sp.species, partition=config.partition))
            self.components.append((comp, LineList.concatenate(parts), pfs))
        tel = config.telescope
        self.beam = None if tel is None else np.broadcast_to(np.asarray(tel.beam_fwhm_arcsec(self.grid), float),
                                                            self.grid.shape)
        self.j_cmb = rj_temperature_k(self.grid, config.tcmb_k)

    @property
    def n_lines(self) -> int:
        return int(sum(len(lines) for _, lines, _ in self.components))

    def line_frequencies(self, ci: int) -> np.ndarray:
        """Rest frequencies (MHz) of the lines selected for enabled component ``ci``."""
        return self.components[ci][1].freq_mhz

    def evaluate(self, values: list[dict], n: int) -> tuple[np.ndarray, np.ndarray]:
        """(intensity (n, channels) in the config's unit, valid (n,) bool) for per-component values.

        ``values[ci]`` (one per enabled component) holds ``tex_k``, ``fwhm_kms``, ``vlsr_kms``,
        ``size_arcsec`` (None: fills the beam), ``ntot_cm2`` (list per species) and
        ``species_fwhm_kms`` (list per species, None: the component's), each a float or an (n,)
        array. ``valid`` is False for pixels whose T_ex is outside a partition-function table.
        """
        valid = np.ones(n, dtype=bool)
        layers = []
        for (comp, lines, pfs), val in zip(self.components, values):
            tex = _column(val["tex_k"], n)
            q = np.empty((n, len(pfs)))
            for s, pf in enumerate(pfs):
                tmin, tmax = pf.t_range_k
                ok = (tex >= tmin * (1 - 1e-12)) & (tex <= tmax * (1 + 1e-12))
                valid &= ok
                q[:, s] = 10.0 ** np.atleast_1d(pf.log10_q_at(np.clip(tex, tmin, tmax)))
            tau = np.zeros((n, self.grid.size))
            if len(lines):
                s_idx = lines.species_index
                ntot = np.stack([_column(v, n) for v in val["ntot_cm2"]], axis=1)[:, s_idx]
                fw_sp = [val["fwhm_kms"] if f is None else f for f in val["species_fwhm_kms"]]
                fwhm = np.stack([_column(v, n) for v in fw_sp], axis=1)[:, s_idx]
                tau0 = line_centre_opacity(lines.freq_mhz[None, :], lines.aij[None, :], lines.eup_k[None, :],
                                           lines.gup[None, :], tex[:, None], ntot, q[:, s_idx], fwhm)
                shift = line_shift_mhz(lines.freq_mhz[None, :], _column(val["vlsr_kms"], n)[:, None],
                                       self.config.vlsr_file_kms)
                sigma = line_sigma_mhz(lines.freq_mhz[None, :], fwhm)
                full = (n, len(lines))
                gaussian_sum_rows(self.grid, lines.freq_mhz, np.broadcast_to(shift, full),
                                  np.broadcast_to(sigma, full), np.broadcast_to(tau0, full), tau)
            ff = 1.0
            if val.get("size_arcsec") is not None and self.beam is not None:
                ff = filling_factor(1.0, self.beam[None, :] / _column(val["size_arcsec"], n)[:, None])
            layers.append((tex, tau, ff, comp.interacting))
        tmb = self._transfer(layers, n)
        return convert_tmb(self.grid, tmb, self.config), valid

    def _transfer(self, layers, n):
        """Radiative transfer of :func:`cassis_lite.lte.transfer.radiative_transfer`, per pixel:
        B = T_c + J(T_cmb), D = 0; a non-interacting layer adds ff (J(T_ex) - B)(1 - e^-tau) to D,
        an interacting one first sets B := B + D, then D := its term; T_mb = B + D - J(T_cmb)."""
        background = np.broadcast_to(self.j_cmb + self.config.tc_k, (n, self.grid.size)).copy()
        delta = np.zeros((n, self.grid.size))
        for tex, tau, ff, interacting in layers:
            if interacting:
                background += delta
            term = np.expm1(-tau)
            # a fixed T_ex (a broadcast scalar) needs J(T_ex) once, not per pixel
            t = tex[:1, None] if tex.strides == (0,) else tex[:, None]
            term *= background - rj_temperature_k(self.grid[None, :], t)
            if not (np.ndim(ff) == 0 and ff == 1.0):
                term *= ff
            if interacting:
                delta = term
            else:
                delta += term
        background += delta
        background -= self.j_cmb
        return background


def _column(value, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=float), (n,))


def gaussian_sum_rows(grid, centre, shift, sigma, peak, out, nsigma=NSIGMA, floor=TAU_FLOOR):
    """Add to ``out`` (n, channels) the sum over lines of peak exp(-((f - centre) - shift)^2 / (2 sigma^2)).

    ``centre`` (lines,); ``shift``, ``sigma``, ``peak`` (n, lines). Each pixel's line is kept
    within max(nsigma, sqrt(2 ln(|peak| / floor))) sigma of its centre (as
    :func:`cassis_lite.lte.profile.gaussian_sum`); lines are evaluated in groups of similar
    window length as (n, lines, width) blocks, summed per channel with ``bincount`` (or, for a
    few lines, each added on its slice of the grid).
    """
    n, nchan = out.shape
    if centre.size == 0 or nchan == 0:
        return out
    with np.errstate(divide="ignore"):
        n_i = np.sqrt(2.0 * np.log(np.maximum(np.abs(peak) / floor, 1.0)))
    half = np.maximum(n_i, nsigma) * sigma
    shifted = centre[None, :] + shift
    lo = np.searchsorted(grid, shifted - half, side="left")
    hi = np.searchsorted(grid, shifted + half, side="right")
    lo_l = lo.min(axis=0)
    width = hi.max(axis=0) - lo_l
    use = np.flatnonzero((width > 0) & np.any(peak != 0.0, axis=0))
    if use.size == 0:
        return out
    if use.size <= FEW_LINES:
        # a few lines: each on its window as a slice of the grid (no index arrays, no bincount)
        scale = math.sqrt(0.5) / sigma
        for line in use:
            a, b = int(lo_l[line]), int(lo_l[line] + width[line])
            chan = np.arange(a, b)
            x = (grid[a:b] - centre[line])[None, :] - shift[:, line:line + 1]
            inside = (chan[None, :] >= lo[:, line:line + 1]) & (chan[None, :] < hi[:, line:line + 1])
            x *= scale[:, line:line + 1]
            x *= x
            np.negative(x, out=x)
            np.exp(x, out=x)
            x *= peak[:, line:line + 1]
            x *= inside
            out[:, a:b] += x
        return out
    order = use[np.argsort(width[use], kind="stable")]
    w_sorted = width[order]
    flat = out.reshape(-1)
    rows = (np.arange(n) * nchan)[:, None, None]
    i = 0
    while i < order.size:
        limit = max(int(w_sorted[i] * 1.25), int(w_sorted[i]) + 8)
        end = int(np.searchsorted(w_sorted, limit, side="right"))
        wg = int(w_sorted[end - 1])
        end = min(end, i + max(1, MAX_PAIRS // max(n * wg, 1)))
        wg = int(w_sorted[end - 1])
        g = order[i:end]
        start = np.minimum(lo_l[g], nchan - wg)
        chan = start[:, None] + np.arange(wg)  # (lines, wg)
        # (f - nu_0) - delta: f and nu_0 are close, so the offset keeps full precision
        x = (grid[chan] - centre[g][:, None])[None, :, :] - shift[:, g][:, :, None]
        inside = (chan[None, :, :] >= lo[:, g][:, :, None]) & (chan[None, :, :] < hi[:, g][:, :, None])
        x *= (math.sqrt(0.5) / sigma[:, g])[:, :, None]
        x *= x
        np.negative(x, out=x)
        np.exp(x, out=x)
        x *= peak[:, g][:, :, None]
        x *= inside
        flat += np.bincount((rows + chan[None, :, :]).ravel(), weights=x.ravel(), minlength=flat.size)
        i = end
    return out


#: km/s margin of the line selection when a v_lsr has no bounds (the one-spectrum fit's)
UNBOUNDED_VLSR_MARGIN_KMS = 50.0


def velocity_span(value: float, lo: float, hi: float) -> tuple[float, float]:
    """The v_lsr range a free v_lsr may reach: its bounds, or +-50 km/s around the start."""
    a = lo if math.isfinite(lo) else value - UNBOUNDED_VLSR_MARGIN_KMS
    b = hi if math.isfinite(hi) else value + UNBOUNDED_VLSR_MARGIN_KMS
    return min(a, value), max(b, value)


__all__ = ["BatchedLteModel", "gaussian_sum_rows", "velocity_span"]
