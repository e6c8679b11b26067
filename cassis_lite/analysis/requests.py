"""The analyses of a :class:`~cassis_lite.spectrum.Spectrum`, answered as the command line does.

``cassis-lite identify | fit | rotdiagram | vlsr`` and the browser app (its cards and
``window.cassisLite``) both call these, so the two compute and answer alike. Each takes the
spectrum (its v_lsr, beam and unit flow in), the line database and an options object of
:mod:`cassis_lite.analysis.options` (or the JSON dict of one, validated here), and returns the
command's ``--format json`` dict with the core's result object(s). ``warn`` (optional) is called
with the note about the intensity unit before the computation.
"""

from __future__ import annotations

from typing import NamedTuple

from cassis_lite.analysis.options import IdentifyOptions, RotationalDiagramOptions, VelocityOptions


class Identification(NamedTuple):
    json: dict
    result: object  # IdentificationResult
    candidates: list | None  # ranked candidate transitions per feature
    vlsr_kms: float
    note: str | None


def _kelvin(sp, warn):
    y, note = sp.intensity_in_kelvin()
    if note and warn is not None:
        warn(note)
    return y, note


def identify_request(sp, db, options: IdentifyOptions | dict | None = None, *, candidates=True,
                     warn=None) -> Identification:
    """``cassis-lite identify``; the features carry their candidates only when ``candidates``."""
    from cassis_lite.analysis.identify import LteSetup, identify_spectrum, line_candidates

    o = IdentifyOptions.from_dict(options)
    vlsr = sp.vlsr_kms if o.vlsr_kms is None else o.vlsr_kms
    setup = LteSetup(tex_k=o.tex_k, fwhm_kms=o.fwhm_kms, vlsr_kms=vlsr, vlsr_file_kms=sp.vlsr_kms,
                     size_arcsec=o.size_arcsec, diameter_m=o.diameter_m)
    y, note = _kelvin(sp, warn)
    species = list(o.species) if o.species else None
    res = identify_spectrum(sp.freq_mhz, y, db, setup, species=species, rms=o.rms_k, eup_max_k=o.eup_max_k,
                            aij_min=o.aij_min, threshold=o.threshold)
    cands = None
    d = res.to_dict()
    d["file"] = sp.name
    if candidates:
        cands = line_candidates(res.features, db, setup, species=species, eup_max_k=o.eup_max_k,
                                aij_min=o.aij_min)
        d["features"] = [dict(rec, candidates=[c.to_dict() for c in cl])
                         for rec, cl in zip(res.features.to_records(), cands)]
    if note:
        d["note"] = note
    return Identification(d, res, cands, vlsr, note)


def fit_request(sp, db, config: dict):
    """``cassis-lite fit``: (json dict with the text ``report``, LteFitResult)."""
    from cassis_lite.fitting.lte_fit import LteModel

    model = LteModel(config, db)
    res = model.fit(sp, model.config_params())
    d = res.to_dict()
    d["file"] = sp.name
    d["report"] = res.report()
    return d, res


def measure_lines_request(sp, db, options: RotationalDiagramOptions, *, warn=None):
    """The lines of the options' species integrated in the spectrum (in K): (SpectrumLines, note)."""
    from cassis_lite.analysis.rotdiagram import measure_species_lines

    options.require_window()
    y, note = _kelvin(sp, warn)
    m = measure_species_lines(sp.freq_mhz, y, db, options.species, options.vmin_kms, options.vmax_kms,
                              vlsr_file_kms=sp.vlsr_kms, rms=options.rms_k, eup_max_k=options.eup_max_k,
                              aij_min=options.aij_min)
    return m, note


def rotational_diagram_request(species, q, lines, options: RotationalDiagramOptions):
    """The diagram of measured ``lines`` (a SpectrumLines) with the partition function ``q(T)``:
    (json dict with the text ``report``, RotationalDiagramResult)."""
    from cassis_lite.analysis.rotdiagram import rotational_diagram
    from cassis_lite.lte.beam import dish_beam_arcsec, filling_factor

    ff = 1.0
    if options.size_arcsec is not None:
        ff = filling_factor(options.size_arcsec, dish_beam_arcsec(lines.freq_mhz, options.diameter_m))
    res = rotational_diagram(lines.freq_mhz, lines.aij, lines.gup, lines.eup_k, lines.area_k_kms,
                             lines.area_err_k_kms, q, beam_filling=ff,
                             calibration=options.calibration_percent / 100.0,
                             tau_correction=options.tau_correction, fwhm_kms=options.fwhm_kms)
    d = res.to_dict()
    d["species"] = species
    d["dropped"] = [{"freq_mhz": f, "reason": r} for f, r in lines.dropped]
    d["report"] = res.report()
    return d, res


def spectrum_rotational_diagram_request(sp, db, options: RotationalDiagramOptions | dict, *, warn=None,
                                         names: dict | None = None):
    """``cassis-lite rotdiagram FILE``: measure the species' lines in ``sp``, then the diagram."""
    o = RotationalDiagramOptions.from_dict(options, names)
    o.require_window(names)
    lines, note = measure_lines_request(sp, db, o, warn=warn)
    d, res = rotational_diagram_request(o.species, db.partition_function(o.species).q, lines, o)
    d["file"] = sp.name
    if note:
        d["note"] = note
    return d, res


def velocity_request(sp, db, options: VelocityOptions | dict):
    """``cassis-lite vlsr``: the lines of ``species`` (from ``db``, weighted by their LTE
    intensity) or the rest frequencies ``lines_mhz``: (json dict with the text ``report``,
    VelocityResult)."""
    from cassis_lite.analysis.vlsr import find_velocity, species_line_weights
    from cassis_lite.constants import C_LIGHT_KMS

    o = VelocityOptions.from_dict(options)
    kind = "redshift" if o.redshift else "vlsr"
    weights = None
    lines = o.lines_mhz
    if o.species is not None:
        f0, f1 = float(sp.freq_mhz[0]), float(sp.freq_mhz[-1])
        if kind == "vlsr":
            lo = f0 / (1 - (o.vmin_kms - sp.vlsr_kms) / C_LIGHT_KMS)
            hi = f1 / (1 - (o.vmax_kms - sp.vlsr_kms) / C_LIGHT_KMS)
        else:
            lo, hi = f0 * (1 + o.zmin), f1 * (1 + o.zmax)
        lines, weights = species_line_weights(db, o.species, min(lo, hi), max(lo, hi), o.tex_k, o.fwhm_kms,
                                              o.eup_max_k)
    res = find_velocity(sp.freq_mhz, sp.intensity, lines, weights=weights, kind=kind, vmin=o.vmin_kms,
                        vmax=o.vmax_kms, zmin=o.zmin, zmax=o.zmax, fwhm_kms=o.fwhm_kms,
                        vlsr_file_kms=sp.vlsr_kms, rms=o.rms_k, absorption=o.absorption)
    d = res.to_dict()
    d["file"] = sp.name
    d["report"] = res.report()
    return d, res
