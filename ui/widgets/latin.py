"""The Latin spelling of a common Khmer name, offered in the Latin name field when the keyboard reaches it.

When a Latin name field gets the focus empty and its Khmer field holds a name ``fieldapp.domain.romanize`` knows,
the usual spelling is written in and selected: Tab keeps it, typing replaces it, Delete empties it. A field the
worker emptied is not filled again. ``filled`` callbacks tell the form the value changed (``setText`` does not
emit ``textEdited``).
"""

from __future__ import annotations

from fieldapp.domain.romanize import suggest_latin
from ui.qt import QEvent, QLineEdit, QObject, Qt

_KEYBOARD = (Qt.TabFocusReason, Qt.BacktabFocusReason, Qt.ShortcutFocusReason, Qt.OtherFocusReason)


class LatinSuggestion(QObject):
    """Ties one Latin field to its Khmer field (``kind``: ``"family_name"`` or ``"given_name"``)."""

    def __init__(self, latin: QLineEdit, khmer: QLineEdit, kind: str, on_filled=None):
        super().__init__(latin)
        self.latin, self.khmer, self.kind, self.on_filled = latin, khmer, kind, on_filled
        self.declined = False  # the worker emptied the field: leave it empty
        latin.installEventFilter(self)
        latin.textEdited.connect(self._edited)

    def reset(self) -> None:
        self.declined = False

    def _edited(self, text: str) -> None:
        self.declined = not text.strip()

    def suggestion(self) -> str | None:
        return suggest_latin(self.khmer.text(), self.kind)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if obj is self.latin and event.type() == QEvent.Type.FocusIn and event.reason() in _KEYBOARD:
            self.offer()
        return False

    def offer(self) -> bool:
        """Write the suggestion into the empty field, selected; True when it did."""
        if self.declined or self.latin.text().strip() or self.latin.isReadOnly():
            return False
        found = self.suggestion()
        if not found:
            return False
        self.latin.setText(found)
        self.latin.selectAll()
        if self.on_filled is not None:
            self.on_filled()
        return True
