"""Line lists beside the database, in the Lines card (added once the app is ready): a SLAP
service's lines for the spectrum's range, a line table received over SAMP or opened by a script,
each overlaid, listed in the table and exported like the database's (:mod:`cassis_lite.linedb.lists`).

The page may fetch only from its own origin (its Content-Security-Policy): the default service is
the site's own ``slap`` (``cassis-lite serve``); another service is refused by the browser, and
the message says to use ``cassis-lite slap URL`` on the command line for it.

Scripting: ``slapQuery({url, fmin_mhz, fmax_mhz, species, eup_max_k, aij_min, maxrec})``,
``lineLists()``, ``removeLineList(name?)``; ``loadLineList(source, name)`` is the page's (bytes).
"""

from __future__ import annotations

import panel as pn

from cassis_lite.app.cards.base import Card
from cassis_lite.app.text import esc
from cassis_lite.errors import CassisError

DEFAULT_SERVICE = "slap"
#: lines asked of a service at most (MAXREC); an answer that stops there says so
MAX_LINES = 20000


class LineListsPanel(Card):
    title = "Line lists"

    def __init__(self, session, fetch_url=None, **params):
        super().__init__(**params)
        self.session, self.fetch_url = session, fetch_url
        self.url_input = pn.widgets.TextInput(name="SLAP service", value=DEFAULT_SERVICE, sizing_mode="stretch_width",
                                              description="the site's own service by default (cassis-lite serve)")
        self.query_button = pn.widgets.Button(name="Query SLAP", width=110,
                                              description="the service's lines over the spectrum's range")
        self.remove_button = pn.widgets.Button(name="Remove lists", width=115, disabled=True)
        self.listing = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["cl-line-lists"])
        self.on_click(self.query_button, self._query_clicked)
        self.remove_button.on_click(lambda e: self.session.remove_line_list())
        session.param.watch(lambda e: self.show_lists(), ["line_lists"])
        self.show_lists()
        self.api = {"slapQuery": self.slap_query, "lineLists": self.line_lists, "removeLineList": self.remove}

    def __panel__(self):
        return pn.Column(pn.pane.HTML("<b>Line lists</b> beside the database", margin=(8, 5, 0, 5)),
                         self.url_input, pn.Row(self.query_button, self.remove_button), self.message,
                         self.listing, sizing_mode="stretch_width", name="line_lists_panel")

    def show_lists(self) -> None:
        lists = self.session.line_lists
        self.remove_button.disabled = not lists
        self.listing.object = ("<br>".join(f"{esc(k)}: {len(v)} lines" for k, v in lists.items()) if lists else
                               "No list overlaid: query a SLAP service, or send a line table over SAMP.")

    async def _query_clicked(self) -> None:
        await self.slap_query({"url": self.url_input.value})

    def add(self, name: str, t) -> dict:
        from cassis_lite.linedb.lists import named

        self.session.add_line_list(name, named(t, name))
        self.clear_error()
        return {"name": name, "n_lines": len(t)}

    def open_table(self, data: bytes, name: str) -> dict:
        """A line table's bytes (``loadLineList``, SAMP ``table.load.*``) overlaid under its name."""
        try:
            from cassis_lite.vo.linelist import transitions_from_bytes

            return self.add(name, transitions_from_bytes(data, name, source=name))
        except CassisError as exc:
            self.show_error(str(exc))
            raise

    async def slap_query(self, options: dict | None = None) -> dict:
        """``cassisLite.slapQuery(options)``: the lines of a SLAP service for the range (the active
        spectrum's by default) and the filters given, overlaid as ``SLAP <url>``."""
        from cassis_lite.vo import slap

        o = dict(options or {})
        url = str(o.get("url") or DEFAULT_SERVICE).strip()
        fmin, fmax = o.get("fmin_mhz"), o.get("fmax_mhz")
        if fmin is None or fmax is None:
            sp = self.session.spectrum
            if sp is None:
                raise CassisError("no spectrum loaded: give fmin_mhz and fmax_mhz")
            fmin, fmax = float(sp.freq_mhz[0]), float(sp.freq_mhz[-1])
        query = slap.query_url(url, fmin, fmax, species=o.get("species") or None, eup_max_k=o.get("eup_max_k"),
                               aij_min=o.get("aij_min"), maxrec=int(o.get("maxrec") or MAX_LINES))
        if self.fetch_url is None:
            raise CassisError("this app cannot fetch (no page)")
        try:
            data = await self.fetch_url(query)
        except CassisError as exc:
            raise CassisError(f"the SLAP service {url} did not answer ({exc}); the page may ask only its own "
                              "origin (a static host has no service: use `cassis-lite serve`, or "
                              "`cassis-lite slap URL` on the command line for another service)") from None
        answer = slap.read_answer(data, source=f"SLAP {url}", label=f"SLAP {url}")
        out = self.add(f"SLAP {url}", answer.transitions)
        if answer.overflow:
            self.show_error(f"SLAP {url}: the service stopped at {len(answer.transitions)} lines "
                            "(narrow the range or the species)")
        return {**out, "overflow": answer.overflow}

    async def line_lists(self) -> list:
        return [{"name": k, "n_lines": len(v)} for k, v in self.session.line_lists.items()]

    async def remove(self, name: str | None = None) -> list:
        self.session.remove_line_list(name)
        return await self.line_lists()
