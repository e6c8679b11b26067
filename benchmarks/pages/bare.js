// Reference page of benchmarks/startup.py: the same Pyodide runtime as CASSIS lite, in a Web
// Worker, importing NumPy; nothing else.
"use strict";
const w = new Worker("bare-worker.js");
w.onmessage = (e) => {
  window.cassisReadyAt = performance.now();
  document.documentElement.dataset.cassisState = e.data.ok ? "ready" : "error";
};
