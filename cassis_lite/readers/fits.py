"""FITS spectra: 1-D images with a spectral WCS, binary tables, separate FLUX/ERROR/WAVE
HDUs, and 3-D cubes (spectrum at a pixel or mean over a region).

Spectral WCS (Greisen et al. 2006, A&A 446, 747): the value at 1-based pixel p is
x = CRVAL + CDELT (p - CRPIX) (CDELT from CDi_i, or CDELTi * PCi_i); ``-LOG`` axes are
x = CRVAL exp(CDELT (p - CRPIX) / CRVAL); IRAF ``LINEAR`` axes with DC-FLAG = 1 hold
log10(wavelength / Angstrom). Rest frequency from RESTFRQ / RESTFREQ (Hz) or RESTWAV (m);
source velocity from VELO-LSR (m/s, CLASS), redshift from ZSOURCE / REDSHIFT. GILDAS CLASS
frequency axes are offsets from RESTFREQ (CRVAL1 = 0): recognised by CLASS's DELTAV / IMAGFREQ /
VELO-LSR keywords and added back.
"""

from __future__ import annotations

import numpy as np

from cassis_lite import units
from cassis_lite.constants import C_LIGHT
from cassis_lite.readers import fits_format as ff
from cassis_lite.readers.registry import Reader, ReadError, TooLargeError, register
from cassis_lite.spectrum import Spectrum

# CTYPE prefix -> (kind, default unit, velocity convention)
_CTYPES = {
    "FREQ": ("frequency", "Hz", None), "ENER": (None, None, None),
    "WAVE": ("wavelength", "m", None), "AWAV": ("wavelength", "m", None),
    "WAVN": ("wavenumber", "m-1", None),
    "VRAD": ("velocity", "m/s", "radio"), "VOPT": ("velocity", "m/s", "optical"),
    "VELO": ("velocity", "m/s", "relativistic"), "FELO": ("velocity", "m/s", "optical"),
    "VELOCITY": ("velocity", "m/s", "radio"), "LAMBDA": ("wavelength", "Angstrom", None),
    "LINEAR": ("wavelength", "Angstrom", None), "WAVELENGTH": ("wavelength", "Angstrom", None),
}

# binary-table column names, in order of preference
AXIS_NAMES = (
    ("frequency", ("FREQ", "FREQUENCY", "NU", "FREQ_MHZ", "FREQUENCY_MHZ", "FREQ_GHZ", "FREQ_HZ")),
    ("wavelength", ("WAVE", "WAVELENGTH", "LAMBDA", "LAM", "WAVELENGTHS", "WAVELEN", "WAVE_AIR",
                    "LOGLAM", "LOGLAMBDA")),
    ("wavenumber", ("WAVENUMBER", "WAVN", "SIGMA_CM")),
    ("velocity", ("VRAD", "VELO", "VELOCITY", "VLSR", "VELO-LSR", "VELO_LSR", "VOPT", "VHELIO", "VHEL")),
)
FLUX_NAMES = ("FLUX", "INTENSITY", "FLUXDENS", "FLUX_DENSITY", "FLUXDENSITY", "SPEC", "SPECTRUM",
              "TMB", "T_MB", "TA", "TA*", "TANT", "TB", "T", "DATA", "SIGNAL", "FLAM", "FNU",
              "FLUX_TELL_CORR", "Y", "COUNTS")
ERROR_NAMES = ("ERROR", "ERR", "ERR_FLUX", "FLUX_ERR", "FLUX_ERROR", "SIGMA", "SIG", "UNCERTAINTY",
               "NOISE", "STAT_ERR", "ERRORS", "ERR_INTENSITY", "IVAR")


def sniff(head: bytes, name: str) -> bool:
    return head.startswith(b"SIMPLE  =")


def _num(value):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _header_value(headers, *keys):
    for h in headers:
        for k in keys:
            v = h.get(k)
            if v is not None and v != "":
                return v
    return None


