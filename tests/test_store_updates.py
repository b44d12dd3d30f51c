"""Updates after registration in the store: drafted from a member, checked, reviewed, sealed, re-based."""

import json

import pytest

from helpers.lookup_tools import sup_and_ow_store

from fieldapp import services
from fieldapp.base.errors import FieldappError, StateError
from fieldapp.domain.update import validate_update
from fieldapp.outbound import wire
from fieldapp.proof.status import plain_status, record_status
from fieldapp.store import audit, members, records, updates
from helpers import lookup_tools as lt
from helpers.proof_tools import adopt_test_device

BABY = {"family_name": "សុខ", "given_name": "ដារា", "relationship": "child", "sex": "male",
        "date_of_birth": "2026-09-01", "disability_or_chronic_illness": False, "reason": "birth"}


@pytest.fixture
def store(tmp_path):
    return sup_and_ow_store(tmp_path)


@pytest.fixture
def looked_up(store):
    recs = lt.clean_records(3, seed=21)
    with store.unlock("sup", "supervisor pw") as sup:
        members.apply_page(sup, lt.page(lt.entries(recs), cursor=3))
    return recs


def test_an_update_of_an_unknown_member_or_without_changes_is_refused(store, looked_up):
    with store.unlock("ow", "outreach pw") as ow:
        for member_no in ("KH-REG-999999", "not a number", None, 12):
            with pytest.raises(FieldappError) as info:
                updates.new_update(ow, member_no, {"phone": "012345678"})
            assert info.value.msg_id == "core.update.unknown_member"
        with pytest.raises(FieldappError) as info:
            updates.new_update(ow, "KH-REG-000001", ["phone"])
        assert info.value.msg_id == "core.update.bad_changes"
        rid = updates.new_update(ow, "KH-REG-000001", {})
        with pytest.raises(records.ValidationFailed) as failed:
            records.submit(ow, rid, today=lt.TODAY)
        assert [p.code for p in failed.value.problems] == ["validation.update.empty"]
        # changes of the wrong type, and a dependent the member does not have
        records.save_draft(ow, dict(records.get(ow, rid)["data"], phone=["x"], notes="ក" * 10_000), rid)
        with pytest.raises(records.ValidationFailed) as failed:
            records.submit(ow, rid, today=lt.TODAY)
        assert {p.path for p in failed.value.problems} == {"phone", "notes"}
        records.save_draft(ow, dict(records.get(ow, rid)["data"], phone=None, notes=None,
                                    remove_dependents=[{"index": 7, "reason": "death"}]), rid)
        with pytest.raises(records.ValidationFailed) as failed:
            records.submit(ow, rid, today=lt.TODAY)
        assert [p.code for p in failed.value.problems] == ["validation.update.no_such_dependent"]
        # an enrollment draft cannot turn into an update, nor the reverse
        with pytest.raises(FieldappError) as info:
            records.save_draft(ow, {"family_name": "សុខ"}, rid)
        assert info.value.msg_id == "core.update.kind_changed"
        assert records.duplicate_candidates(ow, records.get(ow, rid)["data"]) == []


def test_the_update_life_draft_to_sealed(store, looked_up):
    with store.unlock("sup", "supervisor pw") as sup:
        keys = adopt_test_device(sup)
    with store.unlock("ow", "outreach pw") as ow:
        rid = updates.new_update(ow, "kh-reg-000002", {"add_dependents": [BABY], "phone": "012 345 678",
                                                       "member_no": "KH-REG-000001", "base_version": 9})
        row = records.get(ow, rid)
        assert (row["kind"], row["member_ref"], row["state"]) == ("update", "KH-REG-000002", "draft")
        assert row["data"]["base_version"] == 1 and row["data"]["member_no"] == "KH-REG-000002"
        # found by the member's names and number, like an enrollment
        from fieldapp.store import search
        name = looked_up[1]["family_name_latin"] + " " + looked_up[1]["given_name_latin"]
        assert rid in [r["id"] for r in search.search(ow, name)]
        assert rid in [r["id"] for r in search.search(ow, "000002")]
        view = updates.preview(ow, rid, today=lt.TODAY)
        assert view["problems"] == [] and view["current_version"] == 1
        assert len(view["after"]["dependents"]) == len(view["before"].get("dependents", [])) + 1
        assert [s["what"] for s in view["summary"]] == ["add_dependent", "phone"]
        assert records.submit(ow, rid, today=lt.TODAY) == []  # no duplicate check for an update
    with store.unlock("sup", "supervisor pw") as sup:
        services.review(sup, [rid], "approve")
        row = records.get(sup, rid)
        assert row["state"] == "queued"
        sealed = json.loads(sup.conn.execute("SELECT sealed FROM outbox WHERE record_id = ?", (rid,)).fetchone()[0])
        history = [(e["event"], e["to_state"]) for e in audit.history(sup.conn, rid)]
        assert history == [("record.created", "draft"), ("record.submitted", "submitted"),
                           ("record.approved", "approved"), ("record.queued", "queued")]
        assert audit.verify_chain(sup.conn) == []
    opened = wire.open_sealed(sealed, seal_private=keys["seal_private"], device_public=keys["device_public"])
    clean, problems = validate_update(opened, today=lt.TODAY)
    assert problems == [] and opened == clean and opened["record_id"] == rid and opened["kind"] == "update"
    assert opened["member_no"] == "KH-REG-000002" and opened["base_version"] == 1


