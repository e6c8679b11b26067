"""Glue between the browser's Web Worker (web/worker.js) and the Panel app, in Pyodide.

``start`` builds the app into a Bokeh document and returns it as JSON for the page to render;
``link`` then mirrors document changes to the page (``sendPatch``), ``apply_patch`` applies the
page's changes, and ``call`` answers ``window.cassisLite`` calls. Calls are dispatched by name to
the view's ``api`` (each card declares its own); ``api_names`` tells the page which exist. A call
answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "type": "ReadError", "message": ...}``
as JSON text: errors cross to the page as data.
"""

from __future__ import annotations

import json
import math
from urllib.parse import parse_qs, urljoin

from cassis_lite.app.link import decode_state
from cassis_lite.app.runtime import ensure_packages, lazy_package_for
from cassis_lite.app.state import to_jsonable
from cassis_lite.app.view import CassisView
from cassis_lite.errors import CassisError

_app: dict = {}
#: URL parameters of the model (``?species=CO&tex=80&ntot=1e16&fwhm=3&vlsr=3.8&size=10``): model card params
MODEL_PARAMS = {"tex": "tex_k", "fwhm": "fwhm_kms", "vlsr": "vlsr_kms", "size": "size_arcsec", "ntot": "log_ntot"}


async def fetch_bytes(url: str, body: bytes | None = None, content_type: str | None = None) -> bytes:
    """GET ``url`` (POST ``body`` when given); an HTTP error says the server's text reason."""
    from pyodide.http import AbortError, pyfetch

    options = {} if body is None else {"method": "POST", "body": bytes(body),
                                       "headers": {"Content-Type": content_type or "application/octet-stream"}}
    try:
        resp = await pyfetch(url, **options)
    except (AbortError, OSError) as exc:
        raise CassisError(f"{url}: could not be fetched (offline, or the server refused it): {exc}") from None
    if not resp.ok:
        reason = ""
        if (resp.headers.get("content-type") or "").startswith("text/plain"):
            reason = ": " + (await resp.string()).strip()[:300]
        raise CassisError(f"{url}: HTTP {resp.status}{reason}")
    return await resp.bytes()


def _as_bytes(data) -> bytes:
    if hasattr(data, "to_bytes"):  # a JsProxy of an ArrayBuffer
        return data.to_bytes()
    if isinstance(data, memoryview):
        return data.tobytes()
    return bytes(data)


def _param(params: dict, key: str):
    values = params.get(key)
    return values[-1] if values else None


def apply_url_parameters(view: CassisView, params: dict) -> list[str]:
    """The model and line-filter URL parameters, applied after the spectrum is loaded (so that
    ``vlsr`` is not overridden by the file's). Bad values are ignored and reported: the returned
    messages say which and why. A value beyond a slider's range widens it."""
    problems = []
    card = view.model_card
    updates = {}
    for key, name in MODEL_PARAMS.items():
        text = _param(params, key)
        if text is None:
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if key == "ntot":
            value = math.log10(value) if value > 0 else math.nan
        lo, hi = card.param[name].bounds
        if not math.isfinite(value):
            problems.append(f"URL parameter {key}={text!r} is not a number: ignored")
        elif not lo <= value <= hi:
            shown = (10 ** lo, 10 ** hi) if key == "ntot" else (lo, hi)
            problems.append(f"URL parameter {key}={text!r} is outside [{shown[0]:g}, {shown[1]:g}]: ignored")
        else:
            updates[name] = value
    species = _param(params, "species")
    if species:
        updates["species"] = species.strip()
    if updates and view.session.model_config is not None:
        d = view.session.model_config.to_dict()
        comp, first = d["components"][0], d["components"][0]["species"][0]
        for name, value in updates.items():
            if name == "log_ntot":
                first["ntot_cm2"] = 10.0 ** value
            elif name == "species":
                first["species"] = value
            else:
                comp[name] = value
        try:
            view.session.set_model(d)
        except CassisError as exc:
            problems.append(f"URL parameters of the model: {exc}")
    lines = _param(params, "lines")
    if lines:
        try:
            view.session.set_filters({"species": lines})
        except CassisError as exc:
            problems.append(f"URL parameter lines={lines!r}: {exc}")
    return problems


def _pyodide_compat() -> None:
    """Panel 1.8 checks ``pyodide.ffi.jsnull`` (Pyodide >= 0.28); on 0.27 JS null already
    converts to None, so a sentinel that nothing is identical to keeps its code path right."""
    import pyodide.ffi

    if not hasattr(pyodide.ffi, "jsnull"):
        pyodide.ffi.jsnull = object()


