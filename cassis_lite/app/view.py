"""The Panel/Bokeh screen of CASSIS lite (same code in the browser worker and under CPython).

A thin composition: the top bar (open, axes, v_lsr / z), the spectrum plot
(:mod:`cassis_lite.app.plot`) with the line table under it, and the cards
(:mod:`cassis_lite.app.cards`) in tabs beside it, all reading the state of
:mod:`cassis_lite.app.state`. The plot and the tabs sit side by side on a wide screen, the plot
staying in view while a card is used; on a narrow one the tabs go under the plot.
"""

from __future__ import annotations

import gc
import math

import numpy as np
import panel as pn

from cassis_lite.app.cards.lines import LinesCard
from cassis_lite.app.cards.model import ModelCard
from cassis_lite.app.cards.spectra import SpectraCard
from cassis_lite.app.plot import SpectrumPlot
from cassis_lite.app.state import X_UNITS, Y_UNITS, Session, ViewState, file_axis, is_optical_axis, velocity_reference
from cassis_lite.app.text import MESSAGE_STYLES, esc, message_box
from cassis_lite.app.yunits import base_unit, beam_axes
from cassis_lite.errors import CassisError
from cassis_lite.spectrum import window_slices

#: the page's layout: plot and tabs side by side, the tabs scrolling on their own; one column on
#: a narrow screen (phone: read the spectrum, lines and model)
LAYOUT_CSS = """
:host { flex-wrap: wrap !important; min-width: 0 !important; align-items: flex-start; gap: 8px; }
.cl-main-col { flex: 1 1 0 !important; min-width: 0 !important; width: auto !important; position: sticky; top: 0; }
.cl-side { flex: 0 0 400px !important; width: 400px !important; max-height: calc(100vh - 16px); overflow-y: auto; }
@media (max-width: 1100px) { .cl-side { flex-basis: 330px !important; width: 330px !important; } }
@media (max-width: 720px) {
  .cl-main-col { position: static; flex-basis: 100% !important; }
  .cl-side { flex-basis: 100% !important; width: 100% !important; min-width: 0 !important; max-height: none; }
}
"""
#: the cards' tab titles wrap on two lines rather than scroll out of sight
TABS_CSS = ".bk-header { flex-wrap: wrap; }"
#: Bokeh gives a row the sum of its children's widths as its minimum: a wrapping row needs none
TOP_CSS = """:host { flex-wrap: wrap !important; min-width: 0 !important; align-items: flex-end; }
@media (max-width: 720px) { .cl-url { display: none !important; } }"""
ROOT_CSS = ":host { min-width: 0 !important; }"
#: a card's rows of widgets wrap in its panel (330 px at 800 px wide) rather than run out of it
CARD_ROW_CSS = ":host { flex-wrap: wrap !important; min-width: 0 !important; }"
#: the view's params a link carries (applied in this order)
LINK_VIEW_KEYS = ("window", "x_unit", "velocity_convention", "rest_freq_mhz", "rest_label", "y_unit", "vlsr_kms",
                  "redshift", "show_model", "show_components")


def window_label(sp, w: slice) -> str:
    """A spectral window in the file's own terms: GHz, or its wavelengths (A, nm, um)."""
    if sp.x_kind == "wavelength":
        x = sp.x_original[w]
        return f"{x.min():.6g}-{x.max():.6g} {sp.x_unit}"
    return f"{sp.freq_mhz[w.start] / 1e3:.3f}-{sp.freq_mhz[w.stop - 1] / 1e3:.3f} GHz"


def same_cube_grid(old, new) -> bool:
    """``new`` is another pixel of the cube ``old`` was taken from, on the same frequencies."""
    return (old is not None and new is not None and old is not new and old.name == new.name
            and "cube_shape" in old.meta and "cube_shape" in new.meta and old.freq_mhz is new.freq_mhz)


