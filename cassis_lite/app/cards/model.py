"""Model card: the live LTE model (sliders for component 1, species 1; the components x species
table for all), its telescope, save/load as JSON or a CASSIS ``.ltm`` file.

The session's model configuration is the one truth. Moving a slider builds a new configuration
from it and the sliders and asks the session to compute it; a new configuration from anywhere
(a script, a fit, a loaded file, the table) is shown by the sliders and the table. Both ways
compare before they act, so showing a configuration never changes it.
"""

from __future__ import annotations

import io
import json
import math

import panel as pn
import param

from cassis_lite.app.cards.base import Card, ExportButtons
from cassis_lite.app.model_table import ModelTable, apply_action
from cassis_lite.errors import CassisError, ConfigError

TELESCOPES = {"12 m dish (APEX, ALMA antenna)": {"diameter_m": 12.0}, "IRAM 30 m": {"name": "iram"},
              "JCMT 15 m": {"name": "jcmt"}, "Herschel/HIFI": {"name": "hifi"}, "Yebes 40 m": {"name": "yebes40m"},
              "Nobeyama 45 m": {"name": "nro45"}, "GBT 100 m": {"name": "gbt"}}
#: (param, start, end, step) of each slider; a value beyond the range widens the slider
SLIDERS = {"log_ntot": ("log10 N (cm^-2)", 10.0, 20.0, 0.05), "tex_k": ("T_ex (K)", 3.0, 300.0, 1.0),
           "fwhm_kms": ("FWHM (km/s)", 0.2, 30.0, 0.1), "vlsr_kms": ("v_lsr (km/s)", -50.0, 50.0, 0.1),
           "size_arcsec": ("size (arcsec)", 0.5, 120.0, 0.5), "tkin_k": ("T_kin (K)", 5.0, 500.0, 1.0),
           "log_nh2": ("log10 n(H2) (cm^-3)", 1.0, 10.0, 0.05)}
#: the excitation of component 1: LTE (T_ex) or non-LTE (RADEX: T_kin, n(H2), the geometry)
EXCITATION = {"LTE": "lte", "non-LTE (RADEX)": "radex"}
#: the model's partition functions (ModelConfig.partition): refined by the catalogue's levels
#: (~0.1 %, the default) or the catalogue's table interpolated as CASSIS does (to compare with CASSIS)
PARTITION = {"refined (~0.1 %)": "refined", "catalogue table (as CASSIS)": "catalogue"}
#: the RADEX call's options (the ``cassis-lite radex --format json`` flags)
RADEX_OPTIONS = ("species", "tkin_k", "density_cm3", "ntot_cm2", "fwhm_kms", "tbg_k", "geometry", "fmin_mhz",
                 "fmax_mhz")


H2_PARTNERS = ("H2", "pH2", "oH2")


def h2_density(density: dict | None) -> float:
    """n(H2) of a component's partner densities: H2, or p-H2 + o-H2 (0 if none)."""
    return float(sum((density or {}).get(k, 0.0) for k in H2_PARTNERS))


def scaled_h2_density(density: dict | None, nh2: float) -> dict:
    """The densities with n(H2) set to ``nh2`` (p-H2 and o-H2 scaled together, their ratio
    kept; H2 alone when none is given); the other partners unchanged."""
    out = dict(density or {})
    total = h2_density(out)
    if total > 0:
        for k in H2_PARTNERS:
            if k in out:
                out[k] = out[k] * nh2 / total
    else:
        out["H2"] = nh2
    return out


