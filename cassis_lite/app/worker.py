"""Glue between the browser's Web Worker (web/worker.js) and the Panel app, in Pyodide.

``start`` builds the app into a Bokeh document and returns it as JSON for the page to render;
``link`` then mirrors document changes to the page (``sendPatch``), ``apply_patch`` applies the
page's changes, and ``call`` answers ``window.cassisLite`` calls with JSON text.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urljoin

from cassis_lite.app.runtime import ensure_packages, lazy_package_for
from cassis_lite.app.session import to_jsonable
from cassis_lite.app.analysis_view import API as ANALYSIS_API
from cassis_lite.app.view import CassisView
from cassis_lite.errors import CassisError

_app: dict = {}


async def fetch_bytes(url: str) -> bytes:
    from pyodide.http import pyfetch

    resp = await pyfetch(url)
    if not resp.ok:
        raise CassisError(f"{url}: HTTP {resp.status}")
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


def _model_from_params(view: CassisView, params: dict) -> list[str]:
    """?species=CO&tex=100&ntot=1e16&fwhm=3&vlsr=0&size=10 sets the model sliders.

    Returns the problems (a value that is not a number, or outside a slider's range): those
    values are ignored and the caller shows the messages."""
    import math

    problems = []
    mapping = {"tex": view.tex, "fwhm": view.fwhm, "vlsr": view.model_vlsr, "size": view.size,
               "ntot": view.log_ntot}
    for key, widget in mapping.items():
        text = _param(params, key)
        if text is None:
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if key == "ntot":
            value = math.log10(value) if value > 0 else math.nan
        if not math.isfinite(value):
            problems.append(f"URL parameter {key}={text!r} is not a number: ignored")
        elif not widget.start <= value <= widget.end:
            problems.append(f"URL parameter {key}={text!r} is outside {widget.name} "
                            f"[{widget.start:g}, {widget.end:g}]: ignored")
        else:
            widget.value = value
    species = _param(params, "species")
    if species:
        view.model_species.value = species
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
    from panel.io.pyodide import init_doc, write_doc

    site = json.loads(site_json)
    start_msg = json.loads(start_json)
    _app["lazy"] = list(site.get("lazyPackages", []))
    base = urljoin(start_msg["href"], ".")
    init_doc()
    samples = {}
    for name in site.get("samples", []):
        samples[name] = await fetch_bytes(urljoin(base, "samples/" + name))
    params = parse_qs(start_msg.get("search", "").lstrip("?"))
    webgl = {"1": True, "0": False}.get(_param(params, "webgl"), bool(start_msg.get("webgl", True)))
    view = CassisView(samples=samples, fetch_url=lambda url: fetch_bytes(urljoin(start_msg["href"], url)),
                      webgl=webgl, defer_analysis=True)
    _app["view"] = view
    problems = _model_from_params(view, params)
    lines = _param(params, "lines")
    if lines:
        view.species_filter.value = lines
    url = _param(params, "spectrum")
    sample = _param(params, "sample")
    if sample and sample not in samples:
        problems.append(f"unknown sample {sample!r} (bundled: {', '.join(samples)})")
    try:
        if url:
            view.load(await fetch_bytes(urljoin(start_msg["href"], url)), url.rsplit("/", 1)[-1])
        elif sample in samples:
            view.sample_select.value = sample
        elif samples:
            default = next((n for n in samples if n.endswith(".lis")), next(iter(samples)))
            view.sample_select.value = default
    except CassisError as exc:
        problems.append(str(exc))
    if problems:
        view.show_error("; ".join(problems))
    view.layout.servable()
    return await write_doc()


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


async def call(method: str, args) -> str:
    """Run one ``window.cassisLite`` call; returns its result as JSON text.

    A call that needs a lazy site package (SciPy for fits) installs it and runs again.
    """
    args = args.to_py() if hasattr(args, "to_py") else dict(args)
    for _ in range(3):
        try:
            return await _call(method, args)
        except ModuleNotFoundError as exc:
            package = lazy_package_for(exc.name or "", _app.get("lazy", []))
            if package is None:
                raise
            await ensure_packages([package])
    return await _call(method, args)


async def _call(method: str, args: dict) -> str:
    view: CassisView = _app["view"]
    session = view.session
    if method == "loadSpectrum":
        view.load(_as_bytes(args["data"]), str(args.get("name") or "spectrum"))
        result = session.state()["spectrum"]
    elif method == "setModel":
        model = view.set_model(json.loads(args["config"]))
        result = {"n_channels": int(model.freq_mhz.size), "unit": model.unit}
    elif method == "getModel":
        result = session.model_dict()
    elif method == "getLines":
        filters = json.loads(args.get("filters") or "{}")
        result = session.lines(filters).to_records()
    elif method == "getState":
        result = session.state()
    elif method == "probeFile":
        # the page sends a file's first 64 KiB and its size before reading it whole
        from cassis_lite.readers import probe

        name = str(args.get("name") or "file")
        try:
            result = probe(_as_bytes(args["head"]), int(args["size"]), name)
        except CassisError as exc:
            view.show_error(str(exc))  # the spectrum shown before stays
            raise
    elif method in ANALYSIS_API:
        view.add_analysis()  # normally done right after ready
        result = await view.analysis.api(method, json.loads(args.get("options") or "null"))
    else:
        raise CassisError(f"unknown method {method!r}")
    return json.dumps(to_jsonable(result))
