"""LTE model configuration: the JSON schema shared by `cassis-lite model --config`, the browser's
``setModel`` and fitting. It mirrors a CASSIS ``.ltm`` file: telescope and scale, background,
then components, each with T_ex, FWHM, v_lsr, size, interacting flag and its species (N_tot and
the E_up / A_ij thresholds). A component may instead be non-LTE (``"model": "radex"``): T_kin,
the collision partners' densities and the escape-probability geometry replace T_ex, and each
line gets its RADEX T_ex and opacity (:mod:`cassis_lite.radex`). ``ModelConfig.from_dict``
validates everything and raises :class:`ConfigError` naming the offending key; ``to_dict`` gives
the canonical JSON back.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.constants import T_CMB
from cassis_lite.errors import ConfigError, RadexError
from cassis_lite.linedb.partition import PARTITION_KINDS
from cassis_lite.lte.beam import TELESCOPE_DIAMETERS_M, dish_beam_arcsec
from cassis_lite.radex.data import partner_name
from cassis_lite.radex.escape import GEOMETRIES

UNITS = ("Tmb", "TA*", "Jy/beam")
MODELS = ("lte", "radex")
RADEX_KEYS = ("tkin_k", "density_cm3", "geometry")


def _number(d, key, where, default=None, *, positive=False, nonneg=False, allow_none=False):
    value = d.get(key, default)
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}{key} must be a finite number, got {value!r}")
    value = float(value)
    if positive and value <= 0.0:
        raise ConfigError(f"{where}{key} must be > 0, got {value:g}")
    if nonneg and value < 0.0:
        raise ConfigError(f"{where}{key} must be >= 0, got {value:g}")
    return value


def _check_keys(d, allowed, where):
    if not isinstance(d, dict):
        raise ConfigError(f"{where or 'config'} must be a JSON object, got {type(d).__name__}")
    unknown = sorted(set(d) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown key {where}{unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


@dataclass
class Telescope:
    """Either a dish diameter, an explicit beam (bmaj, bmin in arcsec), or a known name."""

    diameter_m: float | None = None
    beam_arcsec: tuple[float, float] | None = None
    name: str | None = None

    @classmethod
    def from_dict(cls, d, where="telescope."):
        if d is None:
            return None
        _check_keys(d, ("diameter_m", "beam_arcsec", "name"), where)
        given = [k for k in ("diameter_m", "beam_arcsec", "name") if d.get(k) is not None]
        if len(given) != 1:
            raise ConfigError(f"{where[:-1]} needs exactly one of diameter_m, beam_arcsec, name")
        if "name" in given:
            name = str(d["name"])
            if name.lower() not in TELESCOPE_DIAMETERS_M:
                raise ConfigError(
                    f"unknown telescope {name!r} (known: {', '.join(sorted(TELESCOPE_DIAMETERS_M))}; "
                    "or give diameter_m / beam_arcsec)"
                )
            return cls(name=name)
        if "diameter_m" in given:
            return cls(diameter_m=_number(d, "diameter_m", where, positive=True))
        beam = d["beam_arcsec"]
        if isinstance(beam, (int, float)) and not isinstance(beam, bool):
            beam = [beam, beam]
        if not isinstance(beam, (list, tuple)) or len(beam) != 2:
            raise ConfigError(f"{where}beam_arcsec must be [bmaj, bmin] in arcsec, got {beam!r}")
        bmaj = _number({"b": beam[0]}, "b", f"{where}beam_arcsec[0] ", positive=True)
        bmin = _number({"b": beam[1]}, "b", f"{where}beam_arcsec[1] ", positive=True)
        return cls(beam_arcsec=(bmaj, bmin))

    def to_dict(self):
        if self.name is not None:
            return {"name": self.name}
        if self.diameter_m is not None:
            return {"diameter_m": self.diameter_m}
        return {"beam_arcsec": list(self.beam_arcsec)}

    def beam_axes_arcsec(self, freq_mhz):
        """(bmaj, bmin) in arcsec at each frequency (arrays, or floats for a fixed beam)."""
        if self.beam_arcsec is not None:
            return self.beam_arcsec
        diameter = self.diameter_m if self.diameter_m is not None else TELESCOPE_DIAMETERS_M[self.name.lower()]
        b = dish_beam_arcsec(freq_mhz, diameter)
        return b, b

    def beam_fwhm_arcsec(self, freq_mhz):
        """Effective circular beam sqrt(bmaj bmin), arcsec."""
        bmaj, bmin = self.beam_axes_arcsec(freq_mhz)
        if self.beam_arcsec is not None:
            return math.sqrt(bmaj * bmin)
        return bmaj


@dataclass
class SpeciesConfig:
    """One species of a component: N_tot and the selection thresholds of its transitions."""

    species: str | int
    ntot_cm2: float
    eup_max_k: float | None = None
    aij_min: float | None = None
    fwhm_kms: float | None = None  # overrides the component's FWHM for this species

    @classmethod
    def from_dict(cls, d, where):
        _check_keys(d, ("species", "ntot_cm2", "eup_max_k", "aij_min", "fwhm_kms"), where)
        sp = d.get("species")
        if isinstance(sp, bool) or not isinstance(sp, (str, int)) or (isinstance(sp, str) and not sp.strip()):
            raise ConfigError(f"{where}species must be a species name or tag, got {sp!r}")
        if "ntot_cm2" not in d:
            raise ConfigError(f"{where}ntot_cm2 is missing")
        return cls(
            species=sp.strip() if isinstance(sp, str) else sp,
            ntot_cm2=_number(d, "ntot_cm2", where, nonneg=True),
            eup_max_k=_number(d, "eup_max_k", where, allow_none=True, nonneg=True),
            aij_min=_number(d, "aij_min", where, allow_none=True, nonneg=True),
            fwhm_kms=_number(d, "fwhm_kms", where, allow_none=True, positive=True),
        )

    def to_dict(self):
        d = {"species": self.species, "ntot_cm2": self.ntot_cm2, "eup_max_k": self.eup_max_k,
             "aij_min": self.aij_min}
        if self.fwhm_kms is not None:
            d["fwhm_kms"] = self.fwhm_kms
        return d


def _densities(d, where):
    """The ``density_cm3`` object of a radex component: partner -> density (cm^-3), checked."""
    dens = d.get("density_cm3")
    if not isinstance(dens, dict) or not dens:
        raise ConfigError(f"{where}density_cm3 must be an object of collision partners and densities (cm^-3), "
                          f"e.g. {{\"H2\": 1e4}}, got {dens!r}")
    out = {}
    for key in dens:
        try:
            name = partner_name(key)
        except RadexError as exc:
            raise ConfigError(f"{where}density_cm3: {exc}") from None
        if name in out:
            raise ConfigError(f"{where}density_cm3: partner {name} given twice")
        out[name] = _number(dens, key, f"{where}density_cm3.", nonneg=True)
    if not any(v > 0 for v in out.values()):
        raise ConfigError(f"{where}density_cm3 needs a partner with a density > 0")
    return out


@dataclass
class ComponentConfig:
    """One emitting/absorbing layer: T_ex (LTE) or T_kin and densities (RADEX), FWHM, v_lsr,
    source size and its species."""

    name: str
    tex_k: float | None
    fwhm_kms: float
    vlsr_kms: float = 0.0
    size_arcsec: float | None = None  # None: fills the beam (no dilution)
    interacting: bool = False
    enabled: bool = True
    species: list[SpeciesConfig] = field(default_factory=list)
    model: str = "lte"  # "radex": non-LTE, T_ex and tau of each line from RADEX
    tkin_k: float | None = None
    density_cm3: dict[str, float] | None = None  # partner -> cm^-3 (H2, pH2, oH2, e, H, He, H+)
    geometry: str = "sphere"  # RADEX escape probability: sphere, lvg, slab

    @classmethod
    def from_dict(cls, d, where, index):
        keys = ("name", "tex_k", "fwhm_kms", "vlsr_kms", "size_arcsec", "interacting", "enabled", "species", "model",
                *RADEX_KEYS)
        _check_keys(d, keys, where)
        model = d.get("model", "lte")
        if model not in MODELS:
            raise ConfigError(f'{where}model must be "lte" or "radex", got {model!r}')
        required = ("tkin_k", "density_cm3", "fwhm_kms") if model == "radex" else ("tex_k", "fwhm_kms")
        for key in required:
            if key not in d:
                raise ConfigError(f"{where}{key} is missing")
        if model == "radex" and d.get("tex_k") is not None:
            raise ConfigError(f"{where}tex_k: a radex component computes T_ex from tkin_k and density_cm3")
        if model == "lte":
            for key in RADEX_KEYS:
                if key in d:
                    raise ConfigError(f'{where}{key} is only for "model": "radex"')
        geometry = d.get("geometry", "sphere")
        if geometry not in GEOMETRIES:
            raise ConfigError(f"{where}geometry must be one of {', '.join(GEOMETRIES)}, got {geometry!r}")
        for key in ("interacting", "enabled"):
            if key in d and not isinstance(d[key], bool):
                raise ConfigError(f"{where}{key} must be true or false, got {d[key]!r}")
        species = d.get("species", [])
        if not isinstance(species, list):
            raise ConfigError(f"{where}species must be a list of objects")
        radex = model == "radex"
        return cls(
            name=str(d.get("name", f"c{index + 1}")),
            tex_k=None if radex else _number(d, "tex_k", where, positive=True),
            fwhm_kms=_number(d, "fwhm_kms", where, positive=True),
            vlsr_kms=_number(d, "vlsr_kms", where, 0.0),
            size_arcsec=_number(d, "size_arcsec", where, allow_none=True, positive=True),
            interacting=d.get("interacting", False),
            enabled=d.get("enabled", True),
            species=[SpeciesConfig.from_dict(s, f"{where}species[{i}].") for i, s in enumerate(species)],
            model=model,
            tkin_k=_number(d, "tkin_k", where, positive=True) if radex else None,
            density_cm3=_densities(d, where) if radex else None,
            geometry=geometry,
        )

    def to_dict(self):
        d = {"name": self.name, "tex_k": self.tex_k, "fwhm_kms": self.fwhm_kms, "vlsr_kms": self.vlsr_kms,
             "size_arcsec": self.size_arcsec, "interacting": self.interacting, "enabled": self.enabled,
             "species": [s.to_dict() for s in self.species]}
        if self.model == "radex":
            del d["tex_k"]
            d.update(model="radex", tkin_k=self.tkin_k, density_cm3=dict(self.density_cm3), geometry=self.geometry)
        return d


@dataclass
class GridConfig:
    """Optional regular frequency grid (used by the command line when no grid is given)."""

    fmin_mhz: float
    fmax_mhz: float
    step_mhz: float

    @classmethod
    def from_dict(cls, d, where="grid."):
        if d is None:
            return None
        _check_keys(d, ("fmin_mhz", "fmax_mhz", "step_mhz"), where)
        g = cls(_number(d, "fmin_mhz", where, positive=True), _number(d, "fmax_mhz", where, positive=True),
                _number(d, "step_mhz", where, positive=True))
        g.validate()
        return g

    def validate(self):
        if self.fmax_mhz <= self.fmin_mhz:
            raise ConfigError(f"fmax ({self.fmax_mhz:g} MHz) must be above fmin ({self.fmin_mhz:g} MHz)")
        n = (self.fmax_mhz - self.fmin_mhz) / self.step_mhz + 1
        if n > 50_000_000:
            raise ConfigError(f"grid of {n:.3g} channels is too large (at most 5e7): increase the step")

    def frequencies(self):
        n = int(math.floor((self.fmax_mhz - self.fmin_mhz) / self.step_mhz * (1 + 1e-12))) + 1
        return self.fmin_mhz + self.step_mhz * np.arange(n)

    def to_dict(self):
        return {"fmin_mhz": self.fmin_mhz, "fmax_mhz": self.fmax_mhz, "step_mhz": self.step_mhz}


@dataclass
class ModelConfig:
    """A whole LTE model (see the README section "LTE model" for the JSON schema)."""

    components: list[ComponentConfig] = field(default_factory=list)
    telescope: Telescope | None = None
    beam_efficiency: float = 1.0
    forward_efficiency: float = 1.0
    unit: str = "Tmb"
    tcmb_k: float = T_CMB
    tc_k: float = 0.0
    vlsr_file_kms: float = 0.0
    grid: GridConfig | None = None
    #: Q(T) of the species: "refined" (default: the catalogue's table refined with its levels, to
    #: ~0.1 %, :mod:`cassis_lite.linedb.qrefine`; an astronomer wants the right intensities) or
    #: "catalogue" (the catalogue's table interpolated log-log, as CASSIS does: to reproduce CASSIS's
    #: numbers, which are 0.1-2 % off where the table is sparse)
    partition: str = "refined"

    @classmethod
    def from_dict(cls, d):
        keys = ("telescope", "beam_efficiency", "forward_efficiency", "unit", "tcmb_k", "tc_k",
                "vlsr_file_kms", "components", "grid", "partition")
        _check_keys(d, keys, "")
        unit = d.get("unit", "Tmb")
        if unit not in UNITS:
            raise ConfigError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
        partition = d.get("partition", "refined")
        if partition not in PARTITION_KINDS:
            raise ConfigError(f"partition must be one of {', '.join(PARTITION_KINDS)} "
                              f"(\"catalogue\": CASSIS's log-log interpolation of the catalogue's table), "
                              f"got {partition!r}")
        comps = d.get("components", [])
        if not isinstance(comps, list):
            raise ConfigError("components must be a list of objects")
        config = cls(
            components=[ComponentConfig.from_dict(c, f"components[{i}].", i) for i, c in enumerate(comps)],
            telescope=Telescope.from_dict(d.get("telescope")),
            beam_efficiency=_number(d, "beam_efficiency", "", 1.0, positive=True),
            forward_efficiency=_number(d, "forward_efficiency", "", 1.0, positive=True),
            unit=unit,
            tcmb_k=_number(d, "tcmb_k", "", T_CMB, nonneg=True),
            tc_k=_number(d, "tc_k", "", 0.0),
            vlsr_file_kms=_number(d, "vlsr_file_kms", "", 0.0),
            grid=GridConfig.from_dict(d.get("grid")),
            partition=partition,
        )
        config.validate()
        return config

    @classmethod
    def from_json(cls, text, source="config"):
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            raise ConfigError(f"{source} is not valid JSON: {exc.msg} at {where}") from None
        return cls.from_dict(d)

    def validate(self):
        if self.unit == "Jy/beam" and self.telescope is None:
            raise ConfigError("unit Jy/beam needs a telescope (diameter_m, beam_arcsec or name)")
        names = [c.name for c in self.components]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError(f"component name {sorted(dup)[0]!r} is used twice")
        if any(c.size_arcsec is not None for c in self.components) and self.telescope is None:
            raise ConfigError("a component has size_arcsec but no telescope is given (needed for beam dilution)")

    def to_dict(self):
        d = {
            "telescope": self.telescope.to_dict() if self.telescope is not None else None,
            "beam_efficiency": self.beam_efficiency,
            "forward_efficiency": self.forward_efficiency,
            "unit": self.unit,
            "tcmb_k": self.tcmb_k,
            "tc_k": self.tc_k,
            "vlsr_file_kms": self.vlsr_file_kms,
            "components": [c.to_dict() for c in self.components],
        }
        if self.partition != "refined":  # the default is left out (saved models stay as they were)
            d["partition"] = self.partition
        if self.grid is not None:
            d["grid"] = self.grid.to_dict()
        return d
