// The embedding demo (embed.html): drives the app in the iframe with postMessage.
"use strict";
(function () {
  const frame = document.getElementById("app");
  const out = document.getElementById("out");
  const origin = new URL(frame.src, location.href).origin;
  let nextId = 1;
  const pending = new Map();
  window.addEventListener("message", (e) => {
    if (e.origin !== origin || !e.data || e.data.cassisLite !== 1) return;
    const p = pending.get(e.data.id);
    pending.delete(e.data.id);
    if (p) (e.data.ok ? p.resolve(e.data.result) : p.reject(new Error(e.data.error)));
  });
  function call(method, ...args) {
    return new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      frame.contentWindow.postMessage({ cassisLite: 1, id, method, args }, origin);
    });
  }
  function show(p) {
    out.textContent = "...";
    p.then((r) => { out.textContent = JSON.stringify(r, null, 1).slice(0, 4000); })
     .catch((e) => { out.textContent = "error: " + e.message; });
  }
  document.getElementById("state").onclick = () => show(call("getState"));
  document.getElementById("lines").onclick = () => show(call("getLines", { species: ["CO"] }));
  document.getElementById("co").onclick = () => show(call("setModel", {
    telescope: { name: "hifi" }, components: [{ name: "c1", tex_k: 100, fwhm_kms: 4, vlsr_kms: 3.8,
    size_arcsec: 30, species: [{ species: "CO", ntot_cm2: 1e16 }] }] }).then(() => call("getState")));
})();
