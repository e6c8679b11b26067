"""Spectra, LTE models and line tables as described tables (:class:`~cassis_lite.vo.votable_writer.VOTable`):
the one description of their columns (names, units, UCDs, utypes) that both the VOTable and the FITS
binary-table exports write.

Utypes: a spectrum follows the IVOA Spectrum Data Model 1.1 (``spec:Spectrum.Data.SpectralAxis.Value``,
``spec:Spectrum.Data.FluxAxis.Value``, ``spec:Spectrum.Data.FluxAxis.Accuracy.StatError``,
``spec:Spectrum.Target.Name`` / ``.Redshift``); a line table the Simple Spectral Line Data Model
used by SLAP 1.0 (``ssldm:Line.title``, ``ssldm:Line.wavelength.value`` (vacuum, m),
``ssldm:Line.species.name``, ``ssldm:Line.einsteinA``, ``ssldm:Line.initialLevel.energy`` /
``ssldm:Line.finalLevel.energy`` (J; for an emission line the initial level is the upper one),
as the Splatalogue SLAP service writes them). The line table also keeps the columns of
``cassis-lite lines`` (``freq_mhz`` exact, ``eup_k``, ``elow_cm``...).

    from cassis_lite.vo import tables, votable_writer
    xml = votable_writer.to_xml(tables.lines_table(db.transitions(86e3, 90e3)), "binary2")
"""

from __future__ import annotations

import json

import numpy as np

from cassis_lite.constants import C_LIGHT, CM1_TO_K, H_PLANCK, K_BOLTZMANN
from cassis_lite.spectrum import Spectrum
from cassis_lite.vo.votable_writer import Field, Param, VOTable

SPEC_X = "spec:Spectrum.Data.SpectralAxis.Value"
SPEC_Y = "spec:Spectrum.Data.FluxAxis.Value"
SPEC_ERR = "spec:Spectrum.Data.FluxAxis.Accuracy.StatError"

#: energy of 1 cm^-1 in J (h c x 100 cm/m)
CM1_TO_J = H_PLANCK * C_LIGHT * 100.0

#: column name -> (ucd, unit, utype, description) of the line table
LINE_COLUMNS = {
    "title": ("meta.title", "", "ssldm:Line.title", "species and quantum numbers"),
    "species": ("meta.id;phys.atmol.element", "", "ssldm:Line.species.name", "species name"),
    "tag": ("meta.id", "", "", "CDMS/JPL catalogue tag (-1: none)"),
    "freq_mhz": ("em.freq;meta.main", "MHz", "", "rest frequency"),
    "err_mhz": ("stat.error;em.freq", "MHz", "", "uncertainty of the rest frequency (empty: not given)"),
    "wavelength": ("em.wl", "m", "ssldm:Line.wavelength.value", "vacuum wavelength c / freq"),
    "aij": ("phys.atmol.transProb", "s-1", "ssldm:Line.einsteinA", "Einstein coefficient A_ul"),
    "eup_k": ("phys.energy;phys.atmol.initial", "K", "", "upper-level energy E_up / k"),
    "elow_cm": ("phys.energy;phys.atmol.final", "cm-1", "", "lower-level energy"),
    "gup": ("phys.atmol.sWeight;phys.atmol.initial", "", "", "upper-level statistical weight"),
    "qn": ("phys.atmol.qn", "", "", "quantum numbers of the transition"),
    "source": ("meta.ref", "", "", "catalogue the transition comes from"),
    "eup_j": ("phys.energy;phys.atmol.initial", "J", "ssldm:Line.initialLevel.energy", "upper-level energy"),
    "elow_j": ("phys.energy;phys.atmol.final", "J", "ssldm:Line.finalLevel.energy", "lower-level energy"),
}


def _flux_ucd(unit: str) -> str:
    u = (unit or "").lower()
    if u in ("k", "mk", "uk"):
        return "phot.antennaTemp"
    if "jy" in u:
        return "phot.flux.density"
    return "phot.flux"


