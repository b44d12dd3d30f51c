"""The only module that imports PySide6: everything else in ``ui`` imports Qt from here."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import (QEvent, QObject, QPoint, QPointF, QRect, QRectF, QSize, Qt, QThread, QTimer, Signal,
                            Slot)
from PySide6.QtGui import (QAction, QColor, QFont, QFontDatabase, QGuiApplication, QKeySequence, QPainter, QPalette,
                           QPen, QShortcut)
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QCheckBox, QComboBox, QDialog, QDialogButtonBox,
                               QFileDialog, QFormLayout, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QMainWindow, QMessageBox, QPushButton,
                               QScrollArea, QSizePolicy, QSpinBox, QStackedWidget, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)
from shiboken6 import isValid
from PySide6 import __version__ as PYSIDE6_VERSION

# --------------------------------------------------------------------------- #
# PySide6 6.12.0 (abi3 wheels) on CPython 3.11: methods returning ``None`` (every
# void call such as ``setText``) and ``SignalInstance.emit`` (``True``) hand back
# the singleton without taking a reference. CPython 3.12+ makes these singletons
# immortal, so nothing happens there; on 3.11 the count reaches zero after a few
# thousand calls and the interpreter aborts ("Fatal Python error: none_dealloc").
# A probe measures the loss at import; only if there is one, the three singletons
# get 2**40 extra references (what 3.12 does for them), which no session can use
# up. The real fix is Python >= 3.12 or a PySide6 without the bug (see docs/desktop.md).
# --------------------------------------------------------------------------- #
import ctypes as _ctypes
import sys as _sys

_EXTRA_REFERENCES = 1 << 40


class _Probe(QObject):
    ping = Signal()


def _references_lost() -> bool:
    probe, rounds = _Probe(), 16
    none_before, true_before = _sys.getrefcount(None), _sys.getrefcount(True)
    for _ in range(rounds):
        probe.setObjectName("probe")
        probe.ping.emit()
    return (none_before - _sys.getrefcount(None) >= rounds) or (true_before - _sys.getrefcount(True) >= rounds)


def _add_references(obj, count: int) -> None:
    """Raise ``obj``'s reference count (``ob_refcnt`` is the first field of every CPython object)."""
    cell = _ctypes.c_ssize_t.from_address(id(obj))
    cell.value += count


SINGLETON_WORKAROUND = _sys.version_info < (3, 12) and _sys.implementation.name == "cpython" and _references_lost()
if SINGLETON_WORKAROUND:
    for _singleton in (None, True, False):
        _add_references(_singleton, _EXTRA_REFERENCES)

__all__ = [
    "QtCore", "QtGui", "QtWidgets", "QEvent", "QObject", "QPoint", "QPointF", "QRect", "QRectF", "QSize", "Qt",
    "QThread", "QTimer", "Signal", "Slot", "QAction", "QColor", "QFont", "QFontDatabase", "QGuiApplication",
    "QKeySequence", "QPainter", "QPalette", "QPen", "QShortcut", "QAbstractItemView", "QApplication", "QCheckBox",
    "QComboBox", "QDialog", "QDialogButtonBox", "QFileDialog", "QFormLayout", "QFrame", "QGridLayout", "QGroupBox",
    "QHBoxLayout", "QLabel", "QLineEdit", "QListWidget", "QListWidgetItem", "QMainWindow", "QMessageBox",
    "QPushButton", "QScrollArea", "QSizePolicy", "QSpinBox", "QStackedWidget", "QTableWidget", "QTableWidgetItem",
    "QVBoxLayout", "QWidget", "isValid", "SINGLETON_WORKAROUND", "PYSIDE6_VERSION",
]
