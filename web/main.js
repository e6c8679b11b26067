// CASSIS lite page script: starts the Python worker, loads BokehJS/Panel JS, mirrors the Bokeh
// document between the worker (Python) and this page, and exposes window.cassisLite.
// The messages between this page and the worker are listed in one table at the top of worker.js.
"use strict";
(function () {
  const SITE = self.CASSIS_SITE;
  const DEBUG = new URLSearchParams(location.search).has("debug"); // ?debug: log the protocol
  const root = document.documentElement;
  root.dataset.cassisState = "loading";

  // ---- runtime: the worker starts at once, the JS libraries load in parallel -------------
  // ?nosnapshot: start by importing the packages instead of restoring the build's snapshot
  const worker = new Worker(new URLSearchParams(location.search).has("nosnapshot") ? "worker.js?nosnapshot" : "worker.js");
  const scriptsLoaded = new Promise((resolve, reject) => {
    const urls = SITE.bokehJs.concat(SITE.panelJs);
    let left = urls.length;
    for (const url of urls) {
      const s = document.createElement("script");
      s.src = url;
      s.async = false; // download in parallel, execute in order (bokeh first)
      s.onload = () => { if (--left === 0) resolve(); };
      s.onerror = () => reject(new Error("could not load " + url));
      document.head.appendChild(s);
    }
  });

  const STAGES = ["runtime", "packages", "python", "app", "render"];
  function stage(name, fraction, detail) {
    const idx = STAGES.indexOf(name);
    document.querySelectorAll("#cl-stages li").forEach((li) => {
      const i = STAGES.indexOf(li.dataset.stage);
      li.classList.toggle("done", i < idx);
      li.classList.toggle("active", i === idx);
    });
    const bar = document.getElementById("cl-progress-bar");
    if (bar && fraction != null) bar.style.width = Math.round(100 * fraction) + "%";
    status(detail || "");
  }
  function status(text) {
    const el = document.getElementById("cl-status");
    if (el) el.textContent = text;
  }
  function fail(message) {
    root.dataset.cassisState = "error";
    const el = document.getElementById("cl-error");
    if (el) { el.hidden = false; el.textContent = message; }
    status("Error");
    rejectReady(new Error(message));
  }
  let resolveReady, rejectReady;
  const ready = new Promise((res, rej) => { resolveReady = res; rejectReady = rej; });
  ready.catch(() => {});

  // ---- Bokeh document sync (the pattern of Panel's pyodide-worker conversion) ------------
  let jsdoc = null;
  let busy = false;
  let queue = [];
  let patching = 0;
  window.cassisSyncState = () => ({ busy, queued: queue.length }); // diagnostics (tests, benchmarks)
  function sendChange(event) {
    if ((event.setter_id != null && event.setter_id === "py") || patching > 0) return;
    if (DEBUG) console.debug("page change", event.model && event.model.type, event.attr, String(JSON.stringify(event.new)).slice(0, 80));
    if (busy && event.model && event.attr) {
      queue = queue.filter((e) => !(e.model === event.model && e.attr === event.attr));
      queue.push(event);
      return;
    }
    busy = true;
    worker.postMessage({ type: "patch", patch: jsdoc.create_json_patch([event]) });
  }

  async function render(msg) {
    stage("render", 0.95, "Drawing");
    await scriptsLoaded;
    const docsJson = JSON.parse(msg.docs_json);
    const renderItems = JSON.parse(msg.render_items);
    const rootIds = JSON.parse(msg.root_ids);
    // The first root is the app; any other roots (Panel's hidden helpers) get their own node.
    const roots = {};
    rootIds.forEach((id, i) => {
      let el = document.getElementById(i === 0 ? "cassis-app" : "cassis-root-" + i);
      if (!el) {
        el = document.createElement("div");
        el.id = "cassis-root-" + i;
        el.hidden = true;
        document.getElementById("cassis-app").after(el);
      }
      roots[id] = el.id;
    });
    renderItems[0].roots = roots;
    renderItems[0].root_ids = rootIds;
    const [views] = await window.Bokeh.embed.embed_items(docsJson, renderItems);
    jsdoc = [...views.roots.values()][0].model.document;
    jsdoc.on_change(sendChange, false);
    worker.postMessage({ type: "rendered" });
  }

  // ---- calls into Python -----------------------------------------------------------------
  let nextId = 1;
  const pending = new Map();
  // A call's arguments travel as JSON text; a file's bytes as `data` (transferred, not copied).
  function callWorker(method, args, data) {
    return new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ type: "call", id, method, args: JSON.stringify(args || []), data }, data ? [data] : []);
    });
  }
  class CassisError extends Error {
    constructor(answer) {
      super(answer.message);
      this.name = answer.type || "Error";
      this.userError = !!answer.user_error; // a message for the user (bad input), not a bug
    }
  }

  worker.onmessage = async (event) => {
    const msg = event.data;
    try {
      if (msg.type === "stage") {
        stage(msg.name, msg.fraction, msg.detail);
      } else if (msg.type === "render") {
        await render(msg);
      } else if (msg.type === "ready") {
        window.cassisReadyAt = performance.now(); // ms since navigation start (benchmarks)
        root.dataset.cassisState = "ready";
        root.dataset.cassisBoot = msg.bootMode; // "snapshot" or "import"
        status("");
        resolveReady();
        worker.postMessage({ type: "background" });
        registerServiceWorker();
      } else if (msg.type === "patch") {
        if (!jsdoc) return;
        const t0 = performance.now();
        try { patching += 1; jsdoc.apply_json_patch(msg.patch, msg.buffers); } finally { patching -= 1; }
        if (DEBUG) console.debug(`page applied patch in ${(performance.now() - t0).toFixed(0)} ms at ${t0.toFixed(0)}`);
      } else if (msg.type === "idle") {
        if (queue.length) {
          const patch = jsdoc.create_json_patch(queue);
          queue = [];
          worker.postMessage({ type: "patch", patch });
        } else {
          busy = false;
        }
      } else if (msg.type === "result") {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (!p) return;
        const answer = JSON.parse(msg.answer);
        if (answer.ok) p.resolve(answer.result === undefined ? null : answer.result);
        else p.reject(new CassisError(answer));
      } else if (msg.type === "event") {
        window.dispatchEvent(new CustomEvent("cassislite-" + msg.name, { detail: JSON.parse(msg.detail) }));
      } else if (msg.type === "fatal") {
        fail(msg.error);
      }
    } catch (err) {
      fail(String(err && err.stack || err));
    }
  };
  worker.onerror = (e) => fail("The Python worker failed: " + (e.message || e));

  // WebGL draws long spectra faster on a GPU; a software GL (SwiftShader, llvmpipe: headless
  // browsers, VMs) is slower than the 2D canvas, so it is only used with a real GPU.
  function hardwareWebGL() {
    try {
      const gl = document.createElement("canvas").getContext("webgl");
      if (!gl) return false;
      const info = gl.getExtension("WEBGL_debug_renderer_info");
      const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
      return !/swiftshader|llvmpipe|software/i.test(renderer);
    } catch (err) {
      return false;
    }
  }
  worker.postMessage({ type: "start", search: location.search, hash: location.hash, href: location.href, webgl: hardwareWebGL() });

  // ---- public API: window.cassisLite -------------------------------------------------------
  async function toBuffer(source) {
    if (source instanceof ArrayBuffer) return source;
    if (ArrayBuffer.isView(source)) return source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength);
    if (source instanceof Blob) return await source.arrayBuffer();
    const url = new URL(String(source), location.href);
    const resp = await fetch(url);
    if (!resp.ok) throw new Error(`could not fetch ${url}: HTTP ${resp.status}`);
    return await resp.arrayBuffer();
  }
  function nameOf(source, name) {
    if (name) return name;
    if (typeof source === "string") return decodeURIComponent(source.split("?")[0].split("/").pop() || "spectrum");
    if (source && source.name) return source.name;
    return "spectrum";
  }
  // A local file: its head and size are checked in Python (cassis_lite.readers.probe) before
  // the file is read whole, so a file too large for the tab is refused without reading it.
  async function openFile(file, name) {
    await ready;
    name = nameOf(file, name);
    const head = await file.slice(0, 65536).arrayBuffer();
    await callWorker("probeFile", [name, file.size], head);
    const buffer = await file.arrayBuffer();
    return callWorker("loadSpectrum", [name], buffer);
  }

  // The figure (spectrum, model, residual, legend) as PNG or SVG, saved without a prompt.
  async function exportFigure(kind) {
    await ready;
    const doc = jsdoc;
    const model = doc && doc.get_model_by_name("figure");
    // Bokeh.index: the root views of the page (a ViewManager behind a Proxy)
    const view = model && window.Bokeh.index.roots.map((v) => findView(v, model)).find((v) => v);
    if (!view) throw new Error("the figure is not drawn yet");
    const blob = await view.export(kind === "svg" ? "svg" : "png").to_blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `cassis_lite_spectrum.${kind === "svg" ? "svg" : "png"}`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    return { kind, bytes: blob.size };
  }
  function findView(view, model) {
    if (view.model === model) return view;
    for (const child of view.child_views || []) {
      const found = findView(child, model);
      if (found) return found;
    }
    return null;
  }

  // The page's own calls; every other name is forwarded to the app in the worker, which
  // declares the calls it serves (its cards' api) and answers any other with an error.
  const own = {
    ready: () => ready,
    async loadSpectrum(source, name) {
      await ready;
      if (source instanceof Blob) return openFile(source, name);
      const buffer = await toBuffer(source);
      // a URL is remembered as the spectrum's source (a link can then name it)
      return callWorker("loadSpectrum", [nameOf(source, name), typeof source === "string" ? source : null], buffer);
    },
    // a line table (VOTable, FITS, CSV) overlaid beside the database; openTable: a spectrum if it
    // is one, else a line list (what another application sends)
    async loadLineList(source, name) {
      await ready;
      return callWorker("loadLineList", [nameOf(source, name)], await toBuffer(source));
    },
    async openTable(source, name) {
      await ready;
      return callWorker("openTable", [nameOf(source, name)], await toBuffer(source));
    },
    exportFigure,
    shareLink,
    sampConnect,
    sampSend,
    sampClients: () => self.cassisSamp.clients(),
  };
  const api = new Proxy(own, {
    get(target, name) {
      if (typeof name !== "string" || name === "then") return target[name];
      if (name in target) return target[name];
      return async (...args) => { await ready; return callWorker(name, args); };
    },
  });
  window.cassisLite = api;

  // ---- the drop zone and file picker (shown once the app is ready) --------------------------
  function dropStatus(text, isError) {
    const el = document.getElementById("cl-drop-status");
    if (el) { el.textContent = text; el.classList.toggle("cl-drop-error", !!isError); }
  }
  async function openFromPage(file) {
    if (!file) return;
    dropStatus(`Opening ${file.name} (${(file.size / 1e6).toFixed(1)} MB)...`);
    try {
      const sp = await openFile(file);
      dropStatus(`Opened ${sp.name}: ${sp.n_channels} channels.`);
    } catch (err) {
      dropStatus(String(err && err.message || err), true); // the app shows it too; the spectrum stays
    }
  }
  function setupDropZone() {
    const zone = document.getElementById("cl-drop");
    const input = document.getElementById("cl-file");
    if (!zone) return;
    zone.hidden = false;
    if (input) input.addEventListener("change", () => { openFromPage(input.files[0]); input.value = ""; });
    let depth = 0;
    document.addEventListener("dragenter", (e) => { e.preventDefault(); depth += 1; zone.classList.add("cl-dragging"); });
    document.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) zone.classList.remove("cl-dragging"); });
    document.addEventListener("dragover", (e) => e.preventDefault());
    // a file dropped anywhere on the page opens (the zone says where to aim)
    document.addEventListener("drop", (e) => {
      e.preventDefault();
      depth = 0;
      zone.classList.remove("cl-dragging");
      const file = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
      openFromPage(file);
    });
  }
  function setupExport() {
    for (const kind of ["png", "svg"]) {
      const button = document.getElementById("cl-export-" + kind);
      if (button) {
        button.addEventListener("click", () => exportFigure(kind).catch((err) => dropStatus(String(err.message || err), true)));
      }
    }
  }
  // "Copy link": the worker puts the state in a fragment (cassis_lite.app.link); the link is
  // shown (select it to copy by hand) and copied to the clipboard where the page may.
  async function shareLink() {
    const answer = await callWorker("shareLink", []);
    const link = location.origin + location.pathname + location.search + "#" + answer.fragment;
    return { link, notes: answer.notes };
  }
  function setupShare() {
    const button = document.getElementById("cl-share");
    const field = document.getElementById("cl-share-link");
    if (!button || !field) return;
    button.addEventListener("click", async () => {
      try {
        const { link, notes } = await shareLink();
        field.value = link;
        field.hidden = false;
        field.select();
        let copied = false;
        try { await navigator.clipboard.writeText(link); copied = true; } catch (err) { copied = false; }
        dropStatus((copied ? "Link copied." : "Link below: select it and copy.") + (notes.length ? " Note: " + notes.join("; ") + "." : ""));
      } catch (err) {
        dropStatus(String(err && err.message || err), true);
      }
    });
  }
  // SAMP (web/samp-link.js): the connect button, the status light, the applications on the hub
  function showSamp(connected, clients) {
    const light = document.getElementById("cl-samp-light");
    const row = document.getElementById("cl-samp-send-row");
    const list = document.getElementById("cl-samp-clients");
    const to = document.getElementById("cl-samp-to");
    const button = document.getElementById("cl-samp-connect");
    if (!light) return;
    const label = connected ? "SAMP: connected" : "SAMP: not connected";
    light.classList.toggle("cl-on", connected);
    light.title = label;
    light.setAttribute("aria-label", label);
    row.hidden = !connected;
    button.textContent = connected ? "Connected to SAMP" : "Connect to SAMP hub";
    button.disabled = connected;
    const others = (clients || []).filter((c) => !c.hub);
    list.textContent = connected ? "on the hub: " + (others.map((c) => c.name).join(", ") || "no other application") : "";
    const keep = to.value;
    while (to.options.length > 1) to.remove(1);
    for (const c of others) to.add(new Option(c.name, c.id));
    to.value = others.some((c) => c.id === keep) ? keep : "";
  }
  async function sampConnect() {
    await ready;
    const answer = await self.cassisSamp.connect(api, dropStatus);
    showSamp(true, answer.clients);
    return answer;
  }
  async function sampSend(kind, recipient) {
    await ready;
    return self.cassisSamp.send(api, kind, recipient || null);
  }
  function setupSamp() {
    const button = document.getElementById("cl-samp-connect");
    if (!button || !self.cassisSamp) return;
    self.cassisSamp.onChange(async (state) => {
      if (state === "off") { showSamp(false, []); return; }
      try { showSamp(true, await self.cassisSamp.clients()); } catch (err) { showSamp(false, []); }
    });
    button.addEventListener("click", () => {
      dropStatus("Connecting to the SAMP hub...");
      sampConnect().then(() => dropStatus("Connected to the SAMP hub."), (err) => dropStatus(String(err && err.message || err), true));
    });
    document.getElementById("cl-samp-send").addEventListener("click", () => {
      const kind = document.getElementById("cl-samp-what").value;
      sampSend(kind, document.getElementById("cl-samp-to").value).then(
        (r) => dropStatus(`Sent the ${kind} (${r.mtype}) to ${r.recipients.length} application(s).`),
        (err) => dropStatus(String(err && err.message || err), true));
    });
  }
  ready.then(() => { setupDropZone(); setupExport(); setupShare(); setupSamp(); }, () => {});

  // ---- cross-origin embedding: the same calls through postMessage --------------------------
  const allowed = new Set([location.origin].concat(SITE.allowedOrigins || []));
  window.addEventListener("message", async (event) => {
    const data = event.data;
    if (!data || typeof data !== "object" || data.cassisLite !== 1 || !event.source) return;
    if (typeof data.method !== "string" || "ok" in data) return; // a reply, not a call
    if (!allowed.has(event.origin)) return; // answer only origins allowed at build time
    const reply = { cassisLite: 1, id: data.id };
    try {
      if (data.method === "ready" || data.method === "then" || /[^A-Za-z]/.test(data.method)) {
        throw new Error("unknown method " + data.method);
      }
      reply.result = await api[data.method](...(data.args || []));
      reply.ok = true;
    } catch (err) {
      reply.ok = false;
      reply.error = String(err && err.message || err);
    }
    event.source.postMessage(reply, event.origin);
  });

  // ---- offline: a service worker keeps the runtime for the next visit -----------------------
  function registerServiceWorker() {
    if (!("serviceWorker" in navigator) || !/^https?:$/.test(location.protocol)) return;
    navigator.serviceWorker.register("sw.js").catch((err) => console.warn("service worker:", err));
  }
})();
