"""The main window: first run, login/lock and the workspace (``ui.workspace``: side panel + stacked screens).

It only assembles screens and moves between them; the screens talk to the core
through ``ctx.worker``. It is never larger than the screen (``fit_to_screen``), so the status bar (user, role,
connection) always shows.
"""

from __future__ import annotations

import time

from fieldapp.deploy import provisioned
from fieldapp.base.errors import StoreError
from fieldapp.store.database import Store
from ui.idle import IdleWatcher
from ui.qt import QAction, QGuiApplication, QKeySequence, QLabel, QMainWindow, QRect, QSize, QStackedWidget, Qt, QTimer
from ui.screens.first_run import FirstRunScreen
from ui.screens.login import LoginScreen, remember_login_names
from ui.workspace import LOCK_KEYS, Workspace, focus_first  # noqa: F401 (focus_first: old importers)

STATUS_POLL_MS = 5000
PREFERRED_EM = (64, 40)  # the window's preferred size in line heights, when the screen has room for it
SMALLEST = QSize(640, 480)  # never smaller than this (unless the screen is)


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
        self.lock_action = self._action(LOCK_KEYS, self.lock)
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
        self._message = None  # (text function, until when) of the status bar's message, shown again in a new language
        self._fitted_screen = None
        self._area: QRect | None = None
        ctx.language_changed.connect(self.retranslate)
        ctx.user_changed.connect(self._update_status)
        self.retranslate()

    # ------------------------------------------------------------ size
    def fit_to_screen(self, available: QRect | None = None) -> bool:
        """Never larger than the screen: capped to its available area less the window frame, so the title bar and
        the status bar stay on screen whatever the screens' content asks for (an explicit minimum size keeps the
        layout from growing the window). Returns True when the preferred size does not fit (show it maximized)."""
        self._area = available  # a given area (the fit test's screen) wins over the real screen's from now on
        if available is None:
            screen = self.screen() or QGuiApplication.primaryScreen()
            if screen is None:
                return False
            available = screen.availableGeometry()
        frame = self.frameGeometry().size() - self.geometry().size()  # title bar and borders (0 until mapped)
        limit = QSize(max(available.width() - max(frame.width(), 0), 1),
                      max(available.height() - max(frame.height(), 0), 1))
        self.setMinimumSize(SMALLEST.boundedTo(limit))
        self.setMaximumSize(limit)
        em = self.fontMetrics().height()
        preferred = QSize(em * PREFERRED_EM[0], em * PREFERRED_EM[1])
        if not self.isMaximized():
            self.resize(preferred.boundedTo(limit))
        return preferred.width() > limit.width() or preferred.height() > limit.height()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        QTimer.singleShot(0, self._refit)  # the frame's size is known once the window manager has framed it

    def _refit(self) -> None:
        """Shown, or the screen changed: cap again with the real frame, and move the frame back onto the screen."""
        screen = self.screen()
        if screen is None or self.isFullScreen():
            return
        if screen is not self._fitted_screen:
            if self._fitted_screen is not None:
                self._fitted_screen.availableGeometryChanged.disconnect(self._screen_changed)
            screen.availableGeometryChanged.connect(self._screen_changed)
            self._fitted_screen = screen
        area = self._area if self._area is not None else screen.availableGeometry()
        frame = self.frameGeometry().size() - self.geometry().size()
        self.setMaximumSize(QSize(max(area.width() - frame.width(), 1), max(area.height() - frame.height(), 1)))
        outer = self.frameGeometry()
        if not self.isMaximized() and not area.contains(outer):
            self.move(max(area.left(), min(outer.left(), area.right() - outer.width() + 1)),
                      max(area.top(), min(outer.top(), area.bottom() - outer.height() + 1)))

    def _screen_changed(self, _area=None) -> None:
        self._refit()

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
        self.show_message(lambda: self.ctx.tr("core.backup.restored", path=str(self.ctx.data_dir),
                                              records=self.ctx.format_number(result["records"]),
                                              resend=self.ctx.format_number(result["to_resend"])), 120_000)

    def show_message(self, text, timeout_ms: int) -> None:
        """A message in the status bar for a while; ``text()`` gives it in the current language (shown again in
        the new language if the language changes meanwhile)."""
        self._message = (text, time.monotonic() + timeout_ms / 1000)
        self.statusBar().showMessage(text(), timeout_ms)

    def _machine_file(self, message: str | None) -> None:
        if message:  # already in the language of the moment (the file may change the language)
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
            self.workspace.lock_requested.connect(self.lock)
            self.workspace.sign_out_requested.connect(self.logout)
            self.pages.addWidget(self.workspace)
            settings = self.workspace.screens.get("settings")
            if hasattr(settings, "idle_minutes_changed"):
                settings.idle_minutes_changed.connect(self.idle.set_minutes)
        self.pages.setCurrentWidget(self.workspace)
        from fieldapp.outbound import identity

        self.ctx.worker.run(identity.trusted_device, on_done=self._trusted_device, on_error=lambda _exc: None)
        self._remember_names()
        self.idle.set_minutes(self.ctx.config.idle_minutes)
        self.idle.start()
        if same:
            self.workspace.show_screen(self.workspace.current_id())
        else:
            self.workspace.show_screen("home")
        self.workspace.focus_screen()

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
        shown_as = self.ctx.user.get("full_name") or self._locked_user
        self._flush_screens()
        self._remember_names()
        self.ctx.worker.close_session()
        self.ctx.set_user(None)
        self.pages.setCurrentWidget(self.login)
        self.login.show_locked(self._locked_user, shown_as)

    def logout(self) -> None:
        """End the session and drop the workspace (unsaved input in it is discarded)."""
        self.idle.stop()
        self._locked_user = None
        self._flush_screens()
        if self.ctx.user is not None:
            self._remember_names()
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

    def _remember_names(self) -> None:
        """Keep the users' full names for the login list (queued: it runs before a session closes)."""
        self.ctx.worker.run(remember_login_names, on_error=lambda _exc: None)

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
        if self._message is not None:
            text, until = self._message
            left = int((until - time.monotonic()) * 1000)
            if left > 0 and self.statusBar().currentMessage():
                self.statusBar().showMessage(text(), left)
            else:
                self._message = None

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
