"""Search by name (Khmer or Latin, normalised, either order), national ID or phone; filters; duplicates preview."""

import shutil
from pathlib import Path

import pytest

from fieldapp.store import records, search, users
from fieldapp.store.database import Store
from fieldapp.domain.synthetic import make_records


@pytest.fixture
def filled(tmp_path):
    store = Store(tmp_path / "data")
    session = store.create("sup", "supervisor pw")
    users.add_user(session, "ow", "outreach pw", "outreach")
    session.close()
    recs = make_records(60, seed=42)
    special = dict(recs[0], family_name="សុខ", given_name="\u200bស្រីមុំ", family_name_latin="Sok",
                   given_name_latin="Sreymom", national_id="123456789", phone="012 345 678")
    with store.unlock("ow", "outreach pw") as ow:
        ids = records.import_records(ow, [special] + recs[1:30])
    with store.unlock("sup", "supervisor pw") as sup:
        records.import_records(sup, recs[30:])
    return store, ids[0]


@pytest.mark.parametrize("query", ["សុខស្រីមុំ", "ស្រីមុំ សុខ", "ស្រី\u200bមុំ", "sreymom", "SOK SREYMOM", "sreymom sok",
                                   "123456789", "345678", "០១២៣៤៥៦៧៨", "012 345 678", "+855 12 345 678", "85512345"])
def test_finds_the_record_in_every_writing(filled, query):
    store, rid = filled
    with store.unlock("sup", "supervisor pw") as sup:
        found = [r["id"] for r in search.search(sup, query)]
    assert rid in found


def test_filters_and_visibility(filled):
    store, rid = filled
    with store.unlock("ow", "outreach pw") as ow:
        assert len(search.search(ow, "")) == 30  # only their own
        assert search.search(ow, "", state="approved") == []
        today = search.daily_counts(ow)[-1]
        assert today[1] == 30
    with store.unlock("sup", "supervisor pw") as sup:
        assert len(search.search(sup, "")) == 60
        assert len(search.search(sup, "", limit=10, offset=55)) == 5
        assert search.search(sup, "", since="2000-01-01", until="2000-12-31") == []
        assert len(search.daily_counts(sup, days=30)) == 30
        assert search.search(sup, "zz") == []  # short query: scan path


def test_duplicate_preview_shows_differences(filled):
    store, rid = filled
    with store.unlock("sup", "supervisor pw") as sup:
        original = records.get(sup, rid)["data"]
    draft = dict(original, phone="017 888 999")
    draft.pop("province_code"), draft.pop("district_code"), draft.pop("commune_code"), draft.pop("address_source", None)
    with store.unlock("ow", "outreach pw") as ow:
        cands = records.duplicate_candidates(ow, draft)
    assert [c["record_id"] for c in cands] == [rid]
    assert set(cands[0]["differences"]) == {"phone"} and cands[0]["differences"]["phone"]["other"] == "+85512345678"


def test_outreach_learns_only_that_another_workers_record_may_be_the_same_person(filled):
    store, _ = filled
    with store.unlock("sup", "supervisor pw") as sup:
        theirs = next(r for r in records.list_records(sup) if r["created_by"] == "sup" and r["data"].get("national_id"))
        assert theirs["created_by"] == "sup"
    known = dict(theirs["data"])
    for k in ("province_code", "district_code", "commune_code", "address_source"):
        known.pop(k, None)
    wrong = dict(known, family_name="ឧត្តម", given_name="ភក្តី", date_of_birth="1990-01-01")
    with store.unlock("ow", "outreach pw") as ow:
        right_guess = records.duplicate_candidates(ow, known)
        wrong_guess = records.duplicate_candidates(ow, wrong)
        expected = [{"record_id": theirs["id"], "reasons": [], "visible": False, "state": None, "differences": None}]
        assert right_guess == wrong_guess == expected
        # After submit, the duplicates stored with their own record say no more.
        mine = records.import_records(ow, [wrong])[0]
        stored = records.get(ow, mine)["duplicates"]
        assert stored == [{"record_id": theirs["id"], "reasons": [], "visible": False}]
        assert [r for r in records.list_records(ow) if r["id"] == mine][0]["duplicates"] == stored
        assert [r for r in search.search(ow, "") if r["id"] == mine][0]["duplicates"] == stored
    with store.unlock("sup", "supervisor pw") as sup:  # the supervisor sees why, to compare at review
        assert records.get(sup, mine)["duplicates"] == [{"record_id": theirs["id"], "reasons": ["national_id"]}]


def test_search_works_on_records_from_before_migration_3(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(Path(__file__).parent / "samples" / "schema-v1", data)
    with Store(data).unlock("sup", "sample supervisor") as sup:
        some = records.list_records(sup, state="approved")[0]
        latin = some["data"]["given_name_latin"]
        assert some["id"] in [r["id"] for r in search.search(sup, latin, limit=1000)]


def test_count_matches_search(filled):
    store, rid = filled
    with store.unlock("sup", "supervisor pw") as sup:
        assert search.count(sup) == 60
        assert search.count(sup, "sreymom") == len(search.search(sup, "sreymom"))
    with store.unlock("ow", "outreach pw") as ow:
        assert search.count(ow) == 30 and search.count(ow, state="approved") == 0


def test_a_common_name_walks_the_order_index_and_finds_the_same_page(filled, monkeypatch):
    """Above ``WALK_FROM`` matches the search walks the list's order instead of sorting every match: the same
    records in the same order, page by page, and the query plan says which index it used."""
    store, _rid = filled
    queries = ["", "sok", "សុខ", "a", "123456789"]
    with store.unlock("sup", "supervisor pw") as sup:
        monkeypatch.setattr(search, "WALK_FROM", 10**9)
        sorted_pages = {q: [[r["id"] for r in search.search(sup, q, limit=7, offset=o)] for o in (0, 7, 14)]
                        for q in queries}
        monkeypatch.setattr(search, "WALK_FROM", 2)
        assert search._walk_in_order(sup, "sok", None, None, None)
        assert not search._walk_in_order(sup, "sok", "submitted", None, None)  # another filter: no walk
        assert not search._walk_in_order(sup, "123456789", None, None, None)  # one match: sorting is cheaper
        walked_pages = {q: [[r["id"] for r in search.search(sup, q, limit=7, offset=o)] for o in (0, 7, 14)]
                        for q in queries}
        plan = " ".join(str(row[-1]) for row in sup.conn.execute(
            "EXPLAIN QUERY PLAN SELECT r.id FROM records r INDEXED BY records_order WHERE r.rowid IN "
            "(SELECT rowid FROM records_fts WHERE records_fts MATCH '\"sok\"') "
            "ORDER BY (r.state = 'returned') DESC, r.updated_at DESC, r.id LIMIT 7"))
    assert walked_pages == sorted_pages
    assert any(page for pages in walked_pages.values() for page in pages)
    assert "records_order" in plan and "TEMP B-TREE" not in plan
    with store.unlock("ow", "outreach pw") as ow:
        assert not search._walk_in_order(ow, "sok", None, None, None)  # a worker's own records: no walk
