"""Enrollment form: a worker and their household, checked as you go, saved as a draft as you go.

Rules are in ``fieldapp.domain.validation`` (pure: run here); every store call goes through the DB worker. A draft
is saved a moment after each change once the member has a name, durably: it survives a crash or a power cut, and
the next login offers it again (``enroll_drafts.DraftFlow``).

Keyboard: one Tab order through the whole form (the worker's fields, the address, work, each person of the
household, the add buttons, consent, the optional extras, Submit); Enter moves on like Tab; Ctrl+Enter submits,
Ctrl+S saves, Ctrl+N starts a new form; Ctrl+Shift+S / Ctrl+Shift+C / Ctrl+Shift+D add a spouse / a child / a
dependent, Ctrl+Del removes the one the focus is in. A field's problem shows once the keyboard has left it (or on
Submit); a failed submit lists every problem at the top and puts the focus on the first.
"""

from __future__ import annotations

from datetime import date

from fieldapp.domain import reasons
from fieldapp.domain.validation import validate_record
from ui.qt import (QApplication, QCheckBox, QComboBox, QEvent, QFormLayout, QGroupBox, QHBoxLayout, QKeySequence,
                   QLabel, QLineEdit, QPushButton, QScrollArea, QShortcut, Qt, QTimer, QtWidgets, QVBoxLayout,
                   QWidget, Signal)
from ui.screens.base import Screen
from ui.screens.enroll_drafts import DraftFlow
from ui.screens.enroll_submit import SubmitFlow
from ui.screens.enroll_fields import (ALIASES, CHOICE_FIELDS, DATE_FIELDS, ORDER, SECTIONS, FormValues, field_of_path,
                                      problem_order)
from ui.widgets.address import AddressPicker, UnitPicker
from ui.widgets.date_edit import DateLineEdit
from ui.widgets.dependents import HouseholdEditor
from ui.widgets.duplicates import DuplicatesDialog
from ui.widgets.print_flow import PrintFlow
from ui.widgets.latin import LatinSuggestion
from ui.widgets.notice import Notice
from ui.widgets.problems import ProblemLabel, ProblemSummary, show_inline

SAVE_KEYS, SUBMIT_KEYS, NEW_KEYS = "Ctrl+S", "Ctrl+Return", "Ctrl+N"
VALIDATE_MS, AUTOSAVE_MS = 300, 800


def focusables(container: QWidget) -> list:
    """The widgets inside ``container`` that Tab stops at, in their current Tab order."""
    found, widget = [], container.nextInFocusChain()
    while widget is not None and widget is not container and len(found) < 500:
        if container.isAncestorOf(widget) and widget.focusPolicy() & Qt.TabFocus:
            found.append(widget)
        widget = widget.nextInFocusChain()
    return found


