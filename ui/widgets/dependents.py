"""The member's household: one ``PersonPanel`` per dependent, and the buttons that add one.

Keyboard: *Add spouse* (Ctrl+Shift+S) and *Add child* (Ctrl+Shift+C) add a panel with its relationship chosen and
put the focus in its family name; *Add dependent* (Ctrl+Shift+D) adds one whose relationship is still to choose
(the focus starts there); Ctrl+Del removes the panel the focus is in. Tab goes through each panel's fields in
order, then to the add buttons, then on to whatever follows in the form (``focus_chain`` gives the form the
order; there is no Tab trap). *Add spouse* is hidden while the household has a spouse (one at most).
Problems with ``dependents[i].<field>`` paths are shown in panel ``i``, on the fields the keyboard has left.
"""

from __future__ import annotations

from ui.qt import (QApplication, QHBoxLayout, QKeySequence, QLabel, QPushButton, QShortcut, Qt, QVBoxLayout, QWidget,
                   Signal)
from ui.widgets.person_panel import REMOVE_KEYS, PersonPanel
from ui.widgets.problems import ProblemLabel, split_path

ADD_KEYS, SPOUSE_KEYS, CHILD_KEYS = "Ctrl+Shift+D", "Ctrl+Shift+S", "Ctrl+Shift+C"
ADD_ACTIONS = (("spouse", SPOUSE_KEYS, "forms.dependents.add_spouse"),
               ("child", CHILD_KEYS, "forms.dependents.add_child"),
               (None, ADD_KEYS, "forms.dependents.add"))


