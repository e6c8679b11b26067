"""The app's state, in ``param``: the one place the screen, the cards and the scripting API read.

:class:`Session` holds what is loaded and modelled (the open spectra and the active one, the line
filters, the model configuration and its computed model); :class:`View` what the screen shows
of it (axes, rest frequency of the velocity axis, window, v_lsr and z of the line markers). The
cards and the plot react to these parameters (``param.depends(..., watch=True)``); nothing keeps
its own copy. Every number comes from the core (readers, line database, LTE model). A failed
load or an invalid model raises a :class:`~cassis_lite.errors.CassisError` and leaves the state
as it was.

Frames, stated once: a spectrum's frequencies are in the frame of its file (its ``vlsr_kms``);
the model is in the frame of the active spectrum (its ``vlsr_file_kms`` follows the spectrum)
unless a script set a model that says otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import param

from cassis_lite.errors import CassisError, ConfigError
from cassis_lite.lte.beam import TELESCOPE_DIAMETERS_M
from cassis_lite.lte.compute import LteResult, PreparedModel
from cassis_lite.lte.config import ModelConfig
from cassis_lite.spectrum import Spectrum, window_ranges, window_slices

DEFAULT_SPECIES = "CO"
MAX_LINES = 5000  # lines drawn/listed at once; the table says when there are more
#: colours of the open spectra, in order (the active one is drawn on top, in its colour)
SPECTRUM_COLOURS = ("#1b1f24", "#2a7ab0", "#8b5a2b", "#6a3d9a", "#33a02c", "#e7298a", "#666666")


@dataclass(frozen=True)
class LineFilters:
    """Which transitions to overlay: species (None = all), E_up max (K), A_ij min (s^-1)."""

    species: tuple[str, ...] | None = None
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
            species = [s.strip() for s in species.split(",")]
        species = tuple(str(s).strip() for s in species if str(s).strip()) if species else None
        return cls(species or None, _opt_float(d, "eup_max_k"), _opt_float(d, "aij_min"))

    def to_dict(self) -> dict:
        return {"species": list(self.species) if self.species else None, "eup_max_k": self.eup_max_k,
                "aij_min": self.aij_min}


def _opt_float(d, key):
    v = d.get(key)
    if v is None or v == "":
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ConfigError(f"line filter {key} must be a number, got {v!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ConfigError(f"line filter {key} must be a finite number >= 0, got {v!r}")
    return v


def default_model(species: str = DEFAULT_SPECIES, vlsr_kms: float = 0.0, telescope: dict | None = None) -> dict:
    """The starting model shown with a spectrum (one component, one species)."""
    return {
        "telescope": telescope or {"diameter_m": 12.0},
        "unit": "Tmb",
        "vlsr_file_kms": vlsr_kms,
        "components": [{
            "name": "c1", "tex_k": 50.0, "fwhm_kms": 4.0, "vlsr_kms": vlsr_kms, "size_arcsec": 30.0,
            "interacting": False,
            "species": [{"species": species, "ntot_cm2": 1e16}],
        }],
    }


def file_telescope(sp: Spectrum) -> dict | None:
    """The telescope a file declares (TELESCOP, a CASSIS header), if the model knows it by name.

    A file that declares several (a CASSIS spectral profile: one per frequency range) gives the
    one of the range holding most channels."""
    names = []
    ranges = sp.meta.get("telescopes") or {}
    if ranges:
        counts = {n: int(np.count_nonzero((sp.freq_mhz >= lo) & (sp.freq_mhz <= hi)))
                  for n, (lo, hi) in ranges.items()}
        names = sorted(counts, key=counts.get, reverse=True)
    elif sp.telescope:
        names = [sp.telescope]
    for name in names:
        key = str(name).strip().lower().replace(" ", "").replace("-", "")
        for known in TELESCOPE_DIAMETERS_M:
            if key == known or key.startswith(known):
                return {"name": known}
    return None


class OpenSpectrum(param.Parameterized):
    """One of the open spectra: shown or not, in its colour; ``original`` is the file as read
    (the processing steps, e.g. a baseline, make ``spectrum`` from it and can be undone)."""

    spectrum = param.ClassSelector(class_=Spectrum)
    original = param.ClassSelector(class_=Spectrum)
    visible = param.Boolean(default=True)
    colour = param.String(default=SPECTRUM_COLOURS[0])


class Session(param.Parameterized):
    """Open spectra, line filters and the model, with their derived values."""

    spectra = param.List(default=[], item_type=OpenSpectrum, doc="open spectra, in opening order")
    spectrum = param.ClassSelector(class_=Spectrum, default=None, allow_None=True, doc="the active spectrum")
    filters = param.ClassSelector(class_=LineFilters, default=LineFilters())
    model_config = param.ClassSelector(class_=ModelConfig, default=None, allow_None=True)
    model = param.ClassSelector(class_=LteResult, default=None, allow_None=True, doc="the model on the grid")
    model_error = param.String(default="", doc="why the model cannot be computed (shown by the model card)")
    frame_from_script = param.Boolean(default=False, doc="the model's vlsr_file_kms was set by a script")
    cube = param.Parameter(default=None, doc="the open FITS cube (cassis_lite.cube.Cube), None without one")
    cube_pixel = param.Parameter(default=None, doc="(x, y) 0-based pixel of the cube's spectrum shown")
    cube_region = param.Parameter(default=None, doc="(x0, x1, y0, y1): the region mean shown (x0 <= x < x1)")
    line_lists = param.Dict(default={}, doc="name -> Transitions of the line lists overlaid beside the database "
                                            "(SLAP answers, tables received by SAMP or opened)")
    database = param.String(default="bundled", doc="the line database in use: bundled, full or file")

    def __init__(self, db_path: str | None = None, **params):
        super().__init__(**params)
        self.db_path = db_path
        self._db = None
        self._prepared = None
        self._prepared_key = None
        self.describe_database = None  # set by cassis_lite.app.databases: getState().database

    # ---- database ------------------------------------------------------------------------
    @property
    def db(self):
        if self._db is None:
            from cassis_lite.linedb import LineDatabase

            self._db = LineDatabase(self.db_path)
        return self._db

    def set_database(self, db, name: str, describe=None) -> list[str]:
        """Draw the lines, the model and the analyses from ``db`` (a LineDatabase) from now on;
        ``name`` (bundled, full, file) is what :meth:`state` reports, with ``describe()``.
        A species filter naming species the new database lacks is cleared (returned note); a
        database that fails to read (an I/O error of a lazily read file) is not taken."""
        from cassis_lite.errors import AmbiguousSpeciesError, UnknownSpeciesError

        old, self._db = self._db, db
        filters, notes = self.filters, []
        try:
            if self.spectrum is not None:
                try:
                    self.lines(filters)
                except (UnknownSpeciesError, AmbiguousSpeciesError) as exc:
                    filters = LineFilters(None, filters.eup_max_k, filters.aij_min)
                    notes.append(f"the species filter was cleared: {exc}")
                    self.lines(filters)
        except CassisError:
            self._db = old
            raise
        self._prepared = self._prepared_key = None
        if describe is not None:
            self.describe_database = describe
        model, error = (None, "") if self.model_config is None else self._compute(self.model_config, self.spectrum)
        self.param.update(database=name, filters=filters, model=model, model_error=error)
        return notes

    def database_state(self) -> dict:
        if self.describe_database is not None:
            return self.describe_database()
        return {"name": self.database, "source": self.db.path.name, "lazy": False}

    # ---- spectra ---------------------------------------------------------------------------
    def load_spectrum(self, data: bytes, name: str, telescope: str | None = None) -> Spectrum:
        """Read ``data`` (any supported format), open it and make it the active spectrum; the
        model moves to its frame. ``telescope``: the telescope, when the file does not say it.
        A file of the name of an open one replaces it (read again, as the file is now, without
        its processing), in its place and colour. On error the state stays as it was."""
        from dataclasses import replace

        from cassis_lite.readers import read_spectrum

        data = bytes(data)
        spectrum = read_spectrum(data, name=name)
        if spectrum.freq_mhz.size == 0:
            raise CassisError(f"{name}: no channels")
        cube = open_cube(data, spectrum)
        if telescope and not spectrum.telescope and not spectrum.meta.get("telescopes"):
            spectrum = replace(spectrum, telescope=telescope)
        entries = list(self.spectra)
        same = next((i for i, e in enumerate(entries) if e.original.name == spectrum.name), None)
        if same is None:
            colour = SPECTRUM_COLOURS[len(entries) % len(SPECTRUM_COLOURS)]
            entries.append(OpenSpectrum(spectrum=spectrum, original=spectrum, colour=colour))
        else:
            entries[same] = OpenSpectrum(spectrum=spectrum, original=spectrum, colour=entries[same].colour)
        if cube is not None:
            self.param.update(cube=cube, cube_pixel=tuple(spectrum.meta["pixel"]), cube_region=None)
        elif self.cube is not None and self.cube.name == spectrum.name:
            self.param.update(cube=None, cube_pixel=None, cube_region=None)  # the cube's file replaced by a spectrum
        self.activate(spectrum, entries=entries)
        return spectrum

    # ---- cube ------------------------------------------------------------------------------
    def cube_entry(self) -> OpenSpectrum | None:
        """The open spectrum that is the cube's pixel (None when the cube's was closed)."""
        cube = self.cube
        if cube is None:
            return None
        return next((e for e in self.spectra if e.original.name == cube.name and "cube_shape" in e.original.meta),
                    None)

    def select_pixel(self, x, y) -> Spectrum:
        """Make the spectrum of the cube's pixel (x, y) (0-based) the active spectrum, in the
        cube's entry of the open spectra. The model stays as it is when the cube's spectrum was
        the active one (every pixel has the cube's frame); the view keeps its range."""
        cube = self.cube
        if cube is None:
            raise CassisError("no cube open: open a FITS cube (3 axes: 2 on the sky, 1 spectral) first")
        try:
            ix, iy = int(x), int(y)
        except (TypeError, ValueError):
            raise CassisError(f"pixel must be two integers (x, y), got ({x!r}, {y!r})") from None
        if ix != x or iy != y:
            raise CassisError(f"pixel must be two integers (x, y), got ({x!r}, {y!r})")
        spectrum = cube.spectrum_at(ix, iy)
        self._show_cube_spectrum(spectrum, dict(cube_pixel=(ix, iy), cube_region=None))
        return spectrum

    def select_region(self, x0, x1, y0, y1) -> Spectrum:
        """Make the mean spectrum of the pixels x0 <= x < x1, y0 <= y < y1 of the cube
        (:meth:`Cube.region_mean`) the active spectrum, in the cube's entry (as a pixel's)."""
        cube = self.cube
        if cube is None:
            raise CassisError("no cube open: open a FITS cube (3 axes: 2 on the sky, 1 spectral) first")
        try:
            box = tuple(int(v) for v in (x0, x1, y0, y1))
        except (TypeError, ValueError):
            raise CassisError(f"region must be four integers (x0, x1, y0, y1), got {(x0, x1, y0, y1)!r}") from None
        if box != (x0, x1, y0, y1):
            raise CassisError(f"region must be four integers (x0, x1, y0, y1), got {(x0, x1, y0, y1)!r}")
        if not (0 <= box[0] < box[1] <= cube.nx and 0 <= box[2] < box[3] <= cube.ny):
            raise CassisError(f"region x {box[0]}..{box[1]}, y {box[2]}..{box[3]} is not a box inside the cube's "
                              f"{cube.nx} x {cube.ny} pixels (x0 < x1 <= {cube.nx}, y0 < y1 <= {cube.ny})")
        spectrum = cube.region_mean(*box)
        self._show_cube_spectrum(spectrum, dict(cube_pixel=None, cube_region=box))
        return spectrum

    def _show_cube_spectrum(self, spectrum: Spectrum, where: dict) -> None:
        """``spectrum`` (a pixel's or a region mean) in the cube's entry, made active; ``where``:
        the cube_pixel / cube_region it is."""
        from dataclasses import replace

        entries = list(self.spectra)
        i = next((k for k, e in enumerate(entries) if e is self.cube_entry()), None)
        was_active = i is not None and entries[i].spectrum is self.spectrum
        if i is not None and np.array_equal(entries[i].original.freq_mhz, spectrum.freq_mhz):
            # the same frequency array: the prepared model (its lines) is reused
            spectrum = replace(spectrum, freq_mhz=entries[i].original.freq_mhz)
        if i is None:
            colour = SPECTRUM_COLOURS[len(entries) % len(SPECTRUM_COLOURS)]
            entries.append(OpenSpectrum(spectrum=spectrum, original=spectrum, colour=colour))
        else:
            entries[i] = OpenSpectrum(spectrum=spectrum, original=spectrum, colour=entries[i].colour,
                                      visible=entries[i].visible)
        self.param.update(**where)
        self.activate(spectrum, entries=entries, new_frame=not was_active)

    def cube_state(self) -> dict | None:
        cube = self.cube
        if cube is None:
            return None
        return {"name": cube.name, "nx": cube.nx, "ny": cube.ny, "nchan": cube.nchan, "y_unit": cube.y_unit,
                "frame": None if cube.wcs is None else cube.wcs.frame_name,
                "pixel": None if self.cube_pixel is None else list(self.cube_pixel),
                "region": None if self.cube_region is None else list(self.cube_region),
                "open": self.cube_entry() is not None}

    def activate(self, spectrum: Spectrum, entries: list | None = None, new_frame: bool = True) -> None:
        """Make ``spectrum`` (an open one, or a processed version of the active one) active:
        the model follows it to its grid and (``new_frame``) its frame, in one update."""
        entries = list(self.spectra if entries is None else entries)
        script_frame = self.frame_from_script and not new_frame
        config = self._config_for(spectrum, keep_frame=script_frame or not new_frame)
        model, error = self._compute(config, spectrum)
        update = dict(spectra=entries, spectrum=spectrum, model=model, model_error=error, frame_from_script=script_frame)
        if self.model_config is None or config.to_dict() != self.model_config.to_dict():
            update["model_config"] = config  # the same model (another pixel of a cube) redraws no model widget
        self.param.update(**update)

    def replace_active(self, processed: Spectrum) -> None:
        """The active spectrum after a processing step (baseline, smoothing...): same entry."""
        entries = list(self.spectra)
        for e in entries:
            if e.spectrum is self.spectrum:
                e.spectrum = processed
        self.activate(processed, entries, new_frame=False)

    def close(self, entry: OpenSpectrum) -> None:
        if entry is self.cube_entry():
            self.param.update(cube=None, cube_pixel=None, cube_region=None)
        entries = [e for e in self.spectra if e is not entry]
        if entry.spectrum is self.spectrum:
            if entries:
                self.activate(entries[-1].spectrum, entries)
            else:
                self.param.update(spectra=[], spectrum=None, model=None)
        else:
            self.spectra = entries

    def entry_of(self, spectrum) -> OpenSpectrum | None:
        return next((e for e in self.spectra if e.spectrum is spectrum), None)

    def _config_for(self, spectrum: Spectrum, keep_frame: bool = False) -> ModelConfig:
        """The current model on the grid of ``spectrum``; unless ``keep_frame``, moved to its
        frame: the model's v_lsr of the axis is the file's, component 1 sits at that v_lsr (the
        model starts at rest in the new file's frame), and the telescope is the file's if known."""
        cfg = self.model_config
        if cfg is None:
            return ModelConfig.from_dict(default_model(vlsr_kms=float(spectrum.vlsr_kms or 0.0),
                                                       telescope=file_telescope(spectrum)))
        d = cfg.to_dict()
        d.pop("grid", None)
        if not keep_frame:
            vlsr = float(spectrum.vlsr_kms or 0.0)
            d["vlsr_file_kms"] = vlsr
            if d["components"]:
                d["components"][0]["vlsr_kms"] = vlsr
            tel = file_telescope(spectrum)
            if tel is not None:
                d["telescope"] = tel
        return ModelConfig.from_dict(d)

    # ---- lines ---------------------------------------------------------------------------
    def lines(self, filters: dict | LineFilters | None = None, fmin_mhz=None, fmax_mhz=None, db=None):
        """Transitions in the active spectrum's windows (or the range given) passing the filters,
        from the database in use (or ``db``)."""
        if isinstance(filters, dict):
            fmin_mhz = filters.get("fmin_mhz", fmin_mhz)
            fmax_mhz = filters.get("fmax_mhz", fmax_mhz)
            filters = LineFilters.from_dict(filters)
        filters = filters or self.filters
        in_windows = fmin_mhz is None or fmax_mhz is None
        if in_windows:
            if self.spectrum is None:
                raise CassisError("no spectrum loaded: give fmin_mhz and fmax_mhz")
            ranges = window_ranges(self.spectrum.freq_mhz)
        else:
            ranges = [(fmin_mhz, fmax_mhz)]
        from cassis_lite.linedb import lists

        # one query per window, not one over the span of all: a database read lazily (by HTTP
        # range) then reads the windows' pages only, not those of the gaps between them
        db = db or self.db
        parts = [lists.transitions(db, list(self.line_lists.values()), lo, hi,
                                   species=list(filters.species) if filters.species else None,
                                   eup_max_k=filters.eup_max_k, aij_min=filters.aij_min) for lo, hi in ranges]
        return lists.concat(parts)

    def add_line_list(self, name: str, t) -> str:
        """Overlay a line list (``Transitions``) under ``name`` (a list of that name is replaced)."""
        if not len(t):
            raise CassisError(f"{name}: the line list has no lines")
        self.line_lists = {**{k: v for k, v in self.line_lists.items() if k != name}, name: t}
        return name

    def remove_line_list(self, name: str | None = None) -> None:
        """Remove one overlaid line list (``None``: all of them)."""
        if name is not None and name not in self.line_lists:
            raise CassisError(f"no line list named {name!r} (overlaid: {', '.join(self.line_lists) or 'none'})")
        self.line_lists = {} if name is None else {k: v for k, v in self.line_lists.items() if k != name}

    def set_filters(self, filters: dict | LineFilters) -> LineFilters:
        new = filters if isinstance(filters, LineFilters) else LineFilters.from_dict(filters)
        if self.spectrum is not None:
            self.lines(new)  # validates species names before the state changes
        self.filters = new
        return new

    # ---- model ---------------------------------------------------------------------------
    def set_model(self, config, from_script: bool = False) -> LteResult | None:
        """Validate ``config`` (the ``cassis-lite model --config`` schema: dict or ModelConfig)
        and compute it on the active spectrum (or the config's ``grid``). A script's model is in
        the spectrum's frame unless it gives ``vlsr_file_kms`` itself."""
        if isinstance(config, dict):
            d = dict(config)
            explicit_frame = "vlsr_file_kms" in d
            if not explicit_frame and self.spectrum is not None:
                d["vlsr_file_kms"] = float(self.spectrum.vlsr_kms or 0.0)
            cfg = ModelConfig.from_dict(d)
        else:
            cfg, explicit_frame = config, False
        model, error = self._compute(cfg, self.spectrum)
        if error:
            raise ConfigError(error)
        script_frame = bool(explicit_frame) if from_script else self.frame_from_script
        self.param.update(model_config=cfg, model=model, model_error="", frame_from_script=script_frame)
        return model

    def _compute(self, cfg: ModelConfig, spectrum) -> tuple[LteResult | None, str]:
        """(the model of ``cfg`` on the spectrum's grid or the config's own, why not)."""
        if cfg.grid is not None:
            freq = cfg.grid.frequencies()
            key = ("grid", tuple(cfg.grid.to_dict().values()))
        elif spectrum is not None:
            freq = spectrum.freq_mhz
            key = ("spectrum", id(spectrum.freq_mhz), freq.size)
        else:
            return None, ""
        try:
            if self._prepared is None or self._prepared_key != key:
                self._prepared = PreparedModel(cfg, freq, self.db)
                self._prepared_key = key
            return self._prepared.compute(cfg, with_tau=True), ""
        except CassisError as exc:
            return None, str(exc)

    def component_models(self) -> list[tuple[str, np.ndarray]]:
        """Each enabled component alone on the model's grid (name, intensity), for the plot."""
        cfg, model = self.model_config, self.model
        if cfg is None or model is None or len([c for c in cfg.components if c.enabled]) < 2:
            return []
        out = []
        for i, comp in enumerate(cfg.components):
            if not comp.enabled:
                continue
            d = cfg.to_dict()
            for j, c in enumerate(d["components"]):
                c["enabled"] = i == j
            alone = ModelConfig.from_dict(d)
            out.append((comp.name, self._prepared.compute(alone).intensity))
        return out

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
            "spectrum": None if sp is None else spectrum_state(sp),
            "spectra": [{"name": e.spectrum.name, "visible": e.visible, "colour": e.colour,
                         "active": e.spectrum is sp, "processing": e.spectrum.meta.get("processing", [])}
                        for e in self.spectra],
            "filters": self.filters.to_dict(),
            "model": None if self.model_config is None else self.model_config.to_dict(),
            # the model's partition functions: "refined" (default) or "catalogue" (CASSIS's)
            "partition": None if self.model_config is None else self.model_config.partition,
            "model_error": self.model_error or None,
            "cube": self.cube_state(),
            "line_lists": [{"name": k, "n_lines": len(v)} for k, v in self.line_lists.items()],
            "database": self.database_state(),
        }


