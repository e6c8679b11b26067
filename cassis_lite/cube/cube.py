"""A spectral cube: a FITS image with one spectral axis and two sky axes, read lazily.

The content is held as the readers hold it (:mod:`cassis_lite.readers`): a path is memory-mapped
on CPython, so a cube larger than memory works and only the pixels asked for are converted to
float64; bytes (the browser) are refused from the header when the data unit is over
:data:`~cassis_lite.readers.registry.MAX_IN_MEMORY_BYTES`. Axes other than the spectral and
the two sky axes must be degenerate (a Stokes axis of length 1). The spectral axis is any the
FITS reader knows (FREQ, VRAD, VOPT, VELO/VELO-LSR, FELO, WAVE, AWAV, WAVN, -LOG); its
frequencies come from the same functions as :func:`cassis_lite.readers.read_spectrum`'s.

Pixels are 0-based (x along the first sky axis in FITS order, y along the second), channels
0-based in the file's order. Maps are NumPy arrays of shape (ny, nx).
"""

from __future__ import annotations

import numpy as np

from cassis_lite import units
from cassis_lite.cube.wcs import CelestialWcs, WcsError, celestial_axes, convert_frame
from cassis_lite.errors import CassisError
from cassis_lite.readers import fits as fits_reader
from cassis_lite.readers import fits_format as ff
from cassis_lite.readers.registry import (
    MAX_IN_MEMORY_BYTES,
    ReadError,
    TooLargeError,
    display_name,
    gunzip,
    load_content,
)
from cassis_lite.spectrum import Spectrum

#: what the browser's refusal says the user can do instead
CLI_HINT = fits_reader.CUBE_HINT


class CubeError(CassisError):
    """A cube that cannot be used (no spectral axis, no sky plane, pixel outside...)."""


