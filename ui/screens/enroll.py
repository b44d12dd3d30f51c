"""Enrollment form: a worker and their dependents, checked as you type, saved as a draft as you go.

Rules are in ``fieldapp.domain.validation`` (pure: run here, debounced); every store call goes through the
DB worker. A draft is saved a moment after each change, durably: it survives a crash or a power cut.
"""

from __future__ import annotations

from datetime import date, datetime

from fieldapp.domain import reasons
from fieldapp.domain.states import label_id
from fieldapp.store import records
from fieldapp.domain.validation import validate_record
from ui.qt import (QCheckBox, QComboBox, QEvent, QFormLayout, QGroupBox, QHBoxLayout, QKeySequence, QLabel,
                   QLineEdit, QPushButton, QScrollArea, QShortcut, Qt, QTimer, QtWidgets, QVBoxLayout, QWidget,
                   Signal)
from ui.screens.base import Screen
from ui.screens.enroll_fields import ALIASES, CHOICE_FIELDS, DATE_FIELDS, ORDER, SECTIONS, FormValues
from ui.widgets.address import AddressPicker, UnitPicker
from ui.widgets.date_edit import DateLineEdit
from ui.widgets.dependents import COLUMNS, DependentsTable
from ui.widgets.duplicates import DuplicatesDialog
from ui.widgets.problems import ProblemLabel, group_by_field, show_inline, split_path

SAVE_KEYS, SUBMIT_KEYS, NEW_KEYS = "Ctrl+S", "Ctrl+Return", "Ctrl+N"
VALIDATE_MS, AUTOSAVE_MS = 300, 800


