"""One address level (province, district, commune or village) picked by typing, never guessed.

A line edit with a completion list from ``fieldapp.domain.geo.find``: each candidate reads "Village — Commune,
District, Province" (the UI language first, the other script in brackets), the search starts in an area (the
parent already chosen, else the office's) and widens to the whole country when nothing matches there, saying so.
Enter or Tab take the highlighted line, or the only match, or the only exact match; with several matches and none
highlighted nothing is taken: the first Tab or Enter keeps the focus here with the list open and a hint, a second
one leaves the field unchosen. ``hint`` always says what the list shows or what is missing (``hint_changed``).
"""

from __future__ import annotations

from fieldapp.domain import geo, geo_area
from ui.qt import QLineEdit, QPoint, QRect, Qt, QtCore, QtGui, QtWidgets, Signal

_CODE_ROLE = Qt.UserRole + 1
WIDEN = "*"          # the code of the list's last line "Search the whole country"
LIST_LIMIT = 50


def unit_text(unit, lang: str) -> str:
    """The picked unit in its field: "Svay (ស្វាយ)" in English, "ស្វាយ (Svay)" in Khmer."""
    return geo_area.both_names(unit, lang)


class HintList(QtWidgets.QListView):
    """The completion list with the hint as its last line, where the worker is looking while choosing."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.footer = QtWidgets.QLabel(self, objectName="address_list_hint", wordWrap=True)
        self.footer.setStyleSheet("color: #444; background: #f2f2f2; border-top: 1px solid #ccc; padding: 2px 4px;")
        self.footer.setTextFormat(Qt.PlainText)

    def footer_height(self) -> int:
        return self.footer.heightForWidth(max(self.width() - 2 * self.frameWidth(), 10)) if self.footer.text() else 0

    def set_hint(self, text: str) -> None:
        self.footer.setText(text)
        self.setAccessibleDescription(text)
        self._place()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place()

    def _place(self) -> None:
        frame, height = self.frameWidth(), self.footer_height()
        self.setViewportMargins(0, 0, 0, height)
        bar = self.verticalScrollBar()
        width = self.width() - 2 * frame - (bar.width() if bar.isVisible() else 0)
        self.footer.setGeometry(frame, self.height() - frame - height, width, height)
        self.footer.setVisible(height > 0)

    def grow(self, anchor) -> None:
        """Make room for the hint (QCompleter sizes the list for its rows only), keeping it on the screen."""
        extra = self.footer_height()
        geometry = self.geometry()
        top = anchor.mapToGlobal(QPoint(0, 0)).y()
        below = geometry.top() >= top
        geometry.setHeight(geometry.height() + extra)
        if not below:
            geometry.moveBottom(geometry.bottom() - extra)
        screen = anchor.screen().availableGeometry() if anchor.screen() else None
        if screen is not None and below and geometry.bottom() > screen.bottom():
            room = screen.bottom() - geometry.top()
            if room >= extra + 2 * max(self.sizeHintForRow(0), 1) + 2 * self.frameWidth():
                geometry.setBottom(screen.bottom())   # fewer lines (the list scrolls), never over the field
            else:
                geometry.moveBottom(top - 1)          # no room below: above the field
        self.setGeometry(geometry)


class UnitPicker(QLineEdit):
    """Pick one unit of ``level``; ``area_fn()`` names where the search starts (a unit code, or None)."""

    picked = Signal(str)          # the chosen code ("" when the choice is undone by typing or cleared)
    hint_changed = Signal(str)

    def __init__(self, level: str, ctx, parent=None, area_fn=None):
        super().__init__(parent)
        self.level, self.ctx = level, ctx
        self.area_fn = area_fn or (lambda: None)
        self.code: str | None = None
        self.result: geo_area.AreaResult | None = None
        self.hint = ""
        self._widen = False
        self._held: str | None = None     # the text a first Tab or Enter stopped at (a second one lets go)
        self._model = QtGui.QStandardItemModel(self)
        self._completer = QtWidgets.QCompleter(self._model, self)
        self._completer.setCompletionMode(QtWidgets.QCompleter.UnfilteredPopupCompletion)
        self._completer.setMaxVisibleItems(8)
        self._popup = HintList()                          # a reference kept: Qt owns it through the completer
        self._completer.setPopup(self._popup)
        self._completer.setWidget(self)
        self._completer.activated[QtCore.QModelIndex].connect(self._on_activated)
        self.textEdited.connect(self._on_edited)
        self.setClearButtonEnabled(True)

    def t(self, msg_id: str, **params) -> str:
        return self.ctx.tr(msg_id, **params)

    # -------------------------------------------------------------- searching
    def search(self, text: str | None = None) -> geo_area.AreaResult:
        text = self.text() if text is None else text
        self.result = geo.find(text, self.level, self.area_fn(), limit=LIST_LIMIT, widen=self._widen)
        return self.result

    def candidates(self, text: str | None = None) -> list:
        """The units the list shows for ``text`` (the typed text by default)."""
        return [c.unit for c in self.search(text).candidates]

    def _fill(self, result) -> None:
        self._model.clear()
        lang = self.ctx.lang
        for candidate in result.candidates:
            item = QtGui.QStandardItem(candidate.label(lang))
            item.setData(candidate.code, _CODE_ROLE)
            item.setEditable(False)
            self._model.appendRow(item)
        if result.scope is not None and result.outside:
            item = QtGui.QStandardItem(self.t("forms.address.widen_row", count=self.ctx.format_number(result.outside)))
            item.setData(WIDEN, _CODE_ROLE)
            item.setEditable(False)
            font = item.font()
            font.setItalic(True)
            item.setFont(font)
            self._model.appendRow(item)

    def show_list(self, held: bool = False) -> None:
        """Search the typed text (or list the area's units when empty) and open the list."""
        result = self.search()
        self._fill(result)
        self._set_hint(self._not_chosen_hint(result, held=True) if held else self._list_hint(result))
        if not self._model.rowCount():
            self._completer.popup().hide()
            return
        popup = self._completer.popup()
        wanted = popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width() + 2 * popup.frameWidth() + 8
        room = self.window().geometry().right() - self.mapToGlobal(QPoint(0, 0)).x() - 4
        width = max(self.width(), min(wanted, room))
        self._completer.complete(QRect(0, 0, width, self.height()))
        popup.setCurrentIndex(QtCore.QModelIndex())  # nothing highlighted until Down or Up
        popup.set_hint(self.hint)
        popup.grow(self)

    def popup_visible(self) -> bool:
        return self._completer.popup().isVisible()

    def _on_edited(self, text: str) -> None:
        self._held, self._widen = None, False
        if self.code is not None:
            self.code = None
            self.picked.emit("")
        if text.strip():
            self.show_list()
        else:
            self._completer.popup().hide()
            self._set_hint(self.idle_hint())

    def _on_activated(self, index) -> None:
        code = index.data(_CODE_ROLE)
        if code == WIDEN:
            self.widen()
        elif code:
            self.set_code(code, emit=True)

    def widen(self) -> None:
        """Show the whole country's matches (the list's last line, when the area has some)."""
        self._widen = True
        QtCore.QTimer.singleShot(0, self, self.show_list)  # after the completer has closed its list

    # -------------------------------------------------------------- hints
    def _area_text(self, code) -> str:
        return geo_area.place_name(code, self.ctx.lang)

    def _level_word(self) -> str:
        return self.t(f"forms.address.level_word.{self.level}")

    def _list_hint(self, result) -> str:
        count = self.ctx.format_number(result.total)
        text = result.text.strip()
        if not text:
            return self.idle_hint()
        if not result.candidates:
            return self.t("forms.address.hint.none", level=self._level_word(), text=text)
        if result.widened and not self._widen:
            hint = self.t("forms.address.hint.widened", level=self._level_word(), text=text,
                          area=self._area_text(result.area), count=count)
        elif result.scope is not None:
            hint = self.t("forms.address.hint.in_area", area=self._area_text(result.scope), count=count)
        else:
            hint = self.t("forms.address.hint.country", count=count)
        if result.total > len(result.candidates):
            hint += " " + self.t("forms.address.hint.first_only",
                                 shown=self.ctx.format_number(len(result.candidates)))
        return hint

    def idle_hint(self) -> str:
        if self.code:
            return self.t("forms.address.hint.chosen", address=geo.address_line(self.code, self.ctx.lang))
        area = geo_area.area_for(self.level, self.area_fn())
        if area:
            return self.t("forms.address.hint.start_in", area=self._area_text(area))
        return self.t("forms.address.hint.start")

    def _set_hint(self, text: str) -> None:
        self.hint = text
        self.setAccessibleDescription(text)
        self._completer.popup().set_hint(text)
        self.hint_changed.emit(text)

    def refresh_hint(self) -> None:
        """The hint again, in the current language (nothing searched when the field is unchanged)."""
        if self.code or not self.text().strip():
            self._set_hint(self.idle_hint())
        elif self.result is not None:
            self._set_hint(self._not_chosen_hint(self.result, held=self._held is not None))

    def _not_chosen_hint(self, result, held: bool) -> str:
        if not result.candidates:
            return self.t("forms.address.hint.none", level=self._level_word(), text=result.text.strip())
        msg = "forms.address.hint.ambiguous_held" if held else "forms.address.hint.ambiguous_left"
        return self.t(msg, field=self.t(f"forms.address.{self.level}"), text=result.text.strip(),
                      count=self.ctx.format_number(result.total))

    # -------------------------------------------------------------- value
    def set_code(self, code: str | None, emit: bool = False) -> None:
        unit = geo.unit(code) if code else None
        self.code = unit.code if unit else None
        self._held, self._widen = None, False
        self.setText(unit_text(unit, self.ctx.lang) if unit else "")
        self.setCursorPosition(0)
        self._completer.popup().hide()
        self._set_hint(self.idle_hint())
        if emit:
            self.picked.emit(self.code or "")

    def refresh_text(self) -> None:
        if self.code:
            unit = geo.unit(self.code)
            self.setText(unit_text(unit, self.ctx.lang) if unit else "")
            self.setCursorPosition(0)
        self.refresh_hint()

    def commit(self, hold: bool = False) -> bool:
        """Take what the typed text names, if it names one unit. Returns whether the focus may leave.

        The highlighted line wins; else the only match, or the only exact one. Among several matches nothing is
        taken: with ``hold`` (Tab or Enter) the first time, the list opens and this returns False; otherwise (a
        second time, a click elsewhere) the field is left unchosen with a hint that says so.
        """
        popup = self._completer.popup()
        if self.code is not None or not self.text().strip():
            popup.hide()
            return True
        selected = popup.selectionModel().selectedIndexes() if self.popup_visible() else []
        index = selected[0] if selected else None   # a line the worker moved to (never the list's first by itself)
        if index is not None and index.data(_CODE_ROLE):
            if index.data(_CODE_ROLE) == WIDEN:
                self._widen = True
                self.show_list()
                return False
            self.set_code(index.data(_CODE_ROLE), emit=True)
            return True
        result = self.search()
        sole = result.unique()
        if sole is not None:
            self.set_code(sole.code, emit=True)
            return True
        if hold and result.candidates and self._held != self.text():
            self._held = self.text()
            self.show_list(held=True)
            return False
        popup.hide()
        self._set_hint(self._not_chosen_hint(result, held=False))
        return True

    # -------------------------------------------------------------- keys and focus
    def event(self, event) -> bool:
        if event.type() == QtCore.QEvent.KeyPress and event.key() == Qt.Key_Tab and \
                not event.modifiers() & (Qt.ShiftModifier | Qt.ControlModifier | Qt.AltModifier):
            if not self.commit(hold=True):
                event.accept()
                return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        unchosen = self.code is None and bool(self.text().strip())
        if key in (Qt.Key_Return, Qt.Key_Enter) and (self.popup_visible() or unchosen):
            self.commit(hold=True)   # (on the enrollment form its event filter does this when the list is closed)
            event.accept()
            return
        if key == Qt.Key_Down and not self.popup_visible() and not self.isReadOnly():
            self.show_list()
            event.accept()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        if event.reason() != Qt.PopupFocusReason:
            self.refresh_hint()

    def focusOutEvent(self, event) -> None:
        if event.reason() not in (Qt.PopupFocusReason, Qt.ActiveWindowFocusReason):
            self.commit()
        super().focusOutEvent(event)