async def start(site_json: str, start_json: str):
    """Build the app; returns (docs_json, render_items, root_ids) for the page."""
    _pyodide_compat()
    import time

    from panel.io.pyodide import init_doc, write_doc

    site = json.loads(site_json)
    start_msg = json.loads(start_json)
    debug = "debug" in parse_qs(start_msg.get("search", "").lstrip("?"), keep_blank_values=True)
    t0 = time.perf_counter()

    def mark(what):
        if debug:
            print(f"[cassis-lite] start: {what} at {time.perf_counter() - t0:.2f} s")
    _app["lazy"] = list(site.get("lazyPackages", []))
    base = urljoin(start_msg["href"], ".")
    init_doc()
    samples = {}
    for name in site.get("samples", []):
        samples[name] = await fetch_bytes(urljoin(base, "samples/" + name))
    try:
        samples_meta = json.loads(await fetch_bytes(urljoin(base, "samples/samples.json")))
    except (CassisError, ValueError):
        samples_meta = {}
    mark("samples fetched")
    params = parse_qs(start_msg.get("search", "").lstrip("?"))
    webgl = {"1": True, "0": False}.get(_param(params, "webgl"), bool(start_msg.get("webgl", True)))
    view = CassisView(samples=samples, fetch_url=lambda url, **post: fetch_bytes(urljoin(start_msg["href"], url), **post),
                      webgl=webgl, defer_analysis=True, samples_meta=samples_meta)
    _app["view"] = view
    import js  # the worker's global scope (web/worker.js): what the page may tell other applications

    view.on_event(lambda name, detail: js.cassisEmit(name, json.dumps(to_jsonable(detail))))
    mark("view built")
    problems = []
    link = None
    try:
        link = decode_state(start_msg.get("hash", ""))
    except CassisError as exc:
        problems.append(str(exc))
    if link is not None and link.get("spectrum"):
        problems += await view.restore_link(link)  # its spectrum first: no other is opened before it
        link = None if view.session.spectrum is not None else \
            {k: v for k, v in link.items() if k not in ("spectrum", "database")}
    url = _param(params, "spectrum")
    sample = _param(params, "sample")
    if sample and sample not in samples:
        problems.append(f"unknown sample {sample!r} (bundled: {', '.join(samples)})")
    try:
        if view.session.spectrum is not None:
            pass
        elif url:
            view.load(await fetch_bytes(urljoin(start_msg["href"], url)), url.rsplit("/", 1)[-1], source_url=url)
        elif sample in samples:
            view.open_sample(sample)
        elif samples:
            view.open_sample(next((n for n in samples if n.endswith(".lis")), next(iter(samples))))
    except CassisError as exc:
        problems.append(str(exc))
    mark("spectrum loaded")
    problems += apply_url_parameters(view, params)
    if link is not None:
        problems += await view.restore_link(link)
    if "demo" in parse_qs(start_msg.get("search", "").lstrip("?"), keep_blank_values=True):
        view.demo.start()
    if problems:
        view.show_error("; ".join(problems))
    view.layout.servable()
    mark("servable")
    out = await write_doc()
    mark("document written")
    return out


def api_names() -> str:
    """The ``window.cassisLite`` calls the app serves (JSON list), for the page."""
    return json.dumps(sorted(set(_app["view"].api) | set(DATA_CALLS)))


def link(send_patch) -> None:
    from panel.io.pyodide import _link_docs_worker
    from panel.io.state import state

    _link_docs_worker(state.curdoc, send_patch, setter="js")


def add_analysis() -> None:
    """After ready: the analysis cards, sent to the page as a patch of the linked document."""
    _app["view"].add_analysis()


def apply_patch(patch) -> None:
    from panel.io.pyodide import _convert_json_patch
    from panel.io.state import state

    state.curdoc.apply_json_patch(_convert_json_patch(patch), setter="js")


async def call(method: str, args_json: str, data=None) -> str:
    """Run one ``window.cassisLite`` call (``args_json``: its arguments as a JSON list; ``data``:
    the bytes of a file for loadSpectrum / probeFile). A call that needs a lazy site package
    (SciPy for fits) installs it and runs again. Returns the answer as JSON text."""
    try:
        args = json.loads(args_json or "[]")
        for _ in range(3):
            try:
                result = await _call(method, args, data)
                break
            except ModuleNotFoundError as exc:
                package = lazy_package_for(exc.name or "", _app.get("lazy", []))
                if package is None:
                    raise
                await ensure_packages([package])
        else:
            result = await _call(method, args, data)
        return json.dumps({"ok": True, "result": to_jsonable(result)})
    except Exception as exc:  # noqa: BLE001 - every error goes back to the page as data
        kind = type(exc).__name__
        message = str(exc) if isinstance(exc, CassisError) else f"{kind}: {exc}"
        if isinstance(exc, ModuleNotFoundError):
            from cassis_lite.app.cards.base import missing_package_message

            message = missing_package_message(exc)
        return json.dumps({"ok": False, "type": kind, "user_error": isinstance(exc, CassisError),
                           "message": message})


#: the calls that take a file's bytes (``data``) besides their JSON arguments
DATA_CALLS = ("loadSpectrum", "probeFile", "loadLineList", "openTable")


async def _call(method: str, args: list, data):
    view: CassisView = _app["view"]
    if method in ("loadLineList", "openTable"):
        # a table received from another application (SAMP) may be a spectrum or a line list
        view.add_analysis()
        name = str(args[0] if args else "") or "lines"
        return view.open_table(_as_bytes(data), name, spectrum_first=method == "openTable")
    if method == "loadSpectrum":
        name = str(args[0] if args else "") or "spectrum"
        view.load(_as_bytes(data), name, source_url=str(args[1]) if len(args) > 1 and args[1] else None)
        return view.session.state()["spectrum"]
    if method == "probeFile":
        # the page sends a file's first 64 KiB and its size before reading it whole
        from cassis_lite.readers import probe

        name, size = str(args[0]), int(args[1])
        try:
            return probe(_as_bytes(data), size, name)
        except CassisError as exc:
            view.show_error(str(exc))  # the spectrum shown before stays
            raise
    view.add_analysis()  # normally done right after ready
    fn = view.api.get(method)
    if fn is None:
        raise CassisError(f"unknown method {method!r}")
    return await fn(*args)
