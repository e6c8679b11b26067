"""The Panel/Bokeh screen of CASSIS lite (same code in the browser worker and under CPython).

Top bar: open (file, URL, bundled samples), x axis, v_lsr / redshift. Main: the spectrum with
line markers and the model, a residual strip. Side: Lines (filters) and Model (one component,
live). Bottom: the line table. All numbers come from :class:`~cassis_lite.app.session.Session`
(readers, line database, LTE model); this module only draws them.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import panel as pn
from bokeh.models import (
    BoxZoomTool, ColumnDataSource, DataRange1d, DataTable, Grid, HoverTool, LabelSet, Legend, LegendItem, Line,
    LinearAxis, NumberFormatter, PanTool, Plot, Range1d, ResetTool, SaveTool, ScientificFormatter, Segment,
    TableColumn, TapTool, WheelZoomTool,
)
from bokeh.core.property.validation import validate as bokeh_validation

from cassis_lite.app.model_table import ModelTable, apply_action
from cassis_lite.app.session import MAX_LINES, Session, default_model
from cassis_lite.app.text import MESSAGE_STYLES, esc, message_box
from cassis_lite.app.yunits import Y_UNITS, base_unit, beam_axes, display_factor
from cassis_lite.errors import CassisError

X_AXES = {
    "Frequency (GHz)": "GHz",
    "Frequency (MHz)": "MHz",
    "Velocity (km/s)": "km/s",
    "Wavelength (mm)": "mm",
}
TELESCOPES = {"12 m dish (APEX, ALMA antenna)": {"diameter_m": 12.0}, "IRAM 30 m": {"name": "iram"},
              "JCMT 15 m": {"name": "jcmt"}, "Herschel/HIFI": {"name": "hifi"},
              "Yebes 40 m": {"name": "yebes40m"}}
MAX_LABELS = 60
MAX_POINTS = 8_000  # drawn points per curve; longer spectra are min/max-decimated to the view


def minmax_indices(y: np.ndarray, i0: int, i1: int, nbins: int) -> np.ndarray:
    """Indices of the min and max of ``y`` in each of ``nbins`` equal slices of [i0, i1).

    Display-only decimation: every peak and dip of the slice survives at screen resolution.
    """
    length = max(1, (i1 - i0) // nbins)
    nbins = (i1 - i0) // length
    block = y[i0:i0 + nbins * length].reshape(nbins, length)
    finite = np.isfinite(block)
    lo = np.where(finite, block, np.inf).argmin(axis=1)
    hi = np.where(finite, block, -np.inf).argmax(axis=1)
    base = i0 + length * np.arange(nbins)
    tail = np.arange(i0 + nbins * length, i1)
    return np.unique(np.concatenate([base + lo, base + hi, tail]))


def _gaps_as_nan(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert NaN between spectral windows so the line is not drawn across the gaps."""
    if x.size < 3:
        return x, y
    d = np.diff(x)
    big = np.flatnonzero(np.abs(d) > 10 * np.median(np.abs(d)))
    if not big.size:
        return x, y
    return np.insert(x, big + 1, np.nan), np.insert(y, big + 1, np.nan)


def windows(freq_mhz: np.ndarray) -> list[tuple[float, float]]:
    """(first, last) frequency of each contiguous window of an ascending axis."""
    d = np.diff(freq_mhz)
    if not d.size:
        return [(float(freq_mhz[0]), float(freq_mhz[-1]))]
    cuts = np.flatnonzero(d > 10 * np.median(d)) + 1
    bounds = np.split(np.arange(freq_mhz.size), cuts)
    return [(float(freq_mhz[b[0]]), float(freq_mhz[b[-1]])) for b in bounds]


