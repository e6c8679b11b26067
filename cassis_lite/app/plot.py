"""The spectrum plot: Bokeh models drawn from the session and view state (no state of its own).

The spectrum (and every other visible open spectrum), the model and each component, the
residual, and the line markers share one x range. Long curves are min/max-decimated to the view
(:func:`minmax_indices`, display only: every peak and dip survives at screen resolution), and
drawn again at full resolution when the user zooms in. The y axis follows the data in view
(markers and labels never pin it) unless the user typed limits. Line labels are placed inside
the plot from the top down, thinned so that they do not overlap at the current zoom.
"""

from __future__ import annotations

import math

import numpy as np
from bokeh.core.properties import value
from bokeh.core.property.validation import validate as bokeh_validation
from bokeh.models import (
    BoxZoomTool,
    ColumnDataSource,
    Grid,
    GridPlot,
    HoverTool,
    LabelSet,
    Legend,
    LegendItem,
    Line,
    LinearAxis,
    MultiLine,
    PanTool,
    Plot,
    Range1d,
    ResetTool,
    SaveTool,
    Segment,
    TapTool,
    Toolbar,
    VArea,
    WheelZoomTool,
)

from cassis_lite.app.state import X_AXES, X_UNITS, Session, ViewState, velocity_reference
from cassis_lite.app.yunits import base_unit, beam_axes, display_factor
from cassis_lite.spectrum import window_slices
from cassis_lite.units import from_freq_mhz, lsr_velocity_kms, lsr_velocity_to_freq_mhz, observed_freq, to_freq_mhz

MAX_POINTS = 8_000  # drawn points per curve; longer spectra are min/max-decimated to the view
LABEL_SLOTS = 90  # at most this many labels across the view (about 12 px apart at 1100 px)
MAX_LINES = 5000
#: beyond this many markers in the view (the full catalogue over a few GHz), the markers are drawn
#: as ticks in the labels' headroom at the top, so that they do not hide the spectrum
DENSE_MARKERS = 2 * LABEL_SLOTS
TICK_FRACTION = 0.15  # of the y range: the ticks' length (the headroom above the data is 0.22/1.28)
COMPONENT_COLOURS = ("#e08214", "#7570b3", "#1b9e77", "#e7298a", "#66a61e")
HOVER_FORMATS = {"GHz": "0.000000", "MHz": "0.000", "km/s": "0.00", "mm": "0.000000", "um": "0.000000",
                 "um air": "0.000000", "nm": "0.0000", "nm air": "0.0000", "Angstrom": "0.000",
                 "Angstrom air": "0.000", "cm-1": "0.000"}


