"""Line identification: candidates for each feature, and automatic identification of a spectrum.

Two levels, both against the line database and the CASSIS LTE model (:mod:`cassis_lite.lte`):

- :func:`line_candidates`: for each feature found in the spectrum (:func:`cassis_lite.analysis.features.find_features`),
  the transitions within a velocity tolerance, ranked by the peak intensity the LTE model
  predicts for them at a stated T_ex and FWHM and one common column density, scaled so that the
  best candidate reproduces the feature. A bright low-E_up line of a light species (large
  A_ul g_u exp(-E_u/T_ex)/Q(T_ex)) thus outranks a faint line of a heavy species' forest that
  happens to sit closer.
- :func:`identify_spectrum`: the set of species (and column densities at the stated T_ex,
  FWHM, v_lsr) that best explains the whole spectrum. Each candidate species contributes an
  LTE template T_s(nu; N_s) = ff (J(T_ex) - J(T_bg)) (1 - exp(-tau_s(nu; N_s))); the column
  densities solve the non-negative least-squares problem
      min_{N >= 0} sum_ch w_ch (I_ch - sum_s N_s a_s,ch)^2,   a_s = T_s(N_s) / N_s
  (Lawson & Hanson 1974), iterated so that a_s includes the opacity at the current N_s.
  Each species kept is then checked line by line: every line the solution predicts above
  ``detect_sigma`` x rms must be seen (observed mean over +-FWHM/2 at least half the
  prediction); species with too many predicted-but-absent lines, or that do not lower the
  chi-square by ``min_delta_chi2`` on their own, are dropped and the problem is solved again
  (before being dropped, a species is tried at a few other T_ex: a wrong T_ex predicts lines of
  the wrong E_up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from cassis_lite.analysis.features import Features, channel_rms, check_arrays, find_features
from cassis_lite.constants import C_LIGHT_KMS, T_CMB
from cassis_lite.errors import CassisError
from cassis_lite.lte.beam import dish_beam_arcsec, filling_factor
from cassis_lite.lte.physics import line_centre_mhz, line_centre_opacity, rj_temperature_k
from cassis_lite.lte.transfer import LineList, component_opacity


class IdentificationError(CassisError):
    """Identification cannot be run with the given inputs."""


@dataclass
class LteSetup:
    """The fixed physical assumptions of an identification (one LTE component)."""

    tex_k: float = 100.0
    fwhm_kms: float = 3.0
    vlsr_kms: float = 0.0
    vlsr_file_kms: float = 0.0
    size_arcsec: float | None = None
    diameter_m: float | None = None
    tcmb_k: float = T_CMB

    def filling(self, freq_mhz):
        if self.size_arcsec is None or self.diameter_m is None:
            return 1.0
        return filling_factor(self.size_arcsec, dish_beam_arcsec(freq_mhz, self.diameter_m))

    def delta_j(self, freq_mhz):
        """ff (J(T_ex) - J(T_cmb)): the brightness of an optically thick line."""
        f = np.asarray(freq_mhz, dtype=float)
        return self.filling(f) * (rj_temperature_k(f, self.tex_k) - rj_temperature_k(f, self.tcmb_k))


def window_transitions(db, freq_mhz, shift: float, margin: float, **query):
    """The transitions a spectrum can show: one query per spectral window
    (:func:`cassis_lite.spectrum.window_slices`) of rest frequencies [f_lo / shift / margin,
    f_hi / shift x margin] (windows that then overlap are read as one), never the lines between
    windows: two sidebands 10 GHz apart read their 8 GHz, not the span's 18 GHz, from a catalogue
    read by range. ``query``: the filters of ``db.transitions``. Sorted by frequency."""
    from cassis_lite.linedb.lists import concat
    from cassis_lite.spectrum import merged_ranges, window_ranges

    wins = np.array(window_ranges(freq_mhz))
    ranges = merged_ranges(wins[:, 0] / shift / margin, wins[:, 1] / shift * margin)
    return concat([db.transitions(a, b, **query) for a, b in ranges])


def _species_table(db) -> dict[int, object]:
    return {s.id: s for s in db.species()}


def _q_at(db, species, tex_k: float) -> float | None:
    """Q(T_ex), or None when T_ex is outside the species' table (that species is skipped)."""
    try:
        return float(db.partition_function(species).q(tex_k))
    except CassisError:
        return None


