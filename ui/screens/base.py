"""``Screen``: the base of every screen in the main window's stack."""

from __future__ import annotations

import logging

from ui.qt import QWidget

log = logging.getLogger("fieldapp.ui")


def error_text(ctx, exc) -> str:
    """A translated one-line message for an error from the worker (never the raw exception text)."""
    problems = getattr(exc, "problems", None)
    if problems is not None:  # fieldapp.store.records.ValidationFailed
        return "\n".join(p.message(ctx.lang) for p in problems) or ctx.tr("ui.error.unexpected")
    message = getattr(exc, "message", None)
    if callable(message) and getattr(exc, "msg_id", None):
        return message(ctx.lang)
    return ctx.tr("ui.error.unexpected")


class Screen(QWidget):
    """A page of the main window.

    Subclasses set ``title_id`` (message id of the title shown in the side
    navigation) and ``shortcut`` (e.g. ``"Ctrl+1"``), build their widgets in
    ``__init__``, set every visible text in ``retranslate()`` (call it at the
    end of your ``__init__``; this base calls it again on every language
    change) and refresh their data in ``activate()`` (called by the main window
    each time the screen is shown). Queue core calls with
    ``self.ctx.worker.run(fn, *args, on_done=..., on_error=...)`` and show
    failures with ``self.error_text(exc)``.
    ``supervisor_only`` hides the screen from outreach users.

    A message shown after something happened (a status line: "Sync finished.", an error) is set with
    ``self.say(label, lambda: self.t("msg.id", count=self.ctx.format_number(n)))`` rather than ``setText``: the
    function is called again on every language change, so no message is left behind in the other language.
    """

    title_id = ""
    shortcut = ""
    supervisor_only = False

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self._said: dict[int, tuple] = {}
        ctx.language_changed.connect(self._language_changed)

    # to override
    def retranslate(self) -> None:
        """Set every visible text from ``self.ctx.tr``."""

    def activate(self) -> None:
        """The screen is shown: refresh its data (through ``self.ctx.worker``)."""

    # helpers
    def t(self, msg_id: str, **params) -> str:
        return self.ctx.tr(msg_id, **params)

    def error_text(self, exc) -> str:
        return error_text(self.ctx, exc)

    def say(self, label, text=None) -> None:
        """Show ``text()`` (a function returning the translated message, or None to clear) in ``label`` (anything
        with ``setText``), and show it again in the new language whenever the language changes."""
        if text is None:
            self._said.pop(id(label), None)
            label.setText("")
            return
        self._said[id(label)] = (label, text)
        label.setText(text())

    def _language_changed(self) -> None:
        self.retranslate()
        for label, text in list(self._said.values()):
            label.setText(text())
