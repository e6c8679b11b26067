"""Line search card, the way Splatalogue users expect: a frequency (or wavelength) range, rest or
observed (v_lsr, z), species by name, formula fragment or tag with their isotopologues and states
listed, E_up / A_ij / S mu^2 / 300 K intensity filters, source lists, a sortable table, CSV /
VOTable / FITS export, each line's source list and the citations, a row shown in the plot.

The query is :func:`cassis_lite.linedb.search.search_lines` (the same as ``cassis-lite lines``),
on the line database in use (the Lines card's selector) or the one a script names. Added after
the first screen (the site's after-ready bundle)."""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, DataTable, NumberFormatter, ScientificFormatter, Span, TableColumn

from cassis_lite.app.cards.base import Card, ExportButtons, number_or_none
from cassis_lite.app.runtime import Debouncer
from cassis_lite.app.text import citations_html, esc
from cassis_lite.constants import C_LIGHT_KMS
from cassis_lite.errors import CassisError
from cassis_lite.linedb.search import SORT_COLUMNS, search_lines, species_variants
from cassis_lite.units import observed_freq

#: units the range may be given in (the wavelength ones for an optical/IR axis)
RANGE_UNITS = ("MHz", "GHz", "mm", "um", "nm", "A")
#: at most this many rows in the table (the export has them all)
MAX_ROWS = 5000
#: the table's columns: (field, title, formatter, width in px); the table scrolls sideways
COLUMNS = (("species", "Species", None, 95), ("freq_mhz", "Rest freq. (MHz)", NumberFormatter(format="0.0000"), 100),
           ("freq_obs_mhz", "Obs. freq. (MHz)", NumberFormatter(format="0.0000"), 100),
           ("eup_k", "E_up (K)", NumberFormatter(format="0.00"), 65),
           ("aij", "A_ij (s^-1)", ScientificFormatter(precision=3), 75),
           ("smu2_d2", "S mu^2 (D^2)", NumberFormatter(format="0.000"), 80),
           ("lgint300", "log I(300 K)", NumberFormatter(format="0.000"), 75), ("qn", "QNs", None, 110),
           ("source", "List", None, 130))
#: rows of widgets wrap on a narrow card; the source lists' check boxes too
WRAP_CSS = ":host { flex-wrap: wrap !important; min-width: 0 !important; }"
BOXES_CSS = ".bk-input-group { flex-wrap: wrap; column-gap: 10px; }"


