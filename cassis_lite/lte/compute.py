"""LTE synthetic spectrum from a :class:`ModelConfig` and the line database.

``compute_spectrum(config, freq_mhz, db)`` is the one-call entry point (CLI, browser). For
repeated evaluation (sliders, fits) use :class:`PreparedModel`: it queries the database once
(transitions and partition functions per component and species; levels, lines and collision
rates for a ``"model": "radex"`` component), keeps the grid ordering and beam, and
``prepared.compute(config)`` then only does array arithmetic (for a radex component, solving the
statistical equilibrium again when T_kin, densities, N or FWHM change). It re-queries by itself
when the species or thresholds change, or when v_lsr / FWHM move the lines beyond the frequency
margin selected (``velocity_margin_kms`` widens it for fits).

A radex component's lines are drawn with their RADEX T_ex and line-centre opacity
(:func:`cassis_lite.radex.solve`, background T_bg = ``tcmb_k``) through the same radiative
transfer as LTE components, with the opacity-weighted source function of its overlapping lines
(:func:`~cassis_lite.lte.transfer.line_opacity_and_source`), so LTE and non-LTE components combine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cassis_lite.constants import C_LIGHT_KMS, FWHM_TO_SIGMA, HK_MHZ
from cassis_lite.errors import ConfigError
from cassis_lite.lte.beam import filling_factor
from cassis_lite.lte.config import ModelConfig
from cassis_lite.lte.physics import rj_temperature_k
from cassis_lite.lte.profile import SELECT_NSIGMA
from cassis_lite.lte.transfer import Layer, LineList, component_opacity, line_opacity_and_source, radiative_transfer
from cassis_lite.radex import solver as radex_solver  # a module: cassis_lite.radex imports lte.physics


@dataclass
class LteResult:
    """Model on the caller's grid (same order as given). ``unit``: "Tmb", "TA*" or "Jy/beam".

    ``tau`` (with ``with_tau=True``) is the total opacity of all enabled components.
    """

    freq_mhz: np.ndarray
    intensity: np.ndarray
    tau: np.ndarray | None
    unit: str

    @property
    def y_label(self):
        return {"Tmb": "K (Tmb)", "TA*": "K (TA*)", "Jy/beam": "Jy/beam"}[self.unit]


def rest_frequency_range(fmin_mhz, fmax_mhz, dv_lo_kms, dv_hi_kms, fwhm_max_kms, nsigma=SELECT_NSIGMA):
    """Rest frequencies of the lines that can reach [fmin, fmax] within nsigma sigma.

    A line nu_0 is centred at nu_0 (1 - dv/c) with sigma = nu_0 FWHM/(c 2 sqrt(2 ln 2)); it
    reaches the grid when nu_0 (1 - dv/c + n k w/c) >= fmin and nu_0 (1 - dv/c - n k w/c) <= fmax.
    """
    half = nsigma * FWHM_TO_SIGMA * fwhm_max_kms / C_LIGHT_KMS
    lo = fmin_mhz / (1.0 - dv_lo_kms / C_LIGHT_KMS + half)
    den = 1.0 - dv_hi_kms / C_LIGHT_KMS - half
    hi = fmax_mhz / den if den > 0 else np.inf
    return lo, hi


def _species_key(sp, model="lte"):
    return (sp.species, sp.eup_max_k, sp.aij_min, model)


class _PreparedComponent:
    def __init__(self, lines, partition_functions, keys, dv_range, fwhm_max, radex_lines=()):
        self.lines = lines
        self.partition_functions = partition_functions
        self.keys = keys
        self.dv_range = dv_range
        self.fwhm_max = fwhm_max
        self.radex_lines = radex_lines  # radex: per species (CollisionData, indices of the lines drawn)
        self.partition = None  # LTE: the partition-function setting its Q(T) were read with


class PreparedModel:
    """Transitions and partition functions selected once for a grid; cheap re-evaluation.

    The transitions of each component are selected for v_lsr within +-``velocity_margin_kms``
    of the value given and FWHM up to ``fwhm_margin`` times it; :meth:`compute` re-queries the
    database only if a component's species or thresholds change or its v_lsr / FWHM leave
    that range, so a slider move or a fit step costs array arithmetic only. Results are the
    same numbers as :func:`compute_spectrum` (lines selected but not reaching the grid are
    dropped before any arithmetic). Typical fit loop::

        prep = PreparedModel(config, freq_mhz, db, velocity_margin_kms=50.0)
        for tex in ...:
            config.components[0].tex_k = tex            # any field except species/thresholds
            model = prep.compute(config).intensity

    The grid, its ordering, h nu / k and J(T_cmb) per channel are kept between calls.
    """

    def __init__(self, config: ModelConfig, freq_mhz, db, velocity_margin_kms=20.0, fwhm_margin=1.5,
                 cache_background=True):
        freq = np.asarray(freq_mhz, dtype=float)
        if freq.ndim != 1:
            raise ConfigError("the frequency grid must be one-dimensional")
        if freq.size and not np.all(np.isfinite(freq)):
            raise ConfigError("the frequency grid contains NaN or infinite values")
        if freq.size and freq.min() <= 0:
            raise ConfigError("the frequency grid must be positive (MHz)")
        self.freq_mhz = freq
        self.db = db
        self.velocity_margin_kms = float(velocity_margin_kms)
        self.fwhm_margin = float(fwhm_margin)
        self.cache_background = cache_background
        if freq.size > 1 and np.any(freq[1:] < freq[:-1]):
            self._order = np.argsort(freq, kind="stable")
            self.grid = freq[self._order]
        else:
            self._order = None
            self.grid = freq
        self._components = {}
        self._pf_cache = {}
        self._tr_cache = {}
        self._collision_cache = {}
        self._radex_cache = {}
        self._beam_key = None
        self._beam = None
        self._hnu_k = None
        self._tcmb_key = None
        self._j_cmb = None
        self.prepare(config)

    # -- database selection -------------------------------------------------------------------
    def _partition_function(self, species, partition):
        if (species, partition) not in self._pf_cache:
            self._pf_cache[species, partition] = self.db.partition_function(species, partition=partition)
        return self._pf_cache[species, partition]

    def _transitions(self, sp, fmin, fmax):
        key = _species_key(sp)
        cached = self._tr_cache.get(key)
        if cached is not None and cached[0] <= fmin and cached[1] >= fmax:
            t = cached[2]
            m = (t[0] >= fmin) & (t[0] <= fmax)
            return tuple(a[m] for a in t)
        # the model's columns only: from the (species, frequency) covering index of the full catalogue
        arrays = self.db.model_lines(fmin, fmax, [sp.species], eup_max_k=sp.eup_max_k, aij_min=sp.aij_min)
        self._tr_cache[key] = (fmin, fmax, arrays)
        return arrays

    def _collision_data(self, species):
        if species not in self._collision_cache:
            self._collision_cache[species] = self.db.collision_data(species)
        return self._collision_cache[species]

    def _select(self, comp, config):
        dv = comp.vlsr_kms - config.vlsr_file_kms
        margin = self.velocity_margin_kms
        fwhm_max = max([comp.fwhm_kms] + [s.fwhm_kms for s in comp.species if s.fwhm_kms]) * self.fwhm_margin
        dv_range = (dv - margin, dv + margin)
        keys = [_species_key(sp, comp.model) for sp in comp.species]
        fmin, fmax = (rest_frequency_range(self.grid[0], self.grid[-1], dv_range[0], dv_range[1], fwhm_max * 1.001)
                      if self.grid.size else (np.inf, -np.inf))
        if comp.model == "radex":
            radex_lines = []
            for sp in comp.species:
                data = self._collision_data(sp.species)
                keep = (data.freq_mhz >= fmin) & (data.freq_mhz <= fmax)
                if sp.eup_max_k is not None:
                    keep &= data.eup_k <= sp.eup_max_k
                if sp.aij_min is not None:
                    keep &= data.aij >= sp.aij_min
                radex_lines.append((data, np.flatnonzero(keep)))
            lines = LineList.concatenate([(d.freq_mhz[i], d.aij[i], d.eup_k[i], d.gup[i]) for d, i in radex_lines])
            return _PreparedComponent(lines, [], keys, dv_range, fwhm_max, radex_lines)
        pfs = [self._partition_function(sp.species, config.partition) for sp in comp.species]
        parts = [self._transitions(sp, fmin, fmax) for sp in comp.species] if self.grid.size else []
        prepared = _PreparedComponent(LineList.concatenate(parts), pfs, keys, dv_range, fwhm_max)
        prepared.partition = config.partition
        return prepared

    def prepare(self, config: ModelConfig):
        """Select (or reuse) the transitions of every component of ``config``."""
        for comp in config.components:
            if not comp.enabled:
                continue
            self._ensure(comp, config)

    def _ensure(self, comp, config):
        prepared = self._components.get(comp.name)
        dv = comp.vlsr_kms - config.vlsr_file_kms
        fwhm_max = max([comp.fwhm_kms] + [s.fwhm_kms for s in comp.species if s.fwhm_kms])
        if (
            prepared is None
            or prepared.keys != [_species_key(sp, comp.model) for sp in comp.species]
            or not (prepared.dv_range[0] <= dv <= prepared.dv_range[1])
            or fwhm_max > prepared.fwhm_max
            or (comp.model == "lte" and prepared.partition != config.partition)
        ):
            prepared = self._components[comp.name] = self._select(comp, config)
        return prepared

    # -- evaluation ---------------------------------------------------------------------------
    def _beam_fwhm(self, config):
        tel = config.telescope
        if tel is None:
            return None
        key = (tel.diameter_m, tel.beam_arcsec, tel.name)
        if key != self._beam_key:
            self._beam_key, self._beam = key, tel.beam_fwhm_arcsec(self.grid)
        return self._beam

    def _background(self, tcmb_k):
        """h nu / k and J(T_cmb) per channel, kept for the next evaluation (None: not cached)."""
        if self._hnu_k is None:
            self._hnu_k = HK_MHZ * self.grid
        if not self.cache_background:
            return self._hnu_k, None
        if self._tcmb_key != tcmb_k:
            self._tcmb_key, self._j_cmb = tcmb_k, rj_temperature_k(self.grid, tcmb_k)
        return self._hnu_k, self._j_cmb

    def radex_result(self, comp, sp, config: ModelConfig):
        """RADEX solution (:class:`cassis_lite.radex.RadexResult`) of species ``sp`` of radex
        component ``comp``; the last solutions are kept, so only a change of T_kin, densities, N,
        FWHM, T_bg or geometry solves again."""
        fwhm = sp.fwhm_kms or comp.fwhm_kms
        key = (sp.species, comp.tkin_k, tuple(sorted(comp.density_cm3.items())), sp.ntot_cm2, fwhm, config.tcmb_k,
               comp.geometry)
        if key not in self._radex_cache:
            if len(self._radex_cache) > 64:
                self._radex_cache.clear()
            self._radex_cache[key] = radex_solver.solve(self._collision_data(sp.species), comp.tkin_k, comp.density_cm3,
                                                 sp.ntot_cm2, fwhm, config.tcmb_k, comp.geometry)
        return self._radex_cache[key]

    def _radex_layer(self, comp, prepared, config):
        """Opacity and source function per channel of a radex component."""
        freq, tau0, source, fwhm = [], [], [], []
        for sp, (data, idx) in zip(comp.species, prepared.radex_lines):
            res = self.radex_result(comp, sp, config)
            drawn = idx[np.isfinite(res.tex_k[idx])]  # lines with a level at the population floor have tau ~ 0
            freq.append(data.freq_mhz[drawn])
            tau0.append(res.tau[drawn])
            source.append(res.source_k[drawn])
            fwhm.append(np.full(drawn.size, sp.fwhm_kms or comp.fwhm_kms))
        if not freq or not sum(f.size for f in freq):
            return np.zeros(self.grid.size), np.zeros(self.grid.size)
        return line_opacity_and_source(self.grid, np.concatenate(freq), np.concatenate(tau0), np.concatenate(source),
                                       np.concatenate(fwhm), comp.vlsr_kms, config.vlsr_file_kms)

    def compute(self, config: ModelConfig, with_tau=False) -> LteResult:
        """The model for ``config`` on the prepared grid (re-selecting lines only if needed)."""
        grid = self.grid
        comps, taus, sources = [], [], []
        for comp in config.components:
            if not comp.enabled:
                continue
            prepared = self._ensure(comp, config)
            if comp.model == "radex":
                tau, source = self._radex_layer(comp, prepared, config)
                comps.append(comp)
                taus.append(tau)
                sources.append(source)
                continue
            tau = np.zeros(grid.size)
            ntot = np.array([sp.ntot_cm2 for sp in comp.species])
            fwhm = np.array([sp.fwhm_kms or comp.fwhm_kms for sp in comp.species])
            # Q(T_ex) also for species without lines here: T_ex outside a table is an error
            q = np.array([float(pf.q(comp.tex_k)) for pf in prepared.partition_functions])
            if len(prepared.lines):
                component_opacity(grid, prepared.lines, comp.tex_k, ntot, q, fwhm, comp.vlsr_kms,
                                  config.vlsr_file_kms, out=tau)
            comps.append(comp)
            taus.append(tau)
            sources.append(None)
        tmb = self._transfer(config, comps, taus, sources)
        intensity = convert_tmb(grid, tmb, config)
        tau_total = None
        if with_tau:
            tau_total = np.zeros(grid.size)
            for tau in taus:
                tau_total += tau
        if self._order is not None:
            inverse = np.empty_like(self._order)
            inverse[self._order] = np.arange(self._order.size)
            intensity = intensity[inverse]
            tau_total = tau_total[inverse] if with_tau else None
        return LteResult(self.freq_mhz, intensity, tau_total, config.unit)

    def _transfer(self, config, comps, taus, sources):
        """Radiative transfer, only on the channels some line reaches (elsewhere T = T_c)."""
        grid = self.grid
        hnu_k, j_cmb = self._background(config.tcmb_k)
        beam = self._beam_fwhm(config)
        fills = [1.0 if c.size_arcsec is None or beam is None else filling_factor(c.size_arcsec, beam)
                 for c in comps]
        idx = None
        if taus:
            reached = taus[0] != 0.0
            for tau in taus[1:]:
                reached |= tau != 0.0
            idx = np.flatnonzero(reached)
            if idx.size > 0.6 * grid.size:
                idx = None
        if idx is None:
            layers = [Layer(c.tex_k, tau, ff, c.interacting, src)
                      for c, tau, ff, src in zip(comps, taus, fills, sources)]
            return radiative_transfer(grid, layers, config.tcmb_k, config.tc_k, hnu_k=hnu_k, j_cmb=j_cmb)
        layers = [Layer(c.tex_k, tau[idx], ff if np.ndim(ff) == 0 else ff[idx], c.interacting,
                        None if src is None else src[idx]) for c, tau, ff, src in zip(comps, taus, fills, sources)]
        tmb = np.full(grid.size, config.tc_k)
        tmb[idx] = radiative_transfer(grid[idx], layers, config.tcmb_k, config.tc_k, hnu_k=hnu_k[idx],
                                      j_cmb=None if j_cmb is None else j_cmb[idx])
        return tmb


def convert_tmb(freq_mhz, tmb, config: ModelConfig):
    """T_mb to the configured scale: T_A* = T_mb B_eff / F_eff; Jy/beam = T_mb / (K per Jy/beam)."""
    if config.unit == "TA*":
        return tmb * (config.beam_efficiency / config.forward_efficiency)
    if config.unit == "Jy/beam":
        from cassis_lite.units import k_to_jy_per_beam

        bmaj, bmin = config.telescope.beam_axes_arcsec(freq_mhz)
        return k_to_jy_per_beam(tmb, freq_mhz, bmaj, bmin)
    return tmb


def compute_spectrum(config, freq_mhz, db, with_tau=False) -> LteResult:
    """LTE spectrum of ``config`` (a :class:`ModelConfig` or its dict) on ``freq_mhz`` (MHz).

    The grid may be irregular and in any order; the result follows the caller's order.
    """
    if isinstance(config, dict):
        config = ModelConfig.from_dict(config)
    prepared = PreparedModel(config, freq_mhz, db, velocity_margin_kms=0.0, fwhm_margin=1.0,
                             cache_background=False)
    return prepared.compute(config, with_tau=with_tau)