def _peak_per_unit_n(t, q, setup: LteSetup):
    """Thin line-centre intensity per unit column density (K per cm^-2) of transitions ``t``."""
    tau1 = line_centre_opacity(t.freq_mhz, t.aij, t.eup_k, t.gup, setup.tex_k, 1.0, q, setup.fwhm_kms)
    return tau1, setup.delta_j(t.freq_mhz) * tau1


# --------------------------------------------------------------------------- candidates

@dataclass
class Candidate:
    species: str
    freq_mhz: float         # rest frequency
    qn: str
    eup_k: float
    aij: float
    dv_kms: float           # velocity offset feature - line (at the stated v_lsr)
    predicted_k: float      # LTE peak at the common column density (opacity included)
    ntot_needed_cm2: float  # thin column density for this line alone to give the feature

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def line_candidates(features: Features, db, setup: LteSetup, tolerance_kms: float | None = None,
                    species=None, eup_max_k: float | None = None, aij_min: float | None = None,
                    max_per_feature: int = 10) -> list[list[Candidate]]:
    """Ranked candidate transitions for each feature (one list per feature, best first).

    A transition is a candidate when its line centre at ``setup.vlsr_kms`` lies within
    ``tolerance_kms`` (default: max(1 km/s, half the feature FWHM)) of the feature peak.
    Absorption features are ranked by the same emission score with the sign ignored (an
    absorption model would need the continuum).
    """
    if len(features) == 0:
        return []
    tol = (np.maximum(1.0, 0.5 * features.fwhm_kms) if tolerance_kms is None
           else np.full(len(features), float(tolerance_kms)))
    shift = 1.0 - (setup.vlsr_kms - setup.vlsr_file_kms) / C_LIGHT_KMS
    rest = features.freq_mhz / shift
    lo = rest * (1 - tol / C_LIGHT_KMS)
    hi = rest * (1 + tol / C_LIGHT_KMS)
    # one query per run of overlapping feature ranges: only the lines near a feature are read
    from cassis_lite.linedb.lists import concat
    from cassis_lite.spectrum import merged_ranges

    t = concat([db.transitions(a, b, species=species, eup_max_k=eup_max_k, aij_min=aij_min)
                for a, b in merged_ranges(lo, hi)])
    out: list[list[Candidate]] = [[] for _ in range(len(features))]
    if len(t) == 0:
        return out
    table = _species_table(db)
    q = np.full(len(t), np.nan)
    for sid in np.unique(t.species_id):
        qs = _q_at(db, table[int(sid)], setup.tex_k)
        if qs is not None:
            q[t.species_id == sid] = qs
    ok = np.isfinite(q)
    t, q = t[ok], q[ok]
    if len(t) == 0:
        return out
    tau1, peak1 = _peak_per_unit_n(t, q, setup)
    obs_centre = line_centre_mhz(t.freq_mhz, setup.vlsr_kms, setup.vlsr_file_kms)
    i0 = np.searchsorted(t.freq_mhz, lo)
    i1 = np.searchsorted(t.freq_mhz, hi, side="right")
    names = np.asarray(t.species_names)
    for k in range(len(features)):
        idx = np.arange(i0[k], i1[k])
        if idx.size == 0:
            continue
        amp = abs(float(features.peak_k[k]))
        dj = setup.delta_j(t.freq_mhz[idx])
        n_needed = np.where(peak1[idx] > 0, amp / np.where(peak1[idx] > 0, peak1[idx], 1.0), np.inf)
        # common column density: the one that makes the best candidate reproduce the feature
        # (solved with opacity: ff dJ (1 - exp(-N tau1)) = amp, if reachable)
        best = int(np.argmax(peak1[idx]))
        ratio = amp / dj[best] if dj[best] > 0 else np.inf
        n_ref = (-math.log1p(-ratio) / tau1[idx][best]) if 0 < ratio < 1 else n_needed[best]
        pred = dj * -np.expm1(-n_ref * tau1[idx])
        order = np.argsort(-pred, kind="stable")[:max_per_feature]
        dv = (obs_centre[idx] - features.freq_mhz[k]) / features.freq_mhz[k] * C_LIGHT_KMS
        out[k] = [Candidate(str(names[j]), float(t.freq_mhz[j]), str(t.qn[j]), float(t.eup_k[j]),
                            float(t.aij[j]), float(dv[m]), float(pred[m]), float(n_needed[m]))
                  for m, j in ((m, idx[m]) for m in order)]
    return out


