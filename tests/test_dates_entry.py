"""Dates as they are typed here, ages, and what the enrollment form asks and suggests (pure domain functions)."""

from datetime import date

import pytest

from fieldapp.domain import entry, romanize
from fieldapp.domain.dates import age, day_first, parse_date
from fieldapp.domain.khmer import is_khmer_name, is_latin_text
from fieldapp.domain.synthetic import FAMILY, GIVEN_F, GIVEN_M

TODAY = date(2026, 12, 4)


@pytest.mark.parametrize("text, day", [
    ("1990-01-15", date(1990, 1, 15)), ("1990-1-5", date(1990, 1, 5)),
    ("15/01/1990", date(1990, 1, 15)), ("15.1.1990", date(1990, 1, 15)), ("5-1-1990", date(1990, 1, 5)),
    ("15011990", date(1990, 1, 15)), (" ១៥/០១/១៩៩០ ", date(1990, 1, 15)), ("១៥០១១៩៩០", date(1990, 1, 15)),
    ("០៥.០៣.២០១២", date(2012, 3, 5)),
])
def test_accepted_forms(text, day):
    assert parse_date(text) == day


@pytest.mark.parametrize("text", ["", "15/01/90", "05/03/12", "1990/01/15", "31/02/1990", "19900115", "1501199",
                                  "15 01 1990", "15/01/1990x", "yesterday", None, 19900115, "１５/０１/１９９０x"])
def test_refused_forms(text):
    assert parse_date(text) is None


def test_day_first_and_age():
    assert day_first(date(2007, 8, 5)) == "05/08/2007"
    assert age(date(2008, 12, 4), TODAY) == 18 and age(date(2008, 12, 5), TODAY) == 17
    assert age(date(2026, 1, 1), TODAY) == 0


@pytest.mark.parametrize("relationship, born, ticked, asked", [
    ("child", "2010-01-01", False, False),      # 16: not yet
    ("child", "2009-12-04", False, True),       # 17, 18 in exactly a year: asked
    ("child", "2009-12-06", False, False),      # 18 in a year and two days: not yet
    ("child", "2000-01-01", False, True),       # 26: the only way a child this old is covered
    ("spouse", "2000-01-01", False, False),     # never asked of a spouse ...
    ("spouse", "2000-01-01", True, True),       # ... unless ticked already (so it can be unticked)
    (None, "2000-01-01", False, False), ("child", "", False, False), ("child", "not a date", False, False),
])
def test_the_illness_question_where_the_rule_needs_it(relationship, born, ticked, asked):
    assert entry.illness_question_needed(relationship, born, TODAY, ticked=ticked) is asked


def test_spouse_starts_at_the_other_sex():
    assert entry.spouse_sex("male") == "female" and entry.spouse_sex("female") == "male"
    assert entry.spouse_sex(None) is None


def test_common_names_have_their_usual_latin_spelling():
    for khmer, latin in FAMILY:
        assert romanize.suggest_latin(khmer, "family_name") == latin
    for khmer, latin in GIVEN_F + GIVEN_M:
        assert romanize.suggest_latin(khmer, "given_name") == latin
    assert romanize.suggest_latin("ដារ៉ា", "given_name") == romanize.suggest_latin("ដារា", "given_name") == "Dara"
    assert romanize.suggest_latin("ស្រី\u200bមុំ", "given_name") == "Sreymom"   # a zero-width space ignored
    assert romanize.suggest_latin("ស្រី មុំ", "given_name") == "Sreymom"
    assert romanize.suggest_latin("ឈ្មោះចម្លែក", "given_name") is None           # unknown: nothing guessed
    assert romanize.suggest_latin("សុខ", "no_such_kind") is None and romanize.suggest_latin(None, "given_name") is None
    for kind, table in romanize.KINDS.items():
        assert all(is_khmer_name(k) and is_latin_text(v) for k, v in table), kind
