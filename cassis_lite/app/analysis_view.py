"""Identify, Fit, Rotational diagram and v_lsr cards of the side column, and their scripting calls.

The numbers come from :mod:`cassis_lite.app.analysis` (which calls the core); this module draws
them. SciPy is not part of the first screen: the first identification, fit or v_lsr search
awaits :func:`cassis_lite.app.runtime.ensure_packages` (a no-op under CPython).
A fit's best configuration becomes the live model (:meth:`CassisView.set_model`); a found v_lsr
fills the v_lsr box of the top bar and the slider of the v_lsr card.

The cards start open: a card collapsed in the first document made BokehJS 3.8.2 lay out the
line table before its grid existed ("Cannot read properties of undefined (reading
'resizeCanvas')") and the page failed to start.
"""

from __future__ import annotations

import json

import numpy as np
import panel as pn
from bokeh.models import (
    ColumnDataSource, DataRange1d, Grid, Line, LinearAxis, Plot, Scatter, Span, Whisker,
)
from bokeh.core.property.validation import validate as bokeh_validation

from cassis_lite.app import analysis
from cassis_lite.app.runtime import ensure_packages
from cassis_lite.app.text import MESSAGE_STYLES, esc, message_box, pre, table
from cassis_lite.errors import CassisError

API = ("identify", "fit", "findVelocity", "rotationalDiagram")
MAX_CCF_POINTS = 4000


def _small_plot(name: str, x_label: str, y_label: str, height: int = 220) -> Plot:
    """A Bokeh plot built from models (``figure()`` would import pandas)."""
    p = Plot(height=height, sizing_mode="stretch_width", x_range=DataRange1d(), y_range=DataRange1d(),
             name=name, min_border_left=50, toolbar_location=None)
    xaxis, yaxis = LinearAxis(axis_label=x_label), LinearAxis(axis_label=y_label)
    p.add_layout(xaxis, "below")
    p.add_layout(yaxis, "left")
    p.add_layout(Grid(dimension=0, ticker=xaxis.ticker, grid_line_alpha=0.3))
    p.add_layout(Grid(dimension=1, ticker=yaxis.ticker, grid_line_alpha=0.3))
    return p


def _message_pane() -> pn.pane.HTML:
    return pn.pane.HTML("", visible=False, sizing_mode="stretch_width", css_classes=["cl-card-message"],
                        styles=dict(MESSAGE_STYLES["error"], padding="4px 10px", **{"border-radius": "4px"}))


