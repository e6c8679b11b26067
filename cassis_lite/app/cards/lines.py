"""Lines card: the line filter (applied as the user types), the clicked transition, the table."""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import DataTable, NumberFormatter, ScientificFormatter, TableColumn

from cassis_lite.app.cards.base import Card, ExportButtons, number_or_none
from cassis_lite.app.runtime import Debouncer
from cassis_lite.app.text import citations_html, esc
from cassis_lite.errors import CassisError


class LinesCard(Card):
    """Filters of the overlaid transitions, and what the user clicked."""

    title = "Lines"
    species = param.String(default="", doc="comma-separated names, tags or formulas; empty: all")
    eup_max_k = param.Number(default=None, allow_None=True, bounds=(0, None))
    aij_min = param.Number(default=None, allow_None=True, bounds=(0, None))

    def __init__(self, session, view, plot, **params):
        super().__init__(**params)
        self.session, self.view, self.plot = session, view, plot
        #: the site's address (browser: db/full.db is beside it) or a full catalogue's path (CPython)
        self.site_base, self.full_db_path = "", None
        self._databases = None  # cassis_lite.app.databases.Databases, made on first use (after ready)
        self.database_select = pn.widgets.Select(name="Line database", options={"bundled": "bundled"},
                                                 value="bundled", sizing_mode="stretch_width")
        self.database_select.param.watch(lambda e: self._on_database(e.new), "value")
        self.database_note = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-database-note"])
        session.param.watch(lambda e: self._database_changed(), ["database"])
        self.species_input = pn.widgets.TextInput(name="Species (comma separated, empty = all)",
                                                  placeholder="CO, HCN, 32504 ...", sizing_mode="stretch_width")
        self.eup_input = pn.widgets.FloatInput(name="E_up max (K)", value=None, start=0.0, width=120)
        self.aij_input = pn.widgets.FloatInput(name="A_ij min (s^-1)", value=None, start=0.0, width=120)
        self._debounce = Debouncer(self._apply)
        self._showing = False
        self.species_input.param.watch(lambda *e: self._typed(), "value_input")
        self.species_input.param.watch(lambda *e: self._typed(now=True), "value")
        for w in (self.eup_input, self.aij_input):
            w.param.watch(lambda *e: self._typed(now=True), "value")
        self.transition = pn.pane.HTML("Click a line marker (or a row of the table) to see its transition.",
                                       sizing_mode="stretch_width", css_classes=["cl-transition"])
        self.zoom_button = pn.widgets.Button(name="Zoom to the line", width=125, disabled=True)
        self.reference_button = pn.widgets.Button(name="Velocities about it", width=145, disabled=True,
                                                  description="the velocity axis about this line's rest frequency")
        self.zoom_button.on_click(lambda e: self.zoom_to_selected())
        self.reference_button.on_click(lambda e: self.use_as_reference())
        self.count = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-line-count"])
        #: how to cite the databases of the lines drawn (LineDatabase.citations)
        self.citations = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-line-citations"])
        self.table = DataTable(source=plot.lines_source, sizing_mode="stretch_width", height=230, index_position=None,
                               columns=[TableColumn(field="species", title="Species"),
                                        TableColumn(field="freq_mhz", title="Rest frequency (MHz)",
                                                    formatter=NumberFormatter(format="0.0000")),
                                        TableColumn(field="qn", title="Quantum numbers"),
                                        TableColumn(field="eup_k", title="E_up (K)",
                                                    formatter=NumberFormatter(format="0.00")),
                                        TableColumn(field="aij", title="A_ij (s^-1)",
                                                    formatter=ScientificFormatter(precision=3)),
                                        TableColumn(field="gup", title="g_up", formatter=NumberFormatter(format="0"))],
                               name="line_table")
        plot.lines_source.selected.on_change("indices", self._on_select)
        self._selected = None
        self._exported = None  # the transitions of the last line table exported
        self.exports = ExportButtons(self, "lines", self._lines_to_export, "cassis_lite_lines",
                                     available=lambda: session.spectrum is not None)
        session.param.watch(lambda *e: self.exports.update(), ["spectrum"])
        self.extra = pn.Column(sizing_mode="stretch_width")  # the line lists' panel, once the app is ready
        self.api = {"getLines": self.get_lines, "useDatabase": self.use_database}

    def __panel__(self):
        return pn.Column(self.database_select, self.database_note, self.species_input,
                         pn.Row(self.eup_input, self.aij_input), self.message, self.count, self.citations,
                         self.transition, pn.Row(self.zoom_button, self.reference_button), self.exports.panel,
                         self.extra, sizing_mode="stretch_width", name="lines_card")

    def _lines_to_export(self):
        """The transitions the filters select in the active spectrum's windows (all of them, not
        only the labels drawn)."""
        if self.session.spectrum is None:
            return None
        t = self.session.lines()
        self._exported = t
        return t

    def exported_row(self, line: dict) -> int | None:
        """The row of ``line`` (species, freq_mhz, qn) in the line table exported last (what a
        SAMP ``table.highlight.row`` names), None if it is not in it."""
        t = self._exported
        if t is None:
            return None
        hits = np.flatnonzero((t.freq_mhz == line["freq_mhz"]) & (t.species_names == line["species"])
                              & (t.qn == line["qn"]))
        return int(hits[0]) if hits.size else None

    # ------------------------------------------------------------------ filters
    def _typed(self, now: bool = False) -> None:
        if self._showing:  # the widgets are being set from the session's filters: nothing was typed
            return
        if now:
            self._apply()
        else:
            self._debounce.trigger()

    def _apply(self) -> None:
        text = self.species_input.value_input if self.species_input.value_input is not None else \
            self.species_input.value
        filters = {"species": text or None, "eup_max_k": number_or_none(self.eup_input.value),
                   "aij_min": number_or_none(self.aij_input.value)}
        try:
            self.session.set_filters(filters)
        except CassisError as exc:
            self.show_error(f"Lines: {exc}")
            return
        self.clear_error()

    def show_filters(self) -> None:
        """The widgets show the session's filters (after a script or a URL parameter set them)."""
        f = self.session.filters
        text = ", ".join(f.species or [])
        self._showing = True
        try:
            if self.species_input.value != text or self.species_input.value_input != text:
                self.species_input.param.update(value=text, value_input=text)
            for w, v in ((self.eup_input, f.eup_max_k), (self.aij_input, f.aij_min)):
                if w.value != v:
                    w.value = v
        finally:
            self._showing = False

    def show_count(self) -> None:
        n = len(self.plot.lines_source.data["x"])
        self.count.object = (f"{n} transitions in the spectrum's windows" if n < 5000 else
                             "the first 5000 transitions are shown: narrow the filter")
        sources = list(dict.fromkeys(self.plot.lines_source.data.get("source", [])))
        self.citations.object = citations_html(self.session.db.citations(sources) if sources else [])
        self.clear_selection()

    # ------------------------------------------------------------------ selection
    def clear_selection(self) -> None:
        self._selected = None
        self.transition.object = "Click a line marker (or a row of the table) to see its transition."
        self.zoom_button.disabled = self.reference_button.disabled = True

    def _on_select(self, attr, old, new) -> None:
        if not new:
            return
        d = self.plot.lines_source.data
        i = new[0]
        if i >= len(d["freq_mhz"]):
            return
        self._selected = {k: d[k][i] for k in ("species", "qn", "freq_mhz", "aij", "eup_k", "gup", "x")}
        s = self._selected
        self.transition.object = (f"<b>{esc(s['species'])}</b> {esc(s['qn'])}<br>rest frequency "
                                  f"{s['freq_mhz']:.4f} MHz, A_ij {s['aij']:.3e} s^-1, E_up {s['eup_k']:.2f} K, "
                                  f"g_up {s['gup']:g}")
        self.zoom_button.disabled = self.reference_button.disabled = False

    def zoom_to_selected(self, half_width_kms: float = 30.0) -> None:
        """Zoom to the selected line: +-30 km/s around where the markers put it."""
        if self._selected is None:
            return
        f = float(self.plot.from_x(np.array([self._selected["x"]]))[0])
        d = f * half_width_kms / 299792.458
        self.plot.set_range(f - d, f + d, pad=0.0)
        self.plot.draw_curves()
        self.plot._draw_labels()

    def use_as_reference(self) -> None:
        if self._selected is not None:
            self.view.param.update(rest_freq_mhz=float(self._selected["freq_mhz"]),
                                   rest_label=f"{self._selected['species']} {self._selected['qn']}")

    # ------------------------------------------------------------------ database
    @property
    def databases(self):
        """The databases of the session (:mod:`cassis_lite.app.databases`, imported on first use)."""
        if self._databases is None:
            from cassis_lite.app.databases import FULL_URL, Databases
            from cassis_lite.app.runtime import IN_PYODIDE

            full = FULL_URL if IN_PYODIDE else self.full_db_path
            self._databases = Databases(self.session, full=full, base_url=self.site_base)
            self._databases.check_full()
        return self._databases

    async def probe_databases(self) -> None:
        """After the first screen: which databases the site offers (the selector's choices)."""
        await self.databases.probe_full()
        self.show_databases()

    def show_databases(self) -> None:
        dbs = self.databases
        options = {(dbs.entries[n].label() if n in dbs.entries else {"full": "full catalogue"}.get(n, n)): n
                   for n in dbs.available()}
        self._showing = True
        try:
            self.database_select.param.update(options=options, value=self.session.database)
        finally:
            self._showing = False
        notes = []
        if dbs.full is not None and dbs.full_problem:
            notes.append(f"Full catalogue: {dbs.full_problem}.")
        notes.append("Your own line database: 'open a line database' above the plot, or drop a .db file on the "
                     "page (read in place: not uploaded, not read whole).")
        self.database_note.object = "<br>".join(esc(n) for n in notes)

    def _on_database(self, name) -> None:
        if self._showing or name == self.session.database:
            return
        try:
            notes = self.choose_database(name)
        except CassisError as exc:
            self.show_error(f"Line database: {exc}")
            self.show_databases()  # the selector goes back to the database in use
            return
        if notes:
            self.show_error("Line database: " + "; ".join(notes))

    def choose_database(self, name, file=None, file_name=None, options=None, reopen=False) -> list[str]:
        """Use database ``name`` (bundled, full, file); the previous one stays on error."""
        self.clear_error()
        before = self.session.filters
        self.databases.use(name, file, file_name, options, reopen=reopen)
        self.show_databases()
        after = self.session.filters
        return [] if after == before else [f"the species filter {', '.join(before.species or [])} was cleared "
                                           "(not in this database)"]

    def _database_changed(self) -> None:
        if self.session.spectrum is not None:
            self.plot.draw_lines()
            self.show_count()

    # ------------------------------------------------------------------ scripting
    async def use_database(self, name="bundled", options=None, file_name=None, data=None) -> dict:
        """``cassisLite.useDatabase("bundled" | "full" | file[, {chunk_kb, readahead, cache_mb,
        reopen}])``: the lines, the model and the analyses then come from that database. A file
        (the page passes the File itself) is read in place. Answers ``getState().database``."""
        o = dict(options or {})
        reopen = bool(o.pop("reopen", False))
        try:
            notes = self.choose_database(name, data, file_name, o, reopen=reopen)
        except CassisError as exc:
            self.show_error(f"Line database: {exc}")
            raise
        if notes:
            self.show_error("Line database: " + "; ".join(notes))
        return {**self.databases.describe(), "notes": notes}

    async def get_lines(self, filters=None) -> list:
        """``cassisLite.getLines({fmin_mhz, fmax_mhz, species, eup_max_k, aij_min, database})``:
        from the database in use, or the one named (bundled, full, file)."""
        from cassis_lite.errors import DatabaseError

        f = dict(filters or {})
        name = f.pop("database", None)
        db = None if name is None or name == self.session.database else self.databases.database(name)
        try:
            return self.session.lines(f, db=db).to_records()
        except DatabaseError as exc:  # a lazily read file that could not be read (offline...)
            raise (self.databases.explain(exc, name) if self._databases is not None else exc) from None