def test_rebase_after_a_stale_refusal(store, looked_up):
    with store.unlock("ow", "outreach pw") as ow:
        rid = updates.new_update(ow, "KH-REG-000003", {"phone": "012345678"})
        records.submit(ow, rid, today=lt.TODAY)
        with pytest.raises(FieldappError) as info:
            updates.rebase(ow, rid)
        assert info.value.msg_id == "core.update.not_rebasable"
    with store.unlock("sup", "supervisor pw") as sup:  # the registry refused it (as pull_states would store it)
        with sup.write():
            sup.conn.execute("UPDATE records SET state = 'quarantined', reason = 'stale_version' WHERE id = ?", (rid,))
        assert "re-base" in record_status(records.get(sup, rid), "en")
        with pytest.raises(FieldappError) as info:
            updates.rebase(sup, rid)  # the lookup does not know the newer version yet
        assert info.value.msg_id == "core.update.not_stale"
        changed = dict(lt.entries(looked_up[2:3], start=3)[0], version=2)
        members.apply_page(sup, lt.page([changed], reset=False, since=3, cursor=4))
    with store.unlock("ow", "outreach pw") as ow:
        new_id = updates.rebase(ow, rid)
        assert new_id != rid and records.get(ow, rid)["state"] == "quarantined"
        new = records.get(ow, new_id)
        assert new["state"] == "draft" and new["data"]["base_version"] == 2 and new["data"]["phone"] == "+85512345678"
        assert [e["event"] for e in audit.history(ow.conn, new_id)] == ["record.created", "record.rebased"]
        records.submit(ow, new_id, today=lt.TODAY)
        stale = updates.new_update(ow, "KH-REG-000003", {"phone": "012345679"})
        records.save_draft(ow, dict(records.get(ow, stale)["data"], base_version=1), stale)
        with pytest.raises(FieldappError) as info:
            records.submit(ow, stale, today=lt.TODAY)  # the laptop knows version 2 already: re-base first
        assert info.value.msg_id == "core.update.stale_base"
        assert updates.rebase(ow, stale) == stale and records.get(ow, stale)["data"]["base_version"] == 2
        with pytest.raises(StateError):
            updates.rebase(ow, new_id)


def test_a_local_registered_record_is_a_base(store):
    rec = lt.clean_records(1, seed=31)[0]
    with store.unlock("ow", "outreach pw") as ow:
        [rid] = records.import_records(ow, [rec], today=lt.TODAY)
    with store.unlock("sup", "supervisor pw") as sup, sup.write():
        sup.conn.execute("UPDATE records SET state = 'registered', member_no = 'KH-REG-000042' WHERE id = ?", (rid,))
    with store.unlock("ow", "outreach pw") as ow:
        fix = {"who": "member", "family_name": rec["family_name"], "given_name": "ដារ៉ា"}
        uid = updates.new_update(ow, "KH-REG-000042", {"corrections": [fix]})
        view = updates.preview(ow, uid, today=lt.TODAY)
        assert view["before"] == rec and view["after"]["given_name"] == "ដារ៉ា" and view["problems"] == []
        assert records.get(ow, uid)["data"]["base_version"] == 1


