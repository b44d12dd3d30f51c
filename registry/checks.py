"""Record validation for the registry, through ``fieldapp.domain.validation``.

Only problem paths and codes leave this module, never values. The validation module is
imported at start-up: a registry without it fails to start instead of accepting records
unchecked.
"""

from __future__ import annotations

import logging
from datetime import date

from fieldapp.domain.update import is_update, validate_update
from fieldapp.domain.validation import validate_record
from registry import logs

NATIONAL_ID_FIELD = "national_id"


def check_record(record: dict, enrolled_on: str) -> tuple[dict | None, list[dict]]:
    """``(clean, [])`` for a valid record, else ``(None, [{"path", "code"}, ...])``.

    Ages and "not in the future" are judged on the enrollment day ``enrolled_on``. An update document (protocol 4,
    ``"kind": "update"``) is checked by ``fieldapp.domain.update.validate_update`` (its shape; against the member at
    intake, ``registry.updates``).
    """
    try:
        check = validate_update if is_update(record) else validate_record
        clean, problems = check(record, today=date.fromisoformat(enrolled_on))
    except Exception as exc:  # noqa: BLE001 - a validator bug must not become a 5xx
        logs.event("validation_crashed", logging.ERROR, error=type(exc).__name__)
        return None, [{"path": "", "code": "validation.internal_error"}]
    safe = [{"path": str(getattr(p, "path", ""))[:200], "code": str(getattr(p, "code", ""))[:100]} for p in problems]
    return (clean, []) if clean is not None and not safe else (None, safe or [{"path": "", "code": "validation.invalid"}])


def national_id(clean: dict) -> str | None:
    """The cleaned national ID, if the record has one."""
    value = clean.get(NATIONAL_ID_FIELD)
    return value if isinstance(value, str) and value.strip() else None
