"""Users (supervisors only): list, add a user, reset a password, disable or enable a user."""

from __future__ import annotations

from fieldapp.store import users as core_users
from fieldapp.store.database import ROLES
from ui.qt import (QAbstractItemView, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                   QTableWidget, QTableWidgetItem, QVBoxLayout, Qt)
from ui.screens.base import Screen

COLUMNS = ("name", "full_name", "role", "status")


class UsersScreen(Screen):
    title_id = "ui.nav.users"
    shortcut = "Ctrl+6"
    supervisor_only = True

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self._users: list[dict] = []
        self._message = None
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setTabKeyNavigation(False)
        left.addWidget(self.table)
        self.message = QLabel(self)
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        left.addWidget(self.message)
        layout.addLayout(left, 3)

        right = QVBoxLayout()
        self.add_box = QGroupBox(self)
        form = QFormLayout(self.add_box)
        self.add_fields: dict[str, tuple[QLabel, object]] = {}
        for key in ("user", "full_name", "role", "password", "password_again"):
            if key == "role":
                edit = QComboBox(self.add_box)
                for role in ROLES:
                    edit.addItem("", role)
                edit.setCurrentIndex(edit.findData("outreach"))
            else:
                edit = QLineEdit(self.add_box)
                if key.startswith("password"):
                    edit.setEchoMode(QLineEdit.EchoMode.Password)
            label = QLabel(self.add_box)
            label.setBuddy(edit)
            form.addRow(label, edit)
            self.add_fields[key] = (label, edit)
        self.add_button = QPushButton(self.add_box)
        form.addRow(self.add_button)
        right.addWidget(self.add_box)

        self.selected_box = QGroupBox(self)
        sel = QFormLayout(self.selected_box)
        self.selected_name = QLabel(self.selected_box)
        self.selected_name.setProperty("i18n_exempt", True)  # a user name: data
        self.selected_label = QLabel(self.selected_box)
        sel.addRow(self.selected_label, self.selected_name)
        self.reset_fields: dict[str, tuple[QLabel, QLineEdit]] = {}
        for key in ("new_password", "password_again"):
            edit = QLineEdit(self.selected_box)
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            label = QLabel(self.selected_box)
            label.setBuddy(edit)
            sel.addRow(label, edit)
            self.reset_fields[key] = (label, edit)
        self.reset_button = QPushButton(self.selected_box)
        self.disable_button = QPushButton(self.selected_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.disable_button)
        sel.addRow(buttons)
        right.addWidget(self.selected_box)
        right.addStretch(1)
        layout.addLayout(right, 2)

        order = [self.table] + [e for _l, e in self.add_fields.values()] + [self.add_button] + \
            [e for _l, e in self.reset_fields.values()] + [self.reset_button, self.disable_button]
        for first, second in zip(order, order[1:]):
            self.setTabOrder(first, second)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.add_button.clicked.connect(self.add_user)
        self.add_fields["password_again"][1].returnPressed.connect(self.add_user)
        self.reset_button.clicked.connect(self.reset_password)
        self.reset_fields["password_again"][1].returnPressed.connect(self.reset_password)
        self.disable_button.clicked.connect(self.toggle_disabled)
        self.retranslate()
        self._selection_changed()

    # ------------------------------------------------------------ texts
    def retranslate(self) -> None:
        self.table.setHorizontalHeaderLabels([self.t(f"ui.users.col_{c}") for c in COLUMNS])
        self.table.setAccessibleName(self.t("ui.users.list"))
        self.add_box.setTitle(self.t("ui.users.add_title"))
        for key, (label, edit) in self.add_fields.items():
            label.setText(self.t(f"ui.field.{key}"))
            edit.setAccessibleName(self.t(f"ui.field.{key}"))
        self.add_fields["user"][1].setPlaceholderText(self.t("ui.users.name_hint"))
        role_box = self.add_fields["role"][1]
        for i in range(role_box.count()):
            role_box.setItemText(i, self.t(f"ui.role.{role_box.itemData(i)}"))
        self.add_button.setText(self.t("ui.users.add"))
        self.selected_box.setTitle(self.t("ui.users.selected_title"))
        self.selected_label.setText(self.t("ui.field.user"))
        for key, (label, edit) in self.reset_fields.items():
            label.setText(self.t(f"ui.field.{key}"))
            edit.setAccessibleName(self.t(f"ui.field.{key}"))
        self.reset_button.setText(self.t("ui.users.reset"))
        for button in (self.add_button, self.reset_button):
            button.setAccessibleName(button.text())
        self._fill_table()
        self._selection_changed()
        self._show_message()

    def _fill_table(self) -> None:
        current = self.selected_user()
        self.table.setRowCount(len(self._users))
        for row, user in enumerate(self._users):
            values = (user["name"], user.get("full_name") or "", self.t(f"ui.role.{user['role']}"),
                      self.t("ui.users.disabled" if user["disabled"] else "ui.users.active"))
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, user["name"])
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        if current:
            self.select(current)

    # ------------------------------------------------------------- data
    def activate(self) -> None:
        self.ctx.worker.run(core_users.list_users, on_done=self._loaded, on_error=self._error)

    def _loaded(self, users: list[dict]) -> None:
        self._users = users
        self._fill_table()
        self._selection_changed()

    def select(self, name: str) -> None:
        for row, user in enumerate(self._users):
            if user["name"] == name:
                self.table.selectRow(row)
                return

    def selected_user(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _selected_info(self) -> dict | None:
        name = self.selected_user()
        return next((u for u in self._users if u["name"] == name), None)

    def _selection_changed(self) -> None:
        info = self._selected_info()
        self.selected_name.setText(info["name"] if info else self.t("ui.users.none_selected"))
        self.selected_name.setProperty("i18n_exempt", bool(info))
        self.selected_box.setEnabled(info is not None)
        disabled = bool(info and info["disabled"])
        self.disable_button.setText(self.t("ui.users.enable" if disabled else "ui.users.disable"))
        self.disable_button.setAccessibleName(self.disable_button.text())
        self.disable_button.setEnabled(bool(info) and info["name"] != (self.ctx.user or {}).get("name"))

    # ---------------------------------------------------------- actions
    def _show_message(self, message=None, keep: bool = True) -> None:
        if not keep or message is not None:
            self._message = message
        m = self._message
        if m is None:
            text = ""
        elif isinstance(m, tuple):
            text = self.t(m[0], **{k: v for k, v in m[1].items()})
        else:
            text = self.error_text(m)
        self.message.setText(text)

    def _error(self, exc) -> None:
        self._show_message(exc)

    def add_user(self) -> None:
        f = {k: e for k, (_l, e) in self.add_fields.items()}
        name = self.ctx.ascii_digits(f["user"].text().strip())
        if f["password"].text() != f["password_again"].text():
            self._show_message(("ui.error.password_mismatch", {}))
            f["password_again"].setFocus()
            return
        self.ctx.worker.run(core_users.add_user, name, f["password"].text(), f["role"].currentData(),
                            f["full_name"].text().strip() or None,
                            on_done=lambda _r: self._added(name), on_error=self._error)

    def _added(self, name: str) -> None:
        for key, (_l, edit) in self.add_fields.items():
            if key != "role":
                edit.clear()
        self._show_message(("ui.users.added", {"user": name}))
        self.ctx.worker.run(core_users.list_users, on_done=lambda users: (self._loaded(users), self.select(name)),
                            on_error=self._error)

    def reset_password(self) -> None:
        name = self.selected_user()
        new, again = (e.text() for _l, e in self.reset_fields.values())
        if not name:
            return
        if new != again:
            self._show_message(("ui.error.password_mismatch", {}))
            self.reset_fields["password_again"][1].setFocus()
            return
        self.ctx.worker.run(core_users.change_password, new, user=name, on_done=lambda _r: self._reset_done(name),
                            on_error=self._error)

    def _reset_done(self, name: str) -> None:
        for _l, edit in self.reset_fields.values():
            edit.clear()
        self._show_message(("ui.users.password_reset", {"user": name}))

    def toggle_disabled(self) -> None:
        info = self._selected_info()
        if info is None:
            return
        disable = not info["disabled"]
        password = None
        if not disable:  # enabling again is a password reset: disabling removed the user's key slot
            new, again = (e.text() for _l, e in self.reset_fields.values())
            if new != again:
                self._show_message(("ui.error.password_mismatch", {}))
                self.reset_fields["password_again"][1].setFocus()
                return
            password = new or None
            if password is None:
                self.reset_fields["new_password"][1].setFocus()
        self.ctx.worker.run(core_users.set_disabled, info["name"], disable, password, on_done=lambda _r: self._toggled(
            info["name"], disable), on_error=self._error)

    def _toggled(self, name: str, disabled: bool) -> None:
        for _l, edit in self.reset_fields.values():
            edit.clear()
        self._show_message(("ui.users.now_disabled" if disabled else "ui.users.now_enabled", {"user": name}))
        self.activate()
