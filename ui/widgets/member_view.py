"""A registered member opened from Members: a bar with *Back* (Esc) and *Update…* (Ctrl+U), above the member's
number, version, names, birth date, village, masked national ID, registering office and household."""

from __future__ import annotations

from datetime import date

from fieldapp.domain import household
from fieldapp.domain.occupations import choice_label
from ui.qt import (QFormLayout, QGroupBox, QHBoxLayout, QKeySequence, QPushButton, QScrollArea, QShortcut,
                   Qt, QVBoxLayout, QWidget, Signal)
from ui.widgets.household_view import PeopleGrid, when_text
from ui.widgets.member_text import DASH, born_text, both_names, office_text, village_text
from ui.widgets.member_text import text_label as _label

BACK_KEYS, UPDATE_KEYS = "Esc", "Ctrl+U"
FACTS = ("member_no", "version", "sex", "born", "village", "national_id", "office", "registered_on")



class MemberPage(QWidget):
    back = Signal()
    update_requested = Signal(dict)   # the member shown

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.member: dict | None = None
        self.setObjectName("member_page")
        self.back_button = QPushButton(self, objectName="member_back")
        self.update_button = QPushButton(self, objectName="member_update")
        self.back_button.clicked.connect(self.back.emit)
        self.update_button.clicked.connect(self._update)
        for keys, slot in ((BACK_KEYS, self.back.emit), (UPDATE_KEYS, self._update)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        bar = QHBoxLayout()
        bar.addWidget(self.back_button)
        bar.addStretch(1)
        bar.addWidget(self.update_button)
        self.scroll = QScrollArea(self, objectName="member_view", widgetResizable=True)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget(self.scroll)
        self.scroll.setWidget(body)
        column = QVBoxLayout(body)
        self.title = _label(body, "member_title", data=True)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title.setFont(font)
        self.facts_box = QGroupBox(body)
        form = QFormLayout(self.facts_box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.fact_labels = {key: _label(self.facts_box) for key in FACTS}
        self.fact_values = {key: _label(self.facts_box, f"member_{key}", data=True) for key in FACTS}
        for key in FACTS:
            form.addRow(self.fact_labels[key], self.fact_values[key])
        self.household_box = QGroupBox(body)
        self.people = PeopleGrid(self.household_box)
        QVBoxLayout(self.household_box).addWidget(self.people)
        for widget in (self.title, self.facts_box, self.household_box):
            column.addWidget(widget)
        column.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.scroll, 1)
        self.setTabOrder(self.scroll, self.update_button)
        self.setTabOrder(self.update_button, self.back_button)
        self.retranslate()

    def retranslate(self) -> None:
        tr = self.ctx.tr
        for button, msg_id, keys in ((self.back_button, "forms.records.back", BACK_KEYS),
                                     (self.update_button, "forms.member.update", UPDATE_KEYS)):
            button.setText(tr(msg_id))
            button.setAccessibleName(tr(msg_id))
            button.setToolTip(tr("forms.shortcut_tip", action=tr(msg_id),
                                 keys=QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)))
        for key, label in self.fact_labels.items():
            label.setText(tr(f"forms.member.fact.{key}"))
        self.facts_box.setTitle(tr("forms.member.facts"))
        self.scroll.setAccessibleName(tr("forms.member.view"))
        self.show_member(self.member)

    def show_member(self, member: dict | None) -> None:
        self.member = member
        if member is None:
            return
        ctx = self.ctx
        self.title.setText(both_names(member) or DASH)
        values = {"member_no": str(member.get("member_no") or ""),
                  "version": ctx.format_number(member["version"]) if member.get("version") else DASH,
                  "sex": choice_label("sex", member["sex"], ctx.lang) if member.get("sex") else DASH,
                  "born": born_text(ctx, member),
                  "village": village_text(member.get("village_code"), ctx.lang) or DASH,
                  "national_id": ctx.format_number(member.get("national_id_masked") or "") or DASH,
                  "office": office_text(member.get("office_commune"), ctx.lang) or DASH,
                  "registered_on": when_text(ctx, str(member.get("registered_on") or "")) or DASH}
        for key, value in values.items():
            self.fact_values[key].setText(value)
        people = household.people(member, date.today())
        count = len(people)
        self.household_box.setTitle(ctx.tr("forms.preview.household_one") if count == 1 else
                                    ctx.tr("forms.preview.household", count=ctx.format_number(count)))
        self.people.show_people(ctx, people)
        self.scroll.verticalScrollBar().setValue(0)

    def text(self) -> str:
        """What the page shows, as text (tests, screen readers)."""
        facts = [f"{self.fact_labels[k].text()}: {self.fact_values[k].text()}" for k in FACTS]
        return "\n".join([self.title.text(), *facts, self.household_box.title(), self.people.text()])

    def _update(self) -> None:
        if self.member is not None:
            self.update_requested.emit(self.member)


__all__ = ["MemberPage"]
