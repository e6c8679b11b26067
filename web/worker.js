// CASSIS lite Web Worker: boots Pyodide, runs the Panel app and answers calls.
//
// Page <-> worker protocol (postMessage; one table, read by web/main.js and this file):
//   type        direction        fields
//   start       page -> worker   search, hash, href, webgl            (the page's address, GPU or not)
//   stage       worker -> page   name, fraction, detail               (loading progress)
//   render      worker -> page   docs_json, render_items, root_ids    (the Bokeh document to draw)
//   rendered    page -> worker   -                                    (drawn: link the documents)
//   ready       worker -> page   bootMode                             ("snapshot" or "import")
//   background  page -> worker   -                                    (after ready: second bundle, cards)
//   patch       both ways        patch[, buffers]                     (Bokeh document changes)
//   idle        worker -> page   -                                    (a page patch was applied)
//   call        page -> worker   id, method, args (JSON text), data   (a window.cassisLite call; data:
//                                                                     a file's bytes, or a File read in place)
//   result      worker -> page   id, answer (JSON text: {ok, result} or {ok: false, type, message})
//   event       worker -> page   name, detail (JSON text)             (a cube pixel or a line chosen: SAMP)
//   fatal       worker -> page   error                                (the app could not start)
// Debugging: ?debug in the page's address logs the protocol (both sides).
// Two ways to start: from the site's start-up snapshot (Python's memory after Panel, Bokeh and the
// app were imported, made at build time: build_scripts/site_snapshot.py), or by installing the
// packages and importing them (no snapshot in this build, ?nosnapshot in the page's address, or a
// snapshot that does not fit). Every download is checked: subresource integrity against the
// site's config.js or pyodide-lock.json.
"use strict";
importScripts("config.js", "pyodide/pyodide.js", "bundle.js");
const SITE = self.CASSIS_SITE;
const BASE = new URL(".", self.location.href).href;
let pyodide = null;
let appModule = null; // the Python module cassis_lite.app.worker
let bootMode = null;
let startMessage = null;
const early = [];

function stage(name, fraction, detail) {
  console.debug(`[cassis-lite] ${(performance.now() / 1000).toFixed(2)} s: ${name} ${detail || ""}`);
  self.postMessage({ type: "stage", name, fraction, detail });
}

// called by Python (cassis_lite.app.worker): the page dispatches it as a "cassislite-<name>" event
self.cassisEmit = (name, detail) => self.postMessage({ type: "event", name, detail });

function sendPatch(patch, buffers) {
  self.postMessage({ type: "patch", patch, buffers });
}

function pyodideOptions() {
  return {
    indexURL: BASE + "pyodide/",
    lockFileURL: BASE + "pyodide/pyodide-lock.json",
    stdout: (s) => console.log(s),
    stderr: (s) => console.warn(s),
  };
}

// Snapshot files are fetched and decoded by web/unzstd-worker.js, ended once they are all in.
let unzstdWorker = null;
let unzstdCalls = 0;
const unzstdPending = new Map();
function fetchUnzstd(url, integrity) {
  if (!unzstdWorker) {
    unzstdWorker = new Worker("unzstd-worker.js");
    unzstdWorker.onmessage = ({ data }) => {
      const { resolve, reject } = unzstdPending.get(data.id);
      unzstdPending.delete(data.id);
      if (data.ok) resolve(data.data); else reject(new Error(data.error));
    };
  }
  const id = ++unzstdCalls;
  return new Promise((resolve, reject) => {
    unzstdPending.set(id, { resolve, reject });
    unzstdWorker.postMessage({ id, url, integrity });
  });
}

function endUnzstd() {
  if (unzstdWorker) unzstdWorker.terminate();
  unzstdWorker = null;
}

