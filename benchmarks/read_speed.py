"""Reading speed and peak memory: cassis_lite.readers (pure NumPy) vs astropy.io.fits, same files.

Files (written once into a temporary directory, data streamed so the writer never holds them):
  spectrum  a 1,000,000-channel float32 FITS spectrum (CTYPE1 FREQ, 3.8 MB);
  cube      a 200 MB float32 cube, 800 channels x 256 x 256 pixels (CTYPE3 VRAD, RESTFRQ).
Cases (each in its own child process, so peak RSS is its own):
  spectrum/path     read_spectrum(path) vs fits.open + data + WCS axis -> frequency (MHz, float64)
  spectrum/bytes    the same from bytes in memory (the browser's path; astropy from BytesIO)
  cube pixel/path   the spectrum at the central pixel (ours: memory map; astropy: memmap=True)
  cube mean/path    the mean spectrum over all 256 x 256 pixels (ours: chunked; astropy: np.nanmean
                    on its memmap)
  cube pixel/bytes  the central-pixel spectrum from the 200 MB held as bytes (browser path)
Time: best of 3 runs in the child, files in the page cache. Memory: tracemalloc peak (NumPy
allocations) and the rise of the child's peak RSS (ru_maxrss) over its baseline after imports.
Every case checks that both readers return identical arrays.
Run: .venv/bin/python benchmarks/read_speed.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np

N_SPEC = 1_000_000
CUBE = (800, 256, 256)  # (channels, y, x): 800 * 256 * 256 * 4 bytes = 209.7 MB


def write_files(folder: str) -> tuple[str, str]:
    from astropy.io import fits

    spec = os.path.join(folder, "spectrum_1M.fits")
    rng = np.random.default_rng(0)
    data = rng.normal(size=N_SPEC).astype(np.float32)
    hdu = fits.PrimaryHDU(data)
    hdu.header.update({"CTYPE1": "FREQ", "CUNIT1": "Hz", "CRVAL1": 230e9, "CDELT1": 1e4, "CRPIX1": 1.0,
                       "BUNIT": "K", "RESTFRQ": 230.538e9})
    hdu.writeto(spec, overwrite=True)

    cube = os.path.join(folder, "cube_200MB.fits")
    nz, ny, nx = CUBE
    h = fits.Header()
    h.update({"SIMPLE": True, "BITPIX": -32, "NAXIS": 3, "NAXIS1": nx, "NAXIS2": ny, "NAXIS3": nz,
              "CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN", "CTYPE3": "VRAD", "CUNIT3": "m/s",
              "CRVAL3": 0.0, "CDELT3": 250.0, "CRPIX3": nz / 2, "RESTFRQ": 345.796e9, "BUNIT": "Jy/beam",
              "BMAJ": 1e-4, "BMIN": 8e-5})
    with open(cube, "wb") as fh:
        fh.write(h.tostring().encode())
        for k in range(nz):  # one plane at a time
            plane = rng.normal(size=(ny, nx)).astype(">f4")
            fh.write(plane.tobytes())
        size = fh.tell()
        fh.write(b"\x00" * (-size % 2880))
    return spec, cube


# --- one case, run in a child process ---------------------------------------------------------

def _ours(case: str, path: str):
    from cassis_lite.readers import read_spectrum

    if case == "spectrum/path":
        sp = read_spectrum(path)
    elif case == "spectrum/bytes":
        with open(path, "rb") as fh:
            sp = read_spectrum(fh.read(), name="spectrum.fits")
    elif case == "cube pixel/path":
        sp = read_spectrum(path, pixel=(CUBE[2] // 2, CUBE[1] // 2))
    elif case == "cube mean/path":
        sp = read_spectrum(path, region=(0, CUBE[2], 0, CUBE[1]))
    elif case == "cube pixel/bytes":
        with open(path, "rb") as fh:
            sp = read_spectrum(fh.read(), name="cube.fits", pixel=(CUBE[2] // 2, CUBE[1] // 2))
    else:
        raise ValueError(case)
    order = np.argsort(sp.freq_mhz)  # already ascending: identity
    return sp.freq_mhz[order], sp.intensity[order]


def _astropy(case: str, path: str):
    import io

    import astropy.units as u
    from astropy.io import fits
    from astropy.wcs import WCS

    def axis(header, n):
        w = WCS(header).spectral
        x = w.pixel_to_world_values(np.arange(n))
        if header.get("CTYPE3", "").startswith("VRAD"):
            x = (x * u.m / u.s).to_value(u.MHz, u.doppler_radio(header["RESTFRQ"] * u.Hz))
        else:
            x = x / 1e6
        return x

    if case.startswith("spectrum"):
        if case.endswith("bytes"):
            with open(path, "rb") as fh:
                hdul = fits.open(io.BytesIO(fh.read()))
        else:
            hdul = fits.open(path)
        with hdul:
            h = hdul[0].header
            y = hdul[0].data.astype(np.float64)
            x = axis(h, h["NAXIS1"])
    else:
        if case.endswith("bytes"):
            with open(path, "rb") as fh:
                hdul = fits.open(io.BytesIO(fh.read()))
        else:
            hdul = fits.open(path, memmap=True)
        with hdul:
            h = hdul[0].header
            d = hdul[0].data
            if "mean" in case:
                y = np.nanmean(d, axis=(1, 2), dtype=np.float64)
            else:
                y = d[:, CUBE[1] // 2, CUBE[2] // 2].astype(np.float64)
            x = axis(h, h["NAXIS3"])
    order = np.argsort(x)
    return x[order], y[order]


def child(reader: str, case: str, path: str) -> None:
    import astropy.io.fits  # noqa: F401  (imports outside the measurement, for both readers)
    import astropy.wcs  # noqa: F401

    import cassis_lite.readers  # noqa: F401

    fn = _ours if reader == "ours" else _astropy
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0 = time.perf_counter()
    x, y = fn(case, path)
    first = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss
    times = [first]
    for _ in range(2):
        t0 = time.perf_counter()
        fn(case, path)
        times.append(time.perf_counter() - t0)
    np.save(sys.argv[5], np.vstack([x, y]))
    print(json.dumps({"time_s": min(times), "tracemalloc_mb": peak / 1e6, "rss_rise_mb": rss / 1024}))


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        spec, cube = write_files(folder)
        print(f"files: {os.path.getsize(spec) / 1e6:.1f} MB spectrum ({N_SPEC} channels), "
              f"{os.path.getsize(cube) / 1e6:.1f} MB cube {CUBE[::-1]} (x, y, channels); "
              f"written in {time.perf_counter() - t0:.1f} s")
        cases = [("spectrum/path", spec), ("spectrum/bytes", spec), ("cube pixel/path", cube),
                 ("cube mean/path", cube), ("cube pixel/bytes", cube)]
        print(f"{'case':<18} {'reader':<8} {'time ms':>9} {'tracemalloc MB':>15} {'RSS rise MB':>12}  same arrays")
        for case, path in cases:
            out = {}
            for reader in ("ours", "astropy"):
                npy = os.path.join(folder, f"{reader}.npy")
                proc = subprocess.run([sys.executable, __file__, "--child", reader, case, path, npy],
                                      capture_output=True, text=True)
                if proc.returncode:
                    print(proc.stderr)
                    raise SystemExit(1)
                out[reader] = (json.loads(proc.stdout.strip().splitlines()[-1]), np.load(npy))
            xo, yo = out["ours"][1]
            xa, ya = out["astropy"][1]
            same_y = np.array_equal(yo, ya, equal_nan=True) if "mean" not in case else \
                np.allclose(yo, ya, rtol=1e-12, equal_nan=True)
            same_x = np.allclose(xo, xa, rtol=1e-13)
            for reader in ("ours", "astropy"):
                r = out[reader][0]
                tag = ("yes" if same_x and same_y else "NO") if reader == "ours" else ""
                print(f"{case:<18} {reader:<8} {r['time_s'] * 1e3:>9.1f} {r['tracemalloc_mb']:>15.1f} "
                      f"{r['rss_rise_mb']:>12.1f}  {tag}")
            if not (same_x and same_y):
                raise SystemExit(f"{case}: readers disagree")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
