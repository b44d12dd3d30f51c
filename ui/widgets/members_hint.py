"""The Records search's line about registered members: the looked-up members (``fieldapp.store.members``) that
match what was typed, with the same normalisation and phonetic key as the records, so a person registered at another
office is found from Records too ("Registered members found: KH-REG-000123 សុខ ដារ៉ា ..."). *Open in Members*
(Ctrl+M) shows them all in the Members screen with the same search.

The query runs on the DB worker (``ui.member_jobs.search_members``); an answer to an older query is dropped.
"""

from __future__ import annotations

from ui.member_jobs import search_members
from ui.qt import QHBoxLayout, QKeySequence, QLabel, QPushButton, QShortcut, Qt, QWidget, Signal
from ui.widgets.member_text import name_of

SHOWN = 3       # members named on the line
ASKED = 50      # how many are counted ("50 or more")
MIN_CHARS = 2


class MembersHint(QWidget):
    open_members = Signal(str)

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx, self._generation, self._text, self._found = ctx, 0, "", []
        self.setObjectName("records_members_hint")
        self.label = QLabel(self, objectName="records_members_text", wordWrap=True)
        self.button = QPushButton(self, objectName="records_members_open")
        self.button.clicked.connect(lambda: self.open_members.emit(self._text))
        line = QHBoxLayout(self)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.label, 1)
        line.addWidget(self.button)
        shortcut = QShortcut(QKeySequence("Ctrl+M"), parent or self)
        shortcut.setContext(Qt.WidgetWithChildrenShortcut)
        shortcut.activated.connect(lambda: self.isVisible() and self.open_members.emit(self._text))
        self.hide()
        self.retranslate()

    def retranslate(self) -> None:
        self.button.setText(self.ctx.tr("forms.records.members_open"))
        self._show_found()

    def query(self, text: str) -> None:
        """Look for members matching ``text`` (hidden while it is shorter than two characters)."""
        self._generation += 1
        self._text = (text or "").strip()
        if len(self._text) < MIN_CHARS:
            self._found = []
            self.hide()
            return
        self.ctx.worker.run(search_members, self._text, self._generation, ASKED, on_done=self._answered,
                            on_error=lambda _exc: self.hide())

    def _answered(self, result) -> None:
        generation, found = result
        if generation != self._generation:
            return  # an older query's answer
        self._found = found
        self._show_found()

    def _show_found(self) -> None:
        if not self._found:
            self.hide()
            return
        number = self.ctx.format_number
        names = "; ".join(f"{m.get('member_no', '')} {name_of(m)}".strip() for m in self._found[:SHOWN])
        count = number(len(self._found)) if len(self._found) < ASKED else self.ctx.tr(
            "forms.records.members_many", count=number(ASKED))
        self.label.setText(self.ctx.tr("forms.records.members_found", count=count, names=names))
        self.show()
