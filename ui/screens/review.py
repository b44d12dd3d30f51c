"""Review (supervisors): the queue of submitted records beside the whole household of the one chosen.

The preview (``ui.widgets.record_view.RecordView``) shows everyone in the household with age, relationship, sex
and the illness flag, the consent, the full address, the enrolling worker, the possible duplicates and the
history. Enter (or a double click) opens the chosen record across the whole screen; Esc comes back to the queue.
Approve, return for correction or reject with a reason from a list plus free text; select several rows
(Shift/Ctrl, or Ctrl+A) to act on all of them at once, after a question that names how many ("Approve 12
records?"). A single record is acted on only once its preview is on screen. The core enforces who may review
and which reasons are required (``records.review``).
"""

from __future__ import annotations

from fieldapp import services
from fieldapp.domain import reasons
from fieldapp.domain.reasons import REVIEW_REASONS
from fieldapp.outbound import outbox
from ui.member_jobs import load_record
from ui.models import COLUMNS, RecordsModel
from ui.qt import (QAbstractItemView, QComboBox, QEvent, QHBoxLayout, QKeySequence, QLabel, QLineEdit, QPushButton,
                   QShortcut, Qt, QtWidgets, QVBoxLayout, QWidget)
from ui.screens.base import Screen
from ui.widgets.confirm import confirm
from ui.widgets.duplicates import short_id
from ui.widgets.problems import ProblemLabel
from ui.widgets.record_view import RecordView
from ui.widgets.table_fit import ColumnFitter

REASONS = REVIEW_REASONS
ACTIONS = (("approve", "Ctrl+Shift+A"), ("return", "Ctrl+Shift+R"), ("reject", "Ctrl+Shift+J"))
QUEUE_COLUMNS = ("name", "name_latin", "created")  # every row is "Submitted": no state column
BACK_KEYS = "Esc"


def load_review(session, record_id: str) -> dict:
    """Worker job: the record as a household preview (``fieldapp.store.preview.load``), or an update as its member
    number, base version, summary and before/after (``ui.member_jobs.load_record``)."""
    return load_record(session, record_id)


def review_and_publish(session, record_ids: list[str], action: str, reason: str | None) -> tuple[str, list[str]]:
    """Worker job: review, then hand approved records sealed in the outbox to the sync spool."""
    done = services.review(session, record_ids, action, reason)
    if action == "approve":
        outbox.refresh(session)
    return action, done


def person_name(row: dict) -> str:
    """A queue row's name as the confirmation lists it: Khmer, then Latin letters."""
    return " \u00b7 ".join(t for t in (row.get("name"), row.get("name_latin")) if t) or short_id(row.get("id"))


