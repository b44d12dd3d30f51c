"""Every rule of an enrollment record, in one place.

:func:`validate_record` takes the JSON form of a record (the interchange
format for import, export and the central registry; see
``docs/record-format.md``) and returns either ``(clean, [])`` or
``(None, problems)`` with *every* problem found. It never raises for any
input and is deterministic for a given ``today``.

Problems carry a path (``"dependents[1].date_of_birth"``), a message id and
non-personal parameters; messages come from the ``validation`` catalogs.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import phonenumbers

from fieldapp.domain import geo
from fieldapp.domain.dates import parse_date
from fieldapp.domain.problem import Problem, field_label  # noqa: F401  (re-exported: the catalogue of problems lives there)
from fieldapp.domain.khmer import (clean_name, is_khmer_name, is_latin_text, match_key, normalize_text,
                                   to_ascii_digits)
from fieldapp.domain.occupations import (CONSENT_METHODS, EMPLOYMENT_STATUSES, OCCUPATIONS, OTHER,
                          RELATIONSHIPS, SEXES)

MAX_NAME = 100
MAX_ID_TEXT = 64            # idpoor_household_id, disability_id
MAX_OCCUPATION_OTHER = 100
MAX_NOTES = 1000
MAX_DEPENDENTS = 20
MIN_WORKER_AGE, MAX_WORKER_AGE = 15, 100
CHILD_MAX_AGE = 18          # a child must be younger, unless disabled/chronically ill
MIN_SPOUSE_AGE = 15
NATIONAL_ID_DIGITS = 9
EARLIEST_DATE = date(1900, 1, 1)
_RAW_SLACK = 4              # raw text may be this many times a limit before normalising
_SHORT_RAW = 64             # raw length cap for codes, dates, phones, ids

SCHEMA_FIELDS = (
    "record_id", "family_name", "given_name", "family_name_latin", "given_name_latin",
    "sex", "date_of_birth", "national_id", "phone",
    "village_code", "commune_code", "district_code", "province_code", "address_source",
    "occupation", "occupation_other", "employment_status",
    "idpoor_household_id", "disability_id", "dependents", "consent", "notes",
)
DEPENDENT_FIELDS = ("family_name", "given_name", "family_name_latin", "given_name_latin",
                    "relationship", "sex", "date_of_birth", "disability_or_chronic_illness")
CONSENT_FIELDS = ("given", "method", "recorded_at")

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class _Checker:
    """Collects problems while the field functions below clean values."""

    def __init__(self, today: date):
        self.today = today
        self.problems: list[Problem] = []

    def add(self, path: str, code: str, **params) -> None:
        """Record a problem; returns None so callers can ``return ck.add(...)``."""
        self.problems.append(Problem(path, code, params))

    def has(self, path: str) -> bool:
        return any(p.path == path for p in self.problems)


# ---- Field checks: each returns the clean value, or None (absent or invalid) ----
def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _safe_key(key) -> str:
    """A field name fit for a path: printable and at most 40 characters."""
    return "".join(ch for ch in str(key)[:200] if ch.isprintable())[:40]


def _unknown_fields(ck: _Checker, obj: dict, allowed: tuple, prefix: str) -> None:
    for key in obj:
        if key not in allowed:
            name = _safe_key(key)
            ck.add(_join(prefix, name), "validation.unknown_field", name=name)


def _string(ck: _Checker, value, path: str, required: bool, raw_max: int) -> str | None:
    """Type and size gate shared by the text-like fields."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ck.add(path, "validation.required") if required else None
    if not isinstance(value, str):
        return ck.add(path, "validation.wrong_type", expected="string")
    if len(value) > raw_max:
        return ck.add(path, "validation.too_long", max=raw_max)
    return value


