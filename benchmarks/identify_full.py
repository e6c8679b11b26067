#!/usr/bin/env python3
"""Identification of a 500,000-channel ALMA spectrum against the full line catalogue (CPython).

    .venv/bin/python benchmarks/identify_full.py [--db build/full.db] [--repeats 3] [--browser [--site site]]

The spectrum (:func:`alma_case`): ALMA band 6, four spectral windows of 2 GHz at 15.625 kHz
(125,000 channels each, 500,000 in all) at 216.8-218.8, 218.9-220.9, 231.0-233.0 and
233.1-235.1 GHz (two sidebands 10 GHz apart), the LTE model (``compute_spectrum`` on the full
catalogue) of ten species of a hot core at T_ex 100 K, FWHM 3 km/s, plus Gaussian noise of
20 mK. ``identify_spectrum`` (T_ex 100 K, FWHM 3 km/s) against the whole full catalogue, timed
(first call: SciPy imported; then the median of ``--repeats`` on a fresh connection), with the
bytes SQLite read from the file on that fresh connection (/proc/self/io ``rchar``: SQLite reads
one page per pread) and the peak Python heap (tracemalloc: NumPy's arrays included), and the
app's request path once (``identify_request``: plus the candidate table of every feature);
beside it, in the same process, the same spectrum
against the bundled database (the reference) and one ``compute_spectrum`` of the true species.

``--browser``: the same in the built site (``make site``) in headless Chromium (Debian's), served
on localhost by ``cassis-lite serve``'s server from a temporary copy of the site (hard links) with
the spectrum as FITS beside it and the catalogue as its ``db/full.db``: ``loadSpectrum``, then
``cassisLite.identify({tex_k, fwhm_kms, vlsr_kms})`` with the bundled database in use (the first
call downloads and imports SciPy; then the reference, median of ``--repeats``) and with the full
catalogue (``useDatabase("full")``, read by range through the lazy file, 16 KiB chunks): the
first call on the fresh open (its bytes and requests: the lazy file's counters) and the median of
``--repeats`` more (chunks cached). Times from the call to the resolved Promise in the page (the
worker's Python, the candidate table of every feature, the JSON answer, the redraw). Memory: the
worker's WebAssembly memory (Pyodide's heap; it grows and never shrinks, so it is the peak) after
each stage.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as identify_fit_speed.py: Pyodide is single-threaded

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _browser import ARGS, CHROMIUM, rchar  # noqa: E402

#: four 2 GHz windows of 125,000 channels (MHz, first channel)
WINDOWS_START_MHZ = (216800.0, 218900.0, 231000.0, 233100.0)
CHANNEL_MHZ = 0.015625
CHANNELS = 125_000
TEX_K, FWHM_KMS, RMS_K = 100.0, 3.0, 0.02
#: a hot core's lines in band 6 (names of the full catalogue; each has a partition function)
TRUTH = {"CH3OH, vt=0-2": 1e17, "SO": 1e15, "OCS": 1e16, "H2CO": 3e14, "13CO": 1e17, "C18O": 3e16,
         "HNCO v=0": 1e15, "CH3CN": 1e15, "HC3N": 1e14, "(CH3)2CO v=0": 3e15}


def alma_axis() -> np.ndarray:
    return np.concatenate([f0 + CHANNEL_MHZ * np.arange(CHANNELS) for f0 in WINDOWS_START_MHZ])


def alma_case(db, seed: int = 0):
    """(freq_mhz, intensity K, seconds of the one LTE model that made it)."""
    from cassis_lite.lte import compute_spectrum

    f = alma_axis()
    cfg = {"components": [{"name": "hot core", "tex_k": TEX_K, "fwhm_kms": FWHM_KMS, "vlsr_kms": 0.0,
                           "species": [{"species": k, "ntot_cm2": v} for k, v in TRUTH.items()]}]}
    t0 = time.perf_counter()
    y = compute_spectrum(cfg, f, db).intensity
    t_model = time.perf_counter() - t0
    return f, y + np.random.default_rng(seed).normal(0.0, RMS_K, f.size), t_model


def identify_run(f, y, path, repeats: int):
    """First call (SciPy imported), then on a fresh connection: the bytes that call read and its
    peak heap, then the median of ``repeats`` more calls. Also the app's request path (with the
    candidate table of every feature) once."""
    from cassis_lite.analysis.identify import LteSetup, identify_spectrum
    from cassis_lite.analysis.requests import identify_request
    from cassis_lite.linedb import LineDatabase
    from cassis_lite.spectrum import Spectrum

    setup = LteSetup(tex_k=TEX_K, fwhm_kms=FWHM_KMS)
    with LineDatabase(path, immutable=True) as db:
        t0 = time.perf_counter()
        identify_spectrum(f, y, db, setup)
        first = time.perf_counter() - t0
    db = LineDatabase(path, immutable=True)
    r0 = rchar()
    tracemalloc.start()
    t0 = time.perf_counter()
    res = identify_spectrum(f, y, db, setup)
    fresh = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    nbytes = rchar() - r0
    times = [fresh]
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        identify_spectrum(f, y, db, setup)
        times.append(time.perf_counter() - t0)
    sp = Spectrum.from_axis(f, y, x_unit="MHz", y_unit="K", name="alma500k")
    t0 = time.perf_counter()
    identify_request(sp, db, {"tex_k": TEX_K, "fwhm_kms": FWHM_KMS, "vlsr_kms": 0.0})
    app = time.perf_counter() - t0
    db.close()
    return first, statistics.median(times), res, nbytes, peak, app


CALL_JS = """
async ([arg, repeats]) => {
  const times = [];
  let out = null;
  for (let k = 0; k < repeats; k++) {
    const t0 = performance.now();
    out = await window.cassisLite.identify(arg);
    times.push((performance.now() - t0) / 1000);
  }
  return {times, species: out.species.map((s) => s.species), n_features: out.n_features,
          n_candidates: out.n_candidates};
}
"""


def browser_run(site: Path, db_path: Path, f, y, repeats: int) -> None:
    import shutil
    import tempfile
    import threading

    from playwright.sync_api import sync_playwright

    from cassis_lite.commands.serve import make_server
    from cassis_lite.readers import write_fits
    from cassis_lite.spectrum import Spectrum

    work = Path(tempfile.mkdtemp(prefix="cassis-identify-full-"))
    try:
        root = work / "site"
        shutil.copytree(site, root, copy_function=os.link)
        target = root / "db" / "full.db"
        target.parent.mkdir(exist_ok=True)
        target.unlink(missing_ok=True)  # a hard link of the built site's: replace it, never write through it
        os.link(db_path, target)
        (root / "bench").mkdir()
        (root / "bench" / "alma500k.fits").write_bytes(
            write_fits(Spectrum.from_axis(f, y, x_unit="MHz", y_unit="K", name="alma500k")))
        server = make_server(root, "127.0.0.1", 0, quiet=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        opts = {"tex_k": TEX_K, "fwhm_kms": FWHM_KMS, "vlsr_kms": 0.0}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(url)
            page.wait_for_function("() => document.documentElement.dataset.cassisState !== 'loading'",
                                   timeout=300_000)
            assert page.evaluate("document.documentElement.dataset.cassisState") == "ready"
            page.wait_for_function("() => window.cassisLite.getState().then((s) => "
                                   "s.database.available.includes('full'))", timeout=60_000)
            worker = next(w for w in page.workers if w.url.split("?")[0].endswith("/worker.js"))

            def heap_mb():
                return worker.evaluate("pyodide._module.HEAP8.length") / 2**20

            def reads():
                return page.evaluate("window.cassisLite.getState()")["database"].get("reads") or {}

            t0 = time.perf_counter()
            page.evaluate("() => window.cassisLite.loadSpectrum('bench/alma500k.fits')")
            print(f"browser: spectrum loaded in {time.perf_counter() - t0:.1f} s; worker memory {heap_mb():.0f} MiB",
                  flush=True)
            first = page.evaluate(CALL_JS, [opts, 1])
            ref = page.evaluate(CALL_JS, [opts, repeats])
            mem_ref = heap_mb()
            print(f"browser, bundled: first {first['times'][0]:.2f} s (SciPy downloaded and imported), median "
                  f"{statistics.median(ref['times']):.2f} s of {ref['times']}; {ref['n_candidates']} candidates; "
                  f"found {', '.join(ref['species'])}; worker memory {mem_ref:.0f} MiB", flush=True)
            page.evaluate("() => window.cassisLite.useDatabase('full', {chunk_kb: 16, readahead: true, reopen: true})")
            r0 = reads()
            cold = page.evaluate(CALL_JS, [opts, 1])
            r1 = reads()
            warm = page.evaluate(CALL_JS, [opts, repeats])
            r2 = reads()
            mem_full = heap_mb()
            print(f"browser, full: first {cold['times'][0]:.2f} s on the fresh open, "
                  f"{(r1['bytesFetched'] - r0['bytesFetched']) / 1e6:.2f} MB in {r1['requests'] - r0['requests']} "
                  f"requests (open: {r0['bytesFetched'] / 1e6:.2f} MB in {r0['requests']}); then median "
                  f"{statistics.median(warm['times']):.2f} s of {warm['times']} "
                  f"({(r2['bytesFetched'] - r1['bytesFetched']) / 1e6:.2f} MB more); {warm['n_candidates']} "
                  f"candidates; found {', '.join(warm['species'])}; worker memory {mem_full:.0f} MiB", flush=True)
            import re

            page.locator(".bk-tab").filter(has_text=re.compile("^Identify$")).first.click()
            page.wait_for_timeout(1500)
            (ROOT / "test-artifacts").mkdir(exist_ok=True)
            page.screenshot(path=str(ROOT / "test-artifacts" / "identify_full_desktop.png"))
            print("screenshot: test-artifacts/identify_full_desktop.png (the Identify card's answer)")
            browser.close()
        server.shutdown()
        server.server_close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    from cassis_lite.linedb import LineDatabase, default_database_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=ROOT / "build" / "full.db")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--browser", action="store_true", help="also in the built site in headless Chromium")
    ap.add_argument("--site", type=Path, default=ROOT / "site")
    args = ap.parse_args(argv)
    if not args.db.is_file():
        raise SystemExit(f"{args.db}: not found (make db-full)")
    with LineDatabase(args.db, immutable=True) as full:
        f, y, t_model = alma_case(full)
    print(f"spectrum: {f.size} channels in 4 windows of 2 GHz (216.8-235.1 GHz), {len(TRUTH)} species, "
          f"noise {RMS_K * 1e3:.0f} mK; its LTE model on the full catalogue {t_model * 1e3:.0f} ms")
    print(f"{'database':10s} {'first s':>8s} {'median s':>9s} {'app path s':>10s} {'MB read':>8s} {'heap MiB':>9s} "
          f"{'features':>8s} {'candidates':>10s}  species found")
    for label, path in (("full", args.db), ("bundled", default_database_path())):
        first, med, res, nbytes, peak, app = identify_run(f, y, path, args.repeats)
        found = res.species_names()
        print(f"{label:10s} {first:8.2f} {med:9.2f} {app:10.2f} {nbytes / 1e6:8.2f} {peak:9.0f} "
              f"{len(res.features):8d} {res.n_candidates:10d}  {', '.join(found)}", flush=True)
        if label == "full":
            true = set(TRUTH)
            print(f"{'':10s} true found {len(true & set(found))}/{len(true)}; missed: "
                  f"{sorted(true - set(found))}; others: {sorted(set(found) - true)}")
    if args.browser:
        if not (args.site / "index.html").exists():
            raise SystemExit(f"{args.site}: no built site (make site)")
        browser_run(args.site, args.db.resolve(), f, y, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
