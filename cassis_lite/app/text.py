"""Text from outside the app reaches the page only through here: escaped, then put in HTML.

File names, URLs, FITS/VOTable header values and column names, species names and quantum
numbers from a database the user opened, URL parameters, messages of other applications, and
error messages that quote any of these are data, not markup. Every piece of HTML the app sends to
the page is built with :func:`esc` and the helpers below. No Markdown pane ever receives outside
text: Markdown would also turn ``![](https://elsewhere/x.png)`` into a request off the site's
origin. Bokeh draws labels on a canvas and escapes tooltip fields and table cells itself.
"""

from __future__ import annotations

import html
from typing import Iterable

#: inline styles of the message boxes (the panes live in shadow DOM, out of reach of style.css)
MESSAGE_STYLES = {
    "error": {"background": "#fbeaea", "border": "1px solid #e3b4b4", "color": "#8a1c1c"},
    "info": {"background": "#eef4fb", "border": "1px solid #bcd0ea", "color": "#1b3b66"},
}


def esc(value) -> str:
    """``value`` as text safe inside HTML element content and quoted attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def pre(text, css_class: str = "cl-report") -> str:
    """Preformatted text (fit reports, error details)."""
    return f"<pre class='{css_class}' style='white-space: pre-wrap; font-size: 11px; margin: 4px 0'>{esc(text)}</pre>"


def paragraph(text, css_class: str = "") -> str:
    cls = f" class='{css_class}'" if css_class else ""
    return f"<p{cls}>{esc(text)}</p>"


def table(headers: Iterable, rows: Iterable[Iterable], css_class: str) -> str:
    """An HTML table; every header and cell is escaped (numbers are formatted by the caller)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class='{css_class}' style='font-size: 11px'><tr>{head}</tr>{body}</table>"


def message_box(text: str, kind: str = "error") -> str:
    """The text of a message pane (the pane's style carries the colour)."""
    return f"<div class='cl-message-text' role='{'alert' if kind == 'error' else 'status'}'>{esc(text)}</div>"


def citations_html(citations, css_class: str = "cl-citations") -> str:
    """How to cite the databases the shown lines come from (``LineDatabase.citations``): one
    line per database, every part escaped; empty for none."""
    items = "".join(f"<li><b>{esc(c.get('database'))}</b>: {esc(c.get('citation'))}</li>" for c in citations)
    if not items:
        return ""
    names = ", ".join(esc(c.get("database")) for c in citations)
    return (f"<details class='{css_class}' style='font-size: 11px'><summary>Lines from {names} "
            f"(please cite: click for the references)</summary>"
            f"<ul style='margin: 2px 0; padding-left: 18px'>{items}</ul></details>")