def minmax_indices(y: np.ndarray, i0: int, i1: int, nbins: int) -> np.ndarray:
    """Indices of the min and max of ``y`` in each of ``nbins`` equal slices of [i0, i1)."""
    length = max(1, (i1 - i0) // nbins)
    nbins = (i1 - i0) // length
    block = y[i0:i0 + nbins * length].reshape(nbins, length)
    finite = np.isfinite(block)
    lo = np.where(finite, block, np.inf).argmin(axis=1)
    hi = np.where(finite, block, -np.inf).argmax(axis=1)
    base = i0 + length * np.arange(nbins)
    tail = np.arange(i0 + nbins * length, i1)
    return np.unique(np.concatenate([base + lo, base + hi, tail]))


def gaps_as_nan(freq: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert NaN between the spectral windows of ``freq`` so that no line crosses a gap."""
    cuts = [w.start for w in window_slices(freq)[1:]]
    if not cuts:
        return x, y
    return np.insert(x, cuts, np.nan), np.insert(y, cuts, np.nan)


def thin_labels(x: np.ndarray, lo: float, hi: float, slots: int = LABEL_SLOTS) -> np.ndarray:
    """Indices of the markers to label: in the view [lo, hi], at most one per 1/slots of it."""
    inside = np.flatnonzero((x >= lo) & (x <= hi))
    if inside.size == 0 or hi <= lo:
        return inside
    bins = np.floor((x[inside] - lo) / (hi - lo) * slots).astype(int)
    _, first = np.unique(bins, return_index=True)
    keep = inside[first]
    # neighbours in adjacent slots may still touch: keep every other one where they do
    if keep.size > 1:
        close = np.diff(x[keep]) < 0.8 * (hi - lo) / slots
        drop = np.concatenate([[False], close])
        drop[1:] &= ~drop[:-1]
        keep = keep[~drop]
    return keep


def model_label(cfg) -> str:
    """The model's legend: LTE, non-LTE (RADEX) or both, from its enabled components."""
    kinds = {c.model for c in (cfg.components if cfg is not None else []) if c.enabled}
    return {frozenset({"radex"}): "non-LTE model", frozenset({"lte", "radex"}): "LTE + non-LTE model"}.get(
        frozenset(kinds), "LTE model")


def _new_plot(height, name, x_range, y_range, backend, tools=()):
    """A Bokeh plot built from models (``figure()`` imports pandas)."""
    p = Plot(height=height, sizing_mode="stretch_width", x_range=x_range, y_range=y_range, output_backend=backend,
             name=name, min_border_left=64, min_border_right=12, toolbar_location=None)
    xaxis, yaxis = LinearAxis(), LinearAxis()
    p.add_layout(xaxis, "below")
    p.add_layout(yaxis, "left")
    p.add_layout(Grid(dimension=0, ticker=xaxis.ticker, grid_line_alpha=0.3))
    p.add_layout(Grid(dimension=1, ticker=yaxis.ticker, grid_line_alpha=0.3))
    if tools:
        p.add_tools(*tools)
    return p


class SpectrumPlot:
    """The spectrum, model and residual plots and the line markers, drawn from ``session`` and
    ``view``. Call :meth:`draw` after any change (the view wires the watchers)."""

    def __init__(self, session: Session, view: ViewState, webgl: bool = True):
        self.session = session
        self.view = view
        backend = "webgl" if webgl else "canvas"
        self.x_range = Range1d(0, 1, name="x_range")
        self.y_range = Range1d(0, 1, name="y_range")
        self.residual_range = Range1d(-1, 1, name="residual_y_range")
        self.y_limits = None  # typed (lo, hi) in the y unit, or None: follow the data
        self._view_freq = None  # (lo, hi) MHz of the view, for decimation
        self._model_key = None
        self._updating = False
        self.spectrum_source = ColumnDataSource({"x": [], "y": []}, name="spectrum_source")
        #: the active spectrum's flux +/- its 1-sigma uncertainty, when the file gives one
        self.band_source = ColumnDataSource({"x": [], "lower": [], "upper": []}, name="uncertainty_source")
        self.overlay_source = ColumnDataSource({"xs": [], "ys": [], "colour": [], "name": []}, name="overlay_source")
        self.model_source = ColumnDataSource({"x": [], "y": []}, name="model_source")
        self.components_source = ColumnDataSource({"xs": [], "ys": [], "colour": [], "name": []},
                                                  name="components_source")
        self.residual_source = ColumnDataSource({"x": [], "y": []}, name="residual_source")
        self.lines_source = ColumnDataSource(
            {k: [] for k in ("x", "y0", "y1", "label", "species", "freq_mhz", "qn", "aij", "eup_k", "gup", "source")},
            name="lines_source")
        self.labels_source = ColumnDataSource({"x": [], "y": [], "label": []}, name="labels_source")

        wheel = WheelZoomTool(dimensions="width")
        self.save_tool = SaveTool(filename="cassis_lite_spectrum")  # no prompt for a file name
        self.hover = HoverTool(tooltips=[("x", "@x"), ("y", "@y")], mode="vline")
        p = _new_plot(440, "spectrum_plot", self.x_range, self.y_range, backend,
                      [PanTool(dimensions="width"), wheel, BoxZoomTool(), ResetTool()])
        self.band_renderer = p.add_glyph(self.band_source, VArea(x="x", y1="lower", y2="upper", fill_color="#2a7ab0",
                                                                 fill_alpha=0.25), name="uncertainty_band")
        self.overlay_renderer = p.add_glyph(self.overlay_source, MultiLine(xs="xs", ys="ys", line_color="colour",
                                                                            line_width=1, line_alpha=0.8),
                                            name="overlay_lines")
        self.spectrum_renderer = p.add_glyph(self.spectrum_source, Line(x="x", y="y", line_color="#1b1f24",
                                                                         line_width=1), name="spectrum_line")
        self.components_renderer = p.add_glyph(self.components_source, MultiLine(
            xs="xs", ys="ys", line_color="colour", line_width=1, line_dash="dotted"), name="component_lines")
        self.model_renderer = p.add_glyph(self.model_source, Line(x="x", y="y", line_color="#d1352b", line_width=1.5),
                                          name="model_line")
        self.lines_renderer = p.add_glyph(self.lines_source, Segment(x0="x", y0="y0", x1="x", y1="y1",
                                                                      line_color="#2a7ab0", line_alpha=0.55),
                                          name="line_markers")
        p.add_layout(LabelSet(x="x", y="y", text="label", source=self.labels_source, angle=math.pi / 2,
                              text_align="right", text_baseline="middle", text_font_size="9px",
                              text_color="#2a7ab0", x_offset=-1, y_offset=-3, name="line_labels"))
        self.hover.renderers = [self.spectrum_renderer]
        p.add_tools(self.hover, HoverTool(renderers=[self.lines_renderer], tooltips=[
            ("", "@species"), ("rest frequency", "@freq_mhz{0.0000} MHz"), ("QN", "@qn"),
            ("E_up", "@eup_k{0.0} K"), ("A_ij", "@aij{0.000e+0} s^-1")]), TapTool(renderers=[self.lines_renderer]))
        p.toolbar.active_scroll = wheel
        # the components' entry is listed only while they are drawn (an empty multi-line has no swatch)
        self.components_legend = LegendItem(label="components", renderers=[self.components_renderer], visible=False)
        self._model_label = "LTE model"
        self.model_legend = LegendItem(label=self._model_label, renderers=[self.model_renderer])
        self.band_legend = LegendItem(label="1-sigma uncertainty", renderers=[self.band_renderer], visible=False)
        p.add_layout(Legend(items=[LegendItem(label="spectrum", renderers=[self.spectrum_renderer]),
                                   self.band_legend, self.model_legend, self.components_legend],
                            location="top_left", click_policy="hide", background_fill_alpha=0.7))
        self.plot = p
        r = _new_plot(130, "residual_plot", self.x_range, self.residual_range, backend)
        r.add_glyph(self.residual_source, Line(x="x", y="y", line_color="#555", line_width=1))
        r.yaxis[0].axis_label = "residual"
        self.residual_plot = r
        # one figure with one toolbar: the save button exports spectrum, model, residual and legend
        self.figure = GridPlot(children=[(p, 0, 0), (r, 1, 0)], sizing_mode="stretch_width", name="figure",
                               toolbar=Toolbar(tools=[*p.toolbar.tools, self.save_tool],
                                               active_scroll=wheel, logo=None),
                               toolbar_location="above")
        self.x_range.on_change("start", self._on_x_range)
        self.x_range.on_change("end", self._on_x_range)

    # ------------------------------------------------------------------ axes
    def rest_freq(self) -> tuple[float, str]:
        sp = self.session.spectrum
        return velocity_reference(sp, self.view.window, self.view.rest_freq_mhz)

    def to_x(self, freq_mhz):
        """Frequencies (MHz, in the spectrum's frame) on the x axis; km/s is the LSR velocity
        about the rest frequency of the velocity axis, v = v_file + v(nu; nu_0, convention)."""
        unit = self.view.x_unit
        f = np.asarray(freq_mhz, dtype=float)
        if unit == "km/s":
            rest, _ = self.rest_freq()
            return lsr_velocity_kms(f, rest, float(self.session.spectrum.vlsr_kms or 0.0), self.view.velocity_convention)
        _, base, air = X_AXES[unit]
        return from_freq_mhz(f, base, air=air)

    def from_x(self, x):
        unit = self.view.x_unit
        x = np.asarray(x, dtype=float)
        if unit == "km/s":
            rest, _ = self.rest_freq()
            return lsr_velocity_to_freq_mhz(x, rest, float(self.session.spectrum.vlsr_kms or 0.0),
                                            self.view.velocity_convention)
        _, base, air = X_AXES[unit]
        return to_freq_mhz(x, base, air=air)

    def x_label(self) -> str:
        unit = self.view.x_unit
        if unit == "km/s":
            rest, _ = self.rest_freq()
            if self.session.spectrum.x_kind == "wavelength":  # optical/UV: the rest wavelength, vacuum
                return (f"velocity (km/s, {self.view.velocity_convention}, rest "
                        f"{from_freq_mhz(rest, 'Angstrom'):.3f} A vacuum)")
            return f"v_lsr (km/s, {self.view.velocity_convention}, rest {rest:.4f} MHz)"
        return X_UNITS[unit]

    def visible_freq_range(self) -> tuple[float, float]:
        """(lo, hi) MHz of the window chosen (all of the spectrum for -1)."""
        f = self.session.spectrum.freq_mhz
        wins = window_slices(f)
        if 0 <= self.view.window < len(wins):
            w = wins[self.view.window]
            return float(f[w.start]), float(f[w.stop - 1])
        return float(f[0]), float(f[-1])

    def y_factor(self, freq_mhz, unit):
        """Factor from ``unit`` to the y axis unit (1 when no conversion applies)."""
        try:
            return display_factor(freq_mhz, unit, self.view.y_unit,
                                  beam_axes(self.session.spectrum, self.model_telescope(), freq_mhz))
        except ValueError:
            return 1.0

    def model_telescope(self):
        cfg = self.session.model_config
        return cfg.telescope if cfg is not None and self.view.show_model else None

    def y_label(self) -> str:
        sp = self.session.spectrum
        native = base_unit(sp.y_unit)
        if native is None:
            return sp.y_unit or ("flux (no unit in the file)" if sp.x_kind == "wavelength" else "intensity")
        return sp.y_unit if native[0] == self.view.y_unit else self.view.y_unit

    # ------------------------------------------------------------------ drawing
    def draw(self, reset_range: bool = False) -> None:
        """Everything: axes, range (``reset_range``: to the chosen window), curves, lines."""
        sp = self.session.spectrum
        if sp is None:
            return
        self.plot.xaxis[0].axis_label = self.x_label()
        self.plot.yaxis[0].axis_label = self.y_label()
        self.hover.tooltips = [(X_UNITS[self.view.x_unit].split(" (")[0], f"@x{{{HOVER_FORMATS[self.view.x_unit]}}} "
                                f"{self.view.x_unit}"), (self.y_label(), "@y{0.0000}")]
        if reset_range:
            self.set_range(*self.visible_freq_range())
        self.draw_curves()
        self.draw_lines()

    def set_range(self, fmin_mhz: float, fmax_mhz: float, pad: float = 0.02) -> None:
        x = self.to_x(np.array([fmin_mhz, fmax_mhz]))
        a, b = float(np.nanmin(x)), float(np.nanmax(x))
        d = pad * (b - a or abs(a) * 1e-6 or 1.0)
        self._view_freq = (fmin_mhz - pad * (fmax_mhz - fmin_mhz), fmax_mhz + pad * (fmax_mhz - fmin_mhz))
        self._updating = True
        try:
            self.x_range.update(start=a - d, end=b + d)
        finally:
            self._updating = False

    def show_freq_range(self, fmin_mhz: float, fmax_mhz: float) -> None:
        """Show exactly ``fmin_mhz``..``fmax_mhz``: curves at the resolution of the view, y
        following it, labels thinned (as after a zoom)."""
        self.set_range(fmin_mhz, fmax_mhz, pad=0.0)
        self.draw_curves()
        self.autoscale_y()
        self._draw_labels()

    def _series(self, freq: np.ndarray, y: np.ndarray):
        """(x, y) to draw: everything for short curves, else the visible part, decimated."""
        if freq.size <= MAX_POINTS:
            return gaps_as_nan(freq, self.to_x(freq), y)
        idx = self._indices(freq, y)
        fx = freq[idx]
        return gaps_as_nan(fx, self.to_x(fx), y[idx])

    def _indices(self, freq: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Channels of a curve drawn: all for short curves, else the visible part, decimated."""
        if freq.size <= MAX_POINTS:
            return np.arange(freq.size)
        lo, hi = self._view_freq or (freq[0], freq[-1])
        i0 = max(int(np.searchsorted(freq, lo)) - 1, 0)
        i1 = min(int(np.searchsorted(freq, hi, side="right")) + 1, freq.size)
        return minmax_indices(y, i0, i1, MAX_POINTS // 2) if i1 - i0 > MAX_POINTS else np.arange(i0, i1)

    def band_shown(self) -> bool:
        return bool(self.band_legend.visible)

    def _draw_band(self, factor) -> None:
        """flux -/+ 1 sigma of the active spectrum, at the channels its curve draws (no band
        without an uncertainty column)."""
        sp = self.session.spectrum
        if sp.uncertainty is None:
            self.band_source.data = {"x": [], "lower": [], "upper": []}
            self.band_legend.visible = False
            return
        y, e = sp.intensity * factor, np.abs(sp.uncertainty * factor)
        idx = self._indices(sp.freq_mhz, y)
        fx = sp.freq_mhz[idx]
        x, lower = gaps_as_nan(fx, self.to_x(fx), (y - e)[idx])
        _, upper = gaps_as_nan(fx, fx, (y + e)[idx])
        self.band_source.data = {"x": x, "lower": lower, "upper": upper}
        self.band_legend.visible = True

    def _decimated(self) -> bool:
        sp, m = self.session.spectrum, self.session.model
        return (sp is not None and sp.freq_mhz.size > MAX_POINTS) or (m is not None and m.freq_mhz.size > MAX_POINTS)

    def _on_x_range(self, attr, old, new):
        """Zoom/pan: long curves at full resolution for the new view, y follows, labels thinned."""
        if self._updating or self.session.spectrum is None:
            return
        ends = self.from_x(np.array([self.x_range.start, self.x_range.end], dtype=float))
        self._view_freq = (float(np.nanmin(ends)), float(np.nanmax(ends)))
        if self._decimated():
            self.draw_curves()
        else:
            self.autoscale_y()
        self._draw_marker_heights()  # the density of markers in view changes with the zoom
        self._draw_labels()

    def draw_curves(self) -> None:
        sp = self.session.spectrum
        if sp is None:
            return
        factor = self.y_factor(sp.freq_mhz, sp.y_unit)
        x, y = self._series(sp.freq_mhz, sp.intensity * factor)
        with bokeh_validation(False):
            self.spectrum_source.data = {"x": x, "y": y}
            self._draw_band(factor)
            self._draw_overlays()
        self._model_key = None
        self.draw_model()

    def _draw_overlays(self) -> None:
        xs, ys, colours, names = [], [], [], []
        for e in self.session.spectra:
            other = e.spectrum
            if other is self.session.spectrum or not e.visible:
                continue
            x, y = self._series(other.freq_mhz, other.intensity * self.y_factor(other.freq_mhz, other.y_unit))
            xs.append(x)
            ys.append(y)
            colours.append(e.colour)
            names.append(other.name)
        self.overlay_source.data = {"xs": xs, "ys": ys, "colour": colours, "name": names}

    def draw_model(self) -> None:
        """The model, its components and the residual; a slider move sends only the y columns."""
        m, sp = self.session.model, self.session.spectrum
        if m is None or sp is None or not self.view.show_model:
            self._model_key = None
            for src in (self.model_source, self.residual_source):
                src.data = {"x": [], "y": []}
            self.components_source.data = {"xs": [], "ys": [], "colour": [], "name": []}
            self.components_legend.visible = False
            self.model_legend.visible = False
            self.autoscale_y()
            return
        self.model_legend.visible = True
        label = model_label(self.session.model_config)
        if label != self._model_label:  # a value, not a column name (a plain string would be read as a field)
            self._model_label = label
            self.model_legend.label = value(label)
        same_grid = m.freq_mhz.shape == sp.freq_mhz.shape and np.array_equal(m.freq_mhz, sp.freq_mhz)
        fm = self.y_factor(m.freq_mhz, m.unit)
        fs = self.y_factor(sp.freq_mhz, sp.y_unit)
        key = None if self._decimated() else (id(m.freq_mhz), m.freq_mhz.size, self.view.x_unit, self.view.window,
                                              id(sp), self.view.y_unit, self.view.rest_freq_mhz,
                                              self.view.velocity_convention)
        with bokeh_validation(False):  # Bokeh checks each element of a plain update; float arrays need no check
            if key is not None and key == self._model_key:
                _, y = gaps_as_nan(m.freq_mhz, m.freq_mhz, m.intensity * fm)
                self.model_source.data.update(y=y)
                if same_grid:
                    _, ry = gaps_as_nan(sp.freq_mhz, sp.freq_mhz, sp.intensity * fs - m.intensity * fm)
                    self.residual_source.data.update(y=ry)
            else:
                self._model_key = key
                x, y = self._series(m.freq_mhz, m.intensity * fm)
                self.model_source.data = {"x": x, "y": y}
                if same_grid:
                    rx, ry = self._series(sp.freq_mhz, sp.intensity * fs - m.intensity * fm)
                    self.residual_source.data = {"x": rx, "y": ry}
                else:
                    self.residual_source.data = {"x": [], "y": []}
            self._draw_components(fm)
        self.autoscale_y()

    def _draw_components(self, factor) -> None:
        parts = self.session.component_models() if self.view.show_components else []
        xs, ys, colours, names = [], [], [], []
        m = self.session.model
        for i, (name, y) in enumerate(parts):
            x, yy = self._series(m.freq_mhz, y * factor)
            xs.append(x)
            ys.append(yy)
            colours.append(COMPONENT_COLOURS[i % len(COMPONENT_COLOURS)])
            names.append(name)
        self.components_source.data = {"xs": xs, "ys": ys, "colour": colours, "name": names}
        self.components_legend.visible = bool(xs)

    def autoscale_y(self) -> None:
        """y range: the typed limits, else the data in view (spectrum, model) with room for labels."""
        sp = self.session.spectrum
        if sp is None:
            return
        if self.y_limits is not None:
            lo, hi = self.y_limits
        else:
            lo, hi = self._data_range_in_view()
            span = hi - lo or abs(hi) or 1.0
            lo, hi = lo - 0.06 * span, hi + 0.22 * span  # headroom for the line labels
        if (self.y_range.start, self.y_range.end) != (lo, hi):
            self.y_range.update(start=lo, end=hi)
            self._draw_marker_heights()
            self._draw_labels()
        r = np.asarray(self.residual_source.data.get("y", []), dtype=float)
        x = np.asarray(self.residual_source.data.get("x", []), dtype=float)
        if r.size:
            a, b = self.x_range.start, self.x_range.end
            r = r[(x >= min(a, b)) & (x <= max(a, b)) & np.isfinite(r)]
        if r.size:
            top = float(np.max(np.abs(r))) * 1.1 or 1.0
            self.residual_range.update(start=-top, end=top)

    def _data_range_in_view(self) -> tuple[float, float]:
        lo, hi = np.inf, -np.inf
        a, b = sorted((self.x_range.start, self.x_range.end))
        for src in (self.spectrum_source, self.model_source):
            x = np.asarray(src.data.get("x", []), dtype=float)
            y = np.asarray(src.data.get("y", []), dtype=float)
            if x.size:
                sel = (x >= a) & (x <= b) & np.isfinite(y)
                if sel.any():
                    lo, hi = min(lo, float(y[sel].min())), max(hi, float(y[sel].max()))
        if not np.isfinite(lo):
            return 0.0, 1.0
        return lo, hi

    # ------------------------------------------------------------------ line markers
    def draw_lines(self) -> None:
        sp = self.session.spectrum
        if sp is None:
            return
        t = self.session.lines()[:MAX_LINES]
        vshift = float(self.view.vlsr_kms or 0.0) - float(sp.vlsr_kms or 0.0)
        f_obs = observed_freq(t.freq_mhz, vshift, float(self.view.redshift or 0.0))
        n = len(t)
        x = self.to_x(f_obs)
        self.lines_source.selected.indices = []
        self.lines_source.data = {
            "x": x, "y0": np.zeros(n), "y1": np.zeros(n), "label": [f"{s} {q}" for s, q in zip(t.species_names, t.qn)],
            "species": [str(s) for s in t.species_names], "freq_mhz": t.freq_mhz, "qn": [str(q) for q in t.qn],
            "aij": t.aij, "eup_k": t.eup_k, "gup": t.gup.astype(float), "source": [str(s) for s in t.sources],
        }
        self._draw_marker_heights()
        self._draw_labels()

    def _draw_marker_heights(self) -> None:
        """Markers from bottom to top of the plot, or short ticks at the top where they are dense."""
        x = np.asarray(self.lines_source.data["x"], dtype=float)
        if x.size:
            lo, hi = self.y_range.start, self.y_range.end
            a, b = sorted((self.x_range.start, self.x_range.end))
            dense = np.count_nonzero((x >= a) & (x <= b)) > DENSE_MARKERS
            bottom = hi - TICK_FRACTION * (hi - lo) if dense else lo
            self.lines_source.data.update(y0=np.full(x.size, bottom), y1=np.full(x.size, hi))

    def _draw_labels(self) -> None:
        d = self.lines_source.data
        x = np.asarray(d["x"], dtype=float)
        a, b = sorted((self.x_range.start, self.x_range.end))
        keep = thin_labels(x, a, b)
        self.labels_source.data = {"x": x[keep], "y": np.full(keep.size, self.y_range.end),
                                   "label": [d["species"][i] for i in keep]}