def source_info(headers) -> dict:
    """Rest frequency, v_lsr, redshift, beam, telescope, units from one or more headers
    (the HDU's own first, then the primary's)."""
    rest = _num(_header_value(headers, "RESTFRQ", "RESTFREQ", "FREQ0"))
    rest_mhz = rest / 1e6 if rest and rest > 0 else None
    if rest_mhz is None:
        restwav = _num(_header_value(headers, "RESTWAV", "RESTWAVE"))
        if restwav and restwav > 0:
            rest_mhz = C_LIGHT / restwav / 1e6
    vlsr = _num(_header_value(headers, "VELO-LSR", "VELO_LSR"))  # m/s (CLASS)
    z = _num(_header_value(headers, "ZSOURCE", "REDSHIFT", "Z"))
    bmaj = _num(_header_value(headers, "BMAJ"))
    bmin = _num(_header_value(headers, "BMIN"))
    beam = None
    if bmaj and bmaj > 0:
        beam = (bmaj * 3600.0, (bmin if bmin and bmin > 0 else bmaj) * 3600.0)
    tel = _header_value(headers, "TELESCOP")
    return {
        "rest_freq_mhz": rest_mhz,
        "vlsr_kms": vlsr / 1e3 if vlsr is not None else 0.0,
        "redshift": z or 0.0,
        "beam_arcsec": beam,
        "telescope": str(tel).strip() if tel else None,
    }


def _meta(headers, hdu: ff.HDU) -> dict:
    keep = ("OBJECT", "TELESCOP", "INSTRUME", "DATE-OBS", "SPECSYS", "SSYSOBS", "VELREF",
            "RA", "DEC", "CRVAL1", "CRVAL2", "EQUINOX", "LINE", "ORIGIN", "BUNIT")
    meta = {"hdu": hdu.index, "hdu_name": hdu.name, "header": dict(hdu.header.cards)}
    for h in reversed(headers):
        for k in keep:
            if k in h.cards and isinstance(h.cards[k], (str, int, float)):
                meta[k.lower()] = h.cards[k]
    return meta


def spectral_axis(header: ff.Header, n_axes: int):
    """(axis number 1..n, kind, unit, convention, log_kind) of the spectral WCS axis or None."""
    for i in range(1, n_axes + 1):
        ctype = str(header.get(f"CTYPE{i}", "") or "").strip().upper()
        if not ctype:
            continue
        base = ctype.split("-")[0] if not ctype.startswith("VELO-") and not ctype.startswith("FELO-") else ctype[:4]
        if ctype in _CTYPES:
            base = ctype
        if base not in _CTYPES or _CTYPES[base][0] is None:
            continue
        kind, unit, conv = _CTYPES[base]
        cunit = str(header.get(f"CUNIT{i}", "") or "").strip()
        if base in ("VELO", "FELO") and ctype[4:5] == "-":
            # AIPS convention VELO-LSR / FELO-HEL: VELREF > 256 means radio
            velref = header.get("VELREF")
            conv = "optical" if base == "FELO" else (
                "optical" if isinstance(velref, int) and 0 < velref < 256 else "radio")
        log = None
        if ctype.endswith("-LOG"):
            log = "ln"
        elif base == "LINEAR" and header.get("DC-FLAG") == 1:
            log = "log10"
        return i, kind, cunit or unit, conv, log, not cunit
    return None


def axis_values(header: ff.Header, axis: int, n: int, log: str | None) -> np.ndarray:
    """World values of pixels 1..n along FITS axis ``axis`` (linear, -LOG or IRAF log10)."""
    crval = _num(header.get(f"CRVAL{axis}", 0.0))
    crpix = _num(header.get(f"CRPIX{axis}", 1.0))
    cd = _num(header.get(f"CD{axis}_{axis}"))
    if cd is None:
        cdelt = _num(header.get(f"CDELT{axis}", 1.0))
        pc = _num(header.get(f"PC{axis}_{axis}", 1.0))
        if cdelt is None or pc is None:
            raise ReadError("CDELT/PC of the spectral axis is not a number")
        cd = cdelt * pc
    if crval is None or crpix is None:
        raise ReadError("CRVAL/CRPIX of the spectral axis is not a number")
    offset = cd * (np.arange(1, n + 1, dtype=np.float64) - crpix)
    if log == "ln":
        return crval * np.exp(offset / crval)
    x = crval + offset
    if log == "log10":
        return 10.0 ** x
    return x


