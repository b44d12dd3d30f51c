"""Review (supervisors): the queue of submitted records, each with its duplicate candidates and history.

Approve, return for correction or reject with a reason from a list plus free text;
select several rows (Shift/Ctrl, or Ctrl+A) to act on all of them at once. The
core enforces who may review and which reasons are required (``records.review``).
"""

from __future__ import annotations

from fieldapp.store import audit, records

from fieldapp import services
from fieldapp.outbound import outbox
from fieldapp.domain import reasons
from fieldapp.domain.reasons import REVIEW_REASONS
from fieldapp.domain.states import label_id
from fieldapp.domain.validation import field_label
from ui.models import RecordsModel
from ui.qt import (QAbstractItemView, QComboBox, QGroupBox, QHBoxLayout, QKeySequence, QLabel, QLineEdit,
                   QPushButton, QShortcut, Qt, QtWidgets, QVBoxLayout, QWidget)
from ui.screens.base import Screen
from ui.widgets.duplicates import DuplicatesView, display_value, short_id
from ui.widgets.problems import ProblemLabel

REASONS = REVIEW_REASONS
ACTIONS = (("approve", "Ctrl+Shift+A"), ("return", "Ctrl+Shift+R"), ("reject", "Ctrl+Shift+J"))
SUMMARY_FIELDS = ("family_name", "given_name", "family_name_latin", "given_name_latin", "sex", "date_of_birth",
                  "national_id", "phone", "village_code", "occupation", "employment_status")


def load_review(session, record_id: str) -> dict:
    """Worker job: the record, its duplicate candidates (stored ones, with differences where found) and history."""
    record = records.get(session, record_id)
    found = {c["record_id"]: c for c in records.duplicate_candidates(session, record["data"], record_id)}
    stored = [found.pop(d["record_id"], dict(d, differences=None)) for d in record["duplicates"]]
    return {"record": record, "duplicates": stored + list(found.values()),
            "history": audit.history(session.conn, record_id)}


def review_and_publish(session, record_ids: list[str], action: str, reason: str | None) -> tuple[str, list[str]]:
    """Worker job: review, then hand approved records sealed in the outbox to the sync spool."""
    done = services.review(session, record_ids, action, reason)
    if action == "approve":
        outbox.refresh(session)
    return action, done


