"""Address pickers: province, district, commune and village, filtering as you type in Khmer or Latin.

Each level is a ``UnitPicker`` (``ui/widgets/unit_picker.py``): a candidate reads "Village — Commune, District,
Province", nothing is picked on its own among several matches, and a search starts in an area and widens to the
whole country when nothing matches there. Here the four are tied together: a level's search starts in the
nearest level above it that is chosen, else in the office's area (IT's provisioned default address, else the
"Office commune" of Settings: ``office_area``); picking a lower unit fills its parents; picking another unit, or
typing over a chosen one, clears the levels below it, so a correction never searches inside a stale parent. One
hint line under the four says what the list shows or what is not chosen yet. The gazetteer is in memory (no
database); its search index is warmed once on the worker thread so the first keystroke does not stall.
"""

from __future__ import annotations

from fieldapp.domain import geo
from ui.qt import QFormLayout, QtWidgets, QWidget, Signal
from ui.widgets.problems import ProblemLabel
from ui.widgets.unit_picker import UnitPicker, unit_text  # noqa: F401 (unit_text: importers of this module)

LEVELS = ("province", "district", "commune", "village")
_warmed = False


def warm_up(ctx) -> None:
    """Build the gazetteer's search keys off the UI thread (once per process)."""
    global _warmed
    if not _warmed:
        _warmed = True
        ctx.worker.call(geo.find, "\u1780", "village", limit=1)


def provisioned_area(data_dir) -> str | None:
    """The lowest unit of IT's provisioned default address (commune, else district, else province), or None."""
    from fieldapp.deploy import provisioned

    try:
        defaults = provisioned.default_address(data_dir)
    except Exception:  # an unreadable provisioning file must not stop enrollment
        return None
    for level in ("commune", "district", "province"):
        code = geo.normalize_code(str(defaults.get(level) or ""), level)
        if code and geo.unit(code):
            return code
    return None


def office_area(ctx) -> str | None:
    """Where address searches start: IT's provisioned area, else the office commune chosen in Settings."""
    code = provisioned_area(ctx.data_dir)
    if code:
        return code
    code = getattr(ctx.config, "office_commune", None)
    return code if code and geo.commune(code) else None


class AddressPicker(QWidget):
    """The four pickers, a hint line and one problem line for the address."""

    changed = Signal()

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.office: str | None = None
        warm_up(ctx)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.pickers: dict[str, UnitPicker] = {}
        self._labels: dict[str, QtWidgets.QLabel] = {}
        for level in LEVELS:
            picker = UnitPicker(level, ctx, self, area_fn=lambda lv=level: self.area_for(lv))
            picker.setObjectName(f"address_{level}")
            picker.picked.connect(lambda code, lv=level: self._on_picked(lv, code))
            picker.hint_changed.connect(lambda text, p=picker: self._show_hint(p, text))
            label = QtWidgets.QLabel(self)
            label.setBuddy(picker)
            form.addRow(label, picker)
            self.pickers[level], self._labels[level] = picker, label
        self.hint = QtWidgets.QLabel(self, objectName="address_hint", wordWrap=True)
        self.hint.setStyleSheet("color: #444;")
        form.addRow(self.hint)
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
        focused = next((p for p in self.pickers.values() if p.hasFocus()), self.first_empty())
        self._show_hint(focused, focused.hint, force=True)

    def _refresh_hints(self) -> None:
        """Every picker's hint again (their areas may have changed), and the first empty one's shown."""
        for picker in self.pickers.values():
            picker.refresh_hint()
        self._show_hint(self.first_empty(), self.first_empty().hint, force=True)

    def _show_hint(self, picker: UnitPicker, text: str, force: bool = False) -> None:
        """The hint of the picker being used (or the one that last spoke, while none has the focus)."""
        if force or picker.hasFocus() or not any(p.hasFocus() for p in self.pickers.values()):
            self.hint.setText(text)

    # -------------------------------------------------------------- cascade
    def area_for(self, level: str) -> str | None:
        """Where ``level``'s search starts: the nearest chosen level above it, else the office's area."""
        above = LEVELS[:LEVELS.index(level)]
        chosen = next((self.pickers[lv].code for lv in reversed(above) if self.pickers[lv].code), None)
        return chosen or self.office

    def _on_picked(self, level: str, code: str) -> None:
        if code:
            self._apply(code)
        else:  # typed over (or cleared): the levels below belonged to the old unit
            for lower in LEVELS[LEVELS.index(level) + 1:]:
                if self.pickers[lower].code or self.pickers[lower].text():
                    self.pickers[lower].set_code(None)
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
            elif not picker.code and picker.text():
                picker.set_code(None)  # text typed below a new choice named nothing in it

    # -------------------------------------------------------------- value
    def codes(self) -> dict:
        """``{"<level>_code": code}`` for each level chosen (the lowest one decides the rest)."""
        return {f"{level}_code": self.pickers[level].code for level in LEVELS if self.pickers[level].code}

    def set_codes(self, data: dict) -> None:
        """Restore from a record's ``village_code`` / ``commune_code`` / ... (the lowest known wins)."""
        for picker in self.pickers.values():
            picker.set_code(None)
        for level in reversed(LEVELS):
            code = geo.normalize_code(str(data.get(f"{level}_code") or ""), level)
            if code and geo.unit(code):
                self._apply(code)
                break
        self._refresh_hints()

    def set_default(self, area: str | None) -> None:
        """The office's area (a commune, district or province code): filled in, and where searches start."""
        unit = geo.unit(area) if area else None
        self.office = unit.code if unit is not None and unit.level != "village" else None
        if self.office:
            self._apply(self.office)
        self._refresh_hints()

    def first_empty(self) -> UnitPicker:
        return next((self.pickers[lv] for lv in LEVELS if not self.pickers[lv].code), self.pickers["village"])

    def set_messages(self, messages: list[str]) -> None:
        self.problem.set_messages(messages)