class CassisView:
    """The screen bound to a :class:`Session` and a :class:`ViewState`."""

    _drawing_spectrum = False

    def __init__(self, session: Session | None = None, samples: dict[str, bytes] | None = None,
                 fetch_url=None, webgl: bool = True, defer_analysis: bool = False,
                 samples_meta: dict | None = None):
        self.session = session or Session()
        self.view = ViewState()
        self.samples = samples or {}
        self.samples_meta = samples_meta or {}  # what the sample files do not say (data/samples/samples.json)
        self.fetch_url = fetch_url
        self.plot = SpectrumPlot(self.session, self.view, webgl=webgl)
        self.lines_card = LinesCard(self.session, self.view, self.plot)
        self.model_card = ModelCard(self.session, self.view)
        self.spectra_card = SpectraCard(self.session)
        self.cards = [self.lines_card, self.model_card, self.spectra_card]
        from cassis_lite.app.cards.demo import DemoCard

        self.demo = DemoCard(self)
        self._build_top()
        self.layout = self._build_layout()
        self._watch()
        self.analysis_cards = None
        self.line_lists = None  # the Lines card's panel of line lists (added with the analysis cards)
        self._event_sinks = []
        if not defer_analysis:
            self.add_analysis()

    # ------------------------------------------------------------------ building
    def _build_top(self):
        v = self.view
        self.sample_select = pn.widgets.Select(name="Spectrum", options=[""] + list(self.samples), width=230)
        self.sample_select.param.watch(self._on_sample, "value")
        self.url_input = pn.widgets.TextInput(name="URL", placeholder="https://.../spectrum.fits", width=230,
                                              css_classes=["cl-url"])
        self.url_button = pn.widgets.Button(name="Open URL", width=90, align="end", css_classes=["cl-url"])
        self.url_button.on_click(self._on_url)
        self.x_unit = pn.widgets.Select.from_param(v.param.x_unit, name="x axis", width=190,
                                                   options={label: unit for unit, label in X_UNITS.items()})
        self.y_unit = pn.widgets.Select.from_param(v.param.y_unit, name="y axis", options=list(Y_UNITS), width=90)
        self.window_select = pn.widgets.Select(name="Window", options=["all"], width=190)
        self.window_select.param.watch(self._on_window_select, "value")
        self.convention = pn.widgets.Select.from_param(v.param.velocity_convention, name="velocity", width=110,
                                                       visible=False)
        self.rest_input = pn.widgets.FloatInput(name="rest frequency (MHz)", value=None, start=0.0, width=150,
                                                visible=False, placeholder="the file's")
        self.rest_input.param.watch(self._on_rest, "value")
        self.vlsr_input = pn.widgets.FloatInput.from_param(v.param.vlsr_kms, name="v_lsr (km/s)", step=0.1, width=100)
        self.redshift_input = pn.widgets.FloatInput.from_param(v.param.redshift, name="redshift z", step=0.001,
                                                               width=90)
        self.limits = {k: pn.widgets.FloatInput(name=label, value=None, width=95) for k, label in
                       (("x0", "x from"), ("x1", "x to"), ("y0", "y from"), ("y1", "y to"))}
        for w in self.limits.values():
            w.param.watch(self._on_limits, "value")
        self.info = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-info"])
        self.axis_note = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-axis-note"])
        self.message = pn.pane.HTML("", visible=False, sizing_mode="stretch_width", css_classes=["cl-message"],
                                    styles=dict(MESSAGE_STYLES["error"], padding="4px 10px",
                                                **{"border-radius": "4px"}))

    def _build_layout(self):
        top = pn.Row(self.sample_select, self.url_input, self.url_button, self.x_unit, self.y_unit,
                     self.window_select, self.convention, self.rest_input, self.vlsr_input, self.redshift_input,
                     sizing_mode="stretch_width", stylesheets=[TOP_CSS], css_classes=["cl-top-bar"])
        limits = pn.Row(*self.limits.values(), sizing_mode="stretch_width", stylesheets=[TOP_CSS],
                        css_classes=["cl-limits"])
        main = pn.Column(self.demo, self.info, self.axis_note, self.message, pn.pane.Bokeh(self.plot.figure,
                                                                                sizing_mode="stretch_width"),
                         limits, pn.pane.Bokeh(self.lines_card.table, sizing_mode="stretch_width"),
                         sizing_mode="stretch_width", css_classes=["cl-main-col"])
        self.tabs = pn.Tabs(*self._tab_items(), dynamic=True, sizing_mode="stretch_width",
                            css_classes=["cl-side"], name="cards", stylesheets=[TABS_CSS])
        return pn.Column(top, pn.Row(main, self.tabs, sizing_mode="stretch_width", stylesheets=[LAYOUT_CSS]),
                         sizing_mode="stretch_width", name="cassis_lite", stylesheets=[ROOT_CSS])

    def add_analysis(self) -> None:
        """The Identify, Fit, v_lsr, Rotational diagram and Tools cards (the browser adds them once
        the first screen is ready; none is on it)."""
        if self.analysis_cards is not None:
            return
        from cassis_lite.app.cards.absorption import AbsorptionCard
        from cassis_lite.app.cards.atomis import AtomisCard
        from cassis_lite.app.cards.broadening import BroadeningCard
        from cassis_lite.app.cards.cube import CubeCard
        from cassis_lite.app.cards.fit import FitCard
        from cassis_lite.app.cards.identify import IdentifyCard
        from cassis_lite.app.cards.linelists import LineListsPanel
        from cassis_lite.app.cards.linesearch import LineSearchCard
        from cassis_lite.app.cards.rotdiagram import RotationalDiagramCard
        from cassis_lite.app.cards.tools import ToolsCard
        from cassis_lite.app.cards.vlsr import VelocityCard

        fit_card = FitCard(self.session)
        self.line_search_card = LineSearchCard(self.session, self.view, self.plot, self.lines_card,
                                               window_select=self.window_select)
        self.analysis_cards = [IdentifyCard(self.session, self.view, self.plot), fit_card,
                               VelocityCard(self.session, self.view), RotationalDiagramCard(self.session),
                               ToolsCard(self.session, self.view, self.plot),
                               AbsorptionCard(self.session, self.view, self.plot),
                               BroadeningCard(self.session, self.view, self.plot)]
        self.cube_card = CubeCard(self.session, fit_config=fit_card.current_config)
        self.analysis_cards.append(self.cube_card)
        self.atomis_card = AtomisCard(self.session, self.fetch_url)
        self.analysis_cards.append(self.atomis_card)
        self.line_lists = LineListsPanel(self.session, self.fetch_url)
        self.lines_card.extra.append(self.line_lists)
        self.analysis_cards.append(self.line_search_card)
        # the Line search tab comes next to Lines and Model
        self.cards = self.cards[:2] + [self.line_search_card] + self.analysis_cards[:-1] + self.cards[2:]
        self.tabs[:] = self._tab_items()
        self.session.param.watch(lambda e: self._show_cube_card(), ["cube"])
        self.session.param.watch(lambda e: self._pixel_event(), ["cube_pixel"])
        self.plot.lines_source.selected.on_change("indices", lambda attr, old, new: self._line_event(new))
        self._show_cube_card()

    # ------------------------------------------------------------------ events for the page
    def on_event(self, sink) -> None:
        """``sink(name, detail)`` is called on what the page may tell other applications (SAMP):
        ``"pixel"`` (a pixel of the cube chosen: ``{pixel, sky}``) and ``"line"`` (a transition
        chosen in the plot or the table: its row in the last line table exported, or None)."""
        self._event_sinks.append(sink)

    def _emit(self, name: str, detail: dict) -> None:
        for sink in self._event_sinks:
            sink(name, detail)

    def _pixel_event(self) -> None:
        pixel = self.session.cube_pixel
        if pixel is not None and self.session.cube is not None:
            self._emit("pixel", {"pixel": [int(pixel[0]), int(pixel[1])], "sky": self.cube_card.sky_of(*pixel)})

    def _line_event(self, indices) -> None:
        d = self.plot.lines_source.data
        if not indices or indices[0] >= len(d["freq_mhz"]):
            return
        i = indices[0]
        line = {"species": str(d["species"][i]), "freq_mhz": float(d["freq_mhz"][i]), "qn": str(d["qn"][i])}
        self._emit("line", {**line, "row": self.lines_card.exported_row(line)})

    def _show_cube_card(self) -> None:
        """A cube just opened: its maps come to the front (cube mode)."""
        if self.session.cube is not None and self.cube_card in self.cards:
            self.tabs.active = self.cards.index(self.cube_card)

    def _tab_items(self) -> list:
        """(title, layout) of every card, each card's layout made once: Panel calls a Viewer's
        ``__panel__`` whenever it is given one, and a new layout would replace the card's models
        in the document while the page still shows (and sends the changes of) the old ones."""
        panels = self.__dict__.setdefault("_card_panels", {})
        for card in self.cards:
            if id(card) not in panels:
                panels[id(card)] = panel = pn.panel(card)
                for row in panel.select(pn.Row):
                    row.stylesheets = [*row.stylesheets, CARD_ROW_CSS]
        return [(card.title, panels[id(card)]) for card in self.cards]

    @property
    def api(self) -> dict:
        """``window.cassisLite`` calls: the view's and those every card declares."""
        out = {"getState": self.get_state, "collectGarbage": self.collect_garbage, "shareLink": self.share_link,
               "exportText": self.export_text,
               **self.demo.api}
        for card in self.cards:
            out.update(card.api)
        if self.line_lists is not None:
            out.update(self.line_lists.api)
        return out

    # ------------------------------------------------------------------ reactions
    def _watch(self):
        s, v = self.session, self.view
        s.param.watch(self._on_session, ["spectrum", "model", "spectra"])
        s.param.watch(lambda *e: self._on_filters(), ["filters", "line_lists"])
        v.param.watch(self._on_view, ["x_unit", "rest_freq_mhz", "velocity_convention", "y_unit", "show_model",
                                      "show_components", "window", "vlsr_kms", "redshift"])

    def _on_session(self, *events) -> None:
        """One redraw for one change of the session (a new spectrum also brings its model)."""
        names = {e.name for e in events}
        if "spectrum" in names:
            self._on_spectrum()
        elif "spectra" in names:
            self.plot.draw_curves()
        elif "model" in names:
            self.plot.draw_model()

    def _on_spectrum(self) -> None:
        sp = self.session.spectrum
        if sp is None:
            return
        last, self._last_spectrum = getattr(self, "_last_spectrum", None), sp
        if same_cube_grid(last, sp):
            self._on_pixel()
            return
        wins = window_slices(sp.freq_mhz)
        labels = ["all"] + [window_label(sp, w) for w in wins]
        self.window_select.options = labels
        window = -1
        if len(wins) > 1:  # multi-window files span GHz: start on the window of the strongest channel
            peak = int(np.nanargmax(np.abs(sp.intensity)))
            window = next(i for i, w in enumerate(wins) if w.start <= peak < w.stop)
        self._drawing_spectrum = True  # the view follows the spectrum; drawn once, below
        try:
            self.view.param.update(window=window, rest_freq_mhz=None, rest_label="",
                                   vlsr_kms=float(sp.vlsr_kms or 0.0), redshift=float(sp.redshift or 0.0),
                                   **self._file_axis(sp))
            self.convention.visible = self.rest_input.visible = self.view.x_unit == "km/s"
        finally:
            self._drawing_spectrum = False
        self.window_select.value = labels[window + 1]
        self.rest_input.value = None
        if sp.name in self.samples:
            self.sample_select.value = sp.name  # a no-op in _on_sample: it is the active spectrum
        else:
            name = f"(file) {sp.name}"
            self.sample_select.options = [""] + list(self.samples) + [name]
            self.sample_select.value = name
        self._show_info()
        self._update_y_state()
        self.plot.draw(reset_range=True)
        self.lines_card.show_count()
        self._redraw_overlays()

    def _file_axis(self, sp) -> dict:
        """The x axis a new spectrum comes in: a wavelength (wavenumber) file in its own unit and
        air/vacuum convention, velocities optical, the LTE model (K) hidden; a radio file on the
        axis in use, unless that is an optical one (then GHz, radio velocities, the model shown)."""
        axis = file_axis(sp)
        if axis is not None and is_optical_axis(axis):
            out = {"x_unit": axis, "velocity_convention": "optical"}
            if not is_optical_axis(self.view.x_unit):  # from radio to optical: no LTE model in K over it
                out["show_model"] = False
            return out
        if axis is not None:
            return {"x_unit": axis}
        if is_optical_axis(self.view.x_unit):
            return {"x_unit": "GHz", "velocity_convention": "radio", "show_model": True}
        return {}

    def _on_pixel(self) -> None:
        """Another pixel of the cube on screen: its curve in the same view (range, window, axis
        and markers stay as the user set them)."""
        self._show_info()
        self.plot.draw_curves()
        self.plot.autoscale_y()
        self._redraw_overlays()

    def _on_filters(self) -> None:
        self.lines_card.show_filters()
        if self.session.spectrum is not None:
            self.plot.draw_lines()
            self.lines_card.show_count()

    def _on_view(self, *events) -> None:
        """One redraw for one change of what is shown (a new spectrum draws once by itself)."""
        if self.session.spectrum is None or self._drawing_spectrum:
            return
        names = {e.name for e in events}
        if "window" in names:
            self._on_window()
        elif names & {"x_unit", "rest_freq_mhz", "velocity_convention"}:
            self._on_axis()
        elif names & {"y_unit", "show_model"}:
            self._on_y()
        elif "show_components" in names:
            self.plot.draw_model()
        else:
            self._on_markers()

    def _on_axis(self) -> None:
        """A new x unit or velocity reference: the same frequencies stay in view."""
        view_freq = self.plot._view_freq or self.plot.visible_freq_range()
        self.convention.visible = self.rest_input.visible = self.view.x_unit == "km/s"
        self._show_axis_note()
        self.plot.draw()
        self.plot.set_range(*view_freq, pad=0.0)
        self.plot.draw_curves()
        self.plot._draw_labels()
        self._redraw_overlays()

    def _on_y(self) -> None:
        self._update_y_state()
        self.plot.draw()
        self._redraw_overlays()

    def _on_window(self) -> None:
        self._show_axis_note()
        self.plot.draw(reset_range=True)
        self._redraw_overlays()

    def _on_markers(self) -> None:
        self.plot.draw_lines()

    def _redraw_overlays(self) -> None:
        for card in self.analysis_cards or ():
            if hasattr(card, "draw"):
                card.draw()

    # ------------------------------------------------------------------ widgets -> state
    def _on_window_select(self, event) -> None:
        if event.new in self.window_select.options:
            self.view.window = self.window_select.options.index(event.new) - 1

    def _on_rest(self, event) -> None:
        v = event.new
        if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            self.show_error(f"rest frequency must be a positive number of MHz, got {v!r}")
            return
        self.view.param.update(rest_freq_mhz=v, rest_label="typed" if v else "")

    def _on_limits(self, event) -> None:
        if self.session.spectrum is None:
            return
        lim = {k: w.value for k, w in self.limits.items()}
        if lim["x0"] is not None and lim["x1"] is not None and lim["x0"] != lim["x1"]:
            f = self.plot.from_x(np.array([lim["x0"], lim["x1"]], dtype=float))
            self.plot.set_range(float(np.min(f)), float(np.max(f)), pad=0.0)
            self.plot.draw_curves()
        if lim["y0"] is not None and lim["y1"] is not None and lim["y0"] < lim["y1"]:
            self.plot.y_limits = (lim["y0"], lim["y1"])
        else:
            self.plot.y_limits = None
        self.plot.autoscale_y()

    # ------------------------------------------------------------------ notes
    def _show_info(self) -> None:
        sp = self.session.spectrum
        telescopes = [f"{name} {lo / 1e3:g}-{hi / 1e3:g} GHz" for name, (lo, hi) in
                      (sp.meta.get("telescopes") or {}).items()] or [sp.telescope]
        source = ", ".join(str(x) for x in (sp.meta.get("object"), *telescopes) if x)
        steps = ", ".join(s.get("step", "?") for s in sp.meta.get("processing", []))
        where = ""
        cube = self.session.cube
        if cube is not None and sp.name == cube.name and "cube_shape" in sp.meta and sp.meta.get("pixel"):
            px, py = sp.meta["pixel"]
            where = f", pixel ({int(px)}, {int(py)}) of the {cube.nx} x {cube.ny} cube"
        elif cube is not None and sp.name == cube.name and "cube_shape" in sp.meta and sp.meta.get("region"):
            x0, x1, y0, y1 = (int(v) for v in sp.meta["region"])
            where = (f", mean of pixels x {x0}-{x1 - 1}, y {y0}-{y1 - 1} ({(x1 - x0) * (y1 - y0)} pixels) of the "
                     f"{cube.nx} x {cube.ny} cube")
        if sp.x_kind == "wavelength":
            span = (f"{sp.x_original.min():.6g}-{sp.x_original.max():.6g} {esc(sp.x_unit)} "
                    f"({'air' if sp.air_wavelength else 'vacuum'}), flux in {esc(sp.y_unit or 'no unit given')}"
                    f"{', with uncertainties' if sp.uncertainty is not None else ''}")
        else:
            span = (f"{sp.freq_mhz[0] / 1e3:.4f}-{sp.freq_mhz[-1] / 1e3:.4f} GHz, v_lsr {sp.vlsr_kms:g} km/s"
                    f"{', with uncertainties' if sp.uncertainty is not None else ''}")
        self.info.object = (f"<b>{esc(sp.name)}</b>{where} ({esc(sp.format)}{'; ' + esc(source) if source else ''}): "
                            f"{sp.freq_mhz.size} channels, {span}" + (f"; processed: {esc(steps)}" if steps else ""))

    def _show_axis_note(self) -> None:
        sp = self.session.spectrum
        if self.view.x_unit != "km/s" or sp is None:
            self.axis_note.object = ""
            return
        rest, where = velocity_reference(sp, self.view.window, self.view.rest_freq_mhz)
        label = self.view.rest_label or where
        self.axis_note.object = esc(f"velocity axis: v_lsr = v_file + v({self.view.velocity_convention}) about "
                                    f"{rest:.4f} MHz ({label}), in the LSR frame of the file "
                                    f"(v_file = {sp.vlsr_kms:g} km/s)")
        self.rest_input.placeholder = f"{rest:.4f}"

    def _update_y_state(self) -> None:
        """Offer the K <-> Jy/beam switch only when a beam is known; say why otherwise."""
        sp = self.session.spectrum
        native = base_unit(sp.y_unit)
        beam = beam_axes(sp, self.plot.model_telescope(), sp.freq_mhz[:1])
        reason = None
        if native is None:
            reason = f"the spectrum's unit {sp.y_unit or '(none)'!r} is neither K nor Jy/beam"
        elif beam is None:
            reason = "no beam known (the file gives none; show the model to use its telescope's beam)"
        if reason:
            if native and self.view.y_unit != native[0]:
                self.view.y_unit = native[0]
            self.y_unit.disabled = True
            self.axis_note.object = esc(f"K <-> Jy/beam switch off: {reason}.")
        else:
            self.y_unit.disabled = False
            if native[0] != self.view.y_unit:
                self.axis_note.object = esc(f"y axis in {self.view.y_unit}, converted with {beam[2]}.")
            else:
                self._show_axis_note()

    # ------------------------------------------------------------------ messages
    def show_error(self, text: str) -> None:
        self.message.object = message_box(text)
        self.message.visible = True

    def clear_error(self) -> None:
        self.message.visible = False
        self.message.object = ""

    # ------------------------------------------------------------------ actions
    def load(self, data: bytes, name: str, telescope: str | None = None, source_url: str | None = None):
        """Open a spectrum; on error show the message and keep the one on screen. ``source_url``:
        where it was fetched from (a link can then name it)."""
        try:
            sp = self.session.load_spectrum(data, name, telescope=telescope)
        except CassisError as exc:
            self.show_error(str(exc))
            raise
        if source_url:
            sp.meta["source_url"] = source_url
        self.clear_error()
        return sp

    def open_table(self, data: bytes, name: str, spectrum_first: bool = True) -> dict:
        """A table from another application: a spectrum if the readers take it (``spectrum_first``),
        else a line list overlaid; ``{"kind": "spectrum", "spectrum": ...}`` or ``{"kind": "lines",
        "name", "n_lines"}``. Neither: the readers' and the line lists' reasons, shown."""
        if spectrum_first:
            try:
                sp = self.session.load_spectrum(data, name)
            except CassisError as exc:
                not_spectrum = str(exc)
            else:
                self.clear_error()
                return {"kind": "spectrum", "spectrum": self.session.state()["spectrum"], "name": sp.name}
        self.add_analysis()
        try:
            answer = self.line_lists.open_table(data, name)
        except CassisError as exc:
            message = f"{exc}" if not spectrum_first else f"{not_spectrum}; as a line list: {exc}"
            self.show_error(message)
            raise CassisError(message) from None
        self.clear_error()
        return {"kind": "lines", **answer}

    def open_sample(self, name: str):
        """A bundled sample: made active if it is open already, else opened."""
        entry = next((e for e in self.session.spectra if e.original.meta.get("sample") == name), None)
        if entry is not None:
            self.session.activate(entry.spectrum)
            return entry.spectrum
        sp = self.load(self.samples[name], name, telescope=(self.samples_meta.get(name) or {}).get("telescope"))
        sp.meta["sample"] = name
        return sp

    def _on_sample(self, event) -> None:
        sp = self.session.spectrum
        if not event.new or event.new not in self.samples or (sp is not None and sp.name == event.new):
            return
        try:
            self.open_sample(event.new)
        except CassisError:
            pass

    async def _on_url(self, event) -> None:
        url = (self.url_input.value or "").strip()
        if not url or self.fetch_url is None:
            return
        try:
            data = await self.fetch_url(url)
            self.load(data, url.rsplit("/", 1)[-1] or url, source_url=url)
        except CassisError:
            pass
        except Exception as exc:  # network errors: say so, keep the spectrum
            self.show_error(f"{url}: could not download ({exc})")

    # ------------------------------------------------------------------ scripting
    async def get_state(self) -> dict:
        d = self.session.state()
        sp = self.session.spectrum
        if sp is not None:
            rest, where = velocity_reference(sp, self.view.window, self.view.rest_freq_mhz)
            d["view"] = {"x_unit": self.view.x_unit, "x_label": self.plot.x_label(), "y_unit": self.view.y_unit,
                         "y_label": self.plot.y_label(), "uncertainty_band": self.plot.band_shown(),
                         "window": self.view.window, "rest_freq_mhz": rest,
                         "rest_source": self.view.rest_label or where,
                         "velocity_convention": self.view.velocity_convention, "vlsr_kms": self.view.vlsr_kms,
                         "redshift": self.view.redshift}
        return d

    # ------------------------------------------------------------------ links
    def spectrum_source(self, sp) -> dict | None:
        """Where the spectrum came from, as a link names it: a sample or a URL; None for a local file."""
        entry = self.session.entry_of(sp)
        meta = (entry.original if entry is not None else sp).meta
        if meta.get("sample"):
            return {"sample": meta["sample"]}
        if meta.get("source_url"):
            return {"url": meta["source_url"]}
        return None

    def link_state(self) -> dict:
        """What a link restores (see :mod:`cassis_lite.app.link`)."""
        s, sp = self.session, self.session.spectrum
        state = {"lines": s.filters.to_dict(), "database": s.db.meta.get("content_sha256", "")[:16]}
        if s.model_config is not None:
            model = s.model_config.to_dict()
            model.pop("grid", None)
            state["model"] = model
        source = None if sp is None else self.spectrum_source(sp)
        if source is not None:
            lo, hi = self.plot._view_freq or self.plot.visible_freq_range()
            state["spectrum"] = source
            state["view"] = {**{k: getattr(self.view, k) for k in LINK_VIEW_KEYS},
                             "freq_range_mhz": [float(lo), float(hi)]}
        return state

    async def share_link(self) -> dict:
        """``cassisLite.shareLink()``: ``{fragment, notes}``; the page makes the link
        (its address + ``#`` + fragment) and copies it."""
        from cassis_lite.app.link import encode_state

        state = self.link_state()
        sp, notes = self.session.spectrum, []
        if sp is not None and "spectrum" not in state:
            notes.append(f"{sp.name} was opened from a local file: a link holds no file, so it gives the "
                         "model and the line filters on the default sample")
        elif sp is not None and sp.meta.get("processing"):
            notes.append("the processing of the spectrum (baseline, smoothing...) is not in the link")
        return {"fragment": encode_state(state), "notes": notes}

    async def restore_link(self, state: dict) -> list[str]:
        """Apply a link's state (decoded by :func:`cassis_lite.app.link.decode_state`): the
        spectrum, the model, the line filters, the view. Each part that cannot be applied is
        left as it is and said in the returned messages."""
        problems = []
        s = self.session
        db = state.get("database")
        if db and db != s.db.meta.get("content_sha256", "")[:16]:
            problems.append("the link was made with another line database: its lines and model may differ here")
        source = state.get("spectrum")
        if isinstance(source, dict) and source:
            try:
                if source.get("sample") is not None:
                    if source["sample"] not in self.samples:
                        raise CassisError(f"the link's sample {str(source['sample'])!r} is not bundled here")
                    self.open_sample(source["sample"])
                elif source.get("url") is not None and self.fetch_url is not None:
                    url = str(source["url"])
                    self.load(await self.fetch_url(url), url.rsplit("/", 1)[-1] or url, source_url=url)
            except CassisError as exc:
                problems.append(f"the link's spectrum: {exc}")
        if isinstance(state.get("model"), dict):
            try:
                s.set_model(state["model"])
            except CassisError as exc:
                problems.append(f"the link's model: {exc}")
        if isinstance(state.get("lines"), dict):
            try:
                s.set_filters(state["lines"])
            except CassisError as exc:
                problems.append(f"the link's line filters: {exc}")
        view = state.get("view") if s.spectrum is not None and source else None
        if isinstance(view, dict):
            for key in LINK_VIEW_KEYS:  # one at a time, in this order: each redraws what it changes
                if key in view and view[key] != getattr(self.view, key):
                    try:
                        setattr(self.view, key, view[key])
                    except (ValueError, TypeError) as exc:
                        problems.append(f"the link's {key} {view[key]!r}: {str(exc).splitlines()[0][:120]}")
            rng = view.get("freq_range_mhz")
            try:
                lo, hi = sorted(float(x) for x in rng)
                if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
                    raise ValueError
                self.plot.show_freq_range(lo, hi)
            except (TypeError, ValueError):
                if rng is not None:
                    problems.append(f"the link's range {rng!r} is not two frequencies (MHz): the whole spectrum is shown")
        return problems

    async def export_text(self, kind: str, fmt: str = "votable") -> dict:
        """``cassisLite.exportText(kind, fmt)``: the export buttons' file of 'spectrum', 'model'
        or 'lines' as text (VOTable or CSV): ``{name, media_type, text}`` (what SAMP sends)."""
        from cassis_lite.vo.exports import MEDIA_TYPES

        cards = {"spectrum": self.spectra_card, "model": self.model_card, "lines": self.lines_card}
        if kind not in cards:
            raise CassisError(f"unknown export {kind!r}: spectrum, model or lines")
        if fmt not in ("votable", "csv"):
            raise CassisError(f"a text export is votable or csv, got {fmt!r}")
        buttons = cards[kind].exports
        name = next(b.filename for b in buttons.buttons if b.filename.endswith(".vot" if fmt == "votable" else ".csv"))
        return {"name": name, "media_type": MEDIA_TYPES[fmt], "text": buttons.data(fmt).decode("utf-8")}

    async def collect_garbage(self) -> dict:
        """``cassisLite.collectGarbage()``: a full collection in the worker (a check that nothing
        the app needs is held by an object the collector may finalise)."""
        return {"collected": gc.collect(), "objects": len(gc.get_objects())}

