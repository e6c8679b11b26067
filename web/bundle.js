// CASSIS lite start-up bundle: the files of the start-up packages in one download, written into
// Pyodide's file system before Python starts, and the extension modules a start-up snapshot
// needs, loaded at fixed addresses. Shared by the Web Worker and the site builder (Node), which
// makes the snapshot with this same code (build_scripts/site_snapshot.py).
//
// Format: "CLB1", uint32 (little-endian) length of a JSON header, the header
// {"files": [[path, bytes], ...], "preload": [path, ...], "tableStart": n}, then the files' bytes
// in header order.
"use strict";
(function (root) {
  function parse(buffer) {
    const bytes = new Uint8Array(buffer);
    const magic = String.fromCharCode(...bytes.subarray(0, 4));
    if (magic !== "CLB1") throw new Error("start-up bundle: bad magic " + JSON.stringify(magic));
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset + 4, 4).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    let offset = 8 + headerLength;
    const files = header.files.map(([path, size]) => {
      const data = bytes.subarray(offset, offset + size);
      offset += size;
      return [path, data];
    });
    if (offset !== bytes.length) throw new Error("start-up bundle: truncated or padded");
    return { files, preload: header.preload, tableStart: header.tableStart };
  }

  function writeFiles(FS, bundle) {
    const dirs = new Set();
    for (const [path, data] of bundle.files) {
      const dir = path.slice(0, path.lastIndexOf("/"));
      if (!dirs.has(dir)) {
        FS.mkdirTree(dir);
        dirs.add(dir);
      }
      FS.writeFile(path, data, { canOwn: true });
    }
  }

  // Before Python starts (Pyodide's fsInit hook, with the Emscripten Module): write the files,
  // then load the extension modules in the bundle's order. The runtime is not initialised yet,
  // so each module's memory is taken from the heap base in turn: the same addresses in every run,
  // which is what lets a memory snapshot made at build time point at them. Returns the heap base
  // and table size after loading, which must equal the snapshot's.
  async function install(FS, Module, bundle) {
    writeFiles(FS, bundle);
    // The function table too must start where it did at build time; a browser may have added an
    // entry of its own before this point, so the build leaves room and both grow to that size.
    const tableBefore = Module.wasmTable.length;
    if (bundle.tableStart != null) {
      if (tableBefore > bundle.tableStart) {
        throw new Error(`function table already has ${tableBefore} entries (snapshot: ${bundle.tableStart})`);
      }
      Module.wasmTable.grow(bundle.tableStart - tableBefore);
    }
    for (const path of bundle.preload) {
      await Module.loadDynamicLibrary(
        path, { loadAsync: true, nodelete: true, allowUndefined: true, global: false, fs: FS }, {});
    }
    return { heapBase: Module.getMemory(0), tableLength: Module.wasmTable.length, tableBefore };
  }

  // JavaScript functions a snapshot holds that are not reachable by name from the global scope
  // (Panel makes one with pyodide.code.run_js at import): kept as their source text.
  function serializeFunction(obj) {
    if (typeof obj !== "function") throw new Error("start-up snapshot: cannot keep " + String(obj));
    return { source: String(obj) };
  }

  function deserializeFunction(saved) {
    return (0, eval)("(" + saved.source + ")");
  }

  root.cassisBundle = { parse, install, writeFiles, serializeFunction, deserializeFunction };
})(typeof self !== "undefined" ? self : globalThis);
