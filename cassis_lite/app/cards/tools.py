"""Tools card: the everyday quick-look tools on the active spectrum, in the range in view.

Baseline (a polynomial over line-free regions picked from the view, drawn, subtracted, undone
from the Spectra card), smoothing (boxcar, Hanning, Gaussian) and resampling, statistics of the
range in view (rms, integrated intensity with its error, centroid, peak), and a fit of a few
Gaussians to the line in view, with errors. The numbers are the core's
(:mod:`cassis_lite.analysis.baseline`, ``smoothing``, ``statistics``, ``gaussfit``).
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.core.property.validation import validate as bokeh_validation
from bokeh.models import BoxAnnotation, ColumnDataSource, Line

from cassis_lite.app.cards.base import Card
from cassis_lite.app.cards.fit import require_spectrum
from cassis_lite.app.runtime import ensure_packages
from cassis_lite.app.text import esc, pre
from cassis_lite.errors import ConfigError


class ToolsCard(Card):
    title = "Tools"
    degree = param.Integer(default=1, bounds=(0, 9))
    smooth_kind = param.Selector(default="hanning", objects=["boxcar", "hanning", "gaussian"])
    smooth_width = param.Number(default=3.0, bounds=(1.0, 1000.0), doc="channels (FWHM for gaussian)")
    resample_factor = param.Integer(default=2, bounds=(2, 1000))
    n_gaussians = param.Integer(default=1, bounds=(1, 5))

    def __init__(self, session, view, plot, **params):
        super().__init__(**params)
        self.session, self.view, self.plot = session, view, plot
        self.regions: list[tuple[float, float]] = []  # MHz
        self._boxes: list[BoxAnnotation] = []
        self.baseline_source = ColumnDataSource({"x": [], "y": []}, name="baseline_source")
        self.gauss_source = ColumnDataSource({"x": [], "y": []}, name="gauss_source")
        plot.plot.add_glyph(self.baseline_source, Line(x="x", y="y", line_color="#b8860b", line_width=1.5,
                                                       line_dash="dashed"), name="baseline_line")
        plot.plot.add_glyph(self.gauss_source, Line(x="x", y="y", line_color="#6a3d9a", line_width=1.5),
                            name="gauss_line")
        self._baseline = None
        self.output = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-tools-result"])
        self.buttons = {
            "add_region": self.action_button("Add the view as a line-free region", self.add_region),
            "clear_regions": self.action_button("Clear the regions", self.clear_regions, 130),
            "fit_baseline": self.action_button("Fit the baseline", self.baseline, 130, lambda: {"subtract": False}),
            "subtract": self.action_button("Subtract it", self.baseline, 100, lambda: {"subtract": True}),
            "smooth": self.action_button("Smooth", self.smooth, 90, lambda: None),
            "resample": self.action_button("Resample", self.resample, 90, lambda: None),
            "statistics": self.action_button("Statistics of the view", self.statistics, 170, lambda: None),
            "gaussians": self.action_button("Fit Gaussians to the view", self.fit_gaussians, 190, lambda: None),
        }
        self.regions_text = pn.pane.HTML("no region yet", sizing_mode="stretch_width", css_classes=["cl-regions"])
        session.param.watch(self._forget, ["spectrum"])
        self.api = {"baseline": self.baseline, "smooth": self.smooth, "resample": self.resample,
                    "statistics": self.statistics, "fitGaussians": self.fit_gaussians}


    def __panel__(self):
        b = self.buttons
        return pn.Column(
            pn.pane.HTML("<b>Baseline</b>: zoom to a line-free part, add it; repeat; fit; subtract "
                         "(undo: Spectra card).", margin=(4, 5, 0, 5)),
            b["add_region"], self.regions_text,
            pn.Row(pn.widgets.IntInput.from_param(self.param.degree, name="degree", width=70), b["fit_baseline"],
                   b["subtract"]), b["clear_regions"],
            pn.pane.HTML("<b>Smoothing</b> (per spectral window) and <b>resampling</b>", margin=(8, 5, 0, 5)),
            pn.Row(pn.widgets.Select.from_param(self.param.smooth_kind, name="kernel", width=100),
                   pn.widgets.FloatInput.from_param(self.param.smooth_width, name="width (channels)", width=100),
                   b["smooth"]),
            pn.Row(pn.widgets.IntInput.from_param(self.param.resample_factor, name="channels per bin", width=110),
                   b["resample"]),
            pn.pane.HTML("<b>Measure</b> the range in view", margin=(8, 5, 0, 5)),
            pn.Row(b["statistics"]),
            pn.Row(pn.widgets.IntInput.from_param(self.param.n_gaussians, name="Gaussians", width=80), b["gaussians"]),
            self.message, self.output, sizing_mode="stretch_width", name="tools_card")

    # ------------------------------------------------------------------ the range in view
    def view_range_mhz(self) -> tuple[float, float]:
        ends = self.plot.from_x(np.array([self.plot.x_range.start, self.plot.x_range.end], dtype=float))
        lo, hi = float(np.nanmin(ends)), float(np.nanmax(ends))
        f = require_spectrum(self.session).freq_mhz
        return max(lo, float(f[0])), min(hi, float(f[-1]))

    def _range(self, options) -> tuple[float, float]:
        o = options or {}
        if "fmin_mhz" in o or "fmax_mhz" in o:
            try:
                return float(o["fmin_mhz"]), float(o["fmax_mhz"])
            except (KeyError, TypeError, ValueError):
                raise ConfigError("give both fmin_mhz and fmax_mhz (numbers, MHz)") from None
        return self.view_range_mhz()

    # ------------------------------------------------------------------ baseline
    def add_region(self, fmin_mhz=None, fmax_mhz=None) -> None:
        lo, hi = (fmin_mhz, fmax_mhz) if fmin_mhz is not None else self.view_range_mhz()
        self.regions.append((float(lo), float(hi)))
        self._draw_regions()

    def clear_regions(self) -> None:
        self.regions = []
        self._baseline = None
        self.baseline_source.data = {"x": [], "y": []}
        self._draw_regions()

    def _forget(self, event=None) -> None:
        """A new active spectrum: drawn baseline and Gaussians belong to the old one; so do the
        figures of the result pane when it is another file (not a processed version of it)."""
        self._baseline = None
        self.baseline_source.data = {"x": [], "y": []}
        self.gauss_source.data = {"x": [], "y": []}
        old, new = (event.old, event.new) if event is not None else (None, None)
        if old is None or new is None or old.name != new.name:
            self.output.object = ""

    def _draw_regions(self) -> None:
        for box in self._boxes:
            box.visible = False
        while len(self._boxes) < len(self.regions):
            box = BoxAnnotation(fill_color="#b8860b", fill_alpha=0.12, line_alpha=0, name="baseline_region")
            self.plot.plot.add_layout(box)
            self._boxes.append(box)
        for box, (lo, hi) in zip(self._boxes, self.regions):
            x = self.plot.to_x(np.array([lo, hi]))
            box.update(left=float(np.min(x)), right=float(np.max(x)), visible=True)
        self.regions_text.object = (esc("; ".join(f"{lo:.3f}-{hi:.3f} MHz" for lo, hi in self.regions))
                                    if self.regions else "no region yet")

    async def baseline(self, options=None) -> dict:
        """``cassisLite.baseline({regions_mhz, degree, subtract})``: fit (and subtract) a baseline."""
        from cassis_lite.analysis.baseline import fit_baseline, subtract_baseline

        o = dict(options or {})
        sp = require_spectrum(self.session)
        if o.get("regions_mhz"):
            self.regions = [(float(a), float(b)) for a, b in o["regions_mhz"]]
            self._draw_regions()
        degree = int(o.get("degree", self.degree))
        base = fit_baseline(sp, self.regions, degree)
        self._baseline = base
        x, y = self.plot._series(sp.freq_mhz, base.evaluate(sp.freq_mhz) * self.plot.y_factor(sp.freq_mhz, sp.y_unit))
        with bokeh_validation(False):
            self.baseline_source.data = {"x": x, "y": y}
        d = base.to_dict()
        self.output.object = pre(f"baseline of degree {base.degree} over {len(self.regions)} region(s), "
                                 f"{base.n_channels} channels: rms {base.rms:.4g} {sp.y_unit}")
        if o.get("subtract"):
            self.session.replace_active(subtract_baseline(sp, base))
            self.baseline_source.data = {"x": [], "y": []}
            self.regions = []
            self._draw_regions()
        return d

    # ------------------------------------------------------------------ smoothing, resampling
    async def smooth(self, options=None) -> dict:
        """``cassisLite.smooth({kind, width})``: the active spectrum smoothed (per window)."""
        from cassis_lite.analysis.smoothing import smooth

        o = dict(options or {})
        sp = require_spectrum(self.session)
        out = smooth(sp, o.get("kind", self.smooth_kind), float(o.get("width", self.smooth_width)))
        self.session.replace_active(out)
        return {"n_channels": int(out.freq_mhz.size), "processing": out.meta.get("processing", [])}

    async def resample(self, options=None) -> dict:
        """``cassisLite.resample({factor} | {step_mhz})``: flux-conserving rebinning."""
        from cassis_lite.analysis.smoothing import resample

        o = dict(options or {})
        sp = require_spectrum(self.session)
        if "step_mhz" in o:
            out = resample(sp, step_mhz=float(o["step_mhz"]))
        else:
            out = resample(sp, factor=int(o.get("factor", self.resample_factor)))
        self.session.replace_active(out)
        return {"n_channels": int(out.freq_mhz.size), "processing": out.meta.get("processing", [])}

    # ------------------------------------------------------------------ measurements
    def _rest(self, options):
        o = options or {}
        if o.get("rest_freq_mhz"):
            return float(o["rest_freq_mhz"])
        rest, _ = self.plot.rest_freq()
        return rest

    async def statistics(self, options=None) -> dict:
        """``cassisLite.statistics({fmin_mhz, fmax_mhz, rest_freq_mhz})`` (default: the view)."""
        from cassis_lite.analysis.statistics import range_statistics

        sp = require_spectrum(self.session)
        lo, hi = self._range(options)
        st = range_statistics(sp, lo, hi, rest_freq_mhz=self._rest(options))
        self.output.object = pre(st.report())
        return st.to_dict()

    async def fit_gaussians(self, options=None) -> dict:
        """``cassisLite.fitGaussians({n, fmin_mhz, fmax_mhz, rest_freq_mhz})`` (default: the view)."""
        from cassis_lite.analysis.gaussfit import fit_gaussians

        await ensure_packages(["scipy"])
        o = dict(options or {})
        sp = require_spectrum(self.session)
        lo, hi = self._range(o)
        res = fit_gaussians(sp, lo, hi, n=int(o.get("n", self.n_gaussians)), rest_freq_mhz=self._rest(o))
        inside = (sp.freq_mhz >= lo) & (sp.freq_mhz <= hi)
        f = sp.freq_mhz[inside]
        with bokeh_validation(False):
            self.gauss_source.data = {"x": self.plot.to_x(f),
                                      "y": res.model(f) * self.plot.y_factor(f, sp.y_unit)}
        self.output.object = pre(res.report())
        return res.to_dict()
