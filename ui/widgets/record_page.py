"""A record opened read-only: a bar with *Back* (Esc), *Print slip* (Ctrl+P, once submitted), *Print card*
(Ctrl+Shift+P, once registered with its card) and, for a draft or returned record, *Edit* (Ctrl+E), above the
household preview (``RecordView``). Records shows it in place of its list.
"""

from __future__ import annotations

from fieldapp.domain.states import EDITABLE, State
from ui.qt import QHBoxLayout, QKeySequence, QPushButton, QShortcut, Qt, QVBoxLayout, QWidget, Signal
from ui.widgets.print_flow import PrintFlow
from ui.widgets.record_view import RecordView

BACK_KEYS, EDIT_KEYS, SLIP_KEYS, CARD_KEYS = "Esc", "Ctrl+E", "Ctrl+P", "Ctrl+Shift+P"


class RecordPage(QWidget):
    back = Signal()
    edit = Signal(str)   # the record ID
    message = Signal(str)  # a line for the screen's status (printing)

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("record_page")
        self.back_button = QPushButton(self)
        self.back_button.setObjectName("record_back")
        self.edit_button = QPushButton(self)
        self.edit_button.setObjectName("record_edit")
        self.slip_button = QPushButton(self)
        self.slip_button.setObjectName("record_print_slip")
        self.card_button = QPushButton(self)
        self.card_button.setObjectName("record_print_card")
        self.view = RecordView(ctx, self)
        self.printing = PrintFlow(ctx, self)
        self.printing.message.connect(self.message.emit)
        self.back_button.clicked.connect(self.back.emit)
        self.edit_button.clicked.connect(self._edit)
        self.slip_button.clicked.connect(self.print_slip)
        self.card_button.clicked.connect(self.print_card)
        for keys, slot in ((BACK_KEYS, self.back.emit), (EDIT_KEYS, self._edit), (SLIP_KEYS, self.print_slip),
                           (CARD_KEYS, self.print_card)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        bar = QHBoxLayout()
        bar.addWidget(self.back_button)
        bar.addStretch(1)
        bar.addWidget(self.slip_button)
        bar.addWidget(self.card_button)
        bar.addWidget(self.edit_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.setTabOrder(self.view, self.back_button)
        self.setTabOrder(self.back_button, self.slip_button)
        self.setTabOrder(self.slip_button, self.card_button)
        self.setTabOrder(self.card_button, self.edit_button)
        self.retranslate()

    def retranslate(self) -> None:
        tr = self.ctx.tr
        for button, msg_id, keys in ((self.back_button, "forms.records.back", BACK_KEYS),
                                     (self.edit_button, "forms.records.edit", EDIT_KEYS),
                                     (self.slip_button, "forms.records.print_slip", SLIP_KEYS),
                                     (self.card_button, "forms.records.print_card", CARD_KEYS)):
            button.setText(tr(msg_id))
            button.setAccessibleName(tr(msg_id))
            button.setToolTip(tr("forms.shortcut_tip", action=tr(msg_id),
                                 keys=QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)))
        self.view.retranslate()

    def editable(self) -> bool:
        preview = self.view.preview
        return preview is not None and preview["record"]["state"] in EDITABLE

    def show_preview(self, preview: dict) -> None:
        self.view.set_preview(preview)
        self.view.verticalScrollBar().setValue(0)
        self.edit_button.setVisible(self.editable())
        self.slip_button.setVisible(self.has_slip())
        self.card_button.setVisible(self.has_card())
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def has_slip(self) -> bool:
        preview = self.view.preview
        return preview is not None and preview["record"]["state"] != State.DRAFT.value

    def has_card(self) -> bool:
        preview = self.view.preview
        return (preview is not None and preview["record"]["state"] == State.REGISTERED.value
                and bool(preview["record"].get("member_no")))

    def print_slip(self) -> None:
        if self.has_slip():
            self.printing.start("slip", self.view.record_id())

    def print_card(self) -> None:
        if self.has_card():
            self.printing.start("card", self.view.record_id())

    def _edit(self) -> None:
        if self.editable():
            self.edit.emit(self.view.record_id())


__all__ = ["RecordPage"]
