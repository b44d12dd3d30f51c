"""The application's look: the Fusion style (same on every OS) and a small style sheet.

Sizes are in ``em`` so they follow the font, and the font follows the screen's DPI
(Qt 6 high-DPI defaults): nothing here is a fixed pixel size.
"""

from __future__ import annotations

from ui.qt import QApplication

BASE_POINT_SIZE = 11.0  # Khmer needs a little more than Qt's 9 pt default to stay legible

STYLE_SHEET = """
QListWidget#nav { border: none; padding: 0.3em; }
QListWidget#nav::item { padding: 0.45em 0.8em; border-radius: 0.25em; }
QListWidget#nav::item:selected { background: palette(highlight); color: palette(highlighted-text); }
QLabel#error { color: #b00020; }
QLabel#lockout { color: #8a4b00; font-weight: bold; }
QPushButton { padding: 0.3em 1.2em; }
"""


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    font = app.font()
    if font.pointSizeF() < BASE_POINT_SIZE:
        font.setPointSizeF(BASE_POINT_SIZE)
        app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
