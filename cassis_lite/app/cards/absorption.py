"""Absorption card: optical/UV absorption lines of the active spectrum (the PyBolt job).

Continuum (regions typed or taken from the view, Chebyshev polynomial or cubic spline, iterated
sigma clipping; drawn; "Normalise" makes F / C the active spectrum, undone from the Spectra
card), a system (redshift, ions, components ``v b log N`` with b and v tied between ions or
not, line spread function from R or a FWHM) whose Voigt model is drawn live, the fit of its
components (1-sigma errors, reduced chi-square), equivalent widths with their error, apparent
optical depth column densities and a curve of growth of the lines measured. Every number is the
core's (:mod:`cassis_lite.optical`): the calls ``absorptionFit``, ``equivalentWidth``,
``apparentColumn``, ``curveOfGrowth`` answer what ``cassis-lite absorption fit|ew`` and
``cassis-lite cog`` print in JSON.

Wavelengths typed in the card are observed ones, in the convention of the x axis shown (air on
an air axis, else vacuum; Morton 2000 converts); internally everything is vacuum, as the line
database (Morton 2003).
"""

from __future__ import annotations

import math
import re

import numpy as np
import panel as pn
import param
from bokeh.core.property.validation import validate as bokeh_validation
from bokeh.models import BoxAnnotation, ColumnDataSource, Line, LinearAxis, Plot, Range1d, Scatter

from cassis_lite.app.cards.base import Card
from cassis_lite.app.cards.fit import require_spectrum
from cassis_lite.app.runtime import ensure_packages
from cassis_lite.app.state import X_AXES
from cassis_lite.app.text import esc, pre, table
from cassis_lite.errors import ConfigError, OpticalError
from cassis_lite.units import air_to_vacuum, from_freq_mhz, to_freq_mhz, vacuum_to_air

#: start bounds of a fit from the card's values: v +- V_RANGE, b and log N within these
V_RANGE_KMS = 50.0
B_RANGE_KMS = (0.5, 200.0)
LOGN_RANGE = (8.0, 22.0)
NORMALISED = "normalised"


def parse_ions(text: str) -> list[str]:
    """``"C IV, Si IV"`` -> ["C IV", "Si IV"] (names as the line database spells them)."""
    ions = [t.strip() for t in re.split(r"[,;]", text or "") if t.strip()]
    if not ions:
        raise ConfigError("give at least one ion, e.g. C IV (several: C IV, Si IV)")
    return ions


def parse_components(text: str, n_ions: int) -> list[tuple[float, float, list[float]]]:
    """One component per line: ``v_kms b_kms logN_ion1 [logN_ion2 ...]`` -> [(v, b, [logN...])]."""
    out = []
    for i, line in enumerate((text or "").splitlines(), 1):
        line = line.split("#")[0].strip()
        if not line:
            continue
        words = re.split(r"[,;\s]+", line)
        try:
            values = [float(w) for w in words]
        except ValueError:
            raise ConfigError(f"component line {i}: {line!r} is not numbers (v b logN per ion)") from None
        if len(values) != 2 + n_ions or not all(math.isfinite(v) for v in values):
            raise ConfigError(f"component line {i}: {line!r} needs {2 + n_ions} numbers: v (km/s), b (km/s) "
                              f"and log N of each of the {n_ions} ion(s)")
        if not values[1] > 0:
            raise ConfigError(f"component line {i}: b must be > 0 km/s, got {values[1]:g}")
        out.append((values[0], values[1], values[2:]))
    if not out:
        raise ConfigError("give at least one component: a line 'v b logN' (km/s, km/s, log10 cm-2)")
    return out


def _free(value: float, lo: float, hi: float) -> dict:
    return {"value": value, "vary": True, "min": lo, "max": hi}


