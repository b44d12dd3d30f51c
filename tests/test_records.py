"""The record's life through the core API: states, roles, duplicates, audit."""

import json

import pytest

from fieldapp.store import audit, records, users

from fieldapp import services
from fieldapp.store.dbapi import DatabaseError
from fieldapp.base.errors import FieldappError, PermissionDenied, StateError
from fieldapp.store.database import Store
from fieldapp.domain.synthetic import make_records


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "data")
    session = s.create("sup", "supervisor pw", "Sup")
    users.add_user(session, "ow", "outreach pw", "outreach")
    users.add_user(session, "ow2", "outreach pw2", "outreach")
    session.close()
    return s


def test_draft_submit_review_cycle(store):
    rec = make_records(1, seed=3)[0]
    with store.unlock("ow", "outreach pw") as ow:
        partial = {"family_name": rec["family_name"]}
        rid = records.save_draft(ow, partial)
        assert records.get(ow, rid)["state"] == "draft"
        with pytest.raises(records.ValidationFailed) as info:
            records.submit(ow, rid)
        assert {p.path for p in info.value.problems} >= {"given_name", "sex", "date_of_birth", "village_code"}
        records.save_draft(ow, rec, rid)
        records.submit(ow, rid)
        assert records.get(ow, rid)["state"] == "submitted"
        with pytest.raises(PermissionDenied):
            services.review(ow, [rid], "approve")  # the core refuses, not only the UI
        with pytest.raises(StateError):
            records.save_draft(ow, rec, rid)  # submitted records are not editable
    with store.unlock("sup", "supervisor pw") as sup:
        with pytest.raises(FieldappError):
            services.review(sup, [rid], "return")  # a reason is required
        services.review(sup, [rid], "return", "phone number unreadable")
    with store.unlock("ow", "outreach pw") as ow:
        first = records.list_records(ow)[0]
        assert first["id"] == rid and first["state"] == "returned" and first["reason"] == "phone number unreadable"
        records.save_draft(ow, dict(rec, phone="012 999 888"), rid)
        records.submit(ow, rid)
    with store.unlock("sup", "supervisor pw") as sup:
        services.review(sup, [rid], "approve")
        assert records.get(sup, rid)["state"] == "approved"  # no device registered: stays approved
        history = [(e["from_state"], e["to_state"]) for e in audit.history(sup.conn, rid)]
        assert history == [(None, "draft"), ("draft", "draft"), ("draft", "submitted"), ("submitted", "returned"),
                           ("returned", "returned"), ("returned", "submitted"), ("submitted", "approved")]
        assert audit.verify_chain(sup.conn) == []


def test_outreach_sees_only_own_records(store):
    with store.unlock("ow", "outreach pw") as ow:
        mine = records.import_records(ow, make_records(3, seed=1))
    with store.unlock("ow2", "outreach pw2") as ow2:
        records.import_records(ow2, make_records(2, seed=2))
        assert len(records.list_records(ow2)) == 2
        with pytest.raises(FieldappError):
            records.get(ow2, mine[0])
        assert records.counts(ow2)["submitted"] == 2
    with store.unlock("sup", "supervisor pw") as sup:
        assert records.counts(sup)["submitted"] == 5


def test_outreach_cannot_manage_users(store):
    with store.unlock("ow", "outreach pw") as ow:
        with pytest.raises(PermissionDenied):
            users.add_user(ow, "x1", "password x", "supervisor")
        with pytest.raises(PermissionDenied):
            users.change_password(ow, "new password", "sup")
        with pytest.raises(PermissionDenied):
            users.set_disabled(ow, "sup")
        with pytest.raises(PermissionDenied):
            records.submitted_ids(ow)


def test_duplicates_by_national_id_and_by_name_dob_commune(store):
    base = make_records(1, seed=5)[0]
    same_id = dict(make_records(1, seed=6)[0], national_id=base["national_id"])
    # same person written differently: a zero-width space in the name, no national ID
    same_person = {k: v for k, v in base.items() if k != "national_id"}
    same_person["family_name"] = base["family_name"] + "\u200b"
    with store.unlock("ow", "outreach pw") as ow:
        first, second, third = records.import_records(ow, [base, same_id, same_person])
        dups = {r["id"]: r["duplicates"] for r in records.list_records(ow)}
    assert dups[first] == []
    assert dups[second] == [{"record_id": first, "reasons": ["national_id"]}]
    assert {"record_id": first, "reasons": ["name_date_of_birth_commune"]} in dups[third]


def test_import_is_all_or_nothing(store):
    recs = make_records(3, seed=9)
    recs[2]["record_id"] = recs[1]["record_id"] = "5f0c2a57-6f7e-4a7e-9b1e-3c1d2e3f4a5b"
    with store.unlock("ow", "outreach pw") as ow:
        with pytest.raises(FieldappError):
            records.import_records(ow, recs)
        assert records.list_records(ow) == []


def test_audit_is_append_only_and_tamper_evident(store):
    with store.unlock("sup", "supervisor pw") as sup:
        records.import_records(sup, make_records(2, seed=4))
        with pytest.raises(DatabaseError):
            sup.conn.execute("UPDATE audit SET reason = 'x' WHERE seq = 1")
        with pytest.raises(DatabaseError):
            sup.conn.execute("DELETE FROM audit WHERE seq = 1")
        sup.conn.execute("DROP TRIGGER audit_no_update")  # an insider with the key and a SQL shell
        sup.conn.execute("UPDATE audit SET actor = 'someone' WHERE seq = 2")
        assert audit.verify_chain(sup.conn) == ["audit chain broken at event 2"]


def test_disabled_user_cannot_log_in_and_loses_the_key_slot(store):
    with store.unlock("sup", "supervisor pw") as sup:
        users.set_disabled(sup, "ow")
    assert "ow" not in store.slots().users()  # their old password opens nothing in this file any more
    with pytest.raises(FieldappError) as info:
        store.unlock("ow", "outreach pw")
    assert info.value.msg_id == "core.auth.wrong_password"
    with store.unlock("sup", "supervisor pw") as sup:
        with pytest.raises(FieldappError) as info:
            users.set_disabled(sup, "ow", False)  # enabling again is a password reset
        assert info.value.msg_id == "core.user.enable_needs_password"
        users.set_disabled(sup, "ow", False, new_password="a new password")
    with store.unlock("ow", "a new password") as ow:
        assert not ow.is_supervisor


def test_stored_record_is_the_normalised_clean_form(store):
    rec = make_records(1, seed=7)[0]
    rec["phone"] = "+855 12 345 678"
    rec["national_id"] = "០១២៣៤៥៦៧៨"
    with store.unlock("ow", "outreach pw") as ow:
        (rid,) = records.import_records(ow, [rec])
        stored = records.get(ow, rid)["data"]
    assert stored["phone"] == "+85512345678" and stored["national_id"] == "012345678"
    assert stored["commune_code"] == rec["village_code"][:6]
    assert json.dumps(stored)
