"""Identification, LTE fit, rotational diagram and v_lsr search for the app (no UI).

Each ``run_*`` function takes the :class:`~cassis_lite.app.session.Session` (loaded spectrum and
line database) and options named like the matching ``cassis-lite`` command's flags, in the
astronomer's words (``tex_k``, ``fwhm_kms``, ``vmin_kms`` ...), checks them and calls the same
:mod:`cassis_lite.analysis_requests` function as that command, and returns the command's
``--format json`` answer (``file`` is the spectrum's name) with the core's result object for the
views. Nothing is computed here, so the browser and the command line agree.

    identify(options)           cassis-lite identify FILE --format json
    fit(config)                 cassis-lite fit FILE --config CONFIG --format json  (+ "report")
    rotationalDiagram(options)  cassis-lite rotdiagram FILE --species S --vmin --vmax --format json
    findVelocity(options)       cassis-lite vlsr FILE --species S | --lines ... --format json
"""

from __future__ import annotations

import copy
import math

from cassis_lite.errors import CassisError, ConfigError

IDENTIFY_OPTIONS = {"vlsr_kms", "tex_k", "fwhm_kms", "species", "eup_max_k", "aij_min", "rms_k", "threshold",
                    "size_arcsec", "diameter_m"}
ROTDIAGRAM_OPTIONS = {"species", "vmin_kms", "vmax_kms", "rms_k", "calibration_percent", "eup_max_k", "aij_min",
                      "size_arcsec", "diameter_m", "tau_correction", "fwhm_kms"}
VLSR_OPTIONS = {"species", "lines_mhz", "vmin_kms", "vmax_kms", "redshift", "zmin", "zmax", "tex_k", "fwhm_kms",
                "eup_max_k", "absorption", "rms_k"}


class NoSpectrumError(CassisError):
    """An analysis was asked for before any spectrum was loaded."""


def _spectrum(session):
    if session.spectrum is None:
        raise NoSpectrumError("no spectrum loaded: open one first")
    return session.spectrum


def _options(options, allowed: set[str], what: str) -> dict:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ConfigError(f"{what} options must be a JSON object")
    unknown = set(options) - allowed
    if unknown:
        raise ConfigError(f"unknown {what} option {sorted(unknown)[0]!r} (allowed: {', '.join(sorted(allowed))})")
    return {k: v for k, v in options.items() if v is not None and v != ""}


def _num(o: dict, key: str, default=None):
    if key not in o:
        return default
    try:
        v = float(o[key])
    except (TypeError, ValueError):
        raise ConfigError(f"option {key} must be a number, got {o[key]!r}") from None
    if not math.isfinite(v):
        raise ConfigError(f"option {key} must be finite, got {o[key]!r}")
    return v


