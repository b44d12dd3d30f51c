"""A question before an action on many records at once ("Approve 12 records?"), with the names it concerns.

The safe choice is the default: Enter or Esc goes back; the action needs Ctrl+Enter, or Tab to its button and
Enter or Space. So Ctrl+A then the approve shortcut never approves anything without this question answered.
"""

from __future__ import annotations

from ui.qt import QDialog, QDialogButtonBox, QKeySequence, QLabel, QShortcut, Qt, QVBoxLayout

CONFIRM_KEYS = "Ctrl+Return"
SHOWN_NAMES = 5


class ConfirmDialog(QDialog):
    def __init__(self, ctx, question: str, confirm_text: str, names: list[str] | None = None,
                 detail: str = "", parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("confirm_dialog")
        self.setModal(True)
        self.setWindowTitle(question)
        self.question = QLabel(question, self)
        self.question.setObjectName("confirm_question")
        self.question.setWordWrap(True)
        font = self.question.font()
        font.setBold(True)
        self.question.setFont(font)
        names = list(names or [])
        shown = names[:SHOWN_NAMES]
        if len(names) > len(shown):
            shown.append(ctx.tr("forms.confirm.more", count=ctx.format_number(len(names) - len(shown))))
        self.names = QLabel("\n".join(shown), self)
        self.names.setObjectName("confirm_names")
        self.names.setWordWrap(True)
        self.names.setProperty("i18n_exempt", True)  # people's names: data
        self.names.setVisible(bool(shown))
        self.detail = QLabel(detail, self)
        self.detail.setObjectName("confirm_detail")
        self.detail.setWordWrap(True)
        self.detail.setProperty("i18n_exempt", True)  # the supervisor's own reason text
        self.detail.setVisible(bool(detail))
        self.keys = QLabel(ctx.tr("forms.confirm.keys", keys="Ctrl+Enter"), self)  # the key is labelled Enter
        self.keys.setWordWrap(True)
        self.buttons = QDialogButtonBox(self)
        self.confirm_button = self.buttons.addButton(confirm_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(ctx.tr("forms.confirm.cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        self.confirm_button.setObjectName("confirm_yes")
        self.cancel_button.setObjectName("confirm_no")
        self.confirm_button.setShortcut(QKeySequence(CONFIRM_KEYS))
        keypad = QShortcut(QKeySequence("Ctrl+Enter"), self)  # the Enter of the number pad
        keypad.activated.connect(self.confirm_button.click)
        self.confirm_button.setAccessibleName(confirm_text)
        self.cancel_button.setAccessibleName(ctx.tr("forms.confirm.cancel"))
        self.cancel_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.question, self.names, self.detail, self.keys):
            layout.addWidget(widget)
        layout.addWidget(self.buttons)
        self.cancel_button.setFocus(Qt.FocusReason.OtherFocusReason)


def confirm(ctx, parent, question: str, confirm_text: str, on_yes, names: list[str] | None = None,
            detail: str = "") -> ConfirmDialog:
    """Open the question (window-modal, without blocking); ``on_yes()`` runs only if the user confirms."""
    dialog = ConfirmDialog(ctx, question, confirm_text, names, detail, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.accepted.connect(on_yes)
    dialog.open()
    dialog.cancel_button.setFocus(Qt.FocusReason.OtherFocusReason)
    return dialog


__all__ = ["ConfirmDialog", "confirm"]