def test_status_words_for_updates():
    assert plain_status("registered", None, "KH-REG-000001", "en", kind="update", version=2) == \
        "Update applied: member no. KH-REG-000001, version 2"
    assert plain_status("registry_rejected", "stale_version", None, "en", kind="update") == (
        "Refused by the registry: the member changed since this update was prepared; re-base it after the next sync")
    for reason in ("unknown_member", "not_in_area", "stale_version"):
        assert plain_status("quarantined", reason, None, "km", kind="update") != \
            plain_status("quarantined", reason, None, "en", kind="update")
    record = {"state": "registered", "kind": "update", "member_ref": "KH-REG-000001", "member_no": None,
              "reason": None, "data": {"kind": "update", "base_version": 4}}
    assert record_status(record, "en") == "Update applied: member no. KH-REG-000001, version 5"


def _two_children(recs: list[dict]) -> tuple[dict, dict, dict]:
    """A member (record 1 of ``recs``) with two children A and B, and C, a third child."""
    a, b, c = (dict(BABY, given_name=name, date_of_birth=born) for name, born in
               (("សុភា", "2015-01-02"), ("វិចិត្រ", "2017-03-04"), ("ស្រីពៅ", "2019-05-06")))
    for d in (a, b, c):
        d.pop("reason")
    return a, b, c


def _refused_removal(store, looked_up, index: int) -> tuple[str, dict]:
    """An update removing the child at ``index`` of version 1 ([A, B]), submitted, then refused as stale."""
    a, b, c = _two_children(looked_up)
    v1 = dict(lt.entries(looked_up[:1])[0], dependents=[a, b])
    with store.unlock("sup", "supervisor pw") as sup:
        members.apply_page(sup, lt.page([v1], cursor=1))
    with store.unlock("ow", "outreach pw") as ow:
        rid = updates.new_update(ow, "KH-REG-000001", {"remove_dependents": [{"index": index, "reason": "death"}]})
        records.submit(ow, rid, today=lt.TODAY)
        pinned = records.get(ow, rid)["data"]["remove_dependents"][0]
    with store.unlock("sup", "supervisor pw") as sup:
        with sup.write():
            sup.conn.execute("UPDATE records SET state = 'registry_rejected', reason = 'stale_version' WHERE id = ?",
                             (rid,))
    return rid, pinned


@pytest.mark.parametrize("v2_children, expected", [
    ("B", 0),          # A was removed by another update: B moved up; the re-based update still removes B
    ("CAB", 2),        # (a registry that put someone before them): B is third now
])
def test_a_rebase_moves_each_removal_to_the_same_person(store, looked_up, v2_children, expected):
    rid, pinned = _refused_removal(store, looked_up, index=1)
    a, b, c = _two_children(looked_up)
    assert pinned["was"] == "សុខ|វិចិត្រ|2017-03-04"  # who it is: family name, given name, birth date
    kids = {"A": a, "B": b, "C": c}
    v2 = dict(lt.entries(looked_up[:1])[0], version=2, dependents=[kids[k] for k in v2_children])
    with store.unlock("sup", "supervisor pw") as sup:
        members.apply_page(sup, lt.page([v2], reset=False, since=1, cursor=2))
    with store.unlock("ow", "outreach pw") as ow:
        new = records.get(ow, updates.rebase(ow, rid))["data"]
        assert new["base_version"] == 2 and new["remove_dependents"][0]["index"] == expected


def test_a_rebase_refuses_when_the_person_is_gone_and_the_registry_refuses_a_wrong_person(store, looked_up):
    from fieldapp.domain.update import apply_update

    rid, pinned = _refused_removal(store, looked_up, index=0)
    a, b, c = _two_children(looked_up)
    v2 = dict(lt.entries(looked_up[:1])[0], version=2, dependents=[b, c])  # A is gone already
    with store.unlock("sup", "supervisor pw") as sup:
        members.apply_page(sup, lt.page([v2], reset=False, since=1, cursor=2))
    with store.unlock("ow", "outreach pw") as ow:
        with pytest.raises(FieldappError) as info:
            updates.rebase(ow, rid)
        assert info.value.msg_id == "core.update.dependent_gone" and "KH-REG-000001" in info.value.message("en")
        assert records.get(ow, rid)["state"] == "registry_rejected"       # nothing lost
    # the registry applies updates with the same rule: a place that names someone else is refused
    update = {"kind": "update", "member_no": "KH-REG-000001", "base_version": 2,
              "remove_dependents": [dict(pinned, index=0)]}
    record = dict(looked_up[0], dependents=[b, c])
    after, problems = apply_update(record, update, today=lt.TODAY)
    assert after is None and [p.code for p in problems] == ["validation.update.dependent_changed"]
