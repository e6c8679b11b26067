// The sky view (sky.html): Aladin Lite (vendor/aladin/, self-hosted) beside CASSIS lite, which runs
// in the iframe (index.html). The cube's map is drawn on the sky as a FITS image layer made by
// the app (cassisLite.getMapFits: the map with the cube's celestial WCS); a click on the sky
// loads the spectrum there (cassisLite.selectSky); a square marks the pixel shown, also when it
// was chosen in the app's own map (cassisLite.getPixel, polled); ?positions= adds a catalogue.
//
// window.cassisLite here is the app's: every call is forwarded to the iframe with postMessage
// (the protocol of embed.js), so a script drives this page as it drives index.html.
//
// Nothing leaves the origin: no survey (survey: []), no HiPS list, no usage log (log: false), no
// SAMP, no layer browser (it queries the CDS MOC server); the page's policy (SKY_CSP in
// cassis_lite/commands/serve.py) blocks any other host.
import A from "./vendor/aladin/aladin.js";

const frame = document.getElementById("sky-app");
const statusEl = document.getElementById("sky-status");
const kindSelect = document.getElementById("sky-kind");
const root = document.documentElement;
const POLL_MS = 700;
const MAX_POSITIONS = 1000;

function status(text, isError) {
  statusEl.textContent = text; // text only: names and messages come from files and the address
  statusEl.classList.toggle("sky-error", !!isError);
}

// ---- window.cassisLite: the app's calls, through postMessage ---------------------------------
const appOrigin = location.origin;
let nextId = 1;
const pending = new Map();
window.addEventListener("message", (e) => {
  if (e.origin !== appOrigin || e.source !== frame.contentWindow) return;
  const data = e.data;
  if (!data || data.cassisLite !== 1 || !("ok" in data)) return;
  const p = pending.get(data.id);
  pending.delete(data.id);
  if (!p) return;
  if (data.ok) p.resolve(data.result);
  else p.reject(new Error(data.error));
});
const frameLoaded = new Promise((resolve) => {
  const doc = frame.contentDocument;
  if (doc && doc.readyState === "complete" && doc.URL !== "about:blank") resolve();
  else frame.addEventListener("load", () => resolve(), { once: true });
});
async function call(method, args) {
  await frameLoaded;
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    frame.contentWindow.postMessage({ cassisLite: 1, id, method, args: args || [] }, appOrigin);
  });
}
// every call waits for the app (main.js answers once Python is ready): getState is the probe
const appReady = call("getState", []);
appReady.catch(() => {}); // reported by start()
const own = { ready: () => appReady.then(() => true) };
const api = new Proxy(own, {
  get(target, name) {
    if (typeof name !== "string" || name === "then") return target[name];
    if (name in target) return target[name];
    return (...args) => call(name, args);
  },
});
window.cassisLite = api;

// ---- Aladin Lite ---------------------------------------------------------------------------
let aladin = null;
let mapCat = null; // the selected pixel's marker
let positionsCat = null;
let shownCube = null; // name of the cube whose map is on the sky
let shownPixel = null; // "x,y" of the marker
let mapUrl = null;
let clickedSource = null;

async function startAladin() {
  await A.init; // WebAssembly + WebGL2 (rejects without WebGL2)
  aladin = A.aladin("#sky-aladin", {
    survey: [], hipsList: [], log: false, samp: false, // nothing from the CDS servers
    target: "0 +0", fov: 180, cooFrame: "ICRS", projection: "TAN",
    showLayersControl: false, showSimbadPointerControl: false, showCooGridControl: false,
    showSettingsControl: false, showShareControl: false, showContextMenu: false, showColorPickerControl: false,
    showProjectionControl: false, showFullscreenControl: false, showReticle: false,
    backgroundColor: "rgb(18, 22, 30)",
  });
  mapCat = A.catalog({ name: "selected pixel", shape: "square", sourceSize: 18, color: "#e0245e" });
  positionsCat = A.catalog({ name: "positions", shape: "circle", sourceSize: 14, color: "#ffd166",
                             displayLabel: true, labelColumn: "name", labelColor: "#ffd166",
                             labelFont: "12px sans-serif" });
  aladin.addCatalog(positionsCat);
  aladin.addCatalog(mapCat);
  aladin.on("objectClicked", (obj) => { clickedSource = obj && obj.catalog === positionsCat ? obj : null; });
  aladin.on("click", (e) => {
    const source = clickedSource;
    clickedSource = null;
    if (e.isDragging) return;
    const [ra, dec] = source ? [source.ra, source.dec] : [e.ra, e.dec];
    select(ra, dec).catch(() => {});
  });
}