class CassisView:
    """Widgets + Bokeh plots bound to a :class:`Session`."""

    def __init__(self, session: Session | None = None, samples: dict[str, bytes] | None = None,
                 fetch_url=None, webgl: bool = True, defer_analysis: bool = False):
        self.output_backend = "webgl" if webgl else "canvas"
        self.telescopes = dict(TELESCOPES)
        self.session = session or Session()
        self.samples = samples or {}
        self.fetch_url = fetch_url
        self._updating = False
        self._build_widgets()
        self._build_plot()
        self.layout = self._build_layout()
        self.analysis = None
        if not defer_analysis:
            self.add_analysis()

    def add_analysis(self) -> None:
        """Build the Identify, Fit, Rotational diagram and v_lsr cards into the side column.

        The browser defers this until the first screen is ready (none of it is above the fold);
        the cards then reach the page as a document patch.
        """
        if self.analysis is not None:
            return
        from cassis_lite.app.analysis_view import AnalysisView

        self.analysis = AnalysisView(self)
        self.side.extend(self.analysis.cards)

    # ------------------------------------------------------------------ widgets
    def _build_widgets(self):
        self.sample_select = pn.widgets.Select(name="Sample", options=[""] + list(self.samples), width=240)
        self.url_input = pn.widgets.TextInput(name="URL", placeholder="https://.../spectrum.fits", width=260)
        self.url_button = pn.widgets.Button(name="Open URL", width=90, align="end")
        self.x_axis = pn.widgets.Select(name="x axis", options=list(X_AXES), width=150)
        self.y_unit = pn.widgets.Select(name="y axis", options=list(Y_UNITS), width=100)
        self.y_note = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-y-note"])
        self.window_select = pn.widgets.Select(name="Window", options=["all"], width=200)
        self.vlsr_input = pn.widgets.FloatInput(name="v_lsr (km/s)", value=0.0, step=0.1, width=110)
        self.redshift_input = pn.widgets.FloatInput(name="redshift z", value=0.0, step=0.001, start=0.0, width=100)
        self.message = pn.pane.HTML("", visible=False, sizing_mode="stretch_width", css_classes=["cl-message"],
                                    styles=dict(MESSAGE_STYLES["error"], padding="4px 10px", **{"border-radius": "4px"}))
        self.info = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-info"])

        self.species_filter = pn.widgets.TextInput(name="Species (comma separated, empty = all)", value="")
        self.eup_max = pn.widgets.FloatInput(name="E_up max (K)", value=None, start=0.0)
        self.aij_min = pn.widgets.FloatInput(name="A_ij min (s^-1)", value=None, start=0.0)
        self.transition = pn.pane.HTML("Click a line marker to see its transition.",
                                           sizing_mode="stretch_width", css_classes=["cl-transition"])

        self.model_species = pn.widgets.TextInput(name="Species", value="CO")
        self.log_ntot = pn.widgets.FloatSlider(name="log10 N (cm^-2)", start=10.0, end=20.0, step=0.05, value=16.0)
        self.tex = pn.widgets.FloatSlider(name="T_ex (K)", start=3.0, end=300.0, step=1.0, value=50.0)
        self.fwhm = pn.widgets.FloatSlider(name="FWHM (km/s)", start=0.2, end=30.0, step=0.1, value=4.0)
        self.model_vlsr = pn.widgets.FloatSlider(name="v_lsr (km/s)", start=-50.0, end=50.0, step=0.1, value=0.0)
        self.size = pn.widgets.FloatSlider(name="size (arcsec)", start=0.5, end=120.0, step=0.5, value=30.0)
        self.telescope = pn.widgets.Select(name="Telescope", options=list(self.telescopes))
        self.show_model = pn.widgets.Checkbox(name="Show LTE model", value=True)
        self.model_table = ModelTable(self._on_table_action)
        self.model_download = pn.widgets.FileDownload(callback=self._model_csv, filename="cassis_lite_model.csv",
                                                      label="Model CSV", button_type="default", width=120)
        self.lines_download = pn.widgets.FileDownload(callback=self._lines_csv, filename="cassis_lite_lines.csv",
                                                      label="Line table CSV", button_type="default", width=140)

        self.sample_select.param.watch(self._on_sample, "value")
        self.url_button.on_click(self._on_url)
        self.x_axis.param.watch(lambda e: self.redraw(), "value")
        self.y_unit.param.watch(lambda e: None if self._updating or self.session.spectrum is None
                                else self._redraw_y(), "value")
        self.window_select.param.watch(self._on_window, "value")
        for w in (self.vlsr_input, self.redshift_input):
            w.param.watch(lambda e: self._draw_lines(), "value")
        for w in (self.species_filter, self.eup_max, self.aij_min):
            w.param.watch(self._on_filters, "value")
        for w in (self.model_species, self.log_ntot, self.tex, self.fwhm, self.model_vlsr, self.size,
                  self.telescope, self.show_model):
            w.param.watch(self._on_model_widgets, "value")

    # ------------------------------------------------------------------ plots
    def _new_plot(self, height, name, tools):
        """A Bokeh plot on the shared x range (built from models: ``figure()`` imports pandas)."""
        p = Plot(height=height, sizing_mode="stretch_width", x_range=self.x_range, y_range=DataRange1d(),
                 output_backend=self.output_backend, name=name, min_border_left=60)
        xaxis, yaxis = LinearAxis(), LinearAxis()
        p.add_layout(xaxis, "below")
        p.add_layout(yaxis, "left")
        p.add_layout(Grid(dimension=0, ticker=xaxis.ticker, grid_line_alpha=0.3))
        p.add_layout(Grid(dimension=1, ticker=yaxis.ticker, grid_line_alpha=0.3))
        if tools:
            p.add_tools(*tools)
        p.toolbar.logo = None
        return p

    def _build_plot(self):
        self.x_range = Range1d(0, 1, name="x_range")
        self.spectrum_source = ColumnDataSource({"x": [], "y": []}, name="spectrum_source")
        self.model_source = ColumnDataSource({"x": [], "y": []}, name="model_source")
        self.residual_source = ColumnDataSource({"x": [], "y": []}, name="residual_source")
        self.lines_source = ColumnDataSource(
            {k: [] for k in ("x", "y0", "y1", "label", "species", "freq_mhz", "qn", "aij", "eup_k", "gup")},
            name="lines_source")
        self.labels_source = ColumnDataSource({"x": [], "y": [], "label": []}, name="labels_source")
        wheel = WheelZoomTool(dimensions="width")
        p = self._new_plot(430, "spectrum_plot",
                           [PanTool(dimensions="width"), wheel, BoxZoomTool(), ResetTool(), SaveTool()])
        p.toolbar.active_scroll = wheel
        self.spectrum_renderer = p.add_glyph(self.spectrum_source, Line(x="x", y="y", line_color="#1b1f24",
                                                                         line_width=1), name="spectrum_line")
        self.model_renderer = p.add_glyph(self.model_source, Line(x="x", y="y", line_color="#d1352b",
                                                                   line_width=1.5), name="model_line")
        self.lines_renderer = p.add_glyph(self.lines_source, Segment(x0="x", y0="y0", x1="x", y1="y1",
                                                                      line_color="#2a7ab0", line_alpha=0.6),
                                          name="line_markers")
        p.add_layout(LabelSet(x="x", y="y", text="label", source=self.labels_source, angle=math.pi / 2,
                              text_font_size="9px", text_color="#2a7ab0", x_offset=3))
        p.add_tools(HoverTool(renderers=[self.spectrum_renderer], tooltips=[("x", "@x{0.000}"), ("y", "@y{0.000}")],
                              mode="vline"))
        p.add_tools(HoverTool(renderers=[self.lines_renderer],
                              tooltips=[("", "@species"), ("freq (MHz)", "@freq_mhz{0.0000}"), ("QN", "@qn"),
                                        ("E_up (K)", "@eup_k{0.0}")]))
        p.add_tools(TapTool(renderers=[self.lines_renderer]))
        p.add_layout(Legend(items=[LegendItem(label="spectrum", renderers=[self.spectrum_renderer]),
                                   LegendItem(label="LTE model", renderers=[self.model_renderer])],
                            location="top_left", click_policy="hide"))
        self.plot = p
        r = self._new_plot(130, "residual_plot", [])
        r.toolbar_location = None
        r.add_glyph(self.residual_source, Line(x="x", y="y", line_color="#555", line_width=1))
        r.yaxis[0].axis_label = "residual"
        self.residual_plot = r
        self.lines_source.selected.on_change("indices", self._on_line_tap)
        self.x_range.on_change("end", self._on_x_range)
        self.table = DataTable(source=self.lines_source, sizing_mode="stretch_width", height=220, index_position=None,
                               columns=[TableColumn(field="species", title="Species"),
                                        TableColumn(field="freq_mhz", title="Frequency (MHz)",
                                                    formatter=NumberFormatter(format="0.0000")),
                                        TableColumn(field="qn", title="Quantum numbers"),
                                        TableColumn(field="eup_k", title="E_up (K)", formatter=NumberFormatter(format="0.00")),
                                        TableColumn(field="aij", title="A_ij (s^-1)", formatter=ScientificFormatter(precision=3)),
                                        TableColumn(field="gup", title="g_up")],
                               name="line_table")

    def _build_layout(self):
        # files are opened from the page's drop zone (web/main.js): it checks the size first
        # a Row that wraps, not pn.FlexBox: that one is a ReactiveHTML, which needs eval in the page
        top = pn.Row(self.sample_select, self.url_input, self.url_button, self.x_axis, self.y_unit,
                     self.window_select, self.vlsr_input, self.redshift_input, sizing_mode="stretch_width",
                     styles={"flex-wrap": "wrap"})
        lines_card = pn.Card(self.species_filter, self.eup_max, self.aij_min, self.transition,
                             title="Lines", sizing_mode="stretch_width")
        model_card = pn.Card(self.show_model, self.model_species, self.log_ntot, self.tex, self.fwhm,
                             self.model_vlsr, self.size, self.telescope,
                             pn.pane.HTML("<b>Components x species</b> (the sliders set c1, species 1)",
                                              margin=(8, 5, 0, 5)),
                             self.model_table.panel,
                             pn.Row(self.model_download, self.lines_download),
                             title="LTE model", sizing_mode="stretch_width")
        main = pn.Column(self.info, self.y_note, pn.pane.Bokeh(self.plot, sizing_mode="stretch_width"),
                         pn.pane.Bokeh(self.residual_plot, sizing_mode="stretch_width"), sizing_mode="stretch_width")
        self.side = side = pn.Column(lines_card, model_card, width=330)
        return pn.Column(top, self.message, pn.Row(main, side, sizing_mode="stretch_width"),
                         pn.pane.Bokeh(self.table, sizing_mode="stretch_width"), sizing_mode="stretch_width",
                         name="cassis_lite")

    # ------------------------------------------------------------------ messages
    def show_error(self, text: str) -> None:
        self.message.object = message_box(text)
        self.message.visible = True

    def clear_error(self) -> None:
        self.message.visible = False
        self.message.object = ""

    # ------------------------------------------------------------------ actions
    def load(self, data: bytes, name: str):
        """Load a spectrum; on error show the message and keep the previous spectrum."""
        try:
            sp = self.session.load_spectrum(data, name)
        except CassisError as exc:
            self.show_error(str(exc))
            raise
        self.clear_error()
        self._updating = True
        try:
            self.vlsr_input.value = float(sp.vlsr_kms or 0.0)
            self.redshift_input.value = float(sp.redshift or 0.0)
            self.model_vlsr.value = float(sp.vlsr_kms or 0.0)
            wins = windows(sp.freq_mhz)
            self._windows = wins
            self.window_select.options = ["all"] + [f"{a / 1e3:.3f}-{b / 1e3:.3f} GHz" for a, b in wins]
            # start on the window holding the strongest channel (multi-window files span GHz)
            self.window_select.value = "all"
            if len(wins) > 1:
                peak = float(sp.freq_mhz[int(np.nanargmax(np.abs(sp.intensity)))])
                best = next(i for i, (a, b) in enumerate(wins) if a <= peak <= b)
                self.window_select.value = self.window_select.options[best + 1]
        finally:
            self._updating = False
        if self.session.model_config is None or self.session.model_config.grid is not None:
            self._apply_model_widgets(raise_errors=False)
        self.redraw(reset_range=True)
        return sp

    def set_model(self, config: dict):
        """Set the model from a config dict (API); the sliders follow its first component."""
        self.session.set_model(config)
        comp = self.session.model_config.components[0] if self.session.model_config.components else None
        if comp is not None and comp.species:
            self._updating = True
            try:
                self.model_species.value = str(comp.species[0].species)
                self.log_ntot.value = min(max(math.log10(comp.species[0].ntot_cm2), self.log_ntot.start), self.log_ntot.end)
                self.tex.value = min(max(comp.tex_k, self.tex.start), self.tex.end)
                self.fwhm.value = min(max(comp.fwhm_kms, self.fwhm.start), self.fwhm.end)
                self.model_vlsr.value = min(max(comp.vlsr_kms, self.model_vlsr.start), self.model_vlsr.end)
                if comp.size_arcsec is not None:
                    self.size.value = min(max(comp.size_arcsec, self.size.start), self.size.end)
                tel = self.session.model_config.telescope
                if tel is not None:
                    tel = {k: (list(v) if isinstance(v, tuple) else v) for k, v in tel.to_dict().items()
                           if v is not None}
                    label = next((k for k, v in self.telescopes.items() if v == tel), None)
                    if label is None:
                        label = "model: " + ", ".join(f"{k} {v}" for k, v in tel.items())
                        self.telescopes[label] = tel
                        self.telescope.options = list(self.telescopes)
                    self.telescope.value = label
                self.show_model.value = True
            finally:
                self._updating = False
        self.model_table.sync(self.session.model_config.to_dict())
        self.clear_error()
        self._draw_model()
        return self.session.model

    def set_filters(self, filters: dict):
        self.session.set_filters(filters)
        f = self.session.filters
        self._updating = True
        try:
            self.species_filter.value = ", ".join(f.species or [])
            self.eup_max.value = f.eup_max_k
            self.aij_min.value = f.aij_min
        finally:
            self._updating = False
        self._draw_lines()

    def model_config_from_widgets(self) -> dict:
        """The current model with its first component / first species taken from the widgets.

        Other components and species (set through ``setModel``) are kept; the grid is the
        spectrum's.
        """
        sp = self.session.spectrum
        current = self.session.model_config
        cfg = current.to_dict() if current is not None and current.components else default_model()
        cfg.pop("grid", None)
        cfg["telescope"] = dict(self.telescopes[self.telescope.value])
        cfg["vlsr_file_kms"] = float(sp.vlsr_kms or 0.0) if sp is not None else 0.0
        comp = cfg["components"][0]
        comp.update(tex_k=float(self.tex.value), fwhm_kms=float(self.fwhm.value),
                    vlsr_kms=float(self.model_vlsr.value), size_arcsec=float(self.size.value))
        first = comp["species"][0]
        first["species"] = self.model_species.value.strip() or "CO"
        first["ntot_cm2"] = float(10.0 ** self.log_ntot.value)
        return cfg

    def _apply_model_widgets(self, raise_errors=True):
        if not self.show_model.value or self.session.spectrum is None:
            self.session.clear_model()
            return
        try:
            self.session.set_model(self.model_config_from_widgets())
            self.model_table.sync(self.session.model_config.to_dict())
        except CassisError as exc:
            self.session.clear_model()
            self.show_error(f"Model: {exc}")
            if raise_errors:
                raise

    def _on_table_action(self, action: tuple):
        """An edit of the components x species table: recompute, then show what is in force."""
        if self.session.spectrum is None:
            return
        cfg = apply_action(self.model_config_from_widgets(), action)
        try:
            self.set_model(cfg)  # sliders and table follow the new config
        except CassisError as exc:
            self.show_error(f"Model: {exc}")
            if self.session.model_config is not None:
                self.model_table.sync(self.session.model_config.to_dict())

    # ------------------------------------------------------------------ callbacks
    def _on_sample(self, event):
        if event.new:
            try:
                self.load(self.samples[event.new], event.new)
            except CassisError:
                pass

    async def _on_url(self, event):
        url = (self.url_input.value or "").strip()
        if not url or self.fetch_url is None:
            return
        try:
            data = await self.fetch_url(url)
            self.load(data, url.rsplit("/", 1)[-1] or url)
        except CassisError:
            pass
        except Exception as exc:  # network errors: say so, keep the spectrum
            self.show_error(f"{url}: could not download ({exc})")

    def _on_window(self, event):
        if self._updating or self.session.spectrum is None:
            return
        self._set_range(event.new)
        if self._decimated():
            self._draw_curves()

    def _on_filters(self, event):
        if self._updating:
            return
        species = [s.strip() for s in self.species_filter.value.split(",") if s.strip()] or None
        try:
            self.session.set_filters({"species": species, "eup_max_k": self.eup_max.value,
                                      "aij_min": self.aij_min.value})
            self.clear_error()
        except CassisError as exc:
            self.show_error(f"Lines: {exc}")
            return
        self._draw_lines()

    def _on_model_widgets(self, event):
        if self._updating:
            return
        try:
            self._apply_model_widgets()
            self.clear_error()
        except CassisError:
            pass
        if event.obj in (self.telescope, self.show_model) and self.session.spectrum is not None:
            self._redraw_y()  # the beam that converts K <-> Jy/beam may have changed
        else:
            self._draw_model()

    def _on_line_tap(self, attr, old, new):
        if not new:
            return
        d = self.lines_source.data
        i = new[0]
        self.transition.object = (
            f"<b>{esc(d['species'][i])}</b> {esc(d['qn'][i])}<br>"
            f"frequency {d['freq_mhz'][i]:.4f} MHz, A_ij {d['aij'][i]:.3e} s^-1, "
            f"E_up {d['eup_k'][i]:.2f} K, g_up {d['gup'][i]:g}")

    # ------------------------------------------------------------------ drawing
    def _x(self, freq_mhz):
        unit = X_AXES[self.x_axis.value]
        from cassis_lite.units import from_freq_mhz

        rest = None
        if unit == "km/s":
            rest = self._rest_freq()
        return from_freq_mhz(freq_mhz, unit, rest_freq_mhz=rest)

    def _rest_freq(self):
        sp = self.session.spectrum
        if sp is not None and sp.rest_freq_mhz:
            return float(sp.rest_freq_mhz)
        lo, hi = self._visible_freq_range()
        return 0.5 * (lo + hi)

    def _visible_freq_range(self):
        sp = self.session.spectrum
        wins = getattr(self, "_windows", None)
        if wins and self.window_select.value != "all" and self.window_select.value in self.window_select.options:
            return wins[self.window_select.options.index(self.window_select.value) - 1]
        return float(sp.freq_mhz[0]), float(sp.freq_mhz[-1])

    def _set_range(self, window_label):
        lo, hi = self._visible_freq_range()
        x = self._x(np.array([lo, hi]))
        a, b = float(np.nanmin(x)), float(np.nanmax(x))
        pad = 0.02 * (b - a or 1.0)
        self._view_freq = (lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
        self._updating, updating = True, self._updating
        try:
            self.x_range.update(start=a - pad, end=b + pad)
        finally:
            self._updating = updating

    def _series(self, freq: np.ndarray, y: np.ndarray):
        """(x, y) to draw: everything for short curves, else the visible part, decimated."""
        if freq.size <= MAX_POINTS:
            return _gaps_as_nan(self._x(freq), y)
        lo, hi = getattr(self, "_view_freq", None) or (freq[0], freq[-1])
        i0 = max(int(np.searchsorted(freq, lo)) - 1, 0)
        i1 = min(int(np.searchsorted(freq, hi, side="right")) + 1, freq.size)
        if i1 - i0 > MAX_POINTS:
            idx = minmax_indices(y, i0, i1, MAX_POINTS // 2)
            fx, fy = freq[idx], y[idx]
        else:
            fx, fy = freq[i0:i1], y[i0:i1]
        return _gaps_as_nan(self._x(fx), fy)

    def _decimated(self) -> bool:
        sp, m = self.session.spectrum, self.session.model
        return (sp is not None and sp.freq_mhz.size > MAX_POINTS) or (m is not None and m.freq_mhz.size > MAX_POINTS)

    def _on_x_range(self, attr, old, new):
        """Zoom/pan: redraw long curves at full resolution for the new view."""
        if self._updating or not self._decimated():
            return
        from cassis_lite.units import to_freq_mhz

        unit = X_AXES[self.x_axis.value]
        ends = to_freq_mhz(np.array([self.x_range.start, self.x_range.end], float), unit,
                           rest_freq_mhz=self._rest_freq() if unit == "km/s" else None)
        lo, hi = float(np.nanmin(ends)), float(np.nanmax(ends))
        self._view_freq = (lo, hi)
        self._draw_curves()

    def _draw_curves(self):
        sp = self.session.spectrum
        if sp is None:
            return
        x, y = self._series(sp.freq_mhz, sp.intensity * self._y_factor(sp.freq_mhz, sp.y_unit))
        with bokeh_validation(False):
            self.spectrum_source.data = {"x": x, "y": y}
        self._model_key = None
        self._draw_model()

    def redraw(self, reset_range=False):
        sp = self.session.spectrum
        if sp is None:
            return
        self.plot.xaxis[0].axis_label = self.x_axis.value
        self._y_label()
        telescopes = [f"{name} {lo / 1e3:g}-{hi / 1e3:g} GHz" for name, (lo, hi) in
                      (sp.meta.get("telescopes") or {}).items()] or [sp.telescope]
        source = ", ".join(str(v) for v in (sp.meta.get("object"), *telescopes) if v)
        self.info.object = (f"<b>{esc(sp.name)}</b> ({esc(sp.format)}{'; ' + esc(source) if source else ''}): "
                            f"{sp.freq_mhz.size} channels, "
                            f"{sp.freq_mhz[0] / 1e3:.4f}-{sp.freq_mhz[-1] / 1e3:.4f} GHz, "
                            f"v_lsr {sp.vlsr_kms:g} km/s")
        self._set_range(self.window_select.value)
        self._draw_curves()
        self._draw_lines()

    # ------------------------------------------------------------------ y axis: K or Jy/beam
    def _model_telescope(self):
        """The telescope of the shown model (its beam converts K <-> Jy/beam), or None."""
        if not self.show_model.value:
            return None
        cfg = self.session.model_config
        if cfg is not None and cfg.telescope is not None:
            return cfg.telescope
        from cassis_lite.lte.config import Telescope

        try:
            return Telescope.from_dict(dict(self.telescopes[self.telescope.value]))
        except CassisError:
            return None

    def _y_label(self):
        sp = self.session.spectrum
        self._update_y_state()
        native = base_unit(sp.y_unit)
        shown = self.y_unit.value if native is not None else (sp.y_unit or "intensity")
        self.plot.yaxis[0].axis_label = sp.y_unit if native is not None and native[0] == shown else shown

    def _redraw_y(self):
        """Redraw the curves and markers in the current y unit (the x range stays)."""
        self._y_label()
        self._draw_curves()
        self._draw_lines()

    def _y_factor(self, freq_mhz, unit):
        """Factor from ``unit`` to the y axis unit (1 when no conversion applies)."""
        sp = self.session.spectrum
        try:
            return display_factor(freq_mhz, unit, self.y_unit.value,
                                  beam_axes(sp, self._model_telescope(), freq_mhz))
        except ValueError:
            return 1.0

    def _update_y_state(self):
        """Enable the K <-> Jy/beam switch only when a beam is known; say why otherwise."""
        sp = self.session.spectrum
        native = base_unit(sp.y_unit)
        beam = beam_axes(sp, self._model_telescope(), sp.freq_mhz[:1])
        reason = None
        if native is None:
            reason = f"the spectrum's unit {sp.y_unit or '(none)'!r} is neither K nor Jy/beam"
        elif beam is None:
            reason = "no beam known (the file gives none; show the LTE model to use its telescope's beam)"
        self._updating, updating = True, self._updating
        try:
            if reason:
                self.y_unit.value = native[0] if native else "K"
                self.y_unit.disabled = True
                self.y_note.object = esc(f"K <-> Jy/beam switch off: {reason}.")
            else:
                self.y_unit.disabled = False
                self.y_note.object = ("" if native[0] == self.y_unit.value else
                                      esc(f"y axis in {self.y_unit.value}, converted with {beam[2]}."))
        finally:
            self._updating = updating

    def _draw_model(self):
        m = self.session.model
        sp = self.session.spectrum
        if m is None or sp is None or not self.show_model.value:
            self._model_key = None
            self.model_source.data = {"x": [], "y": []}
            self.residual_source.data = {"x": [], "y": []}
            return
        same_grid = m.freq_mhz.shape == sp.freq_mhz.shape and np.array_equal(m.freq_mhz, sp.freq_mhz)
        key = (id(m.freq_mhz), m.freq_mhz.size, self.x_axis.value, self.window_select.value, id(sp),
               self.y_unit.value)
        fm = self._y_factor(m.freq_mhz, m.unit)
        fs = self._y_factor(sp.freq_mhz, sp.y_unit)
        if self._decimated():
            key = None
        # Bokeh checks each element of a plain update; arrays of floats need no such check.
        with bokeh_validation(False):
            if key is not None and key == getattr(self, "_model_key", None):
                # sliders: same grid, so only the y columns travel to the page
                _, y = _gaps_as_nan(m.freq_mhz, m.intensity * fm)
                self.model_source.data.update(y=y)
                if same_grid:
                    _, ry = _gaps_as_nan(sp.freq_mhz, sp.intensity * fs - m.intensity * fm)
                    self.residual_source.data.update(y=ry)
                return
            self._model_key = key
            x, y = self._series(m.freq_mhz, m.intensity * fm)
            self.model_source.data = {"x": x, "y": y}
            if same_grid:
                rx, ry = self._series(sp.freq_mhz, sp.intensity * fs - m.intensity * fm)
                self.residual_source.data = {"x": rx, "y": ry}
            else:
                self.residual_source.data = {"x": [], "y": []}

    def _draw_lines(self):
        sp = self.session.spectrum
        if sp is None:
            return
        from cassis_lite.units import observed_freq

        try:
            t = self.session.lines()
        except CassisError as exc:
            self.show_error(f"Lines: {exc}")
            return
        t = t[: MAX_LINES]
        vshift = float(self.vlsr_input.value or 0.0) - float(sp.vlsr_kms or 0.0)
        f_obs = observed_freq(t.freq_mhz, vshift, float(self.redshift_input.value or 0.0))
        y = sp.intensity * self._y_factor(sp.freq_mhz, sp.y_unit)
        y = y[np.isfinite(y)]
        lo, hi = (float(y.min()), float(y.max())) if y.size else (0.0, 1.0)
        top = hi + 0.05 * (hi - lo or 1.0)
        n = len(t)
        x = self._x(f_obs)
        labels = [f"{s} {q}" for s, q in zip(t.species_names, t.qn)]
        self.lines_source.selected.indices = []
        self.lines_source.data = {
            "x": x, "y0": np.full(n, lo), "y1": np.full(n, top), "label": labels,
            "species": [str(s) for s in t.species_names], "freq_mhz": t.freq_mhz, "qn": [str(q) for q in t.qn],
            "aij": t.aij, "eup_k": t.eup_k, "gup": t.gup.astype(float),
        }
        if n <= MAX_LABELS:
            self.labels_source.data = {"x": x, "y": np.full(n, top), "label": [str(s) for s in t.species_names]}
        else:
            self.labels_source.data = {"x": [], "y": [], "label": []}

    # ------------------------------------------------------------------ exports
    def _model_csv(self):
        m = self.session.model
        out = io.StringIO()
        if m is not None:
            from cassis_lite.readers.writers import write_model_csv

            write_model_csv(m, out, with_tau=m.tau is not None)
        return io.BytesIO(out.getvalue().encode())

    def _lines_csv(self):
        out = io.StringIO()
        try:
            records = self.session.lines().to_records()
        except CassisError:
            records = []
        fields = ["species", "tag", "freq_mhz", "err_mhz", "aij", "eup_k", "elow_cm", "gup", "qn", "source"]
        w = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(records)
        return io.BytesIO(out.getvalue().encode())
