"""The update (change request) form for a registered member: what changes in the household (a dependent added with a
reason: birth, marriage; removed with a reason: death, divorce, turned 18), the phone, the village (the address
picker), the occupation, a name's spelling; the member before and after; *Save draft* (Ctrl+S) and *Submit*
(Ctrl+Enter), as on the enrollment form.

The rules are ``fieldapp.domain.update.validate_update`` (pure: checked here before anything is stored, so a refused
update loses nothing: every field keeps what was typed) and, on the worker, ``fieldapp.store.updates`` (the draft,
its preview) and ``records.submit``. Problems show at the top, one translated line each.
"""

from __future__ import annotations

from datetime import date

from fieldapp.domain.occupations import choices
from fieldapp.domain.update import validate_update
from ui.member_jobs import save_update, submit_update
from ui.qt import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QKeySequence, QLabel, QLineEdit, QPushButton,
                   QScrollArea, QShortcut, Qt, QtWidgets, QVBoxLayout, QWidget, Signal)
from ui.screens.base import error_text
from ui.widgets.address import AddressPicker
from ui.widgets.member_text import both_names, problem_lines
from ui.widgets.problems import PROBLEM_STYLE
from ui.widgets.update_parts import AddedDependents, NameCorrections, RemovalList
from ui.widgets.update_view import UpdateSummary

SAVE_KEYS, SUBMIT_KEYS = "Ctrl+S", "Ctrl+Return"
SECTIONS = ("remove", "add", "contact", "names", "notes", "preview")


