"""The app's analyses: the loaded spectrum through the request layer the command line uses.

Each ``run_*`` takes the session (its spectrum and database) and the JSON options of the
scripting call or the card's widgets, and returns the ``cassis-lite ... --format json`` answer
with the core's result (:mod:`cassis_lite.analysis.requests`). Nothing is computed here, so the
browser and the command line agree.
"""

from __future__ import annotations

import copy
import math

from cassis_lite.analysis.requests import (fit_request, identify_request, spectrum_rotational_diagram_request,
                                           velocity_request)
from cassis_lite.errors import CassisError, ConfigError


class NoSpectrumError(CassisError):
    """An analysis was asked for before any spectrum was loaded."""


def _spectrum(session):
    if session.spectrum is None:
        raise NoSpectrumError("no spectrum loaded: open one first")
    return session.spectrum


def run_identify(session, options=None):
    """``cassis-lite identify``: (json dict, IdentificationResult, candidates)."""
    d, res, cands, _, _ = identify_request(_spectrum(session), session.db, options)
    return d, res, cands


def run_fit(session, config):
    """``cassis-lite fit``: (json dict with "report", LteFitResult)."""
    sp = _spectrum(session)
    if not isinstance(config, dict):
        raise ConfigError("fit configuration must be a JSON object")
    return fit_request(sp, session.db, config)


def run_rotational_diagram(session, options=None):
    """``cassis-lite rotdiagram FILE``: (json dict with "report", RotationalDiagramResult)."""
    return spectrum_rotational_diagram_request(_spectrum(session), session.db, options)


def run_find_velocity(session, options=None):
    """``cassis-lite vlsr FILE``: (json dict with "report", VelocityResult)."""
    sp = _spectrum(session)
    species = (options or {}).get("species") if isinstance(options, dict) else None
    return velocity_request(sp, session.db if species else None, options)


def parameter_table(config) -> list[dict]:
    """The fit's parameters (name, start value, vary, bounds, unit) as ``split_fit_config`` reads them."""
    from cassis_lite.fitting.lte_fit import split_fit_config

    _, params, _, _ = split_fit_config(config)
    return [dict(p.to_dict(), name=n) for n, p in params.items()]


def fit_config_from_model(model: dict) -> dict:
    """A starting fit configuration from a model config: T_ex, FWHM, v_lsr and every N free
    within broad bounds, the size fixed, fitted over v_lsr +- 3 FWHM of each component."""
    cfg = copy.deepcopy(model)
    cfg.pop("grid", None)
    lo, hi = math.inf, -math.inf
    for comp in cfg.get("components", []):
        t, w, v = float(comp["tex_k"]), float(comp["fwhm_kms"]), float(comp.get("vlsr_kms", 0.0))
        comp["tex_k"] = {"value": t, "min": max(3.0, t / 4), "max": min(1000.0, 4 * t)}
        comp["fwhm_kms"] = {"value": w, "min": max(0.05, w / 5), "max": 5 * w}
        comp["vlsr_kms"] = {"value": v, "min": v - 2 * w, "max": v + 2 * w}
        for s in comp.get("species", []):
            n = float(s["ntot_cm2"])
            s["ntot_cm2"] = {"value": n, "min": n / 1e3, "max": n * 1e3}
        lo, hi = min(lo, v - 3 * w), max(hi, v + 3 * w)
    if math.isfinite(lo):
        cfg["fit"] = {"windows_kms": [round(lo, 3), round(hi, 3)]}
    return cfg


