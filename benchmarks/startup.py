#!/usr/bin/env python3
"""Start-up speed and size of the browser app against a bare Pyodide + NumPy page.

    .venv/bin/python benchmarks/startup.py [--runs 3] [--site site]

Both pages are served from the same built site by ``cassis-lite serve``'s server on localhost
and loaded in the same headless Chromium (Debian's). ``bare.html`` boots the same Pyodide
runtime in a Web Worker and imports NumPy; ``index.html`` is the app (``cassisState`` ready).

``index.html?nosnapshot`` is the app started without the build's memory snapshot (installing
the wheels and importing Panel and Bokeh), for comparison.

- cold: a fresh browser context (empty HTTP cache, no service worker), navigation start to ready;
- warm: the same context again (the app's service worker cache / the HTTP cache for bare);
- bytes: bytes received (encoded bodies + headers) until ready, cold;
- slider: time from a model slider change (T_ex) to the redrawn model in the page, for the
  full CH3OH forest over a 100,000-channel spectrum.

Targets: cold and warm <= 1.2x bare, <= 25 MB cold, slider < 100 ms.
The last three lines are ``cold_ratio: x``, ``warm_ratio: x``, ``cold_mb: x``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _browser import ARGS, CHROMIUM  # noqa: E402


def measure(page, url: str) -> tuple[float, float]:
    """(seconds from navigation start to ready, MB received until ready)."""
    requests = []

    def on_finished(request):
        requests.append(request)

    page.on("requestfinished", on_finished)
    page.goto(url)
    page.wait_for_function("() => document.documentElement.dataset.cassisState !== 'loading'", timeout=300_000)
    state = page.evaluate("document.documentElement.dataset.cassisState")
    if state != "ready":
        error = page.evaluate("(document.getElementById('cl-error') || {}).textContent || ''")
        raise SystemExit(f"{url}: state {state}: {error[-2000:]}")
    ready_ms = page.evaluate("window.cassisReadyAt")
    ready_epoch_ms = page.evaluate("performance.timeOrigin + window.cassisReadyAt")
    page.remove_listener("requestfinished", on_finished)
    total = 0
    for r in requests:
        try:
            if r.timing["startTime"] > ready_epoch_ms:
                continue  # asked for after ready (background packages): not part of the start
            s = r.sizes()
            total += s["responseBodySize"] + s["responseHeadersSize"]
        except Exception:  # a request of a page that has gone
            pass
    return ready_ms / 1000.0, total / 1e6


def wait_service_worker(page) -> None:
    state = page.evaluate("""() => Promise.race([
        navigator.serviceWorker.ready.then(async (reg) => {
            while (reg.installing || reg.waiting || reg.active.state !== "activated") {
                await new Promise((r) => setTimeout(r, 100));
            }
            return reg.active.state;
        }),
        new Promise((r) => setTimeout(() => r("none after 120 s"), 120000)),
    ])""")
    if state != "activated":
        raise SystemExit(f"service worker: {state}")


SLIDER_JS = """
async ([n, repeats]) => {
  // a 100,000-channel spectrum over 100 GHz of the CH3OH forest (860-960 GHz, 1 MHz step)
  const lines = [];
  for (let i = 0; i < n; i++) lines.push(`${860000 + i * (100000 / n)} ${(Math.sin(i) * 0.05).toFixed(4)}`);
  await window.cassisLite.loadSpectrum(new TextEncoder().encode(lines.join('\\n')).buffer, 'forest.txt');
  await window.cassisLite.setModel({
    telescope: {diameter_m: 12}, vlsr_file_kms: 0,
    components: [{name: 'c1', tex_k: 100, fwhm_kms: 4, vlsr_kms: 0, size_arcsec: 30,
                  species: [{species: 'CH3OH, vt=0-2', ntot_cm2: 1e17}]}]});
  const docs = window.Bokeh.documents;
  const doc = docs[docs.length - 1];
  const src = doc.get_model_by_name('model_source');
  const col = () => (src.data.get ? src.data.get('y') : src.data.y);
  let slider = null;
  // the LTE model panel's slider (other panels have T_ex inputs too)
  for (const m of doc.all_models) if (m.title === 'T_ex (K)' && m.type === 'Slider' && !slider) slider = m;
  const times = [];
  for (let k = 0; k < repeats; k++) {
    const before = col();
    const t0 = performance.now();
    slider.value = slider.value + 1;
    await new Promise((resolve) => {
      const poll = () => (col() !== before ? resolve() : requestAnimationFrame(poll));
      poll();
    });
    await new Promise((r) => requestAnimationFrame(() => r()));  // the frame that draws it
    times.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {times, n_model: col().length};
}
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="cold+warm runs per page (median reported)")
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--channels", type=int, default=100_000)
    parser.add_argument("--slider-only", action="store_true", help="only the slider measurement")
    args = parser.parse_args(argv)
    if not (args.site / "site-lock.json").exists():
        raise SystemExit(f"{args.site}: not built (make site)")

    from bench_site import serve_site

    with serve_site(args.site) as base:
        return measure_all(args, base)