class ReviewScreen(Screen):
    title_id = "ui.nav.review"
    shortcut = "Ctrl+4"
    supervisor_only = True

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.current: dict | None = None   # the preview on screen (``load_review``'s result)
        self.expanded = False              # the preview across the whole screen, the queue hidden
        self._status: tuple[str, dict] | None = None
        self.confirm_dialog = None
        self.model = RecordsModel(ctx, parent=self)
        self.table = QtWidgets.QTableView(self)
        self.table.setObjectName("review_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setTabKeyNavigation(False)  # Tab leaves the queue for the preview and the buttons
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        for column in COLUMNS:
            self.table.setColumnHidden(COLUMNS.index(column), column not in QUEUE_COLUMNS)
        self.table.horizontalHeader().setSectionsClickable(True)
        self.table.horizontalHeader().setSortIndicatorShown(False)
        self.table.horizontalHeader().sectionClicked.connect(self._header_clicked)
        self.fitter = ColumnFitter(self.table)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._load(cur.row()))
        self.table.doubleClicked.connect(lambda _index: self.set_expanded(True))
        self.table.installEventFilter(self)
        self.model.page_loaded.connect(self._page_loaded)
        self.queue_label = QLabel(self)
        self.queue_label.setObjectName("review_queue_label")
        self.queue_label.setWordWrap(True)
        self.view = RecordView(ctx, self)

        self.reason = QComboBox(self)
        self.reason.setObjectName("review_reason")
        self.reason.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.reason.setMinimumContentsLength(14)
        self.reason_text = QLineEdit(self)
        self.reason_text.setObjectName("review_reason_text")
        self.reason_label, self.reason_text_label = QLabel(self), QLabel(self)
        self.reason_label.setBuddy(self.reason)
        self.reason_text_label.setBuddy(self.reason_text)
        self.reason_problem = ProblemLabel(self.reason, self)
        self.open_button = QPushButton(self)
        self.open_button.setObjectName("review_open")
        self.open_button.clicked.connect(lambda: self.set_expanded(not self.expanded))
        self.buttons: dict[str, QPushButton] = {}
        reason_row, button_row = QHBoxLayout(), QHBoxLayout()
        for widget in (self.reason_label, self.reason, self.reason_text_label, self.reason_text):
            reason_row.addWidget(widget, 1 if widget is self.reason_text else 0)
        button_row.addWidget(self.open_button)
        button_row.addStretch(1)
        for action, keys in ACTIONS:
            button = self.buttons[action] = QPushButton(self)
            button.setObjectName(f"review_{action}")
            button.clicked.connect(lambda _c=False, a=action: self.act(a))
            button_row.addWidget(button)
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda a=action: self.act(a))
        self.back_shortcut = QShortcut(QKeySequence(BACK_KEYS), self)
        self.back_shortcut.setContext(Qt.WidgetWithChildrenShortcut)
        self.back_shortcut.activated.connect(lambda: self.set_expanded(False))
        self.back_shortcut.setEnabled(False)
        self.status = QLabel(self)
        self.status.setObjectName("review_status")
        self.status.setWordWrap(True)

        self.queue = QWidget(self)
        queue_layout = QVBoxLayout(self.queue)
        queue_layout.setContentsMargins(0, 0, 0, 0)
        queue_layout.addWidget(self.queue_label)
        queue_layout.addWidget(self.table, 1)
        self.splitter = QtWidgets.QSplitter(Qt.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.queue)
        self.splitter.addWidget(self.view)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self._user_split = False  # until the supervisor drags the handle: two fifths queue, three the household
        self.splitter.splitterMoved.connect(lambda *_a: setattr(self, "_user_split", True))
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(reason_row)
        layout.addWidget(self.reason_problem)
        layout.addLayout(button_row)
        layout.addWidget(self.status)
        self.setTabOrder(self.table, self.view)
        self.setTabOrder(self.view, self.reason)
        self.setTabOrder(self.reason, self.reason_text)
        self.setTabOrder(self.reason_text, self.open_button)
        previous = self.open_button
        for action, _keys in ACTIONS:
            self.setTabOrder(previous, self.buttons[action])
            previous = self.buttons[action]
        ctx.records_changed.connect(self._records_changed)
        self.retranslate()

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        tr = self.t
        self.table.setAccessibleName(tr("forms.review.queue"))
        self.table.setToolTip(tr("forms.review.queue_tip"))
        self.reason_label.setText(tr("forms.review.reason"))
        self.reason_text_label.setText(tr("forms.review.reason_text"))
        self.reason.setAccessibleName(tr("forms.review.reason"))
        self.reason_text.setAccessibleName(tr("forms.review.reason_text"))
        current = self.reason.currentData()
        self.reason.clear()
        self.reason.addItem(tr("forms.choose"), None)
        for code in REASONS:
            self.reason.addItem(tr(f"forms.reason.{code}"), code)
        self.reason.setCurrentIndex(max(self.reason.findData(current), 0))
        for action, keys in ACTIONS:
            label = tr(f"forms.review.{action}")
            self.buttons[action].setText(label)
            self.buttons[action].setAccessibleName(label)
            self.buttons[action].setToolTip(tr("forms.shortcut_tip", action=label,
                                               keys=QKeySequence(keys).toString(QKeySequence.NativeText)))
        self._open_text()
        self.model.retranslate()
        self.view.retranslate()
        self._page_loaded()
        self._show_status()

    def _open_text(self) -> None:
        key = "forms.review.back" if self.expanded else "forms.review.open"
        self.open_button.setText(self.t(key))
        self.open_button.setAccessibleName(self.t(key))
        self.open_button.setToolTip(self.t("forms.shortcut_tip", action=self.t(key),
                                           keys="Esc" if self.expanded else "Enter"))

    def set_status(self, msg_id: str | None, **params) -> None:
        """A status line kept as its message id, so a language switch re-renders it."""
        self._status = (msg_id, params) if msg_id else None
        self._show_status()

    def _show_status(self) -> None:
        if self._status is None:
            self.status.setText("")
            return
        msg_id, params = self._status
        if msg_id == "error":
            self.status.setText(self.error_text(params["exc"]))
            return
        shown = {k: self.ctx.format_number(v) if isinstance(v, int) else v for k, v in params.items()}
        self.status.setText(self.t(msg_id, **shown))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        if not self._user_split:
            width = self.splitter.width()
            self.splitter.setSizes([width * 2 // 5, width - width * 2 // 5])

    # ------------------------------------------------------------------ queue
    def activate(self) -> None:
        self.refresh()

    def _records_changed(self) -> None:
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        self.model.set_query(state="submitted")

    def _header_clicked(self, section: int) -> None:
        column = COLUMNS[section]
        header = self.table.horizontalHeader()
        descending = bool(self.model.order and self.model.order == (column, False))
        header.setSortIndicatorShown(True)
        header.setSortIndicator(section, Qt.DescendingOrder if descending else Qt.AscendingOrder)
        self.model.set_order(column, descending)

    def _page_loaded(self, *_args) -> None:
        key = "forms.review.queue_count_sorted" if self.model.order else "forms.review.queue_count"
        count = self.model.total if self.model.total is not None else self.model.rowCount()
        self.queue_label.setText(self.t(key, count=self.ctx.format_number(count)))
        if self.model.rowCount() and not self.table.currentIndex().isValid():
            self.table.setCurrentIndex(self.model.index(0, COLUMNS.index(QUEUE_COLUMNS[0])))
        elif not self.model.rowCount() and not self.model.loading:
            self._show(None)
            self.set_expanded(False)

    def selected_ids(self) -> list[str]:
        if self.expanded:
            return [self.current["record"]["id"]] if self.current else []
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        if not rows and self.table.currentIndex().isValid():
            rows = [self.table.currentIndex().row()]
        return [self.model.record_id(row) for row in rows if row < self.model.rowCount()]

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if obj is self.table and event.type() == QEvent.KeyPress and event.key() in (Qt.Key_Return, Qt.Key_Enter) \
                and not event.modifiers() & (Qt.ControlModifier | Qt.ShiftModifier):
            if self.table.currentIndex().isValid():
                self.set_expanded(True)
                return True
        return super().eventFilter(obj, event)

    def set_expanded(self, expanded: bool) -> None:
        """The preview across the whole screen (the queue hidden) or beside the queue."""
        expanded = bool(expanded) and self.current is not None
        self.expanded = expanded
        self.queue.setVisible(not expanded)
        self.back_shortcut.setEnabled(expanded)
        self._open_text()
        if expanded:
            self.view.setFocus(Qt.OtherFocusReason)
        elif self.isVisible():
            self.table.setFocus(Qt.OtherFocusReason)

    # ------------------------------------------------------------------ details
    def _load(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.ctx.worker.run(load_review, self.model.record_id(row), on_done=self._show,
                                on_error=self._failed)

    def _show(self, info: dict | None) -> None:
        if info is not None:  # only the row still chosen (the user may have moved on while it loaded)
            index = self.table.currentIndex()
            if not index.isValid() or self.model.record_id(index.row()) != info["record"]["id"]:
                return
        self.current = info
        self.view.set_preview(info)
        self.view.verticalScrollBar().setValue(0)

    # ------------------------------------------------------------------ actions
    def reason_value(self) -> str | None:
        """Stored as code + text, so each reader sees the code in their own language (``fieldapp.domain.reasons``)."""
        return reasons.compose(self.reason.currentData() or None, self.reason_text.text())

    def act(self, action: str) -> None:
        ids = self.selected_ids()
        if not ids:
            self.set_status("forms.review.nothing_selected")
            return
        if action != "approve" and not self.reason.currentData():
            self.reason_problem.set_messages([self.t("forms.review.reason_required")])
            self.reason.setFocus(Qt.OtherFocusReason)
            return
        self.reason_problem.clear_messages()
        if len(ids) == 1 and (self.current is None or self.current["record"]["id"] != ids[0]):
            self.set_status("forms.review.wait_preview")  # never act on a household not yet on screen
            return
        reason = self.reason_value() if action != "approve" else None
        if len(ids) == 1:
            self._run(ids, action, reason)
            return
        rows = {row["id"]: row for row in self.model.rows()}
        count = self.ctx.format_number(len(ids))
        self.confirm_dialog = confirm(
            self.ctx, self, self.t(f"forms.review.confirm.{action}", count=count),
            self.t(f"forms.review.confirm.{action}_button", count=count),
            lambda: self._run(ids, action, reason), names=[person_name(rows.get(i, {"id": i})) for i in ids],
            detail=self.t("forms.preview.reason", reason=reasons.render(reason, self.ctx.lang)) if reason else "")

    def _run(self, ids: list[str], action: str, reason: str | None) -> None:
        for button in self.buttons.values():
            button.setEnabled(False)
        self.ctx.worker.run(review_and_publish, ids, action, reason, on_done=self._done, on_error=self._failed)

    def _done(self, result: tuple[str, list[str]]) -> None:
        action, done = result
        for button in self.buttons.values():
            button.setEnabled(True)
        self.reason.setCurrentIndex(0)
        self.reason_text.clear()
        self.set_status(f"forms.review.done_{action}" + ("_one" if len(done) == 1 else ""), count=len(done))
        if action == "approve" and self.ctx.sync is not None:
            self.ctx.sync.kick()
        self.table.clearSelection()
        self.table.setCurrentIndex(self.model.index(-1, -1))
        self.current = None
        self.ctx.notify_records_changed()  # refreshes this queue (visible) and the other screens

    def _failed(self, exc) -> None:
        for button in self.buttons.values():
            button.setEnabled(True)
        self.set_status("error", exc=exc)


__all__ = ["ReviewScreen", "load_review", "review_and_publish"]
