"""Demo mode (``?demo``): one story on the bundled data, for a non-specialist, step by step.

IRAS 16293-2422, a star being born, seen in the light of carbon monoxide; what temperature and
column density mean, with the live model as the thing to play with; then the computer's fit.
Large type, a few sentences per step; the sliders are the model card's (one state).
"""

from __future__ import annotations

import panel as pn
import param

from cassis_lite.app.cards.base import Card
from cassis_lite.app.text import esc

SAMPLE = "I16293_Synthetic_CO.lis"
CO_5_4_MHZ = 576267.9305
CO_10_9_MHZ = 1151985.452

STEPS = (
    ("A star being born",
     "This is light from IRAS 16293-2422, a young star still wrapped in the gas cloud it is forming from, "
     "450 light years away. The black curve is how much light arrives at each frequency. The tall peak is "
     "carbon monoxide (CO): its molecules spinning down from one rotation state to the next give off light "
     "at exactly 576.268 GHz.", CO_5_4_MHZ, ()),
    ("A model of the gas",
     "The red curve is what a cloud of CO gas would send us, computed here in your browser. The gas has a "
     "temperature: move it and watch the model. Warmer gas shines brighter, until its light matches its "
     "temperature.", CO_5_4_MHZ, ("tex_k",)),
    ("How much gas",
     "The column density is how many CO molecules there are in a column of 1 cm² from us to the star: "
     "10^16 means ten million billion. More molecules, a stronger line... until the gas becomes opaque and "
     "the line stops growing: it only gets wider.", CO_5_4_MHZ, ("log_ntot",)),
    ("Two lines, one temperature",
     "The same gas also emits at 1152 GHz, from a rotation state that needs much more energy to reach. "
     "Only warm gas can fill it: comparing the two lines tells the temperature. Try a cold gas (20 K) "
     "here.", CO_10_9_MHZ, ("tex_k", "log_ntot")),
    ("Let the computer find them",
     "Instead of moving the sliders by hand, the computer can try thousands of temperatures and amounts of "
     "gas and keep the model closest to the light we measured.", CO_5_4_MHZ, ("fit",)),
)


class DemoCard(Card):
    """The story, above the plot; ``step`` is where the visitor is."""

    title = "Demo"
    step = param.Integer(default=0, bounds=(0, len(STEPS) - 1))
    active = param.Boolean(default=False)

    def __init__(self, view, **params):
        super().__init__(**params)
        self.view = view  # the CassisView: its model card, plot and session
        self.text = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-demo-text"],
                                 styles={"font-size": "1.35rem", "line-height": "1.5"})
        self.back = pn.widgets.Button(name="\u2190 Back", width=120, styles={"font-size": "1.2rem"})
        self.next = pn.widgets.Button(name="Next \u2192", button_type="primary", width=120,
                                      styles={"font-size": "1.2rem"})
        self.leave = pn.widgets.Button(name="Leave the demo", width=150)
        self.fit_button = pn.widgets.Button(name="Fit the model to the light", button_type="success", width=260,
                                            visible=False, styles={"font-size": "1.2rem"})
        self.result = pn.pane.HTML("", sizing_mode="stretch_width", styles={"font-size": "1.3rem"})
        card = view.model_card
        self.sliders = {
            "tex_k": pn.widgets.FloatSlider.from_param(card.param.tex_k, name="Temperature (K)", start=5.0,
                                                       end=300.0, step=1.0, sizing_mode="stretch_width"),
            "log_ntot": pn.widgets.FloatSlider.from_param(card.param.log_ntot, name="Molecules per cm² (log10)",
                                                          start=13.0, end=19.0, step=0.05,
                                                          sizing_mode="stretch_width"),
        }
        self.back.on_click(lambda e: self.go(self.step - 1))
        self.next.on_click(lambda e: self.stop() if self.step == len(STEPS) - 1 else self.go(self.step + 1))
        self.leave.on_click(lambda e: self.stop())
        self.on_click(self.fit_button, self.fit)
        self.panel = pn.Column(self.text, *self.sliders.values(), self.fit_button, self.result, self.message,
                               pn.Row(self.back, self.next, self.leave), sizing_mode="stretch_width",
                               css_classes=["cl-demo"], visible=False, name="demo",
                               styles={"background": "#fffbea", "border": "2px solid #e0c35a",
                                       "border-radius": "8px", "padding": "8px 14px"})
        self.api = {"demoStep": self.api_step}

    def __panel__(self):
        return self.panel

    def start(self) -> None:
        view = self.view
        if view.session.spectrum is None or view.session.spectrum.name != SAMPLE:
            view.open_sample(SAMPLE)
        view.model_card.param.update(species="CO", tex_k=30.0, log_ntot=15.5, fwhm_kms=4.9, size_arcsec=30.0)
        self.active = True
        self.panel.visible = True
        self.go(0)

    def stop(self) -> None:
        self.active = False
        self.panel.visible = False

    def go(self, step: int) -> None:
        step = max(0, min(len(STEPS) - 1, step))
        self.step = step
        title, text, line_mhz, tools = STEPS[step]
        self.text.object = f"<h2 style='margin: 4px 0'>{esc(title)}</h2><p style='margin: 4px 0'>{esc(text)}</p>"
        for name, slider in self.sliders.items():
            slider.visible = name in tools
        self.fit_button.visible = "fit" in tools
        self.result.object = ""
        self.back.disabled = step == 0
        self.next.name = "Next \u2192" if step < len(STEPS) - 1 else "Explore on your own"
        self._show_line(line_mhz)

    def _show_line(self, line_mhz: float) -> None:
        sp = self.view.session.spectrum
        wins = sp.windows()
        i = next((k for k, w in enumerate(wins) if sp.freq_mhz[w.start] <= line_mhz <= sp.freq_mhz[w.stop - 1]), -1)
        self.view.view.param.update(x_unit="GHz", window=i)

    async def fit(self) -> dict:
        self.view.add_analysis()
        fit_card = next(c for c in self.view.analysis_cards if c.title == "Fit")
        d = await fit_card.fit(None)
        p = d["parameters"]
        tex = p["c1_tex"]["value"]
        ntot = p["c1_ntot_CO"]["value"]
        mantissa, exponent = f"{ntot:.1e}".split("e")
        self.result.object = (f"<p>The gas is about <b>{tex:.0f} K</b> ({tex - 273.15:.0f} °C), with "
                              f"<b>{mantissa} × 10<sup>{int(exponent)}</sup></b> CO molecules per cm²: "
                              "warm for space (quiet clouds are near 10 K), "
                              "heated by the young star. The model (red) now matches the light (black).</p>")
        return d

    async def api_step(self, step=None) -> dict:
        """``cassisLite.demoStep(n)``: go to step n of the demo (starting it); answers where it is."""
        if not self.active:
            self.start()
        if step is not None:
            self.go(int(step))
        return {"step": self.step, "title": STEPS[self.step][0], "steps": len(STEPS)}
