"""Fit card: the LTE fit of the model to the active spectrum (``cassis-lite fit``).

The starting point is always the model in force (the model card's), so that what the user sees
is what is fitted: the card chooses which parameters are free, the velocity window around the
lines and the noise; its configuration is shown as the ``cassis-lite fit`` JSON (editable, for a
configuration the card cannot express). The best fit becomes the model.
"""

from __future__ import annotations

import copy
import json
import math

import panel as pn
import param

from cassis_lite.analysis.requests import fit_request
from cassis_lite.app.cards.base import Card, number_or_none
from cassis_lite.app.runtime import ensure_packages
from cassis_lite.app.text import pre, table
from cassis_lite.errors import CassisError, ConfigError
from cassis_lite.fitting.lte_fit import split_fit_config


class NoSpectrumError(CassisError):
    """An analysis was asked for before any spectrum was loaded."""


def require_spectrum(session):
    if session.spectrum is None:
        raise NoSpectrumError("no spectrum loaded: open one first")
    return session.spectrum


def fit_config_from_model(model: dict, free=("tex_k", "fwhm_kms", "vlsr_kms", "ntot_cm2"), window_fwhm: float = 3.0,
                          rms_k=None, calibration_percent=None) -> dict:
    """A fit configuration from a model config: the ``free`` parameters within broad bounds (T_ex
    /4..x4, FWHM /5..x5, v_lsr +-2 FWHM, N /1e3..x1e3, size /10..x10), fitted over v_lsr +-
    ``window_fwhm`` FWHM of each component. For a RADEX component "tex_k" frees T_kin (same
    bounds) and "ntot_cm2" frees the partners' densities too (/1e3..x1e3)."""
    cfg = copy.deepcopy(model)
    cfg.pop("grid", None)
    lo, hi = math.inf, -math.inf
    for comp in cfg.get("components", []):
        radex = comp.get("model") == "radex"
        t = float(comp["tkin_k"] if radex else comp["tex_k"])
        w, v = float(comp["fwhm_kms"]), float(comp.get("vlsr_kms", 0.0))
        if "tex_k" in free:  # the excitation temperature: T_ex, or T_kin of a RADEX component
            comp["tkin_k" if radex else "tex_k"] = {"value": t, "min": max(3.0, t / 4), "max": min(1000.0, 4 * t)}
        if radex and "ntot_cm2" in free:  # with N, the densities (fitted in log10 as N)
            comp["density_cm3"] = {k: {"value": float(n), "min": float(n) / 1e3, "max": float(n) * 1e3}
                                   for k, n in comp["density_cm3"].items()}
        if "fwhm_kms" in free:
            comp["fwhm_kms"] = {"value": w, "min": max(0.05, w / 5), "max": 5 * w}
        if "vlsr_kms" in free:
            comp["vlsr_kms"] = {"value": v, "min": v - 2 * w, "max": v + 2 * w}
        if "size_arcsec" in free and comp.get("size_arcsec"):
            s = float(comp["size_arcsec"])
            comp["size_arcsec"] = {"value": s, "min": s / 10, "max": s * 10}
        for sp in comp.get("species", []):
            if "ntot_cm2" in free:
                n = float(sp["ntot_cm2"])
                sp["ntot_cm2"] = {"value": n, "min": n / 1e3, "max": n * 1e3}
        lo, hi = min(lo, v - window_fwhm * w), max(hi, v + window_fwhm * w)
    fit = {}
    if math.isfinite(lo):
        fit["windows_kms"] = [round(lo, 3), round(hi, 3)]
    if rms_k is not None:
        fit["rms_k"] = float(rms_k)
    if calibration_percent:
        fit["calibration_percent"] = float(calibration_percent)
    if fit:
        cfg["fit"] = fit
    return cfg


def parameter_rows(config: dict) -> list[tuple]:
    """(name, start, free/fixed/tie, min, max, unit) of a fit configuration's parameters."""
    _, params, _, _ = split_fit_config(config)

    def fmt(v):
        return "" if v is None or not math.isfinite(v) else f"{v:.4g}"

    return [(n, fmt(p.value), "free" if p.free else (f"= {p.expr}" if p.expr else "fixed"), fmt(p.min), fmt(p.max),
             p.unit) for n, p in params.items()]


