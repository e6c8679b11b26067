"""v_lsr card: the source velocity by cross-correlation with a species' lines (``cassis-lite vlsr``).

The slider and the top bar's v_lsr box are the same view parameter (the line markers' v_lsr);
a found v_lsr sets it.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, Line, Span

from cassis_lite.analysis.options import VelocityOptions
from cassis_lite.analysis.requests import velocity_request
from cassis_lite.app.cards.base import Card
from cassis_lite.app.cards.fit import require_spectrum
from cassis_lite.app.cards.plots import small_plot
from cassis_lite.app.runtime import ensure_packages
from cassis_lite.app.text import pre

MAX_CCF_POINTS = 4000
_DEFAULT = VelocityOptions(lines_mhz=(1.0,))


class VelocityCard(Card):
    title = "v_lsr"
    species = param.String(default="CO")
    vmin_kms = param.Number(default=_DEFAULT.vmin_kms)
    vmax_kms = param.Number(default=_DEFAULT.vmax_kms)
    fwhm_kms = param.Number(default=_DEFAULT.fwhm_kms, bounds=(1e-3, None))

    def __init__(self, session, view, **params):
        super().__init__(**params)
        self.session, self.view = session, view
        self.button = pn.widgets.Button(name="Find v_lsr", button_type="primary", width=110)
        self.on_click(self.button, self.find_velocity, self.options)
        self.slider = pn.widgets.FloatSlider.from_param(view.param.vlsr_kms, name="v_lsr of the lines (km/s)",
                                                        start=-100.0, end=100.0, step=0.01,
                                                        sizing_mode="stretch_width")
        view.param.watch(self._widen, ["vlsr_kms"])
        self.result = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-vlsr-result"])
        self.ccf = ColumnDataSource({"x": [], "y": []}, name="vlsr_ccf")
        p = small_plot("vlsr_plot", "v_lsr (km/s)", "cross-correlation S/N", height=160)
        p.add_glyph(self.ccf, Line(x="x", y="y", line_color="#1b1f24"))
        self.span = Span(location=0.0, dimension="height", line_color="#d1352b", visible=False)
        p.add_layout(self.span)
        self.ccf_plot = p
        self.api = {"findVelocity": self.find_velocity}

    def __panel__(self):
        return pn.Column(
            pn.Row(pn.widgets.TextInput.from_param(self.param.species, name="Species to match", width=120),
                   pn.widgets.FloatInput.from_param(self.param.fwhm_kms, name="line FWHM (km/s)", width=100)),
            pn.Row(pn.widgets.FloatInput.from_param(self.param.vmin_kms, name="search from (km/s)", width=100),
                   pn.widgets.FloatInput.from_param(self.param.vmax_kms, name="to (km/s)", width=100)),
            self.button, self.message, self.slider, self.result, pn.pane.Bokeh(self.ccf_plot, sizing_mode="stretch_width"),
            sizing_mode="stretch_width", name="vlsr_card")

    def options(self) -> dict:
        return {"species": self.species, "vmin_kms": self.vmin_kms, "vmax_kms": self.vmax_kms,
                "fwhm_kms": self.fwhm_kms}

    def _widen(self, event) -> None:
        v = event.new
        if v is not None and not self.slider.start <= v <= self.slider.end:
            self.slider.param.update(start=min(self.slider.start, v), end=max(self.slider.end, v))

    async def find_velocity(self, options=None) -> dict:
        """``cassisLite.findVelocity(options)``: the ``cassis-lite vlsr --format json`` answer."""
        await ensure_packages(["scipy"])
        sp = require_spectrum(self.session)
        species = (options or {}).get("species") if isinstance(options, dict) else None
        d, res = velocity_request(sp, self.session.db if species else None, options)
        grid, ccf = np.asarray(res.grid, float), np.asarray(res.ccf, float)
        stride = max(1, grid.size // MAX_CCF_POINTS)
        self.ccf.data = {"x": grid[::stride], "y": ccf[::stride]}
        if grid.size:
            self.ccf_plot.x_range.update(start=float(grid[0]), end=float(grid[-1]))
            fin = ccf[np.isfinite(ccf)]
            if fin.size:
                pad = 0.05 * (float(fin.max() - fin.min()) or 1.0)
                self.ccf_plot.y_range.update(start=float(fin.min()) - pad, end=float(fin.max()) + pad)
        self.ccf_plot.xaxis[0].axis_label = "v_lsr (km/s)" if res.kind == "vlsr" else "z"
        self.span.update(location=res.value, visible=True)
        self.result.object = pre(d["report"])
        if res.kind == "vlsr":
            self.view.vlsr_kms = round(res.value, 6)
        else:
            self.view.redshift = res.value
        return d

