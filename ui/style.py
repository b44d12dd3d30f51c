"""The application's look: the Fusion style (same on every OS) and a small style sheet.

Sizes are in ``em`` so they follow the font, and the font follows the screen's DPI
(Qt 6 high-DPI defaults): nothing here is a fixed pixel size.

Keyboard first: whichever widget has the focus gets a ring in the highlight colour around it (``FocusRing``, one
for the application, moved with the focus), so the focus is never invisible: on a check box, a button, a table,
the side navigation, after a shortcut moved it. It is drawn over the widget's edge, so nothing moves when it comes.
"""

from __future__ import annotations

from ui.qt import QApplication, QEvent, QObject, QPainter, QPalette, QPen, QRectF, Qt, QtWidgets, isValid

BASE_POINT_SIZE = 11.0  # Khmer needs a little more than Qt's 9 pt default to stay legible

STYLE_SHEET = """
QListWidget#nav { border: none; padding: 0.3em; }
QListWidget#nav::item { padding: 0.45em 0.8em; border-radius: 0.25em; }
QListWidget#nav::item:selected { background: palette(highlight); color: palette(highlighted-text); }
QLabel#error { color: #b00020; }
QLabel#lockout { color: #8a4b00; font-weight: bold; }
QPushButton { padding: 0.3em 1.2em; }
"""


_REFRAMED = (QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.ParentChange,
             QEvent.Type.StyleChange, QEvent.Type.ZOrderChange)


class FocusRing(QtWidgets.QFocusFrame):
    """A 3 px ring in the highlight colour on the focused widget's edge: one pixel outside it, two over its own
    border, so a parent that clips the outside (a widget flush with its parent's edge) still shows it. Qt keeps it
    on the widget as it moves. The style's mask (which would let only the outside band show) is cleared each time
    Qt sets it, as the frame follows its widget."""

    def show_on(self, widget) -> None:
        self.setWidget(widget)
        self.clearMask()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        handled = super().eventFilter(obj, event)
        if event.type() in _REFRAMED:
            self.clearMask()
        return handled

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt name)
        widget = self.widget()
        if widget is None:
            return
        style = widget.style()
        dx = style.pixelMetric(QtWidgets.QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget)
        dy = style.pixelMetric(QtWidgets.QStyle.PixelMetric.PM_FocusFrameVMargin, None, widget)
        painter = QPainter(self)
        pen = QPen(self.palette().color(QPalette.ColorRole.Highlight))
        pen.setWidthF(3.0)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(self.rect()).adjusted(dx + 0.5, dy + 0.5, -dx - 0.5, -dy - 0.5))
        painter.end()


class FocusRings(QObject):
    """Moves one ``FocusRing`` to each widget that takes the keyboard focus (``QApplication.focusChanged``)."""

    def __init__(self, app: QApplication):
        super().__init__(app)
        self.ring: FocusRing | None = None
        app.focusChanged.connect(self.follow)

    @staticmethod
    def target(widget):
        """The widget to ring: the outer widget when the focus is on a part of it (a combo box's line edit)."""
        while widget is not None and not widget.isWindow():
            parent = widget.parentWidget()
            if parent is not None and parent.focusProxy() is widget:
                widget = parent
                continue
            break
        return widget

    def follow(self, _old, new) -> None:
        widget = self.target(new)
        ring = self.ring if self.ring is not None and isValid(self.ring) else None
        if widget is None or widget.isWindow() or widget.parentWidget() is None:
            if ring is not None:
                ring.setWidget(None)
                ring.hide()
            return
        if ring is None:  # created under the widget's parent: Qt owns it and deletes it with that parent
            ring = self.ring = FocusRing(widget.parentWidget())
            ring.setObjectName("focus_ring")
            ring.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        ring.show_on(widget)


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    font = app.font()
    if font.pointSizeF() < BASE_POINT_SIZE:
        font.setPointSizeF(BASE_POINT_SIZE)
        app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
    if not any(isinstance(child, FocusRings) for child in app.children()):
        FocusRings(app)