function showMarker(sky) {
  mapCat.clear();
  if (sky && sky.ra_deg !== null && sky.ra_deg !== undefined) {
    mapCat.addSources([A.source(sky.ra_deg, sky.dec_deg, { name: "selected pixel" })]);
  }
}

function describe(answer) {
  const [x, y] = answer.pixel;
  const s = answer.sky;
  const where = s && s.ra_deg !== null ? `: RA ${s.ra_deg.toFixed(5)}, Dec ${s.dec_deg.toFixed(5)} deg (ICRS)` : "";
  return `Pixel (${x}, ${y})${where}. Its spectrum is shown in CASSIS lite.`;
}

// A sky position (ICRS, deg) -> the spectrum there, in the app.
async function select(ra, dec) {
  if (!shownCube) {
    status("Open a FITS cube first (in CASSIS lite, or sky.html?cube=URL): a click then shows the spectrum there.", true);
    return null;
  }
  try {
    const answer = await api.selectSky(ra, dec);
    shownPixel = answer.pixel.join(",");
    showMarker(answer.sky);
    status(describe(answer));
    cassisSky.last = { pixel: answer.pixel, sky: answer.sky };
    return answer;
  } catch (err) {
    status(`RA ${Number(ra).toFixed(5)}, Dec ${Number(dec).toFixed(5)}: ${err.message}`, true);
    throw err;
  }
}

function fitsBlob(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new Blob([bytes], { type: "application/fits" });
}

// The cube's map (MOM0, MOM1, MOM2, PEAK) as the image layer; centred on it when `centre`.
async function showMap(kind, centre) {
  const m = await api.getMapFits(kind || kindSelect.value, {});
  const url = URL.createObjectURL(fitsBlob(m.fits_base64));
  const loaded = new Promise((resolve, reject) => {
    const image = A.image(url, {
      name: `${m.kind} (${m.unit})`, imgFormat: "fits", colormap: "viridis",
      successCallback: (ra, dec, fov) => {
        if (centre) {
          // the field of view is the view's width: a wide view needs more for the map's height
          const el = document.getElementById("sky-aladin");
          aladin.gotoRaDec(ra, dec);
          aladin.setFoV(fov * 1.15 * Math.max(1, el.clientWidth / Math.max(1, el.clientHeight)));
        }
        resolve();
      },
      errorCallback: (e) => reject(new Error(`Aladin Lite could not read the ${m.kind} map: ${e}`)),
    });
    aladin.setOverlayImageLayer(image, "cassis-map");
  });
  await loaded;
  if (mapUrl) URL.revokeObjectURL(mapUrl);
  mapUrl = url;
  kindSelect.value = m.kind;
  kindSelect.disabled = false;
  cassisSky.map = { kind: m.kind, unit: m.unit, nx: m.nx, ny: m.ny, frame: m.frame };
  return cassisSky.map;
}

// A cube is open in the app: its map on the sky and the marker on its pixel.
async function showCube(pixel) {
  shownCube = pixel.name;
  await showMap(kindSelect.value || "MOM0", true);
  shownPixel = pixel.pixel.join(",");
  showMarker(pixel.sky);
  status(`${pixel.name}: ${describe(pixel)} Click on the sky for the spectrum at another position.`);
}

// The app is the reference: a cube opened there, or a pixel chosen on its map, shows here.
async function follow() {
  try {
    const p = await api.getPixel();
    if (!p) {
      if (shownCube) {
        shownCube = shownPixel = null;
        aladin.removeImageLayer("cassis-map");
        mapCat.clear();
        kindSelect.disabled = true;
      }
    } else if (p.name !== shownCube) {
      await showCube(p);
    } else if (p.pixel.join(",") !== shownPixel) {
      shownPixel = p.pixel.join(",");
      showMarker(p.sky);
      status(describe(p));
    }
  } catch (err) {
    status(String(err.message || err), true);
  } finally {
    setTimeout(follow, POLL_MS);
  }
}

