"""The main window: first run, login/lock and the workspace (side navigation + stacked screens).

It only assembles screens and moves between them; the screens talk to the core
through ``ctx.worker``.
"""

from __future__ import annotations

from fieldapp.deploy import provisioned
from fieldapp.base.errors import StoreError
from fieldapp.store.database import Store
from ui.idle import IdleWatcher
from ui.qt import (QAction, QHBoxLayout, QKeySequence, QLabel, QListWidget, QListWidgetItem, QMainWindow,
                   QStackedWidget, Qt, QTimer, QWidget)
from ui.screens import SCREENS, SUPERVISOR_ONLY
from ui.screens.first_run import FirstRunScreen
from ui.screens.login import LoginScreen

STATUS_POLL_MS = 5000


class Workspace(QWidget):
    """Side navigation and the stack of screens for one logged-in user."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QHBoxLayout(self)
        self.nav = QListWidget(self)
        self.nav.setObjectName("nav")
        self.stack = QStackedWidget(self)
        layout.addWidget(self.nav, 0)
        layout.addWidget(self.stack, 1)
        self.screens: dict[str, QWidget] = {}
        self.shortcuts: dict[str, QAction] = {}
        for index, (screen_id, cls) in enumerate(SCREENS):
            screen = cls(ctx, self.stack)
            screen.setObjectName(f"screen_{screen_id}")
            self.stack.addWidget(screen)
            self.nav.addItem(QListWidgetItem())
            self.screens[screen_id] = screen
            action = QAction(self)
            action.setShortcut(QKeySequence(getattr(cls, "shortcut", "") or f"Ctrl+{index + 1}"))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _c=False, s=screen_id: self.show_screen(s, focus=True))
            self.addAction(action)
            self.shortcuts[screen_id] = action
        self.nav.currentRowChanged.connect(self._row_changed)
        self.setTabOrder(self.nav, self.stack)
        ctx.language_changed.connect(self.retranslate)
        self.apply_role()
        self.retranslate()

    def ids(self) -> list[str]:
        return list(self.screens)

    def visible_ids(self) -> list[str]:
        return [s for i, s in enumerate(self.screens) if not self.nav.isRowHidden(i)]

    def apply_role(self) -> None:
        supervisor = self.ctx.is_supervisor
        for index, (screen_id, screen) in enumerate(self.screens.items()):
            hidden = not supervisor and (screen_id in SUPERVISOR_ONLY or getattr(screen, "supervisor_only", False))
            self.nav.setRowHidden(index, hidden)
            self.shortcuts[screen_id].setEnabled(not hidden)

    def retranslate(self) -> None:
        width = 0
        for index, (screen_id, screen) in enumerate(self.screens.items()):
            item = self.nav.item(index)
            item.setText(self.ctx.tr(screen.title_id))
            keys = self.shortcuts[screen_id].shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            item.setToolTip(keys)
            width = max(width, self.nav.fontMetrics().horizontalAdvance(item.text()))
        self.nav.setAccessibleName(self.ctx.tr("ui.nav.title"))
        self.nav.setFixedWidth(width + self.nav.fontMetrics().height() * 3)

    def current_id(self) -> str:
        return list(self.screens)[self.stack.currentIndex()]

    def show_screen(self, screen_id: str, focus: bool = False) -> bool:
        if screen_id not in self.visible_ids():
            return False
        row = list(self.screens).index(screen_id)
        if self.nav.currentRow() != row:
            self.nav.setCurrentRow(row)
        else:
            self._row_changed(row)
        if focus:
            focus_first(self.screens[screen_id])
        return True

    def _row_changed(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        screen = self.stack.widget(row)
        if hasattr(screen, "activate"):
            screen.activate()


def focus_first(screen: QWidget) -> None:
    """Put the keyboard focus on the screen's first focusable input."""
    widget = screen.nextInFocusChain()
    while widget is not None and widget is not screen:
        if (screen.isAncestorOf(widget) and widget.isVisible() and widget.isEnabled()
                and widget.focusPolicy() & Qt.FocusPolicy.TabFocus):
            widget.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return
        widget = widget.nextInFocusChain()
    screen.setFocus()