def measure_all(args, base: str) -> int:
    from playwright.sync_api import sync_playwright

    pages = (("bare", "bare.html"), ("app", "index.html"), ("import", "index.html?nosnapshot"))
    results = {key: {"cold": [], "warm": [], "mb": []} for key, _ in pages}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for run in range(0 if args.slider_only else args.runs):
            for key, path in pages:
                context = browser.new_context()
                page = context.new_page()
                cold, mb = measure(page, base + path)
                if key != "bare":
                    wait_service_worker(page)
                page.close()
                page = context.new_page()
                warm, warm_mb = measure(page, base + path)
                # the app's way to start: "snapshot" (the build's memory snapshot) or "import"
                boot = page.evaluate("document.documentElement.dataset.cassisBoot || ''")
                context.close()
                results[key]["cold"].append(cold)
                results[key]["warm"].append(warm)
                results[key]["mb"].append(mb)
                print(f"run {run + 1} {key:4s}: cold {cold:6.2f} s ({mb:5.1f} MB)   warm {warm:6.2f} s "
                      f"({warm_mb:5.2f} MB)" + (f"   start: {boot}" if boot else ""), flush=True)
        context = browser.new_context()
        page = context.new_page()
        measure(page, base + "index.html")
        page.locator(".bk-tab", has_text="Model").first.click()  # the model card is drawn when it is opened
        page.locator(".noUi-handle >> visible=true").first.wait_for(timeout=60_000)
        t0 = time.time()
        slider = page.evaluate(SLIDER_JS, [args.channels, 7])
        print(f"slider -> redrawn model ({args.channels} channels, CH3OH vt=0-2 forest): "
              f"median {statistics.median(slider['times']):.0f} ms, all {[round(t) for t in slider['times']]} "
              f"(setup {time.time() - t0:.1f} s)")
        context.close()
        browser.close()
    if args.slider_only:
        return 0

    med = {k: {m: statistics.median(v) for m, v in d.items()} for k, d in results.items()}
    print(f"bare Pyodide+NumPy: cold {med['bare']['cold']:.2f} s, warm {med['bare']['warm']:.2f} s, "
          f"{med['bare']['mb']:.1f} MB")
    print(f"CASSIS lite app:    cold {med['app']['cold']:.2f} s, warm {med['app']['warm']:.2f} s, "
          f"{med['app']['mb']:.1f} MB")
    print(f"  (?nosnapshot:     cold {med['import']['cold']:.2f} s, warm {med['import']['warm']:.2f} s, "
          f"{med['import']['mb']:.1f} MB: installing the wheels and importing instead)")
    print(f"cold_ratio: {med['app']['cold'] / med['bare']['cold']:.2f}")
    print(f"warm_ratio: {med['app']['warm'] / med['bare']['warm']:.2f}")
    print(f"cold_mb: {med['app']['mb']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
