"""Records: every record the user may see, searched by name, national ID or phone, filtered by state and date,
in the order the line above the list says (returned records first, then the most recently changed), or sorted by
a column: click its heading (again to reverse), or pick the order from the list beside "Order".

The table's model fetches pages of ~200 through the DB worker as the user scrolls
(``ui.models.RecordsModel``); typing in the search box re-queries after a short
pause. Returned records come first, highlighted, with the supervisor's reason.
Enter (or a double click) opens any record read-only, the whole household (``ui.widgets.record_page``); Esc
comes back to the same row. Ctrl+E opens a draft or returned record in the form, from the list or the record.
"""

from __future__ import annotations

from fieldapp.domain.dates import parse_date
from fieldapp.domain.states import label_id
from fieldapp.store.records import EDITABLE, STATES
from ui.member_jobs import load_record, rebase
from ui.models import COLUMNS, RecordsModel
from ui.qt import (QAbstractItemView, QComboBox, QEvent, QHBoxLayout, QKeySequence, QLabel, QLineEdit, QShortcut,
                   QStackedWidget, Qt, QTimer, QtWidgets, QVBoxLayout, QWidget)
from ui.screens.base import Screen
from ui.widgets.members_hint import MembersHint
from ui.widgets.problems import ProblemLabel
from ui.widgets.record_page import EDIT_KEYS, RecordPage
from ui.widgets.table_fit import ColumnFitter

SEARCH_DEBOUNCE_MS = 300
#: The orders offered beside "Order": the default, then each column both ways.
ORDERS = [None] + [(column, descending) for column in COLUMNS for descending in (False, True)]


def workspace_of(widget):
    """The main window's workspace holding ``widget`` (it has ``screens`` and ``show_screen``), or None."""
    parent = widget.parentWidget()
    while parent is not None and not (hasattr(parent, "show_screen") and hasattr(parent, "screens")):
        parent = parent.parentWidget()
    return parent


def parse_day(text: str) -> str | None:
    """A date as people write it (``2025-01-15``, ``15/01/2025``, ``15.1.2025``; ASCII or Khmer digits), as ISO
    text; ``""`` for empty, ``None`` if it is not a date."""
    if not text.strip():
        return ""
    day = parse_date(text)
    return day.isoformat() if day else None


def order_text(tr, order) -> str:
    if order is None:
        return tr("forms.records.sort.default")
    column, descending = order
    return tr(f"forms.records.sort_by_{column}.{'desc' if descending else 'asc'}")


