"""The dependents of a worker in an editable table (add and remove rows from the keyboard).

Text cells are edited in place; relationship and sex are picked from the code
lists of ``fieldapp.domain.occupations`` (code in the item's user role, label shown);
"disability or chronic illness" is a check box (Space toggles it). Problems
with ``dependents[i].<field>`` paths are shown on the cell itself (tooltip and
colour) and listed under the table, in the current language.
"""

from __future__ import annotations

from fieldapp.domain.khmer import to_ascii_digits
from fieldapp.domain.occupations import choice_label, choices
from ui.qt import (QAbstractItemView, QColor, QComboBox, QHBoxLayout, QKeySequence, QPushButton, QShortcut,
                   QTableWidget, QTableWidgetItem, Qt, QtWidgets, QVBoxLayout, QWidget, Signal)
from ui.widgets.problems import ProblemLabel, split_path

COLUMNS = ("family_name", "given_name", "family_name_latin", "given_name_latin", "relationship", "sex",
           "date_of_birth", "disability_or_chronic_illness")
CHOICE_COLUMNS = {"relationship": "relationship", "sex": "sex"}
CHECK_COLUMN = "disability_or_chronic_illness"
CODE_ROLE = Qt.UserRole + 1
ADD_KEYS, REMOVE_KEYS = "Ctrl+Shift+D", "Ctrl+Del"
_BAD = QColor("#fde7ea")


class _ChoiceDelegate(QtWidgets.QStyledItemDelegate):
    """A combo box editor for the code-list columns."""

    def __init__(self, table: "DependentsTable"):
        super().__init__(table.table)
        self._owner = table

    def _kind(self, index) -> str | None:
        return CHOICE_COLUMNS.get(COLUMNS[index.column()])

    def createEditor(self, parent, option, index):
        kind = self._kind(index)
        if kind is None:
            return super().createEditor(parent, option, index)
        combo = QComboBox(parent)
        combo.addItem("", None)
        for code, label in choices(kind, self._owner.ctx.lang):
            combo.addItem(label, code)
        combo.setAccessibleName(self._owner.ctx.tr(f"field.{COLUMNS[index.column()]}"))
        return combo

    def setEditorData(self, editor, index):
        if isinstance(editor, QComboBox):
            found = editor.findData(index.data(CODE_ROLE))
            editor.setCurrentIndex(max(found, 0))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor, model, index):
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData(), CODE_ROLE)
            model.setData(index, editor.currentText(), Qt.DisplayRole)
        else:
            super().setModelData(editor, model, index)


