"""The model card's components x species table (Panel widgets, no physics).

Each component has T_ex, FWHM, v_lsr and size, an "enabled" and an "interacting" switch; each of
its species a name and log10 N. Buttons add or remove a component or a species. Edits are
reported to the owner as small actions (``("set", ci, None, "tex_k", 80.0)``,
``("add_species", ci)``...) that :func:`apply_action` applies to a model config dict (the
``cassis-lite model --config`` schema); the owner computes the model and calls
:meth:`ModelTable.sync` with the config now in force. An action that changes nothing (a widget
showing the value it was given) returns the config unchanged, so showing a config never edits it.
"""

from __future__ import annotations

import copy
import math

import panel as pn

from cassis_lite.app.text import esc

COMPONENT_FIELDS = (("tex_k", "T_ex (K)", 2.8), ("fwhm_kms", "FWHM (km/s)", 0.01),
                    ("vlsr_kms", "v_lsr (km/s)", None), ("size_arcsec", "size (\")", 0.01))
SWITCHES = (("enabled", "enabled"), ("interacting", "interacting"))
NEW_SPECIES = {"species": "CO", "ntot_cm2": 1e15}
LOG_DECIMALS = 6


def shown_log_ntot(ntot_cm2: float) -> float:
    """log10 N as the table shows it."""
    return round(math.log10(ntot_cm2), LOG_DECIMALS) if ntot_cm2 > 0 else -math.inf


def apply_action(cfg: dict, action: tuple) -> dict:
    """A copy of ``cfg`` with one table edit applied (at least one component and species stay)."""
    cfg = copy.deepcopy(cfg)
    comps = cfg["components"]
    kind = action[0]
    if kind == "set":
        _, ci, si, key, value = action
        if si is None:
            comps[ci][key] = value
        elif key == "log_ntot":
            current = comps[ci]["species"][si]["ntot_cm2"]
            if shown_log_ntot(current) != value:  # else: the widget shows the value it was given
                comps[ci]["species"][si]["ntot_cm2"] = 10.0 ** float(value)
        else:
            comps[ci]["species"][si][key] = value
    elif kind == "add_component":
        new = copy.deepcopy(comps[-1])
        names = {c.get("name") for c in comps}
        n = len(comps) + 1
        while f"c{n}" in names:
            n += 1
        new["name"] = f"c{n}"
        comps.append(new)
    elif kind == "remove_component" and len(comps) > 1:
        comps.pop(action[1])
    elif kind == "add_species":
        comps[action[1]]["species"].append(dict(NEW_SPECIES))
    elif kind == "remove_species" and len(comps[action[1]]["species"]) > 1:
        comps[action[1]]["species"].pop(action[2])
    return cfg


class ModelTable:
    """Widgets for every component and species of a model config."""

    def __init__(self, on_action):
        self.on_action = on_action
        self.add_component = pn.widgets.Button(name="+ component", width=110, css_classes=["cl-add-component"])
        self.add_component.on_click(lambda e: self.on_action(("add_component",)))
        self.rows = pn.Column(sizing_mode="stretch_width")
        self.panel = pn.Column(self.rows, self.add_component, sizing_mode="stretch_width",
                               css_classes=["cl-model-table"])
        self._shape = None
        self._widgets: dict[tuple, object] = {}

    def _watch(self, widget, key, convert=lambda v: v):
        widget.param.watch(lambda e: None if e.new is None or e.new == "" else
                           self.on_action(("set",) + key + (convert(e.new),)), "value")
        self._widgets[key] = widget
        return widget

    @staticmethod
    def _fields(comp: dict):
        """The component's fields: T_kin instead of T_ex for a non-LTE (RADEX) component."""
        if comp.get("model") == "radex":
            return (("tkin_k", "T_kin (K)", 0.1),) + COMPONENT_FIELDS[1:]
        return COMPONENT_FIELDS

    def _build(self, cfg: dict):
        self._widgets = {}
        cards = []
        n_comps = len(cfg["components"])
        for ci, comp in enumerate(cfg["components"]):
            name = comp.get("name") or f"c{ci + 1}"
            fields = [self._watch(pn.widgets.FloatInput(name=f"{name}: {label}", value=comp.get(key), start=start,
                                                        width=140, margin=(2, 3)), (ci, None, key))
                      for key, label, start in self._fields(comp)]
            switches = [self._watch(pn.widgets.Checkbox(name=label, value=bool(comp.get(key, key == "enabled")),
                                                        margin=(2, 6)), (ci, None, key), bool)
                        for key, label in SWITCHES]
            rows = [pn.Row(*fields[:2]), pn.Row(*fields[2:]), pn.Row(*switches)]
            for si, sp in enumerate(comp["species"]):
                sw = self._watch(pn.widgets.TextInput(name=f"{name}: species {si + 1}", value=str(sp["species"]),
                                                      width=140, margin=(2, 3)), (ci, si, "species"),
                                 lambda v: v.strip() or "CO")
                nw = self._watch(pn.widgets.FloatInput(name=f"{name}: log10 N {si + 1}",
                                                       value=shown_log_ntot(sp["ntot_cm2"]), width=100, margin=(2, 3)),
                                 (ci, si, "log_ntot"))
                rm = pn.widgets.Button(name="\u2212", width=32, align="end", margin=(2, 3),
                                       description=f"remove species {si + 1} of {name}",
                                       disabled=len(comp["species"]) == 1)
                rm.on_click(lambda e, c=ci, s=si: self.on_action(("remove_species", c, s)))
                rows.append(pn.Row(sw, nw, rm))
            add = pn.widgets.Button(name=f"+ species ({name})", width=130, margin=(2, 3))
            add.on_click(lambda e, c=ci: self.on_action(("add_species", c)))
            rm = pn.widgets.Button(name=f"\u2212 {name}", width=60, margin=(2, 3), disabled=n_comps == 1)
            rm.on_click(lambda e, c=ci: self.on_action(("remove_component", c)))
            rows.append(pn.Row(add, rm))
            kind = " (non-LTE, RADEX: n and the geometry in its JSON)" if comp.get("model") == "radex" else ""
            cards.append(pn.Column(pn.pane.HTML(f"<b>Component {esc(name)}</b>{kind}", margin=(0, 5)), *rows,
                                   sizing_mode="stretch_width", css_classes=["cl-component"]))
        self.rows.objects = cards

    def sync(self, cfg: dict | None):
        """Show ``cfg``: rebuild when components or species were added or removed, else only
        update the values that changed (each resulting action is a no-op)."""
        if cfg is None or not cfg.get("components"):
            return
        shape = tuple((c.get("name"), c.get("model", "lte"), len(c["species"])) for c in cfg["components"])
        if shape != self._shape:
            self._shape = shape
            self._build(cfg)
            return
        for ci, comp in enumerate(cfg["components"]):
            for key, *_ in self._fields(comp):
                self._set(self._widgets[(ci, None, key)], comp.get(key))
            for key, _ in SWITCHES:
                self._set(self._widgets[(ci, None, key)], bool(comp.get(key, key == "enabled")))
            for si, sp in enumerate(comp["species"]):
                self._set(self._widgets[(ci, si, "species")], str(sp["species"]))
                self._set(self._widgets[(ci, si, "log_ntot")], shown_log_ntot(sp["ntot_cm2"]))

    @staticmethod
    def _set(widget, value):
        if widget.value != value:
            widget.value = value
