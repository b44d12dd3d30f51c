"""The household preview's data (``fieldapp.domain.household``, ``fieldapp.store.preview``) and the records list's
column orders (``fieldapp.store.listing``): ages, the coverage rule, the full address, who may see what."""

from __future__ import annotations

from datetime import date

import pytest
from helpers.ui_forms import OW, SUP, make_store, open_session, person, store_records

from fieldapp.base.errors import FieldappError
from fieldapp.domain import household
from fieldapp.store import listing, preview, records, search, users
from fieldapp.store.database import Store

TODAY = date(2026, 6, 1)
FAMILY = {
    "family_name": "សុខ", "given_name": "ចន្ទា", "family_name_latin": "Sok", "given_name_latin": "Chanda",
    "sex": "female", "date_of_birth": "1988-03-14", "village_code": "05010203",
    "dependents": [
        {"family_name": "ម៉ម", "given_name": "វិចិត្រ", "relationship": "spouse", "sex": "male",
         "date_of_birth": "1985-11-02"},
        {"family_name": "ម៉ម", "given_name": "សុភា", "relationship": "child", "sex": "female",
         "date_of_birth": "2012-06-01", "disability_or_chronic_illness": False},
        {"family_name": "ម៉ម", "given_name": "ដារ៉ា", "relationship": "child", "sex": "male",
         "date_of_birth": "2004-08-15", "disability_or_chronic_illness": True},
        {"family_name": "ម៉ម", "given_name": "វណ្ណា", "relationship": "child", "sex": "male",
         "date_of_birth": "2007-06-02"},
    ],
    "consent": {"given": True, "method": "thumbprint", "recorded_at": "2026-05-30T09:15:00+07:00"},
}


def test_everyone_in_the_household_with_age_and_what_the_rule_says():
    people = household.people(FAMILY, TODAY)
    assert [(p["role"], p["name"], p["age"], p["illness"], p["rule"]) for p in people] == [
        ("member", "សុខ ចន្ទា", 38, None, "ok"),
        ("spouse", "ម៉ម វិចិត្រ", 40, False, "ok"),
        ("child", "ម៉ម សុភា", 14, False, "ok"),            # 14 today, her birthday
        ("child", "ម៉ម ដារ៉ា", 21, True, "illness"),        # over 18: covered for a chronic illness
        ("child", "ម៉ម វណ្ណា", 18, False, "over_age"),      # 18 since yesterday, no illness: not covered
    ]
    assert people[0]["name_latin"] == "Sok Chanda" and people[1]["name_latin"] == ""
    young_spouse = household.people({"dependents": [{"relationship": "spouse", "date_of_birth": "2012-01-01"}]},
                                    TODAY)
    assert young_spouse[1]["rule"] == "under_age"


@pytest.mark.parametrize("data", [None, [], "x", {"dependents": "x"}, {"dependents": [None, 5, {"relationship": 3}]},
                                  {"date_of_birth": "15/13/2000", "sex": 4, "family_name": ["x"]},
                                  {"date_of_birth": "2999-01-01"}])
def test_a_draft_of_any_shape_never_breaks_the_preview(data):
    people = household.people(data, TODAY)
    assert people[0]["role"] == "member" and people[0]["age"] is None or isinstance(people[0]["age"], int)
    assert household.address(data) is None
    assert household.consent(data) == {"given": False, "method": "", "recorded_at": ""}


def test_day_first_and_khmer_digit_birth_dates_give_an_age():
    assert household.person({"date_of_birth": "១៤/០៣/១៩៨៨"}, "member", TODAY)["age"] == 38
    assert household.person({"date_of_birth": "14.3.1988"}, "member", TODAY)["date_of_birth"] == "1988-03-14"


def test_the_full_address_in_either_language():
    found = household.address(FAMILY)
    assert found["village_code"] == "05010203"
    assert household.address_text(found, "en") == "Prey Sampoar \u2014 Kat Phluk, Basaed, Kampong Speu"
    assert household.address_text(found, "km") == "ព្រៃសំព័រ \u2014 កាត់ភ្លុក, បរសេដ្ឋ, កំពង់ស្ពឺ"
    assert household.address({"village_code": "99999999"}) is None
    assert household.address_text(None, "en") == ""


@pytest.fixture
def store(tmp_path):
    return make_store(tmp_path / "data")


