"""The enrollment form's fields: which there are, in what order, and how they map to record JSON.

``FormValues`` is mixed into ``EnrollScreen``: ``collect`` reads the widgets into a record, ``fill`` writes one
into them; neither holds a rule (those are in ``fieldapp.domain.validation``).

The order is the keyboard's: the worker's own fields, the address, work, the household, consent, then the optional
extras (IDPoor and disability card numbers, notes), so a household without them goes from consent straight to
Submit (Ctrl+Enter).
"""

from __future__ import annotations

from datetime import date

from fieldapp.domain.dates import parse_date
from fieldapp.domain.khmer import to_ascii_digits
from fieldapp.domain.occupations import OTHER, choices
from ui.qt import QComboBox
from ui.widgets.date_edit import describe

TEXT_FIELDS = ("family_name", "given_name", "family_name_latin", "given_name_latin", "date_of_birth", "national_id",
               "phone", "occupation_other", "idpoor_household_id", "disability_id", "consent.recorded_at")
DIGIT_FIELDS = ("national_id", "phone", "idpoor_household_id", "disability_id")
DATE_FIELDS = ("date_of_birth", "consent.recorded_at")
NAME_FIELDS = ("family_name", "given_name", "family_name_latin", "given_name_latin")
CHOICE_FIELDS = {"sex": "sex", "occupation": "occupation", "employment_status": "employment_status",
                 "consent.method": "consent_method"}
#: What a new form starts with: the scheme is for self-employed workers, consent is recorded today.
DEFAULT_EMPLOYMENT = "self_employed"
SECTIONS = (
    ("person", ("family_name", "given_name", "family_name_latin", "given_name_latin", "sex", "date_of_birth",
                "national_id", "phone")),
    ("address", ("address",)),
    ("work", ("occupation", "occupation_other", "employment_status")),
    ("dependents", ("dependents",)),
    ("consent", ("consent.given", "consent.method", "consent.recorded_at")),
    ("more", ("idpoor_household_id", "disability_id", "notes")),
)
ORDER = [key for _section, keys in SECTIONS for key in keys]
ALIASES = {"province_code": "address", "district_code": "address", "commune_code": "address",
           "village_code": "address", "address_source": "address", "consent": "consent.given"}


def field_of_path(path: str) -> str:
    """The form field that shows a problem's path (``dependents[1].sex`` -> ``dependents``)."""
    plain = path.split("[", 1)[0] if path.startswith("dependents") else path
    return ALIASES.get(plain, plain)


def problem_order(problem) -> tuple:
    """Sort key: the problems in the order the form asks (a dependent's by its panel, then its field)."""
    from ui.widgets.person_panel import FIELDS
    from ui.widgets.problems import split_path

    key = field_of_path(problem.path)
    _k, row, name = split_path(problem.path)
    return (ORDER.index(key) if key in ORDER else len(ORDER), row or 0,
            FIELDS.index(name) if name in FIELDS else -1)


def has_name(data: dict) -> bool:
    """Whether the member has a name yet (a draft starts only then)."""
    return any(isinstance(data.get(key), str) and data[key].strip() for key in NAME_FIELDS)


class FormValues:
    """Widgets <-> record JSON, for a screen with ``widgets``, ``hints``, ``ctx``, ``t`` and ``_loading``."""

    def collect(self) -> dict:
        """The form as record JSON (empty fields left out; Khmer digits made ASCII where digits are typed; dates
        as ``YYYY-MM-DD`` when they can be read)."""
        data: dict = {}
        consent: dict = {}
        for key in TEXT_FIELDS + tuple(CHOICE_FIELDS):
            widget = self.widgets[key]
            if key in CHOICE_FIELDS:
                value = widget.currentData()
            elif key in DATE_FIELDS:
                value = widget.iso_text()
            else:
                value = widget.text().strip()
            if key == "occupation_other" and not widget.isEnabled():
                value = None  # only asked for "Other"
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
                elif key in DATE_FIELDS:
                    widget.set_value(value)
                else:
                    widget.setText("" if value is None else str(value))
            self.widgets["address"].set_codes(data)
            self.widgets["dependents"].set_rows(data.get("dependents") or [])
            self.widgets["consent.given"].setChecked(consent.get("given") is True)
            self.widgets["notes"].setPlainText(str(data.get("notes") or ""))
        finally:
            self._loading = False
        self._update_dependent_fields()

    def _fill_combo(self, combo: QComboBox, kind: str) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(self.t("forms.choose"), None)
        for code, label in choices(kind, self.ctx.lang):
            combo.addItem(label, code)
        combo.setCurrentIndex(max(combo.findData(current), 0))
        combo.blockSignals(False)

    def _update_dependent_fields(self) -> None:
        """What follows from other fields: the meaning and age beside each date, "Other occupation" only for Other."""
        for key, hint in self.hints.items():
            text = self.widgets[key].text()
            if key == "date_of_birth":
                hint.setText(describe(self.ctx, text))
            else:
                found = parse_date(text)
                hint.setText(self.ctx.format_date(found) if found else "")
        self.widgets["occupation_other"].setEnabled(self.widgets["occupation"].currentData() == OTHER)

    def defaults(self) -> dict:
        """A new form's values."""
        return {"employment_status": DEFAULT_EMPLOYMENT, "consent": {"recorded_at": date.today().isoformat()}}
