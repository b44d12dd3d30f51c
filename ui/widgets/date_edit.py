"""A date field that is typed first (``YYYY-MM-DD``, Khmer digits accepted) and picked second: Alt+Down or F4,
or the calendar button at its end, opens a calendar in the UI language; Enter on a day writes it in."""

from __future__ import annotations

from datetime import date

from fieldapp.domain.khmer import to_ascii_digits
from ui.qt import QAction, QEvent, QLineEdit, Qt, QtCore, QtWidgets, Signal

_LOCALES = {"km": (QtCore.QLocale.Language.Khmer, QtCore.QLocale.Country.Cambodia),
            "en": (QtCore.QLocale.Language.English, QtCore.QLocale.Country.UnitedKingdom)}


class DateLineEdit(QLineEdit):
    """``picked`` is emitted after the calendar wrote a date (as ``textEdited`` is after typing)."""

    picked = Signal(str)

    def __init__(self, ctx, parent=None, *, latest: date | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.latest = latest
        self.popup: QtWidgets.QCalendarWidget | None = None
        icon = self.style().standardIcon(QtWidgets.QStyle.StandardPixmap.SP_FileDialogContentsView)
        self.pick_action = QAction(icon, "", self)
        self.pick_action.triggered.connect(self.open_calendar)
        self.addAction(self.pick_action, QLineEdit.ActionPosition.TrailingPosition)
        self.retranslate()

    def retranslate(self) -> None:
        self.pick_action.setText(self.ctx.tr("forms.date_pick"))
        self.pick_action.setToolTip(self.ctx.tr("forms.date_pick") + " (Alt+\u2193, F4)")

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if event.key() == Qt.Key_F4 or (event.key() == Qt.Key_Down and event.modifiers() & Qt.AltModifier):
            self.open_calendar()
            return
        super().keyPressEvent(event)

    def current_date(self) -> date | None:
        try:
            return date.fromisoformat(to_ascii_digits(self.text().strip()))
        except ValueError:
            return None

    def open_calendar(self) -> None:
        """A calendar under the field, on the typed date (else a typical adult's birth year)."""
        if self.popup is None:
            self.popup = QtWidgets.QCalendarWidget(self, windowFlags=Qt.Popup)
            self.popup.setObjectName("date_popup")
            self.popup.setGridVisible(True)
            self.popup.activated.connect(self._choose)
            self.popup.clicked.connect(self._choose)
            self.popup.installEventFilter(self)
        language, country = _LOCALES.get(self.ctx.lang, _LOCALES["en"])
        self.popup.setLocale(QtCore.QLocale(language, country))
        if self.latest is not None:
            self.popup.setMaximumDate(QtCore.QDate(self.latest.year, self.latest.month, self.latest.day))
        start = self.current_date() or date(date.today().year - 30, 1, 1)
        self.popup.setSelectedDate(QtCore.QDate(start.year, start.month, start.day))
        self.popup.move(self.mapToGlobal(QtCore.QPoint(0, self.height())))
        self.popup.show()
        self.popup.setFocus(Qt.PopupFocusReason)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if obj is self.popup and event.type() == QEvent.KeyPress and event.key() == Qt.Key_Escape:
            self.popup.hide()
            self.setFocus(Qt.PopupFocusReason)
            return True
        return super().eventFilter(obj, event)

    def _choose(self, qdate) -> None:
        text = date(qdate.year(), qdate.month(), qdate.day()).isoformat()
        self.popup.hide()
        self.setText(text)
        self.setFocus(Qt.PopupFocusReason)
        self.picked.emit(text)