// ---- positions: a catalogue overlay --------------------------------------------------------
// ?positions=RA,DEC[,NAME];RA,DEC... (ICRS, deg); a click on one loads its spectrum.
function parsePositions(text) {
  const out = [];
  for (const item of text.split(";").map((s) => s.trim()).filter(Boolean)) {
    const [ra, dec, ...name] = item.split(",");
    const r = Number(ra), d = Number(dec);
    if (!Number.isFinite(r) || !Number.isFinite(d) || d < -90 || d > 90 || ra.trim() === "" || dec === undefined) {
      throw new Error(`positions: "${item.slice(0, 60)}" is not RA,DEC[,NAME] in degrees`);
    }
    out.push({ ra: r, dec: d, name: name.join(",").trim() || `#${out.length + 1}` });
    if (out.length > MAX_POSITIONS) throw new Error(`positions: more than ${MAX_POSITIONS}`);
  }
  return out;
}
function setPositions(list) {
  positionsCat.clear();
  const clean = (s) => String(s).replace(/[^\w .+()/:-]/g, "").slice(0, 40); // drawn as canvas text
  positionsCat.addSources(list.map((p) => A.source(Number(p.ra), Number(p.dec), { name: clean(p.name || "") })));
  return list.length;
}

const cassisSky = {
  get aladin() { return aladin; },
  showMap: (kind) => showMap(kind, false),
  select,
  setPositions,
  marker: () => (mapCat ? mapCat.getSources().map((s) => [s.ra, s.dec]) : []),
  positions: () => (positionsCat ? positionsCat.getSources().map((s) => [s.ra, s.dec, s.data.name]) : []),
  last: null,
  map: null,
};
window.cassisSky = cassisSky;

// ---- start ---------------------------------------------------------------------------------
async function openCubeParam(param) {
  let url;
  try {
    url = new URL(param, location.href);
  } catch {
    throw new Error(`cube=${param.slice(0, 200)} is not a URL`);
  }
  if (url.origin !== location.origin) {
    throw new Error(`cube=${param.slice(0, 200)}: the cube must be a file of this site (${location.origin}); ` +
                    "download it and open it in CASSIS lite instead");
  }
  status(`Opening ${url.pathname.split("/").pop()}...`);
  try {
    await api.loadSpectrum(url.href);
  } catch (err) {
    throw new Error(`Could not open the cube ${param.slice(0, 200)}: ${err.message}`);
  }
  const state = await api.getState();
  if (!state.cube) {
    throw new Error(`${param.slice(0, 200)} is not a cube: CASSIS lite opened it as one spectrum. A cube is a ` +
                    "FITS image with two sky axes and a spectral axis.");
  }
}

async function start() {
  const params = new URLSearchParams(location.search);
  kindSelect.addEventListener("change", () => {
    showMap(kindSelect.value, false).catch((err) => status(String(err.message || err), true));
  });
  try {
    await startAladin();
  } catch (err) {
    root.dataset.skyState = "error";
    status(`Aladin Lite cannot start in this browser (${err.message || err}); CASSIS lite works without it.`, true);
    return;
  }
  let problem = null;
  if (params.has("positions")) {
    try {
      setPositions(parsePositions(params.get("positions")));
    } catch (err) {
      problem = err.message;
    }
  }
  try {
    await appReady;
  } catch (err) {
    root.dataset.skyState = "error";
    status(`CASSIS lite did not start: ${err.message}`, true);
    return;
  }
  if (params.has("cube")) {
    try {
      await openCubeParam(params.get("cube"));
    } catch (err) {
      problem = err.message;
    }
  }
  try {
    const p = await api.getPixel();
    if (p) await showCube(p);
  } catch (err) {
    problem = problem || String(err.message || err);
  }
  if (problem) status(problem, true);
  else if (!shownCube) status("Open a FITS cube in CASSIS lite (right): its map is drawn here; a click on the sky shows the spectrum there.");
  root.dataset.skyState = problem ? "error" : "ready";
  setTimeout(follow, POLL_MS);
}
start();
