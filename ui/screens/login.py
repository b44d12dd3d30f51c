"""Login: pick a user, type the password. Also the lock screen (same user only) after an idle lock or Ctrl+L.

The list shows full names (``fieldapp.base.login_names``, written after each unlock), each item holding its login
name as data; a login without a known full name is shown as it is.
"""

from __future__ import annotations

import time

from fieldapp.base import login_names
from fieldapp.store import lockout, users as store_users
from fieldapp.base.errors import AuthError, LockedOut
from fieldapp.store.database import Store
from ui.qt import (QComboBox, QFont, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, Qt, QTimer,
                   QVBoxLayout, QWidget, Signal)
from ui.screens.base import Screen


class LanguageCombo(QComboBox):
    """A language picker that switches the whole UI at once (names shown in their own language).

    Its slots are methods, not lambdas, so Qt disconnects them when the combo is deleted (a lambda
    connected to the app-wide ``language_changed`` outlived a deleted login screen's combo)."""

    def __init__(self, screen: Screen):
        super().__init__(screen)
        self.ctx = screen.ctx
        self.setProperty("i18n_exempt", True)  # "English" and "ខ្មែរ" are shown as their speakers write them
        for lang in ("km", "en"):
            self.addItem(screen.t(f"ui.lang.{lang}"), lang)
        self.follow_language()
        self.currentIndexChanged.connect(self.choose_language)
        self.ctx.language_changed.connect(self.follow_language)

    def choose_language(self, _index: int) -> None:
        self.ctx.set_language(self.currentData())

    def follow_language(self) -> None:
        self.setCurrentIndex(self.findData(self.ctx.lang))


def language_combo(screen: Screen) -> QComboBox:
    return LanguageCombo(screen)


def login_choices(data_dir) -> list[tuple[str, str]]:
    """Worker job (no session, files only): (login name, what the list shows) for every user with a key slot."""
    logins = Store(data_dir).users()
    names = login_names.load(data_dir)
    return [(login, login_names.label(login, names, logins)) for login in logins]


def remember_login_names(session) -> dict[str, str]:
    """Worker job after an unlock (and before a lock): keep the active users' full names for the login list."""
    return login_names.save(session.store.data_dir, store_users.list_users(session))


def heading(parent, scale: float = 1.6) -> QLabel:
    label = QLabel(parent)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    label.setFont(font)
    return label


