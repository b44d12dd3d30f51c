"""The parts of the update (change request) form that say what changes in the household and the names.

- ``RemovalList``: each dependent of the member's current version with a list: *Stays covered*, or removed with a
  reason (death, divorce, turned 18);
- ``AddedDependents``: the enrollment form's household editor (Add spouse Ctrl+Shift+S, Add child Ctrl+Shift+C)
  with a reason for each new person (birth, marriage; a child starts as a birth, a spouse as a marriage);
- ``NameCorrections``: a person chosen from the household, then their names spelled again.
"""

from __future__ import annotations

from dataclasses import replace

from fieldapp.domain.update import ADD_REASONS, NAME_FIELDS, REMOVE_REASONS
from ui.qt import QComboBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QWidget, Signal
from ui.widgets.dependents import HouseholdEditor
from ui.widgets.member_text import _person_short, both_names, name_of

DEFAULT_REASON = {"child": "birth", "spouse": "marriage"}


class RemovalList(QWidget):
    changed = Signal()

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.dependents: list[dict] = []
        self.names: list[QLabel] = []
        self.combos: list[QComboBox] = []
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(0, 3)
        self.grid.setColumnStretch(1, 2)
        self.empty = QLabel(self, objectName="removal_none", wordWrap=True)
        self.grid.addWidget(self.empty, 0, 0, 1, 2)

    def set_dependents(self, dependents: list[dict], removed: list[dict] | None = None) -> None:
        for widget in self.names + self.combos:
            self.grid.removeWidget(widget)
            widget.deleteLater()
        self.dependents = [d for d in dependents or [] if isinstance(d, dict)]
        self.names, self.combos = [], []
        for row, _dep in enumerate(self.dependents, start=1):
            name = QLabel(self, wordWrap=True)
            name.setProperty("i18n_exempt", True)
            combo = QComboBox(self, objectName=f"remove_reason_{row - 1}")
            combo.activated.connect(lambda _i: self.changed.emit())
            name.setBuddy(combo)
            self.grid.addWidget(name, row, 0)
            self.grid.addWidget(combo, row, 1)
            self.names.append(name)
            self.combos.append(combo)
        self.retranslate()
        for item in removed or []:
            index = item.get("index")
            if isinstance(index, int) and 0 <= index < len(self.combos):
                self.combos[index].setCurrentIndex(max(self.combos[index].findData(item.get("reason")), 0))

    def retranslate(self) -> None:
        tr = self.ctx.tr
        self.empty.setText(tr("forms.update.no_dependents"))
        self.empty.setVisible(not self.dependents)
        for dep, name, combo in zip(self.dependents, self.names, self.combos):
            name.setText(_person_short(self.ctx, dep))
            current = combo.currentData()
            combo.clear()
            combo.addItem(tr("forms.update.stays"), None)
            for reason in REMOVE_REASONS:
                combo.addItem(tr("forms.update.remove_because", reason=tr(f"forms.update.reason.{reason}")), reason)
            combo.setCurrentIndex(max(combo.findData(current), 0))
            combo.setAccessibleName(tr("forms.update.remove_label", name=name.text()))

    def value(self) -> list[dict]:
        return [{"index": i, "reason": c.currentData()} for i, c in enumerate(self.combos) if c.currentData()]

    def focus_chain(self) -> list:
        return list(self.combos)


class AddedDependents(HouseholdEditor):
    """New dependents, each with a reason list in its panel's first line."""

    def _new_panel(self):
        panel = super()._new_panel()
        reason = QComboBox(panel, objectName="add_reason")
        label = QLabel(panel)
        label.setBuddy(reason)
        header = panel.layout().itemAtPosition(0, 0).layout()
        header.insertWidget(header.count() - 1, label)
        header.insertWidget(header.count() - 1, reason)
        panel.reason, panel.reason_label = reason, label
        reason.activated.connect(lambda _i: self.changed.emit())
        panel.widgets["relationship"].activated.connect(lambda _i, p=panel: self._default_reason(p))
        QWidget.setTabOrder(panel.widgets["date_of_birth"], reason)
        self._fill_reason(panel)
        return panel

    def add_person(self, relationship=None):
        panel = super().add_person(relationship)
        self._default_reason(panel)
        return panel

    def _default_reason(self, panel) -> None:
        if panel.reason.currentData() is None:
            found = DEFAULT_REASON.get(panel.code("relationship"))
            panel.reason.setCurrentIndex(max(panel.reason.findData(found), 0))
            self.changed.emit()

    def _fill_reason(self, panel) -> None:
        tr, combo = self.ctx.tr, panel.reason
        current = combo.currentData()
        combo.clear()
        combo.addItem(tr("forms.choose"), None)
        for reason in ADD_REASONS:
            combo.addItem(tr(f"forms.update.reason.{reason}"), reason)
        combo.setCurrentIndex(max(combo.findData(current), 0))
        panel.reason_label.setText(tr("forms.update.reason"))
        combo.setAccessibleName(f"{panel.title.text()}: {tr('forms.update.reason')}")

    def _renumber(self) -> None:
        super()._renumber()
        for panel in self.panels:
            if hasattr(panel, "reason"):
                self._fill_reason(panel)

    def focus_chain(self) -> list:
        chain = [w for panel in self.panels for w in panel.focus_chain() + [panel.reason]]
        return chain + [self.buttons["spouse"], self.buttons["child"], self.buttons[None]]

    def value(self) -> list[dict]:
        return [dict(p.values(), reason=p.reason.currentData()) for p in self.panels]

    def set_value(self, added: list[dict]) -> None:
        self.set_rows([{k: v for k, v in d.items() if k != "reason"} for d in added or []])
        for panel, item in zip(self.panels, added or []):
            panel.reason.setCurrentIndex(max(panel.reason.findData(item.get("reason")), 0))

    def show_update_problems(self, problems) -> None:
        """Problems of ``add_dependents[i]...`` shown in panel ``i`` (every field: on Submit)."""
        self.show_all = True
        self.show_problems([replace(p, path=p.path[len("add_"):]) for p in problems
                            if getattr(p, "path", "").startswith("add_dependents[")])


