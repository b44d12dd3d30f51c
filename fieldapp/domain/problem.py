"""A problem found in a record: its path, message id and non-personal parameters, and how it reads in Khmer
and English. Split from ``fieldapp.domain.validation`` (the rules), which re-exports ``Problem`` and ``field_label``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fieldapp.base.i18n import LANGUAGES, format_number, get_language, has_message, tr

_INDEX = re.compile(r"\[\d+\]")
_DEPENDENT = re.compile(r"dependents\[(\d+)\]")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a record. ``params`` never hold personal data."""

    path: str
    code: str
    params: dict = field(default_factory=dict)

    def message(self, lang: str | None = None) -> str:
        """The message in *lang* (default: the current language)."""
        lang = lang if lang in LANGUAGES else get_language()
        params = {k: _localise_number(v, lang) for k, v in self.params.items()}
        params.setdefault("field", field_label(self.path, lang))
        text = tr(self.code, lang, **params)
        found = _DEPENDENT.match(self.path)
        if found:
            number = _localise_number(int(found.group(1)) + 1, lang)
            text = tr("validation.in_dependent", lang, number=number, message=text)
        return text

    def __hash__(self) -> int:  # params is a dict, so hash the rest
        return hash((self.path, self.code))

    def to_dict(self) -> dict:
        return {"path": self.path, "code": self.code,
                "message_en": self.message("en"), "message_km": self.message("km")}


def _localise_number(value, lang: str):
    """Integers are shown with Khmer digits in Khmer messages."""
    if isinstance(value, int) and not isinstance(value, bool):
        return format_number(value, lang)
    return value


def field_label(path: str, lang: str | None = None) -> str:
    """Translated label of the field a path points at (``field.<name>`` ids)."""
    if not path:
        return ""
    plain = _INDEX.sub("", path)
    for msg_id in ("field." + plain, "field." + plain.rsplit(".", 1)[-1]):
        if has_message(msg_id):
            return tr(msg_id, lang)
    return plain.rsplit(".", 1)[-1]
