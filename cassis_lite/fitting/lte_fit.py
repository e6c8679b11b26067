"""LTE fit of one or several components and species to a spectrum (CASSIS multi-fit).

The fit configuration is the LTE model JSON (:class:`cassis_lite.lte.ModelConfig`) in which
any of ``tex_k``, ``fwhm_kms``, ``vlsr_kms``, ``size_arcsec`` of a component, and ``ntot_cm2``
(and ``fwhm_kms``) of a species, may be given as ``{"value": v, "vary": true, "min": a,
"max": b}`` or ``{"expr": "c1_fwhm"}`` (same value as another parameter) instead of a number
(a number is fixed). Column densities are fitted as log10 N (``"log": false`` to fit N itself):
a start value decades off then costs a few steps instead of a wrong local minimum. An optional
``"fit"`` object sets the data used and their weights::

    "fit": {
      "windows_mhz": [[fmin, fmax], ...],     # or
      "windows_kms": [vmin, vmax],            # around every line of the fitted species
      "rms_k": 0.1,                           # default: robust rms of each spectral window
      "calibration_percent": 15,
      "rms_cal": [{"fmin_mhz": .., "fmax_mhz": .., "rms_k": .., "calibration_percent": ..}],
      "max_nfev": 2000
    }

Parameter names follow CASSIS (``c1_tex``, ``c1_fwhm``, ``c1_vlsr``, ``c1_size``,
``c1_ntot_<species>``, ``c1_fwhm_<species>``). A non-LTE component (``"model": "radex"``) has
``c1_tkin`` (``tkin_k``) and one ``c1_density_<partner>`` per entry of its ``density_cm3``
(e.g. ``c1_density_H2``, fitted in log10 like N). The residual minimised is
(I_obs - I_model) / sigma with sigma = sqrt(rms^2 + (cal x I_obs)^2) (CASSIS's weights);
the model is :class:`cassis_lite.lte.PreparedModel` (database queried once), the minimiser
SciPy's ``least_squares`` (:mod:`cassis_lite.fitting.parameters`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.analysis.features import robust_rms
from cassis_lite.errors import ConfigError, PartitionRangeError, RadexError
from cassis_lite.fitting.parameters import (
    FitError,
    FitResult,
    Parameter,
    Parameters,
    least_squares_fit,
    parameter_label,
    parameters_from_spec,
)
from cassis_lite.lte.config import ModelConfig
from cassis_lite.radex.data import partner_name
from cassis_lite.spectrum import window_slices
from cassis_lite.units import lsr_velocity_to_freq_mhz

COMPONENT_PARAMS = (("tex_k", "tex", "K"), ("tkin_k", "tkin", "K"), ("fwhm_kms", "fwhm", "km/s"),
                    ("vlsr_kms", "vlsr", "km/s"), ("size_arcsec", "size", "arcsec"))
DENSITY = "density_cm3"  # slot keys "density_cm3:<partner>": one parameter per collision partner
SPECIES_PARAMS = (("ntot_cm2", "ntot", "cm-2"), ("fwhm_kms", "fwhm", "km/s"))
FIT_KEYS = {"windows_mhz", "windows_kms", "rms_k", "calibration_percent", "rms_cal", "max_nfev"}



def split_fit_config(d: dict) -> tuple[dict, Parameters, dict, dict]:
    """Split a fit configuration into (plain model dict, Parameters, fit options, slots).

    ``slots`` maps parameter name -> (component index, species index or None, model key) so
    that values can be written back into a :class:`ModelConfig`.
    """
    if not isinstance(d, dict):
        raise ConfigError("fit configuration must be a JSON object")
    plain = copy.deepcopy({k: v for k, v in d.items() if k != "fit"})
    options = d.get("fit", {}) or {}
    if not isinstance(options, dict):
        raise ConfigError("'fit' must be a JSON object")
    unknown = set(options) - FIT_KEYS
    if unknown:
        raise ConfigError(f"unknown key fit.{sorted(unknown)[0]!r} (allowed: {', '.join(sorted(FIT_KEYS))})")
    specs: list[tuple[str, object, str]] = []
    slots: dict[str, tuple[int, int | None, str]] = {}
    comps = plain.get("components", [])
    if not isinstance(comps, list) or not comps:
        raise ConfigError("a fit needs at least one component in 'components'")

    def add(name: str, spec, unit: str, slot: tuple[int, int | None, str], hint: str) -> None:
        if name in slots:
            raise ConfigError(f"parameter {name} defined twice ({hint})")
        specs.append((name, spec, unit))
        slots[name] = slot

    for ci, comp in enumerate(comps):
        if not isinstance(comp, dict):
            raise ConfigError(f"components[{ci}] must be a JSON object")
        cname = str(comp.get("name", f"c{ci + 1}"))
        comp["name"] = cname
        for key, short, unit in COMPONENT_PARAMS:
            if comp.get(key) is not None:
                add(f"{cname}_{short}", comp[key], unit, (ci, None, key), f"two components named {cname}?")
        if isinstance(comp.get(DENSITY), dict):
            for partner in list(comp[DENSITY]):
                try:
                    canonical = partner_name(partner)
                except RadexError as exc:
                    raise ConfigError(f"components[{ci}].{DENSITY}: {exc}") from None
                add(f"{cname}_density_{canonical}", comp[DENSITY][partner], "cm-3", (ci, None, f"{DENSITY}:{partner}"),
                    f"two components named {cname}?")
        for si, sp in enumerate(comp.get("species", []) or []):
            if not isinstance(sp, dict):
                raise ConfigError(f"components[{ci}].species[{si}] must be a JSON object")
            label = parameter_label(sp.get("species"))
            for key, short, unit in SPECIES_PARAMS:
                if sp.get(key) is not None:
                    add(f"{cname}_{short}_{label}", sp[key], unit, (ci, si, key),
                        f"same species twice in {cname}?")
    # column densities and collider densities span decades: fitted in log10 (as CASSIS does)
    # unless "log": false
    params = parameters_from_spec(specs, log_names=[n for n, (_, si, key) in slots.items()
                                                    if key == "ntot_cm2" or key.startswith(DENSITY)])
    # the plain dict carries start values (ties: the target's value) so that it validates
    params.resolve_ties()
    for name, (ci, si, key) in slots.items():
        target, field_ = _json_slot(comps[ci], si, key)
        target[field_] = params[name].value
    return plain, params, options, slots


def _json_slot(comp: dict, si, key):
    """(dict, key) holding a parameter in the fit JSON of component ``comp``."""
    if key.startswith(DENSITY + ":"):
        return comp[DENSITY], key.split(":", 1)[1]
    return (comp if si is None else comp["species"][si]), key


def _apply(config, values: dict[str, float], slots) -> None:
    for name, (ci, si, key) in slots.items():
        comp = config.components[ci]
        if key.startswith(DENSITY + ":"):
            comp.density_cm3[partner_name(key.split(":", 1)[1])] = values[name]
            continue
        target = comp if si is None else comp.species[si]
        setattr(target, key, values[name])


def _fitted_line_frequencies(config, db, fmin, fmax) -> np.ndarray:
    out = []
    for comp in config.components:
        for sp in comp.species:
            if comp.model == "radex":
                f = db.collision_data(sp.species).freq_mhz
                out.append(f[(f >= fmin) & (f <= fmax)])
                continue
            out.append(db.model_lines(fmin, fmax, [sp.species], eup_max_k=sp.eup_max_k, aij_min=sp.aij_min)[0])
    return np.unique(np.concatenate(out)) if out else np.empty(0)


def fit_mask(freq_mhz, options: dict, config, db) -> np.ndarray:
    """Channels used by the fit: given MHz windows, velocity windows around the lines, or all."""
    f = np.asarray(freq_mhz, dtype=float)
    if options.get("windows_mhz") is not None and options.get("windows_kms") is not None:
        raise ConfigError("give fit.windows_mhz or fit.windows_kms, not both")
    if options.get("windows_mhz") is not None:
        mask = np.zeros(f.size, dtype=bool)
        for w in options["windows_mhz"]:
            if not (isinstance(w, (list, tuple)) and len(w) == 2):
                raise ConfigError(f"fit.windows_mhz entries must be [fmin, fmax], got {w!r}")
            mask |= (f >= float(w[0])) & (f <= float(w[1]))
        return mask
    if options.get("windows_kms") is not None:
        w = options["windows_kms"]
        if not (isinstance(w, (list, tuple)) and len(w) == 2 and float(w[1]) > float(w[0])):
            raise ConfigError(f"fit.windows_kms must be [vmin, vmax] with vmin < vmax, got {w!r}")
        vmin, vmax = float(w[0]), float(w[1])
        lines = _fitted_line_frequencies(config, db, f[0] * 0.99, f[-1] * 1.01)
        mask = np.zeros(f.size, dtype=bool)
        vfile = config.vlsr_file_kms
        for f0 in lines:
            lo, hi = lsr_velocity_to_freq_mhz(np.array([vmax, vmin]), f0, vfile)
            i0, i1 = np.searchsorted(f, [lo, hi])
            mask[i0:i1] = True
        return mask
    return np.ones(f.size, dtype=bool)


def channel_rms_and_cal(freq_mhz, options: dict) -> tuple[np.ndarray, np.ndarray]:
    """(rms per channel, NaN where the fit options give none; calibration fraction per channel)
    from ``rms_k``, ``calibration_percent`` and ``rms_cal`` of the fit options."""
    f = np.asarray(freq_mhz, dtype=float)
    rms = np.full(f.size, np.nan)
    cal = np.full(f.size, float(options.get("calibration_percent", 0.0)) / 100.0)
    if options.get("rms_k") is not None:
        r = float(options["rms_k"])
        if not r > 0:
            raise ConfigError(f"fit.rms_k must be > 0, got {r}")
        rms[:] = r
    for i, e in enumerate(options.get("rms_cal", []) or []):
        try:
            m = (f >= float(e["fmin_mhz"])) & (f <= float(e["fmax_mhz"]))
            if "rms_k" in e:
                rms[m] = float(e["rms_k"])
            if "calibration_percent" in e:
                cal[m] = float(e["calibration_percent"]) / 100.0
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"fit.rms_cal[{i}] needs fmin_mhz, fmax_mhz and rms_k and/or "
                              "calibration_percent as numbers") from None
    return rms, cal


def fit_sigma(freq_mhz, intensity, options: dict) -> np.ndarray:
    """sigma = sqrt(rms^2 + (cal I)^2) per channel (rms/cal global, per window, or estimated)."""
    f = np.asarray(freq_mhz, dtype=float)
    y = np.asarray(intensity, dtype=float)
    rms, cal = channel_rms_and_cal(f, options)
    if np.any(np.isnan(rms)):
        for w in window_slices(f):
            seg = rms[w]
            if np.any(np.isnan(seg)):
                seg[np.isnan(seg)] = robust_rms(y[w] - np.nanmedian(y[w]))
    if np.any(rms <= 0):
        raise ConfigError("rms must be > 0 in every fitted window")
    return np.sqrt(rms**2 + (cal * y) ** 2)


#: the physical domain of each parameter when :meth:`LteModel.make_params` frees a plain number
_DOMAIN = {"tex_k": (2.73, None), "tkin_k": (0.0, None), "fwhm_kms": (0.0, None), "vlsr_kms": (None, None),
           "size_arcsec": (0.0, None), "ntot_cm2": (0.0, None), DENSITY: (0.0, None)}


@dataclass
class LteFitResult:
    """An LTE fit: ``fit`` (the minimiser's :class:`~cassis_lite.fitting.parameters.FitResult`:
    best ``params`` with 1-sigma ``stderr``, chi-square, covariance), ``config`` (the
    :class:`~cassis_lite.lte.ModelConfig` at the best values), ``model`` (the best model on the
    whole spectrum's grid, in its unit), ``mask`` (channels fitted) and ``sigma`` (their weights,
    in the spectrum's unit)."""

    fit: FitResult
    config: ModelConfig
    model: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)
    sigma: np.ndarray = field(repr=False)

    @property
    def params(self) -> Parameters:
        return self.fit.params

    @property
    def redchi(self) -> float:
        return self.fit.redchi

    @property
    def chisqr(self) -> float:
        return self.fit.chisqr

    def report(self) -> str:
        """One line per parameter (CASSIS's multi-fit), the chi-square, and a warning when the
        minimiser did not converge."""
        text = self.fit.report()
        if not self.fit.success:
            text += f"\nwarning: the minimiser did not converge: {self.fit.message}"
        return text

    def to_dict(self) -> dict:
        d = self.fit.to_dict()
        d["config"] = self.config.to_dict()
        return d


