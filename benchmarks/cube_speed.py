"""Cube speed: the LTE fit map (CPython serial, Dask 2 workers) vs pyspeckit's Cube.fiteach (one
Gaussian) on the same real cube, and moment maps of a 256 x 256 x 1000 cube.

Fit maps: pyspeckit's ``region5_hcn_crop.fits`` (Mopra HCN 1-0, 47 x 37 pixels x 352 channels;
tests/cube_data.py fetches it from the pinned pyspeckit sdist). Ours: the `cassis-lite fit` JSON
of tests/cube_data.REGION5_FIT (one LTE component: N, FWHM, v_lsr free, T_ex fixed; windows
-25..15 km/s, robust rms per pixel), S/N >= 3, blocks of 16 x 16 pixels; with 1e-6 relative
errors per parameter and the reduced chi-square. pyspeckit: ``Cube.fiteach(fittype="gaussian")``
(amplitude, centre, width bounded alike, errmap the rms of the line-free channels, one core) on
the pixels ours fitted (``maskmap``; ``--pyspeckit-pixels N`` of them, default 150: pyspeckit
runs at a few pixels per second). Wall time and CPU time (of this process; for Dask, of the
tasks on the 2 worker processes of 1 thread each; cluster start-up not counted, shown apart):
"pixels per CPU second" is the per-core figure, which the load of the shared 2-core machine
affects least. Browser: the built site (``--site``, default site/) in headless Chromium, the cube
opened through the page's file picker, ``cassisLite.fitCube(REGION5_FIT, {snr, block})``: the
same fit in Pyodide in the Web Worker (one thread: its CPU time is its wall time, ``seconds`` of
the answer), the maps compared with the serial run's.

Moments: a 256 x 256 x 1000 float32 cube (262 MB) on disk, memory-mapped, MOM0/1/2 + PEAK over
all channels and over 100 channels, best of 3; beside it the same maps with astropy.io.fits
(memmap) + NumPy over the whole cube in memory; peak Python heap (tracemalloc, measured in a
run of its own: it slows allocations down) of each.

The last lines are ``fit_speedup_per_core: <ours / pyspeckit pixels per CPU second>`` (target >= 10)
and ``moments_256x256x1000_s: <seconds>``.
Run: .venv/bin/python benchmarks/cube_speed.py [--pyspeckit-pixels 150] [--skip-dask] [--skip-browser]
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from cassis_lite.cube import Cube, CubeFitter  # noqa: E402
from cassis_lite.linedb import LineDatabase  # noqa: E402
from cube_data import REGION5_FIT, region5_cube  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001
BLOCK = 16
SNR = 3.0


def ours_serial(path, db):
    cube = Cube.open(path)
    fitter = CubeFitter(cube, REGION5_FIT, db, snr=SNR, block=BLOCK)
    t0, c0 = time.perf_counter(), time.process_time()
    maps = fitter.run()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    # the heap apart (tracemalloc slows every allocation down): the whole run again
    tracemalloc.start()
    fitter.run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return maps, dt, cpu, peak, fitter


def timed_block(*args):
    """fit_block_task on a worker, with the CPU time it took there."""
    from cassis_lite.commands.cube import fit_block_task

    c0 = time.process_time()
    res = fit_block_task(*args)
    return res, time.process_time() - c0


def ours_dask(path, db, fitter, serial_maps):
    import json

    from dask.distributed import Client

    from cassis_lite.commands.cube import fit_block_task, local_cluster

    t0 = time.perf_counter()
    cluster = local_cluster(2)  # as `cassis-lite cube fit --workers 2` starts it
    client = Client(cluster)
    startup = time.perf_counter() - t0
    text = json.dumps(REGION5_FIT)
    try:
        # warm the workers' fitters (cube opened, lines selected) on one small block each
        client.gather([client.submit(fit_block_task, str(path), None, text, str(db.path), SNR, (BLOCK, BLOCK),
                                     (0, 1, 0, 1), pure=False, workers=[w]) for w in client.scheduler_info()["workers"]])
        t0 = time.perf_counter()
        futures = [client.submit(timed_block, str(path), None, text, str(db.path), SNR, (BLOCK, BLOCK), box,
                                 pure=False) for box in fitter.blocks]
        maps = fitter.empty_maps()
        cpu = 0.0
        for res, c in client.gather(futures):
            maps.insert(res)
            cpu += c
        dt = time.perf_counter() - t0
    finally:
        client.close()
        cluster.close()
    same = all(np.array_equal(maps.arrays[k], serial_maps.arrays[k], equal_nan=True) for k in maps.arrays)
    return dt, cpu, startup, same


def ours_browser(path, site: Path, serial_maps, block=BLOCK):
    """fitCube in the page (Pyodide, in the Web Worker): (worker seconds, page round trip s,
    max relative difference to the serial maps, blank pixels the same)."""
    import json
    import threading

    from playwright.sync_api import sync_playwright

    from cassis_lite.commands.serve import make_server

    server = make_server(site, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                         args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                               "--disable-background-networking", "--disable-component-update"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(base + "index.html")
            page.wait_for_function("() => document.documentElement.dataset.cassisState === 'ready'",
                                   timeout=300_000)
            page.locator("#cl-file").set_input_files(str(path))
            for _ in range(600):  # the state resolves asynchronously: poll it
                state = page.evaluate("window.cassisLite.getState()")
                if (state.get("cube") or {}).get("pixel"):
                    break
                time.sleep(0.1)
            r = page.evaluate("""async ([config, opts]) => { const t0 = performance.now();
                const r = await window.cassisLite.fitCube(config, opts);
                r.page_s = (performance.now() - t0) / 1e3; return r; }""",
                              [json.loads(json.dumps(REGION5_FIT)), {"snr": SNR, "block": block}])
            browser.close()
    finally:
        server.shutdown()
    worst, same_blank = 0.0, True
    for name, ref in serial_maps.arrays.items():
        got = np.array([[np.nan if v is None else v for v in row] for row in r["maps"][name]], dtype=float)
        same_blank &= bool(np.array_equal(np.isnan(got), np.isnan(ref)))
        ok = np.isfinite(got) & np.isfinite(ref) & (ref != 0)
        if ok.any():
            worst = max(worst, float(np.max(np.abs(got[ok] / ref[ok] - 1.0))))
    return r["n_fitted"], r["seconds"], r["page_s"], worst, same_blank


def pyspeckit_fiteach(path, fitted_mask, n_pixels):
    import pyspeckit
    from astropy.io import fits

    h = fits.getheader(path)
    d = fits.getdata(path).astype(float)
    v = ((np.arange(d.shape[0]) + 1 - h["CRPIX3"]) * h["CDELT3"] + h["CRVAL3"]) / 1e3
    xarr = pyspeckit.units.SpectroscopicAxis(v, unit="km/s", refX=h["RESTFRQ"], refX_unit="Hz",
                                             velocity_convention="radio")
    cube = pyspeckit.Cube(cube=d, xarr=xarr)
    line_free = (v < -25) | (v > 15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rms = np.nanstd(d[line_free], axis=0)
    ys, xs = np.nonzero(fitted_mask)
    pick = np.linspace(0, ys.size - 1, min(n_pixels, ys.size)).astype(int)
    mask = np.zeros_like(fitted_mask)
    mask[ys[pick], xs[pick]] = True
    y0, x0 = ys[pick[0]], xs[pick[0]]
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube.fiteach(fittype="gaussian", guesses=[0.5, -5.0, 2.0], errmap=np.where(np.isfinite(rms), rms, 1.0),
                     signal_cut=0, multicore=1, verbose=False, maskmap=mask, start_from_point=(x0, y0),
                     limitedmin=[True, True, True], limitedmax=[False, True, True], minpars=[0, -20, 0.13],
                     maxpars=[0, 10, 8.5])
    return int(mask.sum()), time.perf_counter() - t0, time.process_time() - c0


def moments_case(tmp: Path):
    from astropy.io import fits

    nchan, ny, nx = 1000, 256, 256
    path = tmp / "big.fits"
    h = fits.Header()
    for k, v in {"SIMPLE": True, "BITPIX": -32, "NAXIS": 3, "NAXIS1": nx, "NAXIS2": ny, "NAXIS3": nchan,
                 "CTYPE1": "RA---TAN", "CRVAL1": 83.8, "CRPIX1": 128.0, "CDELT1": -1e-3,
                 "CTYPE2": "DEC--TAN", "CRVAL2": -5.4, "CRPIX2": 128.0, "CDELT2": 1e-3,
                 "CTYPE3": "VRAD", "CRVAL3": 0.0, "CRPIX3": 500.0, "CDELT3": 100.0, "CUNIT3": "m/s",
                 "RESTFRQ": 230538e6, "BUNIT": "K"}.items():
        h[k] = v
    head = h.tostring().encode("ascii")
    with open(path, "wb") as fh:
        fh.write(head)
        rng = np.random.default_rng(0)
        v = (np.arange(nchan) - 499) * 0.1
        for c in range(nchan):
            plane = rng.normal(0, 0.1, (ny, nx)).astype(np.float32) + np.float32(2.0 * np.exp(-0.5 * (v[c] / 3.0) ** 2))
            fh.write(plane.astype(">f4").tobytes())
        fh.write(b"\0" * (-fh.tell() % 2880))
    cube = Cube.open(path)
    out = {}
    for label, rng_ in (("all 1000 channels", (None, None)), ("100 channels", (-5.0, 5.0))):
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            cube.moments(*rng_)
            best = min(best, time.perf_counter() - t0)
        out[label] = (best, _heap(lambda: cube.moments(*rng_)))

    def reference():
        with fits.open(path, memmap=True) as hdul, np.errstate(invalid="ignore", divide="ignore"):
            d = hdul[0].data.astype(np.float64)
            vv = v[:, None, None]
            m0 = np.nansum(d, axis=0) * 0.1
            m1 = np.nansum(d * vv, axis=0) * 0.1 / m0
            np.sqrt(np.nansum(d * (vv - m1) ** 2, axis=0) * 0.1 / m0)
            np.nanmax(d, axis=0)

    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        reference()
        best = min(best, time.perf_counter() - t0)
    out["astropy + numpy, in memory"] = (best, _heap(reference))
    return out, cube.data_bytes


def _heap(fn) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pyspeckit-pixels", type=int, default=150)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--skip-browser", action="store_true")
    ap.add_argument("--site", type=Path, default=ROOT / "site", help="the built site (make site)")
    args = ap.parse_args()
    db = LineDatabase()
    path = region5_cube()
    maps, dt_serial, cpu_serial, heap, fitter = ours_serial(path, db)
    n = maps.n_fitted
    print(f"cube {path.name}: 47 x 37 pixels x 352 channels; {n} pixels fitted by ours (S/N >= {SNR:g}), "
          f"{len(fitter.blocks)} blocks of {BLOCK} x {BLOCK}")
    print(f"{'case':<44}{'pixels':>7}{'wall s':>8}{'pixels/s':>10}{'CPU s':>8}{'pixels/CPU s':>14}")

    def row(label, m, wall, cpu, note=""):
        print(f"{label:<44}{m:>7}{wall:>8.2f}{m / wall:>10.1f}{cpu:>8.2f}{m / cpu:>14.1f}{note}")

    row("ours, LTE (N, FWHM, v_lsr + errors), serial", n, dt_serial, cpu_serial)
    if not args.skip_dask:
        dt_dask, cpu_dask, startup, same = ours_dask(path, db, fitter, maps)
        row("ours, LTE, Dask 2 workers x 1 thread", n, dt_dask, cpu_dask,
            f"   (CPU s: on the workers; cluster start-up {startup:.1f} s; maps identical to serial: {same})")
    if not args.skip_browser:
        nb, worker_s, page_s, worst, same_blank = ours_browser(path, args.site, maps)
        row("ours, LTE, browser (Pyodide worker, 1 thread)", nb, worker_s, worker_s,
            f"   (CPU s = the worker's wall time; page round trip {page_s:.1f} s; max relative difference to "
            f"serial {worst:.1e}; same blank pixels: {same_blank})")
    fitted = np.isfinite(maps.arrays["REDCHI2"])
    m, dt_psk, cpu_psk = pyspeckit_fiteach(path, fitted, args.pyspeckit_pixels)
    row("pyspeckit Cube.fiteach, 1 Gaussian, 1 core", m, dt_psk, cpu_psk)
    print(f"peak Python heap of the serial fit (tracemalloc): {heap / 2**20:.1f} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        mom, nbytes = moments_case(Path(tmp))
    print(f"moment maps, 256 x 256 x 1000 float32 ({nbytes / 2**20:.0f} MiB on disk):")
    print(f"{'case':<44}{'time s':>9}{'heap MiB':>10}")
    for label, (t, peak) in mom.items():
        print(f"{('ours, ' if 'astropy' not in label else '') + label:<44}{t:>9.2f}{peak / 2**20:>10.1f}")
    print(f"fit_speedup_per_core: {(n / cpu_serial) / (m / cpu_psk):.0f}")
    print(f"moments_256x256x1000_s: {mom['all 1000 channels'][0]:.2f}")


if __name__ == "__main__":
    main()
