// CASSIS lite and the other applications of the Virtual Observatory (TOPCAT, Aladin, DS9, CASSIS
// desktop) through a SAMP hub's Web Profile (http://localhost:21012). Opt-in: nothing talks to the
// hub before the user clicks "Connect to SAMP hub" (or a script calls cassisLite.sampConnect()).
// sampjs (vendor/samp.js, CC0, by the author of TOPCAT) is loaded then.
//
// Receive: spectrum.load.ssa-generic opens a spectrum; table.load.votable and table.load.fits a
// spectrum if the table is one, else a line list overlaid beside the database (the URL read
// through the hub's translator, so that no other origin is fetched); coord.pointAt.sky, in cube
// mode, the spectrum at that position.
// Send: the spectrum (spectrum.load.ssa-generic), the model and the line table (table.load.votable)
// as VOTable, the cube's map shown (a moment or fitted map) as a FITS image (image.load.fits); once connected, a pixel chosen in the cube's map as coord.pointAt.sky, and a line
// chosen in the plot or the table as table.highlight.row of the line table sent last. Other
// applications cannot read a blob: URL, so the page hands the file to its own server (cassis-lite
// serve: POST share -> /share/<token>) and sends that URL; a static host cannot do this, and the
// page says so.
self.cassisSamp = (function () {
  "use strict";
  const MAX_BYTES = 512 * 2 ** 20; // what a tab reads (cassis_lite.readers.MAX_IN_MEMORY_BYTES)
  const RECEIVED = ["spectrum.load.ssa-generic", "table.load.votable", "table.load.fits", "coord.pointAt.sky"];
  let connector = null;
  let tracker = null;
  let sentLines = null; // {tableId, url} of the line table sent last (what table.highlight.row names)
  let pointing = false; // a received coord.pointAt.sky is being shown: its pixel is not sent back
  let nextTable = 1;
  let listening = false;
  const listeners = new Set();

  function loadSampjs() {
    if (self.samp) return Promise.resolve(self.samp);
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "vendor/samp.js";
      script.onload = () => resolve(self.samp);
      script.onerror = () => reject(new Error("the SAMP client (vendor/samp.js) could not be loaded"));
      document.head.appendChild(script);
    });
  }
  // a hub method as a promise (sampjs takes result and error handlers)
  function hub(conn, method, args) {
    return new Promise((resolve, reject) => {
      conn[method](args, resolve, (err) => reject(new Error(`SAMP ${method}: ${err && (err.faultString || err.message) || err}`)));
    });
  }
  function connection() {
    const conn = connector && connector.connection;
    if (!conn) throw new Error("not connected to a SAMP hub: connect first");
    return conn;
  }
  function changed(state) { for (const fn of listeners) { try { fn(state); } catch (err) { /* a listener's bug */ } } }

  async function clients() {
    const conn = connection();
    const ids = await hub(conn, "getRegisteredClients", []);
    const hubId = conn.regInfo && conn.regInfo["samp.hub-id"];
    const out = [];
    for (const id of ids) {
      let meta = {};
      try { meta = await hub(conn, "getMetadata", [id]); } catch (err) { meta = {}; }
      out.push({ id, name: String(meta["samp.name"] || id), hub: id === hubId });
    }
    return out;
  }

  async function receive(mtype, params, app) {
    if (mtype === "coord.pointAt.sky") {
      const ra = Number(params && params.ra), dec = Number(params && params.dec);
      if (!Number.isFinite(ra) || !Number.isFinite(dec)) throw new Error("coord.pointAt.sky without a numeric ra and dec");
      pointing = true;
      try {
        const answer = await app.selectSky(ra, dec);
        return `the spectrum of pixel (${answer.pixel.join(", ")}) at RA ${ra.toFixed(5)}, Dec ${dec.toFixed(5)}`;
      } finally {
        pointing = false;
      }
    }
    const url = params && params.url;
    if (typeof url !== "string" || !url) throw new Error("the SAMP message has no url");
    const name = String(params.name || decodeURIComponent(url.split("?")[0].split("/").pop() || "spectrum"));
    const resp = await fetch(connection().translateUrl(url));
    if (!resp.ok) throw new Error(`${name}: the hub could not fetch it (HTTP ${resp.status})`);
    const size = Number(resp.headers.get("content-length") || 0);
    if (size > MAX_BYTES) throw new Error(`${name}: ${(size / 2 ** 20).toFixed(0)} MiB is over the ${MAX_BYTES / 2 ** 20} MiB a tab reads`);
    if (mtype === "spectrum.load.ssa-generic") return (await app.loadSpectrum(await resp.arrayBuffer(), name)).name;
    const answer = await app.openTable(await resp.arrayBuffer(), name);
    return answer.kind === "lines" ? `the line list ${answer.name} (${answer.n_lines} lines)` : answer.name;
  }

  // what the app tells (web/main.js dispatches the worker's events), sent once connected
  async function notifyAll(mtype, params) {
    if (!(connector && connector.connection)) return;
    try { await hub(connector.connection, "notifyAll", [new self.samp.Message(mtype, params)]); } catch (err) { /* no one listens */ }
  }
  function listenToApp() {
    self.addEventListener("cassislite-pixel", (event) => {
      const sky = event.detail && event.detail.sky;
      if (pointing || !sky || sky.ra_deg == null || sky.dec_deg == null) return;
      notifyAll("coord.pointAt.sky", { ra: String(sky.ra_deg), dec: String(sky.dec_deg) });
    });
    self.addEventListener("cassislite-line", (event) => {
      const row = event.detail && event.detail.row;
      if (!sentLines || row == null) return;
      notifyAll("table.highlight.row", { "table-id": sentLines.tableId, url: sentLines.url, row: String(row) });
    });
  }

  async function connect(app, onMessage) {
    const samp = await loadSampjs();
    if (connector && connector.connection) return { clients: await clients() };
    tracker = new samp.ClientTracker();
    for (const mtype of RECEIVED) {
      tracker.callHandler[mtype] = (senderId, message) => {
        const sender = tracker.getName(senderId);
        receive(mtype, message["samp.params"], app).then(
          (what) => onMessage(`Received ${what} from ${sender} (SAMP).`, false),
          (err) => onMessage(`SAMP, from ${sender}: ${err && err.message || err}`, true));
      };
    }
    tracker.onchange = () => changed("clients");
    if (!listening) { listenToApp(); listening = true; }
    const meta = {
      "samp.name": "CASSIS lite",
      "samp.description.text": "Spectra, line catalogue and LTE/non-LTE models in the browser",
      "samp.documentation.url": new URL(".", location.href).href,
    };
    connector = new samp.Connector("CASSIS lite", meta, tracker, tracker.calculateSubscriptions());
    connector.onunreg = () => changed("off");
    await new Promise((resolve, reject) => {
      connector.runWithConnection(resolve, (err) => {
        connector = null;
        reject(new Error("no SAMP hub accepted the connection at localhost:21012 (start TOPCAT, Aladin or " +
                         "another hub with the Web Profile, and accept CASSIS lite in its dialog)" +
                         (err && (err.faultString || err.message) ? ": " + (err.faultString || err.message) : "")));
      });
    });
    changed("on");
    return { clients: await clients() };
  }

  // the file of a kind: the spectrum, model or line table as VOTable text, the cube's map shown
  // as a FITS image
  async function exported(app, kind) {
    if (kind !== "map") return app.exportText(kind, "votable");
    const map = await app.getMapFits(null);
    const bytes = Uint8Array.from(atob(map.fits_base64), (c) => c.charCodeAt(0));
    const stem = String(map.name || "cube").replace(/\.fits?$/i, "").replace(/[^\w.+-]+/g, "_");
    return { text: bytes, media_type: "image/fits", name: `${stem}_${map.kind}.fits` };
  }

  async function send(app, kind, recipient) {
    const conn = connection();
    const mtype = { spectrum: "spectrum.load.ssa-generic", map: "image.load.fits" }[kind] || "table.load.votable";
    const file = await exported(app, kind);
    const resp = await fetch("share", {
      method: "POST", body: file.text,
      headers: { "Content-Type": file.media_type, "X-Filename": file.name },
    });
    if ([404, 405, 501].includes(resp.status)) {
      throw new Error("sending needs the page served by `cassis-lite serve`: a static host cannot serve the data " +
                      "to other applications (save the file and open it there instead)");
    }
    if (!resp.ok) throw new Error(`the server did not take the ${kind}: ${(await resp.text()).slice(0, 200)}`);
    const shared = await resp.json();
    const params = { url: new URL(shared.url, location.href).href, name: file.name };
    if (kind === "spectrum") params.meta = { "Access.Format": file.media_type, "Target.Name": file.name };
    if (kind === "map") params["image-id"] = file.name;
    if (kind === "lines") {
      params["table-id"] = `cassis-lite-lines-${nextTable++}`;
      sentLines = { tableId: params["table-id"], url: params.url };
    }
    const message = new self.samp.Message(mtype, params);
    const to = recipient ? [recipient] : await hub(conn, "notifyAll", [message]);
    if (recipient) await hub(conn, "notify", [recipient, message]);
    return { mtype, url: params.url, recipients: to };
  }

  return {
    connect, send, clients,
    connected: () => !!(connector && connector.connection),
    onChange: (fn) => listeners.add(fn),
  };
})();
