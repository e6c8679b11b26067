#!/usr/bin/env python3
"""Identification and fit speed in the browser app, next to CPython on the same inputs.

    .venv/bin/python benchmarks/identify_fit_speed_browser.py [--site site] [--repeats 3]

The two cases of ``identify_fit_speed.py``, made the same way (same seeds):

1. identify: a 500,000-channel spectrum (85-115 GHz, 6 species made with the LTE model + noise)
   identified against the whole bundled database (T_ex 40 K, FWHM 3 km/s);
2. fit: 3 components x (T_ex, FWHM, v_lsr, 4 N) = 21 free parameters, 10 lines, 4000 channels.

Each spectrum is written as a FITS file, served on the site's origin (a Playwright route),
loaded with ``cassisLite.loadSpectrum`` and analysed with ``cassisLite.identify`` /
``cassisLite.fit`` in the built site (``make site``) in headless Chromium (Debian's), timed in
the page from the call to the resolved Promise: the worker's Python (Pyodide) running the core,
plus the candidate table, the JSON answer and the redraw (the fit's model becomes the live
model). The first identify also downloads and imports SciPy (lazy). Reference, same process:
CPython running the same request path (``cassis_lite.analysis.requests``, what the app calls) and the bare core call
(``identify_spectrum`` / ``fit_lte``). Medians of ``--repeats`` calls after the first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as identify_fit_speed.py: Pyodide is single-threaded

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _browser import ARGS, CHROMIUM  # noqa: E402

IDENTIFY_OPTIONS = {"tex_k": 40.0, "fwhm_kms": 3.0, "vlsr_kms": 0.0}


def fits_bytes(f, y, name) -> bytes:
    from cassis_lite.readers import write_fits
    from cassis_lite.spectrum import Spectrum

    return write_fits(Spectrum.from_axis(f, y, x_unit="MHz", y_unit="K", name=name))


def timed(fn, repeats):
    first_t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - first_t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times), out


CALL_JS = """
async ([method, arg, repeats]) => {
  const times = [];
  let out = null;
  for (let k = 0; k < repeats + 1; k++) {
    const t0 = performance.now();
    out = await window.cassisLite[method](arg);
    times.push(performance.now() - t0);
  }
  return {times, out};
}
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not (args.site / "site-lock.json").exists():
        raise SystemExit(f"{args.site}: not built (make site)")

    from playwright.sync_api import sync_playwright

    from cassis_lite.analysis.identify import LteSetup, identify_spectrum
    from cassis_lite.analysis.requests import fit_request, identify_request
    from cassis_lite.app.state import Session
    from cassis_lite.commands.serve import make_server
    from cassis_lite.fitting.lte_fit import fit_lte
    from cassis_lite.readers import read_spectrum

    session = Session()
    db = session.db
    from identify_fit_speed import IDENTIFY_TRUTH, fit_case, identify_case

    fi, yi, _ = identify_case(db)
    ff, yf, fit_cfg, _ = fit_case(db)
    files = {"bench/identify500k.fits": fits_bytes(fi, yi, "identify500k"),
             "bench/fit10lines.fits": fits_bytes(ff, yf, "fit10lines")}

    # CPython: the app's path (the spectrum read back from the same FITS bytes) and the bare core
    session.load_spectrum(files["bench/identify500k.fits"], "identify500k.fits")
    cp_id = timed(lambda: identify_request(session.spectrum, db, IDENTIFY_OPTIONS)[0], args.repeats)
    sp = session.spectrum
    core_id = timed(lambda: identify_spectrum(sp.freq_mhz, sp.intensity, db, LteSetup(tex_k=40.0, fwhm_kms=3.0)),
                    args.repeats)
    session.load_spectrum(files["bench/fit10lines.fits"], "fit10lines.fits")
    cp_fit = timed(lambda: fit_request(session.spectrum, db, fit_cfg)[0], args.repeats)
    sp = session.spectrum
    core_fit = timed(lambda: fit_lte(sp.freq_mhz, sp.intensity, fit_cfg, db, vlsr_file_kms=sp.vlsr_kms),
                     args.repeats)
    assert read_spectrum(files["bench/fit10lines.fits"]).freq_mhz.size == ff.size

    server = make_server(args.site, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # routes do not see requests a service worker makes: no service worker here
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")
        page = context.new_page()
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        def serve(data):
            return lambda route: route.fulfill(status=200, body=data, headers={"Content-Type": "application/fits"})

        for path, data in files.items():
            page.route(base + path, serve(data))
        page.goto(base + "index.html")
        page.wait_for_function("() => document.documentElement.dataset.cassisState !== 'loading'", timeout=300_000)
        if page.evaluate("document.documentElement.dataset.cassisState") != "ready":
            raise SystemExit("the app did not start")
        scipy_before = any("scipy" in u for u in requests)
        t0 = time.perf_counter()
        print("app ready; loading the 500,000-channel spectrum", flush=True)
        page.evaluate("() => window.cassisLite.loadSpectrum('bench/identify500k.fits')")
        load_s = time.perf_counter() - t0
        br_id = page.evaluate(CALL_JS, ["identify", IDENTIFY_OPTIONS, args.repeats])
        page.evaluate("() => window.cassisLite.loadSpectrum('bench/fit10lines.fits')")
        br_fit = page.evaluate(CALL_JS, ["fit", fit_cfg, args.repeats])
        off = [u for u in requests if not u.startswith((base, "data:", "blob:"))]
        context.close()
        browser.close()
    server.shutdown()

    ms = lambda s: f"{s * 1e3:8.0f} ms"  # noqa: E731
    found_cp = sorted(s["species"] for s in cp_id[2]["species"])
    found_br = sorted(s["species"] for s in br_id["out"]["species"])
    print("== identify: 500,000 channels, 85-115 GHz, 6 species, whole database "
          f"({cp_id[2]['n_candidates']} candidate species, {cp_id[2]['n_features']} features)")
    print(f"browser, cassisLite.identify:     {ms(statistics.median(br_id['times'][1:]) / 1e3)}  "
          f"(first call {br_id['times'][0] / 1e3:.1f} s, SciPy downloaded and imported; "
          f"scipy requested before: {scipy_before})")
    print(f"CPython, same app path:           {ms(cp_id[1])}  (first call {cp_id[0]:.2f} s)")
    print(f"CPython, identify_spectrum only:  {ms(core_id[1])}")
    print(f"  species found, browser: {found_br}; CPython: {found_cp}; true: {sorted(IDENTIFY_TRUTH)}")
    print(f"  (loading the 500,000-channel FITS in the page: {load_s:.1f} s)")
    p_cp = cp_fit[2]["parameters"]
    p_br = br_fit["out"]["parameters"]
    worst = max(abs(p_br[n]["value"] - p["value"]) / abs(p["value"]) for n, p in p_cp.items())
    print("== fit: 3 components x (T_ex, FWHM, v_lsr, 4 N) = 21 free parameters, 10 lines, "
          f"{ff.size} channels ({cp_fit[2]['n_eval']} model evaluations)")
    print(f"browser, cassisLite.fit:          {ms(statistics.median(br_fit['times'][1:]) / 1e3)}  "
          f"(first call {br_fit['times'][0] / 1e3:.2f} s; includes the fitted model becoming the live model)")
    print(f"CPython, same app path:           {ms(cp_fit[1])}")
    print(f"CPython, fit_lte only:            {ms(core_fit[1])}")
    print(f"  largest relative difference of the fitted values, browser vs CPython: {worst:.1e}")
    print(f"off-origin requests: {len(off)}")
    print(f"identify_browser_s: {statistics.median(br_id['times'][1:]) / 1e3:.2f}")
    print(f"fit_browser_s: {statistics.median(br_fit['times'][1:]) / 1e3:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
