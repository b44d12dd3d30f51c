"""Address pickers: province, district, commune and village, filtering as you type in Khmer or Latin.

Each picker is a line edit with a completion list filled from ``fieldapp.domain.geo``
(``search`` for typed text - Khmer match keys, so zero-width spaces and variant
spellings do not matter - and ``children`` for the full list under the parent).
Picking a lower unit fills its parents; picking a parent clears children that do
not belong to it. The gazetteer is in memory (no database); its search index is
warmed once on the worker thread so the first keystroke does not stall.
"""

from __future__ import annotations

from fieldapp.domain import geo
from ui.qt import QFormLayout, QLineEdit, Qt, QtCore, QtGui, QtWidgets, QWidget, Signal
from ui.widgets.problems import ProblemLabel

LEVELS = ("province", "district", "commune", "village")
_PARENT = {"province": None, "district": "province", "commune": "district", "village": "commune"}
_CODE_ROLE = Qt.UserRole + 1
_warmed = False


def warm_up(ctx) -> None:
    """Build the gazetteer's search keys off the UI thread (once per process)."""
    global _warmed
    if not _warmed:
        _warmed = True
        ctx.worker.call(geo.search, "\u1780", limit=1)


def unit_text(unit, lang: str) -> str:
    if not unit.name_latin:
        return unit.name_km
    if lang == "km":
        return f"{unit.name_km} ({unit.name_latin})"
    return f"{unit.name_latin} ({unit.name_km})"


class UnitPicker(QLineEdit):
    """Pick one unit of ``level``; ``within`` limits the list to a parent's descendants."""

    picked = Signal(str)      # the chosen code ("" when cleared)

    def __init__(self, level: str, lang_fn, parent=None):
        super().__init__(parent)
        self.level, self._lang = level, lang_fn
        self.within: str | None = None
        self.code: str | None = None
        self._model = QtGui.QStandardItemModel(self)
        self._completer = QtWidgets.QCompleter(self._model, self)
        self._completer.setCompletionMode(QtWidgets.QCompleter.UnfilteredPopupCompletion)
        self._completer.setWidget(self)
        self._completer.activated[QtCore.QModelIndex].connect(self._on_activated)
        self.textEdited.connect(self._on_edited)
        self.setClearButtonEnabled(True)

    # -------------------------------------------------------------- candidates
    def candidates(self, text: str | None = None) -> list:
        text = self.text() if text is None else text
        if text.strip():
            return geo.search(text, self.level, self.within, limit=50)
        if self.level == "province":
            return geo.children(None)
        return geo.children(self.within) if self.within else []

    def _fill(self, units) -> None:
        self._model.clear()
        lang = self._lang()
        for unit in units:
            item = QtGui.QStandardItem(unit_text(unit, lang))
            item.setData(unit.code, _CODE_ROLE)
            item.setEditable(False)
            self._model.appendRow(item)

    def show_list(self) -> None:
        self._fill(self.candidates())
        if self._model.rowCount():
            self._completer.complete()

    def popup_visible(self) -> bool:
        return self._completer.popup().isVisible()

    def _on_edited(self, text: str) -> None:
        if self.code is not None:
            self.code = None
            self.picked.emit("")
        self.show_list() if text.strip() else self._completer.popup().hide()

    def _on_activated(self, index) -> None:
        code = index.data(_CODE_ROLE)
        if code:
            self.set_code(code, emit=True)

    # -------------------------------------------------------------- value
    def set_code(self, code: str | None, emit: bool = False) -> None:
        unit = geo.unit(code) if code else None
        self.code = unit.code if unit else None
        self.setText(unit_text(unit, self._lang()) if unit else "")
        self._completer.popup().hide()
        if emit:
            self.picked.emit(self.code or "")

    def refresh_text(self) -> None:
        if self.code:
            unit = geo.unit(self.code)
            self.setText(unit_text(unit, self._lang()) if unit else "")

    def commit(self) -> None:
        """Enter or leaving the field: take the highlighted (or best) match of the typed text."""
        if self.code is not None or not self.text().strip():
            self._completer.popup().hide()
            return
        index = self._completer.popup().currentIndex() if self.popup_visible() else None
        if index is not None and index.isValid() and index.data(_CODE_ROLE):
            self.set_code(index.data(_CODE_ROLE), emit=True)
            return
        found = self.candidates()
        if found:
            self.set_code(found[0].code, emit=True)
        self._completer.popup().hide()

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in (Qt.Key_Return, Qt.Key_Enter) and self.popup_visible():
            self.commit()
            event.accept()
            return
        if key == Qt.Key_Down and not self.popup_visible():
            self.show_list()
            event.accept()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:
        if event.reason() not in (Qt.PopupFocusReason, Qt.ActiveWindowFocusReason):
            self.commit()
        super().focusOutEvent(event)