class Cube:
    """A spectral cube read from FITS content.

    Open one with :meth:`Cube.open` (a path, bytes or a binary file object). Attributes:
    ``nx``, ``ny``, ``nchan``; ``freq_mhz`` (per channel, file order), ``x_original`` /
    ``x_unit`` (the file's spectral axis), ``rest_freq_mhz``, ``vlsr_kms`` (the v_lsr the
    frequencies refer to), ``y_unit``, ``beam_arcsec``, ``telescope``; ``wcs`` (a
    :class:`~cassis_lite.cube.wcs.CelestialWcs`, None for a cube without celestial axes);
    ``header`` (the HDU's keywords) and ``name``.
    """

    def __init__(self, content, name: str = "<data>", hdu=None, max_bytes: int | None = None):
        self.name = name
        self._content = content
        in_memory = not hasattr(content, "madvise")  # bytes rather than a memory map
        limit = MAX_IN_MEMORY_BYTES if max_bytes is None else int(max_bytes)
        try:
            hdus = ff.scan(content, name)
        except ff.FitsError as exc:
            raise ReadError(f"{name}: {exc}") from None
        h = _choose_hdu(hdus, hdu, name)
        self.hdu_index = h.index
        if in_memory and h.data_size > limit:
            raise TooLargeError(f"{name}: cube of {' x '.join(map(str, h.shape[::-1]))} pixels "
                                f"(NAXIS1 x NAXIS2 x ...) holds {h.data_size / 2**20:.0f} MiB, over the "
                                f"{limit / 2**20:.0f} MiB limit for in-memory reading; {CLI_HINT}")
        header = h.header
        headers = [header] if h.index == 0 else [header, hdus[0].header]
        self.header = header
        self._fits_header = header
        shape = h.shape
        n = len(shape)
        found = fits_reader.spectral_axis(header, n)
        if found is None:
            raise CubeError(f"{name}: HDU {h.index} (shape {list(shape)}) has no spectral axis in its WCS")
        axis, kind, unit, conv, log, assumed = found
        sky = [a for a in range(1, n + 1) if a != axis and shape[n - a] > 1]
        if len(sky) != 2:
            raise CubeError(f"{name}: HDU {h.index} of shape {list(shape[::-1])} (NAXIS1, ...) is not a cube: "
                            f"it has {len(sky)} non-degenerate axes besides the spectral one (2 needed)")
        cel = celestial_axes(header, n)
        if cel is not None and {cel[0], cel[1]} != set(sky):
            raise CubeError(f"{name}: the celestial axes {cel[0]}, {cel[1]} are not the cube's sky axes {sky}")
        self.spectral_axis_number = axis
        self.sky_axes = (sky[0], sky[1])
        self.nx = int(shape[n - sky[0]])
        self.ny = int(shape[n - sky[1]])
        self.nchan = int(shape[n - axis])
        info = fits_reader.source_info(headers)
        x = fits_reader.axis_values(header, axis, self.nchan, log)
        if kind == "velocity" and not info["rest_freq_mhz"]:
            raise CubeError(f"{name}: velocity axis (CTYPE{axis} = {header.get(f'CTYPE{axis}')!r}) but no rest "
                            "frequency (RESTFRQ / RESTFREQ) in the header")
        if kind == "frequency" and fits_reader.class_offset_axis(header, x, unit, info["rest_freq_mhz"]):
            x = x + info["rest_freq_mhz"] / units.axis_unit_kind(unit)[1]
        air = kind == "wavelength" and str(header.get(f"CTYPE{axis}", "")).strip().upper().startswith("AWAV")
        with np.errstate(all="ignore"):
            freq = units.to_freq_mhz(x, unit, info["rest_freq_mhz"], conv or "radio", air)
        if not np.all(np.isfinite(freq)) or np.any(freq <= 0):
            raise CubeError(f"{name}: the spectral axis gives non-positive or infinite frequencies")
        steps = np.diff(freq)
        if steps.size and not (np.all(steps > 0) or np.all(steps < 0)):
            raise CubeError(f"{name}: the spectral axis is not monotonic")
        self.freq_mhz = freq
        self.x_original = x
        self.x_unit = unit
        self.x_kind = kind
        self.assumed_x_unit = unit if assumed else None
        self.velocity_convention = conv or "radio"
        self.air_wavelength = air
        self.rest_freq_mhz = info["rest_freq_mhz"]
        self.vlsr_kms = info["vlsr_kms"]
        self.redshift = info["redshift"]
        self.beam_arcsec = info["beam_arcsec"]
        self.telescope = info["telescope"]
        self.y_unit = units.normalise_intensity_unit(fits_reader._header_value(headers, "BUNIT"))
        self._headers = headers
        self._raw = ff.image_array(h, content) if _complete(h, content, name) else None
        self._scaled = not (self._raw.dtype.kind == "f" and header.get("BSCALE", 1.0) == 1
                            and header.get("BZERO", 0.0) == 0)
        # NumPy axes of the raw array: (spectral, y, x) after moving; degenerate ones indexed 0
        self._np_spec, self._np_y, self._np_x = n - axis, n - sky[1], n - sky[0]
        self._n = n
        try:
            self.wcs = CelestialWcs.from_header(header, self.sky_axes) if cel is not None else None
        except WcsError as exc:
            raise CubeError(f"{name}: {exc}") from None

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, source, name: str | None = None, hdu=None, max_bytes: int | None = None) -> Cube:
        """Open a cube from a path (memory-mapped on CPython), bytes or a binary file object.

        gzip content is decompressed in memory (within ``max_bytes``). ``hdu``: index or EXTNAME
        (default: the first image HDU with a spectral axis and two sky axes).
        """
        label = display_name(source, name)
        limit = MAX_IN_MEMORY_BYTES if max_bytes is None else int(max_bytes)
        content = load_content(source, label)
        if bytes(content[:2]) == b"\x1f\x8b":
            content = gunzip(content, label, limit)
        if not bytes(content[:9]).startswith(b"SIMPLE  ="):
            raise ReadError(f"{label}: not a FITS file: cubes are read from FITS images")
        return cls(content, label, hdu=hdu, max_bytes=limit)

    # -- description --------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """(nchan, ny, nx)."""
        return (self.nchan, self.ny, self.nx)

    @property
    def data_bytes(self) -> int:
        return int(self.nchan * self.ny * self.nx * self._raw.dtype.itemsize)

    def info(self) -> dict:
        """What ``cassis-lite cube info`` prints (JSON-ready)."""
        f = self.freq_mhz
        d = {"file": self.name, "hdu": self.hdu_index, "nx": self.nx, "ny": self.ny, "nchan": self.nchan,
             "data_mib": round(self.data_bytes / 2**20, 3), "bitpix": int(self.header.get("BITPIX")),
             "y_unit": self.y_unit, "spectral_axis": str(self.header.get(f"CTYPE{self.spectral_axis_number}", "")).strip(),
             "x_unit": self.x_unit, "freq_min_mhz": float(f.min()), "freq_max_mhz": float(f.max()),
             "channel_width_mhz": float(abs(f[-1] - f[0]) / max(self.nchan - 1, 1)),
             "rest_freq_mhz": self.rest_freq_mhz, "vlsr_kms": self.vlsr_kms, "beam_arcsec": self.beam_arcsec,
             "telescope": self.telescope}
        if self.rest_freq_mhz:
            v = self.velocity_kms()
            d["velocity_min_kms"], d["velocity_max_kms"] = float(v.min()), float(v.max())
            d["channel_width_kms"] = float(abs(v[-1] - v[0]) / max(self.nchan - 1, 1))
        if self.wcs is not None:
            w = self.wcs
            lon, lat = self.pixel_to_world((self.nx - 1) / 2.0, (self.ny - 1) / 2.0)
            d["frame"] = w.frame_name
            d["projection"] = w.original_code
            d["centre_deg"] = [float(lon), float(lat)]
            d["pixel_arcsec"] = [round(s * 3600.0, 6) for s in w.pixel_scale_deg()]
        return d

    # -- spectral axis ------------------------------------------------------------------------
    def velocity_kms(self, rest_freq_mhz: float | None = None) -> np.ndarray:
        """LSR velocity of each channel (km/s, radio convention) about ``rest_freq_mhz`` (default
        the cube's RESTFRQ): v = v_file + c (1 - nu / nu_0) (:func:`cassis_lite.units.lsr_velocity_kms`)."""
        rest = rest_freq_mhz or self.rest_freq_mhz
        if not rest:
            raise CubeError(f"{self.name}: no rest frequency in the header: give one (MHz)")
        return units.lsr_velocity_kms(self.freq_mhz, rest, self.vlsr_kms)

    # -- data ---------------------------------------------------------------------------------
    def _index(self, spec, y, x):
        idx = [0] * self._n
        idx[self._np_spec], idx[self._np_y], idx[self._np_x] = spec, y, x
        return tuple(idx)

    def _convert(self, raw) -> np.ndarray:
        if not self._scaled:
            return np.asarray(raw, dtype=np.float64)
        return ff.scale_image(np.asarray(raw), self.header)

    def block(self, y0: int, y1: int, x0: int, x1: int, channels: slice | None = None) -> np.ndarray:
        """Intensities of pixels y0 <= y < y1, x0 <= x < x1: float64 (y1 - y0, x1 - x0, nchan),
        channels in file order (``channels``: a slice of them), blanks as NaN. Only this block is
        read and converted."""
        self._check_box(x0, x1, y0, y1)
        raw = self._raw[self._index(slice(None) if channels is None else channels, slice(y0, y1), slice(x0, x1))]
        # axes left: spectral, y, x in some order -> (y, x, spectral)
        kept = sorted((self._np_spec, self._np_y, self._np_x))
        order = [kept.index(a) for a in (self._np_y, self._np_x, self._np_spec)]
        return self._convert(np.transpose(raw, order))

    def planes(self, y0: int, y1: int, channels: slice | None = None) -> np.ndarray:
        """Rows y0 <= y < y1 of every channel (or of ``channels``): float64 (nchan, y1 - y0, nx),
        the cube's own layout when its spectral axis is the last FITS axis (the usual one), so
        that reading a block is a plain copy; blanks as NaN."""
        if not 0 <= y0 < y1 <= self.ny:
            raise CubeError(f"rows {y0}..{y1} are outside the cube's {self.ny} rows")
        raw = self._raw[self._index(slice(None) if channels is None else channels, slice(y0, y1), slice(None))]
        kept = sorted((self._np_spec, self._np_y, self._np_x))
        order = [kept.index(a) for a in (self._np_spec, self._np_y, self._np_x)]
        return self._convert(np.transpose(raw, order))

    def channel(self, i: int) -> np.ndarray:
        """The map (ny, nx) of channel ``i`` (0-based, file order)."""
        if not 0 <= int(i) < self.nchan:
            raise CubeError(f"channel {i} is outside the cube's {self.nchan} channels")
        raw = self._raw[self._index(int(i), slice(None), slice(None))]
        return self._convert(raw if self._np_y < self._np_x else raw.T)

    def spectrum_at(self, x: int, y: int) -> Spectrum:
        """The spectrum of pixel (x, y) (0-based), as :func:`read_spectrum` with ``pixel=(x, y)``."""
        x, y = int(x), int(y)
        if not (0 <= x < self.nx and 0 <= y < self.ny):
            raise CubeError(f"pixel ({x}, {y}) is outside the cube's {self.nx} x {self.ny} pixels")
        values = self._convert(self._raw[self._index(slice(None), y, x)])
        if not np.isfinite(values).any():
            raise CubeError(f"pixel ({x}, {y}) of the {self.nx} x {self.ny} cube is blank (all NaN)")
        return self._spectrum(values, {"pixel": [x, y]})

    def region_mean(self, x0: int, x1: int, y0: int, y1: int, mask=None) -> Spectrum:
        """Mean spectrum over pixels x0 <= x < x1, y0 <= y < y1 (NaNs ignored per channel), or over
        the True pixels of ``mask`` (bool, shape (y1 - y0, x1 - x0)) in that box; read in blocks."""
        self._check_box(x0, x1, y0, y1)
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (y1 - y0, x1 - x0):
                raise CubeError(f"mask of shape {mask.shape} for a box of {(y1 - y0, x1 - x0)} pixels")
        total = np.zeros(self.nchan)
        count = np.zeros(self.nchan)
        for (a0, a1), _ in _row_blocks(y0, y1, (x1 - x0) * self.nchan):
            data = self.block(a0, a1, x0, x1)
            good = np.isfinite(data)
            if mask is not None:
                good &= mask[a0 - y0:a1 - y0, :, None]
            total += np.where(good, data, 0.0).sum(axis=(0, 1))
            count += good.sum(axis=(0, 1))
        if not count.any():
            raise CubeError(f"region x {x0}..{x1}, y {y0}..{y1} holds no finite value")
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        return self._spectrum(mean, {"region": [x0, x1, y0, y1]})

    def _spectrum(self, values, meta) -> Spectrum:
        m = {"hdu": self.hdu_index, "cube_shape": [self.nchan, self.ny, self.nx], **meta}
        return Spectrum.from_axis(
            self.x_original, values, x_unit=self.x_unit, rest_freq_mhz=self.rest_freq_mhz,
            velocity_convention=self.velocity_convention, air_wavelength=self.air_wavelength,
            y_unit=self.y_unit, vlsr_kms=self.vlsr_kms, redshift=self.redshift, beam_arcsec=self.beam_arcsec,
            telescope=self.telescope, meta=m, name=self.name, format="fits")

    def _check_box(self, x0, x1, y0, y1):
        if not (0 <= x0 < x1 <= self.nx and 0 <= y0 < y1 <= self.ny):
            raise CubeError(f"box x {x0}..{x1}, y {y0}..{y1} is outside the cube's {self.nx} x {self.ny} pixels")

    # -- sky ----------------------------------------------------------------------------------
    def _require_wcs(self) -> CelestialWcs:
        if self.wcs is None:
            raise CubeError(f"{self.name}: the cube has no celestial WCS (CTYPE RA/DEC or GLON/GLAT)")
        return self.wcs

    def pixel_to_world(self, x, y, frame: str | None = None):
        """(lon, lat) deg of 0-based pixels, in the cube's frame or ``frame`` ('icrs', 'fk5',
        'galactic')."""
        w = self._require_wcs()
        lon, lat = w.pixel_to_world(x, y)
        if frame is not None:
            lon, lat = convert_frame(lon, lat, w.frame_name, frame)
        return lon, lat

    def world_to_pixel(self, lon, lat, frame: str | None = None):
        """0-based pixels (x, y), floats, of sky positions (deg) given in the cube's frame or in
        ``frame`` ('icrs', 'fk5', 'galactic'; e.g. Aladin Lite's ICRS): round them to index."""
        w = self._require_wcs()
        if frame is not None:
            lon, lat = convert_frame(lon, lat, frame, w.frame_name)
        return w.world_to_pixel(lon, lat)

    def pixel_of(self, lon: float, lat: float, frame: str | None = None) -> tuple[int, int]:
        """The pixel (x, y) holding a sky position (for ``spectrum_at``); CubeError outside."""
        x, y = self.world_to_pixel(lon, lat, frame)
        if not (np.isfinite(x) and np.isfinite(y)):
            raise CubeError(f"({lon}, {lat}) is not on the cube's projection")
        ix, iy = int(np.floor(float(x) + 0.5)), int(np.floor(float(y) + 0.5))
        if not (0 <= ix < self.nx and 0 <= iy < self.ny):
            raise CubeError(f"({lon:.6f}, {lat:.6f}) falls at pixel ({ix}, {iy}), outside the cube's "
                            f"{self.nx} x {self.ny} pixels")
        return ix, iy

    # -- analyses -----------------------------------------------------------------------------
    def moments(self, vmin_kms: float | None = None, vmax_kms: float | None = None,
                rest_freq_mhz: float | None = None, progress=None):
        """Moment maps (:func:`cassis_lite.cube.moments.moment_maps`)."""
        from cassis_lite.cube.moments import moment_maps

        return moment_maps(self, vmin_kms, vmax_kms, rest_freq_mhz, progress=progress)


