#!/usr/bin/env python3
"""Memory of the app over a long session, in headless Chromium at 1440 x 900.

    .venv/bin/python benchmarks/session_memory.py [--cycles 6] [--site site]

Three figures after each cycle, each once collected: Python's objects in the worker
(``cassisLite.collectGarbage()``), the worker's WebAssembly memory (Pyodide's heap: it grows to
its high-water mark and never shrinks) and the page's JS heap (after BokehJS drops the models no
root holds and V8 collects, through CDP). Cycles of:

- files: the two samples chosen in the Spectrum selector, the SDSS spectrum and pyspeckit's cube
  from the file picker, a statistics call;
- tabs: every card's tab opened in turn (Panel's dynamic tabs rebuild a card's views each time);
- idle (the reference): the page left alone for as long as a tab cycle takes.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from _browser import ARGS, CHROMIUM, DOC, wait_for  # noqa: E402

CARDS = ("Lines", "Model", "Line search", "Identify", "Fit", "v_lsr", "Rot. diagram", "Tools", "Absorption",
         "Broadening", "Map", "ALMA", "Spectra")
#: BokehJS views alive in the page (the prototype every view class derives from)
VIEW_BASE = ("(() => { let p = Object.getPrototypeOf(window.Bokeh.index.roots[0]);"
             " while (Object.getPrototypeOf(p) !== Object.prototype) p = Object.getPrototypeOf(p); return p; })()")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=6)
    ap.add_argument("--site", type=Path, default=ROOT / "site")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from cassis_lite.commands.serve import make_server
    from cube_data import region5_cube

    cube = region5_cube()
    sdss = ROOT / "tests" / "data" / "SDSSJ220248.31+123656.3.fits"
    srv = make_server(args.site, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}/"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.goto(base + "index.html")
        page.wait_for_function("() => document.documentElement.dataset.cassisState === 'ready'", timeout=300_000)
        wait_for(lambda: page.locator(".bk-tab").count() >= len(CARDS))
        cdp = context.new_cdp_session(page)
        worker = page.workers[0]

        def api(name, *a):
            return page.evaluate(f"(a) => window.cassisLite.{name}(...a)", list(a))

        def active():
            return api("getState")["spectrum"]["name"]

        def views() -> int:
            proto = cdp.send("Runtime.evaluate", {"expression": VIEW_BASE})["result"]["objectId"]
            found = cdp.send("Runtime.queryObjects", {"prototypeObjectId": proto})["objects"]["objectId"]
            return cdp.send("Runtime.callFunctionOn", {"objectId": found, "returnByValue": True,
                                                       "functionDeclaration": "function() { return this.length; }"}
                            )["result"]["value"]

        def measure() -> tuple:
            objects = api("collectGarbage")["objects"]
            page.evaluate(f"() => {DOC}._recompute_all_models()")
            cdp.send("HeapProfiler.collectGarbage")
            return (objects, worker.evaluate("() => pyodide._module.HEAP8.length") / 2**20,
                    page.evaluate("() => performance.memory.usedJSHeapSize") / 2**20, views())

        def choose(name):
            page.get_by_label("Spectrum", exact=True).first.select_option(label=name)
            wait_for(lambda: active() == name)

        def pick(path):
            page.locator("#cl-file").set_input_files(str(path))
            wait_for(lambda: active() == path.name)

        api("loadSpectrum", "samples/41505_28502_147_220GHz.txt")

        def files():
            choose("41505_28502_147_220GHz.txt")
            pick(sdss)
            pick(cube)
            choose("I16293_Synthetic_CO.lis")
            api("statistics", {})

        def tabs():
            for card in CARDS:
                page.locator(".bk-tab").filter(has_text=card).first.click()
                page.wait_for_timeout(400)

        def idle():
            page.wait_for_timeout(400 * len(CARDS))

        print(f"{'cycle':>14} {'Python objects':>15} {'wasm MB':>8} {'JS heap MB':>11} {'JS views':>9}")
        for kind, step in (("files", files), ("tabs", tabs), ("idle (ref.)", idle)):
            m = measure()
            print(f"{kind + ' 0':>14} {m[0]:>15} {m[1]:>8.1f} {m[2]:>11.2f} {m[3]:>9}")
            for i in range(args.cycles):
                step()
                m = measure()
                if i == 0:
                    start = m  # the first cycle fills caches (the cards' views, the readers' modules)
                print(f"{kind + ' ' + str(i + 1):>14} {m[0]:>15} {m[1]:>8.1f} {m[2]:>11.2f} {m[3]:>9}", flush=True)
            n = max(args.cycles - 1, 1)
            print(f"{kind}, a cycle after the first: {(m[2] - start[2]) / n:+.2f} MB JS heap, "
                  f"{(m[3] - start[3]) / n:+.0f} views, {(m[0] - start[0]) / n:+.0f} Python objects")
        browser.close()
    srv.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
