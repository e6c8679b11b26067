"""Spectra card: the open spectra, each shown or not in its colour; which one is active (the one
the model, the lines and the analyses work on); close one; undo the processing of the active one."""

from __future__ import annotations

import panel as pn

from cassis_lite.app.cards.base import Card, ExportButtons
from cassis_lite.app.text import esc


class SpectraCard(Card):
    title = "Spectra"

    def __init__(self, session, **params):
        super().__init__(**params)
        self.session = session
        self.rows = pn.Column(sizing_mode="stretch_width", css_classes=["cl-spectra-list"])
        self.undo = pn.widgets.Button(name="Undo the processing of the active spectrum", width=290, disabled=True)
        self.undo.on_click(lambda e: self.revert())
        self.history = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-processing"])
        self.exports = ExportButtons(self, "spectrum", lambda: session.spectrum, "spectrum")
        session.param.watch(lambda *e: self.refresh(), ["spectra", "spectrum"])
        self.refresh()

    def __panel__(self):
        return pn.Column(pn.pane.HTML("Open spectra (the active one is drawn in black on top):", margin=(4, 5, 0, 5)),
                         self.rows, self.history, self.undo, self.exports.panel, self.message,
                         sizing_mode="stretch_width",
                         name="spectra_card")

    def refresh(self) -> None:
        # the rows are made again only when what they show changes: another pixel of a cube
        # replaces its entry with one that looks the same (the buttons find entries by place)
        shown = tuple((e.spectrum.name[:40], e.visible, e.colour, e.spectrum is self.session.spectrum)
                      for e in self.session.spectra)
        if shown != getattr(self, "_shown", None):
            self._shown = shown
            self._make_rows()
        entry = self.session.entry_of(self.session.spectrum)
        steps = self.session.spectrum.meta.get("processing", []) if self.session.spectrum is not None else []
        self.undo.disabled = not steps
        self.history.object = ("processing: " + esc(", ".join(s.get("step", "?") for s in steps))) if steps else ""
        self._entry = entry
        sp = self.session.spectrum
        self.exports.update(None if sp is None else sp.name.rsplit(".", 1)[0])

    def _at(self, i: int):
        return self.session.spectra[i] if i < len(self.session.spectra) else None

    def _activate(self, i: int) -> None:
        entry = self._at(i)
        if entry is not None:
            self.session.activate(entry.spectrum)

    def _close(self, i: int) -> None:
        entry = self._at(i)
        if entry is not None:
            self.session.close(entry)

    def _make_rows(self) -> None:
        rows = []
        for i, entry in enumerate(self.session.spectra):
            active = entry.spectrum is self.session.spectrum
            pick = pn.widgets.Button(name=("\u25cf " if active else "") + entry.spectrum.name[:40],
                                     sizing_mode="stretch_width", min_width=110,
                                     button_type="primary" if active else "default",
                                     description="make it the active spectrum")
            pick.on_click(lambda e, i=i: self._activate(i))
            show = pn.widgets.Checkbox(name="shown", value=entry.visible, disabled=active, width=62)
            show.param.watch(lambda e, i=i: self._set_visible(self._at(i), e.new), "value")
            colour = pn.widgets.ColorPicker(value=entry.colour, width=36, disabled=active)
            colour.param.watch(lambda e, i=i: self._set_colour(self._at(i), e.new), "value")
            close = pn.widgets.Button(name="\u00d7", width=30, description="close this spectrum")
            close.on_click(lambda e, i=i: self._close(i))
            rows.append(pn.Row(pick, show, colour, close, sizing_mode="stretch_width"))
        self.rows.objects = rows

    def _set_visible(self, entry, value) -> None:
        if entry is None:
            return
        entry.visible = bool(value)
        self.session.param.trigger("spectra")

    def _set_colour(self, entry, value) -> None:
        if entry is None:
            return
        entry.colour = value
        self.session.param.trigger("spectra")

    def revert(self) -> None:
        entry = self.session.entry_of(self.session.spectrum)
        if entry is not None and entry.original is not entry.spectrum:
            self.session.replace_active(entry.original)