class FitCard(Card):
    title = "Fit"
    free_tex = param.Boolean(default=True)
    free_fwhm = param.Boolean(default=True)
    free_vlsr = param.Boolean(default=True)
    free_ntot = param.Boolean(default=True)
    free_size = param.Boolean(default=False)
    window_fwhm = param.Number(default=3.0, bounds=(0.5, 50.0), doc="fitted: v_lsr +- this many FWHM")
    rms_k = param.Number(default=None, allow_None=True, bounds=(0, None))
    calibration_percent = param.Number(default=None, allow_None=True, bounds=(0, 100))
    config_text = param.String(default="", doc="the fit JSON; edited by hand, it is used as it is")

    def __init__(self, session, **params):
        super().__init__(**params)
        self.session = session
        self.button = pn.widgets.Button(name="Fit", button_type="primary", width=80)
        self.on_click(self.button, self.fit, lambda: None)
        self.reset_button = pn.widgets.Button(name="Start from the model", width=160)
        self.reset_button.on_click(lambda e: self.refresh(force=True))
        self.params_table = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-fit-params"])
        self.result = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-fit-result"])
        self.editor = pn.widgets.TextAreaInput.from_param(
            self.param.config_text, name="Fit configuration (cassis-lite fit JSON; edit for more)", height=170,
            sizing_mode="stretch_width", css_classes=["cl-fit-config"])
        self._generated = ""
        self.param.watch(lambda *e: self.refresh(), ["free_tex", "free_fwhm", "free_vlsr", "free_ntot", "free_size",
                                                    "window_fwhm", "rms_k", "calibration_percent"])
        self.param.watch(lambda *e: self._show_parameters(), ["config_text"])
        session.param.watch(lambda *e: self.refresh(), ["model_config"])
        self.api = {"fit": self.fit}
        self.refresh()

    def __panel__(self):
        checks = [pn.widgets.Checkbox.from_param(self.param[n], name=label) for n, label in
                  (("free_tex", "T_ex"), ("free_fwhm", "FWHM"), ("free_vlsr", "v_lsr"), ("free_ntot", "N"),
                   ("free_size", "size"))]
        return pn.Column(
            pn.pane.HTML("Free parameters (the start is the model in force):", margin=(4, 5, 0, 5)), pn.Row(*checks),
            pn.Row(pn.widgets.FloatInput.from_param(self.param.window_fwhm, name="window (x FWHM)", width=100),
                   pn.widgets.FloatInput.from_param(self.param.rms_k, name="rms (K; empty: estimated)", width=120),
                   pn.widgets.FloatInput.from_param(self.param.calibration_percent, name="calibration %", width=90)),
            pn.Row(self.button, self.reset_button), self.message, self.result, self.params_table, self.editor,
            sizing_mode="stretch_width", name="fit_card")

    def generated_config(self) -> dict | None:
        cfg = self.session.model_config
        if cfg is None:
            return None
        free = [k for k, on in (("tex_k", self.free_tex), ("fwhm_kms", self.free_fwhm), ("vlsr_kms", self.free_vlsr),
                                ("ntot_cm2", self.free_ntot), ("size_arcsec", self.free_size)) if on]
        return fit_config_from_model(cfg.to_dict(), free, self.window_fwhm, number_or_none(self.rms_k),
                                     number_or_none(self.calibration_percent))

    def refresh(self, force: bool = False) -> None:
        """The configuration follows the model and the card's choices, unless edited by hand."""
        cfg = self.generated_config()
        if cfg is None:
            return
        text = json.dumps(cfg, indent=1)
        if force or self.config_text in ("", self._generated):
            self._generated = text
            self.config_text = text
        self._show_parameters()

    def _show_parameters(self) -> None:
        try:
            rows = parameter_rows(json.loads(self.config_text or "{}"))
        except (CassisError, ValueError) as exc:
            self.params_table.object = pre(f"configuration: {exc}", "cl-fit-params-error")
            return
        self.params_table.object = table(("parameter", "start", "", "min", "max", "unit"), rows, "cl-fit-params-table")

    def current_config(self) -> dict:
        """The card's configuration (its JSON box) as a dict; :class:`ConfigError` if it is not one."""
        try:
            config = json.loads(self.config_text or "")
        except ValueError as exc:
            raise ConfigError(f"fit configuration is not valid JSON: {exc}") from None
        if not isinstance(config, dict):
            raise ConfigError("fit configuration must be a JSON object")
        return config

    async def fit(self, config=None) -> dict:
        """``cassisLite.fit(config)``: the ``cassis-lite fit --format json`` answer (+ report);
        without a config, the card's. The best configuration becomes the model."""
        config = self.current_config() if config is None else config
        if not isinstance(config, dict):
            raise ConfigError("fit configuration must be a JSON object")
        await ensure_packages(["scipy"])
        d, res = fit_request(require_spectrum(self.session), self.session.db, config)
        self.result.object = pre(d["report"])
        self.session.set_model(res.config.to_dict())
        return d
