"""Shared by the validation tests: a valid record and dependent to change one field at a time, and checkers."""

from datetime import date

from fieldapp.domain.validation import validate_record

TODAY = date(2024, 5, 1)
ZWSP = "\u200b"


def record(**changes):
    """A valid record, with top-level *changes* applied (None deletes a key)."""
    base = {
        "record_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "family_name": "សុខ", "given_name": "ស្រីនី",
        "family_name_latin": "Sok", "given_name_latin": "Srey Ny",
        "sex": "female", "date_of_birth": "1985-03-12",
        "national_id": "012345678", "phone": "012 345 678", "village_code": "01020101",
        "occupation": "market_vendor", "employment_status": "self_employed",
        "dependents": [dependent()],
        "consent": {"given": True, "method": "thumbprint", "recorded_at": "2024-05-01"},
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def dependent(**changes):
    base = {"family_name": "សុខ", "given_name": "ដារា", "relationship": "child",
            "sex": "male", "date_of_birth": "2015-06-01"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def check(data, **kw):
    kw.setdefault("today", TODAY)
    return validate_record(data, **kw)


def codes(data, **kw):
    clean, problems = check(data, **kw)
    assert clean is None and problems
    return {(p.path, p.code) for p in problems}
