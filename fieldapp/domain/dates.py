"""Dates as people type them in Cambodia, and ages.

``parse_date`` reads ``YYYY-MM-DD`` (how records store dates), ``DD/MM/YYYY`` and ``D.M.YYYY`` (day first: how
dates are commonly written here; ``/``, ``.`` or ``-`` between the parts), each with Khmer or ASCII digits and
surrounding spaces. Two-digit years are refused: ``05/03/12`` could be 1912 or 2012. ``age`` is completed years.
Pure functions: the form shows the age beside each birth date, validation and the review preview use the same.
"""

from __future__ import annotations

import re
from datetime import date

from fieldapp.domain.khmer import to_ascii_digits

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})\Z")
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\Z")


def parse_date(text) -> date | None:
    """The date ``text`` names in one of the accepted forms, or None (not a date, or not a real day)."""
    if not isinstance(text, str):
        return None
    plain = to_ascii_digits(text).strip()
    m = _ISO.match(plain)
    if m:
        year, month, day = (int(g) for g in m.groups())
    else:
        m = _DAY_FIRST.match(plain)
        if not m:
            return None
        day, month, year = (int(g) for g in m.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def age(born: date, today: date) -> int:
    """Completed years between ``born`` and ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
