"""Cubes for the cube tests and benchmark: a real one fetched from PyPI, synthetic ones written with astropy.

- :func:`region5_cube`: pyspeckit's ``region5_hcn_crop.fits`` (Mopra HCN 1-0, 47 x 37 pixels x 352
  channels, K, VRAD, GLON/GLAT-SIN; pyspeckit 1.0.4, MIT/BSD licence), extracted from the pinned
  sdist (URL + sha256 below), cached under ``.cache/cubes`` (``$CASSIS_LITE_CACHE/cubes``).
- :func:`synthetic_ch3cn_cube`: a CH3CN J = 12-11 cube made from known parameter maps (T_ex,
  N, FWHM, v_lsr) with the one-spectrum LTE model (:func:`cassis_lite.lte.compute_spectrum`),
  Gaussian noise of known rms, a degenerate STOKES axis, and written by ``astropy.io.fits``.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import urllib.request
from pathlib import Path

import numpy as np

from paths import ROOT

PYSPECKIT_SDIST = {
    "url": "https://files.pythonhosted.org/packages/50/ce/de5c819d6fbd0cef7756e7db20093964ad6256801772440a35156906f24b/"
           "pyspeckit-1.0.4.tar.gz",
    "sha256": "78c5cae0358099a87d821d034965be7deae46366a3dc160785bccdba255a7a9d",
    "member": "pyspeckit-1.0.4/pyspeckit/tests/data/region5_hcn_crop.fits",
}
CACHE = Path(os.environ.get("CASSIS_LITE_CACHE") or ROOT / ".cache") / "cubes"


def _fetch(spec: dict, cache: Path = CACHE) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / spec["url"].rsplit("/", 1)[1]
    if not archive.exists():
        with urllib.request.urlopen(spec["url"], timeout=120) as r:
            data = r.read()
        tmp = archive.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(archive)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != spec["sha256"]:
        archive.unlink()
        raise RuntimeError(f"sha256 mismatch for {archive.name}: {digest} != {spec['sha256']}")
    return archive


def region5_cube(cache: Path = CACHE) -> Path:
    """Path of pyspeckit's region5_hcn_crop.fits (fetched and extracted once)."""
    out = cache / "region5_hcn_crop.fits"
    if not out.exists():
        archive = _fetch(PYSPECKIT_SDIST, cache)
        with tarfile.open(archive, "r:gz") as tf:
            data = tf.extractfile(PYSPECKIT_SDIST["member"]).read()
        tmp = out.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(out)
    return out


# --- synthetic CH3CN cube -----------------------------------------------------------------------

#: the fit configuration of the synthetic cube (the `cassis-lite fit` JSON)
CH3CN_FIT = {
    "telescope": None,
    "components": [{
        "name": "c1",
        "tex_k": {"value": 80.0, "min": 20.0, "max": 400.0},
        "fwhm_kms": {"value": 3.0, "min": 0.5, "max": 15.0},
        "vlsr_kms": {"value": 0.0, "min": -10.0, "max": 10.0},
        "species": [{"species": "CH3CN", "ntot_cm2": {"value": 1e14, "min": 1e11, "max": 1e18}}],
    }],
    "fit": {"rms_k": 0.05, "windows_mhz": [[220580.0, 220760.0]]},
}
RMS_K = 0.05


def truth_maps(ny: int = 10, nx: int = 12) -> dict[str, np.ndarray]:
    """Known parameter maps: T_ex, N, FWHM and v_lsr vary smoothly across the sky."""
    yy, xx = np.mgrid[0:ny, 0:nx]
    r2 = ((xx - nx / 2) / nx) ** 2 + ((yy - ny / 2) / ny) ** 2
    return {"TEX": 60.0 + 90.0 * np.exp(-r2 / 0.08),
            "NTOT_CH3CN": 10 ** (14.2 + 0.8 * np.exp(-r2 / 0.1)),
            "FWHM": 2.5 + 2.0 * xx / (nx - 1),
            "VLSR": -2.0 + 4.0 * yy / (ny - 1)}