# --------------------------------------------------------------------------- whole spectrum

@dataclass
class SpeciesEvidence:
    species: str
    tag: int | None
    ntot_cm2: float
    delta_chi2: float
    lines_predicted: int
    lines_matched: int
    lines_missing: int
    matched_mhz: list = field(default_factory=list)
    missing_mhz: list = field(default_factory=list)
    strongest_k: float = 0.0
    tex_k: float = 0.0  # T_ex of the template (the stated one, or the one the T_ex search chose)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class IdentificationResult:
    species: list[SpeciesEvidence]
    rejected: list[SpeciesEvidence]
    features: Features
    unexplained: Features
    rms: float
    setup: LteSetup
    model: np.ndarray = field(repr=False)
    n_candidates: int = 0
    mismatch: Features | None = None  # residual features on lines of identified species

    def species_names(self) -> list[str]:
        return [s.species for s in self.species]

    def to_dict(self) -> dict:
        return {
            "rms": self.rms, "setup": dict(self.setup.__dict__),
            "n_candidates": self.n_candidates,
            "species": [s.to_dict() for s in self.species],
            "rejected": [s.to_dict() for s in self.rejected],
            "n_features": len(self.features),
            "unexplained": self.unexplained.to_records(),
            "model_mismatch": self.mismatch.to_records() if self.mismatch is not None else [],
        }


@dataclass
class _Template:
    sid: int
    name: str
    tag: int | None
    idx: np.ndarray        # channels touched
    tau1: np.ndarray       # opacity per unit N (cm^-2) on those channels
    dj: np.ndarray         # ff (J(Tex) - J(Tbg)) on those channels
    lines: object          # the species' transitions (database rows)
    line_peak1: np.ndarray
    q_tex: float
    setup: LteSetup
    ntot: float = 0.0

    def column(self) -> np.ndarray:
        """a_s = T_s(N) / N at the current N (thin limit when N = 0)."""
        x = self.ntot * self.tau1
        return self.dj * np.where(x > 1e-8, -np.expm1(-x) / np.where(x > 1e-8, x, 1.0), 1.0) * self.tau1

    def intensity(self, n: float) -> np.ndarray:
        return self.dj * -np.expm1(-n * self.tau1)


def _nnls_gram(gram: np.ndarray, h: np.ndarray) -> np.ndarray:
    """min_{x>=0} x^T G x - 2 h^T x via NNLS on the Cholesky factor (G = L L^T)."""
    from scipy.optimize import nnls

    k = h.size
    if k == 0:
        return np.zeros(0)
    d = np.sqrt(np.maximum(np.diag(gram), 1e-300))
    gs = gram / np.outer(d, d)  # unit diagonal: well conditioned for the factorisation
    hs = h / d
    gs = gs + np.eye(k) * 1e-10
    low = np.linalg.cholesky(gs)
    rhs = np.linalg.solve(low, hs)
    x, _ = nnls(low.T, rhs, maxiter=50 * k + 100)
    return x / d


def _build_templates(f, db, setup: LteSetup, t, table) -> list[_Template]:
    temps = []
    sids = np.unique(t.species_id)
    for sid in sids:
        sel = t.species_id == sid
        ts = t[sel]
        sp = table[int(sid)]
        q = _q_at(db, sp, setup.tex_k)
        if q is None:
            continue
        lines = LineList.single(ts.freq_mhz, ts.aij, ts.eup_k, ts.gup)
        tau = component_opacity(f, lines, setup.tex_k, 1.0, q, setup.fwhm_kms, setup.vlsr_kms,
                                setup.vlsr_file_kms)
        idx = np.flatnonzero(tau)
        if idx.size == 0:
            continue
        _, peak1 = _peak_per_unit_n(ts, q, setup)
        temps.append(_Template(int(sid), sp.name, getattr(sp, "tag", None), idx, tau[idx],
                               np.broadcast_to(setup.delta_j(f[idx]), idx.shape).copy(), ts, peak1, q, setup))
    return temps