def _complete(h, content, name) -> bool:
    try:
        ff.check_data(h, content)
    except ff.FitsError as exc:
        raise ReadError(f"{name}: {exc}") from None
    return True


def _choose_hdu(hdus, hdu, name):
    if hdu is not None:
        if isinstance(hdu, str) and not hdu.lstrip("-").isdigit():
            match = [h for h in hdus if h.name.upper() == hdu.upper()]
            if not match:
                raise ReadError(f"{name}: no HDU named {hdu!r}")
            return match[0]
        i = int(hdu)
        if not 0 <= i < len(hdus):
            raise ReadError(f"{name}: no HDU {i} (the file has {len(hdus)})")
        return hdus[i]
    for h in hdus:
        if h.kind in ("primary", "image") and h.data_size and len(h.shape) >= 3:
            if h.header.get("ZIMAGE") is True:
                continue
            return h
    raise CubeError(f"{name}: no image HDU with three or more axes (a cube) in the file")


def _row_blocks(y0: int, y1: int, values_per_row: int, budget_bytes: int = 64 * 2**20):
    """(row range, index) of blocks of rows holding at most ``budget_bytes`` of float64."""
    step = max(1, budget_bytes // (8 * max(values_per_row, 1)))
    for k, a in enumerate(range(y0, y1, step)):
        yield (a, min(a + step, y1)), k


__all__ = ["CLI_HINT", "Cube", "CubeError", "convert_frame"]