class ModelCard(Card):
    """Component 1 / species 1 of the session's model as params; the table shows them all."""

    title = "Model"
    species = param.String(default="CO")
    log_ntot = param.Number(default=16.0, bounds=(0.0, 30.0))
    tex_k = param.Number(default=50.0, bounds=(0.1, 1e5))
    fwhm_kms = param.Number(default=4.0, bounds=(1e-3, 1e4))
    vlsr_kms = param.Number(default=0.0, bounds=(-1e5, 1e5))
    size_arcsec = param.Number(default=30.0, bounds=(1e-3, 1e6))
    telescope = param.Selector(default="12 m dish (APEX, ALMA antenna)", objects=list(TELESCOPES))
    excitation = param.Selector(default="LTE", objects=list(EXCITATION))
    tkin_k = param.Number(default=30.0, bounds=(0.1, 1e5))
    log_nh2 = param.Number(default=4.0, bounds=(-5.0, 20.0))
    geometry = param.Selector(default="sphere", objects=["sphere", "lvg", "slab"])
    partition = param.Selector(default="refined (~0.1 %)", objects=list(PARTITION))

    def __init__(self, session, view, **params):
        super().__init__(**params)
        self.session, self.view = session, view
        self.telescopes = dict(TELESCOPES)
        self.sliders = {name: pn.widgets.FloatSlider.from_param(self.param[name], name=label, start=lo, end=hi,
                                                                 step=step, sizing_mode="stretch_width")
                        for name, (label, lo, hi, step) in SLIDERS.items()}
        self.species_input = pn.widgets.TextInput.from_param(self.param.species, name="Species (name or tag)")
        self.telescope_select = pn.widgets.Select.from_param(self.param.telescope, name="Telescope")
        self.excitation_select = pn.widgets.RadioButtonGroup.from_param(self.param.excitation, name="Excitation",
                                                                        button_type="default")
        self.geometry_select = pn.widgets.Select.from_param(self.param.geometry, name="Escape probability", width=160)
        self.partition_select = pn.widgets.Select.from_param(self.param.partition, name="Partition function Q(T)",
                                                             width=230, css_classes=["cl-model-partition"])
        self.param.watch(lambda *e: self._show_excitation(), ["excitation"])
        self.show_model = pn.widgets.Checkbox.from_param(view.param.show_model, name="Show the model")
        self.show_components = pn.widgets.Checkbox.from_param(view.param.show_components,
                                                              name="Each component's curve")
        self.table = ModelTable(self._on_table_action)
        self.download = pn.widgets.FileDownload(callback=self._model_json, filename="cassis_lite_model.json",
                                                label="Save model (JSON)", button_type="default", width=150)
        self.exports = ExportButtons(self, "model", self._model_and_config, "cassis_lite_model")
        self.upload = pn.widgets.FileInput(accept=".json,.ltm", multiple=False, width=230,
                                           css_classes=["cl-model-upload"])
        # the page may send the file's content and its name in either order: both are watched,
        # and a (name, content) pair is read once
        self.upload.param.watch(self._on_upload, ["value", "filename"])
        self._upload_read = None
        self.param.watch(self._push, ["species", "log_ntot", "tex_k", "fwhm_kms", "vlsr_kms", "size_arcsec",
                                      "telescope", "excitation", "tkin_k", "log_nh2", "geometry", "partition"])
        session.param.watch(lambda *e: self.pull(), ["model_config"])
        session.param.watch(lambda *e: self.exports.update(), ["model"])
        session.param.watch(lambda *e: self._show_model_error(), ["model_error"])
        self.api = {"setModel": self.set_model, "getModel": self.get_model, "radex": self.radex}
        self.pull()
        self._show_excitation()

    def __panel__(self):
        s = self.sliders
        return pn.Column(pn.Row(self.show_model, self.show_components), self.excitation_select, self.species_input,
                         s["log_ntot"], s["tex_k"], s["tkin_k"], s["log_nh2"], self.geometry_select,
                         s["fwhm_kms"], s["vlsr_kms"], s["size_arcsec"], self.telescope_select,
                         self.partition_select, self.message,
                         pn.pane.HTML("<b>Components x species</b> (the sliders set c1, species 1)",
                                      margin=(8, 5, 0, 5)),
                         self.table.panel, self.download, self.exports.panel,
                         pn.pane.HTML("Open a model: JSON (this app, <code>cassis-lite model</code>) or CASSIS .ltm",
                                      margin=(6, 5, 0, 5)), self.upload,
                         sizing_mode="stretch_width", name="model_card")

    # ------------------------------------------------------------------ config <-> params
    def _telescope_label(self, tel) -> str:
        d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in tel.to_dict().items() if v is not None}
        label = next((k for k, v in self.telescopes.items() if v == d), None)
        if label is None:
            label = "model: " + ", ".join(f"{k} {v}" for k, v in d.items())
            self.telescopes[label] = d
            self.param.telescope.objects = list(self.telescopes)
        return label

    def pull(self) -> None:
        """Show the session's model: sliders (widened where a value is beyond them), table."""
        cfg = self.session.model_config
        if cfg is None or not cfg.components or not cfg.components[0].species:
            return
        comp = cfg.components[0]
        values = {"species": str(comp.species[0].species), "log_ntot": math.log10(max(comp.species[0].ntot_cm2, 1.0)),
                  "fwhm_kms": comp.fwhm_kms, "vlsr_kms": comp.vlsr_kms,
                  "excitation": next(k for k, v in EXCITATION.items() if v == comp.model),
                  "partition": next(k for k, v in PARTITION.items() if v == cfg.partition)}
        if comp.model == "radex":
            values.update(tkin_k=comp.tkin_k, log_nh2=math.log10(max(h2_density(comp.density_cm3), 1e-30)),
                          geometry=comp.geometry)
        else:
            values["tex_k"] = comp.tex_k
        if comp.size_arcsec is not None:
            values["size_arcsec"] = comp.size_arcsec
        if cfg.telescope is not None:
            values["telescope"] = self._telescope_label(cfg.telescope)
        for name, v in values.items():
            slider = self.sliders.get(name)
            if slider is not None and not slider.start <= v <= slider.end:
                slider.param.update(start=min(slider.start, v), end=max(slider.end, v))
        changed = {k: v for k, v in values.items() if getattr(self, k) != v}
        if changed:
            self.param.update(**changed)
        self.table.sync(cfg.to_dict())

    def config_from_params(self) -> dict:
        """The session's model with component 1 / species 1 and the telescope from the params."""
        d = self.session.model_config.to_dict()
        d.pop("grid", None)
        d["telescope"] = dict(self.telescopes[self.telescope])
        d.pop("partition", None)
        if PARTITION[self.partition] != "refined":  # the default is left out, as ModelConfig.to_dict does
            d["partition"] = PARTITION[self.partition]
        comp = d["components"][0]
        comp.update(fwhm_kms=float(self.fwhm_kms), vlsr_kms=float(self.vlsr_kms), size_arcsec=float(self.size_arcsec))
        if EXCITATION[self.excitation] == "radex":
            density = dict(comp.get("density_cm3") or {})
            if abs(math.log10(max(h2_density(density), 1e-30)) - self.log_nh2) > 1e-12:
                density = scaled_h2_density(density, 10.0 ** self.log_nh2)
            comp.pop("tex_k", None)
            comp.update(model="radex", tkin_k=float(self.tkin_k), density_cm3=density, geometry=self.geometry)
        else:
            for key in ("model", "tkin_k", "density_cm3", "geometry"):
                comp.pop(key, None)
            comp["tex_k"] = float(self.tex_k)
        first = comp["species"][0]
        first["species"] = self.species.strip() or "CO"
        if abs(math.log10(max(first["ntot_cm2"], 1.0)) - self.log_ntot) > 1e-12:
            first["ntot_cm2"] = float(10.0 ** self.log_ntot)
        return d

    def _show_excitation(self) -> None:
        radex = EXCITATION[self.excitation] == "radex"
        self.sliders["tex_k"].visible = not radex
        for w in (self.sliders["tkin_k"], self.sliders["log_nh2"], self.geometry_select):
            w.visible = radex

    async def radex(self, options=None) -> dict:
        """``cassisLite.radex({species, tkin_k, density_cm3, ntot_cm2, fwhm_kms, tbg_k, geometry,
        fmin_mhz, fmax_mhz})``: what ``cassis-lite radex --format json`` prints (lists of T_kin,
        n(H2), N, FWHM make a grid)."""
        from cassis_lite.constants import T_CMB
        from cassis_lite.radex.report import radex_grid

        o = dict(options or {})
        unknown = sorted(set(o) - set(RADEX_OPTIONS))
        if unknown:
            raise ConfigError(f"unknown radex option {unknown[0]!r} (use {', '.join(RADEX_OPTIONS)})")
        for key in ("species", "tkin_k", "density_cm3", "ntot_cm2", "fwhm_kms"):
            if o.get(key) is None:
                raise ConfigError(f"radex needs {key}")
        data = self.session.db.collision_data(str(o["species"]))
        return radex_grid(data, o["tkin_k"], o["density_cm3"], o["ntot_cm2"], o["fwhm_kms"], o.get("tbg_k", T_CMB),
                          o.get("geometry", "sphere"), o.get("fmin_mhz"), o.get("fmax_mhz"))

    def _push(self, *events) -> None:
        if self.session.model_config is None:
            return
        self._apply(self.config_from_params())

    def _apply(self, d: dict) -> None:
        if d == self.session.model_config.to_dict() or self.session.spectrum is None:
            return
        try:
            self.session.set_model(d)
            self.clear_error()
        except CassisError as exc:
            self.show_error(f"Model: {exc}")
            self.pull()  # the sliders go back to the model in force

    def _on_table_action(self, action: tuple) -> None:
        if self.session.model_config is not None:
            self._apply(apply_action(self.session.model_config.to_dict(), action))

    def _show_model_error(self) -> None:
        if self.session.model_error:
            self.show_error(f"Model: {self.session.model_error}")

    # ------------------------------------------------------------------ files
    def _model_json(self):
        cfg = self.session.model_config
        text = json.dumps(cfg.to_dict() if cfg is not None else {}, indent=1)
        return io.BytesIO(text.encode())

    def _model_and_config(self):
        m = self.session.model
        return None if m is None else (m, self.session.model_config)

    def _on_upload(self, *events) -> None:
        data, name = self.upload.value, self.upload.filename or "model"
        if not data or (name, data) == self._upload_read:
            return
        self._upload_read = (name, data)
        try:
            text = bytes(data).decode("utf-8", errors="replace")
            # JSON is an object; anything else is read as CASSIS's key=value .ltm
            if not text.lstrip().startswith("{"):
                from cassis_lite.lte.ltm import read_ltm

                config = read_ltm(text, name)
            else:
                try:
                    config = json.loads(text)
                except ValueError as exc:
                    raise ConfigError(f"{name} is not valid JSON: {exc}") from None
            config.pop("grid", None)
            self.session.set_model(config, from_script=True)
            self.clear_error()
        except CassisError as exc:
            self.show_error(f"{name}: {exc}")

    # ------------------------------------------------------------------ scripting
    async def set_model(self, config) -> dict:
        """``cassisLite.setModel(config)``: the model JSON; in the spectrum's frame unless it
        gives ``vlsr_file_kms``."""
        if not isinstance(config, dict):
            raise ConfigError("the model must be a JSON object")
        model = self.session.set_model(config, from_script=True)
        return {"n_channels": int(model.freq_mhz.size) if model is not None else 0,
                "unit": model.unit if model is not None else None}

    async def get_model(self) -> dict | None:
        return self.session.model_dict()