def open_cube(data: bytes, spectrum: Spectrum):
    """The cube of a FITS file the readers took one pixel of (their central one), or None for a
    spectrum (or a region mean). Imported only when a cube is opened."""
    if spectrum.format != "fits" or "cube_shape" not in spectrum.meta or "pixel" not in spectrum.meta:
        return None
    from cassis_lite.cube import Cube

    try:
        return Cube.open(data, name=spectrum.name)
    except CassisError:  # a cube the readers take but the map view cannot (e.g. odd sky axes): a spectrum
        return None


def spectrum_state(sp: Spectrum) -> dict:
    return {"name": sp.name, "format": sp.format, "n_channels": int(sp.freq_mhz.size),
            "fmin_mhz": float(sp.freq_mhz[0]), "fmax_mhz": float(sp.freq_mhz[-1]),
            "y_unit": sp.y_unit, "vlsr_kms": sp.vlsr_kms, "rest_freq_mhz": sp.rest_freq_mhz,
            "n_windows": len(window_slices(sp.freq_mhz)), "processing": sp.meta.get("processing", [])}


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


# --------------------------------------------------------------------------- what the screen shows

#: the x axes: key -> (label, unit of the core's conversions, air wavelengths). Wavelengths are
#: vacuum unless the key says air; air ones use the one formula of the core, Morton (2000, ApJS
#: 130, 403, eq. 8; :func:`cassis_lite.units.air_to_vacuum`), below 2000 A air = vacuum (IAU).
X_AXES = {"GHz": ("Frequency (GHz)", "GHz", False), "MHz": ("Frequency (MHz)", "MHz", False),
          "km/s": ("Velocity (km/s)", "km/s", False), "mm": ("Wavelength (mm)", "mm", False),
          "um": ("Wavelength (um, vacuum)", "um", False), "um air": ("Wavelength (um, air)", "um", True),
          "nm": ("Wavelength (nm, vacuum)", "nm", False), "nm air": ("Wavelength (nm, air)", "nm", True),
          "Angstrom": ("Wavelength (A, vacuum)", "Angstrom", False),
          "Angstrom air": ("Wavelength (A, air)", "Angstrom", True),
          "cm-1": ("Wavenumber (cm-1, vacuum)", "cm-1", False)}