def _species_list(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = [s.strip() for s in value.split(",")]
    out = [str(s).strip() for s in value if str(s).strip()]
    return out or None


# --------------------------------------------------------------------------- identification

def run_identify(session, options=None):
    """``cassis-lite identify`` on the loaded spectrum: (json dict, IdentificationResult, candidates)."""
    from cassis_lite.analysis_requests import identify_request

    sp = _spectrum(session)
    o = _options(options, IDENTIFY_OPTIONS, "identify")
    d, res, cands, _, note = identify_request(
        sp, session.db, sp.name, vlsr_kms=_num(o, "vlsr_kms"), tex_k=_num(o, "tex_k", 100.0),
        fwhm_kms=_num(o, "fwhm_kms", 3.0), size_arcsec=_num(o, "size_arcsec"), diameter_m=_num(o, "diameter_m"),
        species=_species_list(o.get("species")), eup_max_k=_num(o, "eup_max_k"), aij_min=_num(o, "aij_min"),
        rms_k=_num(o, "rms_k"), threshold=_num(o, "threshold", 5.0))
    if note:
        d["note"] = note
    return d, res, cands


# --------------------------------------------------------------------------- fit

def run_fit(session, config):
    """``cassis-lite fit`` on the loaded spectrum: (json dict with "report", LteFitResult)."""
    from cassis_lite.analysis_requests import fit_report, fit_request

    sp = _spectrum(session)
    if not isinstance(config, dict):
        raise ConfigError("fit configuration must be a JSON object")
    d, res = fit_request(sp, session.db, config, sp.name)
    d["report"] = fit_report(res)
    return d, res


def parameter_table(config) -> list[dict]:
    """The fit's parameters (name, start value, vary, bounds, unit) as ``split_fit_config`` reads them."""
    from cassis_lite.fit import split_fit_config

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


# --------------------------------------------------------------------------- rotational diagram

def run_rotational_diagram(session, options=None):
    """``cassis-lite rotdiagram FILE`` on the loaded spectrum: (json dict, result)."""
    from cassis_lite.analysis_requests import measure_lines_request, rotational_diagram_request
    from cassis_lite.rotdiagram import RotationalDiagramError

    sp = _spectrum(session)
    o = _options(options, ROTDIAGRAM_OPTIONS, "rotational diagram")
    species = o.get("species")
    if not species:
        raise RotationalDiagramError("give the species of the rotational diagram")
    species = str(species).strip()
    vmin, vmax = _num(o, "vmin_kms"), _num(o, "vmax_kms")
    if vmin is None or vmax is None:
        raise RotationalDiagramError("vmin_kms and vmax_kms (LSR velocity window of the lines) are needed")
    db = session.db
    pf = db.partition_function(species)
    m, note = measure_lines_request(sp, db, species, vmin, vmax, rms_k=_num(o, "rms_k"),
                                    eup_max_k=_num(o, "eup_max_k"), aij_min=_num(o, "aij_min"))
    d, res = rotational_diagram_request(species, pf.q, m, size_arcsec=_num(o, "size_arcsec"),
                                        diameter_m=_num(o, "diameter_m"),
                                        calibration_percent=_num(o, "calibration_percent", 0.0),
                                        tau_correction=bool(o.get("tau_correction", False)),
                                        fwhm_kms=_num(o, "fwhm_kms"))
    d["report"] = res.report()
    if note:
        d["note"] = note
    return d, res


# --------------------------------------------------------------------------- v_lsr / redshift

def run_find_velocity(session, options=None):
    """``cassis-lite vlsr FILE`` on the loaded spectrum: (json dict with "report", VelocityResult)."""
    from cassis_lite.analysis_requests import velocity_request
    from cassis_lite.vlsr import VelocitySearchError

    sp = _spectrum(session)
    o = _options(options, VLSR_OPTIONS, "v_lsr")
    species = o.get("species")
    lines = o.get("lines_mhz")
    if (species is None) == (lines is None):
        raise VelocitySearchError("give either species or lines_mhz")
    if species is not None:
        species = str(species).strip()
    else:
        try:
            lines = [float(v) for v in (lines if isinstance(lines, (list, tuple)) else [lines])]
        except (TypeError, ValueError):
            raise ConfigError(f"lines_mhz must be a list of frequencies (MHz), got {lines!r}") from None
    d, res = velocity_request(sp, session.db if species is not None else None, species=species, lines_mhz=lines,
                              redshift=bool(o.get("redshift")), vmin_kms=_num(o, "vmin_kms", -100.0),
                              vmax_kms=_num(o, "vmax_kms", 100.0), zmin=_num(o, "zmin", 0.0),
                              zmax=_num(o, "zmax", 0.1), tex_k=_num(o, "tex_k", 100.0),
                              fwhm_kms=_num(o, "fwhm_kms", 3.0), eup_max_k=_num(o, "eup_max_k"),
                              absorption=bool(o.get("absorption", False)), rms_k=_num(o, "rms_k"))
    d["report"] = res.report()
    return d, res