async function bootFromSnapshot(snap) {
  stage("runtime", 0.05, "Downloading the Python runtime and the app's saved state");
  const bundle = fetchUnzstd(BASE + snap.bundle, snap.bundleIntegrity).then(self.cassisBundle.parse);
  const memory = fetchUnzstd(BASE + snap.memory, snap.memoryIntegrity);
  bundle.catch(() => {}); // if the memory fails first, the bundle's error is not the news
  let failed;
  const failure = new Promise((resolve, reject) => { failed = reject; });
  const py = await Promise.race([failure, loadPyodide({
    ...pyodideOptions(),
    _loadSnapshot: memory,
    _snapshotDeserializer: self.cassisBundle.deserializeFunction,
    fsInit: async (FS, { Module }) => {
      try {
        stage("packages", 0.4, "Installing the packages");
        const layout = await self.cassisBundle.install(FS, Module, await bundle);
        if (layout.heapBase !== snap.layout.heapBase || layout.tableLength !== snap.layout.tableLength) {
          throw new Error(`memory layout ${JSON.stringify(layout)} is not the snapshot's ${JSON.stringify(snap.layout)}`);
        }
      } catch (err) {
        failed(err);
        throw err;
      }
    },
  })]);
  // what the snapshot holds counts as installed (a later loadPackage, e.g. SciPy's, skips them)
  for (const name of SITE.startupPackages) {
    if (!py.loadedPackages[name]) py.loadedPackages[name] = "start-up snapshot";
  }
  stage("python", 0.7, "Python restored with Panel, Bokeh and the app");
  py.runPython("from cassis_lite.app.boot import after_restore; after_restore()");
  return py;
}

async function installLater() {
  const snap = SITE.snapshot;
  try {
    const files = self.cassisBundle.parse(await fetchUnzstd(BASE + snap.later, snap.laterIntegrity));
    self.cassisBundle.writeFiles(pyodide.FS, files);
    pyodide.runPython("import importlib; importlib.invalidate_caches()");
  } catch (err) {
    // the app works on; only NumPy's random/FFT/polynomial modules and SciPy need these files
    console.warn("CASSIS lite: second start-up bundle not installed:", err);
  } finally {
    endUnzstd();
  }
}

async function bootByImporting() {
  stage("runtime", 0.05, "Downloading the Python runtime");
  const py = await loadPyodide(pyodideOptions());
  stage("packages", 0.35, "Installing packages");
  let loaded = 0;
  const total = SITE.startupPackages.length;
  await py.loadPackage(SITE.startupPackages, {
    messageCallback: (m) => {
      if (m.startsWith("Loaded")) {
        loaded += 1;
        stage("packages", 0.35 + 0.3 * Math.min(1, loaded / total), m);
      }
    },
    errorCallback: (m) => console.warn(m),
  });
  stage("python", 0.7, "Importing Panel, Bokeh and the app");
  await py.runPythonAsync("from cassis_lite.app.boot import prepare; prepare()");
  return py;
}

async function boot() {
  const snap = new URL(self.location.href).searchParams.has("nosnapshot") ? null : SITE.snapshot;
  if (snap) {
    try {
      pyodide = await bootFromSnapshot(snap);
      bootMode = "snapshot";
    } catch (err) {
      console.warn("CASSIS lite: start-up snapshot not used:", err);
      endUnzstd();
    }
  }
  if (!pyodide) {
    pyodide = await bootByImporting();
    bootMode = "import";
  }
  appModule = pyodide.pyimport("cassis_lite.app.worker");
  stage("app", 0.8, "Loading the demo spectra and the lines");
  const start = await waitForStart();
  DEBUG = new URLSearchParams(start.search).has("debug");
  const out = await appModule.start(JSON.stringify(SITE), JSON.stringify(start));
  const [docs_json, render_items, root_ids] = out.toJs();
  out.destroy();
  console.debug(`[cassis-lite] ${(performance.now() / 1000).toFixed(2)} s: app built, document sent`);
  self.postMessage({ type: "render", docs_json, render_items, root_ids });
}

function waitForStart() {
  if (startMessage) return Promise.resolve(startMessage);
  return new Promise((resolve) => { early.push(resolve); });
}

