"""LTE fit of every pixel of a cube: maps of the free parameters, their 1-sigma errors, chi2_red.

The fit configuration is the JSON of ``cassis-lite fit`` (:mod:`cassis_lite.fitting.lte_fit`):
the same parameters (free, bounded, tied, fixed; N in log10), fit windows, weights
sigma = sqrt(rms^2 + (cal I)^2) (``fit.rms_k``, or the robust rms of each pixel's spectrum) and
the same minimum: each pixel's result is what :meth:`LteModel.fit` gives on its spectrum, within
the errors (tests/test_cube_fit.py), but the pixels of a block are fitted together: one batched
Levenberg-Marquardt (:mod:`cassis_lite.cube.lm`) on the batched LTE model
(:mod:`cassis_lite.cube.batched_model`), no Python loop over pixels.

Per block of the sky plane (:meth:`CubeFitter.fit_block`, independent of the other blocks, so
blocks can run in any order, in parallel, or one by one in the browser):

1. the spectra of the block (ascending frequency), the fit channels (windows), sigma per
   channel;
2. pixels whose signal-to-noise ratio, max |I - continuum| over the fit channels divided by the
   median rms, is below ``snr`` are left blank (NaN), as are pixels with fewer valid channels
   than free parameters;
3. start values: the configuration's, with (one component) v_lsr and FWHM from the moments of
   the significant channels (> 2 rms) around the strongest line, and the column densities
   scaled to the pixel's line strength (linear least squares of the model's line profile);
4. the batched fit; then pixels whose chi2_red is over 1.5 times the median of their fitted
   neighbours' (or that did not converge) are fitted again from the median of the neighbours'
   solutions, and the better of the two kept.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.cube.batched_model import BatchedLteModel, velocity_span
from cassis_lite.cube.cube import Cube, CubeError
from cassis_lite.cube.lm import levenberg_marquardt
from cassis_lite.cube.noise import fit_sigma_rows
from cassis_lite.errors import ConfigError
from cassis_lite.fitting.lte_fit import fit_mask, split_fit_config
from cassis_lite.fitting.parameters import parameter_label
from cassis_lite.lte.config import ModelConfig
from cassis_lite.units import lsr_velocity_kms

#: default block side (pixels) for grids of up to ~2000 fit channels
DEFAULT_BLOCK = 32
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


@dataclass
class BlockResult:
    """Maps of one block: ``box`` (y0, y1, x0, x1), ``maps`` name -> (y1 - y0, x1 - x0) array,
    ``n_fitted`` pixels fitted, ``n_pixels`` in the block, ``nfev`` batched model evaluations."""

    box: tuple[int, int, int, int]
    maps: dict = field(repr=False)
    n_fitted: int = 0
    n_pixels: int = 0
    nfev: int = 0


@dataclass
class FitMaps:
    """Maps (ny, nx) of a cube fit: ``arrays`` name -> array, ``units`` name -> unit, in the
    order written (each free parameter then its ``_ERR``, then ``REDCHI2``); NaN where not
    fitted. ``parameters`` maps each parameter's map name to its CASSIS name (``c1_tex``...).
    ``blocks_done`` of ``blocks_total`` are filled (the browser fills them one by one)."""

    arrays: dict = field(repr=False)
    units: dict
    parameters: dict
    snr: float
    blocks_done: int = 0
    blocks_total: int = 0

    @property
    def complete(self) -> bool:
        return self.blocks_done == self.blocks_total

    def insert(self, result: BlockResult) -> None:
        """Copy a block's maps in."""
        y0, y1, x0, x1 = result.box
        for name, values in result.maps.items():
            self.arrays[name][y0:y1, x0:x1] = values
        self.blocks_done += 1

    def maps(self) -> dict[str, tuple[np.ndarray, str]]:
        """HDU name -> (map, unit), the order :func:`write_maps_fits` writes."""
        return {n: (a, self.units[n]) for n, a in self.arrays.items()}

    def cards(self) -> list[tuple[str, object]]:
        return [("SNRCUT", float(self.snr))]

    @property
    def n_fitted(self) -> int:
        return int(np.isfinite(self.arrays["REDCHI2"]).sum())


_SHORT = {"tex_k": "TEX", "fwhm_kms": "FWHM", "vlsr_kms": "VLSR", "size_arcsec": "SIZE", "ntot_cm2": "NTOT"}


