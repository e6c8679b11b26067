"""Identification, LTE fit, rotational diagram and v_lsr search for the app (no UI).

Each ``run_*`` function takes the :class:`~cassis_lite.app.session.Session` (loaded spectrum and
line database) and options named like the matching ``cassis-lite`` command's flags, in the
astronomer's words (``tex_k``, ``fwhm_kms``, ``vmin_kms`` ...), calls the core exactly as that
command does, and returns the command's ``--format json`` answer (``file`` is the spectrum's
name) with the core's result object for the views. Nothing is computed here: the numbers are
the core's, so the browser and the command line agree.

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
    from cassis_lite.identify import LteSetup, identify_spectrum, line_candidates, spectrum_in_kelvin

    sp = _spectrum(session)
    o = _options(options, IDENTIFY_OPTIONS, "identify")
    db = session.db
    vlsr = sp.vlsr_kms if "vlsr_kms" not in o else _num(o, "vlsr_kms")
    setup = LteSetup(tex_k=_num(o, "tex_k", 100.0), fwhm_kms=_num(o, "fwhm_kms", 3.0), vlsr_kms=vlsr,
                     vlsr_file_kms=sp.vlsr_kms, size_arcsec=_num(o, "size_arcsec"),
                     diameter_m=_num(o, "diameter_m"))
    species = _species_list(o.get("species"))
    eup_max, aij_min = _num(o, "eup_max_k"), _num(o, "aij_min")
    y, note = spectrum_in_kelvin(sp)
    res = identify_spectrum(sp.freq_mhz, y, db, setup, species=species, rms=_num(o, "rms_k"),
                            eup_max_k=eup_max, aij_min=aij_min, threshold=_num(o, "threshold", 5.0))
    cands = line_candidates(res.features, db, setup, species=species, eup_max_k=eup_max, aij_min=aij_min)
    d = res.to_dict()
    d["file"] = sp.name
    d["features"] = [dict(rec, candidates=[c.to_dict() for c in cl])
                     for rec, cl in zip(res.features.to_records(), cands)]
    if note:
        d["note"] = note
    return d, res, cands


# --------------------------------------------------------------------------- fit

def run_fit(session, config):
    """``cassis-lite fit`` on the loaded spectrum: (json dict with "report", LteFitResult)."""
    from cassis_lite.fit import fit_lte

    sp = _spectrum(session)
    if not isinstance(config, dict):
        raise ConfigError("fit configuration must be a JSON object")
    res = fit_lte(sp.freq_mhz, sp.intensity, config, session.db, vlsr_file_kms=sp.vlsr_kms)
    d = res.to_dict()
    d["file"] = sp.name
    report = res.report()
    if not res.fit.success:
        report += f"\nwarning: the minimiser did not converge: {res.fit.message}"
    d["report"] = report
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
    from cassis_lite.identify import spectrum_in_kelvin
    from cassis_lite.lte.beam import dish_beam_arcsec, filling_factor
    from cassis_lite.rotdiagram import RotationalDiagramError, measure_species_lines, rotational_diagram

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
    y, note = spectrum_in_kelvin(sp)
    m = measure_species_lines(sp.freq_mhz, y, db, species, vmin, vmax, vlsr_file_kms=sp.vlsr_kms,
                              rms=_num(o, "rms_k"), eup_max_k=_num(o, "eup_max_k"), aij_min=_num(o, "aij_min"))
    ff = 1.0
    if "size_arcsec" in o:
        if "diameter_m" not in o:
            raise RotationalDiagramError("size_arcsec needs diameter_m (telescope) for the beam filling")
        ff = filling_factor(_num(o, "size_arcsec"), dish_beam_arcsec(m.freq_mhz, _num(o, "diameter_m")))
    res = rotational_diagram(m.freq_mhz, m.aij, m.gup, m.eup_k, m.area_k_kms, m.area_err_k_kms, pf.q,
                             beam_filling=ff, calibration=_num(o, "calibration_percent", 0.0) / 100.0,
                             tau_correction=bool(o.get("tau_correction", False)), fwhm_kms=_num(o, "fwhm_kms"))
    d = res.to_dict()
    d["species"] = species
    d["dropped"] = [{"freq_mhz": f, "reason": r} for f, r in m.dropped]
    d["report"] = res.report()
    if note:
        d["note"] = note
    return d, res


# --------------------------------------------------------------------------- v_lsr / redshift

def run_find_velocity(session, options=None):
    """``cassis-lite vlsr FILE`` on the loaded spectrum: (json dict with "report", VelocityResult)."""
    from cassis_lite.constants import C_LIGHT_KMS
    from cassis_lite.vlsr import VelocitySearchError, find_velocity, species_line_weights

    sp = _spectrum(session)
    o = _options(options, VLSR_OPTIONS, "v_lsr")
    species = o.get("species")
    lines = o.get("lines_mhz")
    if (species is None) == (lines is None):
        raise VelocitySearchError("give either species or lines_mhz")
    kind = "redshift" if o.get("redshift") else "vlsr"
    vmin, vmax = _num(o, "vmin_kms", -100.0), _num(o, "vmax_kms", 100.0)
    zmin, zmax = _num(o, "zmin", 0.0), _num(o, "zmax", 0.1)
    tex, fwhm = _num(o, "tex_k", 100.0), _num(o, "fwhm_kms", 3.0)
    weights = None
    if species is not None:
        f0, f1 = float(sp.freq_mhz[0]), float(sp.freq_mhz[-1])
        if kind == "vlsr":
            lo = f0 / (1 - (vmin - sp.vlsr_kms) / C_LIGHT_KMS)
            hi = f1 / (1 - (vmax - sp.vlsr_kms) / C_LIGHT_KMS)
        else:
            lo, hi = f0 * (1 + zmin), f1 * (1 + zmax)
        lines, weights = species_line_weights(session.db, str(species).strip(), min(lo, hi), max(lo, hi), tex,
                                              fwhm, _num(o, "eup_max_k"))
    else:
        try:
            lines = [float(v) for v in (lines if isinstance(lines, (list, tuple)) else [lines])]
        except (TypeError, ValueError):
            raise ConfigError(f"lines_mhz must be a list of frequencies (MHz), got {lines!r}") from None
    res = find_velocity(sp.freq_mhz, sp.intensity, lines, weights=weights, kind=kind, vmin=vmin, vmax=vmax,
                        zmin=zmin, zmax=zmax, fwhm_kms=fwhm, vlsr_file_kms=sp.vlsr_kms, rms=_num(o, "rms_k"),
                        absorption=bool(o.get("absorption", False)))
    d = res.to_dict()
    d["report"] = res.report()
    return d, res