class MainWindow(QMainWindow):
    def __init__(self, ctx, demo: dict | None = None):
        super().__init__()
        self.ctx = ctx
        self.demo = demo or {}
        self.workspace: Workspace | None = None
        self._locked_user: str | None = None
        self.pages = QStackedWidget(self)
        self.setCentralWidget(self.pages)
        self.first_run = FirstRunScreen(ctx, self.pages)
        self.login = LoginScreen(ctx, self.pages)
        self.pages.addWidget(self.first_run)
        self.pages.addWidget(self.login)
        self.first_run.created.connect(self._logged_in)
        self.first_run.provisioned.connect(self._provisioned)
        self.first_run.restored.connect(self._restored)
        self.login.logged_in.connect(self._logged_in)
        self.login.switch_user.connect(self.logout)

        self.idle = IdleWatcher(ctx.config.idle_minutes * 60_000, self)
        self.idle.idle.connect(self.lock)
        self.lock_action = self._action("Ctrl+L", self.lock)
        self.quit_action = self._action("Ctrl+Q", self.close)

        self.status_user = QLabel(self)
        self.status_user.setProperty("i18n_exempt", True)  # a person's name
        self.status_role = QLabel(self)
        self.status_sync = QLabel(self)
        for label in (self.status_user, self.status_role):
            self.statusBar().addWidget(label)
        self.statusBar().addPermanentWidget(self.status_sync)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_POLL_MS)
        self._status_timer.timeout.connect(self._update_status)
        self._status_timer.start()
        ctx.language_changed.connect(self.retranslate)
        ctx.user_changed.connect(self._update_status)
        self.retranslate()

    def _action(self, keys: str, slot) -> QAction:
        action = QAction(self)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    # ------------------------------------------------------------ start
    def start(self, store_exists: bool) -> None:
        """First run if there is no store yet, else the login screen.

        A machine-wide provisioning file left by an installer is applied (in the worker) if it is new here.
        """
        self.ctx.worker.call(provisioned.apply_machine_file, self.ctx.data_dir, on_done=self._machine_file)
        if store_exists:
            self.show_login()
        else:
            self.pages.setCurrentWidget(self.first_run)
            self.first_run.focus_first()
            if Store(self.ctx.data_dir).slots_lost():  # never offer to replace a store IT can recover
                self.first_run.block(StoreError("core.store.slots_lost"))

    def show_login(self) -> None:
        accounts = self.demo.get("accounts") or {}
        self.pages.setCurrentWidget(self.login)
        self.login.set_demo_accounts(accounts)
        self.login.show_login(prefill=self.demo.get("login_user") or next(iter(accounts), None))

    def _restored(self, result: dict) -> None:
        """A backup now fills the data folder: log in with a password of the backup's time."""
        self.show_login()
        self.statusBar().showMessage(self.ctx.tr("core.backup.restored", path=str(self.ctx.data_dir),
                                                 records=self.ctx.format_number(result["records"]),
                                                 resend=self.ctx.format_number(result["to_resend"])), 120_000)

    def _machine_file(self, message: str | None) -> None:
        if message:
            self.statusBar().showMessage(message, 60_000)
            self._provisioned()

    def _provisioned(self) -> None:
        """A provisioning file was applied: its language and idle minutes take effect now."""
        from fieldapp.base import config as app_config

        self.ctx.config = app_config.load(self.ctx.data_dir)
        self.ctx.set_language(self.ctx.config.language)
        self.idle.set_minutes(self.ctx.config.idle_minutes)

    # ---------------------------------------------------------- session
    def _logged_in(self, user: dict) -> None:
        same = self.workspace is not None and self._locked_user == user.get("name")
        self._locked_user = None
        self.ctx.set_user(user)
        if not same:
            self._drop_workspace()
            self.workspace = Workspace(self.ctx, self.pages)
            self.pages.addWidget(self.workspace)
            settings = self.workspace.screens.get("settings")
            if hasattr(settings, "idle_minutes_changed"):
                settings.idle_minutes_changed.connect(self.idle.set_minutes)
        self.pages.setCurrentWidget(self.workspace)
        from fieldapp.outbound import identity

        self.ctx.worker.run(identity.trusted_device, on_done=self._trusted_device, on_error=lambda _exc: None)
        self.idle.set_minutes(self.ctx.config.idle_minutes)
        self.idle.start()
        if same:
            self.workspace.show_screen(self.workspace.current_id())
        else:
            self.workspace.show_screen("home")
        focus_first(self.workspace.stack.currentWidget())

    def _trusted_device(self, dev) -> None:
        """The store's own registration: the background sync uses it rather than device.json while logged in."""
        if self.ctx.sync is not None and dev is not None:
            self.ctx.sync.set_device(dev)

    def lock(self) -> None:
        """Back to the login screen for the same user; the session (and its key) is closed meanwhile."""
        if self.ctx.user is None or self.workspace is None:
            return
        self.idle.stop()
        self._locked_user = self.ctx.user["name"]
        self._flush_screens()
        self.ctx.worker.close_session()
        self.ctx.set_user(None)
        self.pages.setCurrentWidget(self.login)
        self.login.show_locked(self._locked_user)

    def logout(self) -> None:
        """End the session and drop the workspace (unsaved input in it is discarded)."""
        self.idle.stop()
        self._locked_user = None
        self._flush_screens()
        self.ctx.worker.close_session()
        self._drop_workspace()
        if self.ctx.user is not None:
            self.ctx.set_user(None)
        self.show_login()

    def _flush_screens(self) -> None:
        """Queue the screens' pending saves (the enrollment draft) before the session closes: the worker runs jobs in order."""
        if self.workspace is None:
            return
        for screen in self.workspace.screens.values():
            flush = getattr(screen, "flush", None)
            if flush is not None:
                flush()

    def _drop_workspace(self) -> None:
        if self.workspace is not None:
            self.pages.removeWidget(self.workspace)
            self.workspace.deleteLater()
            self.workspace = None

    @property
    def locked(self) -> bool:
        return self._locked_user is not None

    # ----------------------------------------------------------- status
    def retranslate(self) -> None:
        self.setWindowTitle(self.ctx.tr("ui.app.title"))
        self._update_status()

    def _update_status(self) -> None:
        user = self.ctx.user
        self.status_user.setText((user.get("full_name") or user.get("name")) if user else "")
        self.status_role.setText(self.ctx.tr(f"ui.role.{user['role']}") if user and user.get("role") else "")
        progress = self.ctx.sync.latest_progress() if self.ctx.sync is not None else None
        if progress is None:
            key = "ui.sync.not_registered"
        elif progress.online is None:
            key = "ui.sync.unknown"
        else:
            key = "ui.sync.online" if progress.online else "ui.sync.offline"
        self.status_sync.setText(self.ctx.tr(key))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.idle.shutdown()
        self._status_timer.stop()
        super().closeEvent(event)
