"""What the enrollment form asks and suggests while a person types (pure; the rules themselves are in
``fieldapp.domain.validation``).

* The disability or chronic illness question matters only for a child who is 18 or older, or turns 18 within a
  year (a child is covered until 18, with no age limit when disabled or chronically ill): the form shows it there
  and nowhere else, unless it is already ticked.
* A spouse is a legally married spouse, and Cambodian law knows marriage only between a man and a woman: the form
  starts a spouse's sex at the other one of the member's (the worker can still change it).
"""

from __future__ import annotations

from datetime import date, timedelta

from fieldapp.domain.dates import age, parse_date
from fieldapp.domain.validation import CHILD_MAX_AGE

#: How far ahead the illness question looks: a child turning 18 within this many days is asked already.
ILLNESS_LOOKAHEAD_DAYS = 365


def illness_question_needed(relationship, date_of_birth, today: date | None = None, ticked: bool = False) -> bool:
    """Whether the form asks "disability or chronic illness?" for this dependent."""
    if ticked:
        return True
    if relationship != "child":
        return False
    born = parse_date(date_of_birth) if isinstance(date_of_birth, str) else date_of_birth
    if not isinstance(born, date):
        return False
    today = today or date.today()
    return age(born, today + timedelta(days=ILLNESS_LOOKAHEAD_DAYS)) >= CHILD_MAX_AGE


def spouse_sex(member_sex) -> str | None:
    """The sex a new spouse's row starts with: the other one of the member's (None while that is not chosen)."""
    return {"female": "male", "male": "female"}.get(member_sex)