def test_the_preview_reads_record_household_duplicates_history_and_full_names(store):
    first = person(seed=41, national_id="111222333")
    second = person(seed=42, national_id="111222333")  # a possible duplicate of the first
    a, b = store_records(store, [first, second])
    session = open_session(store, SUP)
    try:
        records.review(session, [a], "return", "wrong_name: check")
        found = preview.load(session, b, today=TODAY)
        assert found["record"]["id"] == b and found["record"]["state"] == "submitted"
        assert found["people"][0]["name"] == f"{second['family_name']} {second['given_name']}"
        assert found["address"]["village_code"] == second["village_code"]
        assert found["consent"]["given"] is True
        assert [d["record_id"] for d in found["duplicates"]] == [a]
        assert found["duplicates"][0]["differences"]  # compared field by field for the supervisor
        assert [e["event"] for e in found["history"]] == ["record.submitted"]
        assert found["names"] == {OW: "Outreach Worker"}
        returned = preview.load(session, a)
        assert [e["actor"] for e in returned["history"]] == [OW, SUP]
        assert returned["names"] == {OW: "Outreach Worker", SUP: "Supervisor"}
    finally:
        session.close()


def test_an_outreach_worker_sees_only_their_own_records_and_not_why_another_matched(store):
    session = open_session(store, SUP)
    try:
        users.add_user(session, "ow2", "second pass 1", "outreach", "Second Worker")
    finally:
        session.close()
    mine, = store_records(store, [person(seed=43, national_id="222333444")])
    with Store(store).unlock("ow2", "second pass 1") as other:
        theirs, = records.import_records(other, [person(seed=44, national_id="222333444")])
    session = open_session(store, OW)
    try:
        with pytest.raises(FieldappError) as err:
            preview.load(session, theirs)
        assert err.value.msg_id == "core.record.not_found"
        own = preview.load(session, mine)
        assert own["duplicates"] == [] or all(not d.get("visible", True) for d in own["duplicates"])
    finally:
        session.close()


def _keys(rows, field):
    return [r["data"].get(field) for r in rows]


def test_every_column_sorts_both_ways_with_empty_values_last(store):
    people = [person(seed=50 + i) for i in range(6)]
    people[2].pop("national_id", None)
    people[3].pop("phone", None)
    store_records(store, people)
    session = open_session(store, OW)
    try:
        draft = records.save_draft(session, {"family_name": "ក", "given_name": "ក"})  # sorts by its data
        for column in listing.ORDER_KEYS:
            up = listing.search(session, order=column)
            down = listing.search(session, order=column, descending=True)
            assert len(up) == len(down) == 7 and {r["id"] for r in up} == {r["id"] for r in down}, column
        by_name = listing.search(session, order="name")
        assert by_name[0]["id"] == draft                             # "ក ក" comes first in Khmer order
        ids = [r["data"].get("national_id") for r in listing.search(session, order="national_id")]
        present = [i for i in ids if i]
        assert present == sorted(present) and ids[len(present):] == [None] * (7 - len(present))
        ids = [r["data"].get("national_id") for r in listing.search(session, order="national_id", descending=True)]
        present = [i for i in ids if i]
        assert present == sorted(present, reverse=True) and ids[-1] is None   # empty last in both directions
        latin = [r["data"]["family_name_latin"].lower() + r["data"]["given_name_latin"].lower()
                 for r in listing.search(session, order="name_latin") if r["state"] != "draft"]
        assert latin == sorted(latin)
        assert listing.search(session) == search.search(session)   # no order: the default one
        paged = listing.search(session, order="created", limit=3) + listing.search(session, order="created",
                                                                                   limit=3, offset=3)
        assert [r["id"] for r in paged] == [r["id"] for r in listing.search(session, order="created")][:6]
        with pytest.raises(ValueError):
            listing.search(session, order="data; DROP TABLE records")
    finally:
        session.close()


def test_sorting_keeps_to_the_workers_own_records_and_the_filters(store):
    store_records(store, [person(seed=60), person(seed=61)])
    store_records(store, [person(seed=62)], user=SUP)
    session = open_session(store, OW)
    try:
        assert len(listing.search(session, order="name")) == 2
        assert {r["created_by"] for r in listing.search(session, order="phone", descending=True)} == {OW}
        assert listing.search(session, state="approved", order="name") == []
    finally:
        session.close()
