"""The only module that imports PySide6: everything else in ``ui`` imports Qt from here."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import (QEvent, QLineF, QMarginsF, QObject, QPoint, QPointF, QRect, QRectF, QSize, QSizeF, Qt,
                            QThread, QTimer, Signal, Slot)
from PySide6.QtGui import (QAction, QBrush, QColor, QFont, QFontDatabase, QFontMetricsF, QGlyphRun, QGuiApplication,
                           QImage, QKeySequence, QPageLayout, QPageSize, QPagedPaintDevice, QPainter, QPainterPath,
                           QPalette, QPdfWriter, QPen, QShortcut, QTextLayout, QTextOption)
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QCheckBox, QComboBox, QDialog, QDialogButtonBox,
                               QFileDialog, QFormLayout, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QMainWindow, QMessageBox, QPushButton,
                               QScrollArea, QSizePolicy, QSpinBox, QStackedWidget, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)
from shiboken6 import isValid
from PySide6 import __version__ as PYSIDE6_VERSION

try:  # printing (ui.printing); a build without QtPrintSupport still writes PDFs (QPdfWriter is QtGui)
    from PySide6.QtPrintSupport import QPrintDialog, QPrinter, QPrinterInfo, QPrintPreviewDialog
except ImportError:  # pragma: no cover - only in a frozen build that leaves the module out
    QPrintDialog = QPrinter = QPrinterInfo = QPrintPreviewDialog = None


__all__ = [
    "QtCore", "QtGui", "QtWidgets", "QEvent", "QObject", "QPoint", "QPointF", "QRect", "QRectF", "QSize", "Qt",
    "QThread", "QTimer", "Signal", "Slot", "QAction", "QColor", "QFont", "QFontDatabase", "QGuiApplication",
    "QKeySequence", "QPainter", "QPalette", "QPen", "QShortcut", "QAbstractItemView", "QApplication", "QCheckBox",
    "QComboBox", "QDialog", "QDialogButtonBox", "QFileDialog", "QFormLayout", "QFrame", "QGridLayout", "QGroupBox",
    "QHBoxLayout", "QLabel", "QLineEdit", "QListWidget", "QListWidgetItem", "QMainWindow", "QMessageBox",
    "QPushButton", "QScrollArea", "QSizePolicy", "QSpinBox", "QStackedWidget", "QTableWidget", "QTableWidgetItem",
    "QVBoxLayout", "QWidget", "isValid", "PYSIDE6_VERSION",
    # printing (ui.printing)
    "QLineF", "QMarginsF", "QSizeF", "QBrush", "QFontMetricsF", "QGlyphRun", "QImage", "QPageLayout", "QPageSize",
    "QPagedPaintDevice", "QPainterPath", "QPdfWriter", "QTextLayout", "QTextOption", "QPrintDialog", "QPrinter",
    "QPrinterInfo", "QPrintPreviewDialog",
]