class ReviewScreen(Screen):
    title_id = "ui.nav.review"
    shortcut = "Ctrl+4"
    supervisor_only = True

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.current: dict | None = None
        self.model = RecordsModel(ctx, parent=self)
        self.table = QtWidgets.QTableView(self)
        self.table.setObjectName("review_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setResizeContentsPrecision(50)  # size columns to the rows on screen, cheaply
        self.model.page_loaded.connect(lambda rows: rows <= 200 and self.table.resizeColumnsToContents())
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._load(cur.row()))
        self.model.page_loaded.connect(self._page_loaded)
        self.queue_label = QLabel(self)

        self.summary_box, self.dup_box, self.history_box = QGroupBox(self), QGroupBox(self), QGroupBox(self)
        self.summary = QLabel(self.summary_box)
        self.summary.setObjectName("review_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse | Qt.TextSelectableByKeyboard)
        self.summary.setProperty("i18n_exempt", True)  # a person's details: data
        QVBoxLayout(self.summary_box).addWidget(self.summary)
        self.duplicates = DuplicatesView(ctx, self.dup_box)
        QVBoxLayout(self.dup_box).addWidget(self.duplicates)
        self.history = QtWidgets.QTreeWidget(self.history_box)
        self.history.setObjectName("review_history")
        self.history.setRootIsDecorated(False)
        self.history.setColumnCount(4)
        QVBoxLayout(self.history_box).addWidget(self.history)

        self.reason = QComboBox(self)
        self.reason.setObjectName("review_reason")
        self.reason_text = QLineEdit(self)
        self.reason_text.setObjectName("review_reason_text")
        self.reason_label, self.reason_text_label = QLabel(self), QLabel(self)
        self.reason_label.setBuddy(self.reason)
        self.reason_text_label.setBuddy(self.reason_text)
        self.reason_problem = ProblemLabel(self.reason, self)
        self.buttons: dict[str, QPushButton] = {}
        actions = QHBoxLayout()
        for widget in (self.reason_label, self.reason, self.reason_text_label, self.reason_text):
            actions.addWidget(widget, 2 if widget is self.reason_text else 0)
        for action, keys in ACTIONS:
            button = self.buttons[action] = QPushButton(self)
            button.setObjectName(f"review_{action}")
            button.clicked.connect(lambda _c=False, a=action: self.act(a))
            actions.addWidget(button)
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda a=action: self.act(a))
        self.status = QLabel(self)
        self.status.setObjectName("review_status")

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.queue_label)
        left_layout.addWidget(self.table, 1)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        for box, stretch in ((self.summary_box, 0), (self.dup_box, 1), (self.history_box, 1)):
            right_layout.addWidget(box, stretch)
        splitter = QtWidgets.QSplitter(Qt.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(actions)
        layout.addWidget(self.reason_problem)
        layout.addWidget(self.status)
        ctx.records_changed.connect(self._records_changed)
        self.retranslate()

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        tr = self.t
        self.summary_box.setTitle(tr("forms.review.record"))
        self.dup_box.setTitle(tr("forms.dup.title"))
        self.history_box.setTitle(tr("forms.review.history"))
        self.history.setHeaderLabels([tr(f"forms.review.history.{c}") for c in ("when", "who", "event", "reason")])
        self.history.setAccessibleName(tr("forms.review.history"))
        self.table.setAccessibleName(tr("forms.review.queue"))
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
        self.duplicates.retranslate()
        self.model.retranslate()
        self._page_loaded()
        self._show(self.current)

    # ------------------------------------------------------------------ queue
    def activate(self) -> None:
        self.refresh()

    def _records_changed(self) -> None:
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        self.model.set_query(state="submitted")

    def _page_loaded(self, *_args) -> None:
        self.queue_label.setText(self.t("forms.review.queue_count", count=self.ctx.format_number(self.model.rowCount())))
        if self.model.rowCount() and not self.table.currentIndex().isValid():
            self.table.setCurrentIndex(self.model.index(0, 0))
        elif not self.model.rowCount():
            self._show(None)

    def selected_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        if not rows and self.table.currentIndex().isValid():
            rows = [self.table.currentIndex().row()]
        return [self.model.record_id(row) for row in rows if row < self.model.rowCount()]

    # ------------------------------------------------------------------ details
    def _load(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.ctx.worker.run(load_review, self.model.record_id(row), on_done=self._show,
                                on_error=self._failed)

    def _show(self, info: dict | None) -> None:
        self.current = info
        if not info:
            self.summary.setText("")
            self.duplicates.set_candidates([])
            self.history.clear()
            return
        data = info["record"]["data"]
        lines = [f"{field_label(f, self.ctx.lang)}: {display_value(self.ctx, f, data.get(f))}"
                 for f in SUMMARY_FIELDS if data.get(f) not in (None, "")]
        lines.append(f"{field_label('dependents', self.ctx.lang)}: {self.ctx.format_number(len(data.get('dependents') or []))}")
        self.summary.setText("\n".join(lines))
        self.duplicates.set_candidates(info["duplicates"])
        self.history.clear()
        for event in info["history"]:
            states = " \u2192 ".join(self.t(label_id(s)) for s in (event["from_state"], event["to_state"]) if s)
            when = self.ctx.format_timestamp(event["ts"])  # local time, not the stored UTC
            self.history.addTopLevelItem(QtWidgets.QTreeWidgetItem(
                [when, event["actor"] or "", self.t(f"forms.event.{event['event']}") + (f" ({states})" if states else ""),
                 reasons.render(event["reason"], self.ctx.lang)]))

    # ------------------------------------------------------------------ actions
    def reason_value(self) -> str | None:
        """Stored as code + text, so each reader sees the code in their own language (``fieldapp.domain.reasons``)."""
        return reasons.compose(self.reason.currentData() or None, self.reason_text.text())

    def act(self, action: str) -> None:
        ids = self.selected_ids()
        if not ids:
            self.status.setText(self.t("forms.review.nothing_selected"))
            return
        reason = self.reason_value() if action != "approve" else None
        if action != "approve" and not self.reason.currentData():
            self.reason_problem.set_messages([self.t("forms.review.reason_required")])
            self.reason.setFocus(Qt.OtherFocusReason)
            return
        self.reason_problem.clear_messages()
        for button in self.buttons.values():
            button.setEnabled(False)
        self.ctx.worker.run(review_and_publish, ids, action, reason,
                            on_done=self._done, on_error=self._failed)

    def _done(self, result: tuple[str, list[str]]) -> None:
        action, done = result
        for button in self.buttons.values():
            button.setEnabled(True)
        self.reason.setCurrentIndex(0)
        self.reason_text.clear()
        self.status.setText(self.t(f"forms.review.done_{action}", count=self.ctx.format_number(len(done)),
                                   record=short_id(done[0]) if done else ""))
        if action == "approve" and self.ctx.sync is not None:
            self.ctx.sync.kick()
        self.table.clearSelection()
        self.table.setCurrentIndex(self.model.index(-1, -1))
        self.ctx.notify_records_changed()  # refreshes this queue (visible) and the other screens

    def _failed(self, exc) -> None:
        for button in self.buttons.values():
            button.setEnabled(True)
        self.status.setText(self.error_text(exc))


__all__ = ["ReviewScreen", "load_review", "review_and_publish"]
