"""A record opened read-only: a bar with *Back* (Esc), *Print slip* (Ctrl+P, once submitted), *Print card*
(Ctrl+Shift+P, once registered with its card) and, for a draft or returned record, *Edit* (Ctrl+E), above the
household preview (``RecordView``). Records shows it in place of its list. A registered record offers *Update…*
(Ctrl+U: a change request for its member); an update the registry refused as stale offers *Re-base* (Ctrl+B: a new
draft on the member's current version, ``fieldapp.store.updates.rebase``).
"""

from __future__ import annotations

from fieldapp.domain.states import EDITABLE, State
from fieldapp.domain.update import is_update
from ui.qt import QHBoxLayout, QKeySequence, QPushButton, QShortcut, Qt, QVBoxLayout, QWidget, Signal
from ui.widgets.print_flow import PrintFlow
from ui.widgets.record_view import RecordView

BACK_KEYS, EDIT_KEYS, SLIP_KEYS, CARD_KEYS = "Esc", "Ctrl+E", "Ctrl+P", "Ctrl+Shift+P"
UPDATE_KEYS, REBASE_KEYS = "Ctrl+U", "Ctrl+B"
STALE = "stale_version"


class RecordPage(QWidget):
    back = Signal()
    edit = Signal(str)   # the record ID
    message = Signal(str)  # a line for the screen's status (printing)
    update_member = Signal(str, str)  # member number, the registered record's ID
    rebase = Signal(str)  # the refused update's record ID

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
        self.update_button = QPushButton(self, objectName="record_update")
        self.rebase_button = QPushButton(self, objectName="record_rebase")
        self.update_button.clicked.connect(self._update)
        self.rebase_button.clicked.connect(self._rebase)
        self.view = RecordView(ctx, self)
        self.printing = PrintFlow(ctx, self)
        self.printing.message.connect(self.message.emit)
        self.back_button.clicked.connect(self.back.emit)
        self.edit_button.clicked.connect(self._edit)
        self.slip_button.clicked.connect(self.print_slip)
        self.card_button.clicked.connect(self.print_card)
        for keys, slot in ((BACK_KEYS, self.back.emit), (EDIT_KEYS, self._edit), (SLIP_KEYS, self.print_slip),
                           (CARD_KEYS, self.print_card), (UPDATE_KEYS, self._update), (REBASE_KEYS, self._rebase)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        bar = QHBoxLayout()
        bar.addWidget(self.back_button)
        bar.addStretch(1)
        bar.addWidget(self.slip_button)
        bar.addWidget(self.card_button)
        bar.addWidget(self.update_button)
        bar.addWidget(self.rebase_button)
        bar.addWidget(self.edit_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.setTabOrder(self.view, self.back_button)
        self.setTabOrder(self.back_button, self.slip_button)
        self.setTabOrder(self.slip_button, self.card_button)
        self.setTabOrder(self.card_button, self.update_button)
        self.setTabOrder(self.update_button, self.rebase_button)
        self.setTabOrder(self.rebase_button, self.edit_button)
        self.retranslate()

    def retranslate(self) -> None:
        tr = self.ctx.tr
        for button, msg_id, keys in ((self.back_button, "forms.records.back", BACK_KEYS),
                                     (self.edit_button, "forms.records.edit", EDIT_KEYS),
                                     (self.slip_button, "forms.records.print_slip", SLIP_KEYS),
                                     (self.card_button, "forms.records.print_card", CARD_KEYS),
                                     (self.update_button, "forms.member.update", UPDATE_KEYS),
                                     (self.rebase_button, "forms.update.rebase", REBASE_KEYS)):
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
        self.update_button.setVisible(self.can_update())
        self.rebase_button.setVisible(self.can_rebase())
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def has_slip(self) -> bool:
        preview = self.view.preview
        return preview is not None and preview["record"]["state"] != State.DRAFT.value and not self.is_update()

    def is_update(self) -> bool:
        preview = self.view.preview
        return preview is not None and ("update" in preview or is_update(preview["record"].get("data")))

    def has_card(self) -> bool:
        preview = self.view.preview
        return (preview is not None and preview["record"]["state"] == State.REGISTERED.value
                and bool(preview["record"].get("member_no")) and not self.is_update())

    def can_update(self) -> bool:
        """A registered enrollment with its member number: its member may be updated."""
        return self.has_card()

    def can_rebase(self) -> bool:
        """An update the registry refused because the member changed since it was prepared."""
        preview = self.view.preview
        return (preview is not None and self.is_update() and preview["record"]["state"] == "registry_rejected"
                and STALE in str(preview["record"].get("reason") or ""))

    def _update(self) -> None:
        if self.can_update():
            record = self.view.preview["record"]
            self.update_member.emit(record["member_no"], record["id"])

    def _rebase(self) -> None:
        if self.can_rebase():
            self.rebase.emit(self.view.record_id())

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