class AddressPicker(QWidget):
    """The four pickers and one problem line for the address."""

    changed = Signal()

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        warm_up(ctx)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.pickers: dict[str, UnitPicker] = {}
        self._labels: dict[str, QtWidgets.QLabel] = {}
        for level in LEVELS:
            picker = UnitPicker(level, lambda: self.ctx.lang, self)
            picker.setObjectName(f"address_{level}")
            picker.picked.connect(lambda code, lv=level: self._on_picked(lv, code))
            label = QtWidgets.QLabel(self)
            label.setBuddy(picker)
            form.addRow(label, picker)
            self.pickers[level], self._labels[level] = picker, label
        self.problem = ProblemLabel(self.pickers["village"], self)
        form.addRow(self.problem)
        self.retranslate()

    def retranslate(self) -> None:
        for level in LEVELS:
            text = self.ctx.tr(f"forms.address.{level}")
            self._labels[level].setText(text)
            self.pickers[level].setAccessibleName(text)
            self.pickers[level].setPlaceholderText(self.ctx.tr("forms.address.type_to_search"))
            self.pickers[level].setToolTip(self.ctx.tr("forms.address.tooltip"))
            self.pickers[level].refresh_text()

    # -------------------------------------------------------------- cascade
    def _on_picked(self, _level: str, code: str) -> None:
        if code:
            self._apply(code)
        self.changed.emit()

    def _apply(self, code: str) -> None:
        """Set the unit ``code`` names, fill its parents and drop children that do not belong to it."""
        for level in LEVELS:
            size, picker = geo.CODE_LENGTHS[level], self.pickers[level]
            if size <= len(code):
                if picker.code != code[:size]:
                    picker.set_code(code[:size])
            elif picker.code and not picker.code.startswith(code):
                picker.set_code(None)
        for level in LEVELS[1:]:
            self.pickers[level].within = self.pickers[_PARENT[level]].code

    # -------------------------------------------------------------- value
    def codes(self) -> dict:
        """``{"<level>_code": code}`` for each level chosen (the lowest one decides the rest)."""
        return {f"{level}_code": self.pickers[level].code for level in LEVELS if self.pickers[level].code}

    def set_codes(self, data: dict) -> None:
        """Restore from a record's ``village_code`` / ``commune_code`` / ... (the lowest known wins)."""
        for picker in self.pickers.values():
            picker.set_code(None)
            picker.within = None
        for level in reversed(LEVELS):
            code = geo.normalize_code(str(data.get(f"{level}_code") or ""), level)
            if code and geo.unit(code):
                self._apply(code)
                return

    def set_default(self, commune_code: str | None) -> None:
        if commune_code and geo.commune(commune_code):
            self._apply(geo.commune(commune_code).code)

    def first_empty(self) -> UnitPicker:
        return next((self.pickers[lv] for lv in LEVELS if not self.pickers[lv].code), self.pickers["village"])

    def set_messages(self, messages: list[str]) -> None:
        self.problem.set_messages(messages)
