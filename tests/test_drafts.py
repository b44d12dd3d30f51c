"""fieldapp.store.drafts: a draft is discarded by its owner or a supervisor (deleted, with an audit event, in one
transaction); nothing else is; the last draft of a user is found again after a restart."""

import pytest

from fieldapp.base.errors import FieldappError, PermissionDenied, StateError
from fieldapp.domain.synthetic import make_records
from fieldapp.store import audit, drafts, records, search, users
from fieldapp.store.database import Store


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDAPP_KDF_TARGET_MS", "0")
    store = Store(tmp_path / "data")
    with store.create("sup", "supervisor pw", "Sup") as sup:
        users.add_user(sup, "ow", "outreach pw", "outreach")
        users.add_user(sup, "ow2", "outreach pw2", "outreach")
    return store


def test_owner_discards_a_draft_and_the_audit_trail_keeps_that_it_was(store):
    with store.unlock("ow", "outreach pw") as ow:
        rid = records.save_draft(ow, {"family_name": "សុខ", "given_name": "ដារា"})
        records.save_draft(ow, {"family_name": "សុខ", "given_name": "ដារា", "phone": "012345678"}, rid)
        assert search.search(ow, "ដារា")  # found before
        drafts.discard_draft(ow, rid)
        assert ow.conn.execute("SELECT count(*) FROM records").fetchone()[0] == 0
        assert search.search(ow, "ដារា") == []  # its search terms went with it
        with pytest.raises(FieldappError):
            records.get(ow, rid)
        history = audit.history(ow.conn, rid)
        assert [(e["event"], e["from_state"], e["to_state"]) for e in history] == [
            ("record.created", None, "draft"), ("record.edited", "draft", "draft"),
            ("record.discarded", "draft", None)]
        assert audit.verify_chain(ow.conn) == []


def test_only_a_draft_and_only_its_owner_or_a_supervisor(store):
    with store.unlock("ow", "outreach pw") as ow:
        mine = records.save_draft(ow, {"family_name": "សុខ"})
        submitted = records.import_records(ow, make_records(1, seed=3))[0]
        with pytest.raises(StateError):
            drafts.discard_draft(ow, submitted)
        assert records.get(ow, submitted)["state"] == "submitted"
    with store.unlock("ow2", "outreach pw2") as ow2:
        with pytest.raises(FieldappError) as found:  # another worker's draft: not even found
            drafts.discard_draft(ow2, mine)
        assert not isinstance(found.value, PermissionDenied) and found.value.msg_id == "core.record.not_found"
    with store.unlock("sup", "supervisor pw") as sup:
        drafts.discard_draft(sup, mine)
        assert sup.conn.execute("SELECT count(*) FROM records WHERE id = ?", (mine,)).fetchone()[0] == 0
        assert audit.history(sup.conn, mine)[-1]["actor"] == "sup"


def test_a_returned_record_is_not_a_draft(store):
    from fieldapp import services

    with store.unlock("ow", "outreach pw") as ow:
        rid = records.import_records(ow, make_records(1, seed=5))[0]
    with store.unlock("sup", "supervisor pw") as sup:
        services.review(sup, [rid], "return", "unreadable")
        with pytest.raises(StateError):
            drafts.discard_draft(sup, rid)


def test_latest_draft_is_this_users_newest(store):
    with store.unlock("ow", "outreach pw") as ow:
        assert drafts.latest_draft(ow) is None
        older = records.save_draft(ow, {"family_name": "ចាន់"})
        newer = records.save_draft(ow, {"family_name": "ហេង"})
        records.import_records(ow, make_records(1, seed=6))
        found = drafts.latest_draft(ow)
        assert found["id"] in (older, newer) and found["data"]["family_name"] in ("ចាន់", "ហេង")
        records.save_draft(ow, {"family_name": "ចាន់", "given_name": "ថា"}, older)  # edited last: newest now
        assert drafts.latest_draft(ow)["id"] == older
    with store.unlock("sup", "supervisor pw") as sup:
        assert drafts.latest_draft(sup) is None  # a supervisor is offered their own drafts only