class HouseholdEditor(QWidget):
    """``changed`` after any edit, addition or removal; ``structure_changed`` after an addition or removal (the form
    then rebuilds its Tab order)."""

    changed = Signal()
    structure_changed = Signal()

    def __init__(self, ctx, parent=None, shortcut_scope=None, input_filter=None, member_sex=None):
        """``shortcut_scope``: the widget within which the add keys work (default: this one); ``input_filter``: an
        event filter installed on every input; ``member_sex()``: the member's sex code (a new spouse's default)."""
        super().__init__(parent)
        self.ctx = ctx
        self.input_filter, self.member_sex = input_filter, member_sex
        self.panels: list[PersonPanel] = []
        self.show_all = False
        self._problems: list = []
        self.empty_note = QLabel(self, objectName="household_empty", wordWrap=True)
        self.empty_note.setStyleSheet("color: #555;")
        self.column = QVBoxLayout()
        self.column.setContentsMargins(0, 0, 0, 0)
        self.buttons: dict = {}
        bar = QHBoxLayout()
        for relationship, keys, _msg in ADD_ACTIONS:
            button = QPushButton(self, objectName=f"add_{relationship or 'dependent'}")
            button.clicked.connect(lambda _c=False, r=relationship: self.add_person(r))
            self.buttons[relationship] = button
            bar.addWidget(button)
            shortcut = QShortcut(QKeySequence(keys), shortcut_scope or self)
            shortcut.setContext(Qt.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda r=relationship: self.add_person(r))
        self.buttons[None].setFocusPolicy(Qt.ClickFocus)  # its keys add one; Tab: spouse/child, then consent
        bar.addStretch(1)
        remove = QShortcut(QKeySequence(REMOVE_KEYS), self)
        remove.setContext(Qt.WidgetWithChildrenShortcut)
        remove.activated.connect(self.remove_current)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.problem = ProblemLabel(None, self)  # a problem of the whole list (too many); the rest are per panel
        layout.addWidget(self.empty_note)
        layout.addLayout(self.column)
        layout.addWidget(self.problem)
        layout.addLayout(bar)
        self.retranslate()

    # ---------------------------------------------------------------- texts
    def retranslate(self) -> None:
        tr = self.ctx.tr
        self.empty_note.setText(tr("forms.dependents.none"))
        for relationship, keys, msg in ADD_ACTIONS:
            button = self.buttons[relationship]
            button.setText(tr(msg))
            button.setAccessibleName(tr(msg))
            button.setToolTip(tr("forms.shortcut_tip", action=tr(msg),
                                 keys=QKeySequence(keys).toString(QKeySequence.NativeText)))
        self.setAccessibleName(tr("field.dependents"))
        self._renumber()

    def _renumber(self) -> None:
        for number, panel in enumerate(self.panels, start=1):
            panel.retranslate(number)
        self.empty_note.setVisible(not self.panels)
        self._spouse_button()

    def _spouse_button(self) -> None:
        self.buttons["spouse"].setVisible(not any(p.code("relationship") == "spouse" for p in self.panels))

    # ---------------------------------------------------------------- panels
    def _new_panel(self) -> PersonPanel:
        panel = PersonPanel(self.ctx, self, input_filter=self.input_filter, member_sex=self.member_sex)
        panel.changed.connect(self._panel_changed)
        panel.remove_requested.connect(self.remove_panel)
        self.column.addWidget(panel)
        panel.show()  # now, not when the event loop next runs (a layout shows new children later): the keys
        self.panels.append(panel)  # typed right after Ctrl+Shift+S must find it focusable
        return panel

    def add_person(self, relationship: str | None = None) -> PersonPanel:
        """A new panel at the end; the focus goes to its family name (or its relationship, when not given)."""
        panel = self._new_panel()
        if relationship:
            panel.set_code("relationship", relationship)
            if relationship == "spouse":
                panel.default_spouse_sex()
        self._renumber()
        panel.refresh()
        self.structure_changed.emit()
        target = panel.widgets["family_name" if relationship else "relationship"]
        target.setFocus(Qt.ShortcutFocusReason)
        self.changed.emit()
        return panel

    def panel_of(self, widget) -> PersonPanel | None:
        return next((p for p in self.panels if widget is not None and (p is widget or p.isAncestorOf(widget))), None)

    def remove_current(self) -> None:
        panel = self.panel_of(QApplication.focusWidget()) or (self.panels[-1] if self.panels else None)
        if panel is not None:
            self.remove_panel(panel)

    def remove_panel(self, panel: PersonPanel) -> None:
        focused = QApplication.focusWidget()
        had_focus = focused is not None and panel.isAncestorOf(focused)
        index = self.panels.index(panel)
        self._drop(panel)
        self._renumber()
        self.structure_changed.emit()
        if had_focus:
            following = self.panels[min(index, len(self.panels) - 1)] if self.panels else None
            (following.widgets["family_name"] if following else self.first_button()).setFocus(Qt.OtherFocusReason)
        self.changed.emit()

    def _drop(self, panel: PersonPanel) -> None:
        self.panels.remove(panel)
        self.column.removeWidget(panel)
        panel.hide()
        panel.deleteLater()

    def first_button(self) -> QPushButton:
        spouse = self.buttons["spouse"]
        return spouse if spouse.isVisibleTo(self) else self.buttons["child"]

    def _panel_changed(self) -> None:
        self._spouse_button()
        self.changed.emit()

    def focus_chain(self) -> list:
        """Every input in Tab order: each panel's fields, then the add buttons."""
        chain = [w for panel in self.panels for w in panel.focus_chain()]
        return chain + [self.buttons["spouse"], self.buttons["child"], self.buttons[None]]

    # ---------------------------------------------------------------- value
    def rows(self) -> list[dict]:
        return [panel.values() for panel in self.panels]

    def set_rows(self, dependents) -> None:
        for panel in list(self.panels):
            self._drop(panel)
        for values in dependents if isinstance(dependents, list) else []:
            self._new_panel().set_values(values if isinstance(values, dict) else {})
        self._renumber()
        self.structure_changed.emit()

    def clear_left(self) -> None:
        for panel in self.panels:
            panel.left.clear()

    # ---------------------------------------------------------------- problems
    def show_problems(self, problems) -> None:
        """Show each ``dependents[i]...`` problem in panel ``i`` (on fields the keyboard has left, or all of them
        once ``show_all`` is set); a problem of the whole list (too many, not a list) under the last panel."""
        self._problems = list(problems)
        per_panel: dict[int, list] = {}
        general = []
        for problem in problems:
            _key, row, name = split_path(problem.path)
            if row is not None and row < len(self.panels):
                per_panel.setdefault(row, []).append((name, problem))
            else:
                general.append((None, problem))
        for index, panel in enumerate(self.panels):
            panel.show_problems(per_panel.get(index, []), self.show_all)
        self.problem.set_messages([p.message(self.ctx.lang) for _n, p in general] if self.show_all else [])

    def focus_problem(self, path: str) -> bool:
        """Put the focus on the field ``path`` names (``dependents[i].<field>``); False when there is none."""
        _key, row, name = split_path(path)
        if row is None or row >= len(self.panels):
            return False
        panel = self.panels[row]
        widget = panel.widgets.get(name or "family_name") or panel.widgets["family_name"]
        if not widget.isVisible():
            widget = panel.widgets["family_name"]
        widget.setFocus(Qt.OtherFocusReason)
        return True