class LteModel:
    """An LTE model to fit to spectra, in lmfit's shape.

    Parameters
    ----------
    config : dict or ModelConfig
        The ``cassis-lite model --config`` JSON. In a dict, any component value (``tex_k``,
        ``fwhm_kms``, ``vlsr_kms``, ``size_arcsec``) or species value (``ntot_cm2``, ``fwhm_kms``)
        may be a parameter spec ``{"value", "vary", "min", "max", "expr", "log"}``, and a ``"fit"``
        object may give the fit options (the fit JSON of ``cassis-lite fit``).
    db : LineDatabase
        The line database (queried once per fit).
    """

    def __init__(self, config, db):
        if isinstance(config, ModelConfig):
            config = config.to_dict()
        plain, self._params, self.fit_options, self._slots = split_fit_config(config)
        self._source = copy.deepcopy(config)
        self._plain = plain
        self.config = ModelConfig.from_dict(plain)  # validated once, here
        self.db = db

    # -- parameters ---------------------------------------------------------------------------
    def config_params(self) -> Parameters:
        """The parameters as the JSON gives them: a plain number is fixed, a spec as written."""
        return self._params.copy()

    def make_params(self) -> Parameters:
        """Every parameter free, as lmfit's ``Model.make_params`` makes them: a plain number of
        the config becomes a free parameter bounded to its physical domain (T_ex above the CMB,
        FWHM, size and N positive; N fitted in log10); a spec keeps what it says."""
        params = self._params.copy()
        comps = self._source["components"]
        for name, (ci, si, key) in self._slots.items():
            target, field_ = _json_slot(comps[ci], si, key)
            if isinstance(target[field_], dict):
                continue
            p = params[name]
            lo, hi = _DOMAIN[key.split(":")[0]]
            params[name] = Parameter(name, p.value, True, lo, hi, unit=p.unit,
                                     log=p.log or key == "ntot_cm2" or key.startswith(DENSITY))
        return params

    # -- evaluation ---------------------------------------------------------------------------
    def config_at(self, params: Parameters, vlsr_file_kms: float | None = None) -> ModelConfig:
        """The :class:`ModelConfig` with the values of ``params``."""
        config = copy.deepcopy(self.config)
        if vlsr_file_kms is not None and "vlsr_file_kms" not in self._plain:
            config.vlsr_file_kms = float(vlsr_file_kms)
        work = params.copy()
        work.resolve_ties()
        _apply(config, work.valuesdict(), self._slots)
        return config

    def eval(self, params: Parameters | None = None, freq_mhz=None, *, vlsr_file_kms: float | None = None):
        """The model intensity (the config's unit) at ``freq_mhz`` (MHz, any order) for ``params``
        (default: the config's values)."""
        from cassis_lite.lte import compute_spectrum

        config = self.config_at(self.config_params() if params is None else params, vlsr_file_kms)
        return compute_spectrum(config, np.asarray(freq_mhz, dtype=float), self.db).intensity

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, spectrum, params: Parameters | None = None, **fit_options) -> LteFitResult:
        """Fit the free ``params`` (default: :meth:`config_params`) to ``spectrum``.

        Parameters
        ----------
        spectrum : Spectrum
            Its frequencies refer to its ``vlsr_kms`` unless the config sets ``vlsr_file_kms``.
        params : Parameters, optional
        **fit_options
            The keys of the JSON's ``"fit"`` object, over the config's own: ``windows_mhz``
            (``[[fmin, fmax], ...]``), ``windows_kms`` (``[vmin, vmax]`` around every line of the
            fitted species), ``rms_k`` (K; default: robust rms of each spectral window),
            ``calibration_percent``, ``rms_cal`` (per frequency range), ``max_nfev``.
        """
        unknown = set(fit_options) - FIT_KEYS
        if unknown:
            raise ConfigError(f"unknown fit option {sorted(unknown)[0]!r} (allowed: {', '.join(sorted(FIT_KEYS))})")
        return _fit(self, np.asarray(spectrum.freq_mhz, dtype=float), np.asarray(spectrum.intensity, dtype=float),
                    self.config_params() if params is None else params, {**self.fit_options, **fit_options},
                    spectrum.vlsr_kms)


