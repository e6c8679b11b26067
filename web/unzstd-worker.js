// CASSIS lite: fetches and decodes the start-up snapshot's zstd files for the Python worker, in a
// worker of its own, so decoding runs beside the runtime's start and zstddec's memory (~80 MB
// once the snapshot is decoded) goes away when the Python worker ends this one.
// Message in: {id, url, integrity}; out: {id, ok, data (transferred) | error}.
"use strict";
importScripts("vendor/zstddec.js");
const decoder = new self.ZSTDDecoder();
const ready = decoder.init();

self.onmessage = async (event) => {
  const { id, url, integrity } = event.data;
  try {
    const resp = await fetch(url, { integrity });
    if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
    const compressed = new Uint8Array(await resp.arrayBuffer());
    await ready;
    const data = decoder.decode(compressed);
    self.postMessage({ id, ok: true, data }, [data.buffer]);
  } catch (err) {
    self.postMessage({ id, ok: false, error: String(err && err.message || err) });
  }
};
