"""Members: find a registered member offline, open them, and prepare an update (a change request).

The members are those the registry published to this laptop (its area's, ``fieldapp.store.members``), searched with
the same Khmer-aware normalisation as Records. Keyboard first: type in the search box (the list follows after a
short pause), Down goes to the list, the arrows move, Enter opens the member (from the search box too: the row
chosen, else the first); Esc comes back. On the member, *Update…* (Ctrl+U) opens the update form (``UpdateForm``);
Records opens it too, for a registered local record and for an update still a draft or returned.
"""

from __future__ import annotations

from ui.member_jobs import load_member, load_update
from ui.qt import (QAbstractItemView, QEvent, QHBoxLayout, QKeySequence, QLabel, QLineEdit, QShortcut,
                   QStackedWidget, Qt, QTimer, QtWidgets, QVBoxLayout, QWidget)
from ui.screens.base import Screen
from ui.widgets.member_table import MembersModel
from ui.widgets.member_view import MemberPage
from ui.widgets.table_fit import ColumnFitter
from ui.widgets.update_form import UpdateForm

SEARCH_DEBOUNCE_MS = 300


class MembersScreen(Screen):
    title_id = "ui.nav.members"
    shortcut = "Ctrl+8"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self._error = None
        self._active = False
        self._open_when_loaded = False
        self.model = MembersModel(ctx, self)
        self.search = QLineEdit(self, objectName="members_search", clearButtonEnabled=True)
        self.search_label = QLabel(self)
        self.search_label.setBuddy(self.search)
        self.search.installEventFilter(self)
        self.table = QtWidgets.QTableView(self)
        self.table.setObjectName("members_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.installEventFilter(self)
        self.table.doubleClicked.connect(lambda index: self.open_row(index.row()))
        self.fitter = ColumnFitter(self.table)
        self.status = QLabel(self, objectName="members_status", wordWrap=True)
        line = QHBoxLayout()
        line.addWidget(self.search_label)
        line.addWidget(self.search, 1)
        self.list_page = QWidget(self)
        list_layout = QVBoxLayout(self.list_page)
        list_layout.setContentsMargins(0, 0, 0, 0)
        list_layout.addLayout(line)
        list_layout.addWidget(self.table, 1)
        list_layout.addWidget(self.status)
        self.member_page = MemberPage(ctx, self)
        self.member_page.back.connect(self.show_list)
        self.member_page.update_requested.connect(self.start_update)
        self.form = UpdateForm(ctx, self)
        self.form.back.connect(self._form_back)
        self.form.submitted.connect(self._update_submitted)
        self.pages = QStackedWidget(self)
        for page in (self.list_page, self.member_page, self.form):
            self.pages.addWidget(page)
        QVBoxLayout(self).addWidget(self.pages)
        self._timer = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS, timeout=self.apply_search)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.model.loaded.connect(self._loaded)
        self.model.load_failed.connect(self._failed)
        focus = QShortcut(QKeySequence("Ctrl+F"), self.list_page)
        focus.setContext(Qt.WidgetWithChildrenShortcut)
        focus.activated.connect(lambda: (self.search.setFocus(), self.search.selectAll()))
        self.setTabOrder(self.search, self.table)
        self.retranslate()

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        tr = self.t
        self.search_label.setText(tr("forms.member.search"))
        self.search.setAccessibleName(tr("forms.member.search"))
        self.search.setPlaceholderText(tr("forms.member.search_placeholder"))
        self.table.setAccessibleName(tr("forms.member.table"))
        self.table.setToolTip(tr("forms.member.open_tip"))
        self.model.retranslate()
        self.member_page.retranslate()
        self.form.retranslate()
        self._update_status()

    def _update_status(self) -> None:
        if self._error is not None:
            self.status.setText(self.error_text(self._error))
            return
        count = self.model.rowCount()
        if self.model.loading and not count:
            text = self.t("forms.member.searching")
        elif count == 0:
            text = self.t("forms.member.none_found" if self.model.text.strip() else "forms.member.none")
        else:
            text = self.t("forms.member.found", count=self.ctx.format_number(count))
        self.status.setText(text)

    # ------------------------------------------------------------------ data
    def activate(self) -> None:
        if not self._active:
            self._active = True
            self.apply_search()

    def apply_search(self) -> None:
        self._timer.stop()
        self._error = None
        self.model.set_query(self.search.text())
        self._update_status()

    def _loaded(self, count: int) -> None:
        self.fitter.schedule()
        if count and not self.table.currentIndex().isValid():
            self.table.setCurrentIndex(self.model.index(0, 0))
        self._update_status()
        if self._open_when_loaded:
            self._open_when_loaded = False
            self.open_row(max(self.table.currentIndex().row(), 0))

    def _failed(self, exc) -> None:
        self._error = exc
        self._update_status()

    # ------------------------------------------------------------------ keys
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if event.type() != QEvent.KeyPress:
            return super().eventFilter(obj, event)
        key = event.key()
        if obj is self.search and key == Qt.Key_Down and self.model.rowCount():
            self.table.setFocus(Qt.OtherFocusReason)
            row = self.table.currentIndex().row()
            self.table.setCurrentIndex(self.model.index(max(row, 0), 0))
            return True
        if key in (Qt.Key_Return, Qt.Key_Enter) and obj in (self.search, self.table):
            if obj is self.search and self._timer.isActive():
                self.apply_search()  # Enter before the pause ends: search now, open when the answer comes
                self._open_when_loaded = True
                return True
            row = self.table.currentIndex().row()
            self.open_row(row if row >= 0 else 0)
            return True
        return super().eventFilter(obj, event)

    # ------------------------------------------------------------------ opening
    def open_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.open_member(self.model.row(row)["member_no"])

    def open_member(self, member_no: str, record_id: str | None = None) -> None:
        """Show a member (looked up, or the local registered record ``record_id``), loaded on the worker."""
        self.ctx.worker.run(load_member, member_no, record_id, on_done=self._show_member,
                            on_error=self._member_missing)

    def _show_member(self, member: dict) -> None:
        self.pages.setCurrentWidget(self.member_page)
        self.member_page.show_member(member)
        self.member_page.scroll.setFocus(Qt.OtherFocusReason)

    def _member_missing(self, exc) -> None:
        self.show_list()
        self._error = None if isinstance(exc, LookupError) else exc
        if self._error is None:
            self.say(self.status, lambda: self.t("forms.member.not_found"))
        else:
            self._update_status()

    def show_list(self) -> None:
        self.pages.setCurrentWidget(self.list_page)
        (self.table if self.model.rowCount() else self.search).setFocus(Qt.OtherFocusReason)

    # ------------------------------------------------------------------ updates
    def start_update(self, member: dict) -> None:
        self.pages.setCurrentWidget(self.form)
        self.form.start(member)

    def update_member(self, member_no: str, record_id: str | None = None) -> None:
        """*Update…* from a registered local record's view (Records)."""
        self.ctx.worker.run(load_member, member_no, record_id, on_done=self.start_update,
                            on_error=self._member_missing)

    def edit_update(self, record_id: str) -> None:
        """An update still a draft (or returned) opened again in its form."""
        self.ctx.worker.run(load_update, record_id, on_done=self._edit_loaded, on_error=self._failed)

    def _edit_loaded(self, found: dict) -> None:
        self.pages.setCurrentWidget(self.form)
        self.form.start(found["member"], found["record"], found["preview"])

    def _form_back(self) -> None:
        if self.member_page.member is not None and self.member_page.member.get("member_no") == \
                self.form.member.get("member_no"):
            self.pages.setCurrentWidget(self.member_page)
            self.member_page.scroll.setFocus(Qt.OtherFocusReason)
        else:
            self.show_list()

    def _update_submitted(self, _record_id: str) -> None:
        self._form_back()
        self.say(self.status, lambda: self.t("forms.update.submitted"))
        window = self.window()
        if hasattr(window, "show_message"):
            window.show_message(lambda: self.t("forms.update.submitted"), 30_000)


__all__ = ["MembersScreen"]