// Lazy files (web/lazyfile.js, loaded on first use): the Python side
// (cassis_lite.app.databases) mounts line databases read by HTTP range or from a user's File,
// and reads their counters. Answers are JSON text.
let lazyLib = null;
self.cassisLazyDb = {
  lib() {
    if (!lazyLib) {
      importScripts("lazyfile.js");
      lazyLib = self.cassisLazyFile;
    }
    return lazyLib;
  },
  mountUrl(path, url, options) {
    return JSON.stringify(this.lib().mountUrl(pyodide.FS, path, url, JSON.parse(options || "{}")));
  },
  mountBlob(path, blob, name, options) {
    return JSON.stringify(this.lib().mountBlob(pyodide.FS, path, blob, name, JSON.parse(options || "{}")));
  },
  stats(path) { return JSON.stringify(lazyLib ? lazyLib.stats(path) : null); },
  takeError(path) { return lazyLib ? lazyLib.takeError(path) : null; },
  dropCache(path) { return lazyLib ? lazyLib.dropCache(path) : false; },
  unmount(path) { return lazyLib ? lazyLib.unmount(pyodide.FS, path) : false; },
};

async function call(msg) {
  // Python answers every call with JSON text, errors included ({ok: false, type, message})
  let answer;
  try {
    answer = await appModule.call(msg.method, msg.args, msg.data ?? null);
  } catch (err) {  // only a failure of the runtime itself lands here
    answer = JSON.stringify({ ok: false, type: "InternalError", message: String(err && err.message || err) });
  }
  self.postMessage({ type: "result", id: msg.id, answer });
}

let DEBUG = false;
const LONG_CALLS = new Set(["fitCube"]);
let chain = Promise.resolve();
function serial(fn) {
  // Python runs one task at a time: patches and calls are applied in arrival order.
  chain = chain.then(fn, fn);
  return chain;
}

self.onmessage = (event) => {
  const msg = event.data;
  if (msg.type === "start") {
    startMessage = msg;
    while (early.length) early.shift()(msg);
  } else if (msg.type === "rendered") {
    serial(async () => {
      console.debug(`[cassis-lite] ${(performance.now() / 1000).toFixed(2)} s: page rendered`);
      appModule.link(sendPatch);
      self.postMessage({ type: "ready", bootMode });
    });
  } else if (msg.type === "background") {
    // What the first screen did not need, asked for by the page once it shows the ready app
    // (before it makes any call): the snapshot's second bundle, installed before anything else
    // runs; the analysis cards below the fold; pandas, fetched while the user looks.
    if (bootMode === "snapshot") serial(installLater);
    serial(async () => {
      const t0 = performance.now();
      appModule.add_analysis();
      console.debug(`[cassis-lite] analysis cards added in ${(performance.now() - t0).toFixed(0)} ms`);
    });
    serial(() => appModule.probe_databases()); // is there a db/full.db (100 bytes)?
    pyodide.loadPackage(SITE.backgroundPackages || [], { messageCallback: () => {} })
      .catch((err) => console.warn("background packages:", err));
  } else if (msg.type === "patch") {
    serial(async () => {
      const t0 = performance.now();
      try {
        appModule.apply_patch(msg.patch);
      } finally {
        if (DEBUG) console.debug(`patch applied in ${(performance.now() - t0).toFixed(0)} ms`);
        self.postMessage({ type: "idle" });
      }
    });
  } else if (msg.type === "call") {
    // a long call (a fit map) yields to the event loop between its steps: it is started in
    // order, and the patches (a click on Cancel) and calls behind it run in its pauses
    if (LONG_CALLS.has(msg.method)) serial(() => { call(msg); });
    else serial(() => call(msg));
  }
};

boot().catch((err) => {
  console.error(err);
  const text = String(err && err.message || err).trim().split("\n");
  self.postMessage({ type: "fatal", error: text[text.length - 1] });
});
