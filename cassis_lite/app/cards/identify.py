"""Identify card: which species made which line (``cassis-lite identify`` on the active spectrum)."""

from __future__ import annotations

import panel as pn
import param
from bokeh.core.property.validation import validate as bokeh_validation
from bokeh.models import ColumnDataSource, Line

from cassis_lite.analysis.options import IdentifyOptions
from cassis_lite.analysis.requests import identify_request
from cassis_lite.app.cards.base import Card
from cassis_lite.app.runtime import ensure_packages
from cassis_lite.app.text import esc, table

_DEFAULT = IdentifyOptions()


class IdentifyCard(Card):
    """One LTE component at the assumed T_ex and FWHM; the identified model over the spectrum."""

    title = "Identify"
    tex_k = param.Number(default=_DEFAULT.tex_k, bounds=(0.1, None))
    fwhm_kms = param.Number(default=_DEFAULT.fwhm_kms, bounds=(1e-3, None))
    threshold = param.Number(default=_DEFAULT.threshold, bounds=(0.1, None))
    species = param.String(default="")

    def __init__(self, session, view, plot, **params):
        super().__init__(**params)
        self.session, self.view, self.plot = session, view, plot
        self.button = pn.widgets.Button(name="Identify", button_type="primary", width=100)
        self.on_click(self.button, self.identify, self.options)
        self.result = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-identify-result"])
        self.feature = pn.widgets.Select(name="Feature: candidate transitions", options=[], visible=False,
                                         sizing_mode="stretch_width")
        self.feature.param.watch(self._on_feature, "value")
        self.candidates = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-candidates"])
        self.source = ColumnDataSource({"x": [], "y": []}, name="identify_model_source")
        plot.plot.add_glyph(self.source, Line(x="x", y="y", line_color="#2e8b57", line_width=1.2, line_dash="dashed"),
                            name="identify_model_line")
        self._model = None
        self._spectrum = None
        self._features = []
        session.param.watch(self._forget, ["spectrum"])
        self.api = {"identify": self.identify}

    def __panel__(self):
        return pn.Column(
            pn.pane.HTML("<p>Every species is assumed at one T_ex and FWHM:</p>", sizing_mode="stretch_width"),
            pn.Row(pn.widgets.FloatInput.from_param(self.param.tex_k, name="T_ex (K)", width=95),
                   pn.widgets.FloatInput.from_param(self.param.fwhm_kms, name="FWHM (km/s)", width=95),
                   pn.widgets.FloatInput.from_param(self.param.threshold, name="S/N threshold", width=95)),
            pn.widgets.TextInput.from_param(self.param.species, name="Species (empty = whole database)"),
            self.button, self.message, self.result, self.feature, self.candidates,
            sizing_mode="stretch_width", name="identify_card")

    def options(self) -> dict:
        return {"tex_k": self.tex_k, "fwhm_kms": self.fwhm_kms, "threshold": self.threshold,
                "species": self.species.strip() or None}

    async def identify(self, options=None) -> dict:
        """``cassisLite.identify(options)``: the ``cassis-lite identify --format json`` answer."""
        await ensure_packages(["scipy"])
        from cassis_lite.app.cards.fit import require_spectrum

        d, res, cands, _, _ = identify_request(require_spectrum(self.session), self.session.db, options)
        self._show(d, res)
        return d

    def _show(self, d, res) -> None:
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
        self.result.object = head + found + extra
        self._features = d["features"]
        labels = [f"{r['freq_mhz']:.3f} MHz {r['peak_k']:+.3g} K (S/N {r['snr']:.1f})" for r in d["features"]]
        self.feature.options = labels
        self.feature.visible = bool(labels)
        if labels:
            if self.feature.value == labels[0]:
                self._show_candidates(0)
            self.feature.value = labels[0]
        else:
            self.candidates.object = ""
        self._model = res.model
        self._spectrum = self.session.spectrum
        self.draw()

    def _forget(self, event) -> None:
        """Another file became active: the features, species and candidates were the old file's
        (a processed version of the same file keeps them, as the Tools card does)."""
        if event.old is not None and event.new is not None and event.old.name == event.new.name:
            return
        self.result.object = self.candidates.object = ""
        self._features, self._model = [], None
        self.feature.param.update(options=[], visible=False)
        self.draw()

    def _on_feature(self, event) -> None:
        if event.new in self.feature.options:
            self._show_candidates(self.feature.options.index(event.new))

    def _show_candidates(self, i: int) -> None:
        cands = self._features[i]["candidates"]
        if not cands:
            self.candidates.object = "<p>no transition within the tolerance</p>"
            return
        rows = [(c["species"], f"{c['freq_mhz']:.4f}", f"{c['eup_k']:.1f}", f"{c['dv_kms']:+.2f}",
                 f"{c['predicted_k']:.3g}", c["qn"]) for c in cands[:8]]
        self.candidates.object = table(("species", "MHz", "E_up", "dv", "pred. K", "QN"), rows, "cl-candidates-table")

    def draw(self) -> None:
        """The identification's model (K), on the main plot's axes, while its spectrum is shown."""
        sp = self.session.spectrum
        if self._model is None or sp is None or sp is not self._spectrum:
            if len(self.source.data["x"]):
                self.source.data = {"x": [], "y": []}
            return
        x, y = self.plot._series(sp.freq_mhz, self._model * self.plot.y_factor(sp.freq_mhz, "K"))
        with bokeh_validation(False):
            self.source.data = {"x": x, "y": y}