class LoginScreen(Screen):
    """Emits ``logged_in(user_info)`` once the worker holds the session."""

    title_id = "ui.login.title"
    logged_in = Signal(dict)
    switch_user = Signal()

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self._locked_user: str | None = None
        self._deadline = 0.0
        self._users: list[tuple[str, str]] = []  # (login name, shown as)
        self._busy = False
        self._error = None
        self._demo: dict = {}

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        box = QWidget(self)
        box.setObjectName("loginBox")
        box.setFixedWidth(self.fontMetrics().height() * 32)
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
        self.demo = QLabel(box)
        self.demo.setObjectName("demo")
        self.demo.setWordWrap(True)
        self.demo.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.demo.hide()
        layout.addWidget(self.demo)

        form = QFormLayout()
        self.lang = language_combo(self)
        self.lang_label = QLabel(box)
        self.lang_label.setBuddy(self.lang)
        form.addRow(self.lang_label, self.lang)
        self.user = QComboBox(box)
        self.user.setProperty("i18n_exempt", True)  # user names are data
        self.user_label = QLabel(box)
        self.user_label.setBuddy(self.user)
        form.addRow(self.user_label, self.user)
        self.password = QLineEdit(box)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_label = QLabel(box)
        self.password_label.setBuddy(self.password)
        form.addRow(self.password_label, self.password)
        layout.addLayout(form)

        self.error = QLabel(box)
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.error)
        self.wait = QLabel(box)
        self.wait.setObjectName("lockout")
        self.wait.setWordWrap(True)
        layout.addWidget(self.wait)

        buttons = QHBoxLayout()
        self.submit = QPushButton(box)
        self.submit.setDefault(True)
        self.submit.setAutoDefault(True)
        self.other = QPushButton(box)
        buttons.addWidget(self.other)
        buttons.addStretch(1)
        buttons.addWidget(self.submit)
        layout.addLayout(buttons)

        self.setTabOrder(self.lang, self.user)
        self.setTabOrder(self.user, self.password)
        self.setTabOrder(self.password, self.submit)
        self.setTabOrder(self.submit, self.other)

        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._countdown)
        self.submit.clicked.connect(self.try_login)
        self.password.returnPressed.connect(self.try_login)
        self.other.clicked.connect(self.switch_user)
        self.user.currentIndexChanged.connect(self._user_picked)
        self.retranslate()
        self._set_mode()

    # ------------------------------------------------------------ texts
    def retranslate(self) -> None:
        self.heading.setText(self.t("ui.login.locked_title" if self._locked_user else "ui.login.title"))
        self.info.setText(self.t("ui.login.locked_info" if self._locked_user else "ui.login.info"))
        accounts = ", ".join(f"{user} / {password}" for user, password in self._demo.items())
        self.demo.setText(self.t("ui.login.demo", accounts=accounts))
        self.lang_label.setText(self.t("ui.field.language"))
        self.user_label.setText(self.t("ui.field.user"))
        self.password_label.setText(self.t("ui.field.password"))
        self.submit.setText(self.t("ui.login.unlock" if self._locked_user else "ui.login.submit"))
        self.other.setText(self.t("ui.login.other_user"))
        for widget, msg in ((self.lang, "ui.field.language"), (self.user, "ui.field.user"),
                            (self.password, "ui.field.password"), (self.submit, "ui.login.submit"),
                            (self.other, "ui.login.other_user")):
            widget.setAccessibleName(self.t(msg))
        self.error.setText(self._error_text())
        self._countdown()

    def _error_text(self) -> str:
        if self._error is None:
            return ""
        return self.t(self._error) if isinstance(self._error, str) else self.error_text(self._error)

    def _show_error(self, error=None) -> None:
        """``error``: a message id, an exception from the worker, or None to clear."""
        self._error = error
        self.error.setText(self._error_text())

    # ------------------------------------------------------------ modes
    def set_demo_accounts(self, accounts: dict) -> None:
        """Demo mode only (``fieldapp --demo``): show the demo user names and passwords, printed on purpose."""
        self._demo = dict(accounts or {})
        self.demo.setVisible(bool(self._demo) and self._locked_user is None)
        self.retranslate()

    def show_login(self, prefill: str | None = None) -> None:
        """Unlocked login: any user; the list is read through the worker."""
        self._locked_user = None
        self._show_error()
        self.password.clear()
        self._set_mode()
        self.retranslate()
        preferred = prefill or self.ctx.config.last_user
        self.ctx.worker.call(login_choices, self.ctx.data_dir, on_done=lambda users: self._fill(users, preferred),
                             on_error=self._show_error)

    def show_locked(self, user: str, shown_as: str | None = None) -> None:
        """The lock screen: only ``user`` can continue (or choose another user, which ends the session)."""
        self._locked_user = user
        self._show_error()
        self.password.clear()
        self._fill([(user, shown_as or user)], user)
        self._set_mode()
        self.retranslate()
        self._check_lockout()

    def _set_mode(self) -> None:
        locked = self._locked_user is not None
        self.user.setEnabled(not locked)
        self.demo.setVisible(bool(self._demo) and not locked)
        self.other.setVisible(locked)

    def _fill(self, users: list[tuple[str, str]], preferred: str | None) -> None:
        self._users = [(u, u) if isinstance(u, str) else tuple(u) for u in users]
        self.user.blockSignals(True)
        self.user.clear()
        for login, shown in self._users:
            self.user.addItem(shown, login)
            self.user.setItemData(self.user.count() - 1, login, Qt.ItemDataRole.ToolTipRole)
        index = self.user.findData(preferred) if preferred else -1
        self.user.setCurrentIndex(index if index >= 0 else 0)
        self.user.blockSignals(False)
        self._user_picked()
        (self.password if self._users else self.user).setFocus()

    def _user_picked(self, *_args) -> None:
        self._deadline = 0.0
        self._countdown()
        self._check_lockout()

    def current_user(self) -> str:
        """The login name picked in the list."""
        return self.user.currentData() or ""

    def select_user(self, login: str) -> bool:
        index = self.user.findData(login)
        if index >= 0:
            self.user.setCurrentIndex(index)
        return index >= 0

    def _check_lockout(self) -> None:
        user = self.current_user()
        if user:
            self.ctx.worker.call(lockout.remaining, self.ctx.data_dir, user,
                                 on_done=lambda s, u=user: self._start_wait(s) if u == self.current_user() else None)

    # ------------------------------------------------------------ login
    def try_login(self) -> None:
        user, password = self.current_user(), self.password.text()
        if self._busy or not user or self._waiting():
            return
        if not password:
            self._show_error("ui.login.need_password")
            self.password.setFocus()
            return
        self._busy = True
        self.submit.setEnabled(False)
        self._show_error("ui.login.checking")
        self.ctx.worker.unlock(self.ctx.data_dir, user, password, on_done=self._unlocked, on_error=self._failed)

    def _unlocked(self, user: dict) -> None:
        self._busy = False
        self.password.clear()
        self._show_error()
        self.submit.setEnabled(True)
        self.logged_in.emit(user)

    def _failed(self, exc) -> None:
        self._busy = False
        self.password.clear()
        self.password.setFocus()
        self.submit.setEnabled(True)
        if isinstance(exc, LockedOut):
            self._show_error()
            self._start_wait(exc.seconds)
            return
        self._show_error(exc)
        if isinstance(exc, AuthError):
            self._check_lockout()

    # ------------------------------------------------------- countdown
    def _waiting(self) -> bool:
        return self._deadline > time.monotonic()

    def _start_wait(self, seconds: int) -> None:
        if seconds and seconds > 0:
            self._deadline = time.monotonic() + seconds
            self._tick.start()
        self._countdown()

    def remaining_seconds(self) -> int:
        return max(0, int(self._deadline - time.monotonic() + 0.999))

    def _countdown(self) -> None:
        left = self.remaining_seconds()
        if left > 0:
            self.wait.setText(self.t("ui.login.wait", seconds=self.ctx.format_number(left)))
            self.wait.show()
        else:
            self._tick.stop()
            self.wait.setText("")
            self.wait.hide()
        self.submit.setEnabled(left == 0 and not self._busy)