def _text(ck, value, path, *, required=False, max_len=MAX_NAME, script=None, name=False) -> str | None:
    """Free text, normalised; *script* ``"khmer"`` or ``"latin"`` restricts it; a *name* loses its zero-width spaces."""
    if (raw := _string(ck, value, path, required, max_len * _RAW_SLACK)) is None:
        return None
    text = clean_name(raw) if name else normalize_text(raw)
    if not text:
        return ck.add(path, "validation.required") if required else None
    if len(text) > max_len:
        return ck.add(path, "validation.too_long", max=max_len)
    if script == "khmer" and not is_khmer_name(text):
        return ck.add(path, "validation.not_khmer")
    if script == "latin" and not is_latin_text(text):
        return ck.add(path, "validation.not_latin")
    return text


def _choice(ck, value, path, allowed: tuple, required=True) -> str | None:
    """One code of *allowed* (case and surrounding spaces ignored)."""
    if (raw := _string(ck, value, path, required, _SHORT_RAW)) is None:
        return None
    code = raw.strip().lower()
    if code not in allowed:
        return ck.add(path, "validation.invalid_choice")
    return code


def _date(ck, value, path, required=True) -> date | None:
    """A date as ``dates.parse_date`` reads it (``YYYY-MM-DD``, ``DD/MM/YYYY``, ``D.M.YYYY``, ``DDMMYYYY``; any
    decimal digits), not in the future. The clean record stores it as ``YYYY-MM-DD``."""
    if (raw := _string(ck, value, path, required, _SHORT_RAW)) is None:
        return None
    day = parse_date(raw)
    if day is None:
        return ck.add(path, "validation.date.format")
    if day > ck.today:
        return ck.add(path, "validation.date.in_future")
    if day < EARLIEST_DATE:
        return ck.add(path, "validation.date.too_early", year=EARLIEST_DATE.year)
    return day


def _timestamp(ck, value, path, required=True) -> str | None:
    """ISO 8601 date or date-time, at most one day ahead of ``today`` (time zones)."""
    if (raw := _string(ck, value, path, required, _SHORT_RAW)) is None:
        return None
    text = to_ascii_digits(raw.strip())
    try:
        parsed = (date.fromisoformat(text) if _DATE.fullmatch(text)
                  else datetime.fromisoformat(text))
    except ValueError:
        return ck.add(path, "validation.datetime.format")
    day = parsed.date() if isinstance(parsed, datetime) else parsed
    if day > ck.today + timedelta(days=1):
        return ck.add(path, "validation.date.in_future")
    return parsed.isoformat()


