// CASSIS lite lazy files: a read-only file of Pyodide's (Emscripten's) file system whose reads
// fetch only the bytes they touch, from a URL (HTTP range requests, synchronous XHR: allowed in
// a Web Worker) or from a File/Blob the page handed over (Blob.slice + FileReaderSync). SQLite
// opened on such a file (`file:/lazy/full.db?mode=ro&immutable=1`) reads the pages a query needs
// and nothing else: a line database of gigabytes is queried without being downloaded or read whole.
//
// Loaded by web/worker.js on first use (importScripts), not at start-up.
//
// Why not Emscripten's FS.createLazyFile: it fetches fixed 1 MiB chunks (its chunk size is a
// constant of the code), so a query that touches 20 pages scattered over a file reads 20 MiB; it
// copies byte by byte through a getter, keeps every chunk forever, and a failed request throws a
// JavaScript error through the WebAssembly stack. Here:
// - the chunk size is chosen (default 16 KiB: the page size of CASSIS lite's databases is 4 KiB;
//   benchmarks/lazydb_browser.py measures 4, 16 and 64 KiB);
// - read-ahead per "read head": a miss right after the chunks the same head fetched last doubles
//   that head's request (up to `maxSpan` chunks), so a scan of consecutive pages (rows clustered by
//   frequency) costs few requests, while scattered reads (b-tree descents) stay one chunk each;
// - chunks live in an LRU cache of `cacheBytes` (default 32 MiB);
// - a failure (HTTP error, offline, file changed on the server or on disk) is an I/O error for
//   SQLite (EIO), with its reason kept in `lastError` for the message the app shows;
// - `stats()` counts requests, bytes fetched and bytes read, for tests and benchmarks.
// The service worker (web/sw.js) keeps fetched ranges for offline reuse.
"use strict";
(function () {
  const EIO = 29; // Emscripten's (WASI) errno numbers
  const EPERM = 63;
  const DEFAULTS = { chunkSize: 16384, cacheBytes: 32 * 2 ** 20, maxSpan: 64, heads: 4 };

  class ReadError extends Error {}

  // ---- byte sources: {name, size, read(first, last) -> Uint8Array (inclusive range)} -------------
  function httpSource(url, chunkSize) {
    let etag = null;
    function get(first, last) {
      const xhr = new XMLHttpRequest();
      xhr.open("GET", url, false);
      xhr.responseType = "arraybuffer";
      xhr.setRequestHeader("Range", `bytes=${first}-${last}`);
      if (etag) xhr.setRequestHeader("If-Range", etag);
      try {
        xhr.send(null);
      } catch (err) {
        throw new ReadError(`${url}: could not be fetched (offline, or the server refused it)`);
      }
      return xhr;
    }
    // the first request gives the size (Content-Range) and the file's first chunk (its header)
    const head = get(0, chunkSize - 1);
    let size;
    let whole = null;
    if (head.status === 206) {
      const m = /\/(\d+)\s*$/.exec(head.getResponseHeader("Content-Range") || "");
      if (!m) throw new ReadError(`${url}: the server's answer to a range request has no size (Content-Range)`);
      size = Number(m[1]);
      etag = head.getResponseHeader("ETag");
    } else if (head.status === 416) {
      size = 0;
    } else if (head.status === 200) {
      // a server without range requests sent the whole file: it is in memory now
      whole = new Uint8Array(head.response);
      size = whole.length;
    } else if (head.status === 404) {
      throw new ReadError(`${url}: not on this site (HTTP 404)`);
    } else {
      throw new ReadError(`${url}: HTTP ${head.status || "error (offline?)"}`);
    }
    const first = head.status === 206 ? new Uint8Array(head.response) : null;
    if (first && first.length !== Math.min(chunkSize, size)) {
      throw new ReadError(`${url}: asked for ${Math.min(chunkSize, size)} bytes, got ${first.length} (an encoded answer?)`);
    }
    return {
      name: url, size, whole, first, requests: 1, bytes: first ? first.length : (whole ? whole.length : 0),
      read(a, b) {
        if (whole) return whole.subarray(a, b + 1);
        const xhr = get(a, b);
        this.requests += 1;
        if (xhr.status === 200) throw new ReadError(`${url}: the file changed on the server (or it stopped answering ranges): open it again`);
        if (xhr.status !== 206) throw new ReadError(`${url}: HTTP ${xhr.status || "error (offline?)"}`);
        const data = new Uint8Array(xhr.response);
        const m = /^bytes\s+(\d+)-(\d+)\/(\d+)/.exec(xhr.getResponseHeader("Content-Range") || "");
        if (!m || Number(m[1]) !== a || Number(m[3]) !== size || data.length !== b - a + 1) {
          throw new ReadError(`${url}: the server answered another range than bytes ${a}-${b} of ${size}`);
        }
        this.bytes += data.length;
        return data;
      },
    };
  }

  function blobSource(blob, name) {
    const reader = new FileReaderSync();
    return {
      name: name || blob.name || "file", size: blob.size, whole: null, first: null, requests: 0, bytes: 0,
      read(a, b) {
        let buf;
        try {
          buf = reader.readAsArrayBuffer(blob.slice(a, b + 1));
        } catch (err) {
          throw new ReadError(`${this.name}: could not be read (moved, changed or removed since it was opened?)`);
        }
        this.requests += 1;
        this.bytes += buf.byteLength;
        if (buf.byteLength !== b - a + 1) throw new ReadError(`${this.name}: shorter than when it was opened`);
        return new Uint8Array(buf);
      },
    };
  }

  // ---- the lazy file: chunks, read heads, LRU cache ------------------------------------------
  class LazyFile {
    constructor(source, options) {
      const o = { ...DEFAULTS, ...(options || {}) };
      this.source = source;
      this.size = source.size;
      this.chunkSize = o.chunkSize;
      this.cacheBytes = Math.max(o.cacheBytes, o.chunkSize * o.maxSpan);
      this.maxSpan = o.readahead === false ? 1 : o.maxSpan;
      this.nHeads = o.heads;
      this.heads = []; // {next: chunk after the last fetched, span: chunks of the next fetch}
      this.cache = new Map(); // chunk index -> Uint8Array, in least-recently-used order
      this.cached = 0;
      this.reads = 0;
      this.bytesRead = 0;
      this.hits = 0;
      this.lastError = null;
      if (source.first) this.put(0, source.first);
    }

    put(index, data) {
      this.cache.set(index, data);
      this.cached += data.length;
      while (this.cached > this.cacheBytes && this.cache.size > 1) {
        const [oldest, bytes] = this.cache.entries().next().value;
        this.cache.delete(oldest);
        this.cached -= bytes.length;
      }
    }

    chunk(index) {
      const hit = this.cache.get(index);
      if (hit) {
        this.cache.delete(index); // most recently used goes last
        this.cache.set(index, hit);
        this.hits += 1;
        return hit;
      }
      const last = Math.ceil(this.size / this.chunkSize) - 1;
      let head = this.heads.find((h) => h.next === index);
      if (head) {
        head.span = Math.min(head.span * 2, this.maxSpan);
        this.heads.splice(this.heads.indexOf(head), 1);
      } else {
        head = { next: index, span: 1 };
      }
      this.heads.unshift(head);
      this.heads.length = Math.min(this.heads.length, this.nHeads);
      let n = 1;
      while (n < head.span && index + n <= last && !this.cache.has(index + n)) n += 1;
      const first = index * this.chunkSize;
      const end = Math.min((index + n) * this.chunkSize, this.size) - 1;
      const data = this.source.read(first, end);
      for (let k = 0; k < n; k++) {
        this.put(index + k, data.subarray(k * this.chunkSize, Math.min((k + 1) * this.chunkSize, data.length)));
      }
      head.next = index + n;
      return this.cache.get(index);
    }

    // copy `length` bytes at `position` into `buffer` at `offset`; returns the bytes copied
    read(buffer, offset, length, position) {
      if (position >= this.size || length <= 0) return 0;
      const end = Math.min(position + length, this.size);
      let done = 0;
      for (let p = position; p < end;) {
        const index = Math.floor(p / this.chunkSize);
        const data = this.chunk(index);
        const start = p - index * this.chunkSize;
        const n = Math.min(data.length - start, end - p);
        buffer.set(data.subarray(start, start + n), offset + done);
        done += n;
        p += n;
      }
      this.reads += 1;
      this.bytesRead += done;
      return done;
    }

    stats() {
      return {
        name: this.source.name, size: this.size, chunkSize: this.chunkSize, readahead: this.maxSpan > 1,
        requests: this.source.requests, bytesFetched: this.source.bytes, reads: this.reads, bytesRead: this.bytesRead,
        cacheHits: this.hits, cachedBytes: this.cached, lastError: this.lastError,
      };
    }
  }

  // ---- the node in the file system -----------------------------------------------------------
  const files = new Map(); // path -> LazyFile

  function mkdirs(FS, dir) {
    let at = "";
    for (const part of dir.split("/").filter(Boolean)) {
      at += "/" + part;
      try { FS.mkdir(at); } catch (err) { /* exists */ }
    }
  }

  function mount(FS, path, lazy) {
    const slash = path.lastIndexOf("/");
    const dir = path.slice(0, slash) || "/";
    mkdirs(FS, dir);
    try { FS.unlink(path); } catch (err) { /* none yet */ }
    const node = FS.createFile(dir, path.slice(slash + 1), {}, true, false);
    Object.defineProperty(node, "usedBytes", { get: () => lazy.size });
    node.contents = null;
    node.stream_ops = {
      llseek(stream, offset, whence) {
        let position = offset;
        if (whence === 1) position += stream.position;
        else if (whence === 2) position += lazy.size;
        if (position < 0) throw new FS.ErrnoError(28);
        return position;
      },
      read(stream, buffer, offset, length, position) {
        try {
          return lazy.read(buffer, offset, length, position);
        } catch (err) {
          lazy.lastError = String(err && err.message || err);
          console.warn("CASSIS lite lazy file:", lazy.lastError);
          throw new FS.ErrnoError(EIO);
        }
      },
      write() { throw new FS.ErrnoError(EPERM); },
    };
    files.set(path, lazy);
    return lazy.stats();
  }

  function open(FS, path, make) {
    try {
      return mount(FS, path, make());
    } catch (err) {
      if (err instanceof ReadError) return { error: err.message };
      throw err;
    }
  }

  self.cassisLazyFile = {
    // a file at `path` whose bytes are those of `url` (fetched by range); {stats} or {error}
    mountUrl: (FS, path, url, options) => open(FS, path, () => {
      const o = { ...DEFAULTS, ...(options || {}) };
      return new LazyFile(httpSource(new URL(url, self.location.href).href, o.chunkSize), o);
    }),
    // a file at `path` whose bytes are those of a File/Blob (read by slices)
    mountBlob: (FS, path, blob, name, options) => open(FS, path, () => new LazyFile(blobSource(blob, name), options)),
    stats: (path) => (files.has(path) ? files.get(path).stats() : null),
    // the reason of the last failed read (then forgotten), or null
    takeError(path) {
      const f = files.get(path);
      const error = f ? f.lastError : null;
      if (f) f.lastError = null;
      return error;
    },
    // empties a file's chunk cache (benchmarks: each query from cold)
    dropCache(path) {
      const f = files.get(path);
      if (!f) return false;
      f.cache.clear();
      f.cached = 0;
      f.heads = [];
      return true;
    },
    unmount(FS, path) {
      files.delete(path);
      try { FS.unlink(path); } catch (err) { return false; }
      return true;
    },
  };
})();
