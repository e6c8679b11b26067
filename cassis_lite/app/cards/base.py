"""What every card has: a message pane, running an action with its errors shown, the API map."""

from __future__ import annotations

import io
import re

import panel as pn
import param

from cassis_lite.app.text import MESSAGE_STYLES, message_box
from cassis_lite.errors import CassisError


def message_pane(kind: str = "error") -> pn.pane.HTML:
    """A message box (hidden while empty); the text goes through :func:`message_box` (escaped)."""
    return pn.pane.HTML("", visible=False, sizing_mode="stretch_width", css_classes=[f"cl-card-{kind}"],
                        styles=dict(MESSAGE_STYLES[kind], padding="4px 10px", **{"border-radius": "4px"}))


class Card(pn.viewable.Viewer):
    """A card: ``title``, ``api`` (calls it serves), ``show_error`` / ``run`` for its actions."""

    title = "card"

    def __init__(self, **params):
        super().__init__(**params)
        self.message = message_pane()
        self.api: dict = {}

    def show_error(self, text: str) -> None:
        self.message.object = message_box(text)
        self.message.visible = True

    def clear_error(self) -> None:
        self.message.visible = False
        self.message.object = ""

    def on_click(self, button, fn, options=None) -> None:
        """``button`` runs the coroutine function ``fn`` (with ``options()`` at the time of the
        click, if given) through :meth:`run`: Panel awaits an async callback, not a coroutine a
        plain one would return."""
        async def clicked(event):
            await self.run(fn, *(() if options is None else (options(),)))

        button.on_click(clicked)

    def action_button(self, name: str, fn, width: int = 240, options=None) -> pn.widgets.Button:
        """A button for ``fn``: an analysis (a coroutine function taking ``options()``, run by
        :meth:`run`), or a plain action (no ``options``)."""
        w = pn.widgets.Button(name=name, width=width)
        if options is None:
            w.on_click(lambda e: fn())
        else:
            self.on_click(w, fn, options)
        return w

    async def run(self, fn, *args):
        """Run an action for a button: a user error is shown in the card, anything else too (the
        page stays alive), named by its type."""
        self.clear_error()
        try:
            return await fn(*args)
        except CassisError as exc:
            self.show_error(str(exc))
        except ModuleNotFoundError as exc:
            self.show_error(missing_package_message(exc))
        except Exception as exc:  # keep the page alive; say what failed
            self.show_error(f"{type(exc).__name__}: {exc}")
        return None


#: (button label, export format, file extension) of the export buttons
EXPORT_FORMATS = (("CSV", "csv", "csv"), ("VOTable", "votable", "vot"), ("FITS", "fits", "fits"))


class ExportButtons:
    """Download buttons for ``kind`` ('spectrum', 'model' or 'lines') as CSV, VOTable and FITS
    (:func:`cassis_lite.vo.exports.export`, the command line's writers). ``source()`` gives the
    object to write (and, for a model, its configuration) or None when there is none;
    ``available()`` (default: ``source() is not None``) says cheaply whether there is one: the
    buttons are disabled otherwise (:meth:`update`)."""

    def __init__(self, card: Card, kind: str, source, stem: str, available=None):
        self.card, self.kind, self.source = card, kind, source
        self.available = available or (lambda: source() is not None)
        self.buttons = [pn.widgets.FileDownload(callback=lambda fmt=fmt: self._data(fmt), label=label,
                                                filename=f"{stem}.{ext}", button_type="default",
                                                width=80 if fmt == "votable" else 60, margin=(5, 3))
                        for label, fmt, ext in EXPORT_FORMATS]
        self.panel = pn.Row(pn.pane.HTML(f"Export the {kind}:", margin=(12, 3, 0, 5)), *self.buttons,
                            css_classes=[f"cl-export-{kind}"])
        self.update()

    def update(self, stem: str | None = None) -> None:
        self.buttons_disabled(not self.available())
        if stem is not None:
            safe = re.sub(r"[^\w.+-]+", "_", stem).strip("._")[:60] or self.kind
            for b, (_, _, ext) in zip(self.buttons, EXPORT_FORMATS):
                b.filename = f"{safe}.{ext}"

    def buttons_disabled(self, disabled: bool) -> None:
        for b in self.buttons:
            b.disabled = disabled

    def data(self, fmt: str) -> bytes:
        """The export as ``fmt`` (csv, votable, fits); :class:`CassisError` if there is nothing."""
        from cassis_lite.vo import exports

        got = self.source()
        if got is None:
            raise CassisError(f"no {self.kind} to export yet")
        obj, config = got if isinstance(got, tuple) else (got, None)
        return exports.export(self.kind, obj, fmt, config=config)

    def _data(self, fmt: str) -> io.BytesIO:
        self.card.clear_error()
        try:
            return io.BytesIO(self.data(fmt))
        except CassisError as exc:
            self.card.show_error(f"Export: {exc}")
        except Exception as exc:  # keep the page alive; say what failed
            self.card.show_error(f"Export: {type(exc).__name__}: {exc}")
        return io.BytesIO(b"")


def missing_package_message(exc: ModuleNotFoundError) -> str:
    """In words: a package the analysis needs is not installed yet (offline before it was fetched)."""
    name = (exc.name or "a package").split(".")[0]
    return (f"this analysis needs {name}, which is downloaded on first use and could not be "
            "fetched (offline?). Connect once and reload; it is then kept for offline use.")


def number_or_none(value):
    """A number box's value: None for empty (never NaN)."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if v == v else None


__all__ = ["Card", "ExportButtons", "message_pane", "missing_package_message", "number_or_none", "param"]
