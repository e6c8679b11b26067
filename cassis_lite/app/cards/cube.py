"""Map card: the maps of the open FITS cube, and the pixel whose spectrum is on screen.

Opening a cube (file picker, ``loadSpectrum``, ``?spectrum=URL``) keeps it in the session
(:attr:`Session.cube`); its central pixel is the first spectrum shown (the readers'). The card draws
MOM0 (default), MOM1, MOM2, PEAK over a velocity range (all channels by default), or one channel
chosen with a slider, with the sky coordinates of the pixel under the cursor. A click on a pixel
makes its spectrum the active one (lines, model, identification and fit work on it as on any
spectrum); a square marks it. Every number comes from :mod:`cassis_lite.cube`.

Fit maps (:mod:`cassis_lite.app.cards.cube_fit`): the Fit card's configuration fitted at every
pixel, block by block; the maps (TEX, TEX_ERR, ..., REDCHI2) join the map selector as they fill in.

Scripting: ``selectPixel(x, y)``, ``selectSky(ra_deg, dec_deg)`` (ICRS; 0-based pixels as FITS
WCS with origin 0), ``getMap(kind, options)``, ``selectRegion(x0, x1, y0, y1)`` and
``fitCube(fitConfig, options)``; for the sky view (web/sky.html): ``getMapFits(kind, options)``
(the map as a FITS image with the cube's celestial WCS) and ``getPixel()`` (the pixel shown and
its sky position).
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import time

import numpy as np
import panel as pn
import param
from bokeh.events import MouseMove, SelectionGeometry, Tap
from bokeh.models import (
    BoxSelectTool,
    ColorBar,
    ColumnDataSource,
    DataRange1d,
    HoverTool,
    Image,
    LinearAxis,
    LinearColorMapper,
    PanTool,
    Plot,
    Rect,
    ResetTool,
    Toolbar,
    WheelZoomTool,
)
from bokeh.palettes import Viridis256

from cassis_lite.app.cards.base import Card, number_or_none
from cassis_lite.app.text import esc
from cassis_lite.errors import CassisError, ConfigError

MAP_KINDS = ("MOM0", "MOM1", "MOM2", "PEAK", "CHANNEL")
MAP_OPTIONS = ("vmin_kms", "vmax_kms", "rest_freq_mhz", "channel")
#: what the tooltip may show of a header's unit (Bokeh reads @ $ { } in a tooltip as fields)
#: the options wrap in a narrow card rather than run out of it
WRAP_CSS = ":host { flex-wrap: wrap !important; min-width: 0 !important; }"
UNIT_CHARS = re.compile(r"[^\w/ .*^()+-]")
#: the spectrum follows the pointer at most this often (s): one pixel switch costs ~30 ms in CPython
HOVER_S = 0.1


class NoCubeError(CassisError):
    """A cube call without an open cube."""


def safe_unit(unit) -> str:
    return UNIT_CHARS.sub("", str(unit or ""))[:24]


def map_unit(kind: str, cube_unit: str) -> str:
    u = cube_unit or ""
    return {"MOM0": f"{u} km/s".strip(), "MOM1": "km/s", "MOM2": "km/s"}.get(kind, u)


class CubeCard(Card):
    title = "Map"
    kind = param.Selector(default="MOM0", objects=list(MAP_KINDS), doc="the map shown")
    vmin_kms = param.Number(default=None, allow_None=True, doc="moments from this velocity (None: all)")
    vmax_kms = param.Number(default=None, allow_None=True, doc="moments up to this velocity (None: all)")
    rest_freq_mhz = param.Number(default=None, allow_None=True, bounds=(0, None), inclusive_bounds=(False, True),
                                 doc="rest frequency of the velocities (None: the cube's RESTFRQ)")
    channel = param.Integer(default=0, bounds=(0, None), doc="channel of the CHANNEL map (0-based, file order)")

    def __init__(self, session, fit_config=None, **params):
        super().__init__(**params)
        self.session = session
        from cassis_lite.app.cards.cube_fit import FitMapRunner

        self.fitmap = FitMapRunner(self, fit_config)
        self._moments = None
        self._moments_key = None
        self.last_map_ms = None  # time of the last map computed (the benchmark reads it)
        empty = {k: [] for k in ("image", "x", "y", "dw", "dh", "ix", "iy", "lon", "lat", "ra", "dec")}
        self.source = ColumnDataSource(empty, name="cube_map")
        self.marker_source = ColumnDataSource({"x": [], "y": [], "w": [], "h": []}, name="cube_marker")
        self.box_select = BoxSelectTool(dimensions="both", description="Drag a box: the region's mean spectrum")
        self.mapper = LinearColorMapper(palette=Viridis256, low=0.0, high=1.0, nan_color="rgba(0, 0, 0, 0)")
        self.hover = HoverTool(tooltips=[("pixel", "@ix{0}, @iy{0}"), ("value", "@image{0.000}")])
        self.colorbar = ColorBar(color_mapper=self.mapper, width=12, title="", title_text_font_size="10px",
                                 major_label_text_font_size="10px", padding=3)
        self.figure = self._build_figure()
        self.figure.on_event(Tap, self._on_tap)
        self.figure.on_event(SelectionGeometry, self._on_box)
        self.figure.on_event(MouseMove, self._on_move)
        self.follow = pn.widgets.Checkbox(name="spectrum follows the pointer", value=False,
                                          css_classes=["cl-cube-follow"])
        self._hover_pending = None
        self._hover_last = 0.0
        self._hover_scheduled = False
        self.kind_select = pn.widgets.Select.from_param(self.param.kind, name="map", width=135)
        self.vmin_input = pn.widgets.FloatInput.from_param(self.param.vmin_kms, name="v from (km/s)", width=95,
                                                           placeholder="all")
        self.vmax_input = pn.widgets.FloatInput.from_param(self.param.vmax_kms, name="v to (km/s)", width=95,
                                                           placeholder="all")
        self.rest_input = pn.widgets.FloatInput.from_param(self.param.rest_freq_mhz, name="rest freq. (MHz)",
                                                           width=120, placeholder="the cube's")
        self.channel_slider = pn.widgets.IntSlider(name="channel", start=0, end=1, value=0, visible=False,
                                                   sizing_mode="stretch_width", css_classes=["cl-cube-channel"])
        self.channel_slider.param.watch(lambda e: setattr(self, "channel", int(e.new)), "value")
        self.status = pn.pane.HTML("Open a FITS cube (two sky axes, one spectral axis) to see its maps here; "
                                   "a click on a pixel shows its spectrum.", sizing_mode="stretch_width",
                                   css_classes=["cl-cube-status"])
        self.pixel_info = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-cube-pixel"])
        self.param.watch(self._on_options, ["kind", "vmin_kms", "vmax_kms", "rest_freq_mhz", "channel"])
        session.param.watch(lambda e: self._on_cube(), ["cube"])
        session.param.watch(lambda *e: self._draw_marker(), ["cube_pixel", "cube_region", "spectrum"])
        self.api = {"selectPixel": self.select_pixel, "selectSky": self.select_sky, "getMap": self.get_map,
                    "selectRegion": self.select_region, "fitCube": self.fitmap.fit_cube}
        self.api.update(getMapFits=self.get_map_fits, getPixel=self.get_pixel)  # the sky view's (sky.html)
        self._on_cube()

    def _build_figure(self) -> Plot:
        tools = [PanTool(), WheelZoomTool(), self.box_select, ResetTool(), self.hover]
        p = Plot(x_range=DataRange1d(range_padding=0.0), y_range=DataRange1d(range_padding=0.0),
                 match_aspect=True, width=380, height=340, sizing_mode="scale_width", min_border=4,
                 toolbar=Toolbar(tools=tools, active_scroll=tools[1]), toolbar_location="above",
                 name="cube_figure", output_backend="canvas")
        p.add_layout(LinearAxis(axis_label="pixel x", axis_label_text_font_size="10px"), "below")
        p.add_layout(LinearAxis(axis_label="pixel y", axis_label_text_font_size="10px"), "left")
        image = p.add_glyph(self.source, Image(image="image", x="x", y="y", dw="dw", dh="dh",
                                               color_mapper=self.mapper))
        self.hover.renderers = [image]
        p.add_glyph(self.marker_source, Rect(x="x", y="y", width="w", height="h", fill_alpha=0.0,
                                             line_color="white", line_width=4))
        marker = p.add_glyph(self.marker_source, Rect(x="x", y="y", width="w", height="h", fill_alpha=0.0,
                                                      line_color="#e0245e", line_width=2))
        self.box_select.renderers = [marker]  # the box is read as a geometry; nothing is "selected"
        p.add_layout(self.colorbar, "right")
        return p

    def __panel__(self):
        return pn.Column(
            pn.Column(pn.Row(self.kind_select, self.rest_input, stylesheets=[WRAP_CSS], sizing_mode="stretch_width"),
                      pn.Row(self.vmin_input, self.vmax_input, stylesheets=[WRAP_CSS], sizing_mode="stretch_width"),
                      css_classes=["cl-cube-options"], sizing_mode="stretch_width"),
            self.channel_slider, self.message, self.status,
            pn.pane.Bokeh(self.figure, sizing_mode="stretch_width"), self.follow, self.pixel_info,
            self.fitmap.panel(),
            sizing_mode="stretch_width", name="cube_card")

    # ------------------------------------------------------------------ state -> screen
    def _on_cube(self) -> None:
        cube = self.session.cube
        self._moments = self._moments_key = None
        self.clear_error()
        self.fitmap.reset()
        self._set_kinds(list(MAP_KINDS))
        if cube is None:
            self.source.data = {k: [] for k in self.source.data}
            self.marker_source.data = {"x": [], "y": [], "w": [], "h": []}
            self.pixel_info.object = ""
            return
        self.channel_slider.end = max(1, cube.nchan - 1)
        with param.parameterized.discard_events(self):
            self.param.update(kind="MOM0", vmin_kms=None, vmax_kms=None, rest_freq_mhz=None, channel=cube.nchan // 2)
        self.channel_slider.value = cube.nchan // 2
        self.channel_slider.visible = False
        ny, nx = cube.ny, cube.nx
        iy, ix = np.mgrid[0:ny, 0:nx].astype(np.float64)
        lon = lat = ra = dec = np.full((ny, nx), np.nan)
        if cube.wcs is not None:
            lon, lat = (np.asarray(a, dtype=np.float64) for a in cube.pixel_to_world(ix, iy))
            try:
                ra, dec = (np.asarray(a, dtype=np.float64) for a in cube.pixel_to_world(ix, iy, frame="icrs"))
            except CassisError:
                pass
        self._set_tooltips(cube)
        try:
            image, note = self._compute()
        except CassisError as exc:
            image, note = np.full((ny, nx), np.nan), ""
            self.show_error(str(exc))
        self.source.data = {"image": [image.astype(np.float32)], "x": [-0.5], "y": [-0.5], "dw": [nx], "dh": [ny], "ix": [ix],
                            "iy": [iy], "lon": [lon], "lat": [lat], "ra": [ra], "dec": [dec]}
        self._show(image, note)
        self._draw_marker()

    def kinds(self) -> list[str]:
        """The maps the selector offers: MAP_KINDS, then those of the fit map (if any)."""
        return list(MAP_KINDS) + self.fitmap.names()

    def _set_kinds(self, kinds: list[str]) -> None:
        if list(self.param.kind.objects) != kinds:
            self.param.kind.objects = kinds
            self.kind_select.options = kinds

    def kind_unit(self, kind: str, cube) -> str:
        return self.fitmap.unit(kind) if kind in self.fitmap.names() else map_unit(kind, cube.y_unit)

    def show_fit_maps(self, first: bool = False) -> None:
        """The fit maps in the selector; ``first``: show the first (it fills in as blocks end),
        else redraw the one shown if it is a fit map."""
        self._set_kinds(self.kinds())
        names = self.fitmap.names()
        if first and names:
            if self.kind == names[0]:
                self._on_options()
            else:
                self.kind = names[0]
        elif self.kind in names:
            self._on_options()

    def _set_tooltips(self, cube) -> None:
        unit = safe_unit(self.kind_unit(self.kind, cube))
        tips = [("pixel", "@ix{0}, @iy{0}")]
        frame = None if cube.wcs is None else cube.wcs.frame_name
        if frame is not None and frame.lower() not in ("icrs", "fk5"):
            tips.append((f"{'l, b' if frame.lower() == 'galactic' else 'lon, lat'} ({frame})",
                         "@lon{0.00000}, @lat{0.00000} deg"))
        if frame is not None:
            tips.append(("RA, Dec (ICRS)", "@ra{0.00000}, @dec{0.00000} deg"))
        tips.append((self.kind if self.kind != "CHANNEL" else f"channel {self.channel}", f"@image{{0.0000}} {unit}"))
        self.hover.tooltips = tips
        self.colorbar.title = unit

    def _on_options(self, *events) -> None:
        cube = self.session.cube
        self.channel_slider.visible = self.kind == "CHANNEL"
        if cube is None:
            return
        if self.channel_slider.value != self.channel:
            self.channel_slider.value = self.channel
        self.clear_error()
        try:
            image, note = self._compute()
        except CassisError as exc:
            self.show_error(str(exc))
            return
        self._set_tooltips(cube)
        self.source.data["image"] = [image.astype(np.float32)]
        self._show(image, note)

    def _show(self, image: np.ndarray, note: str) -> None:
        finite = image[np.isfinite(image)]
        if finite.size:
            lo, hi = (float(v) for v in np.percentile(finite, [0.5, 99.5]))
            if not hi > lo:
                lo, hi = lo - 0.5, lo + 0.5
        else:
            lo, hi = 0.0, 1.0
        self.mapper.update(low=lo, high=hi)
        cube = self.session.cube
        self.status.object = (f"<b>{esc(cube.name)}</b>: {cube.nx} x {cube.ny} pixels x {cube.nchan} channels. "
                              f"{esc(note)} Click a pixel for its spectrum (the box tool: a region's mean).")

    def _draw_marker(self) -> None:
        pixel = self.session.cube_pixel
        region = self.session.cube_region
        cube = self.session.cube
        entry, active = self.session.cube_entry(), self.session.spectrum
        # another file in the plot: the pixel (region) is the cube's, not what is shown
        other = f"The plot shows {active.name}; the cube's spectrum is " \
            if entry is not None and active is not None and entry.spectrum is not active else None
        if cube is not None and region is not None:
            x0, x1, y0, y1 = region
            self.marker_source.data = {"x": [0.5 * (x0 + x1) - 0.5], "y": [0.5 * (y0 + y1) - 0.5],
                                       "w": [float(x1 - x0)], "h": [float(y1 - y0)]}
            self.pixel_info.object = esc(f"{other or 'Spectrum shown: '}the mean of pixels x {x0}-{x1 - 1}, "
                                         f"y {y0}-{y1 - 1} ({(x1 - x0) * (y1 - y0)} pixels)")
            return
        if pixel is None or cube is None:
            self.marker_source.data = {"x": [], "y": [], "w": [], "h": []}
            self.pixel_info.object = ""
            return
        x, y = pixel
        self.marker_source.data = {"x": [float(x)], "y": [float(y)], "w": [1.0], "h": [1.0]}
        sky = self.sky_of(x, y)
        words = [f"{other}pixel ({x}, {y}) (a click on the map shows it)" if other
                 else f"Spectrum shown: pixel ({x}, {y})"]
        if sky is not None:
            if sky["frame"].lower() not in ("icrs", "fk5"):
                words.append(f"{sky['frame']} {sky['lon_deg']:.5f}, {sky['lat_deg']:.5f} deg")
            if sky["ra_deg"] is not None:
                words.append(f"RA {sky['ra_deg']:.5f}, Dec {sky['dec_deg']:.5f} deg (ICRS)")
        self.pixel_info.object = esc("; ".join(words))

    # ------------------------------------------------------------------ maps
    def _rest(self, cube) -> tuple[float, str]:
        if self.rest_freq_mhz:
            return float(self.rest_freq_mhz), "chosen"
        if cube.rest_freq_mhz:
            return float(cube.rest_freq_mhz), "the cube's RESTFRQ"
        f = cube.freq_mhz
        return 0.5 * float(f.min() + f.max()), "the band's centre: no RESTFRQ in the header"

    def moments(self):
        """The cube's moment maps over the card's velocity range (computed once per range)."""
        cube = self.session.cube
        rest, _ = self._rest(cube)
        key = (id(cube), number_or_none(self.vmin_kms), number_or_none(self.vmax_kms), rest)
        if self._moments_key != key:
            t0 = time.perf_counter()
            self._moments = cube.moments(key[1], key[2], rest_freq_mhz=rest)
            self.last_map_ms = 1e3 * (time.perf_counter() - t0)
            self._moments_key = key
        return self._moments

    def _compute(self) -> tuple[np.ndarray, str]:
        """(the map, float64 (ny, nx), what it is); drawn as float32."""
        cube = self.session.cube
        if self.kind == "CHANNEL":
            i = int(self.channel)
            t0 = time.perf_counter()
            plane = cube.channel(i)
            self.last_map_ms = 1e3 * (time.perf_counter() - t0)
            f = float(cube.freq_mhz[i])
            rest, _ = self._rest(cube)
            v = float(cube.velocity_kms(rest)[i])
            return plane, f"Channel {i}: {f:.4f} MHz, v = {v:.2f} km/s."
        if self.kind in self.fitmap.names():
            self.last_map_ms = 0.0
            return self.fitmap.maps.arrays[self.kind], self.fitmap.note(self.kind)
        self.last_map_ms = 0.0  # unless computed now
        m = self.moments()
        rest, where = self._rest(cube)
        image = {"MOM0": m.mom0, "MOM1": m.mom1, "MOM2": m.mom2, "PEAK": m.peak}[self.kind]
        return image, (f"{self.kind} over v = {m.vmin_kms:.2f} to {m.vmax_kms:.2f} km/s "
                                          f"(channels {m.channels[0]}-{m.channels[1] - 1}) about {rest:.4f} MHz "
                                          f"({where}).")

    def sky_of(self, x, y) -> dict | None:
        cube = self.session.cube
        if cube is None or cube.wcs is None:
            return None
        lon, lat = (float(v) for v in cube.pixel_to_world(float(x), float(y)))
        try:
            ra, dec = (float(v) for v in cube.pixel_to_world(float(x), float(y), frame="icrs"))
        except CassisError:
            ra = dec = None
        return {"frame": cube.wcs.frame_name, "lon_deg": lon, "lat_deg": lat, "ra_deg": ra, "dec_deg": dec}

    # ------------------------------------------------------------------ actions
    def _require_cube(self):
        if self.session.cube is None:
            raise NoCubeError("no cube open: open a FITS cube (two sky axes and a spectral axis) first")
        return self.session.cube

    def _on_tap(self, event) -> None:
        if self.session.cube is None or event.x is None or event.y is None:
            return
        x, y = int(math.floor(event.x + 0.5)), int(math.floor(event.y + 0.5))
        self.clear_error()
        try:
            self.session.select_pixel(x, y)
        except CassisError as exc:
            self.show_error(str(exc))

    def _on_box(self, event) -> None:
        """A box dragged on the map (BoxSelectTool): the mean spectrum of the pixels whose centre
        it holds, once the drag ends."""
        geometry = event.geometry or {}
        if not event.final or geometry.get("type") != "rect" or self.session.cube is None:
            return
        cube = self.session.cube
        try:
            x0, x1, y0, y1 = (float(geometry[k]) for k in ("x0", "x1", "y0", "y1"))
        except (KeyError, TypeError, ValueError):
            return
        # pixel i spans i - 0.5 .. i + 0.5: the pixels whose centre is in the box, clipped to the cube
        ix0, ix1 = max(0, math.ceil(min(x0, x1))), min(cube.nx, math.floor(max(x0, x1)) + 1)
        iy0, iy1 = max(0, math.ceil(min(y0, y1))), min(cube.ny, math.floor(max(y0, y1)) + 1)
        self.clear_error()
        if ix0 >= ix1 or iy0 >= iy1:
            self.show_error("the box holds no pixel centre of the cube: drag over the map")
            return
        try:
            self.session.select_region(ix0, ix1, iy0, iy1)
        except CassisError as exc:
            self.show_error(str(exc))

    def _on_move(self, event) -> None:
        """The pointer over the map (with "spectrum follows the pointer"): the pixel under it
        becomes the active spectrum, at most every HOVER_S seconds (the last position wins)."""
        cube = self.session.cube
        if not self.follow.value or cube is None or event.x is None or event.y is None:
            return
        x, y = int(math.floor(event.x + 0.5)), int(math.floor(event.y + 0.5))
        if not (0 <= x < cube.nx and 0 <= y < cube.ny) or (x, y) == self.session.cube_pixel:
            self._hover_pending = None
            return
        self._hover_pending = (x, y)
        wait = HOVER_S - (time.perf_counter() - self._hover_last)
        if wait <= 0:
            self._hover_flush()
        elif not self._hover_scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._hover_scheduled = True
            loop.call_later(wait, self._hover_flush)

    def _hover_flush(self) -> None:
        self._hover_scheduled = False
        pixel, self._hover_pending = self._hover_pending, None
        if pixel is None or self.session.cube is None:
            return
        self._hover_last = time.perf_counter()
        try:
            self.session.select_pixel(*pixel)
        except CassisError:  # a blank pixel: the spectrum stays
            pass

    async def select_region(self, x0, x1, y0, y1) -> dict:
        """``cassisLite.selectRegion(x0, x1, y0, y1)``: the mean spectrum of the pixels
        x0 <= x < x1, y0 <= y < y1 (0-based) becomes the active one (as a box dragged on the map);
        resolves to ``{freq_mhz, intensity, region, y_unit, name}``."""
        def run():
            self._require_cube()
            sp = self.session.select_region(x0, x1, y0, y1)
            return {"freq_mhz": sp.freq_mhz, "intensity": sp.intensity, "region": list(self.session.cube_region),
                    "y_unit": sp.y_unit, "name": sp.name}
        return self._shown(run)

    def _shown(self, fn, *args):
        """Run ``fn``; a user error is shown in the card and raised for the script."""
        self.clear_error()
        try:
            return fn(*args)
        except CassisError as exc:
            self.show_error(str(exc))
            raise

    def _pixel_answer(self, sp, x, y) -> dict:
        return {"freq_mhz": sp.freq_mhz, "intensity": sp.intensity, "pixel": [int(x), int(y)],
                "sky": self.sky_of(x, y), "y_unit": sp.y_unit, "name": sp.name}

    async def select_pixel(self, x, y) -> dict:
        """``cassisLite.selectPixel(x, y)``: the spectrum of pixel (x, y) (0-based, FITS WCS origin
        0) becomes the active one; resolves to ``{freq_mhz, intensity, pixel, sky}``."""
        def run():
            self._require_cube()
            sp = self.session.select_pixel(x, y)
            return self._pixel_answer(sp, *self.session.cube_pixel)
        return self._shown(run)

    async def select_sky(self, ra_deg, dec_deg) -> dict:
        """``cassisLite.selectSky(ra_deg, dec_deg)``: the pixel holding an ICRS position."""
        def run():
            cube = self._require_cube()
            try:
                ra, dec = float(ra_deg), float(dec_deg)
            except (TypeError, ValueError):
                raise CassisError(f"sky position must be two numbers (RA, Dec in deg), got "
                                  f"({ra_deg!r}, {dec_deg!r})") from None
            if not (math.isfinite(ra) and math.isfinite(dec) and -90.0 <= dec <= 90.0):
                raise CassisError(f"sky position ({ra_deg!r}, {dec_deg!r}) is not an RA, Dec in degrees")
            ix, iy = cube.pixel_of(ra, dec, frame="icrs")
            sp = self.session.select_pixel(ix, iy)
            return self._pixel_answer(sp, ix, iy)
        return self._shown(run)

    async def get_map(self, kind: str = "MOM0", options: dict | None = None) -> dict:
        """``cassisLite.getMap(kind, options)``: the map (kind MOM0, MOM1, MOM2, PEAK or CHANNEL;
        options vmin_kms, vmax_kms, rest_freq_mhz, channel), which the card then shows. ``data``
        holds ny rows of nx values (row y, column x; null where blank)."""
        def run():
            cube = self._require_cube()
            k = str(kind or "MOM0").upper()
            if k not in self.kinds():
                raise ConfigError(f"unknown map {kind!r} (use {', '.join(self.kinds())})")
            opts = dict(options or {})
            unknown = set(opts) - set(MAP_OPTIONS)
            if unknown:
                raise ConfigError(f"unknown map option {sorted(unknown)[0]!r} (use {', '.join(MAP_OPTIONS)})")
            update = {"kind": k}
            for name in ("vmin_kms", "vmax_kms", "rest_freq_mhz"):
                if name in opts:
                    v = opts[name]
                    if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v)):
                        raise ConfigError(f"map option {name} must be a number, got {v!r}")
                    if name == "rest_freq_mhz" and v is not None and v <= 0:
                        raise ConfigError(f"map option rest_freq_mhz must be > 0, got {v!r}")
                    update[name] = None if v is None else float(v)
            if "channel" in opts:
                c = opts["channel"]
                if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < cube.nchan:
                    raise ConfigError(f"channel must be an integer in 0..{cube.nchan - 1}, got {c!r}")
                update["channel"] = c
            elif k == "CHANNEL" and "channel" not in opts:
                update["channel"] = int(self.channel)
            before = {n: getattr(self, n) for n in update}
            with param.parameterized.discard_events(self):
                self.param.update(**update)
            try:
                image, note = self._compute()  # raises before anything is drawn
                compute_ms = self.last_map_ms
            except CassisError:
                with param.parameterized.discard_events(self):
                    self.param.update(**before)
                raise
            self.param.trigger("kind")  # the screen shows what the script asked for
            out = {"kind": k, "unit": self.kind_unit(k, cube), "nx": cube.nx, "ny": cube.ny,
                   "data": list(image), "note": note,
                   "compute_ms": compute_ms}
            if k == "CHANNEL":
                out["channel"] = int(self.channel)
                out["freq_mhz"] = float(cube.freq_mhz[self.channel])
            elif k in self.fitmap.names():
                out.update(n_fitted=self.fitmap.maps.n_fitted, complete=self.fitmap.maps.complete)
            else:
                m = self._moments
                out.update(vmin_kms=m.vmin_kms, vmax_kms=m.vmax_kms, rest_freq_mhz=m.rest_freq_mhz,
                           channels=list(m.channels))
            return out
        return self._shown(run)

    # ------------------------------------------------------------------ the sky view (web/sky.html)
    async def get_map_fits(self, kind: str | None = "MOM0", options: dict | None = None) -> dict:
        """``cassisLite.getMapFits(kind, options)``: :meth:`get_map` (same kinds, options and
        errors; the card shows it) as a FITS file, base64 in ``fits_base64``: the map as the
        primary image with the cube's celestial WCS (:func:`cassis_lite.cube.fits_out.write_maps_fits`),
        which Aladin Lite shows as an image layer (and SAMP sends as ``image.load.fits``). No
        ``data`` list. ``kind`` None: the map shown, with the card's options."""
        from cassis_lite.cube.fits_out import write_maps_fits

        if kind is None:
            kind = self.kind
            if options is None:
                options = {k: getattr(self, k) for k in MAP_OPTIONS if getattr(self, k) is not None}
        out = await self.get_map(kind, options)
        image = np.asarray(out.pop("data"), dtype=float)
        cube = self._require_cube()
        if cube.wcs is None:
            raise CassisError(f"{cube.name} has no celestial WCS: its maps cannot be placed on the sky")
        fits = write_maps_fits({out["kind"]: (image, out["unit"])}, cube.wcs, primary=out["kind"])
        out["fits_base64"] = base64.b64encode(fits).decode("ascii")
        out["frame"] = cube.wcs.frame_name
        out["name"] = cube.name
        return out

    async def get_pixel(self) -> dict | None:
        """``cassisLite.getPixel()``: ``{pixel, sky}`` of the cube's pixel on screen (None without
        a cube); the sky view polls it to move its marker when the pixel is chosen in the app."""
        cube, pixel = self.session.cube, self.session.cube_pixel
        if cube is None or pixel is None:
            return None
        return {"pixel": [int(pixel[0]), int(pixel[1])], "sky": self.sky_of(*pixel), "name": cube.name}
