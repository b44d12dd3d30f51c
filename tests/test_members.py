"""The offline lookup in the store: crafted pages, reset/incremental/removed, search and duplicate candidates."""

import json

import pytest

from helpers.lookup_tools import sup_and_ow_store

from fieldapp.store import audit, members, records
from helpers import lookup_tools as lt


@pytest.fixture
def store(tmp_path):
    return sup_and_ow_store(tmp_path)


@pytest.fixture
def recs():
    return lt.clean_records(12, seed=11)


def _count(session):
    return session.conn.execute("SELECT count(*) FROM members").fetchone()[0]


@pytest.mark.parametrize("bad", [
    None, [], "page", {"format": "fieldapp-lookup"},
    {"cursor": "7"}, {"cursor": True}, {"cursor": -1}, {"reset": 1}, {"members": {"a": 1}}, {"removed": "KH-1"},
    {"area": "010201"}, {"area": ["01;DROP TABLE members"]}, {"area_id": "XYZ"}, {"v": 2}, {"format": "other"},
])
def test_a_malformed_page_is_refused_whole(store, recs, bad):
    with store.unlock("sup", "supervisor pw") as sup:
        good = lt.page(lt.entries(recs))
        page = bad if not isinstance(bad, dict) or "format" in bad and len(bad) == 1 else dict(good, **bad)
        with pytest.raises(members.LookupPageRefused):
            members.apply_page(sup, page)
        assert _count(sup) == 0 and members.cursor(sup) == (0, None)


def test_bad_entries_are_skipped_and_counted_and_hostile_text_is_stored_as_data(store, recs):
    good = lt.entries(recs[:3])
    sql = dict(good[0], member_no="KH-REG-900001", family_name="ស'; DROP TABLE members; --",
               given_name="ដារា\" OR 1=1")
    bad = [None, "KH-REG-1", {"member_no": "KH-REG-000777"},  # no names, no version
           dict(good[1], version="2"), dict(good[1], version=True), dict(good[1], member_no="kh reg 1"),
           dict(good[1], family_name="ក" * 100_000), dict(good[1], extra="x"), dict(good[1], dependents="all"),
           dict(good[1], dependents=[{"family_name": "ក"}] * 500), dict(good[1], commune_code="01'--"),
           dict(good[1], card={"issued_at": "x", "sig": "short"}), dict(good[1], given_name="a\x00b")]
    with store.unlock("sup", "supervisor pw") as sup:
        counts = members.apply_page(sup, lt.page(good + [sql] + bad, removed=["KH-REG-1'; --", 7, None]))
        assert counts["added"] == 4 and counts["skipped"] == len(bad) + 3
        assert _count(sup) == 4
        assert members.get(sup, "KH-REG-900001")["family_name"] == "ស'; DROP TABLE members; --"
        assert [m["member_no"] for m in members.search(sup, "DROP TABLE")] in ([], ["KH-REG-900001"])
        assert members.search(sup, '" OR 1=1') == [] or all(isinstance(m, dict) for m in members.search(sup, '" OR'))
        event = sup.conn.execute("SELECT event, actor, reason FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        assert event[0] == "lookup.applied" and event[1] == "sync"
        assert event[2] == "reset=1 added=4 updated=0 removed=0 skipped=%d" % (len(bad) + 3)  # counts only
        assert audit.verify_chain(sup.conn) == []


def test_reset_incremental_and_removed(store, recs):
    first = lt.entries(recs[:8])
    with store.unlock("sup", "supervisor pw") as sup:
        assert members.apply_page(sup, lt.page(first, cursor=8))["added"] == 8
        assert members.cursor(sup) == (8, lt.area_id(["010201"]))
        # incremental: one changed, one new, one removed
        changed = dict(first[0], version=2, village_code=first[0]["village_code"])
        changed["dependents"] = []
        new = lt.entries(recs[8:9], start=9)
        counts = members.apply_page(sup, lt.page([changed] + new, reset=False, since=8, cursor=11,
                                                 removed=[first[1]["member_no"]]))
        assert (counts["added"], counts["updated"], counts["removed"]) == (1, 1, 1)
        assert members.get(sup, first[0]["member_no"])["version"] == 2
        assert members.get(sup, first[1]["member_no"]) is None and _count(sup) == 8
        # a page that does not follow the store's cursor (a replay, a gap, another area) is refused whole
        for since, area in ((8, ["010201"]), (12, ["010201"]), (11, ["010202"])):
            with pytest.raises(members.LookupPageRefused):
                members.apply_page(sup, lt.page(new, reset=False, since=since, area=area, cursor=20))
        assert members.cursor(sup)[0] == 11
        # a reset replaces everything: members not in it are gone
        counts = members.apply_page(sup, lt.page(first[4:6], cursor=3, area=["010202"]))
        assert counts["reset"] and counts["removed"] == 6 and _count(sup) == 2
        assert members.cursor(sup) == (3, lt.area_id(["010202"]))
        meta = dict(sup.conn.execute("SELECT key, value FROM lookup_meta"))
        assert json.loads(meta["area"]) == ["010202"] and meta["applied_at"]
        # the full-text index follows (no ghost hits of removed members)
        assert {m["member_no"] for m in members.search(sup, "")} == {e["member_no"] for e in first[4:6]}
        gone = first[0]
        assert gone["member_no"] not in [m["member_no"] for m in members.search(sup, gone["family_name_latin"])]


def test_search_is_khmer_aware_and_phonetic(store, recs):
    dara = dict(recs[0], family_name="សុខ", given_name="ដារ៉ា", family_name_latin="Sok", given_name_latin="Dara")
    with store.unlock("ow", "outreach pw") as ow:
        members.apply_page(ow, lt.page(lt.entries([dara] + recs[1:5])))
        for query in ("ដារា", "ដារ៉ា", "សុខ ដារា", "dara sok", "KH-REG-000001", "000001"):
            assert "KH-REG-000001" in [m["member_no"] for m in members.search(ow, query)], query
        assert len(members.search(ow, "", limit=2)) == 2


def test_keys_agree_with_the_records_keys(recs):
    for rec in recs:
        keys = records._keys(rec)
        assert members.keys_of(rec) == {k: keys[k] for k in members.keys_of(rec)}


def test_candidates_find_a_member_by_name_and_by_sound(store, recs):
    person = dict(recs[0], family_name="សុខ", given_name="ដារ៉ា")
    with store.unlock("ow", "outreach pw") as ow:
        members.apply_page(ow, lt.page(lt.entries([person] + recs[1:4], office="010203")))
        exact = members.candidates(ow, person)
        assert [(c["member_no"], c["reasons"], c["office_commune"]) for c in exact] == [
            ("KH-REG-000001", ["name_date_of_birth_commune"], "010203")]
        sounds = members.candidates(ow, dict(person, given_name="ដារា"))
        assert [c["reasons"] for c in sounds] == [["similar_name_date_of_birth_commune"]]
        assert members.candidates(ow, dict(person, date_of_birth="1990-01-01")) == []
        # the check before submit and the stored candidates say "already registered"
        found = records.duplicate_candidates(ow, dict(person, consent=None))
        assert found and found[0]["member_no"] == "KH-REG-000001" and found[0]["registered"] and found[0]["visible"]
        rid = records.save_draft(ow, dict(person, given_name="ដារា"))
        records.submit(ow, rid, today=lt.TODAY)
        stored = records.get(ow, rid)["duplicates"]
        assert stored == [{"member_no": "KH-REG-000001", "office_commune": "010203", "version": 1, "visible": True,
                           "registered": True, "reasons": ["similar_name_date_of_birth_commune"]}]
