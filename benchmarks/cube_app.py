#!/usr/bin/env python3
"""Cube mode of the browser app: time from a click on a map pixel to the redrawn spectrum, and the
moment-map time, in headless Chromium (Debian's) on the built site.

    .venv/bin/python benchmarks/cube_app.py [--clicks 10] [--site site] [--big]

The cube is pyspeckit's Mopra HCN cube (47 x 37 pixels x 352 channels, tests/cube_data.py),
opened through the page's file picker as a person would.

- click: from the pointer press on a pixel of the drawn MOM0 map to the frame that draws that
  pixel's spectrum (the page's Bokeh document changed and two animation frames passed);
- pointer: with "spectrum follows the pointer" ticked, from a pointer move onto a new pixel (the
  pointer resting > 0.1 s before, the throttle's interval) to the frame that draws its spectrum;
  and a sweep over 30 pixels at 60 moves per second: how many spectra were drawn on the way and
  the time from the last move to the last pixel's spectrum drawn;
- moments: ``cassisLite.getMap("MOM0", {vmin_kms, vmax_kms})`` for a new velocity range, in the
  worker (``compute_ms``, the NumPy part) and round trip from the page (call, compute, answer of
  the ny x nx map);
- ``--big``: the same moment map for a synthetic 256 x 256 x 1000 float32 cube (250 MiB, the
  issue's figure), loaded through ``cassisLite.loadSpectrum``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from _browser import ARGS, CHROMIUM, DOC, wait_for  # noqa: E402

DATA_TO_PAGE = """([name, x, y]) => {
  const model = window.Bokeh.documents[window.Bokeh.documents.length - 1].get_model_by_name(name);
  const find = (v) => { if (v.model === model) return v;
    for (const c of v.child_views || []) { const f = find(c); if (f) return f; } return null; };
  const view = window.Bokeh.index.roots.map(find).find((v) => v);
  if (!view) return null;
  const r = view.canvas_view.el.getBoundingClientRect();
  return [r.left + view.frame.x_scale.compute(x), r.top + view.frame.y_scale.compute(y)];
}"""
ARM = f"""() => {{
  const src = {DOC}.get_model_by_name("spectrum_source");
  let t0 = null;
  window.addEventListener("pointerdown", () => {{ t0 = performance.now(); }}, {{ capture: true, once: true }});
  window.__redrawn = new Promise((resolve) => {{
    const done = () => requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0)));
    src.properties.data.change.connect(done);
  }});
}}"""
ARM_MOVE = ARM.replace('"pointerdown"', '"pointermove"')
GET_MAP = """async ([vmin, vmax]) => {
  const t0 = performance.now();
  const m = await window.cassisLite.getMap("MOM0", {vmin_kms: vmin, vmax_kms: vmax});
  return [performance.now() - t0, m.compute_ms, m.nx, m.ny];
}"""


def big_cube(path: Path) -> None:
    import numpy as np
    from astropy.io import fits

    rng = np.random.default_rng(1)
    nchan, ny, nx = 1000, 256, 256
    data = rng.normal(0.0, 0.1, (nchan, ny, nx)).astype(np.float32)
    v = np.arange(nchan) - 500.0
    data += (2.0 * np.exp(-0.5 * (v / 20.0) ** 2)).astype(np.float32)[:, None, None]
    h = fits.Header()
    for k, val in (("CTYPE1", "RA---SIN"), ("CRVAL1", 83.8), ("CRPIX1", 128.5), ("CDELT1", -1 / 3600),
                   ("CTYPE2", "DEC--SIN"), ("CRVAL2", -5.4), ("CRPIX2", 128.5), ("CDELT2", 1 / 3600),
                   ("CTYPE3", "VRAD"), ("CRVAL3", 0.0), ("CRPIX3", 501.0), ("CDELT3", 200.0), ("CUNIT3", "m/s"),
                   ("RESTFRQ", 230.538e9), ("BUNIT", "K"), ("RADESYS", "ICRS")):
        h[k] = val
    fits.PrimaryHDU(data, h).writeto(path, overwrite=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--big", action="store_true", help="also a 256 x 256 x 1000 cube (250 MiB)")
    args = parser.parse_args(argv)
    import threading

    from playwright.sync_api import sync_playwright

    from cassis_lite.commands.serve import make_server
    from cube_data import region5_cube

    cube = region5_cube()
    server = make_server(args.site, "127.0.0.1", 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    big = args.site / "bench-cubes" / "big.fits"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(base + "index.html")
            page.wait_for_function("() => document.documentElement.dataset.cassisState === 'ready'",
                                   timeout=300_000)
            page.locator("#cl-file").set_input_files(str(cube))
            wait_for(lambda: (page.evaluate("window.cassisLite.getState()").get("cube") or {}).get("pixel"))
            wait_for(lambda: page.evaluate(DATA_TO_PAGE, ["cube_figure", 0, 0]) is not None)
            times = []
            pixels = [(10 + (3 * k) % 30, 12 + (5 * k) % 20) for k in range(args.clicks)]
            for x, y in pixels:
                page.evaluate(ARM)
                px, py = page.evaluate(DATA_TO_PAGE, ["cube_figure", x, y])
                page.mouse.click(px, py)
                times.append(page.evaluate("window.__redrawn"))
                wait_for(lambda: page.evaluate("window.cassisLite.getState()")["cube"]["pixel"] == [x, y])
                time.sleep(0.3)
            print(f"click -> redrawn spectrum (region5 47 x 37 x 352, {len(times)} clicks): "
                  f"median {statistics.median(times):.0f} ms, min {min(times):.0f}, max {max(times):.0f}")
            page.locator(".cl-cube-follow input").first.check()
            moves = []
            for x, y in pixels:
                px, py = page.evaluate(DATA_TO_PAGE, ["cube_figure", x + 1, y])
                time.sleep(0.3)
                page.evaluate(ARM_MOVE)
                page.mouse.move(px, py)
                moves.append(page.evaluate("window.__redrawn"))
                wait_for(lambda: page.evaluate("window.cassisLite.getState()")["cube"]["pixel"] == [x + 1, y])
            print(f"pointer move -> redrawn spectrum ({len(moves)} moves): median {statistics.median(moves):.0f} ms, "
                  f"min {min(moves):.0f}, max {max(moves):.0f}")
            page.evaluate(f"""() => {{ window.__drawn = 0; {DOC}.get_model_by_name("spectrum_source")
                .properties.data.change.connect(() => {{ window.__drawn += 1; }}); }}""")
            sweep = [(5 + k, 15) for k in range(30)]
            points = [page.evaluate(DATA_TO_PAGE, ["cube_figure", x, y]) for x, y in sweep]
            t_sweep = time.perf_counter()
            for px, py in points:
                page.mouse.move(px, py)
                time.sleep(1 / 60)
            t_last = time.perf_counter()
            t_sweep = t_last - t_sweep
            wait_for(lambda: page.evaluate("window.cassisLite.getState()")["cube"]["pixel"] == list(sweep[-1]))
            settle = 1e3 * (time.perf_counter() - t_last)
            print(f"pointer sweep over {len(sweep)} pixels in {t_sweep:.2f} s: "
                  f"{page.evaluate('window.__drawn')} spectra drawn on the way, last pixel's "
                  f"{settle:.0f} ms after the last move (polled)")
            page.locator(".cl-cube-follow input").first.uncheck()
            runs = [page.evaluate(GET_MAP, [-10.0 + k, 12.0]) for k in range(5)]
            print(f"MOM0 map (region5, 47 x 37 x 352): worker {statistics.median(r[1] for r in runs):.1f} ms, "
                  f"page round trip {statistics.median(r[0] for r in runs):.0f} ms (median of {len(runs)})")
            if args.big:
                big.parent.mkdir(exist_ok=True)
                big_cube(big)
                page.evaluate("() => window.cassisLite.loadSpectrum('bench-cubes/big.fits')")
                runs = [page.evaluate(GET_MAP, [-50.0 + k, 50.0]) for k in range(3)]
                print(f"MOM0 map (synthetic 256 x 256 x 1000 float32): worker "
                      f"{statistics.median(r[1] for r in runs):.0f} ms, page round trip "
                      f"{statistics.median(r[0] for r in runs):.0f} ms (median of {len(runs)})")
            browser.close()
    finally:
        server.shutdown()
        if big.exists():
            big.unlink()
            big.parent.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
