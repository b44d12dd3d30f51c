"""The workspace of a logged-in user: the side panel (navigation, Lock, Sign out) and the stack of screens."""

from __future__ import annotations

from ui.qt import (QAction, QHBoxLayout, QKeySequence, QListWidget, QListWidgetItem, QPushButton, QStackedWidget,
                   Qt, QVBoxLayout, QWidget, Signal)
from ui.screens import SCREENS, SUPERVISOR_ONLY

LOCK_KEYS, SIGN_OUT_KEYS = "Ctrl+L", "Ctrl+Shift+L"


class Workspace(QWidget):
    """Side navigation and the stack of screens for one logged-in user.

    The side panel ends with *Lock* (Ctrl+L: back to the password, the work kept) and *Sign out* (Ctrl+Shift+L:
    the session ends, the pending draft is saved first); the main window does both (``lock_requested``,
    ``sign_out_requested``), these buttons only ask."""

    lock_requested = Signal()
    sign_out_requested = Signal()

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QHBoxLayout(self)
        self.side = QWidget(self)
        self.side.setObjectName("side")
        side = QVBoxLayout(self.side)
        side.setContentsMargins(0, 0, 0, 0)
        self.nav = QListWidget(self.side)
        self.nav.setObjectName("nav")
        side.addWidget(self.nav, 1)
        self.lock_button = QPushButton(self.side)
        self.lock_button.setObjectName("lock_button")
        self.sign_out_button = QPushButton(self.side)
        self.sign_out_button.setObjectName("sign_out_button")
        for button in (self.lock_button, self.sign_out_button):
            button.setAutoDefault(False)
            side.addWidget(button)
        self.lock_button.clicked.connect(self.lock_requested)
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        self.stack = QStackedWidget(self)
        layout.addWidget(self.side, 0)
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
        sign_out = QAction(self)
        sign_out.setShortcut(QKeySequence(SIGN_OUT_KEYS))
        sign_out.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        sign_out.triggered.connect(self.sign_out_requested)
        self.addAction(sign_out)
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
        tr = self.ctx.tr
        width = 0
        metrics = self.nav.fontMetrics()
        for index, (screen_id, screen) in enumerate(self.screens.items()):
            item = self.nav.item(index)
            item.setText(tr(screen.title_id))
            keys = self.shortcuts[screen_id].shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            item.setToolTip(keys)
            width = max(width, metrics.horizontalAdvance(item.text()))
        self.nav.setAccessibleName(tr("ui.nav.title"))
        for button, msg, keys in ((self.lock_button, "ui.session.lock", LOCK_KEYS),
                                  (self.sign_out_button, "ui.session.sign_out", SIGN_OUT_KEYS)):
            button.setText(tr(msg))
            button.setAccessibleName(tr(msg))
            button.setToolTip(tr("ui.session.tip", action=tr(msg),
                                 keys=QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)))
            width = max(width, button.fontMetrics().horizontalAdvance(button.text()))
        self.side.setFixedWidth(width + metrics.height() * 3)

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
            self.focus_screen()
        return True

    def focus_screen(self) -> None:
        """The keyboard focus on the shown screen's first input, else on the side list (never nowhere)."""
        if not focus_first(self.stack.currentWidget()):
            self.nav.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _row_changed(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        screen = self.stack.widget(row)
        if hasattr(screen, "activate"):
            screen.activate()


def focus_first(screen: QWidget) -> bool:
    """Put the keyboard focus on the screen's first focusable input; False when it has none."""
    widget = screen.nextInFocusChain()
    while widget is not None and widget is not screen:
        if (screen.isAncestorOf(widget) and widget.isVisible() and widget.isEnabled()
                and widget.focusPolicy() & Qt.FocusPolicy.TabFocus):
            widget.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return True
        widget = widget.nextInFocusChain()
    screen.setFocus()
    return False
