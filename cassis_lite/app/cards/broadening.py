"""Broadening card: a synthetic stellar spectrum shifted and broadened live over the observed one
(CASSIS-POLLUX's Specflow): radial velocity, rotation (v sin i, linear limb darkening),
radial-tangential macroturbulence and the instrument's resolving power, by
:func:`cassis_lite.optical.broaden` (``cassis-lite broaden`` gives the same numbers).

The synthetic spectrum is one of the open spectra (opened like any file, e.g. a POLLUX ASCII or
FITS model); it is drawn on its own wavelengths, over the active (observed) spectrum, and scaled
by a factor when the two are not in the same units. ``cassisLite.broaden(options)`` returns
what is drawn.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.core.property.validation import validate as bokeh_validation
from bokeh.models import ColumnDataSource, Line

from cassis_lite.app.cards.base import Card
from cassis_lite.app.text import pre
from cassis_lite.errors import CassisError, ConfigError

NONE = "(none)"
KEYS = ("rv_kms", "vsini_kms", "limb_darkening", "macro_kms", "resolving_power", "scale")


class BroadeningCard(Card):
    title = "Broadening"
    synthetic = param.Selector(default=NONE, objects=[NONE], doc="the open spectrum to broaden")
    rv_kms = param.Number(default=0.0, bounds=(-500.0, 500.0))
    vsini_kms = param.Number(default=0.0, bounds=(0.0, 400.0))
    limb_darkening = param.Number(default=0.6, bounds=(0.0, 1.0))
    macro_kms = param.Number(default=0.0, bounds=(0.0, 50.0))
    resolving_power = param.Number(default=0.0, bounds=(0.0, 200000.0), doc="0: no instrumental profile")
    scale = param.Number(default=1.0, doc="factor on the synthetic flux (units of the observed one)")

    def __init__(self, session, view, plot, **params):
        super().__init__(**params)
        self.session, self.view, self.plot = session, view, plot
        self.source = ColumnDataSource({"x": [], "y": []}, name="broadened_source")
        plot.plot.add_glyph(self.source, Line(x="x", y="y", line_color="#6a3d9a", line_width=1.5),
                            name="broadened_line")
        self.output = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-broadening-result"])
        self.last = None  # (wave_a, flux) drawn
        self.error = ""
        self.param.watch(lambda *e: self.draw(), ["synthetic", *KEYS])
        session.param.watch(lambda *e: self._on_spectra(), ["spectra"])
        self.api = {"broaden": self.broaden}

    def __panel__(self):
        p = self.param
        slider = pn.widgets.FloatSlider.from_param
        return pn.Column(
            pn.pane.HTML("<b>Synthetic spectrum</b> (an open one) broadened over the active spectrum",
                         margin=(4, 5, 0, 5)),
            pn.widgets.Select.from_param(p.synthetic, name="synthetic spectrum", sizing_mode="stretch_width"),
            slider(p.rv_kms, name="V_rad (km/s)", step=0.5, sizing_mode="stretch_width", css_classes=["cl-rv-slider"]),
            slider(p.vsini_kms, name="v sin i (km/s)", step=0.5, sizing_mode="stretch_width"),
            slider(p.limb_darkening, name="limb darkening epsilon", step=0.05, sizing_mode="stretch_width"),
            slider(p.macro_kms, name="macroturbulence zeta_RT (km/s)", step=0.5, sizing_mode="stretch_width"),
            pn.Row(pn.widgets.FloatInput.from_param(p.resolving_power, name="resolving power R (0: none)", width=170),
                   pn.widgets.FloatInput.from_param(p.scale, name="flux scale", width=100)),
            self.message, self.output, sizing_mode="stretch_width", name="broadening_card")

    def _on_spectra(self) -> None:
        names = [e.spectrum.name for e in self.session.spectra]
        current = self.synthetic if self.synthetic in names else NONE
        self.param.synthetic.objects = [NONE, *names]
        if current != self.synthetic:
            self.synthetic = current
        else:
            self.draw()

    def _entry(self):
        return next((e for e in self.session.spectra if e.spectrum.name == self.synthetic), None)

    def compute(self):
        """(the synthetic spectrum, its broadened flux) for the card's values, or None."""
        from cassis_lite.optical import broaden

        entry = self._entry()
        if entry is None:
            return None
        sp = entry.spectrum
        wave = sp.wavelength("angstrom")
        flux = broaden(wave, sp.intensity, rv_kms=self.rv_kms, vsini_kms=self.vsini_kms,
                       limb_darkening=self.limb_darkening, macro_kms=self.macro_kms,
                       resolving_power=self.resolving_power or None)
        return sp, wave, flux * self.scale

    def draw(self) -> None:
        self.clear_error()
        self.error = ""
        try:
            got = self.compute() if self.session.spectrum is not None else None
        except CassisError as exc:
            self.error = str(exc)
            self.show_error(self.error)
            got = None
        if got is None:
            self.source.data = {"x": [], "y": []}
            self.last = None
            return
        sp, wave, flux = got
        x, y = self.plot._series(sp.freq_mhz, flux)
        with bokeh_validation(False):
            self.source.data = {"x": x, "y": y}
        self.last = (wave, flux)
        r = f", R = {self.resolving_power:g}" if self.resolving_power else ""
        self.output.object = pre(f"{sp.name}: V_rad {self.rv_kms:g} km/s, v sin i {self.vsini_kms:g} km/s "
                                 f"(epsilon {self.limb_darkening:g}), zeta_RT {self.macro_kms:g} km/s{r}")

    async def broaden(self, options=None) -> dict:
        """``cassisLite.broaden({synthetic, rv_kms, vsini_kms, limb_darkening, macro_kms,
        resolving_power, scale})``: set the card and return the broadened spectrum
        ``{wave_a (vacuum), flux}`` (the ``cassis-lite broaden`` numbers, times ``scale``)."""
        o = dict(options or {})
        unknown = set(o) - {"synthetic", *KEYS}
        if unknown:
            raise ConfigError(f"unknown option {sorted(unknown)[0]!r} (allowed: synthetic, {', '.join(KEYS)})")
        if "synthetic" in o and o["synthetic"] not in self.param.synthetic.objects:
            raise ConfigError(f"no open spectrum named {str(o['synthetic'])!r}")
        try:
            self.param.update(**{k: (v if k == "synthetic" else float(v)) for k, v in o.items()})
        except (TypeError, ValueError) as exc:
            raise ConfigError(str(exc).splitlines()[0]) from None
        if self.error:
            raise ConfigError(self.error)
        if self.last is None:
            raise ConfigError("choose the synthetic spectrum (an open one) first")
        wave, flux = self.last
        return {"wave_a": np.asarray(wave), "flux": np.asarray(flux)}
