"""Record validation for the registry, through ``fieldapp.domain.validation`` (imported lazily).

Only problem paths and codes leave this module, never values. If the validation module
is missing (a partial install) every decrypted record is accepted as is and a warning is
logged once: a real registry must ship it.
"""

from __future__ import annotations

import logging
from datetime import date

from registry import logs

NATIONAL_ID_FIELD = "national_id"
_warned = False


def _validator():
    global _warned
    try:
        from fieldapp.domain.validation import validate_record
    except ImportError:
        if not _warned:
            logs.event("validation_unavailable", logging.WARNING)
            _warned = True
        return None
    return validate_record


def check_record(record: dict, enrolled_on: str) -> tuple[dict | None, list[dict]]:
    """``(clean, [])`` for a valid record, else ``(None, [{"path", "code"}, ...])``.

    Ages and "not in the future" are judged on the enrollment day ``enrolled_on``.
    """
    validate = _validator()
    if validate is None:
        return record, []
    try:
        clean, problems = validate(record, today=date.fromisoformat(enrolled_on))
    except Exception as exc:  # noqa: BLE001 - a validator bug must not become a 5xx
        logs.event("validation_crashed", logging.ERROR, error=type(exc).__name__)
        return None, [{"path": "", "code": "validation.internal_error"}]
    safe = [{"path": str(getattr(p, "path", ""))[:200], "code": str(getattr(p, "code", ""))[:100]} for p in problems]
    return (clean, []) if clean is not None and not safe else (None, safe or [{"path": "", "code": "validation.invalid"}])


def national_id(clean: dict) -> str | None:
    """The cleaned national ID, if the record has one."""
    value = clean.get(NATIONAL_ID_FIELD)
    return value if isinstance(value, str) and value.strip() else None