def _solve(temps, b, wts, nchan, iterations=4):
    """NNLS for the column densities, iterating the opacity-dependent templates."""
    from scipy.sparse import csc_matrix

    k = len(temps)
    if k == 0:
        return np.zeros(0), np.zeros(0), np.zeros((0, 0)), np.zeros(0)
    indptr = np.concatenate(([0], np.cumsum([tp.idx.size for tp in temps])))
    rows = np.concatenate([tp.idx for tp in temps])
    for _ in range(iterations):
        vals = np.concatenate([tp.column() for tp in temps])
        a = csc_matrix((vals, rows, indptr), shape=(nchan, k))
        aw = csc_matrix((vals * wts[rows], rows, indptr), shape=(nchan, k))
        gram = (aw.T @ a).toarray()
        h = aw.T @ b
        x = _nnls_gram(gram, h)
        change = max((abs(xi - tp.ntot) / max(xi, 1e-300) for xi, tp in zip(x, temps) if xi > 0),
                     default=0.0)
        for xi, tp in zip(x, temps):
            tp.ntot = float(xi)
        if change < 1e-3:
            break
    return x, gram, h, a


def _chi2_of(x, gram, h, bwb):
    return float(x @ gram @ x - 2 * h @ x + bwb)


def identify_spectrum(freq_mhz, intensity, db, setup: LteSetup | None = None, *,
                      species=None, rms: float | None = None, baseline=None,
                      eup_max_k: float | None = None, aij_min: float | None = None,
                      threshold: float = 5.0, detect_sigma: float = 3.0,
                      max_missing_fraction: float = 0.34, min_delta_chi2: float = 25.0,
                      tolerance_kms: float | None = None, max_candidates: int = 300,
                      source: str | None = None,
                      tex_factors: tuple[float, ...] | None = (0.5, 0.7, 1.4, 2.0)) -> IdentificationResult:
    """Identify the species of a spectrum (emission lines), see the module docstring.

    ``species``: restrict the search to these (names/tags); default all species having a line
    within ``tolerance_kms`` (default max(1 km/s, FWHM/2)) of a feature. ``rms``: noise (K),
    default: robust rms of each spectral window. ``threshold``: feature detection on the
    spectrum smoothed to FWHM/2 (in its own rms). ``tex_factors``: a species that fails the
    line check at the stated T_ex is tried once at T_ex times each factor (None: never).
    Returns an :class:`IdentificationResult`: species kept with their column density, T_ex and
    evidence, species rejected, and the features left unexplained.
    """
    setup = setup or LteSetup()
    f, y = check_arrays(freq_mhz, intensity)
    if baseline is None:
        from cassis_lite.spectrum import window_slices
        base = np.empty_like(y)
        for w in window_slices(f):
            base[w] = np.nanmedian(y[w])
    else:
        base = np.broadcast_to(np.asarray(baseline, dtype=float), y.shape)
    d = np.nan_to_num(y - base)
    rms_arr = channel_rms(f, d) if rms is None else np.broadcast_to(np.asarray(rms, dtype=float), f.shape)
    feats = find_features(f, d, rms=rms_arr, threshold=threshold, baseline=0.0,
                          smooth_kms=0.5 * setup.fwhm_kms)
    tol = tolerance_kms if tolerance_kms is not None else max(1.0, 0.5 * setup.fwhm_kms)
    shift = 1.0 - (setup.vlsr_kms - setup.vlsr_file_kms) / C_LIGHT_KMS
    margin = 1 + 6 * setup.fwhm_kms / C_LIGHT_KMS
    kwargs = {"eup_max_k": eup_max_k, "aij_min": aij_min}
    if source is not None:
        kwargs["source"] = source
    t = window_transitions(db, f, shift, margin, species=species, **kwargs)
    table = _species_table(db)
    emission = feats[feats.peak_k > 0]
    if species is None and len(t):
        # candidate species: a line within the tolerance of an emission feature
        rest = emission.freq_mhz / shift
        j = np.searchsorted(rest, t.freq_mhz)
        near = np.full(len(t), np.inf)
        for jj in (j - 1, j):
            ok = (jj >= 0) & (jj < rest.size)
            dv = np.full(len(t), np.inf)
            dv[ok] = np.abs(t.freq_mhz[ok] - rest[jj[ok]]) / t.freq_mhz[ok] * C_LIGHT_KMS
            near = np.minimum(near, dv)
        cand = np.unique(t.species_id[near <= tol])
        t = t[np.isin(t.species_id, cand)]
    temps = _build_templates(f, db, setup, t, table)
    n_candidates = len(temps)
    if n_candidates > max_candidates:
        # keep the species whose thin templates explain most of the emission features
        score = np.array([np.dot(np.maximum(d[tp.idx], 0), tp.dj * tp.tau1) /
                          math.sqrt(np.dot(tp.dj * tp.tau1, tp.dj * tp.tau1)) for tp in temps])
        keep = np.argsort(-score)[:max_candidates]
        temps = [temps[i] for i in sorted(keep)]
    nchan = f.size
    wts = 1.0 / rms_arr**2
    bwb = float(np.sum(d * d * wts))
    cs_obs = np.concatenate(([0.0], np.cumsum(d)))
    rejected: list[SpeciesEvidence] = []
    evid: list = []
    def passes(e):
        return (e is not None and e.lines_matched > 0 and e.delta_chi2 >= min_delta_chi2
                and e.lines_missing <= max_missing_fraction * e.lines_predicted)

    def solve_and_check(temps):
        x, gram, h, _ = _solve(temps, d, wts, nchan)
        keep_mask = x > 0
        chi_all = _chi2_of(x, gram, h, bwb)
        evid = []
        for i, tp in enumerate(temps):
            if not keep_mask[i]:
                evid.append(None)
                continue
            # leave-one-out chi-square gain, on the NNLS normal equations
            others = np.flatnonzero(keep_mask & (np.arange(len(temps)) != i))
            xo = np.zeros_like(x)
            if others.size:
                xo[others] = _nnls_gram(gram[np.ix_(others, others)], h[others])
            dchi = _chi2_of(xo, gram, h, bwb) - chi_all
            evid.append(_evidence(tp, f, cs_obs, rms_arr, detect_sigma, dchi))
        return evid, chi_all

    evid: list = []
    tex_tried: set[int] = set()
    for _round in range(50):
        if not temps:
            break
        evid, chi_all = solve_and_check(temps)
        bad = [i for i, e in enumerate(evid) if e is not None and not passes(e)]
        zero = [i for i, e in enumerate(evid) if e is None]
        if not bad and not zero:
            break
        if bad:
            # the worst offender (largest missing share, then smallest chi-square gain) ...
            worst = max(bad, key=lambda i: (evid[i].lines_missing / max(evid[i].lines_predicted, 1),
                                            -evid[i].delta_chi2))
            tp = temps[worst]
            replaced = False
            if tex_factors and tp.sid not in tex_tried and evid[worst].lines_matched > 0:
                # ... first gets other excitation temperatures: predicted-but-absent lines often
                # mean that the stated T_ex is wrong for this species
                tex_tried.add(tp.sid)
                best = None
                for fac in tex_factors:
                    trial_setup = replace(tp.setup, tex_k=tp.setup.tex_k * fac)
                    new = _build_templates(f, db, trial_setup, tp.lines, table)
                    if not new:
                        continue
                    trial = [t if i != worst else new[0] for i, t in enumerate(temps)]
                    for t in trial:
                        t.ntot = 0.0
                    ev, chi = solve_and_check(trial)
                    if passes(ev[worst]) and (best is None or chi < best[0]):
                        best = (chi, new[0])
                if best is not None:
                    temps[worst] = best[1]
                    replaced = True
            if not replaced:
                rejected.append(evid[worst])
                zero.append(worst)
        temps = [tp for i, tp in enumerate(temps) if i not in set(zero)]
        for tp in temps:
            tp.ntot = 0.0
    kept = [e for e in evid if e is not None] if temps else []
    model = np.zeros(nchan)
    for tp in temps:
        model[tp.idx] += tp.intensity(tp.ntot)
    resid = d - model
    residual = find_features(f, resid, rms=rms_arr, threshold=threshold, baseline=0.0,
                             smooth_kms=0.5 * setup.fwhm_kms)
    # residual features on a line of a kept species are model mismatch (T_ex, opacity, line
    # shape), not unexplained lines: they are reported as such
    seen = np.sort(np.concatenate([line_centre_mhz(np.asarray(e.matched_mhz), setup.vlsr_kms,
                                                   setup.vlsr_file_kms) for e in kept] or [np.empty(0)]))
    on_line = np.zeros(len(residual), dtype=bool)
    if seen.size and len(residual):
        j = np.clip(np.searchsorted(seen, residual.freq_mhz), 1, seen.size) - 1
        for jj in (j, np.minimum(j + 1, seen.size - 1)):
            on_line |= np.abs(seen[jj] - residual.freq_mhz) / residual.freq_mhz * C_LIGHT_KMS <= \
                max(tol, setup.fwhm_kms)
    unexplained = residual[~on_line]
    mismatch = residual[on_line]
    kept.sort(key=lambda e: -e.delta_chi2)
    return IdentificationResult(kept, rejected, feats, unexplained, float(np.median(rms_arr)), setup,
                                model + base, n_candidates, mismatch)


