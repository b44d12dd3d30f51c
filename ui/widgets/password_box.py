"""Settings' "Your password": the logged-in user changes their own password (the current one, then the new one
twice). The check and the change are ``fieldapp.store.users.change_own_password``, on the DB worker."""

from __future__ import annotations

from fieldapp.base.errors import AuthError
from fieldapp.store import users
from ui.qt import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, Qt
from ui.screens.base import error_text

FIELDS = ("current", "new", "again")


class PasswordBox(QGroupBox):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("my_password")
        self._busy = False
        self._message = None  # a function giving the last message in the current language
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        form.addRow(self.info)
        self.fields: dict[str, tuple[QLabel, QLineEdit]] = {}
        for key in FIELDS:
            edit = QLineEdit(self)
            edit.setObjectName(f"password_{key}")
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setMinimumWidth(self.fontMetrics().height() * 16)
            label = QLabel(self)
            label.setWordWrap(True)
            label.setBuddy(edit)
            form.addRow(label, edit)
            self.fields[key] = (label, edit)
        self.button = QPushButton(self)
        self.button.setObjectName("password_change")
        self.button.setAutoDefault(True)
        self.button.clicked.connect(self.change)
        self.fields["again"][1].returnPressed.connect(self.change)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addStretch(1)
        form.addRow(row)
        self.status = QLabel(self)
        self.status.setObjectName("password_status")
        self.status.setWordWrap(True)
        form.addRow(self.status)
        previous = None
        for widget in [e for _l, e in self.fields.values()] + [self.button]:
            if previous is not None:
                self.setTabOrder(previous, widget)
            previous = widget
        self.retranslate()

    def retranslate(self) -> None:
        tr = self.ctx.tr
        self.setTitle(tr("ui.password.title"))
        self.info.setText(tr("ui.password.info"))
        for key, (label, edit) in self.fields.items():
            label.setText(tr(f"ui.password.{key}"))
            edit.setAccessibleName(tr(f"ui.password.{key}"))
        self.button.setText(tr("ui.password.change"))
        self.button.setAccessibleName(tr("ui.password.change"))
        self.status.setText(self._message() if self._message else "")

    def _say(self, message, error: bool = False) -> None:
        self._message = message
        self.status.setStyleSheet("color: #b00020;" if error else "")
        self.status.setText(message() if message else "")

    def change(self) -> None:
        current, new, again = (self.fields[k][1].text() for k in FIELDS)
        if self._busy:
            return
        if not current or not new:
            self._say(lambda: self.ctx.tr("ui.password.fill_in"), error=True)
            self.fields["current" if not current else "new"][1].setFocus(Qt.FocusReason.OtherFocusReason)
            return
        if new != again:
            self._say(lambda: self.ctx.tr("ui.error.password_mismatch"), error=True)
            self.fields["again"][1].clear()
            self.fields["again"][1].setFocus(Qt.FocusReason.OtherFocusReason)
            return
        self._busy = True
        self.button.setEnabled(False)
        self._say(lambda: self.ctx.tr("ui.password.checking"))
        self.ctx.worker.run(users.change_own_password, current, new, on_done=self._changed, on_error=self._failed)

    def _changed(self, _result=None) -> None:
        self._busy = False
        self.button.setEnabled(True)
        for _label, edit in self.fields.values():
            edit.clear()
        self._say(lambda: self.ctx.tr("ui.password.changed"))

    def _failed(self, exc) -> None:
        self._busy = False
        self.button.setEnabled(True)
        self.fields["current"][1].clear()
        if isinstance(exc, AuthError) and getattr(exc, "msg_id", "") == "core.auth.wrong_password":
            self._say(lambda: self.ctx.tr("ui.password.wrong_current"), error=True)
            self.fields["current"][1].setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self._say(lambda: error_text(self.ctx, exc), error=True)

    def clear(self) -> None:
        """Forget what was typed and said (on lock and when another user signs in)."""
        for _label, edit in self.fields.values():
            edit.clear()
        self._say(None)
