"""Dates as people type them in Cambodia, and ages.

``parse_date`` reads ``YYYY-MM-DD`` (how records store dates), ``DD/MM/YYYY`` and ``D.M.YYYY`` (day first: how
dates are commonly written here; ``/``, ``.`` or ``-`` between the parts) and ``DDMMYYYY`` (the same, eight digits
without separators: the fastest to type), each with Khmer or ASCII digits and surrounding spaces. Two-digit years
are refused: ``05/03/12`` could be 1912 or 2012. ``age`` is completed years. Pure functions: the form shows the age
beside each birth date, validation and the review preview use the same.
"""

from __future__ import annotations

import re
from datetime import date

from fieldapp.domain.khmer import to_ascii_digits

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})\Z")
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\Z")
_COMPACT = re.compile(r"^(\d{2})(\d{2})(\d{4})\Z")


def parse_date(text) -> date | None:
    """The date ``text`` names in one of the accepted forms, or None (not a date, or not a real day)."""
    if not isinstance(text, str):
        return None
    plain = to_ascii_digits(text).strip()
    if not plain.isascii():
        return None
    m = _ISO.match(plain)
    if m:
        year, month, day = (int(g) for g in m.groups())
    else:
        m = _DAY_FIRST.match(plain) or _COMPACT.match(plain)
        if not m:
            return None
        day, month, year = (int(g) for g in m.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def day_first(day: date) -> str:
    """``DD/MM/YYYY`` (ASCII digits): how the form writes a date back into a date field."""
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def age(born: date, today: date) -> int:
    """Completed years between ``born`` and ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
