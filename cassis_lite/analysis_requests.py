"""From a user's options to the core and back to a JSON answer: identify, fit, rotational diagram, v_lsr.

The ``cassis-lite identify | fit | rotdiagram | vlsr`` commands and the browser app
(:mod:`cassis_lite.app.analysis`) both call these, so the two compute and answer alike. The
options are already numbers, named in the astronomer's words; each function returns the
command's ``--format json`` dict with the core's result object(s). ``warn`` (optional) is called
with the note about the intensity unit before the computation; ``names`` spells option names in
messages the caller's way (the command's flags).
"""

from __future__ import annotations

from typing import NamedTuple


class Identification(NamedTuple):
    json: dict
    result: object  # IdentificationResult
    candidates: list | None  # ranked candidate transitions per feature
    vlsr_kms: float
    note: str | None


def _kelvin(sp, warn):
    from cassis_lite.identify import spectrum_in_kelvin

    y, note = spectrum_in_kelvin(sp)
    if note and warn is not None:
        warn(note)
    return y, note


def identify_request(sp, db, file, *, vlsr_kms=None, tex_k=100.0, fwhm_kms=3.0, species=None, eup_max_k=None,
                     aij_min=None, rms_k=None, threshold=5.0, size_arcsec=None, diameter_m=None,
                     candidates=True, warn=None) -> Identification:
    """``cassis-lite identify``; ``vlsr_kms`` None is the file's; the features carry their
    candidates only when ``candidates``."""
    from cassis_lite.identify import LteSetup, identify_spectrum, line_candidates

    vlsr = sp.vlsr_kms if vlsr_kms is None else vlsr_kms
    setup = LteSetup(tex_k=tex_k, fwhm_kms=fwhm_kms, vlsr_kms=vlsr, vlsr_file_kms=sp.vlsr_kms,
                     size_arcsec=size_arcsec, diameter_m=diameter_m)
    y, note = _kelvin(sp, warn)
    res = identify_spectrum(sp.freq_mhz, y, db, setup, species=species, rms=rms_k, eup_max_k=eup_max_k,
                            aij_min=aij_min, threshold=threshold)
    cands = None
    d = res.to_dict()
    d["file"] = file
    if candidates:
        cands = line_candidates(res.features, db, setup, species=species, eup_max_k=eup_max_k, aij_min=aij_min)
        d["features"] = [dict(rec, candidates=[c.to_dict() for c in cl])
                         for rec, cl in zip(res.features.to_records(), cands)]
    return Identification(d, res, cands, vlsr, note)


def fit_request(sp, db, config: dict, file):
    """``cassis-lite fit``: (json dict, LteFitResult)."""
    from cassis_lite.fit import fit_lte

    res = fit_lte(sp.freq_mhz, sp.intensity, config, db, vlsr_file_kms=sp.vlsr_kms)
    d = res.to_dict()
    d["file"] = file
    return d, res


def fit_report(res) -> str:
    """The fit's text report, with a warning when the minimiser did not converge."""
    report = res.report()
    if not res.fit.success:
        report += f"\nwarning: the minimiser did not converge: {res.fit.message}"
    return report


def measure_lines_request(sp, db, species, vmin_kms, vmax_kms, *, rms_k=None, eup_max_k=None, aij_min=None,
                          warn=None):
    """The lines of ``species`` integrated in the spectrum (in K): (SpectrumLines, unit note)."""
    from cassis_lite.rotdiagram import measure_species_lines

    y, note = _kelvin(sp, warn)
    m = measure_species_lines(sp.freq_mhz, y, db, species, vmin_kms, vmax_kms, vlsr_file_kms=sp.vlsr_kms,
                              rms=rms_k, eup_max_k=eup_max_k, aij_min=aij_min)
    return m, note


def rotational_diagram_request(species, q, lines, *, size_arcsec=None, diameter_m=None, calibration_percent=0.0,
                               tau_correction=False, fwhm_kms=None, names=None):
    """``cassis-lite rotdiagram`` on measured ``lines`` (a SpectrumLines) with the partition
    function ``q(T)``: (json dict, RotationalDiagramResult)."""
    from cassis_lite.lte.beam import dish_beam_arcsec, filling_factor
    from cassis_lite.rotdiagram import RotationalDiagramError, rotational_diagram

    ff = 1.0
    if size_arcsec is not None:
        if diameter_m is None:
            n = names or {}
            raise RotationalDiagramError(f"{n.get('size_arcsec', 'size_arcsec')} needs "
                                         f"{n.get('diameter_m', 'diameter_m')} (telescope) for the beam filling")
        ff = filling_factor(size_arcsec, dish_beam_arcsec(lines.freq_mhz, diameter_m))
    res = rotational_diagram(lines.freq_mhz, lines.aij, lines.gup, lines.eup_k, lines.area_k_kms,
                             lines.area_err_k_kms, q, beam_filling=ff, calibration=calibration_percent / 100.0,
                             tau_correction=tau_correction, fwhm_kms=fwhm_kms)
    d = res.to_dict()
    d["species"] = species
    d["dropped"] = [{"freq_mhz": f, "reason": r} for f, r in lines.dropped]
    return d, res


def velocity_request(sp, db, *, species=None, lines_mhz=None, redshift=False, vmin_kms=-100.0, vmax_kms=100.0,
                     zmin=0.0, zmax=0.1, tex_k=100.0, fwhm_kms=3.0, eup_max_k=None, absorption=False, rms_k=None):
    """``cassis-lite vlsr``: the lines of ``species`` (from ``db``, weighted by their LTE
    intensity) or the rest frequencies ``lines_mhz``: (json dict, VelocityResult)."""
    from cassis_lite.constants import C_LIGHT_KMS
    from cassis_lite.vlsr import find_velocity, species_line_weights

    kind = "redshift" if redshift else "vlsr"
    weights = None
    lines = lines_mhz
    if species is not None:
        f0, f1 = float(sp.freq_mhz[0]), float(sp.freq_mhz[-1])
        if kind == "vlsr":
            lo = f0 / (1 - (vmin_kms - sp.vlsr_kms) / C_LIGHT_KMS)
            hi = f1 / (1 - (vmax_kms - sp.vlsr_kms) / C_LIGHT_KMS)
        else:
            lo, hi = f0 * (1 + zmin), f1 * (1 + zmax)
        lines, weights = species_line_weights(db, species, min(lo, hi), max(lo, hi), tex_k, fwhm_kms, eup_max_k)
    res = find_velocity(sp.freq_mhz, sp.intensity, lines, weights=weights, kind=kind, vmin=vmin_kms, vmax=vmax_kms,
                        zmin=zmin, zmax=zmax, fwhm_kms=fwhm_kms, vlsr_file_kms=sp.vlsr_kms, rms=rms_k,
                        absorption=absorption)
    return res.to_dict(), res