class NameCorrections(QWidget):
    """Choose a person, then type their names as they should be spelled; every person's edit is kept."""

    changed = Signal()

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.people: list[tuple[object, dict]] = []   # (who, current names)
        self.edits: dict = {}                          # who -> names as typed
        self.person = QComboBox(self, objectName="correct_who")
        self.person.currentIndexChanged.connect(self._load)
        self.fields = {key: QLineEdit(self, objectName=f"correct_{key}") for key in NAME_FIELDS}
        self.labels = {key: QLabel(self) for key in ("who", *NAME_FIELDS)}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.labels["who"], self.person)
        self.labels["who"].setBuddy(self.person)
        for key in NAME_FIELDS:
            self.labels[key].setBuddy(self.fields[key])
            self.fields[key].textEdited.connect(self._edited)
            row = QHBoxLayout()
            row.addWidget(self.fields[key])
            form.addRow(self.labels[key], row)
        self._loading = False

    def set_member(self, member: dict, corrections: list[dict] | None = None) -> None:
        self.people = [("member", {k: member.get(k) or "" for k in NAME_FIELDS})]
        for i, dep in enumerate(member.get("dependents") or []):
            if isinstance(dep, dict):
                self.people.append((i, {k: dep.get(k) or "" for k in NAME_FIELDS}))
        self.edits = {}
        for fix in corrections or []:
            current = dict(self._current(fix.get("who")) or {})
            self.edits[fix.get("who")] = dict(current, **{k: fix[k] for k in NAME_FIELDS if k in fix})
        self.retranslate()

    def _current(self, who) -> dict | None:
        return next((names for w, names in self.people if w == who), None)

    def retranslate(self) -> None:
        tr = self.ctx.tr
        self.labels["who"].setText(tr("forms.update.correct_who"))
        self.person.setAccessibleName(tr("forms.update.correct_who"))
        for key in NAME_FIELDS:
            self.labels[key].setText(tr(f"forms.dependents.col.{key}"))
            self.fields[key].setAccessibleName(tr(f"forms.dependents.col.{key}"))
        current = self.person.currentData()
        self.person.blockSignals(True)
        self.person.clear()
        self.person.addItem(tr("forms.update.correct_nobody"), None)
        for who, names in self.people:
            text = both_names(names) or name_of(names)
            self.person.addItem(tr("forms.update.who_member", name=text) if who == "member" else text, who)
        self.person.setCurrentIndex(max(self.person.findData(current), 0) if current is not None else 0)
        self.person.blockSignals(False)
        self._load()

    def _load(self, *_args) -> None:
        who = self.person.currentData()
        names = self.edits.get(who) or self._current(who) or {}
        self._loading = True
        for key, field in self.fields.items():
            field.setText(names.get(key, "") if who is not None else "")
            field.setEnabled(who is not None)
        self._loading = False

    def _edited(self, _text=None) -> None:
        who = self.person.currentData()
        if self._loading or who is None:
            return
        self.edits[who] = {key: field.text().strip() for key, field in self.fields.items()}
        self.changed.emit()

    def value(self) -> list[dict]:
        out = []
        for who, names in self.people:
            edited = self.edits.get(who)
            if edited is None:
                continue
            if any(v != names.get(k, "") for k, v in edited.items()):  # the whole name as it should be spelled
                out.append(dict({k: v for k, v in edited.items() if v}, who=who))
        return out

    def focus_chain(self) -> list:
        return [self.person, *self.fields.values()]


__all__ = ["AddedDependents", "NameCorrections", "RemovalList"]