def spectrum_table(sp: Spectrum) -> VOTable:
    """A spectrum (frequency axis in MHz, intensity, optional uncertainty) with its rest
    frequency (Hz), v_lsr (km/s), redshift, beam (arcsec), telescope and name as PARAMs: what
    :func:`cassis_lite.readers.read_spectrum` reads back (the beam excepted, see docs/vo.md)."""
    fields = [Field("FREQ", sp.freq_mhz, "double", "MHz", "em.freq", SPEC_X, "frequency"),
              Field("FLUX", sp.intensity, "double", sp.y_unit, _flux_ucd(sp.y_unit), SPEC_Y, "intensity")]
    if sp.uncertainty is not None:
        fields.append(Field("ERROR", sp.uncertainty, "double", sp.y_unit, "stat.error", SPEC_ERR,
                            "1-sigma uncertainty of the intensity"))
    params = []
    if sp.name:
        params.append(Param("object", sp.name, ucd="meta.id;src", utype="spec:Spectrum.Target.Name"))
    if sp.rest_freq_mhz:
        params.append(Param("restfreq", float(sp.rest_freq_mhz) * 1e6, unit="Hz", ucd="em.freq;phys.atmol.transition",
                            description="rest frequency of the velocity axis"))
    params.append(Param("vlsr", float(sp.vlsr_kms or 0.0), unit="km/s", ucd="spect.dopplerVeloc.radio;pos.lsr",
                        description="source velocity the frequency axis refers to (radio convention)"))
    if sp.redshift:
        params.append(Param("redshift", float(sp.redshift), ucd="src.redshift", utype="spec:Spectrum.Target.Redshift"))
    if sp.beam_arcsec:
        params += [Param("bmaj", float(sp.beam_arcsec[0]), unit="arcsec", ucd="phys.angSize;instr.beam",
                         description="beam major axis FWHM"),
                   Param("bmin", float(sp.beam_arcsec[1]), unit="arcsec", ucd="phys.angSize;instr.beam",
                         description="beam minor axis FWHM")]
    if sp.telescope:
        params.append(Param("telescope", sp.telescope, ucd="instr.tel"))
    return VOTable(fields, name="spectrum", params=params, description=f"spectrum {sp.name}".strip(),
                   table_utype="spec:Spectrum", infos=_origin())


def model_table(result, config=None) -> VOTable:
    """An LTE model (``cassis_lite.lte.LteResult``: ``freq_mhz``, ``intensity``, ``tau``,
    ``unit``): FREQ (MHz), FLUX in K (T_mb or T_A*, PARAM ``intensity_scale``) or Jy/beam,
    TAU when computed; ``config`` (the model JSON, a dict or ``ModelConfig``) as a PARAM."""
    scale = str(result.unit)
    unit = "Jy/beam" if scale == "Jy/beam" else "K"
    fields = [Field("FREQ", np.asarray(result.freq_mhz, float), "double", "MHz", "em.freq", SPEC_X, "frequency"),
              Field("FLUX", np.asarray(result.intensity, float), "double", unit, _flux_ucd(unit), SPEC_Y,
                    f"LTE model intensity ({scale})")]
    if getattr(result, "tau", None) is not None:
        fields.append(Field("TAU", np.asarray(result.tau, float), "double", "", "phys.absorption.opticalDepth", "",
                            "total line opacity of the enabled components"))
    params = [Param("intensity_scale", scale, ucd="meta.code", description="Tmb, TA* or Jy/beam")]
    if config is not None:
        d = config.to_dict() if hasattr(config, "to_dict") else config
        params.append(Param("model_config", json.dumps(d, separators=(",", ":")), ucd="meta.note",
                            description="the cassis-lite model JSON that produced this spectrum"))
    return VOTable(fields, name="lte_model", params=params, description="CASSIS lite LTE model",
                   table_utype="spec:Spectrum", infos=_origin())


def line_columns(t) -> dict:
    """The line-table columns of a ``Transitions`` (``LineDatabase.transitions``) as arrays."""
    freq = np.asarray(t.freq_mhz, float)
    names = np.asarray(t.species_names).astype(str)
    qn = np.asarray(t.qn).astype(str)
    with np.errstate(divide="ignore"):
        wavelength = C_LIGHT / (freq * 1e6)
    return {
        "title": [f"{s} {q}".strip() for s, q in zip(names.tolist(), qn.tolist())],
        "species": names.tolist(),
        "tag": np.asarray(t.tags, np.int64),
        "freq_mhz": freq,
        "err_mhz": np.asarray(t.err_mhz, float),
        "wavelength": wavelength,
        "aij": np.asarray(t.aij, float),
        "eup_k": np.asarray(t.eup_k, float),
        "elow_cm": np.asarray(t.elow_cm, float),
        "gup": np.asarray(t.gup, np.int64),
        "qn": qn.tolist(),
        "source": np.asarray(t.sources).astype(str).tolist(),
        "eup_j": np.asarray(t.eup_k, float) * K_BOLTZMANN,
        "elow_j": np.asarray(t.elow_cm, float) * CM1_TO_J,
    }


def line_fields(t) -> list[Field]:
    cols = line_columns(t)
    out = []
    for name, values in cols.items():
        ucd, unit, utype, desc = LINE_COLUMNS[name]
        datatype = "char" if isinstance(values, list) else None
        out.append(Field(name, values, datatype, unit, ucd, utype, desc, null=-1 if name == "tag" else None,
                         id=name if name in ("title", "wavelength") else None))
    return out


def lines_table(t, description: str = "spectral lines") -> VOTable:
    """A line table (``Transitions``) with the SLAP/SSLDM utypes and a ``ssldm:Line`` GROUP."""
    return VOTable(line_fields(t), name="lines", description=description,
                   groups=[("Line", "ssldm:Line", ["title", "wavelength"])], infos=_origin())


def _origin() -> list:
    from cassis_lite import __version__
    from cassis_lite.vo.votable_writer import Info

    return [Info("creator", f"cassis-lite {__version__}")]


__all__ = ["spectrum_table", "model_table", "lines_table", "line_columns", "line_fields", "LINE_COLUMNS",
           "CM1_TO_J", "CM1_TO_K"]