class EnrollScreen(SubmitFlow, DraftFlow, FormValues, Screen):
    title_id = "ui.nav.enroll"
    shortcut = "Ctrl+2"
    draft_saved = Signal(str)
    submitted = Signal(str)
    record_loaded = Signal(str)
    draft_discarded = Signal()

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.record_id = self.state = self.reason = None
        self.problems: list = []
        self.duplicates_dialog: DuplicatesDialog | None = None
        self.discard_dialog = None
        self._left: set[str] = set()  # fields the keyboard has left: their problems may show
        self._show_all = self._dirty = self._saving = self._loading = self._summary_on = False
        self._resume_checked, self._resume = False, None
        self._after_save: list = []
        self.last_submitted: str | None = None  # Ctrl+P prints its acknowledgement slip
        self.printing = PrintFlow(ctx, self)
        self.printing.message.connect(lambda text: self.status.setText(text))
        self._build()
        self._validate_timer = QTimer(self, singleShot=True, interval=VALIDATE_MS, timeout=self.check)
        self._autosave_timer = QTimer(self, singleShot=True, interval=AUTOSAVE_MS, timeout=self.save_draft)
        for keys, slot in ((SAVE_KEYS, self.save_now), (SUBMIT_KEYS, self.submit), ("Ctrl+Enter", self.submit),
                           (NEW_KEYS, self.new_record), ("Ctrl+P", self.print_last_slip)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        QApplication.instance().focusChanged.connect(self._focus_changed)
        self.retranslate()
        self.clear_form()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        # field key -> input widget, its label, its problem line, its date hint; section -> group box
        self.widgets, self.labels, self.problem_labels, self.hints, self.groups = {}, {}, {}, {}, {}
        self.body = QWidget(self)
        column = QVBoxLayout(self.body)
        for section, keys in SECTIONS:
            group = self.groups[section] = QGroupBox(self.body)
            form = QFormLayout(group)
            form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
            for key in keys:
                form.addRow(*self._field(key, group))
            column.addWidget(group)
        column.addStretch(1)
        self.scroll = QScrollArea(self)
        self.scroll.setObjectName("enroll_scroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.body)
        self.status = QLabel(self, objectName="enroll_status", wordWrap=True)
        self.status.setMinimumHeight(self.status.fontMetrics().height())  # its line is kept: nothing jumps
        self.submit_button, self.save_button, self.discard_button, self.new_button = buttons = \
            [QPushButton(self) for _ in range(4)]
        for button, name, slot in zip(buttons, ("submit", "save", "discard", "new"),
                                      (self.submit, self.save_now, self.discard, self.new_record)):
            button.setObjectName(f"enroll_{name}")
            button.clicked.connect(lambda _checked=False, slot=slot: slot())
        bar = QHBoxLayout()
        bar.addWidget(self.submit_button)
        bar.addWidget(self.save_button)
        bar.addStretch(1)
        bar.addWidget(self.discard_button)
        bar.addWidget(self.new_button)
        # made after the fields, so the first field comes first in the Tab order (a worker typing the next name
        # must never type into these)
        self.banner = QLabel(self, objectName="return_banner", wordWrap=True, visible=False,
                             styleSheet="background: #fff4ce; padding: 0.4em; border: 1px solid #c19c00;")
        self.resume_notice = Notice(self, "resume_notice")
        self.resume_notice.accepted.connect(self.resume)
        self.resume_notice.dismissed.connect(self.dismiss_resume)
        self.summary = ProblemSummary(self)
        self.summary.chosen.connect(self.focus_problem)
        layout = QVBoxLayout(self)
        for widget in (self.banner, self.resume_notice, self.summary):
            layout.addWidget(widget)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.status)
        layout.addLayout(bar)
        self._rebuild_tab_order()

    def _field(self, key: str, parent: QWidget):
        label = QLabel(parent)
        self.labels[key] = label
        if key in ("address", "dependents"):
            if key == "address":
                widget = AddressPicker(self.ctx, parent)
                for picker in getattr(widget, "pickers", {}).values():
                    picker.installEventFilter(self)
            else:
                widget = HouseholdEditor(self.ctx, parent, shortcut_scope=self, input_filter=self,
                                         member_sex=lambda: self.widgets["sex"].currentData())
                widget.structure_changed.connect(self._rebuild_tab_order)
            widget.changed.connect(lambda k=key: self._changed(k))
            self.widgets[key], self.problem_labels[key] = widget, widget.problem
            label.setVisible(False)  # the section's title says it; the whole width goes to the widget
            return (widget,)
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
        if key.endswith("_latin"):
            kind = key[:-len("_latin")]
            LatinSuggestion(widget, self.widgets[kind], kind, on_filled=lambda k=key: self._changed(k))
        label.setBuddy(widget)
        problem = ProblemLabel(widget, parent, keep_space=True)
        self.widgets[key], self.problem_labels[key] = widget, problem
        row = QHBoxLayout()
        if key in DATE_FIELDS:
            hint = self.hints[key] = QLabel(parent, styleSheet="color: #555;", wordWrap=True)
            row.addWidget(widget, 2)
            row.addWidget(hint, 2)
        else:
            row.addWidget(widget, 4)
        row.addWidget(problem, 3)
        return (label, row)

    def _rebuild_tab_order(self) -> None:
        """One Tab order through the form, in reading order (rebuilt when a person is added or removed)."""
        chain: list = []
        for key in ORDER:
            widget = self.widgets[key]
            if key == "dependents":
                chain += widget.focus_chain()
            elif key == "address":
                chain += focusables(widget) or [widget]
            else:
                chain.append(widget)
        chain += [self.submit_button, self.save_button, self.discard_button, self.new_button,
                  self.resume_notice.accept_button, self.resume_notice.dismiss_button, self.summary.list]
        for before, after in zip(chain, chain[1:]):
            QWidget.setTabOrder(before, after)

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
                widget.retranslate()
        for key, kind in CHOICE_FIELDS.items():
            self._fill_combo(self.widgets[key], kind)
        self.widgets["address"].retranslate()
        self.widgets["dependents"].retranslate()
        for button, action, keys in ((self.save_button, "forms.enroll.save", SAVE_KEYS),
                                     (self.submit_button, "forms.enroll.submit", SUBMIT_KEYS),
                                     (self.new_button, "forms.enroll.new", NEW_KEYS),
                                     (self.discard_button, "forms.enroll.discard", None)):
            button.setText(tr(action))
            button.setAccessibleName(tr(action))
            button.setToolTip(tr("forms.shortcut_tip", action=tr(action), keys=QKeySequence(keys).toString(
                QKeySequence.NativeText)) if keys else tr("forms.enroll.discard_tip"))
        self._show_banner()
        self._retranslate_resume()
        self._update_dependent_fields()
        self._display(self.problems)

    def _show_banner(self) -> None:
        returned = self.state == "returned"
        self.banner.setText(self.t("forms.enroll.returned_banner", reason=reasons.render(self.reason, self.ctx.lang))
                            if returned else "")
        self.banner.setAccessibleName(self.banner.text())
        self.banner.setVisible(returned)

    def _update_buttons(self) -> None:
        self.discard_button.setEnabled(self.state in (None, "draft"))

    # ------------------------------------------------------------------ keyboard and focus
    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.KeyPress and event.key() in (Qt.Key_Return, Qt.Key_Enter) and \
                not (event.modifiers() & ~Qt.KeypadModifier):
            if isinstance(obj, UnitPicker) and not obj.commit(hold=True):
                return True  # several places match: the list stays open (a second Enter leaves it unchosen)
            obj.focusNextChild() if isinstance(obj, QWidget) else self.focusNextChild()
            return True
        return super().eventFilter(obj, event)

    def _key_of(self, widget) -> str | None:
        for key, candidate in self.widgets.items():
            if candidate is widget or candidate.isAncestorOf(widget):
                return key
        return None

    def _focus_changed(self, old, new) -> None:
        """Keep the focused field in view; a field the keyboard left may now show its problems."""
        if new is not None and self.body.isAncestorOf(new):
            if new is self.widgets[ORDER[0]]:
                self.scroll.verticalScrollBar().setValue(0)
            else:
                self.scroll.ensureWidgetVisible(new, 8, new.height() * 2)
        if old is None or not self.isAncestorOf(old) or (new is not None and new.window() is not self.window()):
            return  # a popup (a combo box's list, the calendar) is not leaving the field
        key = self._key_of(old)
        if key is None:
            return
        if key == "dependents":
            household = self.widgets[key]
            panel = household.panel_of(old)
            name = panel.field_of(old) if panel is not None else None
            field = panel.widgets.get(name) if name else None
            if field is None or (new is not None and (field is new or field.isAncestorOf(new))):
                return
            panel.left.add(name)
        else:
            container = self.widgets[key]
            if new is not None and (new is container or container.isAncestorOf(new)):
                return
            self._left.add(key)
        self.check()

    def go_to_top(self) -> None:
        """The view at the top, the focus in the first field (after New, Submit, Discard, opening a record)."""
        self.scroll.verticalScrollBar().setValue(0)
        self.widgets[ORDER[0]].setFocus(Qt.OtherFocusReason)

    def clear_form(self) -> None:
        self.record_id = self.state = self.reason = None
        self._left.clear()
        self._show_all = self._dirty = self._summary_on = False
        self.widgets["dependents"].show_all = False
        self.fill(self.defaults())
        self.widgets["address"].set_default(self._office_commune())
        for suggestion in self.findChildren(LatinSuggestion):
            suggestion.reset()
        self._show_banner()
        self._update_buttons()
        self.problems = []
        self._display([])

    def _office_commune(self) -> str | None:
        """The office's area: IT's provisioned default address, else Settings' office commune (small local files)."""
        from ui.widgets.address import office_area

        return office_area(self.ctx)

    # ------------------------------------------------------------------ checking
    def _changed(self, key: str) -> None:
        if self._loading:
            return
        self._dirty = True
        if key in DATE_FIELDS or key == "occupation":
            self._update_dependent_fields()
        if key == "family_name" or key == "given_name":
            self.resume_notice.setVisible(False)
        self._validate_timer.start()
        self._autosave_timer.start()

    def check(self) -> list:
        """Validate the form now (pure, no I/O) and show the problems of the fields the keyboard has left."""
        self._validate_timer.stop()
        _clean, self.problems = validate_record(self.collect())
        self._display(self.problems)
        return self.problems

    def _display(self, problems) -> None:
        household = self.widgets["dependents"]
        household.show_all = self._show_all
        show_inline(problems, self.problem_labels, self.ctx.lang, ALIASES,
                    lambda key: self._show_all or key in self._left, {"dependents": household})
        if self._summary_on and not problems:
            self._summary_on = False
        ordered = sorted(problems, key=problem_order)
        self.summary.show_problems(
            self.t("forms.enroll.fix_problems", count=self.ctx.format_number(len(ordered))),
            [(p.path, p.message(self.ctx.lang)) for p in ordered] if self._summary_on else [])

    def focus_problem(self, path: str) -> None:
        """Put the focus on the field a problem's path names (the view follows it)."""
        key = field_of_path(path)
        if key == "address":
            picker = getattr(self.widgets[key], "first_empty", None)
            (picker() if picker else self.widgets[key]).setFocus(Qt.OtherFocusReason)
        elif key == "dependents":
            if not self.widgets[key].focus_problem(path):
                self.widgets[key].first_button().setFocus(Qt.OtherFocusReason)
        elif key in self.widgets:
            self.widgets[key].setFocus(Qt.OtherFocusReason)

    # ------------------------------------------------------------------ screen
    def hideEvent(self, event) -> None:  # leaving the screen or closing the window
        self.flush()
        super().hideEvent(event)

    def activate(self) -> None:
        if self._dirty:  # e.g. a save refused while the window was locked
            self._autosave_timer.start()
        self.offer_resume()