X_UNITS = {key: label for key, (label, _, _) in X_AXES.items()}
Y_UNITS = ("K", "Jy/beam")
#: wavelength factor (m) of a file's unit -> the axis that shows it
_WAVE_AXES = {1e-10: "Angstrom", 1e-9: "nm", 1e-6: "um", 1e-3: "mm"}


def file_axis(sp: Spectrum) -> str | None:
    """The x axis that shows a spectrum as its file gives it: a wavelength file in its unit (A,
    nm, um, mm) and convention (air or vacuum), a wavenumber file in cm-1; None for a frequency
    or velocity file (the axis stays as the user set it)."""
    from cassis_lite.units import UnitError, axis_unit_kind

    try:
        kind, factor = axis_unit_kind(sp.x_unit)
    except UnitError:
        return None
    if kind == "wavenumber":
        return "cm-1"
    if kind != "wavelength":
        return None
    key = next((k for f, k in _WAVE_AXES.items() if math.isclose(f, factor, rel_tol=1e-9)), "Angstrom")
    return f"{key} air" if sp.air_wavelength and key != "mm" else key


def is_optical_axis(key: str) -> bool:
    """An x axis of the optical/UV tools (wavelengths shorter than 1 mm, wavenumbers)."""
    return key in X_AXES and X_AXES[key][1] in ("um", "nm", "Angstrom", "cm-1")