def _fit(model: LteModel, f, y, params: Parameters, opts: dict, vlsr_file_kms) -> LteFitResult:
    from cassis_lite.lte import PreparedModel

    slots = model._slots
    missing = set(slots) - set(params)
    if missing:
        raise ConfigError(f"parameter {sorted(missing)[0]} is missing (make them with model.make_params())")
    config = model.config_at(params, vlsr_file_kms)
    mask = fit_mask(f, opts, config, model.db) & np.isfinite(y)
    if not mask.any():
        raise FitError("no channel of the spectrum falls in the fit windows")
    sigma = fit_sigma(f, y, opts)
    fm, ym, sm = f[mask], y[mask], sigma[mask]
    # select the lines once, wide enough for every velocity / width the bounds allow
    vmargin, wmargin = 0.0, 1.0
    for name, (ci, si, key) in slots.items():
        p = params[name]
        if key == "vlsr_kms" and p.free:
            span = max(abs(p.min - p.value) if math.isfinite(p.min) else 50.0,
                       abs(p.max - p.value) if math.isfinite(p.max) else 50.0)
            vmargin = max(vmargin, min(span, 500.0))
        if key == "fwhm_kms" and p.free and p.value > 0:
            top = p.max if math.isfinite(p.max) else 5 * p.value
            wmargin = max(wmargin, min(top / p.value, 20.0))
    prepared = PreparedModel(config, fm, model.db, velocity_margin_kms=vmargin, fwhm_margin=wmargin)

    calls = 0

    def residual(values: dict[str, float]) -> np.ndarray:
        nonlocal calls
        calls += 1
        _apply(config, values, slots)
        try:
            intensity = prepared.compute(config).intensity
        except PartitionRangeError:
            if calls == 1:  # the start values themselves: the user's error
                raise
            # a trial T_ex beyond a partition-function table: steer the solver back
            return np.full(ym.size, np.inf)
        return (ym - intensity) / sm

    res = least_squares_fit(residual, params, max_nfev=int(opts.get("max_nfev", 2000)))
    _apply(config, res.params.valuesdict(), slots)
    full = PreparedModel(config, f, model.db).compute(config).intensity
    return LteFitResult(res, config, full, mask, sigma)


def fit_lte(freq_mhz, intensity, fit_config: dict, db, *, vlsr_file_kms: float | None = None,
            options: dict | None = None) -> LteFitResult:
    """Fit the free parameters of ``fit_config`` (the fit JSON, see the module docstring) to a
    spectrum given as arrays: :class:`LteModel` with the JSON's own parameters.

    ``vlsr_file_kms``: the v_lsr the frequencies refer to (used when the config does not set
    ``vlsr_file_kms``). ``options`` overrides the config's ``"fit"`` object.
    """
    model = LteModel(fit_config, db)
    return _fit(model, np.asarray(freq_mhz, dtype=float), np.asarray(intensity, dtype=float),
                model.config_params(), {**model.fit_options, **(options or {})},
                vlsr_file_kms)
