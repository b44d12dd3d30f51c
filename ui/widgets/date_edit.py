"""A date field that is typed first and picked second.

Typed as people write dates here: ``15/01/1990``, ``15.1.1990``, ``15011990`` or ``1990-01-15``, with Khmer or ASCII
digits (``fieldapp.domain.dates.parse_date``). Leaving the field rewrites a date it can read as ``DD/MM/YYYY`` in the
UI language's digits, so the worker sees what was understood; the record stores ``YYYY-MM-DD`` (``iso_text``).
Alt+Down or F4, or the calendar button at its end, opens a calendar in the UI language; Enter on a day writes it in.
``describe`` is the text shown beside a date: the long form and the age, in the UI language's digits.
"""

from __future__ import annotations

from datetime import date

from fieldapp.domain.dates import age, day_first, parse_date
from ui.qt import QAction, QEvent, QLineEdit, Qt, QtCore, QtWidgets, Signal

_LOCALES = {"km": (QtCore.QLocale.Language.Khmer, QtCore.QLocale.Country.Cambodia),
            "en": (QtCore.QLocale.Language.English, QtCore.QLocale.Country.UnitedKingdom)}


def age_text(ctx, born: date, today: date | None = None) -> str:
    """"36 years old" / "អាយុ ៣៦ ឆ្នាំ" ("under 1 year old" for a baby); "" for a date after today."""
    today = today or date.today()
    if born > today:
        return ""
    years = age(born, today)
    return ctx.tr("forms.age.under_one") if years < 1 else ctx.tr("forms.age.years", age=ctx.format_number(years))


def describe(ctx, text: str, *, long_form: bool = True, today: date | None = None) -> str:
    """What a typed date means: "4 February 1990 · 36 years old" (or only the age); "" when it is not a date."""
    born = parse_date(text)
    if born is None:
        return ""
    years = age_text(ctx, born, today)
    if not long_form:
        return years
    return " · ".join(part for part in (ctx.format_date(born), years) if part)


class Calendar(QtWidgets.QCalendarWidget):
    """Qt's calendar in the UI language, with that language's digits (Qt's Khmer locale writes ASCII digits)."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent, windowFlags=Qt.Popup)
        self.ctx = ctx
        self.setObjectName("date_popup")
        self.setGridVisible(True)
        self.currentPageChanged.connect(lambda _y, _m: self._year_digits())

    def set_language(self) -> None:
        language, country = _LOCALES.get(self.ctx.lang, _LOCALES["en"])
        self.setLocale(QtCore.QLocale(language, country))
        self._year_digits()

    def _year_digits(self) -> None:
        button = self.findChild(QtWidgets.QToolButton, "qt_calendar_yearbutton")
        if button is not None:
            button.setText(self.ctx.format_number(self.yearShown()))

    def paintCell(self, painter, rect, qdate) -> None:  # noqa: N802 (Qt name)
        if self.ctx.lang != "km":
            super().paintCell(painter, rect, qdate)
            return
        painter.save()
        palette = self.palette()
        if qdate == self.selectedDate():
            painter.fillRect(rect, palette.highlight())
            painter.setPen(palette.highlightedText().color())
        elif qdate.month() != self.monthShown() or qdate > self.maximumDate() or qdate < self.minimumDate():
            painter.setPen(palette.color(palette.ColorGroup.Disabled, palette.ColorRole.Text))
        else:
            painter.setPen(palette.text().color())
        painter.drawText(rect, Qt.AlignCenter, self.ctx.format_number(qdate.day()))
        painter.restore()


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
        self.setPlaceholderText(self.ctx.tr("forms.date_placeholder"))
        self.setToolTip(self.ctx.tr("forms.date_tooltip"))
        self.tidy()

    # ------------------------------------------------------------ value
    def current_date(self) -> date | None:
        return parse_date(self.text())

    def iso_text(self) -> str:
        """The date as the record stores it (``YYYY-MM-DD``) when it can be read, else the text as typed."""
        found = self.current_date()
        return found.isoformat() if found is not None else self.text().strip()

    def display(self, day: date) -> str:
        return self.ctx.format_number(day_first(day))

    def set_value(self, value) -> None:
        """Show a stored value (``YYYY-MM-DD`` or anything else, shown as it is)."""
        found = parse_date(value) if isinstance(value, str) else None
        self.setText(self.display(found) if found is not None else ("" if value is None else str(value)))

    def tidy(self) -> None:
        """Rewrite a readable date as ``DD/MM/YYYY`` in the UI language's digits (the value does not change)."""
        found = self.current_date()
        if found is not None and self.text() != self.display(found):
            self.setText(self.display(found))

    def focusOutEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if event.reason() != Qt.PopupFocusReason:
            self.tidy()
        super().focusOutEvent(event)

    # ------------------------------------------------------------ calendar
    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if event.key() == Qt.Key_F4 or (event.key() == Qt.Key_Down and event.modifiers() & Qt.AltModifier):
            self.open_calendar()
            return
        super().keyPressEvent(event)

    def open_calendar(self) -> None:
        """A calendar under the field, on the typed date (else a typical adult's birth year)."""
        if self.popup is None:
            self.popup = Calendar(self.ctx, self)
            self.popup.activated.connect(self._choose)
            self.popup.clicked.connect(self._choose)
            self.popup.installEventFilter(self)
        self.popup.set_language()
        if self.latest is not None:
            self.popup.setMaximumDate(QtCore.QDate(self.latest.year, self.latest.month, self.latest.day))
        start = self.current_date() or date(date.today().year - 30, 1, 1)
        self.popup.setSelectedDate(QtCore.QDate(start.year, start.month, start.day))
        self.popup._year_digits()
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
        chosen = date(qdate.year(), qdate.month(), qdate.day())
        self.popup.hide()
        self.setText(self.display(chosen))
        self.setFocus(Qt.PopupFocusReason)
        self.picked.emit(chosen.isoformat())