class EnrollScreen(FormValues, Screen):
    title_id = "ui.nav.enroll"
    shortcut = "Ctrl+2"
    draft_saved = Signal(str)
    submitted = Signal(str)
    record_loaded = Signal(str)

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.record_id = self.state = self.reason = None
        self.problems: list = []
        self.duplicates_dialog: DuplicatesDialog | None = None
        self._touched: set[str] = set()
        self._show_all = self._dirty = self._saving = self._loading = False
        self._after_save: list = []
        self._build()
        self._validate_timer = QTimer(self, singleShot=True, interval=VALIDATE_MS, timeout=self.check)
        self._autosave_timer = QTimer(self, singleShot=True, interval=AUTOSAVE_MS, timeout=self.save_draft)
        for keys, slot in ((SAVE_KEYS, self.save_draft), (SUBMIT_KEYS, self.submit), ("Ctrl+Enter", self.submit),
                           (NEW_KEYS, self.new_record)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.retranslate()
        self.clear_form()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        self.banner = QLabel(self, objectName="return_banner", wordWrap=True, visible=False,
                             styleSheet="background: #fff4ce; padding: 0.4em; border: 1px solid #c19c00;")
        # field key -> input widget, its label, its problem line, its local-date hint; section -> group box
        self.widgets, self.labels, self.problem_labels, self.hints, self.groups = {}, {}, {}, {}, {}
        body = QWidget(self)
        column = QVBoxLayout(body)
        for section, keys in SECTIONS:
            group = self.groups[section] = QGroupBox(body)
            form = QFormLayout(group)
            for key in keys:
                form.addRow(*self._field(key, group))
            column.addWidget(group)
        column.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.status = QLabel(self, objectName="enroll_status", wordWrap=True)
        self.new_button, self.save_button, self.submit_button = buttons = [QPushButton(self) for _ in range(3)]
        for button, slot in zip(buttons, (self.new_record, self.save_draft, self.submit)):
            button.clicked.connect(lambda _checked=False, slot=slot: slot())
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        for button in buttons:
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(scroll, 1)
        layout.addLayout(bar)

    def _field(self, key: str, parent: QWidget):
        label = QLabel(parent)
        self.labels[key] = label
        if key in ("address", "dependents"):
            widget = AddressPicker(self.ctx, parent) if key == "address" else \
                DependentsTable(self.ctx, parent, shortcut_scope=self)
            widget.changed.connect(lambda k=key: self._changed(k))
            for picker in getattr(widget, "pickers", {}).values():
                picker.installEventFilter(self)
            self.widgets[key], self.problem_labels[key] = widget, widget.problem
            return (label, widget)
        if key in CHOICE_FIELDS:
            widget = QComboBox(parent)
            widget.activated.connect(lambda _i, k=key: self._changed(k))
        elif key == "consent.given":
            widget = QCheckBox(parent)
            widget.toggled.connect(lambda _on, k=key: self._changed(k))
        elif key == "notes":
            widget = QtWidgets.QPlainTextEdit(parent, tabChangesFocus=True, maximumHeight=80)
            widget.textChanged.connect(lambda k=key: self._changed(k))
        elif key in DATE_FIELDS:
            widget = DateLineEdit(self.ctx, parent, latest=date.today())
            widget.textEdited.connect(lambda _t, k=key: self._changed(k))
            widget.picked.connect(lambda _t, k=key: self._changed(k))
        else:
            widget = QLineEdit(parent)
            widget.textEdited.connect(lambda _t, k=key: self._changed(k))
        widget.setObjectName(key.replace(".", "_"))
        if key != "notes":
            widget.installEventFilter(self)
        label.setBuddy(widget)
        problem = ProblemLabel(widget, parent)
        self.widgets[key], self.problem_labels[key] = widget, problem
        row = QHBoxLayout()
        row.addWidget(widget, 3)
        if key in DATE_FIELDS:
            row.addWidget(self.hints.setdefault(key, QLabel(parent, styleSheet="color: #555;")), 2)
        row.addWidget(problem, 3)
        return (label, row)

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        tr = self.t
        for section, group in self.groups.items():
            group.setTitle(tr(f"forms.section.{section}"))
        for key, label in self.labels.items():
            text = tr("forms.address.title") if key == "address" else tr(f"field.{key}")
            label.setText(text)
            widget = self.widgets[key]
            widget.setAccessibleName(text)
            if isinstance(widget, DateLineEdit):
                widget.setPlaceholderText(tr("forms.date_placeholder"))
                widget.retranslate()
        for key, kind in CHOICE_FIELDS.items():
            self._fill_combo(self.widgets[key], kind)
        self.widgets["address"].retranslate()
        self.widgets["dependents"].retranslate()
        for button, action, keys in ((self.save_button, "forms.enroll.save", SAVE_KEYS),
                                     (self.submit_button, "forms.enroll.submit", SUBMIT_KEYS),
                                     (self.new_button, "forms.enroll.new", NEW_KEYS)):
            button.setText(tr(action))
            button.setAccessibleName(tr(action))
            button.setToolTip(tr("forms.shortcut_tip", action=tr(action),
                                 keys=QKeySequence(keys).toString(QKeySequence.NativeText)))
        self._show_banner()
        self._update_hints()
        self._display(self.problems)

    def _show_banner(self) -> None:
        returned = self.state == "returned"
        self.banner.setText(self.t("forms.enroll.returned_banner", reason=reasons.render(self.reason, self.ctx.lang)) if returned else "")
        self.banner.setAccessibleName(self.banner.text())
        self.banner.setVisible(returned)

    # ------------------------------------------------------------------ keyboard
    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.KeyPress and event.key() in (Qt.Key_Return, Qt.Key_Enter) and \
                not (event.modifiers() & ~Qt.KeypadModifier):
            if isinstance(obj, UnitPicker):
                obj.commit()
            self.focusNextChild()
            return True
        return super().eventFilter(obj, event)

    def clear_form(self) -> None:
        self.record_id = self.state = self.reason = None
        self._touched.clear()
        self._show_all = self._dirty = False
        self._show_banner()
        self.fill({"consent": {"recorded_at": date.today().isoformat()}})
        self.widgets["address"].set_default(self._office_commune())
        self.problems = []
        self._display([])

    # ------------------------------------------------------------------ checking
    def _changed(self, key: str) -> None:
        if self._loading:
            return
        self._touched.add(key)
        self._dirty = True
        if key in DATE_FIELDS:
            self._update_hints()
        self._validate_timer.start()
        self._autosave_timer.start()

    def check(self) -> list:
        """Validate the form now (pure, no I/O) and show the problems of the fields touched so far."""
        _clean, self.problems = validate_record(self.collect())
        self._display(self.problems)
        return self.problems

    def _display(self, problems) -> None:
        general = show_inline(problems, self.problem_labels, self.ctx.lang, ALIASES,
                              lambda key: self._show_all or key in self._touched,
                              {"dependents": self.widgets["dependents"]})
        if self._show_all and general:
            self.status.setText("\n".join(p.message(self.ctx.lang) for p in general))

    def _focus_first_problem(self) -> None:
        keys = group_by_field(self.problems, ALIASES)
        key = next((k for k in ORDER if k in keys), None)
        if key == "address":
            self.widgets[key].first_empty().setFocus(Qt.OtherFocusReason)
        elif key == "dependents":
            table = self.widgets[key].table
            _k, row, name = split_path(keys[key][0].path)
            if row is not None and row < table.rowCount():
                table.setCurrentCell(row, COLUMNS.index(name) if name in COLUMNS else 0)
            table.setFocus(Qt.OtherFocusReason)
        elif key is not None:
            self.widgets[key].setFocus(Qt.OtherFocusReason)

    # ------------------------------------------------------------------ saving
    def save_draft(self, force: bool = False, then=None) -> None:
        """Queue ``records.save_draft`` (one save in flight at a time; later changes are saved after it)."""
        self._autosave_timer.stop()
        if then is not None:
            self._after_save.append(then)
        if self._saving:
            return
        if not (self._dirty or (force and self.record_id is None)):
            self._run_after_save()
            return
        self._saving, self._dirty = True, False
        self.ctx.worker.run(records.save_draft, self.collect(), self.record_id, on_done=self._saved,
                            on_error=self._save_failed)

    def _saved(self, record_id: str) -> None:
        self._saving = False
        created = self.record_id is None
        self.record_id, self.state = record_id, self.state or "draft"
        self.status.setText(self.t("forms.enroll.draft_saved", time=datetime.now().strftime("%H:%M:%S")))
        self.draft_saved.emit(record_id)
        if created:
            self.ctx.notify_records_changed()
        if self._dirty:
            self.save_draft()
        else:
            self._run_after_save()

    def _run_after_save(self) -> None:
        callbacks, self._after_save = self._after_save, []
        for callback in callbacks:
            callback()

    def _save_failed(self, exc) -> None:
        self._saving, self._dirty, self._after_save = False, True, []
        self.status.setText(self.t("forms.enroll.save_failed", error=self.error_text(exc)))

    def _office_commune(self) -> str | None:
        """The office's commune from IT's provisioning file (read from a small local file, no database)."""
        from fieldapp.deploy import provisioned

        try:
            return provisioned.default_address(self.ctx.data_dir).get("commune")
        except Exception:  # an unreadable provisioning file must not stop enrollment
            return None

    def flush(self) -> None:
        """Save what is pending now (call before closing the session: logout, idle lock, exit)."""
        if self._dirty and not self._saving:
            try:
                self.save_draft()
            except RuntimeError:  # the worker already stopped (application exit): the last autosave stands
                self._saving = False

    def hideEvent(self, event) -> None:  # leaving the screen or closing the window
        self.flush()
        super().hideEvent(event)

    def activate(self) -> None:
        if self._dirty:  # e.g. a save refused while the window was locked
            self._autosave_timer.start()

    # ------------------------------------------------------------------ submitting
    def submit(self) -> None:
        self._validate_timer.stop()
        self._show_all = True
        if self.check():
            self.status.setText(self.t("forms.enroll.fix_problems", count=self.ctx.format_number(len(self.problems))))
            self._focus_first_problem()
            return
        self.status.setText(self.t("forms.enroll.checking_duplicates"))
        self.save_draft(force=True, then=self._check_duplicates)

    def _check_duplicates(self) -> None:
        self.ctx.worker.run(records.duplicate_candidates, self.collect(), self.record_id,
                            on_done=self._got_duplicates, on_error=self._submit_failed)

    def _got_duplicates(self, candidates: list) -> None:
        if not candidates:
            self._submit_now()
            return
        dialog = self.duplicates_dialog = DuplicatesDialog(self.ctx, candidates, self)
        dialog.accepted.connect(self._submit_now)
        dialog.rejected.connect(lambda: self.status.setText(self.t("forms.enroll.submit_cancelled")))
        dialog.finished.connect(lambda _r, back=self.focusWidget(): self._dialog_closed(back))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _dialog_closed(self, back) -> None:
        """Keyboard focus goes back where it was before the dialog."""
        self.duplicates_dialog = None
        self.window().activateWindow()
        (back if back is not None and self.isAncestorOf(back) else self.submit_button).setFocus(Qt.PopupFocusReason)

    def _submit_now(self) -> None:
        self.duplicates_dialog = None
        self.ctx.worker.run(records.submit, self.record_id, on_done=self._submitted, on_error=self._submit_failed)

    def _submitted(self, _duplicates) -> None:
        record_id = self.record_id
        self.clear_form()
        self.status.setText(self.t("forms.enroll.submitted"))
        self.submitted.emit(record_id)
        self.ctx.notify_records_changed()

    def _submit_failed(self, exc) -> None:
        problems = getattr(exc, "problems", None)
        if problems is not None:
            self.problems = list(problems)
            self._display(self.problems)
            self._focus_first_problem()
        self.status.setText(self.error_text(exc))

    # ------------------------------------------------------------------ records
    def new_record(self) -> None:
        self.save_draft(then=self.clear_form)

    def open_record(self, record_id: str) -> None:
        """Load a draft or returned record into the form (what is pending is saved first)."""
        self.save_draft(then=lambda: self.ctx.worker.run(records.get, record_id, on_done=self._loaded,
                                                         on_error=self._submit_failed))

    def _loaded(self, record: dict) -> None:
        if record["state"] not in records.EDITABLE:
            self.status.setText(self.t("forms.enroll.not_editable", state=self.t(label_id(record["state"]))))
            return
        self.clear_form()
        self.record_id, self.state, self.reason = record["id"], record["state"], record.get("reason")
        self.fill(record["data"])
        self._show_all = True
        self._show_banner()
        self.check()
        self.status.setText(self.t("forms.enroll.opened"))
        self.record_loaded.emit(record["id"])