def _age(born: date, today: date) -> int:
    """Completed years between *born* and *today*."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _digits(ck, value, path, count: int) -> str | None:
    """Exactly *count* digits once spaces are removed (Khmer digits accepted)."""
    if (raw := _string(ck, value, path, False, _SHORT_RAW)) is None:
        return None
    text = "".join(to_ascii_digits(raw).split())
    if not (len(text) == count and text.isascii() and text.isdigit()):
        return ck.add(path, "validation.digits.count", digits=count)
    return text


def _phone(ck, value, path) -> str | None:
    """A valid Cambodian phone number in E.164 form (``+85512345678``)."""
    if (raw := _string(ck, value, path, False, _SHORT_RAW)) is None:
        return None
    try:
        number = phonenumbers.parse(to_ascii_digits(raw.strip()), "KH")
        ok = (phonenumbers.is_valid_number(number)
              and phonenumbers.region_code_for_number(number) == "KH")
    except Exception:  # NumberParseException and anything odd inside the library
        ok = False
    if not ok:
        return ck.add(path, "validation.phone.invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _record_id(ck, value, path) -> str | None:
    if (raw := _string(ck, value, path, False, _SHORT_RAW)) is None:
        return None
    if not _UUID.fullmatch(raw.strip()):
        return ck.add(path, "validation.record_id.format")
    return raw.strip().lower()


def _boolean(ck, value, path) -> bool | None:
    """A JSON boolean; ``None`` if absent."""
    if value is None or isinstance(value, bool):
        return value
    return ck.add(path, "validation.wrong_type", expected="boolean")


# ---- Sections of the record ----
def _names(ck, obj: dict, prefix: str) -> dict:
    """Khmer names (required) and their Latin forms (optional)."""
    out = {}
    for key in ("family_name", "given_name"):
        out[key] = _text(ck, obj.get(key), _join(prefix, key), required=True, script="khmer", name=True)
        latin = key + "_latin"
        out[latin] = _text(ck, obj.get(latin), _join(prefix, latin), script="latin", name=True)
    return out


def _address(ck, data: dict) -> dict:
    """Village code checked against the gazetteer; parent codes derived from it."""
    out: dict = {}
    code = None
    raw = _string(ck, data.get("village_code"), "village_code", True, _SHORT_RAW)
    if raw is not None:
        code = geo.normalize_code(raw, "village")
        if code is None:
            ck.add("village_code", "validation.digits.count", digits=geo.CODE_LENGTHS["village"])
    unit = geo.village(code) if code else None
    if code and unit is None:
        ck.add("village_code", "validation.village_code.unknown")
    for level in ("commune", "district", "province"):
        key = f"{level}_code"
        given = _string(ck, data.get(key), key, False, _SHORT_RAW)
        expected = unit.code[:geo.CODE_LENGTHS[level]] if unit else None
        if given is not None and expected and geo.normalize_code(given, level) != expected:
            ck.add(key, "validation.address.mismatch")
        out[key] = expected
    _choice(ck, data.get("address_source"), "address_source", geo.SOURCES, required=False)
    out["village_code"] = unit.code if unit else None
    out["address_source"] = unit.source if unit else None
    return out


def _work(ck, data: dict) -> dict:
    """Occupation (with free text for "other") and employment status."""
    occupation = _choice(ck, data.get("occupation"), "occupation", OCCUPATIONS)
    other = _text(ck, data.get("occupation_other"), "occupation_other",
                  max_len=MAX_OCCUPATION_OTHER)
    if occupation == OTHER and other is None and not ck.has("occupation_other"):
        ck.add("occupation_other", "validation.occupation_other.required")
    elif occupation not in (None, OTHER) and other is not None:
        ck.add("occupation_other", "validation.occupation_other.not_allowed")
    status = _choice(ck, data.get("employment_status"), "employment_status",
                     EMPLOYMENT_STATUSES)
    return {"occupation": occupation, "occupation_other": other, "employment_status": status}


def _dependent(ck, item, prefix: str) -> dict | None:
    """One dependent; age rules depend on the relationship."""
    if not isinstance(item, dict):
        return ck.add(prefix, "validation.dependent.not_object")
    out = _names(ck, item, prefix)
    out["relationship"] = _choice(ck, item.get("relationship"), prefix + ".relationship",
                                  RELATIONSHIPS)
    out["sex"] = _choice(ck, item.get("sex"), prefix + ".sex", SEXES)
    born = _date(ck, item.get("date_of_birth"), prefix + ".date_of_birth")
    ill = _boolean(ck, item.get("disability_or_chronic_illness"),
                   prefix + ".disability_or_chronic_illness")
    out["date_of_birth"] = born.isoformat() if born else None
    out["disability_or_chronic_illness"] = bool(ill)
    if born and out["relationship"] == "child" and not ill:
        if _age(born, ck.today) >= CHILD_MAX_AGE:
            ck.add(prefix + ".date_of_birth", "validation.dependent.child_too_old",
                   max_age=CHILD_MAX_AGE)
    if born and out["relationship"] == "spouse" and _age(born, ck.today) < MIN_SPOUSE_AGE:
        ck.add(prefix + ".date_of_birth", "validation.dependent.spouse_too_young",
               min_age=MIN_SPOUSE_AGE)
    _unknown_fields(ck, item, DEPENDENT_FIELDS, prefix)
    return {k: v for k, v in out.items() if v is not None}


def _dependents(ck, value) -> list:
    """The list of dependents: at most MAX_DEPENDENTS, at most one spouse."""
    if value is None:
        return []
    if not isinstance(value, list):
        return ck.add("dependents", "validation.wrong_type", expected="list") or []
    if len(value) > MAX_DEPENDENTS:
        ck.add("dependents", "validation.dependents.too_many", max=MAX_DEPENDENTS)
    out, spouses = [], 0
    for i, item in enumerate(value[:MAX_DEPENDENTS]):
        clean = _dependent(ck, item, f"dependents[{i}]")
        if isinstance(item, dict) and clean.get("relationship") == "spouse":
            spouses += 1
            if spouses > 1:
                ck.add(f"dependents[{i}].relationship", "validation.dependents.multiple_spouses")
        out.append(clean)
    return out


def _consent(ck, value, required: bool) -> dict | None:
    """Consent: given (true), method and when it was recorded."""
    if value is None:
        return ck.add("consent.given", "validation.consent.given") if required else None
    if not isinstance(value, dict):
        return ck.add("consent", "validation.wrong_type", expected="object")
    given = _boolean(ck, value.get("given"), "consent.given")
    if given is not True and required and not ck.has("consent.given"):
        ck.add("consent.given", "validation.consent.given")
    out = {"given": given is True,
           "method": _choice(ck, value.get("method"), "consent.method", CONSENT_METHODS,
                             required=given is True),
           "recorded_at": _timestamp(ck, value.get("recorded_at"), "consent.recorded_at",
                                     required=given is True)}
    _unknown_fields(ck, value, CONSENT_FIELDS, "consent")
    return {k: v for k, v in out.items() if v is not None}


# ---- Public API ----
def _check(data: dict, ck: _Checker, require_consent: bool) -> dict:
    """Run every rule; returns the clean record (meaningful only if no problems)."""
    out: dict = {"record_id": _record_id(ck, data.get("record_id"), "record_id")}
    out.update(_names(ck, data, ""))
    out["sex"] = _choice(ck, data.get("sex"), "sex", SEXES)
    born = _date(ck, data.get("date_of_birth"), "date_of_birth")
    if born and _age(born, ck.today) < MIN_WORKER_AGE:
        ck.add("date_of_birth", "validation.date_of_birth.too_young", min_age=MIN_WORKER_AGE)
    elif born and _age(born, ck.today) > MAX_WORKER_AGE:
        ck.add("date_of_birth", "validation.date_of_birth.too_old", max_age=MAX_WORKER_AGE)
    out["date_of_birth"] = born.isoformat() if born else None
    out["national_id"] = _digits(ck, data.get("national_id"), "national_id", NATIONAL_ID_DIGITS)
    out["phone"] = _phone(ck, data.get("phone"), "phone")
    out.update(_address(ck, data))
    out.update(_work(ck, data))
    for key in ("idpoor_household_id", "disability_id"):
        out[key] = _text(ck, data.get(key), key, max_len=MAX_ID_TEXT)
    out["dependents"] = _dependents(ck, data.get("dependents"))
    out["consent"] = _consent(ck, data.get("consent"), require_consent)
    out["notes"] = _text(ck, data.get("notes"), "notes", max_len=MAX_NOTES)
    _unknown_fields(ck, data, SCHEMA_FIELDS, "")
    return {k: out[k] for k in SCHEMA_FIELDS if out.get(k) is not None}


def validate_record(data, *, today: date | None = None,
                    require_consent: bool = True) -> tuple[dict | None, list[Problem]]:
    """Validate one record in JSON form.

    Returns ``(clean, [])`` when valid, else ``(None, problems)`` listing every
    problem. *today* is the enrollment day used for ages (default: today).
    Never raises for any *data*.
    """
    if today is None:
        today = date.today()
    elif isinstance(today, datetime):
        today = today.date()
    elif not isinstance(today, date):
        raise TypeError("today must be a date")
    ck = _Checker(today)
    if not isinstance(data, dict):
        return None, [Problem("", "validation.record.not_object")]
    try:
        clean = _check(data, ck, require_consent)
    except Exception:  # a bug must not crash an import; tests assert this never happens
        return None, [Problem("", "validation.internal_error")]
    return (None, ck.problems) if ck.problems else (clean, [])


def duplicate_keys(clean: dict) -> dict:
    """Keys the store uses to spot a person enrolled twice."""
    return {
        "national_id": clean.get("national_id"),
        "name_key": match_key(clean.get("family_name")) + "|" + match_key(clean.get("given_name")),
        "date_of_birth": clean.get("date_of_birth"),
        "commune_code": clean.get("commune_code"),
    }
