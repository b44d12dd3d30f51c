"""First run: apply IT's provisioning file (optional), then create the first supervisor, or restore a backup."""

from __future__ import annotations

from pathlib import Path

from fieldapp.store import backup
from fieldapp.deploy import provisioned
from fieldapp.store.users import MIN_PASSWORD
from ui.qt import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                   QPushButton, Qt, QVBoxLayout, QWidget, Signal)
from ui.screens.base import Screen
from ui.screens.login import heading, language_combo


def apply_provisioning(data_dir, path) -> dict:
    """Worker job: verify and apply IT's signed provisioning file (``fieldapp.deploy.provisioned.apply``)."""
    return provisioned.apply(data_dir, path)


class RestoreDialog(QDialog):
    """Asks for a supervisor of the backed-up store and their password as it was at backup time."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.setWindowTitle(ctx.tr("ui.first.restore_title"))
        form = QFormLayout(self)
        self.user, self.password = QLineEdit(self), QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        for key, edit in (("user", self.user), ("password", self.password)):
            edit.setAccessibleName(ctx.tr(f"ui.field.{key}"))
            form.addRow(ctx.tr(f"ui.field.{key}"), edit)
        hint = QLabel(ctx.tr("ui.first.restore_password_hint"), self)
        hint.setWordWrap(True)
        form.addRow(hint)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ctx.tr("ui.first.restore_go"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(ctx.tr("forms.dup.cancel"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class FirstRunScreen(Screen):
    """Emits ``created(user_info)`` once the new store is open in the worker."""

    title_id = "ui.first.title"
    created = Signal(dict)
    provisioned = Signal()
    #: a backup was restored into the data folder (``backup.restore``'s result): the main window shows the login
    restored = Signal(dict)

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self._busy = False
        self._error = None
        self._applied: dict | None = None
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        box = QWidget(self)
        box.setFixedWidth(self.fontMetrics().height() * 36)
        middle = QHBoxLayout()  # stretches, not an alignment flag: alignment breaks word-wrap height
        middle.addStretch(1)
        middle.addWidget(box)
        middle.addStretch(1)
        outer.addLayout(middle)
        outer.addStretch(2)
        layout = QVBoxLayout(box)
        self.heading = heading(box)
        layout.addWidget(self.heading)
        self.info = QLabel(box)
        self.info.setWordWrap(True)
        layout.addWidget(self.info)

        top = QFormLayout()
        self.lang = language_combo(self)
        self.lang_label = QLabel(box)
        self.lang_label.setBuddy(self.lang)
        top.addRow(self.lang_label, self.lang)
        layout.addLayout(top)

        self.create_box = QGroupBox(box)
        form = QFormLayout(self.create_box)
        self.fields: dict[str, tuple[QLabel, QLineEdit]] = {}
        for key in ("user", "full_name", "password", "password_again"):
            edit = QLineEdit(self.create_box)
            if key.startswith("password"):
                edit.setEchoMode(QLineEdit.EchoMode.Password)
            label = QLabel(self.create_box)
            label.setBuddy(edit)
            form.addRow(label, edit)
            self.fields[key] = (label, edit)
        self.hint = QLabel(self.create_box)
        self.hint.setWordWrap(True)
        form.addRow(self.hint)
        self.create_button = QPushButton(self.create_box)
        self.create_button.setDefault(True)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.create_button)
        form.addRow(row)
        layout.addWidget(self.create_box)

        self.provision_box = QGroupBox(box)
        prov = QVBoxLayout(self.provision_box)
        self.provision_info = QLabel(self.provision_box)
        self.provision_info.setWordWrap(True)
        prov.addWidget(self.provision_info)
        self.provision_button = QPushButton(self.provision_box)
        prov.addWidget(self.provision_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.provision_box)

        self.restore_box = QGroupBox(box)
        restore_row = QHBoxLayout(self.restore_box)
        self.restore_info = QLabel(self.restore_box)
        self.restore_info.setWordWrap(True)
        self.restore_button = QPushButton(self.restore_box)
        self.restore_button.setObjectName("first_run_restore")
        restore_row.addWidget(self.restore_info, 1)
        restore_row.addWidget(self.restore_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addWidget(self.restore_box)

        self.error = QLabel(box)
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)

        edits = [self.lang] + [e for _l, e in self.fields.values()] + [self.create_button, self.provision_button,
                                                                       self.restore_button]
        for first, second in zip(edits, edits[1:]):
            self.setTabOrder(first, second)
        self.create_button.clicked.connect(self.create_supervisor)
        self.fields["password_again"][1].returnPressed.connect(self.create_supervisor)
        self.provision_button.clicked.connect(self.choose_provisioning_file)
        self.restore_button.clicked.connect(self.choose_backup)
        self.retranslate()

    def retranslate(self) -> None:
        self.heading.setText(self.t("ui.first.title"))
        self.info.setText(self.t("ui.first.info"))
        self.lang_label.setText(self.t("ui.field.language"))
        self.lang.setAccessibleName(self.t("ui.field.language"))
        self.create_box.setTitle(self.t("ui.first.create_title"))
        for key, (label, edit) in self.fields.items():
            label.setText(self.t(f"ui.field.{key}"))
            edit.setAccessibleName(self.t(f"ui.field.{key}"))
        self.fields["user"][1].setPlaceholderText(self.t("ui.users.name_hint"))
        self.hint.setText(self.t("ui.users.password_hint", minimum=self.ctx.format_number(MIN_PASSWORD)))
        self.create_button.setText(self.t("ui.first.create"))
        self.create_button.setAccessibleName(self.t("ui.first.create"))
        self.provision_box.setTitle(self.t("ui.first.provision_title"))
        if self._applied:
            self.provision_info.setText(self.t("ui.first.provision_done", server=self._applied["server"]))
        else:
            self.provision_info.setText(self.t("ui.first.provision_info"))
        self.provision_button.setText(self.t("ui.first.provision_button"))
        self.provision_button.setAccessibleName(self.t("ui.first.provision_button"))
        self.restore_box.setTitle(self.t("ui.first.restore_title"))
        self.restore_info.setText(self.t("ui.first.restore_info"))
        self.restore_button.setText(self.t("ui.first.restore_button"))
        self.restore_button.setAccessibleName(self.t("ui.first.restore_button"))
        self._render_error()

    def focus_first(self) -> None:
        self.fields["user"][1].setFocus()

    def block(self, error) -> None:
        """This folder holds a store that must not be replaced (its key slots were lost): say so, create nothing."""
        self._blocked = True
        self.create_button.setEnabled(False)
        self.restore_button.setEnabled(False)
        self._fail(error)

    # ------------------------------------------------------------ create
    def value(self, key: str) -> str:
        return self.fields[key][1].text()

    def create_supervisor(self) -> None:
        if self._busy or getattr(self, "_blocked", False):
            return
        user = self.ctx.ascii_digits(self.value("user").strip())
        password = self.value("password")
        if not user:
            return self._fail("ui.first.need_user", "user")
        if password != self.value("password_again"):
            return self._fail("ui.error.password_mismatch", "password_again")
        self._busy = True
        self.create_button.setEnabled(False)
        self.ctx.worker.create(self.ctx.data_dir, user, password, self.value("full_name").strip(),
                               on_done=self._created, on_error=self._failed)  # with IT's recovery key if provisioned

    def _created(self, user: dict) -> None:
        self._busy = False
        self.create_button.setEnabled(True)
        for _label, edit in self.fields.values():
            edit.clear()
        self._fail(None)
        self.created.emit(user)

    def _failed(self, exc) -> None:
        self._busy = False
        self.create_button.setEnabled(True)
        self._fail(exc, "password" if getattr(exc, "msg_id", "") == "core.user.weak_password" else "user")

    def _fail(self, error, focus: str | None = None) -> None:
        self._error = error
        self._render_error()
        if focus:
            self.fields[focus][1].setFocus()

    def _render_error(self) -> None:
        err = self._error
        self.error.setText("" if err is None else self.t(err) if isinstance(err, str) else self.error_text(err))

    # ------------------------------------------------------ provisioning
    def choose_provisioning_file(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, self.t("ui.first.provision_button"), "",
                                                    self.t("ui.first.provision_filter"))
        if path:
            self.apply_provisioning(path)

    def apply_provisioning(self, path: str) -> None:
        """Apply the file in the worker; the settings it carries (language, idle minutes) take effect at once."""
        if self._busy:
            return
        self._busy = True
        self.ctx.worker.call(apply_provisioning, self.ctx.data_dir, path, on_done=self._provisioned,
                             on_error=self._provision_failed)

    def _provisioned(self, summary: dict) -> None:
        self._busy = False
        self._applied = summary
        self._fail(None)
        self.provisioned.emit()  # the main window reloads the settings (and the language) from the data folder
        self.retranslate()
        self.focus_first()

    def _provision_failed(self, exc) -> None:
        self._busy = False
        self._fail(exc)

    # ------------------------------------------------------------ restore
    def choose_backup(self) -> None:
        if self._busy or getattr(self, "_blocked", False):
            return
        path, _filter = QFileDialog.getOpenFileName(self, self.t("ui.first.restore_button"), "",
                                                    self.t("ui.settings.backup_filter"))
        if not path:
            return
        dialog = RestoreDialog(self.ctx, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.restore_from(path, self.ctx.ascii_digits(dialog.user.text().strip()), dialog.password.text())

    def restore_from(self, path: str, user: str, password: str) -> None:
        """Restore in the worker (no session yet: ``backup.restore`` unlocks the copy itself)."""
        if self._busy or getattr(self, "_blocked", False):
            return
        self._busy = True
        for button in (self.create_button, self.restore_button):
            button.setEnabled(False)
        self._fail("ui.first.restore_running")
        self.ctx.worker.call(backup.restore, Path(path), self.ctx.data_dir, user, password,
                             on_done=self._restored, on_error=self._restore_failed)

    def _restored(self, result: dict) -> None:
        self._busy = False
        for button in (self.create_button, self.restore_button):
            button.setEnabled(True)
        self._fail(None)
        self.restored.emit(result)

    def _restore_failed(self, exc) -> None:
        self._busy = False
        for button in (self.create_button, self.restore_button):
            button.setEnabled(True)
        self._fail(exc)
