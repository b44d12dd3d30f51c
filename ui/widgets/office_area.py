"""Settings' "Office commune": where the enrollment form's address searches start.

IT's provisioned default address wins (shown read-only with a note); without one, anyone may choose the
commune here, keyboard only, with the same picker as the form. It is saved in the desktop settings
(``fieldapp.base.config``, key ``office_commune``), which the enrollment form reads when it starts a new record.
"""

from __future__ import annotations

from fieldapp.domain import geo_area
from ui.qt import QLabel, QVBoxLayout, QWidget
from ui.widgets.address import office_area, provisioned_area
from ui.widgets.unit_picker import UnitPicker


class OfficeCommuneField(QWidget):
    """A commune picker and one line saying what it is for (or that IT set it)."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.picker = UnitPicker("commune", ctx, self)
        self.picker.setObjectName("settings_office_commune")
        self.picker.setMinimumWidth(self.fontMetrics().averageCharWidth() * 36)
        self.picker.picked.connect(self._picked)
        self.picker.editingFinished.connect(self._finished)
        self.picker.hint_changed.connect(lambda _text: self._show_note())
        self.note = QLabel(self, objectName="settings_office_note")  # one line: a form row does not grow for a wrap
        self.note.setStyleSheet("color: #444;")
        layout.addWidget(self.picker)
        layout.addWidget(self.note)
        self.reload()

    @property
    def provisioned(self) -> bool:
        return provisioned_area(self.ctx.data_dir) is not None

    def reload(self) -> None:
        """Show the office's area as it is now (IT's, or the one saved in the settings)."""
        area = office_area(self.ctx)
        self.picker.set_code(area)
        self.picker.setReadOnly(self.provisioned)
        self.retranslate()

    def retranslate(self) -> None:
        label = self.ctx.tr("forms.office.label")
        self.picker.setAccessibleName(label)
        self.picker.setPlaceholderText(self.ctx.tr("forms.address.type_to_search"))
        self.picker.refresh_text()
        self._show_note()

    def _show_note(self) -> None:
        if self.provisioned:
            text = self.ctx.tr("forms.office.set_by_it")
        elif self.picker.code:
            text = self.ctx.tr("forms.office.info_in", area=geo_area.place_name(self.picker.code, self.ctx.lang))
        elif not self.picker.text().strip():
            text = self.ctx.tr("forms.office.info")
        else:
            text = self.ctx.tr("forms.office.not_chosen")
        self.note.setText(text)
        self.picker.setAccessibleDescription(text)

    def _picked(self, code: str) -> None:
        if code and not self.provisioned:
            self.ctx.save_config(office_commune=code)
        elif not code:
            self._finished()

    def _finished(self) -> None:
        if not self.picker.text().strip() and not self.provisioned and self.ctx.config.office_commune:
            self.ctx.save_config(office_commune=None)
