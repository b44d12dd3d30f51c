"""Records: every record the user may see, searched by name, national ID or phone, filtered by state and date.

The table's model fetches pages of ~200 through the DB worker as the user scrolls
(``ui.models.RecordsModel``); typing in the search box re-queries after a short
pause. Returned records come first, highlighted, with the supervisor's reason.
Enter (or a double click) on a draft or returned record opens it in the form.
"""

from __future__ import annotations

from datetime import date

from fieldapp.domain.khmer import to_ascii_digits
from fieldapp.domain.states import label_id
from fieldapp.store.records import EDITABLE, STATES
from ui.models import RecordsModel
from ui.qt import (QAbstractItemView, QComboBox, QEvent, QHBoxLayout, QKeySequence, QLabel, QLineEdit, QShortcut,
                   Qt, QTimer, QtWidgets, QVBoxLayout)
from ui.screens.base import Screen
from ui.widgets.problems import ProblemLabel

SEARCH_DEBOUNCE_MS = 300


def workspace_of(widget):
    """The main window's workspace holding ``widget`` (it has ``screens`` and ``show_screen``), or None."""
    parent = widget.parentWidget()
    while parent is not None and not (hasattr(parent, "show_screen") and hasattr(parent, "screens")):
        parent = parent.parentWidget()
    return parent


def parse_day(text: str) -> str | None:
    """An ISO date typed with ASCII or Khmer digits, as ISO text; ``""`` for empty, ``None`` if malformed."""
    text = to_ascii_digits(text.strip())
    if not text:
        return ""
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


class RecordsScreen(Screen):
    title_id = "ui.nav.records"
    shortcut = "Ctrl+3"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.model = RecordsModel(ctx, parent=self)
        self.search = QLineEdit(self)
        self.search.setObjectName("records_search")
        self.search.setClearButtonEnabled(True)
        self.state = QComboBox(self)
        self.state.setObjectName("records_state")
        self.since, self.until = QLineEdit(self), QLineEdit(self)
        self.since.setObjectName("records_since")
        self.until.setObjectName("records_until")
        self.dates_problem = ProblemLabel(self.since, self)
        self.labels = {key: QLabel(self) for key in ("search", "state", "since", "until")}
        for key, widget in (("search", self.search), ("state", self.state), ("since", self.since),
                            ("until", self.until)):
            self.labels[key].setBuddy(widget)
        self.table = QtWidgets.QTableView(self)
        self.table.setObjectName("records_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setResizeContentsPrecision(50)  # size columns to the rows on screen, cheaply
        self.model.page_loaded.connect(lambda rows: rows <= 200 and self.table.resizeColumnsToContents())
        self.table.doubleClicked.connect(lambda index: self.open_row(index.row()))
        self.table.installEventFilter(self)
        self.status = QLabel(self)
        self.status.setObjectName("records_status")
        filters = QHBoxLayout()
        for key, widget in (("search", self.search), ("state", self.state), ("since", self.since),
                            ("until", self.until)):
            filters.addWidget(self.labels[key])
            filters.addWidget(widget, 3 if key == "search" else 1)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.dates_problem)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._timer.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.since.textChanged.connect(lambda _t: self._timer.start())
        self.until.textChanged.connect(lambda _t: self._timer.start())
        self.state.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.model.page_loaded.connect(self._update_status)
        self.model.load_failed.connect(lambda exc: self.status.setText(self.error_text(exc)))
        focus_search = QShortcut(QKeySequence("Ctrl+F"), self)
        focus_search.setContext(Qt.WidgetWithChildrenShortcut)
        focus_search.activated.connect(lambda: (self.search.setFocus(), self.search.selectAll()))
        ctx.records_changed.connect(self._records_changed)
        self._active = False
        self.retranslate()

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        tr = self.t
        for key, label in self.labels.items():
            label.setText(tr(f"forms.records.{key}"))
        self.search.setPlaceholderText(tr("forms.records.search_placeholder"))
        self.search.setToolTip(tr("forms.shortcut_tip", action=tr("forms.records.search"),
                                  keys=QKeySequence("Ctrl+F").toString(QKeySequence.NativeText)))
        for key, widget in (("search", self.search), ("state", self.state), ("since", self.since),
                            ("until", self.until)):
            widget.setAccessibleName(tr(f"forms.records.{key}"))
        for widget in (self.since, self.until):
            widget.setPlaceholderText(tr("forms.date_placeholder"))
        current = self.state.currentData()
        self.state.blockSignals(True)
        self.state.clear()
        self.state.addItem(tr("forms.records.all_states"), None)
        for state in STATES:
            self.state.addItem(tr(label_id(state)), state)
        self.state.setCurrentIndex(max(self.state.findData(current), 0))
        self.state.blockSignals(False)
        self.table.setAccessibleName(tr("forms.records.table"))
        self.table.setToolTip(tr("forms.records.open_tip"))
        self.model.retranslate()
        self._update_status()

    def _update_status(self, *_args) -> None:
        count = self.model.rowCount()
        key = "forms.records.loading" if self.model.loading else "forms.records.shown"
        self.status.setText(self.t(key, count=self.ctx.format_number(count)))

    # ------------------------------------------------------------------ data
    def activate(self) -> None:
        """Query on first show, and again only if records changed meanwhile (so the scroll position stays)."""
        if not self._active:
            self._active = True
            self.apply_filters()

    def _records_changed(self) -> None:
        if self.isVisible():
            self.apply_filters()
        else:
            self._active = False  # refreshed when shown next

    def apply_filters(self) -> None:
        self._timer.stop()
        since, until = parse_day(self.since.text()), parse_day(self.until.text())
        bad = [w for w, v in ((self.since, since), (self.until, until)) if v is None]
        self.dates_problem.field_widget = bad[0] if bad else self.since
        self.dates_problem.set_messages([self.t("forms.records.bad_date")] if bad else [])
        self.model.set_query(text=self.search.text(), state=self.state.currentData(), since=since or None,
                             until=until or None)
        self._update_status()

    # ------------------------------------------------------------------ opening
    def eventFilter(self, obj, event) -> bool:
        if obj is self.table and event.type() == QEvent.KeyPress and event.key() in (Qt.Key_Return, Qt.Key_Enter):
            index = self.table.currentIndex()
            if index.isValid():
                self.open_row(index.row())
                return True
        return super().eventFilter(obj, event)

    def open_row(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        info = self.model.row(row)
        if info["state"] not in EDITABLE:
            self.status.setText(self.t("forms.enroll.not_editable", state=self.t(label_id(info["state"]))))
            return
        workspace = workspace_of(self)
        enroll = workspace.screens.get("enroll") if workspace is not None else None
        if enroll is None or not hasattr(enroll, "open_record"):
            return
        enroll.open_record(info["id"])
        workspace.show_screen("enroll")
