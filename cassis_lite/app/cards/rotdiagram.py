"""Rotational diagram card (``cassis-lite rotdiagram``): T_rot and N_tot from a species' lines."""

from __future__ import annotations

from collections import Counter

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, Line, Scatter, Whisker

from cassis_lite.analysis.requests import spectrum_rotational_diagram_request
from cassis_lite.app.cards.base import Card
from cassis_lite.app.cards.fit import require_spectrum
from cassis_lite.app.cards.plots import fit_range, small_plot
from cassis_lite.app.runtime import ensure_packages
from cassis_lite.app.text import esc, pre


def left_out_summary(dropped: list[dict]) -> str:
    """Why lines were left out, counted by reason (the JSON lists every one)."""
    if not dropped:
        return ""
    counts = Counter(r["reason"] for r in dropped)
    return "left out: " + "; ".join(f"{n} {reason}" for reason, n in counts.most_common())


class RotationalDiagramCard(Card):
    title = "Rot. diagram"
    species = param.String(default="CO")
    vmin_kms = param.Number(default=-10.0)
    vmax_kms = param.Number(default=10.0)
    tau_correction = param.Boolean(default=False, doc="opacity correction with the model's FWHM")

    def __init__(self, session, **params):
        super().__init__(**params)
        self.session = session
        self.button = pn.widgets.Button(name="Rotational diagram", button_type="primary", width=150)
        self.on_click(self.button, self.rotational_diagram, self.options)
        self.result = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-rot-result"])
        self.points = ColumnDataSource({"x": [], "y": [], "upper": [], "lower": []}, name="rotdiagram_points")
        self.line = ColumnDataSource({"x": [], "y": []}, name="rotdiagram_line")
        p = small_plot("rotdiagram_plot", "E_up (K)", "ln(N_u/g_u)")
        p.add_glyph(self.points, Scatter(x="x", y="y", size=7, fill_color="#2a7ab0", line_color="#1b1f24"))
        p.add_layout(Whisker(source=self.points, base="x", upper="upper", lower="lower", line_color="#2a7ab0"))
        p.add_glyph(self.line, Line(x="x", y="y", line_color="#d1352b", line_width=1.5))
        self.diagram = p
        self.api = {"rotationalDiagram": self.rotational_diagram}

    def __panel__(self):
        return pn.Column(
            pn.Row(pn.widgets.TextInput.from_param(self.param.species, name="Species of the diagram", width=110),
                   pn.widgets.FloatInput.from_param(self.param.vmin_kms, name="v min (km/s)", width=90),
                   pn.widgets.FloatInput.from_param(self.param.vmax_kms, name="v max (km/s)", width=90)),
            pn.widgets.Checkbox.from_param(self.param.tau_correction, name="opacity correction (FWHM of the model)"),
            self.button, self.message, pn.pane.Bokeh(self.diagram, sizing_mode="stretch_width"), self.result,
            sizing_mode="stretch_width", name="rotdiagram_card")

    def options(self) -> dict:
        o = {"species": self.species, "vmin_kms": self.vmin_kms, "vmax_kms": self.vmax_kms}
        cfg = self.session.model_config
        if self.tau_correction:
            o.update(tau_correction=True,
                     fwhm_kms=cfg.components[0].fwhm_kms if cfg is not None and cfg.components else None)
        return o

    async def rotational_diagram(self, options=None) -> dict:
        """``cassisLite.rotationalDiagram(options)``: the ``cassis-lite rotdiagram --format json``
        answer (+ report)."""
        if (options or {}).get("tau_correction"):
            await ensure_packages(["scipy"])
        d, res = spectrum_rotational_diagram_request(require_spectrum(self.session), self.session.db, options)
        e, y, s = (np.asarray(v, float) for v in (res.eup_k, res.ln_nu_gu, res.ln_nu_gu_err))
        xs = np.linspace(0.0, float(e.max()) * 1.1, 50)
        self.points.data = {"x": e, "y": y, "upper": y + s, "lower": y - s}
        self.line.data = {"x": xs, "y": res.model(xs)}
        fit_range(self.diagram.x_range, np.concatenate([[0.0], e * 1.1]))
        fit_range(self.diagram.y_range, np.concatenate([y + s, y - s, res.model(xs)]))
        summary = left_out_summary(d["dropped"])
        self.result.object = pre(d["report"]) + (f"<small>{esc(summary)}</small>" if summary else "")
        return d
