"""One dependent of the household in a small panel of ordinary fields.

Every field is a real widget that exists before the worker reaches it (line edits, combo boxes, a date field), so
every keystroke lands where the focus is: nothing is created on the first key press, and nothing rewrites a field
while it is being typed in. (The table this replaces opened its cell editors on the first key press and, worse,
re-coloured the cell being edited whenever the as-you-type check ran: ``QAbstractItemView.dataChanged`` then calls
``setEditorData`` on the open editor, which threw away what had been typed since the cell opened.)

Tab order is reading order: relationship, family and given name (Khmer), their Latin spellings, sex, date of birth
(its age shown beside it), and the disability or chronic illness question where the rule needs it
(``fieldapp.domain.entry.illness_question_needed``; its space is kept when it is hidden, so nothing moves).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from fieldapp.domain import entry
from fieldapp.domain.occupations import choices
from ui.qt import (QCheckBox, QComboBox, QFrame, QGridLayout, QHBoxLayout, QKeySequence, QLabel, QLineEdit,
                   QPushButton, QSizePolicy, Qt, Signal)
from ui.widgets.date_edit import DateLineEdit, describe
from ui.widgets.latin import LatinSuggestion
from ui.widgets.problems import ProblemLabel, mark_problem

FIELDS = ("relationship", "family_name", "given_name", "family_name_latin", "given_name_latin", "sex",
          "date_of_birth", "disability_or_chronic_illness")
TEXT = ("family_name", "given_name", "family_name_latin", "given_name_latin")
CHOICES = {"relationship": "relationship", "sex": "sex"}
ILLNESS = "disability_or_chronic_illness"
REMOVE_KEYS = "Ctrl+Del"
# where each field sits: (row, column of its label); the field is in the next column
_GRID = {"family_name": (1, 0), "given_name": (1, 2), "family_name_latin": (2, 0), "given_name_latin": (2, 2),
         "sex": (3, 0), "date_of_birth": (3, 2)}


class PersonPanel(QFrame):
    """``changed`` after any edit; ``remove_requested`` asks the household to drop this panel."""

    changed = Signal()
    remove_requested = Signal(object)

    def __init__(self, ctx, parent=None, input_filter=None, member_sex=None):
        """``input_filter``: an event filter for the inputs (the form's Enter-moves-on); ``member_sex()``: the
        member's sex code, for a new spouse's default."""
        super().__init__(parent)
        self.ctx = ctx
        self.member_sex = member_sex or (lambda: None)
        self.number = 1
        self.left: set[str] = set()  # fields the keyboard has left: their problems may be shown
        self._loading = False
        self.setObjectName("person_panel")
        self.setFrameShape(QFrame.StyledPanel)
        self.widgets: dict = {}
        self.labels: dict[str, QLabel] = {}
        grid = QGridLayout(self)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.title = QLabel(self, objectName="person_title")
        self.title.setStyleSheet("font-weight: bold;")
        self.remove_button = QPushButton(self, objectName="remove_person")
        self.remove_button.setFocusPolicy(Qt.ClickFocus)  # Ctrl+Del from the keyboard: Tab goes field to field
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        header = QHBoxLayout()
        header.addWidget(self.title)
        for name in FIELDS:
            widget = self._make(name)
            widget.setObjectName(f"dependent_{name}")
            self.widgets[name] = widget
            if input_filter is not None and name != ILLNESS:
                widget.installEventFilter(input_filter)
        self.labels["relationship"] = QLabel(self)
        self.labels["relationship"].setBuddy(self.widgets["relationship"])
        header.addWidget(self.labels["relationship"])
        header.addWidget(self.widgets["relationship"], 1)
        header.addStretch(1)
        header.addWidget(self.remove_button)
        grid.addLayout(header, 0, 0, 1, 4)
        for name, (row, col) in _GRID.items():
            label = self.labels[name] = QLabel(self)
            label.setBuddy(self.widgets[name])
            grid.addWidget(label, row, col)
            if name == "date_of_birth":
                cell = QHBoxLayout()
                cell.addWidget(self.widgets[name], 1)
                cell.addWidget(self.age)
                grid.addLayout(cell, row, col + 1)
            else:
                grid.addWidget(self.widgets[name], row, col + 1)
        # one line under the fields, its room kept: the panel's problems on the left, the illness question (where
        # the rule needs it) on the right, so neither moves anything when it appears
        self.problem = ProblemLabel(None, self, keep_space=True)
        grid.addWidget(self.problem, 4, 0, 1, 2)
        grid.addWidget(self.widgets[ILLNESS], 4, 2, 1, 2, Qt.AlignTop)
        self.suggestions = [LatinSuggestion(self.widgets[f"{kind}_latin"], self.widgets[kind], kind, self._edited)
                            for kind in ("family_name", "given_name")]
        self.setTabOrder(self.widgets["relationship"], self.widgets["family_name"])
        for before, after in zip(FIELDS, FIELDS[1:]):
            self.setTabOrder(self.widgets[before], self.widgets[after])
        self.retranslate()

    def _make(self, name: str):
        if name in CHOICES:
            widget = QComboBox(self)
            widget.activated.connect(lambda _i, n=name: self._choice_changed(n))
        elif name == ILLNESS:
            widget = QCheckBox(self)
            policy = widget.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            widget.setSizePolicy(policy)
            widget.setVisible(False)
            widget.toggled.connect(lambda _on: self._edited())
        elif name == "date_of_birth":
            widget = DateLineEdit(self.ctx, self, latest=date.today())
            widget.textEdited.connect(lambda _t: self._edited())
            widget.picked.connect(lambda _t: self._edited())
            self.age = QLabel(self, objectName="dependent_age")
            self.age.setMinimumWidth(self.fontMetrics().horizontalAdvance("0") * 12)
            self.age.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Preferred)
        else:
            widget = QLineEdit(self)
            widget.textEdited.connect(lambda _t: self._edited())
        return widget

    # ---------------------------------------------------------------- texts
    def retranslate(self, number: int | None = None) -> None:
        tr = self.ctx.tr
        self.number = number or self.number
        self.title.setText(tr("forms.dependents.person_title", number=self.ctx.format_number(self.number)))
        for name, widget in self.widgets.items():
            text = tr(f"forms.dependents.col.{name}")
            widget.setAccessibleName(f"{self.title.text()}: {text}")
            if name in self.labels:
                self.labels[name].setText(text)
            if name in CHOICES:
                self._fill(widget, CHOICES[name])
        self.widgets[ILLNESS].setText(tr("forms.dependents.illness_question"))
        self.widgets[ILLNESS].setToolTip(tr("forms.dependents.illness_tip"))
        self.widgets["date_of_birth"].retranslate()
        self.remove_button.setText(tr("forms.dependents.remove"))
        self.remove_button.setAccessibleName(f"{tr('forms.dependents.remove')} {self.title.text()}")
        self.remove_button.setToolTip(tr("forms.shortcut_tip", action=tr("forms.dependents.remove"),
                                         keys=QKeySequence(REMOVE_KEYS).toString(QKeySequence.NativeText)))
        self.refresh()

    def _fill(self, combo: QComboBox, kind: str) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(self.ctx.tr("forms.choose"), None)
        for code, label in choices(kind, self.ctx.lang):
            combo.addItem(label, code)
        combo.setCurrentIndex(max(combo.findData(current), 0))
        combo.blockSignals(False)

    # ---------------------------------------------------------------- editing
    def _edited(self) -> None:
        if self._loading:
            return
        self.refresh()
        self.changed.emit()

    def _choice_changed(self, name: str) -> None:
        if name == "relationship" and self.code("relationship") == "spouse" and self.code("sex") is None:
            self.default_spouse_sex()
        self._edited()

    def code(self, name: str) -> str | None:
        return self.widgets[name].currentData()

    def set_code(self, name: str, code: str | None) -> None:
        combo = self.widgets[name]
        combo.setCurrentIndex(max(combo.findData(code), 0))

    def default_spouse_sex(self) -> None:
        """A new spouse starts with the other sex than the member's (the worker can change it)."""
        found = entry.spouse_sex(self.member_sex())
        if found is not None:
            self.set_code("sex", found)

    def refresh(self) -> None:
        """The age beside the birth date, and the illness question where the rule needs it."""
        dob = self.widgets["date_of_birth"]
        self.age.setText(describe(self.ctx, dob.text(), long_form=False))
        self.age.setToolTip(describe(self.ctx, dob.text()))
        illness = self.widgets[ILLNESS]
        illness.setVisible(entry.illness_question_needed(self.code("relationship"), dob.current_date(),
                                                         ticked=illness.isChecked()))

    # ---------------------------------------------------------------- value
    def values(self) -> dict:
        """This dependent as record JSON (empty fields left out; the birth date as ``YYYY-MM-DD``)."""
        out: dict = {}
        for name in FIELDS:
            widget = self.widgets[name]
            if name in CHOICES:
                value = widget.currentData()
            elif name == ILLNESS:
                value = widget.isChecked()
            elif name == "date_of_birth":
                value = widget.iso_text()
            else:
                value = widget.text().strip()
            if value or name == ILLNESS:
                out[name] = value
        return out

    def set_values(self, values: dict) -> None:
        self._loading = True
        try:
            for name in FIELDS:
                value, widget = values.get(name), self.widgets[name]
                if name in CHOICES:
                    self.set_code(name, value if isinstance(value, str) else None)
                elif name == ILLNESS:
                    widget.setChecked(value is True)
                elif name == "date_of_birth":
                    widget.set_value(value)
                else:
                    widget.setText("" if value is None else str(value))
        finally:
            self._loading = False
        self.refresh()

    def is_empty(self) -> bool:
        return not any(v for k, v in self.values().items() if k != ILLNESS)

    def focus_chain(self) -> list:
        return [self.widgets[name] for name in FIELDS]

    def field_of(self, widget) -> str | None:
        for name, candidate in self.widgets.items():
            if candidate is widget or candidate.isAncestorOf(widget):
                return name
        return None

    # ---------------------------------------------------------------- problems
    def show_problems(self, problems, show_all: bool = False) -> list:
        """Mark the fields named by ``problems`` (``(field or None, Problem)``) that the keyboard has left (every
        one with ``show_all``) and list their messages under the panel; returns the problems shown."""
        shown = [(name, p) for name, p in problems if show_all or name is None or name in self.left]
        bad = {name for name, _p in shown}
        for name, widget in self.widgets.items():
            mark_problem(widget, name in bad)
        texts = [replace(p, path=name or "").message(self.ctx.lang) if name else p.message(self.ctx.lang)
                 for name, p in shown]
        self.problem.set_messages(texts)
        return [p for _n, p in shown]
