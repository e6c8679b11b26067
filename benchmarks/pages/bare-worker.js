// Benchmark reference: the same Pyodide boot as worker.js, then `import numpy`.
importScripts("pyodide/pyodide.js");
(async () => {
  try {
    const base = new URL(".", self.location.href).href;
    const pyodide = await loadPyodide({ indexURL: base + "pyodide/", lockFileURL: base + "pyodide/pyodide-lock.json" });
    await pyodide.loadPackage(["numpy"]);
    await pyodide.runPythonAsync("import numpy");
    self.postMessage({ ok: true });
  } catch (err) {
    console.error(err);
    self.postMessage({ ok: false });
  }
})();
