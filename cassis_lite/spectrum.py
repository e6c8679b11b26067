"""The one spectrum type of the core.

A :class:`Spectrum` stores its spectral axis as frequency in MHz, ascending, and keeps the axis
as written in the file (``x_original`` in ``x_unit``, same channel order as ``freq_mhz``).
Build one with :meth:`Spectrum.from_axis`, which converts, validates and sorts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from cassis_lite import units
from cassis_lite.errors import CassisError

#: a file may hold several spectral windows one after the other (CASSIS .lis); this many steps
#: backwards (or repeated values) means the "axis" is not a spectral axis
MAX_WINDOWS = 256


class SpectrumError(CassisError):
    """Arrays that do not make a spectrum (NaN axis, scrambled axis, length mismatch...)."""


@dataclass
class Spectrum:
    """A 1-D spectrum.

    freq_mhz: ascending float64 frequencies (MHz), in the frame of the file (observed or LSR).
    intensity: float64 values in ``y_unit`` (may hold NaN for blanked channels).
    uncertainty: per-channel 1-sigma in ``y_unit`` or None.
    x_original, x_unit, x_kind: the axis as in the file ('frequency', 'velocity', 'wavelength'
    or 'wavenumber'), reordered like ``freq_mhz``.
    rest_freq_mhz, vlsr_kms, redshift: as given by the file (None / 0 when absent).
    beam_arcsec: (bmaj, bmin) FWHM in arcsec or None. meta: everything else from the file.
    """

    freq_mhz: np.ndarray
    intensity: np.ndarray
    y_unit: str = ""
    uncertainty: np.ndarray | None = None
    x_original: np.ndarray | None = None
    x_unit: str = "MHz"
    x_kind: str = "frequency"
    rest_freq_mhz: float | None = None
    vlsr_kms: float = 0.0
    redshift: float = 0.0
    beam_arcsec: tuple[float, float] | None = None
    telescope: str | None = None
    meta: dict = field(default_factory=dict)
    name: str = ""
    format: str = ""
    velocity_convention: str = "radio"
    air_wavelength: bool = False

    def __post_init__(self):
        self.freq_mhz = np.asarray(self.freq_mhz, dtype=np.float64)
        self.intensity = np.asarray(self.intensity, dtype=np.float64)
        if self.x_original is None:
            self.x_original = self.freq_mhz
        if self.freq_mhz.ndim != 1 or self.intensity.shape != self.freq_mhz.shape:
            raise SpectrumError(
                f"axis and intensity must be 1-D of equal length (got {self.freq_mhz.shape} "
                f"and {self.intensity.shape})")
        if self.uncertainty is not None:
            self.uncertainty = np.asarray(self.uncertainty, dtype=np.float64)
            if self.uncertainty.shape != self.freq_mhz.shape:
                raise SpectrumError("uncertainty and intensity have different lengths")
        if self.freq_mhz.size and np.any(np.diff(self.freq_mhz) < 0):
            raise SpectrumError("freq_mhz must be ascending (use Spectrum.from_axis to sort)")

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_axis(cls, x, intensity, x_unit="MHz", uncertainty=None, rest_freq_mhz=None,
                  velocity_convention="radio", air_wavelength=False, **fields) -> Spectrum:
        """Spectrum from an axis in any spectral unit: converts to MHz, checks, sorts.

        The axis may be ascending, descending, or made of up to :data:`MAX_WINDOWS` monotonic
        windows one after the other; channels are sorted by frequency (stable). A NaN/inf axis
        value, a scrambled axis, or no finite intensity at all raise :class:`SpectrumError`.
        """
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(intensity, dtype=np.float64).ravel()
        if x.size == 0:
            raise SpectrumError("no channels")
        if x.size != y.size:
            raise SpectrumError(f"axis has {x.size} values but intensity has {y.size}")
        bad = ~np.isfinite(x)
        if bad.any():
            first = int(np.argmax(bad))
            raise SpectrumError(
                f"spectral axis has {int(bad.sum())} non-finite value(s) (first at channel {first})")
        if not np.isfinite(y).any():
            raise SpectrumError("no finite intensity value (all NaN or infinite)")
        err = None
        if uncertainty is not None:
            err = np.asarray(uncertainty, dtype=np.float64).ravel()
            if err.size != x.size:
                raise SpectrumError(f"uncertainty has {err.size} values, axis has {x.size}")
        try:
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                freq = units.to_freq_mhz(x, x_unit, rest_freq_mhz, velocity_convention, air_wavelength)
        except units.UnitError as exc:
            raise SpectrumError(str(exc)) from None
        kind, _ = units.axis_unit_kind(x_unit)
        if not np.all(np.isfinite(freq)) or np.any(freq <= 0):
            raise SpectrumError(f"spectral axis ({kind} in {x_unit}) gives non-positive or infinite frequencies")
        steps = np.diff(freq)
        reversals = count_reversals(steps)
        repeats = int(np.count_nonzero(steps == 0))
        if repeats and repeats >= 0.01 * freq.size:
            raise SpectrumError(f"spectral axis repeats the same value {repeats} times: not a spectral axis")
        if reversals >= MAX_WINDOWS:
            raise SpectrumError(
                f"spectral axis is not monotonic ({reversals} steps backwards or repeated "
                "values): is this column really the spectral axis?")
        order = None
        if np.any(steps < 0):
            order = np.argsort(freq, kind="stable")
            freq, x, y = freq[order], x[order], y[order]
            if err is not None:
                err = err[order]
        meta = dict(fields.pop("meta", None) or {})
        meta.setdefault("n_windows", len(window_slices(freq)))
        return cls(freq_mhz=freq, intensity=y, uncertainty=err, x_original=x, x_unit=x_unit,
                   x_kind=kind, rest_freq_mhz=rest_freq_mhz, velocity_convention=velocity_convention,
                   air_wavelength=air_wavelength, meta=meta, **fields)

    # --- views ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.freq_mhz.size)

    @property
    def n_channels(self) -> int:
        return int(self.freq_mhz.size)

    def velocity_kms(self, rest_freq_mhz=None, convention="radio") -> np.ndarray:
        """Velocity axis (km/s) relative to ``rest_freq_mhz`` (default: the file's)."""
        return units.freq_to_velocity(self.freq_mhz, rest_freq_mhz or self.rest_freq_mhz, convention)

    def wavelength(self, unit="um", air=False) -> np.ndarray:
        """Wavelength axis in ``unit`` (vacuum, or air)."""
        return units.freq_to_wavelength(self.freq_mhz, unit, air)

    def wavenumber_cm1(self) -> np.ndarray:
        return units.freq_to_wavenumber(self.freq_mhz)

    def rest_frame_freq_mhz(self, vlsr_kms=None, redshift=None) -> np.ndarray:
        """Frequencies shifted to the source rest frame (default: the file's v_lsr and z)."""
        v = self.vlsr_kms if vlsr_kms is None else vlsr_kms
        z = self.redshift if redshift is None else redshift
        return units.rest_freq(self.freq_mhz, v or 0.0, z or 0.0)

    def to_kelvin(self, beam_arcsec=None) -> Spectrum:
        """Copy in K. Jy/beam (and mJy/beam) need a beam (``beam_arcsec`` or the file's)."""
        scale = units.intensity_unit_scale(self.y_unit)
        if scale is None:
            raise units.UnitError(f"cannot convert intensity unit {self.y_unit!r} to K")
        base, factor = scale
        if base == "K":
            conv = lambda v: v * factor  # noqa: E731
        elif base == "Jy/beam":
            beam = beam_arcsec or self.beam_arcsec
            if beam is None:
                raise units.UnitError("Jy/beam -> K needs the beam size (bmaj, bmin in arcsec)")
            conv = lambda v: units.jy_per_beam_to_k(v * factor, self.freq_mhz, *beam)  # noqa: E731
        else:
            raise units.UnitError(f"cannot convert {self.y_unit!r} (flux density, not per beam) to K")
        return replace(self, intensity=conv(self.intensity), y_unit="K",
                       uncertainty=None if self.uncertainty is None else np.abs(conv(self.uncertainty)),
                       meta=dict(self.meta))

    def intensity_in_kelvin(self) -> tuple[np.ndarray, str | None]:
        """The intensity in K where it can be converted, and a note where it could not.

        Templates, column densities and fits are on the T_mb scale: mK -> K; Jy/beam -> K with
        the file's beam (Rayleigh-Jeans, :func:`cassis_lite.units.jy_per_beam_to_k`); any other
        unit is used as it is, and the note says so (the numbers are then off scale)."""
        scale = units.intensity_unit_scale(self.y_unit)
        y = self.intensity
        if scale is None:
            return y, f"intensity unit {self.y_unit or 'unknown'!r} taken as K"
        base, factor = scale
        if base == "K":
            return y * factor, None
        if base == "Jy/beam" and self.beam_arcsec:
            return units.jy_per_beam_to_k(y * factor, self.freq_mhz, *self.beam_arcsec), None
        return y, f"intensity in {self.y_unit} without a beam: taken as K (column densities off scale)"

    def windows(self) -> list[slice]:
        """The contiguous spectral windows of the axis (:func:`window_slices`)."""
        return window_slices(self.freq_mhz)

    def to_jy_per_beam(self, beam_arcsec=None) -> Spectrum:
        """Copy in Jy/beam from K (needs a beam)."""
        scale = units.intensity_unit_scale(self.y_unit)
        if scale is None or scale[0] != "K":
            if scale is not None and scale[0] == "Jy/beam":
                return replace(self, intensity=self.intensity * scale[1], y_unit="Jy/beam",
                               uncertainty=None if self.uncertainty is None else self.uncertainty * scale[1])
            raise units.UnitError(f"cannot convert intensity unit {self.y_unit!r} to Jy/beam")
        beam = beam_arcsec or self.beam_arcsec
        if beam is None:
            raise units.UnitError("K -> Jy/beam needs the beam size (bmaj, bmin in arcsec)")
        conv = lambda v: units.k_to_jy_per_beam(v * scale[1], self.freq_mhz, *beam)  # noqa: E731
        return replace(self, intensity=conv(self.intensity), y_unit="Jy/beam",
                       uncertainty=None if self.uncertainty is None else conv(self.uncertainty),
                       meta=dict(self.meta))

    def summary(self) -> dict:
        """JSON-ready description (the ``cassis-lite info`` object)."""
        x = self.x_original
        finite = np.isfinite(self.intensity)

        def num(v):
            return None if v is None else float(v)

        return {
            "name": self.name,
            "format": self.format,
            "n_channels": self.n_channels,
            "x_kind": self.x_kind,
            "x_min": float(np.min(x)),
            "x_max": float(np.max(x)),
            "x_unit": self.x_unit,
            "freq_min_mhz": float(self.freq_mhz[0]),
            "freq_max_mhz": float(self.freq_mhz[-1]),
            "y_unit": self.y_unit,
            "y_min": float(np.min(self.intensity[finite])) if finite.any() else None,
            "y_max": float(np.max(self.intensity[finite])) if finite.any() else None,
            "n_blank": int(self.intensity.size - finite.sum()),
            "has_uncertainty": self.uncertainty is not None,
            "vlsr_kms": num(self.vlsr_kms),
            "redshift": num(self.redshift),
            "rest_freq_mhz": num(self.rest_freq_mhz),
            "beam_arcsec": None if self.beam_arcsec is None else [float(b) for b in self.beam_arcsec],
            "telescope": self.telescope,
            "n_windows": int(self.meta.get("n_windows", 1)),
            "shape": self.meta.get("cube_shape"),
        }


def count_reversals(steps: np.ndarray) -> int:
    """Steps of an axis against its majority direction, repeats included (a .lis file's windows
    one after the other reverse a few times; a column that is not a spectral axis, often)."""
    if steps.size == 0:
        return 0
    n_up = int(np.count_nonzero(steps > 0))
    if n_up == steps.size:  # the common case: strictly ascending
        return 0
    n_down = int(np.count_nonzero(steps < 0))
    return int(np.count_nonzero((steps if n_up >= n_down else -steps) <= 0))


def window_slices(freq, gap_factor: float = 3.0) -> list[slice]:
    """Contiguous spectral windows of an axis: the one definition used by the readers, the
    noise estimate of each window, the fit's rms windows and the screen.

    The axis is split where a step (in absolute value) exceeds ``gap_factor`` times both
    neighbouring steps: a gap between two windows, or the jump from one window to the next in a
    file that holds them one after the other in any order. Windows of different resolution that
    touch are not split.
    """
    f = np.asarray(freq, dtype=float)
    df = np.abs(np.diff(f))
    if df.size < 2:
        return [slice(0, f.size)]
    left = np.concatenate(([df[1]], df[:-1]))
    right = np.concatenate((df[1:], [df[-2]]))
    breaks = np.flatnonzero(df > gap_factor * np.maximum(left, right)) + 1
    edges = np.concatenate(([0], breaks, [f.size]))
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def merged_ranges(lo, hi) -> list[tuple[float, float]]:
    """The intervals [lo_i, hi_i] sorted, those that overlap (or touch) joined."""
    out: list[list[float]] = []
    for a, b in sorted(zip(np.asarray(lo, dtype=float).ravel().tolist(), np.asarray(hi, dtype=float).ravel().tolist())):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def window_ranges(freq_mhz) -> list[tuple[float, float]]:
    """(fmin, fmax) of the spectral windows of an axis, ascending, overlapping ones merged."""
    f = np.asarray(freq_mhz, dtype=float)
    wins = window_slices(f)
    return merged_ranges([np.min(f[w]) for w in wins], [np.max(f[w]) for w in wins])


def window_mask(freq_axis, freq_mhz) -> np.ndarray:
    """Mask of the frequencies ``freq_mhz`` that fall inside a window of the ascending
    ``freq_axis`` (not in the gaps between windows)."""
    f = np.asarray(freq_axis, dtype=float)
    x = np.asarray(freq_mhz, dtype=float)
    wins = window_slices(f)
    starts = np.array([f[w.start] for w in wins])
    ends = np.array([f[w.stop - 1] for w in wins])
    i = np.searchsorted(starts, x, side="right") - 1
    return (i >= 0) & (x <= ends[np.clip(i, 0, None)])