class AnalysisView:
    """The four analysis cards, attached to a :class:`~cassis_lite.app.view.CassisView`.

    Widget titles differ from the view's (scripts and tests find widgets by title).
    """

    def __init__(self, view):
        self.view = view
        self.session = view.session
        self._identified_spectrum = None
        self._build_identify()
        self._build_fit()
        self._build_rotdiagram()
        self._build_vlsr()
        self.cards = [self.identify_card, self.fit_card, self.rot_card, self.vlsr_card]

    # ------------------------------------------------------------------ identify
    def _build_identify(self):
        self.id_tex = pn.widgets.FloatInput(name="assumed T_ex (K)", value=100.0, start=3.0, width=80)
        self.id_fwhm = pn.widgets.FloatInput(name="assumed FWHM (km/s)", value=3.0, start=0.05, width=80)
        self.id_threshold = pn.widgets.FloatInput(name="S/N threshold", value=5.0, start=1.0, width=80)
        self.id_species = pn.widgets.TextInput(name="Species (empty = whole database)", value="")
        self.id_button = pn.widgets.Button(name="Identify", button_type="primary", width=100)
        self.id_result = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-identify-result"])
        self.id_feature = pn.widgets.Select(name="Feature: candidate transitions", options=[], visible=False)
        self.id_candidates = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-candidates"])
        self.id_message = _message_pane()
        self.id_button.on_click(self._on_identify)
        self.id_feature.param.watch(self._on_feature, "value")
        self.identify_card = pn.Card(pn.Row(self.id_tex, self.id_fwhm, self.id_threshold), self.id_species,
                                     self.id_button, self.id_message, self.id_result, self.id_feature,
                                     self.id_candidates, title="Identify", collapsed=False,
                                     sizing_mode="stretch_width")
        # the identification's model, over the spectrum (on the main plot's x axis)
        self.id_source = ColumnDataSource({"x": [], "y": []}, name="identify_model_source")
        self.view.plot.add_glyph(self.id_source, Line(x="x", y="y", line_color="#2e8b57", line_width=1.2,
                                                      line_dash="dashed"), name="identify_model_line")
        self.view.x_axis.param.watch(lambda e: self._draw_identify_model(), "value")
        if hasattr(self.view, "y_unit"):
            self.view.y_unit.param.watch(lambda e: self._draw_identify_model(), "value")
        self.view.x_range.on_change("end", lambda attr, old, new: self._draw_identify_model())

    async def identify(self, options=None) -> dict:
        await ensure_packages(["scipy"])
        d, res, cands = analysis.run_identify(self.session, options)
        self._show_identify(d, res, cands)
        return d

    def _show_identify(self, d, res, cands):
        rows = [(e.species, f"{e.ntot_cm2:.3e}", f"{e.tex_k:g}", f"{e.lines_matched}/{e.lines_predicted}",
                 e.lines_missing, f"{e.delta_chi2:.1f}") for e in res.species]
        head = (f"<p>{len(res.features)} features (rms {res.rms:.3g} K), {res.n_candidates} candidate species; "
                f"T_ex {res.setup.tex_k:g} K, FWHM {res.setup.fwhm_kms:g} km/s, v_lsr {res.setup.vlsr_kms:g} km/s</p>")
        found = (table(("species", "N (cm-2)", "T_ex", "seen/pred.", "missing", "dchi2"), rows, "cl-identify-table")
                 if rows else "<p>no species identified</p>")
        extra = ""
        if res.rejected:
            extra += "<p>rejected: " + esc(", ".join(
                f"{e.species} ({e.lines_matched}/{e.lines_predicted} seen)" for e in res.rejected)) + "</p>"
        if len(res.unexplained):
            extra += (f"<p>unexplained features ({len(res.unexplained)}): " + ", ".join(
                f"{f:.3f} MHz ({p:+.3g} K)" for f, p in zip(res.unexplained.freq_mhz, res.unexplained.peak_k))
                + "</p>")
        if d.get("note"):
            extra += f"<p><i>{esc(d['note'])}</i></p>"
        self.id_result.object = head + found + extra
        self._features = d["features"]
        labels = [f"{r['freq_mhz']:.3f} MHz {r['peak_k']:+.3g} K (S/N {r['snr']:.1f})" for r in d["features"]]
        self.id_feature.options = labels
        self.id_feature.visible = bool(labels)
        if labels:
            if self.id_feature.value == labels[0]:
                self._show_candidates(0)
            self.id_feature.value = labels[0]
        else:
            self.id_candidates.object = ""
        self._id_model = res.model
        self._identified_spectrum = self.session.spectrum
        self._draw_identify_model()
        self.identify_card.collapsed = False

    def _on_feature(self, event):
        if event.new in self.id_feature.options:
            self._show_candidates(self.id_feature.options.index(event.new))

    def _show_candidates(self, i: int):
        cands = self._features[i]["candidates"]
        if not cands:
            self.id_candidates.object = "<p>no transition within the tolerance</p>"
            return
        rows = [(c["species"], f"{c['freq_mhz']:.4f}", f"{c['eup_k']:.1f}", f"{c['dv_kms']:+.2f}",
                 f"{c['predicted_k']:.3g}", c["qn"]) for c in cands[:8]]
        self.id_candidates.object = table(("species", "MHz", "E_up", "dv", "pred. K", "QN"), rows,
                                          "cl-candidates-table")

    def _draw_identify_model(self):
        sp = self.session.spectrum
        model = getattr(self, "_id_model", None)
        if model is None or sp is None or sp is not self._identified_spectrum:
            if len(self.id_source.data["x"]):
                self.id_source.data = {"x": [], "y": []}
            return
        if hasattr(self.view, "_y_factor"):  # the model is in K: drawn in the y axis' unit
            factor = self.view._y_factor(sp.freq_mhz, "K")
        else:
            y_k, _ = sp.intensity_in_kelvin()
            if not np.allclose(y_k, sp.intensity, equal_nan=True):
                return  # the plot shows the file's unit
            factor = 1.0
        x, y = self.view._series(sp.freq_mhz, model * factor)
        with bokeh_validation(False):
            self.id_source.data = {"x": x, "y": y}

    async def _on_identify(self, event):
        species = self.id_species.value.strip() or None
        await self._run(self.id_message, self.identify, {
            "tex_k": self.id_tex.value, "fwhm_kms": self.id_fwhm.value, "threshold": self.id_threshold.value,
            "species": species})

    # ------------------------------------------------------------------ fit
    def _build_fit(self):
        self.fit_config = pn.widgets.TextAreaInput(
            name="Fit configuration (model JSON; {\"value\", \"min\", \"max\"} = free)", height=180,
            sizing_mode="stretch_width", css_classes=["cl-fit-config"],
            placeholder="'From the model' writes one here")
        self.fit_from_model = pn.widgets.Button(name="From the model", width=130)
        self.fit_button = pn.widgets.Button(name="Fit", button_type="primary", width=80)
        self.fit_params = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-fit-params"])
        self.fit_result = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-fit-result"])
        self.fit_message = _message_pane()
        self.fit_from_model.on_click(self._on_fit_from_model)
        self.fit_button.on_click(self._on_fit)
        self.fit_config.param.watch(self._on_fit_config, "value")
        self.fit_card = pn.Card(pn.Row(self.fit_from_model, self.fit_button), self.fit_config, self.fit_params,
                                self.fit_message, self.fit_result, title="Fit", collapsed=False,
                                sizing_mode="stretch_width")

    async def fit(self, config) -> dict:
        await ensure_packages(["scipy"])
        d, res = analysis.run_fit(self.session, config)
        # the fitted parameters become the live model (sliders follow its first component)
        self.view.set_model(res.config.to_dict())
        self.fit_result.object = pre(d["report"])
        self._set_fit_text(config)
        self.fit_card.collapsed = False
        return d

    def _set_fit_text(self, config):
        text = json.dumps(config, indent=1)
        if self.fit_config.value != text:
            self.fit_config.value = text  # also refreshes the parameter table

    def _on_fit_config(self, event):
        try:
            rows = analysis.parameter_table(json.loads(event.new or "{}"))
        except (CassisError, ValueError) as exc:
            self.fit_params.object = f"<p class='cl-fit-params-error'>{pre(str(exc))}</p>"
            return
        def fmt(r, k):
            v = r.get(k)
            return "" if v is None else f"{v:.4g}"
        cells = [(r["name"], fmt(r, "value"),
                  "free" if r["vary"] and not r.get("expr") else ("= " + r["expr"] if r.get("expr") else "fixed"),
                  fmt(r, "min"), fmt(r, "max"), r.get("unit", "")) for r in rows]
        self.fit_params.object = table(("parameter", "start", "", "min", "max", "unit"), cells, "cl-fit-params-table")

    def _on_fit_from_model(self, event):
        cfg = self.session.model_config
        if cfg is None:
            self._error(self.fit_message, "no model: set one in the LTE model card first")
            return
        self._set_fit_text(analysis.fit_config_from_model(cfg.to_dict()))

    async def _on_fit(self, event):
        try:
            config = json.loads(self.fit_config.value or "")
        except ValueError as exc:
            self._error(self.fit_message, f"fit configuration is not valid JSON: {exc}")
            return
        await self._run(self.fit_message, self.fit, config)

    # ------------------------------------------------------------------ rotational diagram
    def _build_rotdiagram(self):
        self.rot_species = pn.widgets.TextInput(name="Species of the diagram", value="CO", width=90)
        self.rot_vmin = pn.widgets.FloatInput(name="v min (km/s)", value=-10.0, width=80)
        self.rot_vmax = pn.widgets.FloatInput(name="v max (km/s)", value=10.0, width=80)
        self.rot_tau = pn.widgets.Checkbox(name="opacity correction (FWHM of the model)", value=False)
        self.rot_button = pn.widgets.Button(name="Rotational diagram", button_type="primary", width=150)
        self.rot_result = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-rot-result"])
        self.rot_message = _message_pane()
        self.rot_points = ColumnDataSource({"x": [], "y": [], "upper": [], "lower": []}, name="rotdiagram_points")
        self.rot_line = ColumnDataSource({"x": [], "y": []}, name="rotdiagram_line")
        p = _small_plot("rotdiagram_plot", "E_up (K)", "ln(N_u/g_u)")
        p.add_glyph(self.rot_points, Scatter(x="x", y="y", size=7, fill_color="#2a7ab0", line_color="#1b1f24"))
        p.add_layout(Whisker(source=self.rot_points, base="x", upper="upper", lower="lower", line_color="#2a7ab0"))
        p.add_glyph(self.rot_line, Line(x="x", y="y", line_color="#d1352b", line_width=1.5))
        self.rot_plot = p
        self.rot_button.on_click(self._on_rotdiagram)
        self.rot_card = pn.Card(pn.Row(self.rot_species, self.rot_vmin, self.rot_vmax), self.rot_tau,
                                self.rot_button, self.rot_message, pn.pane.Bokeh(p, sizing_mode="stretch_width"),
                                self.rot_result, title="Rotational diagram", collapsed=False,
                                sizing_mode="stretch_width")

    async def rotational_diagram(self, options=None) -> dict:
        if (options or {}).get("tau_correction"):
            await ensure_packages(["scipy"])
        d, res = analysis.run_rotational_diagram(self.session, options)
        e = np.asarray(res.eup_k, float)
        y = np.asarray(res.ln_nu_gu, float)
        s = np.asarray(res.ln_nu_gu_err, float)
        xs = np.linspace(0.0, float(e.max()) * 1.1, 50)
        self.rot_points.data = {"x": e, "y": y, "upper": y + s, "lower": y - s}
        self.rot_line.data = {"x": xs, "y": res.model(xs)}
        dropped = "".join(f"<br>dropped {r['freq_mhz']:.4f} MHz: {esc(r['reason'])}" for r in d["dropped"])
        self.rot_result.object = pre(d["report"]) + (f"<small>{dropped[4:]}</small>" if dropped else "")
        self.rot_card.collapsed = False
        return d

    async def _on_rotdiagram(self, event):
        options = {"species": self.rot_species.value, "vmin_kms": self.rot_vmin.value,
                   "vmax_kms": self.rot_vmax.value}
        if self.rot_tau.value:
            cfg = self.session.model_config
            fwhm = cfg.components[0].fwhm_kms if cfg is not None and cfg.components else None
            options.update(tau_correction=True, fwhm_kms=fwhm)
        await self._run(self.rot_message, self.rotational_diagram, options)

    # ------------------------------------------------------------------ v_lsr
    def _build_vlsr(self):
        self.vl_species = pn.widgets.TextInput(name="Species to match", value="CO", width=120)
        self.vl_vmin = pn.widgets.FloatInput(name="search from (km/s)", value=-100.0, width=90)
        self.vl_vmax = pn.widgets.FloatInput(name="to (km/s)", value=100.0, width=90)
        self.vl_fwhm = pn.widgets.FloatInput(name="line FWHM (km/s)", value=3.0, start=0.05, width=90)
        self.vl_button = pn.widgets.Button(name="Find v_lsr", button_type="primary", width=110)
        self.vl_slider = pn.widgets.FloatSlider(name="v_lsr of the lines (km/s)", start=-100.0, end=100.0,
                                                step=0.01, value=float(self.view.vlsr_input.value or 0.0))
        self.vl_result = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-vlsr-result"])
        self.vl_message = _message_pane()
        self.vl_ccf = ColumnDataSource({"x": [], "y": []}, name="vlsr_ccf")
        p = _small_plot("vlsr_plot", "v_lsr (km/s)", "cross-correlation S/N", height=160)
        p.add_glyph(self.vl_ccf, Line(x="x", y="y", line_color="#1b1f24"))
        self.vl_span = Span(location=0.0, dimension="height", line_color="#d1352b", visible=False)
        p.add_layout(self.vl_span)
        self.vl_plot = p
        self.vl_button.on_click(self._on_vlsr)
        # slider and the top bar's typed box hold the same v_lsr
        self.vl_slider.param.watch(self._on_vl_slider, "value")
        self.view.vlsr_input.param.watch(self._on_vl_box, "value")
        self.vlsr_card = pn.Card(pn.Row(self.vl_species, self.vl_fwhm), pn.Row(self.vl_vmin, self.vl_vmax),
                                 self.vl_button, self.vl_message, self.vl_slider, self.vl_result,
                                 pn.pane.Bokeh(p, sizing_mode="stretch_width"), title="v_lsr",
                                 collapsed=False, sizing_mode="stretch_width")

    def _on_vl_slider(self, event):
        if self.view.vlsr_input.value != event.new:
            self.view.vlsr_input.value = event.new

    def _on_vl_box(self, event):
        v = event.new
        if v is None:
            return
        if v < self.vl_slider.start or v > self.vl_slider.end:
            self.vl_slider.param.update(start=min(self.vl_slider.start, v), end=max(self.vl_slider.end, v))
        if self.vl_slider.value != v:
            self.vl_slider.value = v

    async def find_velocity(self, options=None) -> dict:
        await ensure_packages(["scipy"])
        d, res = analysis.run_find_velocity(self.session, options)
        grid, ccf = np.asarray(res.grid, float), np.asarray(res.ccf, float)
        stride = max(1, grid.size // MAX_CCF_POINTS)
        self.vl_ccf.data = {"x": grid[::stride], "y": ccf[::stride]}
        self.vl_plot.xaxis[0].axis_label = "v_lsr (km/s)" if res.kind == "vlsr" else "z"
        self.vl_span.location = res.value
        self.vl_span.visible = True
        self.vl_result.object = pre(d["report"])
        if res.kind == "vlsr":
            self.view.vlsr_input.value = round(res.value, 6)  # the slider follows
        else:
            self.view.redshift_input.value = res.value
        self.vlsr_card.collapsed = False
        return d

    async def _on_vlsr(self, event):
        await self._run(self.vl_message, self.find_velocity, {
            "species": self.vl_species.value, "vmin_kms": self.vl_vmin.value, "vmax_kms": self.vl_vmax.value,
            "fwhm_kms": self.vl_fwhm.value})

    # ------------------------------------------------------------------ shared
    def _error(self, alert, text: str) -> None:
        alert.object = message_box(text)
        alert.visible = True

    async def _run(self, alert, fn, arg):
        alert.visible = False
        try:
            await fn(arg)
        except CassisError as exc:
            self._error(alert, str(exc))
        except Exception as exc:  # keep the page alive; say what failed
            self._error(alert, f"{type(exc).__name__}: {exc}")

    async def api(self, method: str, arg):
        """A ``window.cassisLite`` call: identify(options), fit(config), findVelocity(options),
        rotationalDiagram(options)."""
        fn = {"identify": self.identify, "fit": self.fit, "findVelocity": self.find_velocity,
              "rotationalDiagram": self.rotational_diagram}[method]
        return await fn(arg)