class RecordsScreen(Screen):
    title_id = "ui.nav.records"
    shortcut = "Ctrl+3"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.model = RecordsModel(ctx, parent=self)
        self._error = None
        self.search = QLineEdit(self)
        self.search.setObjectName("records_search")
        self.search.setClearButtonEnabled(True)
        self.state = QComboBox(self)
        self.state.setObjectName("records_state")
        self.since, self.until = QLineEdit(self), QLineEdit(self)
        self.since.setObjectName("records_since")
        self.until.setObjectName("records_until")
        self.order = QComboBox(self)
        self.order.setObjectName("records_order")
        self.order.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.order.setMinimumContentsLength(16)
        self.dates_problem = ProblemLabel(self.since, self)
        self.labels = {key: QLabel(self) for key in ("search", "state", "since", "until", "order")}
        for key, widget in (("search", self.search), ("state", self.state), ("since", self.since),
                            ("until", self.until), ("order", self.order)):
            self.labels[key].setBuddy(widget)
        self.table = QtWidgets.QTableView(self)
        self.table.setObjectName("records_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setTabKeyNavigation(False)  # Tab leaves the list
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(False)
        header.sectionClicked.connect(self._header_clicked)
        self.fitter = ColumnFitter(self.table)
        self.table.doubleClicked.connect(lambda index: self.open_row(index.row()))
        self.table.installEventFilter(self)
        self.status = QLabel(self)
        self.status.setObjectName("records_status")
        self.status.setWordWrap(True)
        filters = QHBoxLayout()
        for key, widget in (("search", self.search), ("state", self.state), ("since", self.since),
                            ("until", self.until)):
            filters.addWidget(self.labels[key])
            filters.addWidget(widget, 3 if key == "search" else 1)
        order_line = QHBoxLayout()
        order_line.addWidget(self.labels["order"])
        order_line.addWidget(self.order, 1)
        self.list_page = QWidget(self)
        list_layout = QVBoxLayout(self.list_page)
        list_layout.setContentsMargins(0, 0, 0, 0)
        list_layout.addLayout(filters)
        list_layout.addWidget(self.dates_problem)
        list_layout.addLayout(order_line)
        self.members_hint = MembersHint(ctx, self.list_page)  # the search's registered members (looked up)
        self.members_hint.open_members.connect(self.open_members)
        list_layout.addWidget(self.members_hint)
        list_layout.addWidget(self.table, 1)
        list_layout.addWidget(self.status)
        self.record_page = RecordPage(ctx, self)
        self.record_page.back.connect(self.show_list)
        self.record_page.edit.connect(self.edit_record)
        self.record_page.message.connect(self._print_message)
        self.record_page.update_member.connect(self.update_member)
        self.record_page.rebase.connect(self.rebase)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.list_page)
        self.pages.addWidget(self.record_page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._timer.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.since.textChanged.connect(lambda _t: self._timer.start())
        self.until.textChanged.connect(lambda _t: self._timer.start())
        self.state.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.order.currentIndexChanged.connect(lambda i: self.set_order(ORDERS[i] if i >= 0 else None))
        self.model.page_loaded.connect(self._update_status)
        self.model.counted.connect(self._update_status)
        self.model.load_failed.connect(self._load_failed)
        focus_search = QShortcut(QKeySequence("Ctrl+F"), self.list_page)
        focus_search.setContext(Qt.WidgetWithChildrenShortcut)
        focus_search.activated.connect(lambda: (self.search.setFocus(), self.search.selectAll()))
        edit = QShortcut(QKeySequence(EDIT_KEYS), self.list_page)
        edit.setContext(Qt.WidgetWithChildrenShortcut)
        edit.activated.connect(lambda: self.edit_row(self.table.currentIndex().row()))
        ctx.records_changed.connect(self._records_changed)
        self._active = False
        self.retranslate()

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        tr = self.t
        if hasattr(self, "members_hint"):
            self.members_hint.retranslate()
        for key, label in self.labels.items():
            label.setText(tr(f"forms.records.{key}"))
        self.search.setPlaceholderText(tr("forms.records.search_placeholder"))
        self.search.setToolTip(tr("forms.shortcut_tip", action=tr("forms.records.search"),
                                  keys=QKeySequence("Ctrl+F").toString(QKeySequence.NativeText)))
        for key, widget in (("search", self.search), ("state", self.state), ("since", self.since),
                            ("until", self.until), ("order", self.order)):
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
        self.order.blockSignals(True)
        self.order.clear()
        for order in ORDERS:
            self.order.addItem(order_text(tr, order))
        self.order.setCurrentIndex(ORDERS.index(self.model.order))
        self.order.blockSignals(False)
        self.order.setToolTip(tr("forms.records.sort_tip"))
        self.table.setAccessibleName(tr("forms.records.table"))
        self.table.setToolTip(tr("forms.records.open_tip"))
        self.model.retranslate()
        self.record_page.retranslate()
        self._update_status()

    def _update_status(self, *_args) -> None:
        if self._error is not None:
            self.status.setText(self.error_text(self._error))
            return
        count, total, number = self.model.rowCount(), self.model.total, self.ctx.format_number
        if self.model.loading and not count:
            text = self.t("forms.records.loading", count=number(count))
        elif self.model.more:
            text = (self.t("forms.records.shown_more_of", count=number(count), total=number(total))
                    if total is not None else self.t("forms.records.shown_more", count=number(count)))
        elif count == 0:
            text = self.t("forms.records.none")
        else:
            text = self.t("forms.records.shown_one") if count == 1 else self.t("forms.records.shown_all",
                                                                                 count=number(count))
        self.status.setText(text)

    def _print_message(self, text: str) -> None:
        """A printing message in the window's status bar (the list's own status line is hidden under the record)."""
        window = self.window()
        if hasattr(window, "show_message"):
            window.show_message(lambda: text, 30_000)

    def _load_failed(self, exc) -> None:
        self._error = exc
        self._update_status()

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
        self._error = None
        since, until = parse_day(self.since.text()), parse_day(self.until.text())
        bad = [w for w, v in ((self.since, since), (self.until, until)) if v is None]
        self.dates_problem.field_widget = bad[0] if bad else self.since
        self.dates_problem.set_messages([self.t("forms.records.bad_date")] if bad else [])
        self.model.set_query(text=self.search.text(), state=self.state.currentData(), since=since or None,
                             until=until or None)
        self.members_hint.query(self.search.text())
        self._update_status()

    # ------------------------------------------------------------------ order
    def set_order(self, order) -> None:
        """Sort by ``(column, descending)`` or, for None, in the default order; the header and the list agree."""
        header = self.table.horizontalHeader()
        header.setSortIndicatorShown(order is not None)
        if order is not None:
            header.setSortIndicator(COLUMNS.index(order[0]), Qt.DescendingOrder if order[1] else Qt.AscendingOrder)
        self.order.blockSignals(True)
        self.order.setCurrentIndex(ORDERS.index(order))
        self.order.blockSignals(False)
        self.model.set_order(*(order or (None, False)))
        self.fitter.schedule()

    def _header_clicked(self, section: int) -> None:
        column = COLUMNS[section]
        self.set_order((column, self.model.order == (column, False)))  # a second click reverses

    # ------------------------------------------------------------------ opening
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if obj is self.table and event.type() == QEvent.KeyPress and event.key() in (Qt.Key_Return, Qt.Key_Enter):
            index = self.table.currentIndex()
            if index.isValid():
                self.open_row(index.row())
                return True
        return super().eventFilter(obj, event)

    def open_row(self, row: int) -> None:
        """Open the record of ``row`` read-only (any state)."""
        if 0 <= row < self.model.rowCount():
            self.open_record(self.model.record_id(row))

    def open_record(self, record_id: str) -> None:
        """Show any record this user may see, read-only, in place of the list (loaded on the worker)."""
        self.ctx.worker.run(load_record, record_id, on_done=self._opened, on_error=self._load_failed)

    def _opened(self, preview: dict) -> None:
        self.pages.setCurrentWidget(self.record_page)
        self.record_page.show_preview(preview)

    def show_list(self) -> None:
        self.pages.setCurrentWidget(self.list_page)
        self.table.setFocus(Qt.OtherFocusReason)

    def edit_row(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            return
        info = self.model.row(row)
        if info["state"] not in EDITABLE:
            self._error = None
            self.status.setText(self.t("forms.enroll.not_editable", state=self.t(label_id(info["state"]))))
            return
        self.edit_record(info["id"], info.get("kind"))

    def _members(self):
        workspace = workspace_of(self)
        members = workspace.screens.get("members") if workspace is not None else None
        if members is not None:
            self.pages.setCurrentWidget(self.list_page)
            workspace.show_screen("members")
        return members

    def open_members(self, text: str) -> None:
        """*Open in Members* (Ctrl+M): the registered members matching the Records search, in Members."""
        members = self._members()
        if members is not None:
            members.search.setText(text)
            members.apply_search()
            members.search.setFocus()

    def update_member(self, member_no: str, record_id: str) -> None:
        """*Update…* on a registered record: the update form for its member (Members)."""
        members = self._members()
        if members is not None:
            members.update_member(member_no, record_id)

    def rebase(self, record_id: str) -> None:
        """*Re-base* on a stale refusal: a new draft on the member's current version, opened in its form."""
        self.ctx.worker.run(rebase, record_id, on_done=self._rebased, on_error=self._load_failed)

    def _rebased(self, new_id: str) -> None:
        self.ctx.notify_records_changed()
        members = self._members()
        if members is not None:
            members.edit_update(new_id)

    def edit_record(self, record_id: str, kind: str | None = None) -> None:
        """Open a draft or returned record in the form (Enroll; an update in its form in Members)."""
        preview = self.record_page.view.preview
        if kind == "update" or (kind is None and self.record_page.is_update()
                                and preview["record"]["id"] == record_id):
            members = self._members()
            if members is not None:
                members.edit_update(record_id)
            return
        workspace = workspace_of(self)
        enroll = workspace.screens.get("enroll") if workspace is not None else None
        if enroll is None or not hasattr(enroll, "open_record"):
            return
        self.pages.setCurrentWidget(self.list_page)
        enroll.open_record(record_id)
        workspace.show_screen("enroll")