def map_name(config: ModelConfig, slot, single_component: bool) -> str:
    """HDU name of a parameter: ``TEX``, ``VLSR``, ``FWHM``, ``SIZE``, ``NTOT_<species>``,
    ``FWHM_<species>`` (a species' own width), prefixed by the component's name (``C2_TEX``)
    when the configuration has several components."""
    ci, si, key = slot
    comp = config.components[ci]
    name = _SHORT[key]
    if si is not None:
        name += "_" + parameter_label(comp.species[si].species)
    return name if single_component else f"{parameter_label(comp.name).upper()}_{name}"


class CubeFitter:
    """Fit ``fit_config`` (the ``cassis-lite fit`` JSON) to every pixel of ``cube``.

    Parameters
    ----------
    cube : Cube
    fit_config : dict
        The fit JSON (parameters as ``{"value", "vary", "min", "max", "expr", "log"}``, the
        ``"fit"`` object with windows, ``rms_k``, ``calibration_percent``, ``max_nfev``).
    db : LineDatabase
    snr : float
        Pixels whose max |I - continuum| over the fit channels is below ``snr`` x rms are blank.
    block : int or (int, int), optional
        Block size (rows, columns) of the sky plane; default 32 x 32, smaller for long grids.

    ``blocks`` lists the blocks (y0, y1, x0, x1); :meth:`fit_block` fits one (independently of
    the others); :meth:`empty_maps` makes the maps to :meth:`FitMaps.insert` results into.
    """

    def __init__(self, cube: Cube, fit_config: dict, db, snr: float = 5.0, block=None):
        if not isinstance(fit_config, dict):
            raise ConfigError("fit configuration must be a JSON object")
        self.cube = cube
        self.snr = float(snr)
        self.db = db
        plain, params, options, slots = split_fit_config(fit_config)
        if "vlsr_file_kms" not in plain:
            plain["vlsr_file_kms"] = cube.vlsr_kms
        self.config = ModelConfig.from_dict(plain)
        self.options = options
        self.params = params
        self.slots = slots
        self.free = params.free_names()
        if not self.free:
            raise ConfigError("no free parameter: set vary=true on at least one")
        enabled = [ci for ci, c in enumerate(self.config.components) if c.enabled]
        self.enabled = enabled
        self.single = len(self.config.components) == 1
        # the ascending frequency axis and the fit channels (the same for every pixel)
        f = cube.freq_mhz
        self._reverse = f.size > 1 and f[0] > f[-1]
        self.freq_mhz = f[::-1].copy() if self._reverse else f.copy()
        self.mask = fit_mask(self.freq_mhz, options, self.config, db)
        if not self.mask.any():
            raise ConfigError("no channel of the cube falls in the fit windows")
        self.fit_freq_mhz = self.freq_mhz[self.mask]
        # internal variables as the one-spectrum fit: log10 for log parameters, value / scale else
        p0 = np.array([params[n].value for n in self.free])
        self.is_log = np.array([params[n].log for n in self.free], dtype=bool)
        self.scale = np.where(p0 != 0, np.abs(p0), 1.0)
        pmin = np.array([params[n].min for n in self.free])
        pmax = np.array([params[n].max for n in self.free])
        with np.errstate(divide="ignore", invalid="ignore"):
            self.lo = np.where(self.is_log, np.where(pmin > 0, np.log10(np.where(pmin > 0, pmin, 1.0)), -np.inf),
                               pmin / self.scale)
            self.hi = np.where(self.is_log, np.log10(np.where(pmax > 0, pmax, 1.0)), pmax / self.scale)
            self.u0 = np.where(self.is_log, np.log10(np.where(self.is_log, p0, 1.0)), p0 / self.scale)
        self.model = BatchedLteModel(self.config, self.fit_freq_mhz, db, *self._selection_ranges())
        self.max_iter = max(10, int(options.get("max_nfev", 2000)) // (len(self.free) + 1))
        # the start model and its continuum, strongest line
        start = self._evaluate(np.array(self.u0)[None, :])[0][0]
        self.continuum = float(np.median(start)) if start.size else 0.0
        dev = start - self.continuum
        self.sign = 1.0 if dev.size == 0 or dev.max() >= -dev.min() else -1.0
        self.ref_channel = int(np.argmax(self.sign * dev)) if dev.size else 0
        self.start_line_depth = float(np.max(self.sign * dev)) if dev.size else 0.0
        if self.start_line_depth <= 0:
            raise ConfigError("the start model has no line in the fit channels: check the species, "
                              "v_lsr and windows of the fit configuration")
        # blocks
        if block is None:
            side = min(DEFAULT_BLOCK, max(4, int(math.sqrt(2**21 / max(self.fit_freq_mhz.size, 1)))))
            block = (side, side)
        elif isinstance(block, int):
            block = (block, block)
        by, bx = int(block[0]), int(block[1])
        if by < 1 or bx < 1:
            raise ConfigError(f"block size must be positive, got {block}")
        self.block_shape = (by, bx)
        self.blocks = [(y0, min(y0 + by, cube.ny), x0, min(x0 + bx, cube.nx))
                       for y0 in range(0, cube.ny, by) for x0 in range(0, cube.nx, bx)]
        self.names = {n: map_name(self.config, slots[n], self.single) for n in self.free}
        self.units = {}
        for n in self.free:
            self.units[self.names[n]] = params[n].unit
            self.units[self.names[n] + "_ERR"] = params[n].unit
        self.units["REDCHI2"] = ""

    # -- set-up -----------------------------------------------------------------------------
    def _param_range(self, name):
        p = self.params[name]
        if p.expr is not None:
            p = self.params[p.expr]
        return p

    def _selection_ranges(self):
        vfile = self.config.vlsr_file_kms
        dv, fw = {}, {}
        for ci in self.enabled:
            comp = self.config.components[ci]
            cname = comp.name
            vname = f"{cname}_vlsr"
            p = self._param_range(vname) if vname in self.params else None
            if p is not None and p.free:
                a, b = velocity_span(p.value, p.min, p.max)
            else:
                a = b = comp.vlsr_kms
            dv[cname] = (a - vfile, b - vfile)
            widths = []
            for name, (c, si, key) in self.slots.items():
                if c != ci or key != "fwhm_kms":
                    continue
                q = self._param_range(name)
                if q.free and q.value > 0:
                    top = q.max if math.isfinite(q.max) else 5 * q.value
                    widths.append(q.value * max(1.0, min(top / q.value, 20.0)))
                else:
                    widths.append(q.value)
            widths += [comp.fwhm_kms] + [s.fwhm_kms for s in comp.species if s.fwhm_kms]
            fw[cname] = max(widths)
        return dv, fw

    # -- model ------------------------------------------------------------------------------
    def physical(self, u: np.ndarray) -> np.ndarray:
        return np.where(self.is_log, 10.0 ** np.where(self.is_log, u, 0.0), u * self.scale)

    def _values(self, u: np.ndarray) -> list[dict]:
        phys = self.physical(u)
        free_col = {n: phys[:, k] for k, n in enumerate(self.free)}

        def value(name):
            p = self.params[name]
            if p.expr is not None:
                return free_col.get(p.expr, self.params[p.expr].value)
            return free_col.get(name, p.value)

        by_slot = {slot: name for name, slot in self.slots.items()}
        out = []
        for ci in self.enabled:
            comp = self.config.components[ci]
            d = {}
            for key, default in (("tex_k", comp.tex_k), ("fwhm_kms", comp.fwhm_kms), ("vlsr_kms", comp.vlsr_kms),
                                 ("size_arcsec", comp.size_arcsec)):
                name = by_slot.get((ci, None, key))
                d[key] = value(name) if name is not None else default
            d["ntot_cm2"] = [value(by_slot[(ci, si, "ntot_cm2")]) if (ci, si, "ntot_cm2") in by_slot else sp.ntot_cm2
                             for si, sp in enumerate(comp.species)]
            d["species_fwhm_kms"] = [value(by_slot[(ci, si, "fwhm_kms")]) if (ci, si, "fwhm_kms") in by_slot
                                     else sp.fwhm_kms for si, sp in enumerate(comp.species)]
            out.append(d)
        return out

    def _evaluate(self, u: np.ndarray):
        return self.model.evaluate(self._values(u), u.shape[0])

    # -- one block ----------------------------------------------------------------------------
    def empty_maps(self) -> FitMaps:
        shape = (self.cube.ny, self.cube.nx)
        maps = {name: np.full(shape, np.nan) for name in self.units}
        return FitMaps(maps, dict(self.units), {self.names[n]: n for n in self.free}, self.snr,
                       0, len(self.blocks))

    def block_spectra(self, box):
        """(intensity (P, channels), ascending frequency) of the block's pixels, row-major."""
        y0, y1, x0, x1 = box
        data = self.cube.block(y0, y1, x0, x1)
        y = data.reshape(-1, data.shape[2])
        return (y[:, ::-1] if self._reverse else y), self.freq_mhz

    def fit_block(self, box) -> BlockResult:
        """Fit the pixels of block ``box`` = (y0, y1, x0, x1); returns its maps."""
        y0, y1, x0, x1 = (int(v) for v in box)
        shape = (y1 - y0, x1 - x0)
        P = shape[0] * shape[1]
        maps = {name: np.full(P, np.nan) for name in self.units}
        y_all, f = self.block_spectra((y0, y1, x0, x1))
        with np.errstate(all="ignore"):
            sigma_all, rms_all = fit_sigma_rows(f, y_all, self.options)
        y = y_all[:, self.mask]
        sig = sigma_all[:, self.mask]
        rms = rms_all[:, self.mask]
        valid = np.isfinite(y) & np.isfinite(sig) & (sig > 0)
        ndata = valid.sum(axis=1)
        K = len(self.free)
        with np.errstate(all="ignore"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                signal = np.nanmax(np.where(valid, self.sign * (y - self.continuum), np.nan), axis=1)
                noise = np.nanmedian(np.where(valid, rms, np.nan), axis=1)
            ratio = signal / noise
        fitted = np.flatnonzero((ndata > K) & np.isfinite(ratio) & (ratio >= self.snr))
        if fitted.size == 0:
            return BlockResult((y0, y1, x0, x1), {n: a.reshape(shape) for n, a in maps.items()}, 0, P, 0)
        yf = np.where(valid[fitted], y[fitted], 0.0)
        sf = np.where(valid[fitted], sig[fitted], 1.0)
        vf = valid[fitted]
        nfev = 0

        def residual(u, rows):
            model, ok = self._evaluate(u)
            r = (yf[rows] - model) / sf[rows]
            r = np.where(vf[rows], r, 0.0)
            if not ok.all():
                r[~ok] = np.where(vf[rows][~ok], 1e10, 0.0)
            return r

        u0 = self._start_values(yf, sf, vf, rms[fitted])
        res = levenberg_marquardt(residual, u0, self.lo, self.hi, ndata[fitted], max_iter=self.max_iter)
        nfev += res.nfev
        u, chi2, cov, conv = res.u, res.chisqr, res.covar, res.converged
        # neighbouring solutions as start values where a pixel's fit is worse than its neighbours'
        redo, starts = self._neighbour_starts(shape, fitted, u, chi2, ndata[fitted] - K, conv)
        if redo.size:
            res2 = levenberg_marquardt(lambda uu, rows: residual(uu, redo[rows]), starts, self.lo, self.hi,
                                       ndata[fitted][redo], max_iter=self.max_iter)
            nfev += res2.nfev
            better = res2.chisqr < chi2[redo]
            b = redo[better]
            u[b], chi2[b], cov[b] = res2.u[better], res2.chisqr[better], res2.covar[better]
        phys = self.physical(u)
        deriv = np.where(self.is_log, phys * math.log(10.0), self.scale)
        with np.errstate(invalid="ignore"):
            err = np.sqrt(np.einsum("pkk->pk", cov)) * deriv
            dof = ndata[fitted] - K
            redchi = chi2 / dof
        for k, n in enumerate(self.free):
            maps[self.names[n]][fitted] = phys[:, k]
            maps[self.names[n] + "_ERR"][fitted] = err[:, k]
        maps["REDCHI2"][fitted] = redchi
        return BlockResult((y0, y1, x0, x1), {n: a.reshape(shape) for n, a in maps.items()},
                           int(fitted.size), P, nfev)

    # -- start values -------------------------------------------------------------------------
    def _start_values(self, y, sigma, valid, rms):
        n = y.shape[0]
        u = np.broadcast_to(self.u0, (n, len(self.free))).copy()
        index = {name: k for k, name in enumerate(self.free)}
        comp = self.config.components[self.enabled[0]]
        cname = comp.name
        if len(self.enabled) == 1:
            # v_lsr and FWHM from the moments of the significant channels around the strongest line
            nu_obs = self.fit_freq_mhz[self.ref_channel]
            lines = self.model.line_frequencies(0)
            if lines.size:
                shifted = lines * (1.0 - (comp.vlsr_kms - self.config.vlsr_file_kms) / 299792.458)
                nu_ref = float(lines[np.argmin(np.abs(shifted - nu_obs))])
                v = lsr_velocity_kms(self.fit_freq_mhz, nu_ref, self.config.vlsr_file_kms)
                vname, fname = f"{cname}_vlsr", f"{cname}_fwhm"
                vp = self.params.get(vname)
                span = (vp.max - vp.min) / 2.0 if vp is not None and math.isfinite(vp.max - vp.min) else 0.0
                vwin = max(2.0 * comp.fwhm_kms, span)
                near = np.abs(v - comp.vlsr_kms) <= vwin
                excess = self.sign * (y - self.continuum)
                w = np.where(valid & near[None, :] & (excess > 2.0 * rms), excess, 0.0)
                sw = w.sum(axis=1)
                ok = sw > 0
                with np.errstate(invalid="ignore", divide="ignore"):
                    m1 = (w * v).sum(axis=1) / np.where(ok, sw, 1.0)
                    m2 = np.sqrt(np.maximum((w * (v - m1[:, None]) ** 2).sum(axis=1) / np.where(ok, sw, 1.0), 0.0))
                dv = float(np.median(np.abs(np.diff(v)))) if v.size > 1 else 0.0
                if vname in index and not self.is_log[index[vname]]:
                    k = index[vname]
                    u[ok, k] = np.clip(m1[ok] / self.scale[k], self.lo[k], self.hi[k])
                if fname in index and not self.is_log[index[fname]]:
                    k = index[fname]
                    good = ok & (FWHM_PER_SIGMA * m2 > 2.0 * dv)
                    u[good, k] = np.clip(FWHM_PER_SIGMA * m2[good] / self.scale[k], self.lo[k], self.hi[k])
        # column densities: the model's line profile scaled to the pixel's (linear least squares)
        ntot = [k for k, name in enumerate(self.free) if self.slots[name][2] == "ntot_cm2"]
        if ntot:
            model, ok = self._evaluate(u)
            m = (model - self.continuum) / sigma
            d = (y - self.continuum) / sigma
            num = np.where(valid, m * d, 0.0).sum(axis=1)
            den = np.where(valid, m * m, 0.0).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                a = np.where(ok & (den > 0) & (num > 0), num / np.where(den > 0, den, 1.0), 1.0)
            a = np.clip(a, 1e-3, 1e3)
            for k in ntot:
                if self.is_log[k]:
                    u[:, k] = np.clip(u[:, k] + np.log10(a), self.lo[k], self.hi[k])
                else:
                    u[:, k] = np.clip(u[:, k] * a, self.lo[k], self.hi[k])
        return u

    def _neighbour_starts(self, shape, fitted, u, chi2, dof, converged):
        """Pixels to fit again (indices into ``fitted``) and their start values: the median of
        the solutions of their fitted 8-neighbours, for pixels whose chi2_red is over 1.5 times
        the neighbours' median or that did not converge."""
        ny, nx = shape
        pos = -np.ones(ny * nx, dtype=int)
        pos[fitted] = np.arange(fitted.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            red = np.where(dof > 0, chi2 / np.where(dof > 0, dof, 1), np.nan)
        grid = pos.reshape(ny, nx)
        padded = np.pad(grid, 1, constant_values=-1)
        neigh = np.stack([padded[1 + dy:1 + dy + ny, 1 + dx:1 + dx + nx]
                          for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)], axis=-1)
        neigh = neigh.reshape(-1, 8)[fitted]  # (F, 8) indices into fitted, -1 none
        has = neigh >= 0
        nred = np.where(has, red[np.where(has, neigh, 0)], np.nan)
        enough = has.sum(axis=1) >= 2
        with np.errstate(invalid="ignore"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                med = np.nanmedian(np.where(enough[:, None], nred, np.nan), axis=1)
        bad = enough & (~converged | ~np.isfinite(red) | (red > 1.5 * med))
        redo = np.flatnonzero(bad)
        if redo.size == 0:
            return redo, None
        nb = neigh[redo]
        vals = np.where((nb >= 0)[:, :, None], u[np.where(nb >= 0, nb, 0)], np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            starts = np.nanmedian(vals, axis=1)
        starts = np.where(np.isfinite(starts), starts, u[redo])
        return redo, np.clip(starts, self.lo, self.hi)

    # -- whole cube ---------------------------------------------------------------------------
    def run(self, progress=None) -> FitMaps:
        """Fit every block in order; ``progress(done, total, result)`` after each, returning
        False to stop (the maps then hold the blocks done: ``complete`` is False)."""
        maps = self.empty_maps()
        for i, box in enumerate(self.blocks):
            res = self.fit_block(box)
            maps.insert(res)
            if progress is not None and progress(i + 1, len(self.blocks), res) is False:
                break
        return maps


def fit_cube(cube: Cube, fit_config: dict, db, snr: float = 5.0, progress=None, block=None) -> FitMaps:
    """Maps of the free parameters of ``fit_config``, their errors and chi2_red over ``cube``
    (:class:`CubeFitter`; ``progress(done, total, block_result)`` after each block, False stops)."""
    if not isinstance(cube, Cube):
        raise CubeError("fit_cube needs a Cube (Cube.open(path or bytes))")
    return CubeFitter(cube, fit_config, db, snr=snr, block=block).run(progress)
