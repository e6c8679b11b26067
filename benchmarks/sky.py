#!/usr/bin/env python3
"""What the sky view (sky.html) costs beside the app's own page, in the same headless Chromium.

    .venv/bin/python benchmarks/sky.py [--runs 3] [--site site] [--cube FITS]

Both pages come from the built site on localhost (``cassis-lite serve``'s server), each in a
fresh browser context (empty cache, no service worker):

- index.html: navigation start to the app ready (``cassisState``), MB received until then;
- sky.html?cube=URL (pyspeckit's Mopra cube by default): navigation start to the map on the sky
  (``skyState`` ready: Aladin Lite, the app in its iframe, the cube opened, its MOM0 drawn as a
  FITS layer), MB received until then, and Aladin Lite's share of it (vendor/aladin/);
- click -> marker: a click in the Aladin canvas to the marker on the clicked pixel (through
  the app: selectSky in the worker, the spectrum redrawn), median of 5 pixels.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from _browser import ARGS, CHROMIUM  # noqa: E402

PIXELS = ((6, 10), (40, 30), (30, 9), (12, 3), (44, 20))


def load(browser, url: str, state_attr: str) -> tuple[float, float, float]:
    """(s from navigation to the state ready, MB received, MB of vendor/aladin/, page, context)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    requests = []
    page.on("requestfinished", lambda r: requests.append(r))
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(f"() => document.documentElement.dataset.{state_attr} !== 'loading'", timeout=300_000)
    seconds = time.perf_counter() - t0
    state = page.evaluate(f"document.documentElement.dataset.{state_attr}")
    if state != "ready":
        raise SystemExit(f"{url}: state {state}")
    total = aladin = 0
    for r in requests:
        try:
            s = r.sizes()
            n = s["responseBodySize"] + s["responseHeadersSize"]
        except Exception:
            continue
        total += n
        aladin += n if "/vendor/aladin/" in r.url else 0
    return seconds, total / 1e6, aladin / 1e6, page, context


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--cube", type=Path, default=None, help="FITS cube (default: pyspeckit's Mopra HCN cube)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from cassis_lite.commands.serve import make_server
    from cassis_lite.cube import Cube

    if args.cube is None:
        from cube_data import region5_cube

        args.cube = region5_cube()
    target = args.site / "bench-sky"
    target.mkdir(exist_ok=True)
    shutil.copy(args.cube, target / args.cube.name)
    cube = Cube.open(args.cube)
    import threading

    srv = make_server(args.site, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}/"
    rows = {"index": [], "sky": [], "aladin": [], "click": []}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for run in range(args.runs):
                s, mb, _, page, context = load(browser, base + "index.html", "cassisState")
                context.close()
                rows["index"].append((s, mb))
                s2, mb2, al, page, context = load(browser, base + f"sky.html?cube=bench-sky/{args.cube.name}", "skyState")
                rows["sky"].append((s2, mb2))
                rows["aladin"].append(al)
                clicks = []
                for x, y in PIXELS:
                    ra, dec = (float(v) for v in cube.pixel_to_world(float(x), float(y), frame="icrs"))
                    px, py = page.evaluate("([ra, dec]) => window.cassisSky.aladin.world2pix(ra, dec)", [ra, dec])
                    box = page.locator("#sky-aladin").bounding_box()
                    page.evaluate("window.__t0 = performance.now()")
                    page.mouse.click(box["x"] + px, box["y"] + py)
                    ms = page.evaluate(f"""() => new Promise((resolve) => {{ const t0 = window.__t0;
                        const tick = () => {{ const l = window.cassisSky.last;
                          if (l && l.pixel[0] === {x} && l.pixel[1] === {y}) resolve(performance.now() - t0);
                          else requestAnimationFrame(tick); }}; tick(); }})""")
                    clicks.append(ms)
                rows["click"].append(statistics.median(clicks))
                context.close()
                print(f"run {run + 1}: index.html {s:.2f} s {mb:.1f} MB | sky.html?cube= {s2:.2f} s {mb2:.1f} MB "
                      f"(Aladin Lite {al:.2f} MB) | click -> marker median {statistics.median(clicks):.0f} ms "
                      f"(all {', '.join(f'{c:.0f}' for c in clicks)})")
            browser.close()
    finally:
        srv.shutdown()
        shutil.rmtree(target, ignore_errors=True)
    med = {k: statistics.median([r[0] if isinstance(r, tuple) else r for r in v]) for k, v in rows.items()}
    mb = {k: statistics.median([r[1] for r in rows[k]]) for k in ("index", "sky")}
    print(f"index.html: {med['index']:.2f} s, {mb['index']:.1f} MB")
    print(f"sky.html?cube=: {med['sky']:.2f} s to the map on the sky, {mb['sky']:.1f} MB (Aladin Lite {med['aladin']:.2f} MB)")
    print(f"click_to_marker_ms: {med['click']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
