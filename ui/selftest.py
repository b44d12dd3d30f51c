"""The desktop half of ``fieldapp --self-test`` (plugged into ``fieldapp.deploy.selftest`` by ``installers/entry.py``).

``check()`` really loads the Qt platform plug-in (``QT_QPA_PLATFORM``, else the platform's default), creates and
shows a window, and registers the bundled fonts, checking that Noto Sans Khmer covers Khmer. It runs in-process:
before creating the application it checks that the plug-in file exists and that a display is there for the
plug-ins that need one, because Qt ends the process when it cannot load its platform plug-in.

``quit_after_first_window(app)`` (``FIELDAPP_QUIT_AFTER_WINDOW=1``) makes the app print ``window-shown`` on stderr
and quit as soon as its first window is on screen: the launch-to-window benchmark (bench/bench_bundle.py).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ui.qt import PYSIDE6_VERSION, QApplication, QEvent, QFontDatabase, QObject, QTimer, QWidget, QtCore


def _default_platform() -> str:
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "cocoa"
    return "wayland" if os.environ.get("WAYLAND_DISPLAY") and _plugin_file("wayland") else "xcb"


def _plugin_file(name: str) -> Path | None:
    roots = [QtCore.QLibraryInfo.path(QtCore.QLibraryInfo.LibraryPath.PluginsPath),
             *QtCore.QCoreApplication.libraryPaths(), *os.environ.get("QT_PLUGIN_PATH", "").split(os.pathsep)]
    for root in filter(None, roots):
        for path in (Path(root) / "platforms").glob(f"*q{name}.*"):
            if path.stem in (f"q{name}", f"libq{name}"):
                return path
    return None


def platform_name() -> str:
    return (os.environ.get("QT_QPA_PLATFORM") or "").split(":")[0].split(";")[0] or _default_platform()


def check() -> list[str]:
    """Problems with the platform plug-in and the fonts; empty when the desktop client can start."""
    name = platform_name()
    if QApplication.instance() is None:
        if _plugin_file(name) is None:
            return [f"Qt platform plug-in '{name}' missing"]
        if name == "xcb" and not os.environ.get("DISPLAY"):
            return ["no X display (DISPLAY unset; QT_QPA_PLATFORM=offscreen checks without one)"]
        if name == "wayland" and not os.environ.get("WAYLAND_DISPLAY"):
            return ["no Wayland display"]
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "fieldapp"])
    problems = []
    if app.platformName() != name and not os.environ.get("QT_QPA_PLATFORM", "").count(";"):
        problems.append(f"Qt loaded platform '{app.platformName()}' instead of '{name}'")
    window = QWidget()
    window.resize(120, 80)
    window.show()
    app.processEvents()
    if not window.isVisible() or window.windowHandle() is None:
        problems.append("a window could not be shown")
    window.close()
    window.deleteLater()
    from ui.fonts import FONT_PACKAGES, font_files, load_fonts

    for package, family in FONT_PACKAGES:
        if not font_files(package):
            problems.append(f"font files of {family} missing")
    loaded = load_fonts()
    for _package, family in FONT_PACKAGES:
        if family not in loaded or family not in QFontDatabase.families():
            problems.append(f"font {family} not loaded")
    if "Noto Sans Khmer" in QFontDatabase.families():
        if QFontDatabase.WritingSystem.Khmer not in QFontDatabase.writingSystems("Noto Sans Khmer"):
            problems.append("Noto Sans Khmer does not cover Khmer")
    return problems


def versions() -> dict:
    return {"qt": QtCore.qVersion(), "pyside6": PYSIDE6_VERSION, "qt_platform": platform_name()}


class _FirstWindow(QObject):
    def __init__(self, app: QApplication):
        super().__init__(app)
        self.app, self.done = app, False

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if not self.done and event.type() == QEvent.Type.Show and obj.isWidgetType() and obj.isWindow():
            self.done = True
            QTimer.singleShot(0, self._shown)
        return False

    def _shown(self) -> None:
        print(f"window-shown {time.monotonic():.3f}", file=sys.stderr, flush=True)
        self.app.quit()


def quit_after_first_window(app: QApplication) -> None:
    """Quit the event loop right after the first top-level window is shown (and say so on stderr)."""
    watcher = _FirstWindow(app)
    app.installEventFilter(watcher)
    app._fieldapp_first_window = watcher  # keep it alive
