"""Small shared widgets. ``DigitSpinBox`` accepts Khmer (or ASCII) digits and shows the UI language's digits."""

from __future__ import annotations

from fieldapp.domain.khmer import to_ascii_digits
from ui.qt import QSpinBox, QtGui


class DigitSpinBox(QSpinBox):
    """A spin box where ``១០`` typed on a Khmer keyboard means 10."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        ctx.language_changed.connect(self._refresh)

    def _refresh(self) -> None:
        self.setValue(self.value())
        self.lineEdit().setText(self.textFromValue(self.value()))

    def textFromValue(self, value: int) -> str:  # noqa: N802 (Qt name)
        return self.ctx.format_number(value)

    def valueFromText(self, text: str) -> int:  # noqa: N802 (Qt name)
        digits = to_ascii_digits(text).strip()
        return int(digits) if digits.isdigit() else self.value()

    def validate(self, text: str, pos: int):
        digits = to_ascii_digits(text).strip()
        State = QtGui.QValidator.State
        if not digits:
            return State.Intermediate, text, pos
        if not digits.isdigit():
            return State.Invalid, text, pos
        value = int(digits)
        if self.minimum() <= value <= self.maximum():
            return State.Acceptable, text, pos
        return (State.Intermediate if value < self.minimum() else State.Invalid), text, pos
