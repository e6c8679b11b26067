"""The app's state without any UI: current spectrum, line filters, LTE model.

Every number comes from the core (readers, line database, LTE model); this module only keeps
what is loaded and shapes results for the scripting API (``window.cassisLite``). A failed load or
an invalid model raises a :class:`~cassis_lite.errors.CassisError` and leaves the state as it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cassis_lite.errors import CassisError, ConfigError

DEFAULT_SPECIES = "CO"
MAX_LINES = 5000  # lines drawn/listed at once; the table says when there are more


@dataclass
class LineFilters:
    """Which transitions to overlay: species (None = all), E_up max (K), A_ij min (s^-1)."""

    species: list[str] | None = None
    eup_max_k: float | None = None
    aij_min: float | None = None

    @classmethod
    def from_dict(cls, d: dict | None) -> LineFilters:
        d = dict(d or {})
        unknown = set(d) - {"species", "eup_max_k", "aij_min", "fmin_mhz", "fmax_mhz"}
        if unknown:
            raise ConfigError(f"unknown line filter {sorted(unknown)[0]!r} "
                              "(use species, eup_max_k, aij_min, fmin_mhz, fmax_mhz)")
        species = d.get("species")
        if isinstance(species, str):
            species = [s.strip() for s in species.split(",") if s.strip()]
        return cls(species or None, _opt_float(d, "eup_max_k"), _opt_float(d, "aij_min"))

    def to_dict(self) -> dict:
        return {"species": self.species, "eup_max_k": self.eup_max_k, "aij_min": self.aij_min}


def _opt_float(d, key):
    v = d.get(key)
    if v is None or v == "":
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ConfigError(f"line filter {key} must be a number, got {v!r}") from None
    if not math.isfinite(v):
        raise ConfigError(f"line filter {key} must be finite, got {v!r}")
    return v


def default_model(species: str = DEFAULT_SPECIES, vlsr_kms: float = 0.0) -> dict:
    """The starting model shown with a spectrum (one component, one species)."""
    return {
        "telescope": {"diameter_m": 12.0},
        "unit": "Tmb",
        "components": [{
            "name": "c1", "tex_k": 50.0, "fwhm_kms": 4.0, "vlsr_kms": vlsr_kms, "size_arcsec": 30.0,
            "interacting": False,
            "species": [{"species": species, "ntot_cm2": 1e16}],
        }],
    }


@dataclass
class Session:
    """Loaded spectrum + line filters + LTE model, with their derived arrays."""

    db_path: str | None = None
    spectrum: object | None = None
    filters: LineFilters = field(default_factory=LineFilters)
    model_config: object | None = None  # cassis_lite.lte.ModelConfig
    model: object | None = None  # cassis_lite.lte.LteResult
    _db: object | None = None
    _prepared: object | None = None
    _prepared_key: tuple | None = None

    # ---- database ------------------------------------------------------------------------
    @property
    def db(self):
        if self._db is None:
            from cassis_lite.linedb import LineDatabase

            self._db = LineDatabase(self.db_path)
        return self._db

    # ---- spectrum ------------------------------------------------------------------------
    def load_spectrum(self, data: bytes, name: str):
        """Read ``data`` (any supported format); on error the previous spectrum stays."""
        from cassis_lite.readers import read_spectrum

        spectrum = read_spectrum(bytes(data), name=name)
        if spectrum.freq_mhz.size == 0:
            raise CassisError(f"{name}: no channels")
        self.spectrum = spectrum
        self._prepared = None
        if self.model_config is not None and self.model_config.grid is None:
            try:
                self._compute()
            except CassisError:
                self.model = None
        return spectrum

    def freq_range(self) -> tuple[float, float] | None:
        if self.spectrum is None:
            return None
        f = self.spectrum.freq_mhz
        return float(f[0]), float(f[-1])

    # ---- lines ---------------------------------------------------------------------------
    def lines(self, filters: dict | LineFilters | None = None, fmin_mhz=None, fmax_mhz=None):
        """Transitions in the spectrum's range (or the one given) passing the filters."""
        if isinstance(filters, dict):
            fmin_mhz = filters.get("fmin_mhz", fmin_mhz)
            fmax_mhz = filters.get("fmax_mhz", fmax_mhz)
            filters = LineFilters.from_dict(filters)
        filters = filters or self.filters
        in_windows = fmin_mhz is None or fmax_mhz is None
        if in_windows:
            rng = self.freq_range()
            if rng is None:
                raise CassisError("no spectrum loaded: give fmin_mhz and fmax_mhz")
            fmin_mhz, fmax_mhz = rng
        t = self.db.transitions(fmin_mhz, fmax_mhz, species=filters.species,
                                eup_max_k=filters.eup_max_k, aij_min=filters.aij_min)
        if in_windows and len(t):
            t = t[self._in_windows(t.freq_mhz)]
        return t

    def _in_windows(self, freq_mhz):
        """Mask of frequencies inside the spectrum's windows (not in the gaps between them)."""
        f = self.spectrum.freq_mhz
        d = np.diff(f)
        if not d.size:
            return np.ones(freq_mhz.shape, bool)
        cuts = np.flatnonzero(d > 10 * np.median(d))
        starts = np.concatenate([[f[0]], f[cuts + 1]])
        ends = np.concatenate([f[cuts], [f[-1]]])
        i = np.searchsorted(starts, freq_mhz, side="right") - 1
        return (i >= 0) & (freq_mhz <= ends[np.clip(i, 0, None)])

    def set_filters(self, filters: dict | LineFilters) -> LineFilters:
        new = filters if isinstance(filters, LineFilters) else LineFilters.from_dict(filters)
        if self.spectrum is not None:
            self.lines(new)  # validates species names before the state changes
        self.filters = new
        return new

    # ---- model ---------------------------------------------------------------------------
    def set_model(self, config: dict):
        """Validate ``config`` (the ``cassis-lite model --config`` schema) and compute it.

        The grid is the config's ``grid`` if given, else the loaded spectrum's channels.
        """
        from cassis_lite.lte import ModelConfig

        cfg = config if isinstance(config, ModelConfig) else ModelConfig.from_dict(config)
        old = self.model_config, self.model
        self.model_config = cfg
        try:
            self._compute()
        except Exception:
            self.model_config, self.model = old
            raise
        return self.model

    def clear_model(self) -> None:
        self.model_config = None
        self.model = None

    def _grid(self, cfg):
        if cfg.grid is not None:
            return cfg.grid.frequencies()
        if self.spectrum is None:
            raise ConfigError("no spectrum loaded: load one or give a \"grid\" in the model")
        return self.spectrum.freq_mhz

    def _compute(self):
        from cassis_lite.lte import PreparedModel

        cfg = self.model_config
        freq = self._grid(cfg)
        key = (id(freq) if cfg.grid is None else tuple(cfg.grid.to_dict().values()), freq.size)
        if self._prepared is None or self._prepared_key != key:
            self._prepared = PreparedModel(cfg, freq, self.db)
            self._prepared_key = key
        self.model = self._prepared.compute(cfg, with_tau=True)
        return self.model

    # ---- API shapes ----------------------------------------------------------------------
    def model_dict(self) -> dict | None:
        if self.model is None:
            return None
        m = self.model
        return {"freq_mhz": m.freq_mhz, "intensity": m.intensity, "tau": m.tau, "unit": m.unit,
                "config": self.model_config.to_dict()}

    def state(self) -> dict:
        sp = self.spectrum
        return {
            "spectrum": None if sp is None else {
                "name": sp.name, "format": sp.format, "n_channels": int(sp.freq_mhz.size),
                "fmin_mhz": float(sp.freq_mhz[0]), "fmax_mhz": float(sp.freq_mhz[-1]),
                "y_unit": sp.y_unit, "vlsr_kms": sp.vlsr_kms,
            },
            "filters": self.filters.to_dict(),
            "model": None if self.model_config is None else self.model_config.to_dict(),
        }


def to_jsonable(obj):
    """NumPy arrays and scalars to JSON-safe lists/numbers (non-finite -> None)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f":
            return [float(v) if math.isfinite(v) else None for v in obj.tolist()]
        return obj.tolist()
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