def _guess_unit(kind: str, values: np.ndarray) -> str:
    """Unit of a table axis without TUNIT: frequencies by magnitude, wavelengths Angstrom."""
    med = float(np.nanmedian(np.abs(values))) if values.size else 0.0
    if kind == "frequency":
        return "Hz" if med > 1e8 else ("GHz" if med < 1e4 else "MHz")
    if kind == "velocity":
        return "m/s" if med > 3e4 else "km/s"
    if kind == "wavenumber":
        return "cm-1"
    return "Angstrom"


# --- images and cubes ------------------------------------------------------------------------

def _read_image(buf, hdu: ff.HDU, headers, label, pixel, region, max_bytes, in_memory):
    h = hdu.header
    shape = hdu.shape  # numpy order
    n_axes = len(shape)
    found = spectral_axis(h, n_axes)
    big = [ax for ax in range(1, n_axes + 1) if shape[n_axes - ax] > 1]
    if found is None:
        if n_axes and len(big) == 1:
            raise ReadError(f"HDU {hdu.index} is a 1-D array without a spectral axis "
                            "(no CTYPE1 of FREQ, VRAD, VELO, WAVE, AWAV, WAVN or LINEAR)")
        raise ReadError(f"HDU {hdu.index} (shape {shape}) has no spectral axis in its WCS")
    axis, kind, unit, conv, log, assumed = found
    nspec = int(h.get(f"NAXIS{axis}"))
    spatial = [ax for ax in big if ax != axis]
    info = source_info(headers)
    raw = ff.image_array(hdu, buf)
    spec_np_axis = n_axes - axis
    meta = _meta(headers, hdu)
    if assumed:
        meta["assumed_x_unit"] = unit
    if len(spatial) > 2:
        raise ReadError(f"HDU {hdu.index} has {len(spatial)} non-degenerate non-spectral axes; "
                        "only spectra and cubes (2 spatial axes) are supported")
    if spatial:
        # cube: spectrum at a pixel (default: the central one) or the mean over a region
        cube_shape = list(shape)
        meta["cube_shape"] = cube_shape
        sx, sy = (spatial + [None])[:2]
        nx = shape[n_axes - sx]
        ny = shape[n_axes - sy] if sy else 1
        index = [0] * n_axes
        index[spec_np_axis] = slice(None)
        if region is not None:
            x0, x1, y0, y1 = (int(v) for v in region)
            if not (0 <= x0 < x1 <= nx and 0 <= y0 < y1 <= ny):
                raise ReadError(f"region {tuple(region)} is outside the cube's {nx} x {ny} pixels")
            index[n_axes - sx] = slice(x0, x1)
            if sy:
                index[n_axes - sy] = slice(y0, y1)
            sub = raw[tuple(index)]
            intensity = _chunked_nanmean(sub, spec_np_axis if spec_np_axis < sub.ndim else 0, h)
            meta["region"] = [x0, x1, y0, y1]
        else:
            px, py = (nx // 2, ny // 2) if pixel is None else (int(pixel[0]), int(pixel[1]))
            if not (0 <= px < nx and 0 <= py < ny):
                raise ReadError(f"pixel ({px}, {py}) is outside the cube's {nx} x {ny} pixels")
            index[n_axes - sx] = px
            if sy:
                index[n_axes - sy] = py
            intensity = ff.scale_image(np.asarray(raw[tuple(index)]).ravel(), h)
            meta["pixel"] = [px, py]
            if not np.isfinite(intensity).any():
                raise ReadError(f"pixel ({px}, {py}) of the {nx} x {ny} cube is blank (all NaN): "
                                "choose another pixel or a region")
    else:
        if pixel is not None or region is not None:
            raise ReadError(f"HDU {hdu.index} is a single spectrum, not a cube: pixel/region do not apply")
        intensity = ff.scale_image(raw.reshape(-1), h)
    x = axis_values(h, axis, nspec, log)
    if log == "log10":
        meta["axis_log10"] = True
    if kind == "velocity" and not info["rest_freq_mhz"]:
        raise ReadError(f"velocity axis (CTYPE{axis} = {h.get(f'CTYPE{axis}')!r}) but no rest frequency "
                        "(RESTFRQ / RESTFREQ) in the header")
    if kind == "frequency" and _class_offset_axis(h, x, unit, info["rest_freq_mhz"]):
        # GILDAS CLASS writes the frequency axis as an offset from RESTFREQ (CRVAL1 = 0)
        x = x + info["rest_freq_mhz"] / units.axis_unit_kind(unit)[1]
        meta["class_offset_axis"] = True
    air = kind == "wavelength" and str(h.get(f"CTYPE{axis}", "")).strip().upper().startswith("AWAV")
    return Spectrum.from_axis(
        x, intensity, x_unit=unit, rest_freq_mhz=info["rest_freq_mhz"], velocity_convention=conv or "radio",
        air_wavelength=air, y_unit=units.normalise_intensity_unit(_header_value(headers, "BUNIT")),
        vlsr_kms=info["vlsr_kms"], redshift=info["redshift"], beam_arcsec=info["beam_arcsec"],
        telescope=info["telescope"], meta=meta, name=label, format="fits")


def _class_offset_axis(header, x, unit, rest_mhz) -> bool:
    """True for a GILDAS CLASS spectrum: FREQ axis values are offsets from RESTFREQ (all within
    1% of it from zero) and CLASS's own keywords (DELTAV, IMAGFREQ, VELO-LSR) are present."""
    if not rest_mhz or not any(k in header for k in ("DELTAV", "IMAGFREQ", "VELO-LSR")):
        return False
    x_mhz = np.abs(x) * units.axis_unit_kind(unit)[1]
    return bool(x_mhz.max() < 0.01 * rest_mhz)


#: public name (the cube reader uses it)
class_offset_axis = _class_offset_axis

#: what a refusal of a too-large cube adds: where it can be read instead
CUBE_HINT = "the command line reads cubes of any size memory-mapped: cassis-lite cube info|moments|fit FILE"


def _too_large_hint(shape) -> str:
    """'; <hint>' for an image of three or more non-degenerate axes (a cube), else ''."""
    return f"; {CUBE_HINT}" if sum(1 for d in shape if d > 1) >= 3 else ""


def _chunked_nanmean(sub: np.ndarray, spec_axis: int, header) -> np.ndarray:
    """NaN-mean over the spatial axes, converting at most ~64 MiB of the cube at a time."""
    sub = np.moveaxis(sub, spec_axis, 0)
    nspec = sub.shape[0]
    per_plane = max(1, int(np.prod(sub.shape[1:])))
    step = max(1, (64 * 2**20) // (8 * per_plane))
    out = np.empty(nspec)
    plain_float = sub.dtype.kind == "f" and header.get("BSCALE", 1.0) == 1 and header.get("BZERO", 0.0) == 0
    for start in range(0, nspec, step):
        k = min(step, nspec - start)
        if plain_float:
            # no scaling: sum the stored floats in float64 without a converted copy, unless
            # the block has blank (NaN) pixels
            raw = np.asarray(sub[start:start + step]).reshape(k, -1)
            if not np.isnan(raw).any():
                out[start:start + k] = raw.sum(axis=1, dtype=np.float64) / raw.shape[1]
                continue
        block = ff.scale_image(np.asarray(sub[start:start + step]), header).reshape(k, -1)
        good = np.isfinite(block)
        n = good.sum(axis=1)
        total = np.where(good, block, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:start + step] = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return out


# --- binary tables -----------------------------------------------------------------------------

def _find_column(cols, names):
    by_name = {c.name.upper(): c for c in cols}
    for n in names:
        if n in by_name:
            return by_name[n]
    return None


def _table_axis(cols):
    for c in cols:  # IVOA utype / UCD first
        if "spectralaxis.value" in c.utype.lower() or c.ucd.lower().startswith(("em.freq", "em.wl", "em.wavenumber")):
            return c, None
    for kind, names in AXIS_NAMES:
        c = _find_column(cols, names)
        if c is not None:
            return c, kind
    return None, None


def _read_table(buf, hdu: ff.HDU, headers, label, row=0):
    cols = [c for c in ff.table_columns(hdu) if c.code not in "AXLCM"]
    xcol, kind = _table_axis(cols)
    if xcol is None:
        raise ReadError(f"binary table in HDU {hdu.index} has no spectral column "
                        f"(columns: {', '.join(c.name for c in cols) or 'none numeric'})")
    rest = [c for c in cols if c is not xcol]
    ycol = next((c for c in rest if "fluxaxis.value" in c.utype.lower()), None) or _find_column(rest, FLUX_NAMES)
    ecol = next((c for c in rest if "fluxaxis.accuracy" in c.utype.lower()), None) or _find_column(rest, ERROR_NAMES)
    if ycol is None:
        others = [c for c in rest if c is not ecol]
        if not others:
            raise ReadError(f"binary table in HDU {hdu.index} has a spectral column {xcol.name!r} but no flux column")
        ycol = others[0]

    def values(col):
        v = ff.table_column(hdu, buf, col)
        if isinstance(v, list):
            return v[row] if len(v) > row else np.array([])
        if v.ndim == 2:
            return v[row] if v.shape[0] > row else np.array([])
        return v

    nrows = int(hdu.header.get("NAXIS2", 0))
    if nrows == 0:
        raise ReadError(f"binary table in HDU {hdu.index} has no rows")
    x, y = values(xcol), values(ycol)
    err = values(ecol) if ecol is not None else None
    meta = _meta(headers, hdu)
    meta.update({"x_column": xcol.name, "y_column": ycol.name, "n_rows": nrows})
    if ecol is not None:
        meta["error_column"] = ecol.name
        if ecol.name.upper() == "IVAR":
            with np.errstate(divide="ignore", invalid="ignore"):
                err = np.where(err > 0, 1.0 / np.sqrt(err), np.nan)
    unit = xcol.unit
    if xcol.name.upper() in ("LOGLAM", "LOGLAMBDA"):
        x = 10.0 ** x
        unit = "Angstrom"
        meta["axis_log10"] = True
    if kind is None:
        ucd = xcol.ucd.lower()
        kind = "frequency" if "freq" in ucd else "wavenumber" if "wavenumber" in ucd else "wavelength"
    if not unit:
        unit = _guess_unit(kind, x)
        meta["assumed_x_unit"] = unit
    else:
        try:
            ukind, _ = units.axis_unit_kind(unit)
        except units.UnitError:
            raise ReadError(f"column {xcol.name!r} has unknown unit {unit!r}") from None
    info = source_info(headers)
    conv = "optical" if xcol.name.upper() in ("VOPT", "VHELIO", "VHEL") else "radio"
    return Spectrum.from_axis(
        x, y, x_unit=unit, uncertainty=err, rest_freq_mhz=info["rest_freq_mhz"], velocity_convention=conv,
        y_unit=units.normalise_intensity_unit(ycol.unit or _header_value(headers, "BUNIT")),
        vlsr_kms=info["vlsr_kms"], redshift=info["redshift"], beam_arcsec=info["beam_arcsec"],
        telescope=info["telescope"], meta=meta, name=label, format="fits")


# --- separate FLUX / ERROR / WAVELENGTH image HDUs (linetools, some pipelines) ----------------

def _read_split(buf, hdus, headers, label):
    by = {h.name.upper(): h for h in hdus if h.kind in ("primary", "image") and h.shape}
    wave = by.get("WAVELENGTH") or by.get("WAVE")
    flux = by.get("FLUX") or hdus[0]
    err = by.get("ERROR") or by.get("ERR") or by.get("SIGMA")
    x = ff.scale_image(ff.image_array(wave, buf).reshape(-1), wave.header)
    y = ff.scale_image(ff.image_array(flux, buf).reshape(-1), flux.header)
    e = ff.scale_image(ff.image_array(err, buf).reshape(-1), err.header) if err else None
    unit = str(wave.header.get("BUNIT", "") or "").strip() or "Angstrom"
    meta = _meta(headers, flux)
    meta.update({"wave_hdu": wave.index})
    if not wave.header.get("BUNIT"):
        meta["assumed_x_unit"] = unit
    info = source_info(headers)
    return Spectrum.from_axis(
        x, y, x_unit=unit, uncertainty=e, rest_freq_mhz=info["rest_freq_mhz"],
        y_unit=units.normalise_intensity_unit(flux.header.get("BUNIT")), vlsr_kms=info["vlsr_kms"],
        redshift=info["redshift"], beam_arcsec=info["beam_arcsec"], telescope=info["telescope"],
        meta=meta, name=label, format="fits")


def _multi_extension_error(buf, hdus, sp: Spectrum) -> Spectrum:
    """The 1-sigma of a 1-D spectrum in the multi-extension layout of SDSS/BOSS and linetools:
    HDU 0 the flux, HDU 1 its error, HDU 2 the wavelengths, unnamed images of the same length.
    HDU 2 must be the wavelength axis of HDU 0's WCS (or its log10, to 1e-6), or nothing is
    taken. With TELESCOP 'SDSS...' HDU 1 is the inverse variance: sigma = 1 / sqrt(ivar), NaN
    where ivar <= 0 (no measurement; linetools ``readspec`` takes the same layout and
    convention, giving 0 there)."""
    n = len(sp)
    if len(hdus) < 3 or sp.x_kind != "wavelength" or any(
            h.kind != "image" or h.shape != (n,) or h.name for h in hdus[1:3]):
        return sp
    wave = ff.scale_image(ff.image_array(hdus[2], buf).reshape(-1), hdus[2].header).astype(float)
    ref = np.sort(np.asarray(sp.x_original, dtype=float))  # the WCS axis, in the file's unit
    with np.errstate(over="ignore"):
        candidates = (wave, 10.0 ** wave)
    candidate = next((c for c in candidates if np.all(np.isfinite(c))
                      and np.allclose(np.sort(c), ref, rtol=1e-6, atol=0)), None)
    if candidate is None:
        return sp
    err = ff.scale_image(ff.image_array(hdus[1], buf).reshape(-1), hdus[1].header).astype(float)
    telescope = str(hdus[0].header.get("TELESCOP", "") or "").strip().upper()
    meta = dict(sp.meta, error_hdu=1)
    if telescope.startswith("SDSS"):
        with np.errstate(divide="ignore", invalid="ignore"):
            err = np.where(err > 0, 1.0 / np.sqrt(err), np.nan)
        meta["error_from_ivar"] = True
    # the file's channel order -> the spectrum's (ascending frequency): descending wavelengths
    idx = np.argsort(-candidate, kind="stable")
    from dataclasses import replace

    return replace(sp, uncertainty=err[idx], meta=meta)


def _usable(hdu: ff.HDU) -> bool:
    if hdu.data_size == 0:
        return False
    if hdu.kind == "bintable":
        return True
    return hdu.kind in ("primary", "image")


def read(data, label: str, max_bytes: int, hdu=None, pixel=None, region=None, row=0, **_):
    in_memory = not hasattr(data, "madvise")  # bytes (browser path) rather than a memory map
    if in_memory and len(data) > max_bytes:
        hint = ""
        try:  # name the cube from its headers (no data is converted)
            images = [h for h in ff.scan(data, label) if h.data_size and h.kind in ("primary", "image")]
            hint = "".join(f" (HDU {h.index} of shape {list(h.shape)})" for h in images[:1])
            hint += _too_large_hint(images[0].shape) if images else ""
        except ff.FitsError:
            pass
        raise TooLargeError(f"{label}: file is {len(data) / 2**20:.0f} MiB, over the "
                            f"{max_bytes / 2**20:.0f} MiB limit for in-memory reading{hint}")
    try:
        hdus = ff.scan(data, label)
        headers_primary = hdus[0].header
        if hdu is not None:
            if isinstance(hdu, str) and not hdu.lstrip("-").isdigit():
                match = [h for h in hdus if h.name.upper() == hdu.upper()]
                if not match:
                    raise ReadError(f"{label}: no HDU named {hdu!r} "
                                    f"(HDUs: {', '.join(h.name or str(h.index) for h in hdus)})")
                candidates = match[:1]
            else:
                i = int(hdu)
                if not 0 <= i < len(hdus):
                    raise ReadError(f"{label}: no HDU {i} (the file has {len(hdus)})")
                candidates = [hdus[i]]
        else:
            candidates = [h for h in hdus if _usable(h)]
            if not candidates:
                raise ReadError(f"{label}: FITS file has no data (only empty HDUs)")
        names = {h.name.upper() for h in hdus}
        if hdu is None and names & {"WAVELENGTH", "WAVE"}:
            first = candidates[0]
            if first.kind in ("primary", "image") and spectral_axis(first.header, len(first.shape)) is None:
                return _read_split(data, hdus, [first.header, headers_primary], label)
        errors = []
        for h in candidates:
            headers = [h.header] if h.index == 0 else [h.header, headers_primary]
            if h.header.get("ZIMAGE") is True:
                errors.append(f"HDU {h.index} is a tile-compressed image (not supported; decompress it with funpack)")
                continue
            if h.kind == "table":
                errors.append(f"HDU {h.index} is an ASCII table (not supported)")
                continue
            if h.kind == "other":
                errors.append(f"HDU {h.index} has unsupported XTENSION {h.header.get('XTENSION')!r}")
                continue
            too_big = h.data_size > max_bytes
            if too_big and in_memory:
                raise TooLargeError(f"{label}: HDU {h.index} holds {h.data_size / 2**20:.0f} MiB of data, "
                                    f"over the {max_bytes / 2**20:.0f} MiB limit"
                                    + (_too_large_hint(h.shape) if h.kind in ("primary", "image") else ""))
            try:
                if h.kind == "bintable":
                    if pixel is not None or region is not None:
                        raise ReadError(f"HDU {h.index} is a table, not a cube: pixel/region do not apply")
                    sp = _read_table(data, h, headers, label, row=row)
                else:
                    sp = _read_image(data, h, headers, label, pixel, region, max_bytes, in_memory)
                    if h.index == 0 and sp.uncertainty is None and "cube_shape" not in sp.meta:
                        sp = _multi_extension_error(data, hdus, sp)
                cut = [x.index for x in hdus if x.data_offset + x.data_size > len(data)]
                if cut:
                    sp.meta["warnings"] = [f"file truncated: HDU {i} is incomplete" for i in cut]
                return sp
            except ReadError as exc:
                if hdu is not None or isinstance(exc, TooLargeError):
                    raise
                errors.append(str(exc))
        raise ReadError(f"{label}: no spectrum found: " + "; ".join(errors))
    except ff.FitsError as exc:
        raise ReadError(f"{label}: {exc}") from None


def probe(head: bytes, file_size: int, label: str = "<data>", max_bytes: int | None = None) -> dict:
    """Check a FITS file from its first bytes and its size, before reading it all.

    Returns ``{'hdus': [{'index', 'kind', 'name', 'shape', 'data_bytes'}]}`` for the headers
    found in ``head``; raises :class:`TooLargeError` if the file or any HDU is over
    ``max_bytes`` (default :data:`~cassis_lite.readers.registry.MAX_IN_MEMORY_BYTES`).
    """
    from cassis_lite.readers.registry import MAX_IN_MEMORY_BYTES

    limit = MAX_IN_MEMORY_BYTES if max_bytes is None else max_bytes
    out = []
    offset = 0
    while offset < len(head):
        if offset and bytes(head[offset:offset + 10]) != b"XTENSION= ":
            break
        try:
            header, data_offset = ff.parse_header(head, offset, label)
        except ff.FitsError:
            if offset == 0:
                raise ReadError(f"{label}: the first {len(head)} bytes do not hold a complete FITS header") from None
            break
        size = ff.data_size(header)
        hdu = ff.HDU(len(out), header, offset, data_offset, size, "primary" if not out else "ext")
        out.append({"index": hdu.index, "name": hdu.name, "shape": list(hdu.shape), "data_bytes": size})
        if size > limit:
            raise TooLargeError(f"{label}: HDU {hdu.index} of shape {list(hdu.shape)} holds "
                                f"{size / 2**20:.0f} MiB, over the {limit / 2**20:.0f} MiB limit"
                                + (_too_large_hint(hdu.shape) if "TFIELDS" not in header else ""))
        if data_offset + size > file_size:
            raise ReadError(f"{label}: truncated FITS file (HDU {hdu.index} needs {data_offset + size} bytes, "
                            f"file has {file_size})")
        offset = data_offset + -(-size // ff.BLOCK) * ff.BLOCK
    if file_size > limit:
        shapes = ", ".join(f"HDU {h['index']} {h['shape']}" for h in out if h["data_bytes"])
        cube = any(_too_large_hint(h["shape"]) for h in out if h["data_bytes"])
        raise TooLargeError(f"{label}: file is {file_size / 2**20:.0f} MiB ({shapes or 'headers not in the first bytes'}), "
                            f"over the {limit / 2**20:.0f} MiB limit" + (f"; {CUBE_HINT}" if cube else ""))
    return {"hdus": out, "file_size": file_size}


register(Reader("fits", "FITS image (spectral WCS), binary table or cube", sniff, read,
                (".fits", ".fit", ".fts", ".fits.gz"), priority=10))
