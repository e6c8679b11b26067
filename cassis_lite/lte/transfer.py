"""Opacity of a component and radiative transfer through components (CASSIS conventions).

Plain arrays in, arrays out: this is the level a fitter calls directly (see
:mod:`cassis_lite.lte.compute` for the configuration/database glue).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cassis_lite.constants import HK_MHZ
from cassis_lite.lte.physics import (
    line_centre_opacity,
    line_shift_mhz,
    line_sigma_mhz,
    rj_temperature_k,
)
from cassis_lite.lte.profile import NSIGMA, gaussian_sum


@dataclass
class LineList:
    """Selected transitions of one or several species (one component), as plain arrays.

    ``species_index[i]`` says which species (0, 1, ...) line i belongs to; per-species values
    (N_tot, Q(T_ex), FWHM) are given to :func:`component_opacity` as arrays indexed by it.
    """

    freq_mhz: np.ndarray
    aij: np.ndarray
    eup_k: np.ndarray
    gup: np.ndarray
    species_index: np.ndarray

    @classmethod
    def single(cls, freq_mhz, aij, eup_k, gup):
        freq_mhz = np.asarray(freq_mhz, dtype=float)
        return cls(freq_mhz, np.asarray(aij, dtype=float), np.asarray(eup_k, dtype=float),
                   np.asarray(gup, dtype=float), np.zeros(freq_mhz.size, dtype=np.intp))

    @classmethod
    def concatenate(cls, parts):
        """Merge per-species (freq, aij, eup_k, gup) tuples; species i gets index i; sorted by freq."""
        if not parts:
            return cls.single([], [], [], [])
        freq = np.concatenate([np.asarray(p[0], dtype=float) for p in parts])
        order = np.argsort(freq, kind="stable")
        idx = np.concatenate([np.full(len(p[0]), i, dtype=np.intp) for i, p in enumerate(parts)])
        cat = [np.concatenate([np.asarray(p[k], dtype=float) for p in parts])[order] for k in (1, 2, 3)]
        return cls(freq[order], cat[0], cat[1], cat[2], idx[order])

    def __len__(self):
        return self.freq_mhz.size


def _per_line(value, species_index):
    value = np.asarray(value, dtype=float)
    return value if value.ndim == 0 else value[species_index]


def component_opacity(grid_mhz, lines: LineList, tex_k, ntot_cm2, q_tex, fwhm_kms, vlsr_kms,
                      vlsr_file_kms=0.0, out=None, nsigma=NSIGMA):
    """Optical depth of one component on an ascending frequency grid (MHz).

    tau(f) = sum_i tau_0,i exp(-(f - nu_i (1 - (v_lsr - v_file)/c))^2 / (2 sigma_i^2)),
    tau_0,i from :func:`~cassis_lite.lte.physics.line_centre_opacity` (rest frequency),
    sigma_i = FWHM nu_i / (c 2 sqrt(2 ln 2)). ``ntot_cm2``, ``q_tex`` (Q at T_ex) and
    ``fwhm_kms`` are scalars or per-species arrays. Opacities of all species add.
    """
    s = lines.species_index
    fwhm = _per_line(fwhm_kms, s)
    tau0 = line_centre_opacity(lines.freq_mhz, lines.aij, lines.eup_k, lines.gup, tex_k,
                               _per_line(ntot_cm2, s), _per_line(q_tex, s), fwhm)
    shift = line_shift_mhz(lines.freq_mhz, vlsr_kms, vlsr_file_kms)
    sigma = line_sigma_mhz(lines.freq_mhz, fwhm)
    return gaussian_sum(grid_mhz, lines.freq_mhz, sigma, tau0, out=out, nsigma=nsigma, shift_mhz=shift)


@dataclass
class Layer:
    """One component as radiative transfer sees it: T_ex, opacity per channel, beam filling.

    ``source_k`` (optional, K per channel) replaces J(T_ex) as the layer's source function: a
    non-LTE component whose lines have different T_ex (:func:`line_source_function`).
    """

    tex_k: float | None
    tau: np.ndarray
    filling: float | np.ndarray = 1.0
    interacting: bool = False
    source_k: np.ndarray | None = None


def radiative_transfer(freq_mhz, layers, tcmb_k=2.73, tc_k=0.0, *, hnu_k=None, j_cmb=None):
    """Main-beam temperature (K) of layers in front of a background (CASSIS algorithm).

    I_bg = T_c + J(T_cmb). Going through the layers in order, with B the background seen and D
    the sum of non-interacting contributions so far (B = I_bg, D = 0 at the start):

    - non-interacting layer: D += ff (J(T_ex) - B) (1 - exp(-tau))   (side by side on the sky);
    - interacting layer:     B := B + D, then D := ff (J(T_ex) - B) (1 - exp(-tau))
      (it absorbs/re-emits everything listed before it).

    T_mb = B + D - J(T_cmb): the continuum T_c is kept, the CMB is removed as ON-OFF does.
    ``hnu_k`` (h nu / k per channel) and ``j_cmb`` may be passed precomputed (repeated calls).
    """
    freq_mhz = np.asarray(freq_mhz, dtype=float)
    if hnu_k is None:
        hnu_k = HK_MHZ * freq_mhz
    if j_cmb is None:
        j_cmb = rj_temperature_k(freq_mhz, tcmb_k)
    background = j_cmb + tc_k
    delta = np.zeros_like(freq_mhz)
    for layer in layers:
        if layer.interacting:
            background = background + delta
        # ff (J - B)(1 - exp(-tau)) computed as ff (B - J) expm1(-tau), in place
        term = np.expm1(-layer.tau)
        term *= background - (_rj(hnu_k, layer.tex_k) if layer.source_k is None else layer.source_k)
        if not (np.ndim(layer.filling) == 0 and layer.filling == 1.0):
            term *= layer.filling
        if layer.interacting:
            delta = term
        else:
            delta += term
    background += delta
    background -= j_cmb
    return background


def line_opacity_and_source(grid_mhz, freq_mhz, tau0, source_k, fwhm_kms, vlsr_kms, vlsr_file_kms=0.0,
                            nsigma=NSIGMA):
    """Opacity and source function per channel of a layer whose lines have their own T_ex.

    tau(f) = sum_i tau_0,i phi_i(f) (Gaussian profiles as :func:`component_opacity`) and
    S(f) = sum_i tau_0,i phi_i(f) S_i / tau(f), the opacity-weighted source function of the lines
    that overlap at f, S_i = J_nu_i(T_ex,i) (K; negative for a masing line). Where no line
    reaches, tau = 0 and S = 0. Returns (tau, S) on the ascending grid.
    """
    freq_mhz = np.asarray(freq_mhz, dtype=float)
    shift = line_shift_mhz(freq_mhz, vlsr_kms, vlsr_file_kms)
    sigma = line_sigma_mhz(freq_mhz, fwhm_kms)
    tau = gaussian_sum(grid_mhz, freq_mhz, sigma, tau0, nsigma=nsigma, shift_mhz=shift)
    # windows of tau0 S_i: those of tau0 for S_i = 1 K (what is left out is below 1e-9 K)
    weighted = gaussian_sum(grid_mhz, freq_mhz, sigma, np.asarray(tau0) * source_k, nsigma=nsigma, shift_mhz=shift)
    source = np.zeros_like(tau)
    np.divide(weighted, tau, out=source, where=tau != 0.0)
    return tau, source


def _rj(hnu_k, tex_k):
    """J(T_ex) from h nu / k: (h nu / k) / (exp(h nu / k T) - 1)."""
    if tex_k <= 0.0:
        return np.zeros_like(hnu_k)
    out = hnu_k / tex_k
    np.expm1(out, out=out)
    np.divide(hnu_k, out, out=out)
    return out
