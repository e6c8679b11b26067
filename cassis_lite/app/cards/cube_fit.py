"""Fit maps in the Map card: the Fit card's configuration fitted at every pixel of the open cube.

The fit is :class:`cassis_lite.cube.CubeFitter` (the batched LTE fit of ``cassis-lite cube fit``),
run block by block in the worker: after each block the maps so far are inserted
(:meth:`FitMaps.insert`), the progress bar (pixels done / total) and the map on screen are updated,
and the coroutine yields to the event loop (``await asyncio.sleep(0)``: in Pyodide the page's
messages, a click on Cancel included, are handled there), so the page never freezes for longer
than one block. Cancel stops before the next block, keeping the maps done. The maps are those the
CLI writes (TEX, TEX_ERR, VLSR, ..., REDCHI2; NaN where not fitted) and are exported with the
CLI's writer (:func:`cassis_lite.cube.write_maps_fits`, one HDU per map, the cube's celestial WCS).

Scripting: ``fitCube(fitConfig, options)`` (options ``snr``, ``block``) resolves to
``{maps: {name: ny rows of nx values}, units, n_fitted, n_pixels, seconds, complete, ...}``.
"""

from __future__ import annotations

import asyncio
import math
import re
import time

import panel as pn
import param

from cassis_lite.app.text import esc
from cassis_lite.errors import CassisError, ConfigError

#: block side of the app's fits: 64 pixels, a fraction of a second in the browser for a few
#: hundred channels, so that the page answers between blocks (the CLI's default is 32)
APP_BLOCK = 8
FIT_OPTIONS = ("snr", "block")
#: seconds between two redraws of the map while it fills in
REDRAW_S = 0.4


