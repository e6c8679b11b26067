"""The absorption-fit configuration: the JSON of ``cassis-lite absorption fit --config`` and of
:class:`~cassis_lite.optical.AbsorptionModel`, validated once by :meth:`AbsorptionConfig.from_dict`
(errors name the JSON path: ``components[1].ions[0].logn_cm2: ...``).

::

    {
      "redshift": 1.6,                              # z of the system (default 0)
      "lsf": {"resolving_power": 45000},            # or {"fwhm_kms": 6.7} or {"fwhm_a": 0.1}; null: none
      "tie_b_v": true,                              # b and v shared by the ions of a component (default)
      "components": [
        {"name": "c1",                              # default c1, c2, ...
         "v_kms": {"value": -20, "min": -60, "max": 20},     # km/s in the system's rest frame (default 0, fixed)
         "b_kms": {"value": 8, "min": 1, "max": 50},         # Doppler parameter, km/s (needed)
         "ions": [{"ion": "C IV", "logn_cm2": {"value": 13.5, "min": 10, "max": 17}},
                  {"ion": "Si IV", "logn_cm2": 12.8}]},      # a number is fixed
        {"name": "c2", "tie_b_v": false,            # this component's own choice (default: the top one)
         "v_kms": {"value": 35}, "b_kms": {"value": 12, "min": 1, "max": 50},   # its ions' defaults
         "ions": [{"ion": "C IV", "logn_cm2": {"value": 13.0}},
                  {"ion": "Si IV", "logn_cm2": {"value": 12.5}, "b_kms": {"value": 6, "min": 1, "max": 50}}]}
      ],
      "fit": {"windows_a": [[4021.0, 4032.5]],      # observed vacuum wavelengths, A (air: "windows_air": true)
              "windows_kms": [-150, 150],           # or: around every line of the ions, system frame
              "sigma": 0.02,                        # 1-sigma of the normalised flux (default: the spectrum's
                                                    #   uncertainty, else the robust rms of its pixel differences / sqrt 2)
              "max_nfev": 2000}
    }

A value is a number (fixed) or a parameter ``{"value", "vary", "min", "max", "expr"}`` of
:mod:`cassis_lite.fitting.parameters` (``expr`` ties it to another parameter by name). Names:
``c1_v``, ``c1_b``, ``c1_logn_C_IV``; an untied component's ions have ``c1_b_C_IV`` and
``c1_v_C_IV``. Column densities are fitted as log10 N (cm^-2): ``logn_cm2`` is the parameter. A
free value without bounds is kept in its physical domain (b 0.1-1000 km/s, log N 0-25).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from cassis_lite.errors import ConfigError
from cassis_lite.fitting.parameters import ParameterError, Parameters, parameter_label, parameters_from_spec

TOP_KEYS = {"redshift", "lsf", "tie_b_v", "components", "fit"}
COMPONENT_KEYS = {"name", "v_kms", "b_kms", "tie_b_v", "ions"}
ION_KEYS = {"ion", "logn_cm2", "b_kms", "v_kms"}
LSF_KEYS = ("fwhm_a", "fwhm_kms", "resolving_power")
FIT_KEYS = {"windows_a", "windows_air", "windows_kms", "sigma", "max_nfev"}
SPEC_KEYS = {"value", "vary", "min", "max", "expr"}
#: physical domain of each quantity: the bounds of a free value given none, and of a plain number
#: made free by :meth:`AbsorptionModel.make_params`
DOMAIN = {"b_kms": (0.1, 1000.0), "logn_cm2": (0.0, 25.0), "v_kms": (None, None)}
UNITS = {"b_kms": "km/s", "v_kms": "km/s", "logn_cm2": "log10 cm-2"}


def _keys(d, allowed, where: str) -> None:
    if not isinstance(d, dict):
        raise ConfigError(f"{where or 'configuration'} must be a JSON object, got {type(d).__name__}")
    unknown = sorted(set(d) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown key {where + '.' if where else ''}{unknown[0]} (allowed: {', '.join(sorted(allowed))})")


def _number(value, where: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    if positive and not value > 0:
        raise ConfigError(f"{where} must be > 0, got {value!r}")
    return float(value)


def _bool(d: dict, key: str, where: str, default: bool) -> bool:
    value = d.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}{key} must be true or false, got {value!r}")
    return value


@dataclass
class Slot:
    """Where a parameter acts: component index, ion index (None: every ion of the component) and quantity."""

    component: int
    ion: int | None
    key: str


@dataclass
class AbsorptionConfig:
    """A validated absorption-fit configuration (schema in the module docstring).

    ``params`` holds one :class:`~cassis_lite.fitting.parameters.Parameter` per value, ``slots``
    says where each acts, ``ions[c]`` lists the ions of component c, ``specs`` whether each
    value was a number (False) or a parameter object (True)."""

    redshift: float
    lsf: dict
    components: list[str]
    ions: list[list[str]]
    params: Parameters
    slots: dict[str, Slot]
    specs: dict[str, bool]
    fit: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> "AbsorptionConfig":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"absorption configuration is not valid JSON: {exc}") from None

    @classmethod
    def from_dict(cls, d) -> "AbsorptionConfig":
        _keys(d, TOP_KEYS, "")
        z = _number(d.get("redshift", 0.0), "redshift")
        if not z > -1:
            raise ConfigError(f"redshift must be > -1, got {z:g}")
        lsf = _lsf(d.get("lsf"))
        tie_default = _bool(d, "tie_b_v", "", True)
        comps = d.get("components")
        if not isinstance(comps, list) or not comps:
            raise ConfigError("components must be a non-empty list of objects")
        params, slots, specs = Parameters(), {}, {}
        names, ions = [], []

        def add(name: str, spec, key: str, slot: Slot, where: str) -> None:
            if name in slots:
                raise ConfigError(f"{where}: parameter {name} defined twice (two components or ions with one name?)")
            if isinstance(spec, dict):
                _keys(spec, SPEC_KEYS, where)
                if "value" in spec:
                    _number(spec["value"], f"{where}.value")
                elif not spec.get("expr"):
                    raise ConfigError(f"{where} needs a value (or an expr)")
            else:
                _number(spec, where)
            try:
                p = parameters_from_spec([(name, spec, UNITS[key])])[name]
            except ParameterError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            if key == "b_kms" and p.expr is None and not p.value > 0:
                raise ConfigError(f"{where} must be > 0 km/s, got {p.value:g}")
            if p.free:  # no bound given: the physical domain
                lo, hi = DOMAIN[key]
                p.min = p.min if lo is None or math.isfinite(p.min) else lo
                p.max = p.max if hi is None or math.isfinite(p.max) else hi
                if not p.min <= p.value <= p.max:
                    raise ConfigError(f"{where}: start value {p.value:g} outside [{p.min:g}, {p.max:g}]")
            params[name], slots[name], specs[name] = p, slot, isinstance(spec, dict)

        for ci, comp in enumerate(comps):
            where = f"components[{ci}]"
            _keys(comp, COMPONENT_KEYS, where)
            cname = comp.get("name", f"c{ci + 1}")
            if not isinstance(cname, str) or not parameter_label(cname):
                raise ConfigError(f"{where}.name must be a non-empty string, got {cname!r}")
            cname = parameter_label(cname)
            tied = _bool(comp, "tie_b_v", f"{where}.", tie_default)
            if "b_kms" not in comp:
                raise ConfigError(f"{where}.b_kms is missing")
            if tied:
                add(f"{cname}_b", comp["b_kms"], "b_kms", Slot(ci, None, "b_kms"), f"{where}.b_kms")
                add(f"{cname}_v", comp.get("v_kms", 0.0), "v_kms", Slot(ci, None, "v_kms"), f"{where}.v_kms")
            ion_list = comp.get("ions")
            if not isinstance(ion_list, list) or not ion_list:
                raise ConfigError(f"{where}.ions must be a non-empty list of objects")
            comp_ions = []
            for ii, entry in enumerate(ion_list):
                iw = f"{where}.ions[{ii}]"
                _keys(entry, ION_KEYS, iw)
                ion = entry.get("ion")
                if not isinstance(ion, str) or not ion.strip():
                    raise ConfigError(f"{iw}.ion must be an ion name such as \"C IV\", got {ion!r}")
                ion = ion.strip()
                if ion in comp_ions:
                    raise ConfigError(f"{iw}.ion: {ion} is listed twice in {cname}")
                if "logn_cm2" not in entry:
                    raise ConfigError(f"{iw}.logn_cm2 is missing")
                label = parameter_label(ion)
                add(f"{cname}_logn_{label}", entry["logn_cm2"], "logn_cm2", Slot(ci, ii, "logn_cm2"),
                    f"{iw}.logn_cm2")
                for key, short in (("b_kms", "b"), ("v_kms", "v")):
                    if tied and key in entry:
                        raise ConfigError(f"{iw}.{key}: the ions of {cname} share its b and v (tie_b_v is "
                                          f"true); set \"tie_b_v\": false on the component to give {ion} its own")
                    if not tied:  # the component's b / v are the ion's default
                        spec = entry.get(key, comp.get(key, 0.0))
                        add(f"{cname}_{short}_{label}", spec, key, Slot(ci, ii, key), f"{iw}.{key}")
                comp_ions.append(ion)
            names.append(cname)
            ions.append(comp_ions)
        fit = fit_options(d.get("fit") or {})
        try:
            params.resolve_ties()
        except ParameterError as exc:
            raise ConfigError(str(exc)) from None
        return cls(z, lsf, names, ions, params, slots, specs, fit)

    def all_ions(self) -> list[str]:
        return list(dict.fromkeys(i for comp in self.ions for i in comp))


def _lsf(d) -> dict:
    if d is None:
        return {}
    _keys(d, LSF_KEYS, "lsf")
    given = [k for k in LSF_KEYS if d.get(k) is not None]
    if len(given) != 1:
        raise ConfigError("lsf needs exactly one of fwhm_a, fwhm_kms, resolving_power")
    return {given[0]: _number(d[given[0]], f"lsf.{given[0]}", positive=True)}


def fit_options(d) -> dict:
    """The validated ``"fit"`` object (the same keys as keyword arguments of ``AbsorptionModel.fit``)."""
    _keys(d, FIT_KEYS, "fit")
    out = {}
    if d.get("windows_a") is not None and d.get("windows_kms") is not None:
        raise ConfigError("give fit.windows_a or fit.windows_kms, not both")
    if d.get("windows_a") is not None:
        wins = d["windows_a"]
        if not isinstance(wins, (list, tuple)) or not wins:
            raise ConfigError("fit.windows_a must be a list of [wmin, wmax] (A)")
        out["windows_a"] = []
        for i, w in enumerate(wins):
            if not (isinstance(w, (list, tuple)) and len(w) == 2):
                raise ConfigError(f"fit.windows_a[{i}] must be [wmin, wmax] (A), got {w!r}")
            lo, hi = _number(w[0], f"fit.windows_a[{i}][0]", True), _number(w[1], f"fit.windows_a[{i}][1]", True)
            if not hi > lo:
                raise ConfigError(f"fit.windows_a[{i}]: wmax must be above wmin, got {w!r}")
            out["windows_a"].append((lo, hi))
    if d.get("windows_kms") is not None:
        w = d["windows_kms"]
        if not (isinstance(w, (list, tuple)) and len(w) == 2):
            raise ConfigError(f"fit.windows_kms must be [vmin, vmax] (km/s), got {w!r}")
        lo, hi = _number(w[0], "fit.windows_kms[0]"), _number(w[1], "fit.windows_kms[1]")
        if not hi > lo:
            raise ConfigError(f"fit.windows_kms: vmax must be above vmin, got {w!r}")
        out["windows_kms"] = (lo, hi)
    if "windows_air" in d:
        out["windows_air"] = _bool(d, "windows_air", "fit.", False)
    if d.get("sigma") is not None:
        out["sigma"] = _number(d["sigma"], "fit.sigma", positive=True)
    if d.get("max_nfev") is not None:
        n = d["max_nfev"]
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ConfigError(f"fit.max_nfev must be a positive integer, got {n!r}")
        out["max_nfev"] = n
    return out
