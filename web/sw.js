// CASSIS lite service worker: keeps the site (runtime, packages, database) for offline visits.
// Cache-first for same-origin GET requests; the cache name carries the build id, so a new build
// replaces the old files. On install it caches every file the app loads (after the first visit
// these come from the browser's HTTP cache or a cheap revalidation), and the packages the analyses
// load on demand (SciPy), so that they work offline after one visit.
// Range requests (the worker's lazy reads of a line database, web/lazyfile.js) are answered from
// a file cached whole, else from the ranges fetched before (kept in a cache of their own, as 200
// responses: the Cache API refuses to store a 206), else from the network, and the range is kept:
// a query run once online runs again offline.
"use strict";
const BUILD_ID = "__BUILD_ID__";
const CACHE = "cassis-lite-" + BUILD_ID;
const RANGES = "cassis-lite-ranges-" + BUILD_ID;
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
    const urls = ["./", "index.html", "main.js", "samp-link.js", "vendor/samp.js", "worker.js", "lazyfile.js", "bundle.js", "style.css", "config.js",
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
      if (key.startsWith("cassis-lite-") && key !== CACHE && key !== RANGES) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET" || new URL(req.url).origin !== self.location.origin) return;
  const range = req.headers.get("Range");
  if (range) {
    event.respondWith(answerRange(req, range));
    return;
  }
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

// ---- byte ranges -------------------------------------------------------------------------------
function parseRange(header) {
  const m = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
  return m ? [Number(m[1]), Number(m[2])] : null; // the lazy file asks for closed ranges only
}

function partial(body, first, size, headers) {
  return new Response(body, {
    status: 206, statusText: "Partial Content",
    headers: { "Content-Type": headers.get("Content-Type") || "application/octet-stream",
      "Content-Range": `bytes ${first}-${first + body.byteLength - 1}/${size}`,
      "Content-Length": String(body.byteLength), "Accept-Ranges": "bytes", "ETag": headers.get("ETag") || "" },
  });
}

async function answerRange(req, header) {
  const wanted = parseRange(header);
  if (!wanted) return fetch(req);
  const [first, last] = wanted;
  const whole = await (await caches.open(CACHE)).match(req.url);
  if (whole && whole.status === 200) { // a file of the site cached whole: its slice
    const body = await whole.arrayBuffer();
    if (first >= body.byteLength) {
      return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${body.byteLength}` } });
    }
    return partial(body.slice(first, Math.min(last, body.byteLength - 1) + 1), first, body.byteLength, whole.headers);
  }
  const ranges = await caches.open(RANGES);
  const url = new URL(req.url);
  url.searchParams.set("cl-bytes", `${first}-${last}`);
  const key = url.href;
  const kept = await ranges.match(key);
  if (kept) {
    const size = Number(kept.headers.get("X-CL-Size"));
    return partial(await kept.arrayBuffer(), first, size, kept.headers);
  }
  const resp = await fetch(req);
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(resp.headers.get("Content-Range") || "");
  if (resp.status !== 206 || !m || Number(m[1]) !== first) return resp;
  const body = await resp.arrayBuffer();
  const headers = { "Content-Type": resp.headers.get("Content-Type") || "application/octet-stream",
    "X-CL-Size": m[3], "ETag": resp.headers.get("ETag") || "" };
  try {
    await ranges.put(key, new Response(body.slice(0), { status: 200, headers }));
  } catch (err) {
    console.warn("CASSIS lite service worker: range not kept:", err); // storage full: answered anyway
  }
  return partial(body, first, Number(m[3]), resp.headers);
}
