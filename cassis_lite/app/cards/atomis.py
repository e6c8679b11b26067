"""ALMA card: which ALMA archive observations hold a species' lines in given sources (CASSIS's
ATOMIS; the workflow and every number are :mod:`cassis_lite.vo.atomis`'s, as ``cassis-lite atomis``).

Lines of the species (E_up / A_ij limits) over ALMA's bands, shifted to each source's v_lsr, an
ObsCore ADQL query, then the observations with the lines each one covers. The page may ask only
its own origin (its Content-Security-Policy): "Search" posts the query to the site's server
(``cassis-lite serve`` relays ``/tap/sync`` to the archive's TAP service). A static host cannot:
"Show the ADQL" gives the query to run elsewhere (the archive's TAP page, TOPCAT), and its saved
answer (a VOTable) opens here.

Scripting: ``atomisSearch(options)`` -> ``{adql, lines, rows, count, observations}``.
"""

from __future__ import annotations

import math

import panel as pn
import param
from bokeh.models import ColumnDataSource, DataTable, NumberFormatter, TableColumn

from cassis_lite.app.cards.base import Card, number_or_none
from cassis_lite.app.text import pre
from cassis_lite.errors import CassisError

#: the site's relay of synchronous TAP queries (cassis-lite serve)
TAP_RELAY = "tap/sync"
MAXREC = 10000
#: (field, title, number format or None, width px): the table scrolls sideways rather than squeeze
COLUMNS = (("source", "Source", None, 80), ("proposal_id", "Project", None, 115), ("target_name", "Target", None, 90),
           ("band_list", "Band", None, 45), ("spatial_resolution_arcsec", "Resolution (\")", "0.00", 90),
           ("velocity_resolution_kms", "dv (km/s)", "0.000", 75), ("data_rights", "Rights", None, 65),
           ("n_lines", "Lines", "0", 45), ("lines", "Lines covered", None, 260), ("access_url", "Archive", None, 330))


