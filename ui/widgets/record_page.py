"""A record opened read-only: a bar with *Back* (Esc) and, for a draft or returned record, *Edit* (Ctrl+E), above
the household preview (``RecordView``). Records shows it in place of its list.
"""

from __future__ import annotations

from fieldapp.domain.states import EDITABLE
from ui.qt import QHBoxLayout, QKeySequence, QPushButton, QShortcut, Qt, QVBoxLayout, QWidget, Signal
from ui.widgets.record_view import RecordView

BACK_KEYS, EDIT_KEYS = "Esc", "Ctrl+E"


class RecordPage(QWidget):
    back = Signal()
    edit = Signal(str)   # the record ID

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("record_page")
        self.back_button = QPushButton(self)
        self.back_button.setObjectName("record_back")
        self.edit_button = QPushButton(self)
        self.edit_button.setObjectName("record_edit")
        self.view = RecordView(ctx, self)
        self.back_button.clicked.connect(self.back.emit)
        self.edit_button.clicked.connect(self._edit)
        for keys, slot in ((BACK_KEYS, self.back.emit), (EDIT_KEYS, self._edit)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        bar = QHBoxLayout()
        bar.addWidget(self.back_button)
        bar.addStretch(1)
        bar.addWidget(self.edit_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.setTabOrder(self.view, self.back_button)
        self.setTabOrder(self.back_button, self.edit_button)
        self.retranslate()

    def retranslate(self) -> None:
        tr = self.ctx.tr
        for button, msg_id, keys in ((self.back_button, "forms.records.back", BACK_KEYS),
                                     (self.edit_button, "forms.records.edit", EDIT_KEYS)):
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
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _edit(self) -> None:
        if self.editable():
            self.edit.emit(self.view.record_id())


__all__ = ["RecordPage"]