def synthetic_ch3cn_cube(path: Path, db, ny: int = 10, nx: int = 12, seed: int = 7, faint_corner: bool = True,
                         nan_channels: bool = True) -> dict[str, np.ndarray]:
    """Write the synthetic cube to ``path`` (FREQ axis in Hz descending, RA---SIN/DEC--SIN,
    STOKES of length 1); returns the truth maps. A 2 x 2 corner holds noise only (below any
    S/N cut), and the central pixel (nx // 2, ny // 2) has a few NaN channels."""
    from astropy.io import fits

    from cassis_lite.lte import compute_spectrum

    truth = truth_maps(ny, nx)
    nchan = 420
    f0, df = 220770.0, -0.5  # MHz, descending as many radio cubes
    freq = f0 + df * np.arange(nchan)
    rng = np.random.default_rng(seed)
    data = np.empty((1, nchan, ny, nx), dtype=np.float32)
    for j in range(ny):
        for i in range(nx):
            cfg = {"telescope": None, "components": [{
                "name": "c1", "tex_k": float(truth["TEX"][j, i]), "fwhm_kms": float(truth["FWHM"][j, i]),
                "vlsr_kms": float(truth["VLSR"][j, i]),
                "species": [{"species": "CH3CN", "ntot_cm2": float(truth["NTOT_CH3CN"][j, i])}]}]}
            data[0, :, j, i] = compute_spectrum(cfg, freq, db).intensity + rng.normal(0.0, RMS_K, nchan)
    if faint_corner:
        data[0, :, :2, :2] = rng.normal(0.0, RMS_K, (nchan, 2, 2))
        for k in truth:
            truth[k][:2, :2] = np.nan
    if nan_channels:
        data[0, 100:104, ny // 2, nx // 2] = np.nan
    h = fits.Header()
    h["CTYPE1"], h["CRVAL1"], h["CRPIX1"], h["CDELT1"], h["CUNIT1"] = "RA---SIN", 266.4168, 6.5, -2.0 / 3600, "deg"
    h["CTYPE2"], h["CRVAL2"], h["CRPIX2"], h["CDELT2"], h["CUNIT2"] = "DEC--SIN", -28.9, 5.0, 2.0 / 3600, "deg"
    h["CTYPE3"], h["CRVAL3"], h["CRPIX3"], h["CDELT3"], h["CUNIT3"] = "FREQ", f0 * 1e6, 1.0, df * 1e6, "Hz"
    h["CTYPE4"], h["CRVAL4"], h["CRPIX4"], h["CDELT4"] = "STOKES", 1.0, 1.0, 1.0
    h["RADESYS"], h["EQUINOX"] = "ICRS", 2000.0
    h["RESTFRQ"] = 220747.2612e6
    h["SPECSYS"] = "LSRK"
    h["BUNIT"] = "K"
    fits.PrimaryHDU(data, h).writeto(path, overwrite=True)
    return truth


def write_cube(path: Path, data: np.ndarray, header_cards: dict) -> None:
    """A cube (NumPy order) with the given WCS keywords, written by astropy."""
    from astropy.io import fits

    h = fits.Header()
    for k, v in header_cards.items():
        h[k] = v
    fits.PrimaryHDU(np.asarray(data), h).writeto(path, overwrite=True)


def fits_bytes(data: np.ndarray, header_cards: dict) -> bytes:
    from astropy.io import fits

    h = fits.Header()
    for k, v in header_cards.items():
        h[k] = v
    buf = io.BytesIO()
    fits.PrimaryHDU(np.asarray(data), h).writeto(buf)
    return buf.getvalue()


# --- WCS test headers of wcslib (Calabretta & Greisen 2002's 1904-66 maps) ---------------------

ASTROPY_SDIST = {
    "url": "https://files.pythonhosted.org/packages/95/57/02089e6da0fc00846d309034ad74e13ebcadc67b1c5cef397ae0597473fa/"
           "astropy-8.0.2.tar.gz",
    "sha256": "e6af35823099ad6a40b57dbe5ff845f577374ea131925c9fa4b49eeab06c5310",
    "prefix": "astropy-8.0.2/astropy/wcs/tests/data/",
}


def wcslib_header(name: str, cache: Path = CACHE) -> bytes:
    """A header file of astropy's WCS tests (``maps/1904-66_TAN.hdr``: wcslib's test maps by
    M. Calabretta, 192 x 192 pixels around the south celestial pole, one per projection), from
    the pinned astropy sdist, as FITS header bytes padded to 2880."""
    out = cache / "wcs_headers" / name.replace("/", "_")
    if not out.exists():
        archive = _fetch(ASTROPY_SDIST, cache)
        with tarfile.open(archive, "r:gz") as tf:
            members = [m for m in tf.getmembers() if m.name.startswith(ASTROPY_SDIST["prefix"] + "maps/")
                       or m.name.startswith(ASTROPY_SDIST["prefix"] + "spectra/")]
            out.parent.mkdir(parents=True, exist_ok=True)
            for m in members:
                rel = m.name[len(ASTROPY_SDIST["prefix"]):]
                (out.parent / rel.replace("/", "_")).write_bytes(tf.extractfile(m).read())
    text = out.read_bytes().replace(b"\n", b"")
    cards = [text[i:i + 80] for i in range(0, len(text), 80)]
    if not any(c.startswith(b"END ") or c.rstrip() == b"END" for c in cards):
        text = b"".join(c.ljust(80) for c in cards) + b"END".ljust(80)
    return text + b" " * (-len(text) % 2880)


#: a fit of the real HCN 1-0 cube: T_ex fixed (one line), N, FWHM and v_lsr free, robust rms per pixel
REGION5_FIT = {
    "telescope": None,
    "components": [{
        "name": "c1", "tex_k": 10.0,
        "fwhm_kms": {"value": 3.0, "min": 0.3, "max": 20.0},
        "vlsr_kms": {"value": -5.0, "min": -20.0, "max": 10.0},
        "species": [{"species": "HCN", "ntot_cm2": {"value": 1e13, "min": 1e10, "max": 1e16}}],
    }],
    "fit": {"windows_kms": [-25.0, 15.0]},
}
