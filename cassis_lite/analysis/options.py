"""One validated options object per analysis: every default lives here, and only here.

The command line maps its flags onto these keys, the app its widgets, ``window.cassisLite`` its
JSON; :meth:`from_dict` validates once (unknown keys, numbers, signs, required choices) and
raises :class:`~cassis_lite.errors.ConfigError` naming the option the way the caller spells it
(``names``: e.g. ``{"tex_k": "--tex"}`` for the command line). Modelled on
:meth:`cassis_lite.lte.ModelConfig.from_dict`.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields

from cassis_lite.errors import ConfigError

#: the assumptions of an identification or a v_lsr search when the user gives none
DEFAULT_TEX_K = 100.0
DEFAULT_FWHM_KMS = 3.0


def _check(kind: str) -> dict:
    return {"check": kind}


def _species_list(value):
    if value is None:
        return None
    if isinstance(value, (str, int)):
        value = str(value).split(",")
    out = tuple(str(s).strip() for s in value if str(s).strip())
    return out or None


def _validate(cls, d, what: str, names: dict | None):
    """Build ``cls`` from ``d``: the dataclass fields name the keys, their metadata the checks."""
    if d is None:
        d = {}
    if isinstance(d, cls):
        return d
    if not isinstance(d, dict):
        raise ConfigError(f"{what} options must be a JSON object, got {type(d).__name__}")
    names = names or {}
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(d) - set(known))
    if unknown:
        allowed = ", ".join(names.get(k, k) for k in sorted(known))
        raise ConfigError(f"unknown {what} option {unknown[0]!r} (allowed: {allowed})")
    values = {}
    for key, f in known.items():
        label = names.get(key, key)
        raw = d.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError(f"{what}: {label} is needed")
            continue
        kind = f.metadata.get("check", "number")
        if kind == "species":
            values[key] = _species_list(raw)
        elif kind == "name":
            values[key] = str(raw).strip()
        elif kind == "bool":
            if not isinstance(raw, bool):
                raise ConfigError(f"{what}: {label} must be true or false, got {raw!r}")
            values[key] = raw
        elif kind == "numbers":
            seq = raw if isinstance(raw, (list, tuple)) else [raw]
            try:
                nums = tuple(float(v) for v in seq)
            except (TypeError, ValueError):
                raise ConfigError(f"{what}: {label} must be a list of numbers, got {raw!r}") from None
            if not nums or not all(math.isfinite(v) and v > 0 for v in nums):
                raise ConfigError(f"{what}: {label} must be positive numbers, got {raw!r}")
            values[key] = nums
        else:
            if isinstance(raw, bool):
                raise ConfigError(f"{what}: {label} must be a number, got {raw!r}")
            try:
                v = float(raw)
            except (TypeError, ValueError):
                raise ConfigError(f"{what}: {label} must be a number, got {raw!r}") from None
            if not math.isfinite(v):
                raise ConfigError(f"{what}: {label} must be finite, got {raw!r}")
            if kind == "positive" and not v > 0:
                raise ConfigError(f"{what}: {label} must be > 0, got {v:g}")
            if kind == "nonneg" and v < 0:
                raise ConfigError(f"{what}: {label} must be >= 0, got {v:g}")
            values[key] = v
    out = cls(**values)
    out.check(names)
    return out


class _Options:
    @classmethod
    def from_dict(cls, d=None, names: dict | None = None):
        """Validated options from a JSON object (None or {}: every default)."""
        return _validate(cls, d, cls.WHAT, names)

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    def check(self, names) -> None:
        """Checks between options (after each one was validated)."""


@dataclass(frozen=True)
class IdentifyOptions(_Options):
    """``cassis-lite identify``: one LTE component at T_ex and FWHM, at the spectrum's v_lsr unless
    ``vlsr_kms`` is given; features above ``threshold`` times the rms (K; default: robust rms of
    each spectral window) of the spectrum smoothed to FWHM/2; ``size_arcsec`` with ``diameter_m``
    for the beam filling."""

    WHAT = "identify"
    tex_k: float = field(default=DEFAULT_TEX_K, metadata=_check("positive"))
    fwhm_kms: float = field(default=DEFAULT_FWHM_KMS, metadata=_check("positive"))
    vlsr_kms: float | None = None
    species: tuple[str, ...] | None = field(default=None, metadata=_check("species"))
    eup_max_k: float | None = field(default=None, metadata=_check("nonneg"))
    aij_min: float | None = field(default=None, metadata=_check("nonneg"))
    rms_k: float | None = field(default=None, metadata=_check("positive"))
    threshold: float = field(default=5.0, metadata=_check("positive"))
    size_arcsec: float | None = field(default=None, metadata=_check("positive"))
    diameter_m: float | None = field(default=None, metadata=_check("positive"))

    def check(self, names) -> None:
        _size_needs_diameter(self, names, "identify")


@dataclass(frozen=True)
class VelocityOptions(_Options):
    """``cassis-lite vlsr``: cross-correlate with the lines of ``species`` (weighted by their LTE
    intensity at T_ex) or with the rest frequencies ``lines_mhz``, over [vmin, vmax] km/s, or
    over [zmin, zmax] with ``redshift``."""

    WHAT = "v_lsr"
    species: str | None = field(default=None, metadata=_check("name"))
    lines_mhz: tuple[float, ...] | None = field(default=None, metadata=_check("numbers"))
    redshift: bool = field(default=False, metadata=_check("bool"))
    vmin_kms: float = -100.0
    vmax_kms: float = 100.0
    zmin: float = 0.0
    zmax: float = 0.1
    tex_k: float = field(default=DEFAULT_TEX_K, metadata=_check("positive"))
    fwhm_kms: float = field(default=DEFAULT_FWHM_KMS, metadata=_check("positive"))
    eup_max_k: float | None = field(default=None, metadata=_check("nonneg"))
    absorption: bool = field(default=False, metadata=_check("bool"))
    rms_k: float | None = field(default=None, metadata=_check("positive"))

    def check(self, names) -> None:
        n = names or {}
        if (self.species is None) == (self.lines_mhz is None):
            raise ConfigError(f"v_lsr: give either {n.get('species', 'species')} or "
                              f"{n.get('lines_mhz', 'lines_mhz')}")
        if not self.redshift and not self.vmax_kms > self.vmin_kms:
            raise ConfigError(f"v_lsr: empty velocity range [{self.vmin_kms:g}, {self.vmax_kms:g}] km/s")
        if self.redshift and not self.zmax > self.zmin > -1:
            raise ConfigError(f"v_lsr: bad redshift range [{self.zmin:g}, {self.zmax:g}]")


@dataclass(frozen=True)
class RotationalDiagramOptions(_Options):
    """``cassis-lite rotdiagram``: every line of ``species`` integrated over [vmin, vmax] (LSR
    velocity); ``calibration_percent`` added to each area's error; ``size_arcsec`` with
    ``diameter_m`` for the beam filling; ``tau_correction`` with the line ``fwhm_kms``."""

    WHAT = "rotational diagram"
    species: str = field(default=MISSING, metadata=_check("name"))
    vmin_kms: float | None = None  # needed to measure the lines in a spectrum
    vmax_kms: float | None = None
    rms_k: float | None = field(default=None, metadata=_check("positive"))
    calibration_percent: float = field(default=0.0, metadata=_check("nonneg"))
    eup_max_k: float | None = field(default=None, metadata=_check("nonneg"))
    aij_min: float | None = field(default=None, metadata=_check("nonneg"))
    size_arcsec: float | None = field(default=None, metadata=_check("positive"))
    diameter_m: float | None = field(default=None, metadata=_check("positive"))
    tau_correction: bool = field(default=False, metadata=_check("bool"))
    fwhm_kms: float | None = field(default=None, metadata=_check("positive"))

    def check(self, names) -> None:
        n = names or {}
        if self.vmin_kms is not None and self.vmax_kms is not None and not self.vmax_kms > self.vmin_kms:
            raise ConfigError(f"rotational diagram: {n.get('vmax_kms', 'vmax_kms')} must be above "
                              f"{n.get('vmin_kms', 'vmin_kms')}")

    def require_window(self, names=None) -> None:
        """The LSR velocity window is needed to integrate the lines of a spectrum."""
        n = names or {}
        if self.vmin_kms is None or self.vmax_kms is None:
            raise ConfigError(f"rotational diagram: {n.get('vmin_kms', 'vmin_kms')} and "
                              f"{n.get('vmax_kms', 'vmax_kms')} (LSR velocity window of the lines) are needed")
        _size_needs_diameter(self, names, "rotational diagram")
        if self.tau_correction and self.fwhm_kms is None:
            raise ConfigError(f"rotational diagram: {n.get('tau_correction', 'tau_correction')} needs "
                              f"{n.get('fwhm_kms', 'fwhm_kms')} (the line FWHM)")


def _size_needs_diameter(o, names, what) -> None:
    n = names or {}
    if o.size_arcsec is not None and o.diameter_m is None:
        raise ConfigError(f"{what}: {n.get('size_arcsec', 'size_arcsec')} needs "
                          f"{n.get('diameter_m', 'diameter_m')} (the telescope) for the beam filling")