class ViewState(param.Parameterized):
    """What the plot shows: axes, the velocity reference, the window, the line markers' frame."""

    x_unit = param.Selector(default="GHz", objects=list(X_UNITS))
    y_unit = param.Selector(default="K", objects=list(Y_UNITS))
    velocity_convention = param.Selector(default="radio", objects=["radio", "optical", "relativistic"])
    rest_freq_mhz = param.Number(default=None, allow_None=True, bounds=(0, None), inclusive_bounds=(False, True),
                                 doc="rest frequency of the velocity axis (None: the file's or the window's)")
    rest_label = param.String(default="", doc="where the rest frequency comes from, for the user")
    window = param.Integer(default=-1, doc="index of the spectral window shown (-1: all)")
    vlsr_kms = param.Number(default=0.0, doc="v_lsr of the line markers (km/s)")
    redshift = param.Number(default=0.0, bounds=(0, None), doc="redshift of the line markers")
    show_model = param.Boolean(default=True)
    show_components = param.Boolean(default=False, doc="each component's curve besides the total")


def velocity_reference(sp: Spectrum, window: int, chosen: float | None) -> tuple[float, str]:
    """(rest frequency of the velocity axis in MHz, what it is): the one chosen by the user, else
    the window's (CASSIS .lis), else the file's RESTFRQ, else the centre of the window shown."""
    if chosen:
        return float(chosen), "chosen"
    wins = window_slices(sp.freq_mhz)
    rests = sp.meta.get("window_rest_freq_mhz") or []
    if 0 <= window < len(wins) and len(rests) == len(wins) and rests[window]:
        return float(rests[window]), "the window's rest frequency (file)"
    if sp.rest_freq_mhz:
        return float(sp.rest_freq_mhz), "the file's rest frequency"
    w = wins[window] if 0 <= window < len(wins) else slice(0, sp.freq_mhz.size)
    f = sp.freq_mhz[w]
    return 0.5 * float(f[0] + f[-1]), "the centre of the window (no rest frequency in the file)"
