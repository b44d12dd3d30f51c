"""The mouse wheel scrolls the page; it never changes a value the user has not put the keyboard focus on.

Qt lets the wheel change a combo box, spin box or date/time edit under the pointer even when it does not have the
focus: scrolling down a form turned "— Choose —" into "Food seller", then "Tailor". ``WheelGuard`` is an
application-wide event filter (``install``, called by ``ui.app.make_application``): a wheel event for such a
widget without the focus is passed to the scroll area around it instead, so the page scrolls as the user meant.
"""

from __future__ import annotations

from ui.qt import QApplication, QComboBox, QEvent, QObject, QtWidgets

GUARDED = (QComboBox, QtWidgets.QAbstractSpinBox, QtWidgets.QCalendarWidget)


def _guarded(widget) -> QtWidgets.QWidget | None:
    """The value widget ``widget`` belongs to (itself or a parent, e.g. a spin box's line edit), if any."""
    while widget is not None and isinstance(widget, QtWidgets.QWidget):
        if isinstance(widget, GUARDED):
            return widget
        if widget.isWindow():
            return None
        widget = widget.parentWidget()
    return None


def _has_focus(widget) -> bool:
    focused = QApplication.focusWidget()
    return focused is not None and (focused is widget or widget.isAncestorOf(focused))


def _scroll_area(widget):
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QtWidgets.QAbstractScrollArea):
            return parent
        if parent.isWindow():
            return None
        parent = parent.parentWidget()
    return None


class WheelGuard(QObject):
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, QtWidgets.QWidget):
            return False
        value_widget = _guarded(obj)
        if value_widget is None or value_widget.isWindow() or _has_focus(value_widget):
            return False
        area = _scroll_area(value_widget)
        if area is not None:
            QApplication.sendEvent(area.viewport(), event)
        return True  # never the value widget's: the page scrolled, or nothing did


def install(app: QApplication) -> WheelGuard:
    """Install the guard once per application (``make_application`` may be called again, e.g. by tests)."""
    guard = app.findChild(WheelGuard, "wheel_guard")
    if guard is None:
        guard = WheelGuard(app)
        guard.setObjectName("wheel_guard")
        app.installEventFilter(guard)
    return guard