def _evidence(tp: _Template, f, cs_obs, rms_arr, detect_sigma, dchi) -> SpeciesEvidence:
    """Per-line check of a species at its solved column density. ``cs_obs``: the cumulative sum
    of the observed spectrum, with a leading 0 (one for all species)."""
    setup = tp.setup
    n = tp.ntot
    ts = tp.lines
    centre = line_centre_mhz(ts.freq_mhz, setup.vlsr_kms, setup.vlsr_file_kms)
    tau0 = n * line_centre_opacity(ts.freq_mhz, ts.aij, ts.eup_k, ts.gup, setup.tex_k, 1.0,
                                   tp.q_tex, setup.fwhm_kms)
    peak = setup.delta_j(ts.freq_mhz) * -np.expm1(-tau0)
    half = 0.5 * setup.fwhm_kms / C_LIGHT_KMS * centre
    i0 = np.searchsorted(f, centre - half)
    i1 = np.searchsorted(f, centre + half, side="right")
    cnt = i1 - i0
    inside = cnt > 0
    # the model is zero off the template's channels (tp.idx, ascending): its cumulative sum over
    # those channels alone, looked up at the line windows' edges, is the full-length one
    cs_mod = np.concatenate(([0.0], np.cumsum(tp.intensity(n))))
    safe = np.maximum(cnt, 1)
    rms = rms_arr[np.clip(i0, 0, f.size - 1)]
    obs = (cs_obs[i1] - cs_obs[i0]) / safe
    mod = (cs_mod[np.searchsorted(tp.idx, i1)] - cs_mod[np.searchsorted(tp.idx, i0)]) / safe
    err = rms / np.sqrt(safe)
    predicted = inside & (mod > detect_sigma * err)  # the line mean over +-FWHM/2 is significant
    matched = predicted & (obs >= 0.5 * mod)
    missing = predicted & (obs < 0.5 * mod) & (mod - obs > detect_sigma * err)
    # group lines closer than the FWHM (hyperfine / K-ladder blends) as one observed feature
    def _count(mask):
        fr = np.sort(centre[mask])
        if fr.size == 0:
            return 0
        return int(1 + np.sum(np.diff(fr) / fr[1:] * C_LIGHT_KMS > setup.fwhm_kms))
    return SpeciesEvidence(tp.name, tp.tag, float(n), float(dchi), _count(predicted),
                           _count(matched), _count(missing),
                           [float(v) for v in ts.freq_mhz[matched]],
                           [float(v) for v in ts.freq_mhz[missing]],
                           float(peak.max()) if peak.size else 0.0, float(setup.tex_k))
