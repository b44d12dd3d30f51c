"""Local duplicate candidates stay bounded: at most five per record, the strongest first, linear storage."""

import json

import pytest

from helpers.lookup_tools import sup_and_ow_store

from fieldapp.store import records, schema7
from helpers import lookup_tools as lt

NAME = "name_date_of_birth_commune"


@pytest.fixture
def store(tmp_path):
    return sup_and_ow_store(tmp_path)


def test_a_thousand_identical_names_store_linear_candidates_and_keep_the_right_ones(store):
    person = lt.clean_records(1, seed=41)[0]
    person.pop("national_id", None)
    same = [dict(person, national_id=f"{100000000 + i}") for i in range(1000)]
    with store.unlock("sup", "supervisor pw") as sup:
        ids = records.import_records(sup, same, today=lt.TODAY)
        lengths = [len(json.loads(d)) for (d,) in sup.conn.execute("SELECT duplicates FROM records")]
        assert sum(lengths) <= 5000 and max(lengths) == schema7.MAX_CANDIDATES
        assert lengths.count(schema7.MAX_CANDIDATES) == 1000 - 5
        # the newest first among equals
        last = records.get(sup, ids[-1])["duplicates"]
        assert [c["record_id"] for c in last] == ids[-2:-7:-1] and all(c["reasons"] == [NAME] for c in last)
        # the national-ID match is kept among 1,000 name matches, first, with both reasons
        again = dict(person, national_id=same[3]["national_id"])
        found = records.duplicate_candidates(sup, again)
        assert found[0]["record_id"] == ids[3] and found[0]["reasons"] == ["national_id", NAME]
        assert len(found) == schema7.MAX_CANDIDATES
        # the same person spelled otherwise (sounds the same) is still found, after the exact ones
        other = dict(person, given_name=person["given_name"] + "៉") if "៉" not in person["given_name"] else person
        cands = records.find_duplicates(sup.conn, None, records._keys(other))
        assert len(cands) == schema7.MAX_CANDIDATES
        # a different person is not
        assert records.duplicate_candidates(sup, dict(person, date_of_birth="1970-01-01")) == []


def test_the_migration_trims_long_lists_strongest_first(store):
    recs = lt.clean_records(9, seed=43)
    with store.unlock("sup", "supervisor pw") as sup:
        ids = records.import_records(sup, recs, today=lt.TODAY)
        long = [{"record_id": rid, "reasons": [NAME]} for rid in ids[1:8]]
        long[0]["reasons"] = ["similar_name_date_of_birth_commune"]
        long[5]["reasons"] = ["national_id"]
        with sup.write() as tx:
            tx.execute("UPDATE records SET duplicates = ? WHERE id = ?", (json.dumps(long), ids[0]))
            schema7.trim_duplicates(tx)
        kept = records.get(sup, ids[0])["duplicates"]
        assert [c["record_id"] for c in kept] == [ids[6], ids[7], ids[5], ids[4], ids[3]]