class FitMapRunner(param.Parameterized):
    """State and widgets of the fit maps of a :class:`CubeCard` (``card``); ``fit_config()``
    gives the Fit card's configuration (a dict; raises :class:`ConfigError` when invalid)."""

    snr = param.Number(default=5.0, bounds=(0, None), doc="pixels below this S/N are left blank")
    block = param.Integer(default=APP_BLOCK, bounds=(1, 512), doc="block side (pixels) fitted at once")
    running = param.Boolean(default=False, doc="a fit map is being computed")

    def __init__(self, card, fit_config=None, **params):
        super().__init__(**params)
        self.card = card
        self.fit_config = fit_config
        self.maps = None  # FitMaps of the last fit (partial while running or after Cancel)
        self.seconds = None
        self.pixels_done = 0
        self._cancel = False
        self.fit_button = pn.widgets.Button(name="Fit map", button_type="primary", width=90,
                                            css_classes=["cl-fitmap-run"])
        card.on_click(self.fit_button, self._fit_from_card)
        self.cancel_button = pn.widgets.Button(name="Cancel", width=80, disabled=True,
                                               css_classes=["cl-fitmap-cancel"])
        self.cancel_button.on_click(lambda e: self.cancel())
        self.snr_input = pn.widgets.FloatInput.from_param(self.param.snr, name="S/N at least", width=90)
        self.block_input = pn.widgets.IntInput.from_param(self.param.block, name="block (pixels)", width=90)
        self.progress = pn.indicators.Progress(value=0, max=1, visible=False, sizing_mode="stretch_width",
                                               height=14, css_classes=["cl-fitmap-progress"], margin=(2, 10))
        self.status = pn.pane.HTML("Fit map: the Fit card's configuration at every pixel above the S/N.",
                                   sizing_mode="stretch_width", css_classes=["cl-fitmap-status"])
        self.download = pn.widgets.FileDownload(callback=self._fits_file, filename="fit_maps.fits",
                                                label="Export the maps (FITS)", disabled=True, width=170,
                                                css_classes=["cl-fitmap-export"])
        self.param.watch(lambda e: self._buttons(), ["running"])

    def panel(self):
        # two short rows: a phone's card (about 350 px) holds each
        css = [":host { flex-wrap: wrap !important; min-width: 0 !important; align-items: flex-end; }"]
        return pn.Column(pn.Row(self.snr_input, self.block_input, stylesheets=css, sizing_mode="stretch_width"),
                         pn.Row(self.fit_button, self.cancel_button, stylesheets=css, sizing_mode="stretch_width",
                                css_classes=["cl-fitmap-options"]),
                         self.progress, self.status, self.download, sizing_mode="stretch_width",
                         css_classes=["cl-fitmap"])

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """A new cube (or none): no maps; a running fit stops at its next block."""
        self._cancel = self.running
        self.maps = self.seconds = None
        self.pixels_done = 0
        self.progress.visible = False
        self.download.disabled = True
        self.status.object = "Fit map: the Fit card's configuration at every pixel above the S/N."

    def names(self) -> list[str]:
        return [] if self.maps is None else list(self.maps.arrays)

    def unit(self, name: str) -> str:
        return self.maps.units.get(name, "") if self.maps is not None else ""

    def note(self, name: str) -> str:
        m = self.maps
        state = "complete" if m.complete else ("running" if self.running else "stopped")
        return (f"{name} of the fit map ({state}: block {m.blocks_done} of {m.blocks_total}; {m.n_fitted} "
                f"pixels fitted, S/N >= {m.snr:g}; blank: not fitted).")

    def _buttons(self) -> None:
        self.fit_button.disabled = self.running
        self.cancel_button.disabled = not self.running
        self.download.disabled = self.running or self.maps is None

    def cancel(self) -> None:
        """Stop the running fit before its next block (the maps done are kept)."""
        if self.running:
            self._cancel = True
            self.status.object = "Fit map: stopping after this block..."

    # ------------------------------------------------------------------ the fit
    async def _fit_from_card(self):
        config = self.fit_config() if self.fit_config is not None else None
        if config is None:
            raise ConfigError("no fit configuration: set a model and its free parameters in the Fit card")
        await self.fit(config, self.snr, self.block)

    async def fit(self, config: dict, snr: float, block: int):
        """Fit ``config`` at every pixel of the cube with S/N >= ``snr``, ``block`` x ``block``
        pixels at a time, yielding to the event loop after each block; returns the FitMaps."""
        from cassis_lite.cube import CubeFitter

        card = self.card
        cube = card._require_cube()
        if self.running:
            raise CassisError("a fit map is already running: cancel it or wait for it to finish")
        fitter = CubeFitter(cube, config, card.session.db, snr=snr, block=block)  # ConfigError: said
        maps = fitter.empty_maps()
        total = cube.nx * cube.ny
        self.maps, self.seconds, self.pixels_done, self._cancel = maps, None, 0, False
        self.progress.param.update(value=0, max=total, visible=True)
        self.running = True
        card.show_fit_maps(first=True)
        t0 = last_draw = time.perf_counter()
        try:
            for box in fitter.blocks:
                if self._cancel or card.session.cube is not cube:
                    break
                res = fitter.fit_block(box)
                maps.insert(res)
                self.pixels_done += res.n_pixels
                self.seconds = time.perf_counter() - t0
                self.progress.value = self.pixels_done
                self.status.object = esc(f"Fit map: {self.pixels_done} of {total} pixels done, {maps.n_fitted} "
                                         f"fitted ({self.seconds:.1f} s)")
                now = time.perf_counter()
                if now - last_draw >= REDRAW_S or maps.complete:
                    card.show_fit_maps()
                    last_draw = now
                await asyncio.sleep(0)  # the page's messages (Cancel, pan, zoom) are handled here
        finally:
            self.seconds = time.perf_counter() - t0
            self.running = False
        if card.session.cube is not cube:  # the cube was closed or replaced meanwhile
            return maps
        done = "done" if maps.complete else f"cancelled after {maps.blocks_done} of {maps.blocks_total} blocks"
        self.status.object = esc(f"Fit map {done}: {maps.n_fitted} of {total} pixels fitted (S/N >= {snr:g}) "
                                 f"in {self.seconds:.1f} s; {self.pixels_done} pixels done. Maps: "
                                 f"{', '.join(maps.arrays)}.")
        self.download.filename = f"{stem(cube.name)}_fitmaps.fits"
        self._buttons()
        card.show_fit_maps()
        return maps

    async def fit_cube(self, fit_config=None, options=None) -> dict:
        """``cassisLite.fitCube(fitConfig, options)``: the fit maps of ``fitConfig`` (the
        ``cassis-lite fit`` JSON; None: the Fit card's), options ``snr`` (default the card's, 5)
        and ``block`` (block side in pixels, default 8). Resolves to ``{maps: {name: ny rows of
        nx values, null where not fitted}, units, n_fitted, n_pixels, seconds, complete,
        blocks_done, blocks_total, snr, block}``; the numbers of ``cassis-lite cube fit --snr S
        --block B``."""
        opts = dict(options or {})
        unknown = set(opts) - set(FIT_OPTIONS)
        if unknown:
            raise ConfigError(f"unknown fitCube option {sorted(unknown)[0]!r} (use {', '.join(FIT_OPTIONS)})")
        snr = opts.get("snr", self.snr)
        if isinstance(snr, bool) or not isinstance(snr, (int, float)) or not math.isfinite(snr) or snr < 0:
            raise ConfigError(f"fitCube option snr must be a number >= 0, got {snr!r}")
        block = opts.get("block", self.block)
        if isinstance(block, bool) or not isinstance(block, int) or block < 1:
            raise ConfigError(f"fitCube option block must be a positive integer (pixels), got {block!r}")
        config = self.fit_config() if fit_config is None and self.fit_config is not None else fit_config
        if not isinstance(config, dict):
            raise ConfigError("fitCube needs a fit configuration (the cassis-lite fit JSON object)")
        self.card.clear_error()
        try:
            maps = await self.fit(config, float(snr), int(block))
        except CassisError as exc:
            self.card.show_error(str(exc))
            raise
        return {"maps": {n: list(a) for n, a in maps.arrays.items()}, "units": dict(maps.units),
                "parameters": dict(maps.parameters), "n_fitted": maps.n_fitted, "n_pixels": self.pixels_done,
                "seconds": self.seconds, "complete": maps.complete, "blocks_done": maps.blocks_done,
                "blocks_total": maps.blocks_total, "snr": float(snr), "block": int(block),
                "nx": self.card.session.cube.nx, "ny": self.card.session.cube.ny}

    # ------------------------------------------------------------------ export
    def fits_bytes(self) -> bytes:
        """The maps as the CLI writes them (``cassis-lite cube fit --out``)."""
        from cassis_lite.cube import write_maps_fits

        if self.maps is None:
            raise CassisError("no fit map yet: press Fit map first")
        cube = self.card.session.cube
        return write_maps_fits(self.maps, None if cube is None else cube.wcs)

    def _fits_file(self):
        import io

        self.card.clear_error()
        try:
            return io.BytesIO(self.fits_bytes())
        except CassisError as exc:
            self.card.show_error(f"Export: {exc}")
        return io.BytesIO(b"")


def stem(name: str) -> str:
    base = re.sub(r"\.(fits?|fts)(\.gz)?$", "", str(name or ""), flags=re.I)
    return re.sub(r"[^\w.+-]+", "_", base).strip("._")[:60] or "cube"


__all__ = ["APP_BLOCK", "FitMapRunner"]