class AtomisCard(Card):
    title = "ALMA"
    species = param.String(default="CO", doc="comma-separated names or tags")
    sources = param.String(default="", doc="one per line: NAME, RA, DEC[, VLSR]; or a CSV with a header")
    radius_arcsec = param.Number(default=10.0, bounds=(0, None))

    def __init__(self, session, fetch_url=None, **params):
        super().__init__(**params)
        self.session, self.fetch_url = session, fetch_url
        self.eup_input = pn.widgets.FloatInput(name="E_up max (K)", value=None, start=0.0, width=110)
        self.aij_input = pn.widgets.FloatInput(name="A_ij min (s^-1)", value=None, start=0.0, width=110)
        self.resolution_input = pn.widgets.FloatInput(name="resolution max (\")", value=None, start=0.0, width=120)
        self.public = pn.widgets.Checkbox(name="public data only", value=False)
        self.search_button = pn.widgets.Button(name="Search the ALMA archive", button_type="primary", width=190)
        self.adql_button = pn.widgets.Button(name="Show the ADQL", width=120)
        self.answer_input = pn.widgets.FileInput(accept=".vot,.xml,.votable", multiple=False, width=220,
                                                 description="a saved answer of the query (VOTable)")
        self.on_click(self.search_button, self.search, self.options)
        self.on_click(self.adql_button, self.show_adql, self.options)
        self.answer_input.param.watch(self._answer_chosen, "value")
        self.adql = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-atomis-adql"])
        self.summary = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-atomis-summary"])
        self.source = ColumnDataSource({key: [] for key, *_ in COLUMNS}, name="atomis_source")
        self.table = DataTable(source=self.source, sizing_mode="stretch_width", height=220, index_position=None,
                               autosize_mode="none",
                               columns=[TableColumn(field=k, title=t, width=w, **({} if f is None else
                                                                                  {"formatter": NumberFormatter(format=f)}))
                                        for k, t, f, w in COLUMNS], name="atomis_table")
        self.api = {"atomisSearch": self.search}

    def __panel__(self):
        p = self.param
        return pn.Column(
            pn.widgets.TextInput.from_param(p.species, name="Species (comma separated)", sizing_mode="stretch_width"),
            pn.Row(self.eup_input, self.aij_input),
            pn.widgets.TextAreaInput.from_param(p.sources, name="Sources: NAME, RA, DEC[, v_lsr km/s], one per line",
                                                placeholder="M83, 13:37:00.919, -29:51:56.74, 513", height=80,
                                                sizing_mode="stretch_width"),
            pn.Row(pn.widgets.FloatInput.from_param(p.radius_arcsec, name="radius (\")", width=90),
                   self.resolution_input, self.public),
            pn.Row(self.search_button, self.adql_button),
            pn.Row(pn.pane.HTML("or open its saved answer:", margin=(12, 5, 0, 5)), self.answer_input),
            self.message, self.summary, self.table, self.adql, sizing_mode="stretch_width", name="atomis_card")

    # ------------------------------------------------------------------ the query
    def options(self) -> dict:
        return {"species": self.species, "sources": self.sources, "radius_arcsec": self.radius_arcsec,
                "eup_max_k": number_or_none(self.eup_input.value), "aij_min": number_or_none(self.aij_input.value),
                "spatial_resolution_max_arcsec": number_or_none(self.resolution_input.value),
                "public_only": bool(self.public.value)}

    def _query(self, options: dict):
        """(lines, sources, limits, adql) of the options."""
        from cassis_lite.vo import atomis

        o = dict(options or {})
        names = o.get("species") or []
        names = [s.strip() for s in (names.split(",") if isinstance(names, str) else names) if str(s).strip()]
        if not names:
            raise CassisError("give a species (a name, formula or tag of the line database)")
        sources = o.get("sources") or ""
        sources = atomis.read_sources_text(sources if isinstance(sources, str) else "\n".join(sources))
        t = self.session.db.transitions(*atomis.ALMA_RANGE_MHZ, species=names, eup_max_k=o.get("eup_max_k"),
                                        aij_min=o.get("aij_min"))
        if not len(t):
            raise CassisError(f"no line of {', '.join(names)} in ALMA's bands with these limits")
        limits = atomis.Limits(radius_arcsec=float(o.get("radius_arcsec") or 10.0),
                               spatial_resolution_max_arcsec=o.get("spatial_resolution_max_arcsec"),
                               public_only=bool(o.get("public_only")))
        limits.check()
        return t, sources, limits, atomis.obscore_adql(t, sources, limits)

    async def show_adql(self, options: dict | None = None) -> str:
        *_, adql = self._query(options or self.options())
        self.adql.object = "<b>ADQL</b> (run it in the archive's TAP page or TOPCAT, then open the answer)" + pre(adql)
        return adql

    async def search(self, options: dict | None = None) -> dict:
        """``cassisLite.atomisSearch(options)``: the query sent to the archive through the site."""
        from cassis_lite.vo.obscore import tap_sync_request

        t, sources, limits, adql = self._query(options or self.options())
        if self.fetch_url is None:
            raise CassisError("this app cannot reach the archive (no page)")
        _, body = tap_sync_request("", adql, MAXREC)
        self.summary.object = f"Asking the archive for {len(t)} lines in {len(sources)} source(s)..."
        try:
            data = await self.fetch_url(TAP_RELAY, body=body.encode(), content_type="application/x-www-form-urlencoded")
        except CassisError as exc:
            self.summary.object = ""
            raise CassisError(f"the archive search needs the page served by `cassis-lite serve`, online ({exc}). "
                              "Without it: 'Show the ADQL', run it at the archive, and open its answer here") from None
        return self.show_answer(data, (t, sources, limits, adql))

    def _answer_chosen(self, event) -> None:
        if not event.new:
            return
        self.clear_error()
        try:
            self.show_answer(bytes(event.new), label=self.answer_input.filename or "answer")
        except CassisError as exc:
            self.show_error(str(exc))

    def show_answer(self, data: bytes, query=None, label: str = "TAP answer") -> dict:
        """The observations of a TAP answer (VOTable bytes) for the card's query, in the table."""
        from cassis_lite.vo import atomis

        t, sources, limits, adql = query or self._query(self.options())
        matches, rows = atomis.matches_of_answer(data, t, sources, limits, label=label)
        records = atomis.matches_records(matches)
        self.source.data = {key: [_cell(r.get(key)) for r in records] for key, *_ in COLUMNS}
        self.summary.object = (f"{len(records)} observation(s) of {len(rows)} archive row(s) cover lines of the "
                               f"{len(t)} asked." if records else
                               f"No observation among the {len(rows)} archive row(s) covers the {len(t)} lines.")
        return {"adql": adql, "lines": len(t), "rows": len(rows), "count": len(records),
                "observations": [{k: v for k, v in r.items() if k != "line_list"} for r in records]}


def _cell(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
