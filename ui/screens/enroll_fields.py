"""The enrollment form's fields: which there are, in what order, and how they map to record JSON.

``FormValues`` is mixed into ``EnrollScreen``: ``collect`` reads the widgets into a record, ``fill`` writes one
into them; neither holds a rule (those are in ``fieldapp.domain.validation``).
"""

from __future__ import annotations

from datetime import date

from fieldapp.domain.khmer import to_ascii_digits
from fieldapp.domain.occupations import choices
from ui.qt import QComboBox

TEXT_FIELDS = ("family_name", "given_name", "family_name_latin", "given_name_latin", "date_of_birth", "national_id",
               "phone", "occupation_other", "idpoor_household_id", "disability_id", "consent.recorded_at")
DIGIT_FIELDS = ("date_of_birth", "national_id", "phone", "idpoor_household_id", "disability_id", "consent.recorded_at")
DATE_FIELDS = ("date_of_birth", "consent.recorded_at")
CHOICE_FIELDS = {"sex": "sex", "occupation": "occupation", "employment_status": "employment_status",
                 "consent.method": "consent_method"}
SECTIONS = (
    ("person", ("family_name", "given_name", "family_name_latin", "given_name_latin", "sex", "date_of_birth",
                "national_id", "phone")),
    ("address", ("address",)),
    ("work", ("occupation", "occupation_other", "employment_status", "idpoor_household_id", "disability_id")),
    ("dependents", ("dependents",)),
    ("consent", ("consent.given", "consent.method", "consent.recorded_at")),
    ("notes", ("notes",)),
)
ORDER = [key for _section, keys in SECTIONS for key in keys]
ALIASES = {"province_code": "address", "district_code": "address", "commune_code": "address",
           "village_code": "address", "address_source": "address", "consent": "consent.given"}


class FormValues:
    """Widgets <-> record JSON, for a screen with ``widgets``, ``hints``, ``ctx``, ``t`` and ``_loading``."""

    def collect(self) -> dict:
        """The form as record JSON (empty fields left out; Khmer digits made ASCII where digits are typed)."""
        data: dict = {}
        consent: dict = {}
        for key in TEXT_FIELDS + tuple(CHOICE_FIELDS):
            widget = self.widgets[key]
            value = widget.currentData() if key in CHOICE_FIELDS else widget.text().strip()
            if value:
                value = to_ascii_digits(value) if key in DIGIT_FIELDS else value
                (consent if key.startswith("consent.") else data)[key.split(".")[-1]] = value
        data.update(self.widgets["address"].codes())
        dependents = self.widgets["dependents"].rows()
        if dependents:
            data["dependents"] = dependents
        consent["given"] = self.widgets["consent.given"].isChecked()
        data["consent"] = consent
        notes = self.widgets["notes"].toPlainText().strip()
        if notes:
            data["notes"] = notes
        return data

    def fill(self, data: dict) -> None:
        self._loading = True
        try:
            consent = data.get("consent") if isinstance(data.get("consent"), dict) else {}
            for key in TEXT_FIELDS + tuple(CHOICE_FIELDS):
                value, widget = consent.get(key[8:]) if key.startswith("consent.") else data.get(key), self.widgets[key]
                if key in CHOICE_FIELDS:
                    widget.setCurrentIndex(max(widget.findData(value), 0))
                else:
                    widget.setText("" if value is None else str(value))
            self.widgets["address"].set_codes(data)
            self.widgets["dependents"].set_rows(data.get("dependents") or [])
            self.widgets["consent.given"].setChecked(consent.get("given") is True)
            self.widgets["notes"].setPlainText(str(data.get("notes") or ""))
        finally:
            self._loading = False
        self._update_hints()

    def _fill_combo(self, combo: QComboBox, kind: str) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(self.t("forms.choose"), None)
        for code, label in choices(kind, self.ctx.lang):
            combo.addItem(label, code)
        combo.setCurrentIndex(max(combo.findData(current), 0))
        combo.blockSignals(False)

    def _update_hints(self) -> None:
        for key, hint in self.hints.items():
            text = to_ascii_digits(self.widgets[key].text().strip())
            try:
                hint.setText(self.ctx.format_date(date.fromisoformat(text)) if len(text) == 10 else "")
            except ValueError:
                hint.setText("")
