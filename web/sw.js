// CASSIS lite service worker: keeps the site (runtime, packages, database) for offline visits.
// Cache-first for same-origin GET requests; the cache name carries the build id, so a new build
// replaces the old files. On install it caches every file the app loads (after the first visit
// these come from the browser's HTTP cache or a cheap revalidation), and the packages the analyses
// load on demand (SciPy), so that they work offline after one visit.
"use strict";
const BUILD_ID = "__BUILD_ID__";
const CACHE = "cassis-lite-" + BUILD_ID;
importScripts("config.js");

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const site = self.CASSIS_SITE;
    const lock = await (await fetch("pyodide/pyodide-lock.json")).json();
    // with a start-up snapshot the packages come in its bundle (their wheels are then only
    // fetched, and cached, if the snapshot cannot be used)
    const startup = site.snapshot
      ? ["unzstd-worker.js", "vendor/zstddec.js", site.snapshot.bundle, site.snapshot.memory, site.snapshot.later]
      : site.startupPackages.map((n) => "pyodide/" + lock.packages[n].file_name);
    const urls = ["./", "index.html", "main.js", "samp-link.js", "vendor/samp.js", "worker.js", "bundle.js", "style.css", "config.js",
      "pyodide/pyodide.js", "pyodide/pyodide.asm.js", "pyodide/pyodide.asm.wasm",
      "pyodide/python_stdlib.zip", "pyodide/pyodide-lock.json"]
      .concat(site.bokehJs, site.panelJs)
      .concat(startup)
      .concat(backgroundFiles((site.backgroundPackages || []).concat(site.prefetchPackages || []), lock))
      .concat(site.samples.map((n) => "samples/" + n), ["samples/samples.json"]);
    const cache = await caches.open(CACHE);
    await cache.addAll([...new Set(urls)]); // addAll rejects duplicates
    await self.skipWaiting();
  })());
});

function backgroundFiles(names, lock) {
  const seen = new Set();
  const visit = (n) => {
    if (seen.has(n) || !lock.packages[n]) return;
    seen.add(n);
    lock.packages[n].depends.forEach(visit);
  };
  names.forEach(visit);
  return [...seen].map((n) => "pyodide/" + lock.packages[n].file_name);
}

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("cassis-lite-") && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET" || new URL(req.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const isPage = req.mode === "navigate";
    const hit = await cache.match(req, { ignoreSearch: isPage });
    if (hit) return hit;
    try {
      const resp = await fetch(req);
      if (resp.ok && resp.type === "basic") cache.put(req, resp.clone());
      return resp;
    } catch (err) {
      if (isPage) {
        const page = await cache.match("index.html");
        if (page) return page;
      }
      throw err;
    }
  })());
});