class AbsorptionCard(Card):
    title = "Absorption"
    # continuum
    regions = param.String(default="", doc="continuum regions 'wmin-wmax; ...' (A, the axis' convention)")
    method = param.Selector(default="polynomial", objects=["polynomial", "spline"])
    order = param.Integer(default=3, bounds=(0, 15))
    knots_a = param.Number(default=50.0, bounds=(0.0, None), doc="spline knot spacing (A)")
    # the system
    redshift = param.Number(default=0.0, bounds=(-0.99, None))
    ions = param.String(default="C IV")
    components = param.String(default="0 10 13.5", doc="one line per component: v b logN per ion")
    tie_b_v = param.Boolean(default=True)
    lsf_kind = param.Selector(default="R", objects=["R", "FWHM km/s", "none"])
    lsf_value = param.Number(default=45000.0, bounds=(0.0, None))
    fit_window_kms = param.Number(default=200.0, bounds=(1.0, None))
    show_model = param.Boolean(default=True)
    # measurements
    ew_wmin = param.Number(default=None, allow_None=True)
    ew_wmax = param.Number(default=None, allow_None=True)
    aod_wrest = param.Number(default=None, allow_None=True, doc="vacuum rest wavelength (A)")
    aod_vmin = param.Number(default=-100.0)
    aod_vmax = param.Number(default=100.0)

    def __init__(self, session, view, plot, **params):
        super().__init__(**params)
        self.session, self.view, self.plot = session, view, plot
        self.continuum = None  # (the spectrum it was fitted to, Continuum)
        self.measured: list[dict] = []  # lines measured for the curve of growth
        self._boxes: list[BoxAnnotation] = []
        self.continuum_source = ColumnDataSource({"x": [], "y": []}, name="continuum_source")
        self.model_source = ColumnDataSource({"x": [], "y": []}, name="absorption_model_source")
        plot.plot.add_glyph(self.continuum_source, Line(x="x", y="y", line_color="#e08214", line_width=1.5,
                                                        line_dash="dashed"), name="continuum_line")
        plot.plot.add_glyph(self.model_source, Line(x="x", y="y", line_color="#1b9e77", line_width=1.5),
                            name="absorption_model_line")
        self.model_error = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-absorption-model-note"])
        self.continuum_text = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-continuum-result"])
        self.fit_output = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-absorption-fit"])
        self.measure_output = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-absorption-measure"])
        self.cog_output = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-cog-result"])
        self.cog_plot, self.cog_sources = self._cog_figure()
        self.buttons = {
            "add_region": self.action_button("Add the view as a continuum region", self.add_region),
            "fit_continuum": self.action_button("Fit the continuum", self.fit_continuum, 140, lambda: None),
            "normalise": self.action_button("Normalise", self.normalise, 100, lambda: None),
            "fit": self.action_button("Fit", self.absorption_fit, 80, lambda: None),
            "ew_view": self.action_button("Equivalent width of the view", self.ew_of_view, 190, lambda: None),
            "ew": self.action_button("Equivalent width", self.equivalent_width, 130, lambda: None),
            "aod": self.action_button("AOD column", self.apparent_column, 110, lambda: None),
            "cog": self.action_button("Fit the curve of growth", self.fit_cog, 180, lambda: None),
            "clear_cog": self.action_button("Clear the lines", self.clear_measured, 120),
            "velocity": self.action_button("Velocity axis about this line", self.velocity_axis, 200),
        }
        self.param.watch(lambda *e: self.draw_model(), ["redshift", "ions", "components", "tie_b_v", "lsf_kind",
                                                        "lsf_value", "show_model"])
        session.param.watch(lambda *e: self._on_spectrum(), ["spectrum"])
        plot.x_range.on_change("end", lambda attr, old, new: self._on_zoom())
        self.api = {"absorptionFit": self.absorption_fit, "equivalentWidth": self.equivalent_width,
                    "apparentColumn": self.apparent_column, "curveOfGrowth": self.curve_of_growth,
                    "fitContinuum": self.fit_continuum, "absorptionModel": self.set_system}


    def __panel__(self):
        b, p = self.buttons, self.param
        fi = pn.widgets.FloatInput.from_param
        return pn.Column(
            pn.pane.HTML("<b>Continuum</b>: regions in A (observed, the x axis' air/vacuum), or zoom to a "
                         "line-free part and add it; none: every pixel, by clipping alone.", margin=(4, 5, 0, 5)),
            pn.widgets.TextInput.from_param(p.regions, name="continuum regions (A)", placeholder="4010-4020; 4040-4050",
                                            sizing_mode="stretch_width"),
            b["add_region"],
            pn.Row(pn.widgets.Select.from_param(p.method, name="shape", width=100),
                   pn.widgets.IntInput.from_param(p.order, name="order", width=60),
                   fi(p.knots_a, name="knots every (A)", width=100)),
            pn.Row(b["fit_continuum"], b["normalise"]), self.continuum_text,
            pn.pane.HTML("<b>System</b>: Voigt lines of the ions (Morton 2003, vacuum) drawn on the "
                         "normalised spectrum", margin=(8, 5, 0, 5)),
            pn.Row(fi(p.redshift, name="system redshift z", step=0.0001, width=120),
                   pn.widgets.TextInput.from_param(p.ions, name="ions", width=170)),
            pn.widgets.TextAreaInput.from_param(p.components, name="components: v (km/s) b (km/s) log N per ion",
                                                height=80, sizing_mode="stretch_width"),
            pn.Row(pn.widgets.Checkbox.from_param(p.tie_b_v, name="b, v shared by the ions"),
                   pn.widgets.Checkbox.from_param(p.show_model, name="draw the model")),
            pn.Row(pn.widgets.Select.from_param(p.lsf_kind, name="line spread function", width=130),
                   fi(p.lsf_value, name="R or FWHM (km/s)", width=120)),
            pn.Row(fi(p.fit_window_kms, name="fit +- (km/s) of each line", width=150), b["fit"]),
            self.model_error, self.fit_output,
            pn.pane.HTML("<b>Measure</b>: equivalent width (rest frame) and apparent optical depth",
                         margin=(8, 5, 0, 5)),
            pn.Row(fi(p.ew_wmin, name="from (A)", width=110), fi(p.ew_wmax, name="to (A)", width=110)),
            pn.Row(b["ew"], b["ew_view"]),
            pn.Row(fi(p.aod_wrest, name="rest wavelength (A)", width=120), fi(p.aod_vmin, name="v from", width=80),
                   fi(p.aod_vmax, name="v to", width=80)),
            pn.Row(b["aod"], b["velocity"]), self.measure_output,
            pn.pane.HTML("<b>Curve of growth</b> of the lines measured (one ion)", margin=(8, 5, 0, 5)),
            pn.Row(b["cog"], b["clear_cog"]), self.cog_output, pn.pane.Bokeh(self.cog_plot, sizing_mode="stretch_width"),
            self.message, sizing_mode="stretch_width", name="absorption_card")

    # ------------------------------------------------------------------ wavelengths
    def _axis_air(self) -> bool:
        """Typed wavelengths follow the x axis' convention (a non-wavelength axis: the file's)."""
        _, base, air = X_AXES[self.view.x_unit]
        if base in ("Angstrom", "nm", "um"):
            return air
        sp = self.session.spectrum
        return bool(sp is not None and sp.air_wavelength)

    def typed_to_vacuum(self, wave_a) -> np.ndarray:
        w = np.asarray(wave_a, dtype=float)
        return air_to_vacuum(w * 1e-10) * 1e10 if self._axis_air() else w

    def vacuum_to_typed(self, wave_a) -> np.ndarray:
        w = np.asarray(wave_a, dtype=float)
        return vacuum_to_air(w * 1e-10) * 1e10 if self._axis_air() else w

    def view_range_a(self) -> tuple[float, float]:
        """The view's observed vacuum wavelengths (A), within the spectrum."""
        sp = require_spectrum(self.session)
        ends = self.plot.from_x(np.array([self.plot.x_range.start, self.plot.x_range.end], dtype=float))
        lo, hi = max(float(np.nanmin(ends)), sp.freq_mhz[0]), min(float(np.nanmax(ends)), sp.freq_mhz[-1])
        w = from_freq_mhz(np.array([lo, hi]), "Angstrom")
        return float(w.min()), float(w.max())

    def parse_regions(self, text: str) -> list[tuple[float, float]]:
        """'4010-4020; 4040-4050' (the axis' convention) -> vacuum (wmin, wmax) pairs."""
        out = []
        for part in re.split(r"[;\n]", text or ""):
            part = part.strip()
            if not part:
                continue
            m = re.fullmatch(r"([0-9.eE+]+)\s*(?:-|\.\.|to|\s)\s*([0-9.eE+]+)", part)
            if not m:
                raise ConfigError(f"continuum region {part!r}: write wmin-wmax in A, regions separated by ';'")
            lo, hi = sorted(float(v) for v in m.groups())
            if not hi > lo:
                raise ConfigError(f"continuum region {part!r} is empty")
            out.append(tuple(float(v) for v in self.typed_to_vacuum([lo, hi])))
        return out

    # ------------------------------------------------------------------ continuum
    def add_region(self) -> None:
        try:
            lo, hi = self.vacuum_to_typed(self.view_range_a())
        except Exception as exc:  # no spectrum
            self.show_error(str(exc))
            return
        text = f"{lo:.3f}-{hi:.3f}"
        self.regions = f"{self.regions.strip()}; {text}" if self.regions.strip() else text
        self._draw_regions()

    def _draw_regions(self) -> None:
        try:
            regions = self.parse_regions(self.regions)
        except ConfigError:
            regions = []
        for box in self._boxes:
            box.visible = False
        while len(self._boxes) < len(regions):
            box = BoxAnnotation(fill_color="#e08214", fill_alpha=0.12, line_alpha=0, name="continuum_region")
            self.plot.plot.add_layout(box)
            self._boxes.append(box)
        for box, (lo, hi) in zip(self._boxes, regions):
            x = self.plot.to_x(to_freq_mhz(np.array([lo, hi]), "Angstrom"))
            box.update(left=float(np.min(x)), right=float(np.max(x)), visible=True)

    async def fit_continuum(self, options=None) -> dict:
        """``cassisLite.fitContinuum({regions_a, method, order, knot_spacing_a})``: the continuum of
        the active spectrum (regions: observed vacuum A; default the card's), drawn."""
        from cassis_lite.optical import fit_continuum

        o = dict(options or {})
        sp = require_spectrum(self.session)
        if o.get("regions_a") is not None:
            regions = [(float(a), float(b)) for a, b in o["regions_a"]]
        else:
            regions = self.parse_regions(self.regions) or None
        method = o.get("method", self.method)
        if method == "spline":
            await ensure_packages(["scipy"])
        wave = sp.wavelength("angstrom")
        cont = fit_continuum(wave, sp.intensity, regions, method, int(o.get("order", self.order)),
                             o.get("knot_spacing_a", self.knots_a), sp.uncertainty)
        self.continuum = (sp, cont)
        self._draw_regions()
        self._draw_continuum()
        used = int(np.count_nonzero(cont.used))
        self.continuum_text.object = pre(f"{cont.method} continuum: {used} of {len(sp)} pixels kept after "
                                         f"{cont.iterations} clipping iteration(s), rms {cont.rms:.4g} "
                                         f"{sp.y_unit or ''}".rstrip())
        self.draw_model()
        return {"method": cont.method, "iterations": cont.iterations, "rms": cont.rms, "n_used": used,
                "continuum": cont.continuum, "normalised": cont.normalised}

    def _continuum(self):
        """The continuum fitted to the active spectrum, or None."""
        if self.continuum is not None and self.continuum[0] is self.session.spectrum:
            return self.continuum[1]
        return None

    def _draw_continuum(self) -> None:
        cont, sp = self._continuum(), self.session.spectrum
        if cont is None:
            self.continuum_source.data = {"x": [], "y": []}
            return
        x, y = self.plot._series(sp.freq_mhz, cont.continuum * self.plot.y_factor(sp.freq_mhz, sp.y_unit))
        with bokeh_validation(False):
            self.continuum_source.data = {"x": x, "y": y}

    async def normalise(self, options=None) -> dict:
        """Make F / C (and sigma / C) the active spectrum: what the absorption tools work on."""
        from cassis_lite.analysis.baseline import derived_spectrum

        sp = require_spectrum(self.session)
        cont = self._continuum()
        if cont is None:
            await self.fit_continuum()
            cont = self._continuum()
        out = derived_spectrum(sp, {"step": "continuum normalisation", "method": cont.method,
                                    "iterations": cont.iterations},
                               intensity=cont.normalised, uncertainty=cont.normalised_uncertainty, y_unit=NORMALISED)
        self.continuum = None
        self.continuum_source.data = {"x": [], "y": []}
        self.session.replace_active(out)
        self.continuum_text.object = pre(f"normalised by the {cont.method} continuum (undo: Spectra card)")
        return {"y_unit": out.y_unit, "processing": out.meta.get("processing", [])}

    def normalised(self):
        """(vacuum A, F / C, sigma / C) of the active spectrum: divided by the continuum fitted
        to it, else as it is (a normalised file or one normalised here)."""
        sp = require_spectrum(self.session)
        wave = sp.wavelength("angstrom")
        cont = self._continuum()
        if cont is not None:
            return wave, cont.normalised, cont.normalised_uncertainty
        return wave, sp.intensity, sp.uncertainty

    # ------------------------------------------------------------------ the system
    def lsf(self) -> dict | None:
        if self.lsf_kind == "none" or not self.lsf_value:
            return None
        return {"resolving_power": float(self.lsf_value)} if self.lsf_kind == "R" else {"fwhm_kms": float(self.lsf_value)}

    def config(self, free: bool = False) -> dict:
        """The absorption JSON of the card (``cassis-lite absorption fit --config``); ``free``:
        every v, b and log N free within broad bounds, fitted +- fit_window_kms of the lines."""
        ions = parse_ions(self.ions)
        comps = parse_components(self.components, len(ions))
        out = []
        for i, (v, b, logns) in enumerate(comps):
            if free:
                vv, bb = _free(v, v - V_RANGE_KMS, v + V_RANGE_KMS), _free(b, *B_RANGE_KMS)
                ion_list = [{"ion": ion, "logn_cm2": _free(n, *LOGN_RANGE)} for ion, n in zip(ions, logns)]
            else:
                vv, bb = v, b
                ion_list = [{"ion": ion, "logn_cm2": n} for ion, n in zip(ions, logns)]
            out.append({"name": f"c{i + 1}", "v_kms": vv, "b_kms": bb, "ions": ion_list})
        cfg = {"redshift": float(self.redshift), "lsf": self.lsf(), "tie_b_v": bool(self.tie_b_v), "components": out}
        if free:
            cfg["fit"] = {"windows_kms": [-float(self.fit_window_kms), float(self.fit_window_kms)]}
        return cfg

    async def set_system(self, options=None) -> dict:
        """``cassisLite.absorptionModel({redshift, ions, components, tie_b_v, lsf_kind, lsf_value})``:
        set the card's system (components as the card's text or [[v, b, logN...], ...]); returns
        the model drawn (wave_a vacuum, flux)."""
        o = dict(options or {})
        comps = o.get("components")
        if isinstance(comps, list):
            o["components"] = "\n".join(" ".join(f"{float(x):g}" for x in row) for row in comps)
        if isinstance(o.get("ions"), list):
            o["ions"] = ", ".join(str(i) for i in o["ions"])
        allowed = {"redshift", "ions", "components", "tie_b_v", "lsf_kind", "lsf_value", "fit_window_kms"}
        unknown = set(o) - allowed
        if unknown:
            raise ConfigError(f"unknown option {sorted(unknown)[0]!r} (allowed: {', '.join(sorted(allowed))})")
        self.param.update(**o)
        model = self.model_flux()
        if model is None:
            raise ConfigError(self.model_error.object or "no model")
        wave, flux = model
        return {"wave_a": wave, "flux": flux, "config": self.config()}

    def model_flux(self):
        """(vacuum A, the Voigt model of the card's system) on the active spectrum, or None (the
        reason in the card)."""
        from cassis_lite.errors import CassisError
        from cassis_lite.optical import AbsorptionModel

        sp = self.session.spectrum
        if sp is None:
            return None
        try:
            model = AbsorptionModel(self.config(), self.session.db)
            wave = sp.wavelength("angstrom")
            flux = model.eval(None, wave)
        except CassisError as exc:
            self.model_error.object = pre(f"model: {exc}", "cl-absorption-model-error")
            return None
        self.model_error.object = ""
        return wave, flux

    def draw_model(self) -> None:
        sp = self.session.spectrum
        got = self.model_flux() if (self.show_model and sp is not None) else None
        if got is None:
            self.model_source.data = {"x": [], "y": []}
            return
        _, flux = got
        cont = self._continuum()
        if not np.any(flux < 1.0 - 1e-6) or (cont is None and sp.y_unit not in ("", NORMALISED)):
            # no line of the system in view, or a spectrum in flux units with no continuum yet
            self.model_source.data = {"x": [], "y": []}
            return
        y = flux * (cont.continuum if cont is not None else 1.0) * self.plot.y_factor(sp.freq_mhz, sp.y_unit)
        x, yy = self.plot._series(sp.freq_mhz, y)
        with bokeh_validation(False):
            self.model_source.data = {"x": x, "y": yy}

    def draw(self) -> None:
        """The view changed (axis, window): continuum, regions and model again on the new axis."""
        self._draw_regions()
        self._draw_continuum()
        self.draw_model()

    def _on_zoom(self) -> None:
        sp = self.session.spectrum
        if sp is not None and sp.freq_mhz.size > 8000 and not self.plot._updating:
            self._draw_continuum()
            self.draw_model()

    def _on_spectrum(self) -> None:
        self._draw_continuum()
        self.draw_model()

    async def absorption_fit(self, config=None) -> dict:
        """``cassisLite.absorptionFit(config)``: fit an absorption JSON (default: the card's system,
        v, b and log N free) to the normalised spectrum; the ``cassis-lite absorption fit --format
        json`` object."""
        from cassis_lite.optical import AbsorptionModel

        await ensure_packages(["scipy"])
        own = config is None
        cfg = self.config(free=True) if own else config
        model = AbsorptionModel(cfg, self.session.db)
        wave, flux, err = self.normalised()
        res = model.fit_arrays(wave, flux, err)
        d = res.to_dict()
        d["file"] = require_spectrum(self.session).name
        if own:
            self._take_fit(d)
        sp = self.session.spectrum
        cont = self._continuum()
        y = res.model * (cont.continuum if cont is not None else 1.0) * self.plot.y_factor(sp.freq_mhz, sp.y_unit)
        x, yy = self.plot._series(sp.freq_mhz, y)
        with bokeh_validation(False):
            self.model_source.data = {"x": x, "y": yy}
        self._show_fit(res)
        return d

    def _take_fit(self, d: dict) -> None:
        """The best values into the card's components (the model drawn is then the fit)."""
        ions = parse_ions(self.ions)
        rows = []
        for comp in d["components"]:
            first = comp["ions"][ions[0]]
            rows.append(" ".join([f"{first['v_kms']:.3f}", f"{first['b_kms']:.3f}"]
                                 + [f"{comp['ions'][ion]['logn_cm2']:.4f}" for ion in ions]))
        self.components = "\n".join(rows)

    def _show_fit(self, res) -> None:
        rows = []
        for comp in res.components():
            for ion, r in comp["ions"].items():
                rows.append([comp["name"], ion, _pm(r["logn_cm2"], r["logn_err"], 3), _pm(r["b_kms"], r["b_err"], 2),
                             _pm(r["v_kms"], r["v_err"], 2)])
        fit = res.fit
        note = "" if fit.success else f"<p>the minimiser did not converge: {esc(fit.message)}</p>"
        self.fit_output.object = (table(["comp.", "ion", "log N (cm-2)", "b (km/s)", "v (km/s)"], rows, "cl-absorption-table")
                                  + f"<p>reduced chi-square {fit.redchi:.3f} ({fit.ndata} pixels, "
                                    f"{fit.nfree} free)</p>" + note)

    # ------------------------------------------------------------------ measurements
    def _ew(self, lo_vac: float, hi_vac: float) -> dict:
        from cassis_lite.optical import equivalent_width

        wave, flux, err = self.normalised()
        ew = equivalent_width(wave, flux, lo_vac, hi_vac, err, redshift=float(self.redshift))
        d = ew.to_dict()
        line = self._line_near(0.5 * (lo_vac + hi_vac), 0.5 * (hi_vac - lo_vac))
        d["wmin_a"], d["wmax_a"] = float(lo_vac), float(hi_vac)
        if line is not None:
            d["ion"], d["wrest_a"], d["f_osc"] = line["species"], line["wave_vac_a"], line["f_osc"]
        err_text = "" if d["ew_err_ma"] is None else f" +/- {d['ew_err_ma']:.4g}"
        name = f"{d['ion']} {d['wrest_a']:.3f}: " if line is not None else ""
        self.measure_output.object = pre(f"{name}W = {d['ew_ma']:.4g}{err_text} mA (rest frame, z = {self.redshift:g}) "
                                         f"over {lo_vac:.3f}-{hi_vac:.3f} A (vacuum), {d['n_pixels']} pixels")
        if line is not None and d["ew_err_ma"]:
            self.measured = [m for m in self.measured if not (m["ion"] == d["ion"] and m["wrest_a"] == d["wrest_a"])]
            self.measured.append({k: d[k] for k in ("ion", "wrest_a", "f_osc", "ew_ma", "ew_err_ma")})
            self._show_measured()
        return d

    def _line_near(self, centre_vac: float, half_a: float):
        """The catalogue line of the card's ions nearest a range's centre (rest frame), or None."""
        from cassis_lite.errors import CassisError
        from cassis_lite.optical import nearest_line

        rest, tol = centre_vac / (1.0 + self.redshift), half_a / (1.0 + self.redshift) + 1.0
        best = None
        try:
            ions = parse_ions(self.ions)
        except ConfigError:
            return None
        for ion in ions:
            try:
                line = nearest_line(self.session.db, ion, rest, tolerance_a=tol)
            except CassisError:
                continue
            if best is None or abs(line["wave_vac_a"] - rest) < abs(best["wave_vac_a"] - rest):
                best = line
        return best

    async def equivalent_width(self, options=None) -> dict:
        """``cassisLite.equivalentWidth({wmin_a, wmax_a, redshift})``: rest-frame W (mA) by direct
        integration over the observed vacuum range (default: the card's range, in the axis'
        convention), with its error; as ``cassis-lite absorption ew --format json``."""
        o = dict(options or {})
        if "redshift" in o:
            self.redshift = float(o["redshift"])
        if "wmin_a" in o or "wmax_a" in o:
            try:
                lo, hi = float(o["wmin_a"]), float(o["wmax_a"])
            except (KeyError, TypeError, ValueError):
                raise ConfigError("give both wmin_a and wmax_a (observed vacuum A)") from None
        else:
            if self.ew_wmin is None or self.ew_wmax is None:
                raise ConfigError("type the range (from, to in A), or use the view")
            lo, hi = (float(v) for v in self.typed_to_vacuum([self.ew_wmin, self.ew_wmax]))
        return self._ew(min(lo, hi), max(lo, hi))

    async def ew_of_view(self, options=None) -> dict:
        lo, hi = self.view_range_a()
        t0, t1 = self.vacuum_to_typed([lo, hi])
        self.param.update(ew_wmin=round(float(t0), 4), ew_wmax=round(float(t1), 4))
        return self._ew(lo, hi)

    async def apparent_column(self, options=None) -> dict:
        """``cassisLite.apparentColumn({ion, wrest_a, vmin_kms, vmax_kms, redshift})``: Savage &
        Sembach (1991) column of one line (default: the card's first ion and rest wavelength)."""
        from cassis_lite.optical import apparent_column_density

        o = dict(options or {})
        ion = o.get("ion") or parse_ions(self.ions)[0]
        wrest = o.get("wrest_a", self.aod_wrest)
        if wrest is None:
            raise ConfigError("type the line's rest wavelength (vacuum A, e.g. 1548.2)")
        z = float(o.get("redshift", self.redshift))
        vmin, vmax = float(o.get("vmin_kms", self.aod_vmin)), float(o.get("vmax_kms", self.aod_vmax))
        wave, flux, err = self.normalised()
        aod = apparent_column_density(wave, flux, ion, float(wrest), vmin, vmax, err, redshift=z, db=self.session.db)
        d = aod.to_dict()
        e = "" if aod.logn_err is None else f" +/- {aod.logn_err:.3f}"
        limit = " (lower limit: saturated pixels)" if aod.saturated else ""
        self.measure_output.object = pre(f"{aod.ion} {aod.wrest_a:.3f}: log N_a = {aod.logn_cm2:.3f}{e}{limit} over "
                                         f"{vmin:g}..{vmax:g} km/s (z = {z:g})")
        return d

    def velocity_axis(self) -> None:
        """The x axis in km/s about the rest line typed (observed at its wavelength (1 + z))."""
        if not self.aod_wrest:
            self.show_error("type the line's rest wavelength (vacuum A) first")
            return
        self.clear_error()
        rest_obs = float(to_freq_mhz(self.aod_wrest * (1.0 + self.redshift), "Angstrom"))
        self.view.param.update(rest_freq_mhz=rest_obs, rest_label=f"{self.aod_wrest:g} A at z = {self.redshift:g}",
                               velocity_convention="optical", x_unit="km/s")

    # ------------------------------------------------------------------ curve of growth
    def _show_measured(self) -> None:
        rows = [[m["ion"], f"{m['wrest_a']:.3f}", f"{m['f_osc']:.4g}", _pm(m["ew_ma"], m["ew_err_ma"], 1)]
                for m in self.measured]
        self.cog_output.object = table(["ion", "rest (A)", "f", "W (mA)"], rows, "cl-cog-lines")

    def clear_measured(self) -> None:
        self.measured = []
        self.cog_output.object = ""
        for src in self.cog_sources.values():
            src.data = {"x": [], "y": []}

    async def fit_cog(self, options=None) -> dict:
        """N and b of one ion from the lines measured (``cassis-lite cog --fit``), drawn."""
        from cassis_lite.optical import fit_curve_of_growth

        await ensure_packages(["scipy"])
        o = dict(options or {})
        lines = o.get("lines") or self.measured
        ions = sorted({m["ion"] for m in lines})
        if len(ions) != 1:
            raise OpticalError(f"a curve of growth is of one ion; the lines measured are of {', '.join(ions) or 'none'}"
                               " (measure at least 2 lines of one ion)")
        res = fit_curve_of_growth(ions[0], [m["wrest_a"] for m in lines], [m["ew_ma"] for m in lines],
                                  [m["ew_err_ma"] for m in lines], db=self.session.db)
        with bokeh_validation(False):
            self.cog_sources["curve"].data = {"x": res.curve_x, "y": res.curve_y}
            self.cog_sources["lines"].data = {"x": res.x, "y": res.y}
        n, b = res.fit.params["logn_cm2"], res.fit.params["b_kms"]
        self._show_measured()
        chi = (f"reduced chi-square {res.fit.redchi:.3g}" if math.isfinite(res.fit.redchi)
               else "no reduced chi-square (as many lines as parameters)")
        self.cog_output.object += pre(f"{ions[0]}: log N = {_pm(n.value, n.stderr, 3)}, b = {_pm(b.value, b.stderr, 2)} "
                                      f"km/s, {chi}")
        self.cog_plot.x_range.update(start=float(min(res.curve_x.min(), res.x.min())) - 0.2,
                                     end=float(max(res.curve_x.max(), res.x.max())) + 0.2)
        ys = np.concatenate([res.curve_y, res.y])
        self.cog_plot.y_range.update(start=float(ys.min()) - 0.2, end=float(ys.max()) + 0.2)
        return res.to_dict()

    async def curve_of_growth(self, options=None) -> list[dict]:
        """``cassisLite.curveOfGrowth({ion, wrest_a, b_kms: [...], logn_cm2: [...]})``: the
        ``cassis-lite cog --format json`` records ``{logn_cm2, b_kms, ew_ma}``."""
        from cassis_lite.optical import curve_of_growth

        o = dict(options or {})
        try:
            ion, wrest = str(o["ion"]), float(o["wrest_a"])
            b, logn = [float(x) for x in o["b_kms"]], [float(x) for x in o["logn_cm2"]]
        except (KeyError, TypeError, ValueError):
            raise ConfigError("give ion, wrest_a, b_kms (list) and logn_cm2 (list)") from None
        return curve_of_growth(ion, wrest, logn, b, db=self.session.db).records()

    def _cog_figure(self):
        p = Plot(height=250, sizing_mode="stretch_width", x_range=Range1d(12, 16), y_range=Range1d(-6, -3),
                 toolbar_location=None, name="cog_plot", min_border_left=50, min_border_bottom=50,
                 min_border_right=16)
        xa, ya = LinearAxis(axis_label="log10 (N f lambda [A])"), LinearAxis(axis_label="log10 (W / lambda)")
        p.add_layout(xa, "below")
        p.add_layout(ya, "left")
        sources = {"curve": ColumnDataSource({"x": [], "y": []}, name="cog_curve_source"),
                   "lines": ColumnDataSource({"x": [], "y": []}, name="cog_lines_source")}
        p.add_glyph(sources["curve"], Line(x="x", y="y", line_color="#1b9e77", line_width=1.5))
        p.add_glyph(sources["lines"], Scatter(x="x", y="y", size=7, fill_color="#d1352b", line_color="#1b1f24"))
        return p, sources


def _pm(value, err, digits: int) -> str:
    if value is None:
        return ""
    if err is None or not math.isfinite(err):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} +/- {err:.{digits}f}"