class LineSearchCard(Card):
    """A Splatalogue-like search of the line database (module docstring)."""

    title = "Line search"
    fmin = param.Number(default=None, allow_None=True, doc="low end of the range, in ``unit``")
    fmax = param.Number(default=None, allow_None=True)
    unit = param.Selector(default="GHz", objects=list(RANGE_UNITS))
    frame = param.Selector(default="rest", objects=["rest", "observed"])
    vlsr_kms = param.Number(default=0.0)
    redshift = param.Number(default=0.0, bounds=(-0.99, None))
    species_text = param.String(default="", doc="name, formula fragment or tag")
    variants = param.List(default=[], item_type=str, doc="the variants picked (none: all those listed)")
    eup_max_k = param.Number(default=None, allow_None=True, bounds=(0, None))
    aij_min = param.Number(default=None, allow_None=True, bounds=(0, None))
    smu2_min = param.Number(default=None, allow_None=True, bounds=(0, None))
    lgint_min = param.Number(default=None, allow_None=True)
    sources = param.List(default=[], item_type=str, doc="source lists (none: all)")

    def __init__(self, session, view, plot, lines_card=None, window_select=None, **params):
        super().__init__(**params)
        self.session, self.view, self.plot, self.lines_card = session, view, plot, lines_card
        self.window_select = window_select  # the top bar's window choice (a row's line may be in another)
        self._result = None
        w = pn.widgets
        self.plot_range_button = w.Button(name="Plot's range", width=90, align="end",
                                          description="the range the plot shows, observed at its v_lsr and z")
        self.plot_range_button.on_click(lambda e: self.use_plot_range())
        self.range_inputs = pn.Row(
            w.FloatInput.from_param(self.param.fmin, name="from", width=95),
            w.FloatInput.from_param(self.param.fmax, name="to", width=95),
            w.Select.from_param(self.param.unit, name="unit", width=65), self.plot_range_button,
            css_classes=["cl-search-range"], stylesheets=[WRAP_CSS], sizing_mode="stretch_width")
        self.frame_inputs = pn.Row(
            w.RadioButtonGroup.from_param(self.param.frame, name="frame", width=125, align="end"),
            w.FloatInput.from_param(self.param.vlsr_kms, name="source v_lsr (km/s)", step=1.0, width=110),
            w.FloatInput.from_param(self.param.redshift, name="source z", step=0.001, width=70),
            css_classes=["cl-search-frame"], stylesheets=[WRAP_CSS])
        self.species_input = w.TextInput(name="Species: name, formula fragment or tag",
                                         placeholder="CH3CN, NH3, 41505 ...", sizing_mode="stretch_width",
                                         css_classes=["cl-search-species"])
        self.species_input.param.watch(lambda e: self._debounce.trigger(), "value_input")
        self.species_input.param.watch(lambda e: self._typed(), "value")
        self._debounce = Debouncer(self._typed)
        self.variant_select = w.MultiSelect(name="Variants (none picked: all listed)", options=[], size=6,
                                            sizing_mode="stretch_width", css_classes=["cl-search-variants"])
        self.variant_select.param.watch(lambda e: setattr(self, "variants", list(e.new)), "value")
        self.filter_inputs = pn.Row(
            w.FloatInput.from_param(self.param.eup_max_k, name="E_up max (K)", width=110),
            w.FloatInput.from_param(self.param.aij_min, name="A_ij min (s^-1)", width=110),
            w.FloatInput.from_param(self.param.smu2_min, name="S mu^2 min (D^2)", width=110),
            w.FloatInput.from_param(self.param.lgint_min, name="log I(300 K) min", width=110),
            css_classes=["cl-search-filters"], stylesheets=[WRAP_CSS])
        self.source_boxes = w.CheckBoxGroup(name="Lists", options=[], inline=True, css_classes=["cl-search-sources"],
                                            sizing_mode="stretch_width", stylesheets=[BOXES_CSS])
        self.source_boxes.param.watch(lambda e: setattr(self, "sources", list(e.new)), "value")
        self.search_button = w.Button(name="Search", button_type="primary", width=100)
        self.on_click(self.search_button, self._search_clicked)
        self.count = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-search-count"])
        self.source = ColumnDataSource({c[0]: [] for c in COLUMNS}, name="line_search_source")
        self.table = DataTable(source=self.source, sortable=True, index_position=None, height=260,
                               sizing_mode="stretch_width", name="line_search_table", fit_columns=False,
                               columns=[TableColumn(field=f, title=t, width=wd, **({"formatter": fm} if fm else {}))
                                        for f, t, fm, wd in COLUMNS])
        self.source.selected.on_change("indices", self._on_select)
        self.line_info = pn.pane.HTML("Click a row to see the line in the plot.", sizing_mode="stretch_width",
                                      css_classes=["cl-search-line"])
        self.citations = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-search-citations"])
        self.exports = ExportButtons(self, "lines", lambda: None if self._result is None else self._result.transitions,
                                     "cassis_lite_line_search")
        self.exports.panel.css_classes = [*self.exports.panel.css_classes, "cl-search-export"]
        #: where the clicked row's line is in the plot
        self.marker = Span(location=0, dimension="height", line_color="#e07b00", line_width=2, line_dash="dashed",
                           visible=False, name="line_search_marker")
        plot.plot.add_layout(self.marker)
        session.param.watch(lambda e: self._database_changed(), ["database"])
        self._show_sources()
        self.api = {"searchLines": self.search_lines, "lineSearchVariants": self.list_variants}

    def __panel__(self):
        return pn.Column(self.range_inputs, self.frame_inputs, self.species_input,
                         self.variant_select, self.filter_inputs, pn.pane.HTML("Lists:", margin=(0, 5)),
                         self.source_boxes, self.search_button, self.message, self.count,
                         pn.pane.Bokeh(self.table, sizing_mode="stretch_width", css_classes=["cl-search-table"]),
                         self.line_info, self.exports.panel,
                         self.citations, sizing_mode="stretch_width", name="line_search_card")

    # ------------------------------------------------------------------ the database
    def _db(self, name=None):
        if name is None or self.lines_card is None or name == self.session.database:
            return self.session.db
        return self.lines_card.databases.database(name)

    def _show_sources(self) -> None:
        names = sorted({c["database"] for c in self.session.db.citations()} - {"CDMS-partfunc"})
        keep = [s for s in self.source_boxes.value if s in names]
        self.source_boxes.param.update(options=names, value=keep)

    def _database_changed(self) -> None:
        self._show_sources()
        self._typed()

    # ------------------------------------------------------------------ species
    def _typed(self) -> None:
        text = self.species_input.value_input if self.species_input.value_input is not None else \
            self.species_input.value
        self.species_text = text or ""
        self._list_variants(self.session.db)

    def _list_variants(self, db) -> list[str]:
        names = [s.name for s in species_variants(db, self.species_text)]
        keep = [v for v in self.variants if v in names]
        self.variant_select.param.update(options=names, value=keep)
        self.variants = keep
        return names

    async def list_variants(self, text="", database=None) -> list[str]:
        """``cassisLite.lineSearchVariants(text)``: the species a search text lists (names)."""
        self.species_input.param.update(value=str(text or ""), value_input=str(text or ""))
        self.species_text = str(text or "")
        return self._list_variants(self._db(database))

    # ------------------------------------------------------------------ the search
    def use_plot_range(self) -> None:
        """The range the plot shows, observed: v_lsr and z of the line markers."""
        sp = self.session.spectrum
        if sp is None:
            self.show_error("Line search: open a spectrum first (or type a range)")
            return
        f = np.sort(self.plot.from_x(np.array([self.plot.x_range.start, self.plot.x_range.end], dtype=float)))
        unit = self.unit if self.unit in ("MHz", "GHz") else "GHz"
        scale = 1.0 if unit == "MHz" else 1e-3
        self.param.update(fmin=round(float(f[0]) * scale, 6), fmax=round(float(f[1]) * scale, 6), unit=unit,
                          frame="observed", vlsr_kms=float(self.view.vlsr_kms or 0.0) - float(sp.vlsr_kms or 0.0),
                          redshift=float(self.view.redshift or 0.0))

    def query(self) -> dict:
        """The card's search as options of :func:`search_lines` (what the widgets say)."""
        if self.variants:
            species = list(self.variants)
        elif self.species_text.strip():
            species = list(self.variant_select.options) or [self.species_text.strip()]
        else:
            species = None
        return {"fmin": self.fmin, "fmax": self.fmax, "unit": self.unit, "frame": self.frame,
                "vlsr_kms": number_or_none(self.vlsr_kms) or 0.0, "redshift": number_or_none(self.redshift) or 0.0,
                "species": species, "eup_max_k": number_or_none(self.eup_max_k),
                "aij_min": number_or_none(self.aij_min), "smu2_min": number_or_none(self.smu2_min),
                "lgint_min": number_or_none(self.lgint_min), "source": list(self.sources) or None}

    async def _search_clicked(self):
        self.run_search()

    def run_search(self, db=None, sort=None, descending=False):
        if self.fmin is None or self.fmax is None:
            raise CassisError("Line search: give the range (from, to), or take the plot's range")
        q = self.query()
        try:
            found = search_lines(db or self.session.db, sort=sort, descending=descending, **q)
        except CassisError as exc:
            raise CassisError(f"Line search: {exc}") from None
        self._show(found)
        return found

    def _show(self, found) -> None:
        self._result = found
        shown = found[:MAX_ROWS]
        t = shown.transitions
        self.source.selected.indices = []
        self.source.data = {"species": [str(s) for s in t.species_names], "freq_mhz": t.freq_mhz,
                            "freq_obs_mhz": shown.freq_obs_mhz, "qn": [str(q) for q in t.qn], "eup_k": t.eup_k,
                            "aij": t.aij, "smu2_d2": shown.smu2_d2, "lgint300": shown.lgint300,
                            "source": [str(s) for s in t.sources]}
        q = found.query
        extra = f" (the first {MAX_ROWS} shown; the export has all)" if len(found) > MAX_ROWS else ""
        self.count.object = esc(f"{len(found)} lines, rest {q['rest_fmin_mhz']:.4f}-{q['rest_fmax_mhz']:.4f} MHz"
                                f"{extra}")
        self.citations.object = citations_html(found.citations)
        self.line_info.object = "Click a row to see the line in the plot."
        self.marker.visible = False
        self.exports.update()

    async def search_lines(self, options=None) -> list:
        """``cassisLite.searchLines({fmin, fmax, unit, frame, vlsr_kms, z, species, eup_max_k,
        aij_min, smu2_min, lgint_min, source, sort, descending, database})``: the rows of the
        search (``cassis-lite lines --format json`` rows plus ``freq_obs_mhz``, ``smu2_d2``,
        ``lgint300``, ``citation``); the card shows it. ``species``: a text (its variants are
        searched, as in the card) or a list of names."""
        o = dict(options or {})
        db = self._db(o.pop("database", None))
        sort, descending = o.pop("sort", None), bool(o.pop("descending", False))
        if sort is not None and sort not in SORT_COLUMNS:
            raise CassisError(f"Line search: cannot sort by {sort!r}: {', '.join(SORT_COLUMNS)}")
        if "z" in o:
            o["redshift"] = o.pop("z")
        sp = o.pop("species", None)
        src = o.pop("source", o.pop("sources", None))
        unknown = sorted(set(o) - {"fmin", "fmax", "unit", "frame", "vlsr_kms", "redshift", "eup_max_k", "aij_min",
                                   "smu2_min", "lgint_min"})
        if unknown:
            raise CassisError(f"Line search: unknown option {unknown[0]!r}")
        try:
            self.param.update(**o, sources=[src] if isinstance(src, str) else list(src or []))
        except (ValueError, TypeError) as exc:
            raise CassisError(f"Line search: {exc}") from None
        if isinstance(sp, (list, tuple)):
            self.species_input.param.update(value="", value_input="")
            self.species_text = ""
            self.variant_select.param.update(options=[str(s) for s in sp], value=[str(s) for s in sp])
            self.variants = [str(s) for s in sp]
        else:
            self.variants = []
            self.species_input.param.update(value=str(sp or ""), value_input=str(sp or ""))
            self.species_text = str(sp or "")
            self._list_variants(db)
        self.clear_error()
        try:
            found = self.run_search(db, sort, descending)
        except CassisError as exc:
            self.show_error(str(exc))
            raise
        return found.to_records()

    # ------------------------------------------------------------------ a row in the plot
    def _show_window_of(self, sp, f: float) -> None:
        """The plot shows one spectral window and ``f`` is in another: that one is chosen."""
        from cassis_lite.spectrum import window_slices

        wins = window_slices(sp.freq_mhz)
        if self.window_select is None or self.view.window < 0 or len(wins) < 2:
            return
        inside = [i for i, w in enumerate(wins) if sp.freq_mhz[w].min() <= f <= sp.freq_mhz[w].max()]
        if inside and inside[0] != self.view.window:
            self.window_select.value = self.window_select.options[inside[0] + 1]

    def _on_select(self, attr, old, new) -> None:
        if not new or self._result is None or new[0] >= len(self.source.data["freq_mhz"]):
            return
        i = new[0]
        d = self.source.data
        species, qn, rest = d["species"][i], d["qn"][i], float(d["freq_mhz"][i])
        text = (f"<b>{esc(species)}</b> {esc(qn)}: rest {rest:.4f} MHz, observed {float(d['freq_obs_mhz'][i]):.4f} "
                f"MHz; E_up {float(d['eup_k'][i]):.2f} K, A_ij {float(d['aij'][i]):.3e} s^-1 ({esc(d['source'][i])})")
        sp = self.session.spectrum
        if sp is None:
            self.line_info.object = text + "<br>Open a spectrum to see it in the plot."
            return
        # where the plot's line markers put it: the view's v_lsr and z about the file's
        f = float(observed_freq(rest, float(self.view.vlsr_kms or 0.0) - float(sp.vlsr_kms or 0.0),
                                float(self.view.redshift or 0.0)))
        self._show_window_of(sp, f)
        x = float(self.plot.to_x(np.array([f]))[0])
        self.marker.location = x
        self.marker.visible = True
        half = f * 30.0 / C_LIGHT_KMS
        self.plot.set_range(f - half, f + half, pad=0.0)
        self.plot.draw_curves()
        self.plot._draw_labels()
        from cassis_lite.spectrum import window_slices

        inside = any(sp.freq_mhz[w].min() <= f <= sp.freq_mhz[w].max() for w in window_slices(sp.freq_mhz))
        self.line_info.object = text + ("<br>Shown in the plot (dashed orange)." if inside else
                                        "<br>Outside the spectrum's frequencies: the plot shows where it would be.")