class UpdateForm(QWidget):
    back = Signal()
    submitted = Signal(str)     # the update's record ID
    saved = Signal(str)

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("update_form")
        self.member: dict = {}
        self.record_id: str | None = None
        self.data: dict = {}          # the stored draft's data (kind, member_no, base_version, ...)
        self.problems: list = []
        self._status = None
        self.heading = QLabel(self, objectName="update_title", wordWrap=True)
        self.heading.setProperty("i18n_exempt", True)
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)
        self.problem_list = QLabel(self, objectName="update_problem_list", wordWrap=True, visible=False)
        self.problem_list.setStyleSheet(PROBLEM_STYLE)
        self.problem_list.setTextFormat(Qt.TextFormat.PlainText)
        body = QWidget(self)
        column = QVBoxLayout(body)
        self.groups = {key: QGroupBox(body) for key in SECTIONS}
        self.removals = RemovalList(ctx, self.groups["remove"])
        self.added = AddedDependents(ctx, self.groups["add"], shortcut_scope=self)
        self.added.structure_changed.connect(self._tab_order)
        self.phone = QLineEdit(self.groups["contact"], objectName="update_phone")
        self.address = AddressPicker(ctx, self.groups["contact"])
        self.occupation = QComboBox(self.groups["contact"], objectName="update_occupation")
        self.occupation_other = QLineEdit(self.groups["contact"], objectName="update_occupation_other")
        self.names = NameCorrections(ctx, self.groups["names"])
        self.notes = QtWidgets.QPlainTextEdit(self.groups["notes"], tabChangesFocus=True, maximumHeight=70)
        self.notes.setObjectName("update_notes")
        self.summary = UpdateSummary(ctx, self.groups["preview"], with_heading=False)
        self.contact_labels = {key: QLabel(self.groups["contact"]) for key in ("phone", "occupation",
                                                                                 "occupation_other")}
        contact = QFormLayout(self.groups["contact"])
        contact.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key, widget in (("phone", self.phone), ("occupation", self.occupation),
                            ("occupation_other", self.occupation_other)):
            self.contact_labels[key].setBuddy(widget)
        contact.addRow(self.contact_labels["phone"], self.phone)
        contact.addRow(self.address)
        contact.addRow(self.contact_labels["occupation"], self.occupation)
        contact.addRow(self.contact_labels["occupation_other"], self.occupation_other)
        for key, widget in (("remove", self.removals), ("add", self.added), ("names", self.names),
                            ("notes", self.notes), ("preview", self.summary)):
            QVBoxLayout(self.groups[key]).addWidget(widget)
        for key in SECTIONS:
            column.addWidget(self.groups[key])
        column.addStretch(1)
        self.scroll = QScrollArea(self, objectName="update_scroll", widgetResizable=True)
        self.scroll.setWidget(body)
        self.status = QLabel(self, objectName="update_status", wordWrap=True)
        self.submit_button = QPushButton(self, objectName="update_submit")
        self.save_button = QPushButton(self, objectName="update_save")
        self.back_button = QPushButton(self, objectName="update_back")
        self.submit_button.clicked.connect(lambda: self.submit())
        self.save_button.clicked.connect(lambda: self.save())
        self.back_button.clicked.connect(self.back.emit)
        for keys, slot in ((SAVE_KEYS, self.save), (SUBMIT_KEYS, self.submit), ("Ctrl+Enter", self.submit)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda slot=slot: slot())
        bar = QHBoxLayout()
        bar.addWidget(self.submit_button)
        bar.addWidget(self.save_button)
        bar.addStretch(1)
        bar.addWidget(self.back_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.heading, self.problem_list):
            layout.addWidget(widget)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.status)
        layout.addLayout(bar)
        self.retranslate()

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        tr = self.ctx.tr
        for key, group in self.groups.items():
            group.setTitle(tr(f"forms.update.section.{key}"))
        for key, label in self.contact_labels.items():
            label.setText(tr("forms.update.new_phone") if key == "phone" else tr(f"field.{key}"))
        self.phone.setAccessibleName(tr("forms.update.new_phone"))
        self.phone.setPlaceholderText(tr("forms.update.unchanged"))
        self.occupation_other.setAccessibleName(tr("field.occupation_other"))
        self.occupation.setAccessibleName(tr("field.occupation"))
        current = self.occupation.currentData()
        self.occupation.clear()
        self.occupation.addItem(tr("forms.update.unchanged"), None)
        for code, label in choices("occupation", self.ctx.lang):
            self.occupation.addItem(label, code)
        self.occupation.setCurrentIndex(max(self.occupation.findData(current), 0))
        self.notes.setAccessibleName(tr("field.notes"))
        for button, msg_id, keys in ((self.submit_button, "forms.enroll.submit", SUBMIT_KEYS),
                                     (self.save_button, "forms.enroll.save", SAVE_KEYS),
                                     (self.back_button, "forms.records.back", None)):
            button.setText(tr(msg_id))
            button.setAccessibleName(tr(msg_id))
            if keys:
                button.setToolTip(tr("forms.shortcut_tip", action=tr(msg_id),
                                     keys=QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)))
        self.address.retranslate()
        self.added.retranslate()
        self.removals.retranslate()
        self.names.retranslate()
        self.summary.retranslate()
        self._heading()
        self._show_problems(self.problems)
        self._say(self._status)

    def _heading(self) -> None:
        version = self.data.get("base_version") or self.member.get("version")
        self.heading.setText(self.ctx.tr("forms.update.heading", name=both_names(self.member) or "\u2014",
                                         member_no=self.member.get("member_no") or "",
                                         version=self.ctx.format_number(version) if version else "\u2014"))

    def _say(self, status) -> None:
        """``status``: None, ``(msg_id, params)`` or an exception (shown again in a new language)."""
        self._status = status
        if status is None:
            self.status.setText("")
        elif isinstance(status, Exception):
            self.status.setText(error_text(self.ctx, status))
        else:
            self.status.setText(self.ctx.tr(status[0], **status[1]))

    # ------------------------------------------------------------------ filling
    def start(self, member: dict, record: dict | None = None, preview: dict | None = None) -> None:
        """A new update of ``member`` (a looked-up entry or a local record's data), or the stored ``record``."""
        self.member = dict(member)
        self.record_id = record["id"] if record else None
        self.data = dict(record["data"]) if record else {"member_no": member.get("member_no")}
        base = (preview or {}).get("before") or member
        data = self.data
        self.removals.set_dependents(base.get("dependents") or [], data.get("remove_dependents"))
        self.added.set_value(data.get("add_dependents") or [])
        self.phone.setText(str(data.get("phone") or ""))
        self.address.set_codes({"village_code": data["village_code"]} if data.get("village_code") else {})
        self.occupation.setCurrentIndex(max(self.occupation.findData(data.get("occupation")), 0))
        self.occupation_other.setText(str(data.get("occupation_other") or ""))
        self.names.set_member(base, data.get("corrections"))
        self.notes.setPlainText(str(data.get("notes") or ""))
        self.summary.show_update(data, preview)
        self.groups["preview"].setVisible(preview is not None)
        self.problems = []
        self._show_problems([])
        self._say(None)
        self._tab_order()
        self._heading()
        self.scroll.verticalScrollBar().setValue(0)
        first = self.removals.focus_chain() or [self.added.first_button()]
        first[0].setFocus(Qt.FocusReason.OtherFocusReason)

    def _tab_order(self) -> None:
        chain = (self.removals.focus_chain() + self.added.focus_chain() + [self.phone]
                 + [self.address.pickers[k] for k in ("province", "district", "commune", "village")]
                 + [self.occupation, self.occupation_other] + self.names.focus_chain()
                 + [self.notes, self.submit_button, self.save_button, self.back_button])
        for before, after in zip(chain, chain[1:]):
            QWidget.setTabOrder(before, after)

    # ------------------------------------------------------------------ value
    def changes(self) -> dict:
        """What the form says changes (fields left alone are left out)."""
        out: dict = {"add_dependents": self.added.value(), "remove_dependents": self.removals.value(),
                     "corrections": self.names.value()}
        phone = self.phone.text().strip()
        if phone:
            out["phone"] = phone
        village = self.address.codes().get("village_code")
        if village and village != self.member.get("village_code"):
            out["village_code"] = village
        if self.occupation.currentData():
            out["occupation"] = self.occupation.currentData()
            if self.occupation_other.text().strip():
                out["occupation_other"] = self.occupation_other.text().strip()
        notes = self.notes.toPlainText().strip()
        if notes:
            out["notes"] = notes
        return {k: v for k, v in out.items() if v not in ([], None, "")}

    def check(self) -> list:
        """The update's rules (pure): the problems of what the form says now."""
        document = dict({k: self.data[k] for k in ("record_id", "base_version") if self.data.get(k) is not None},
                        kind="update", member_no=self.member.get("member_no") or self.data.get("member_no"),
                        **self.changes())
        document.setdefault("base_version", self.member.get("version") or 1)
        _clean, problems = validate_update(document, today=date.today())
        return problems

    def _show_problems(self, problems) -> None:
        self.problems = list(problems)
        lines = problem_lines(self.ctx, self.problems)
        self.problem_list.setText("\n".join(lines))
        self.problem_list.setAccessibleName("\n".join(lines))
        self.problem_list.setVisible(bool(lines))
        self.added.show_update_problems([p for p in self.problems if hasattr(p, "path")])

    # ------------------------------------------------------------------ saving
    def save(self, then=None) -> bool:
        """Save the draft (Ctrl+S); refused with its problems, nothing typed is lost."""
        problems = self.check()
        if problems:
            self._show_problems(problems)
            self._say(("forms.update.fix_problems", {"count": self.ctx.format_number(len(problems))}))
            return False
        self._show_problems([])
        self._say(("forms.update.saving", {}))
        self.ctx.worker.run(save_update, self.record_id, self.member.get("member_no"), self.changes(),
                            on_done=lambda result: self._saved(result, then), on_error=self._failed)
        return True

    def _saved(self, result: dict, then) -> None:
        self.record_id = result["record_id"]
        self.data = dict(result["record"]["data"])
        preview = result.get("preview") or {}
        self.summary.show_update(self.data, preview)
        self.groups["preview"].setVisible(True)
        self._heading()
        self.saved.emit(self.record_id)
        self.ctx.notify_records_changed()
        if then is not None:
            then()
        else:
            self._say(("forms.update.saved", {}))

    def submit(self) -> None:
        """Save, then submit for review (Ctrl+Enter)."""
        self.save(then=self._submit_now)

    def _submit_now(self) -> None:
        self.ctx.worker.run(submit_update, self.record_id, on_done=self._submitted, on_error=self._failed)

    def _submitted(self, record_id: str) -> None:
        self._say(("forms.update.submitted", {}))
        self.ctx.notify_records_changed()
        self.submitted.emit(record_id)

    def _failed(self, exc) -> None:
        problems = getattr(exc, "problems", None)
        if problems is not None:
            self._show_problems(problems)
        self._say(exc)


__all__ = ["UpdateForm"]