class DependentsTable(QWidget):
    changed = Signal()

    def __init__(self, ctx, parent=None, shortcut_scope=None):
        """``shortcut_scope``: the widget within which "add dependent" works (default: this table)."""
        super().__init__(parent)
        self.ctx = ctx
        self._loading = False
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("dependents_table")
        self.table.setSelectionBehavior(QAbstractItemView.SelectItems)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.AllEditTriggers)
        self.table.setItemDelegate(_ChoiceDelegate(self))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(140)
        self.table.itemChanged.connect(self._on_item_changed)
        self.add_button = QPushButton(self)
        self.add_button.clicked.connect(self.add_row)
        self.remove_button = QPushButton(self)
        self.remove_button.clicked.connect(self.remove_current)
        self.problem = ProblemLabel(self.table, self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(self.problem)
        for keys, slot, scope in ((ADD_KEYS, self.add_row, shortcut_scope or self),
                                  (REMOVE_KEYS, self.remove_current, self)):
            shortcut = QShortcut(QKeySequence(keys), scope)
            shortcut.setContext(Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.retranslate()

    # ---------------------------------------------------------------- texts
    def retranslate(self) -> None:
        tr = self.ctx.tr
        self.table.setHorizontalHeaderLabels([tr(f"forms.dependents.col.{c}") for c in COLUMNS])
        self.table.setAccessibleName(tr("field.dependents"))
        self.add_button.setText(tr("forms.dependents.add"))
        self.add_button.setToolTip(tr("forms.shortcut_tip", action=tr("forms.dependents.add"),
                                      keys=QKeySequence(ADD_KEYS).toString(QKeySequence.NativeText)))
        self.add_button.setAccessibleName(tr("forms.dependents.add"))
        self.remove_button.setText(tr("forms.dependents.remove"))
        self.remove_button.setToolTip(tr("forms.shortcut_tip", action=tr("forms.dependents.remove"),
                                         keys=QKeySequence(REMOVE_KEYS).toString(QKeySequence.NativeText)))
        self.remove_button.setAccessibleName(tr("forms.dependents.remove"))
        self._loading = True
        try:
            for row in range(self.table.rowCount()):
                for col, name in enumerate(COLUMNS):
                    kind = CHOICE_COLUMNS.get(name)
                    item = self.table.item(row, col)
                    if kind and item is not None and item.data(CODE_ROLE):
                        item.setText(choice_label(kind, item.data(CODE_ROLE), self.ctx.lang))
        finally:
            self._loading = False

    # ---------------------------------------------------------------- rows
    def _new_row(self, row: int, values: dict) -> None:
        for col, name in enumerate(COLUMNS):
            item = QTableWidgetItem()
            value = values.get(name)
            if name == CHECK_COLUMN:
                item.setFlags((item.flags() | Qt.ItemIsUserCheckable) & ~Qt.ItemIsEditable)
                item.setCheckState(Qt.Checked if value is True else Qt.Unchecked)
            elif name in CHOICE_COLUMNS:
                code = value if isinstance(value, str) else None
                item.setData(CODE_ROLE, code)
                item.setText(choice_label(CHOICE_COLUMNS[name], code, self.ctx.lang) if code else "")
            else:
                item.setText("" if value is None else str(value))
            self.table.setItem(row, col, item)

    def add_row(self) -> None:
        row = self.table.rowCount()
        self._loading = True
        try:
            self.table.insertRow(row)
            self._new_row(row, {})
        finally:
            self._loading = False
        self.table.setCurrentCell(row, 0)
        self.table.setFocus(Qt.ShortcutFocusReason)
        self.changed.emit()

    def remove_current(self) -> None:
        row = self.table.currentRow()
        if row < 0 and self.table.rowCount():
            row = self.table.rowCount() - 1
        if row >= 0:
            self.table.removeRow(row)
            if self.table.rowCount():
                self.table.setCurrentCell(min(row, self.table.rowCount() - 1), 0)
            self.changed.emit()

    def _on_item_changed(self, _item) -> None:
        if not self._loading:
            self.changed.emit()

    # ---------------------------------------------------------------- value
    def rows(self) -> list[dict]:
        """The dependents as record JSON (empty cells left out; Khmer digits in dates made ASCII)."""
        out = []
        for row in range(self.table.rowCount()):
            entry: dict = {}
            for col, name in enumerate(COLUMNS):
                item = self.table.item(row, col)
                if item is None:
                    continue
                if name == CHECK_COLUMN:
                    entry[name] = item.checkState() == Qt.Checked
                elif name in CHOICE_COLUMNS:
                    if item.data(CODE_ROLE):
                        entry[name] = item.data(CODE_ROLE)
                else:
                    text = item.text().strip()
                    if text:
                        entry[name] = to_ascii_digits(text) if name == "date_of_birth" else text
            out.append(entry)
        return out

    def set_rows(self, dependents) -> None:
        self._loading = True
        try:
            self.table.setRowCount(0)
            for values in dependents if isinstance(dependents, list) else []:
                row = self.table.rowCount()
                self.table.insertRow(row)
                self._new_row(row, values if isinstance(values, dict) else {})
        finally:
            self._loading = False

    def column_of(self, name: str) -> int:
        return COLUMNS.index(name)

    # ---------------------------------------------------------------- problems
    def show_problems(self, problems) -> None:
        """Mark cells named by ``dependents[i].<field>`` paths; list every message under the table."""
        self._loading = True
        try:
            for row in range(self.table.rowCount()):
                for col in range(len(COLUMNS)):
                    item = self.table.item(row, col)
                    if item is not None and item.toolTip():
                        item.setToolTip("")
                        item.setData(Qt.BackgroundRole, None)
            messages = []
            for problem in problems:
                text = problem.message(self.ctx.lang)
                messages.append(text)
                _key, row, name = split_path(problem.path)
                if row is None or row >= self.table.rowCount():
                    continue
                cols = [COLUMNS.index(name)] if name in COLUMNS else range(len(COLUMNS))
                for col in cols:
                    item = self.table.item(row, col)
                    if item is not None:
                        item.setToolTip("\n".join(filter(None, [item.toolTip(), text])))
                        item.setData(Qt.BackgroundRole, _BAD)
        finally:
            self._loading = False
        self.problem.set_messages(messages)
