"""fieldapp.domain.states: the one table of record states and transitions, checked against what the code does.

A record's whole life runs through the real code paths (draft, edit, submit, import, review, seal, the sync
engine's outcomes pulled back, requeue, a backup restored); every transition the audit trail then holds, and
every move the spool made, must be in the table. A move outside the table raises.
"""

import re
from pathlib import Path

import pytest

from fieldapp import services
from fieldapp.base.errors import StateError
from fieldapp.domain import states
from fieldapp.domain.states import State
from fieldapp.domain.synthetic import make_records
from fieldapp.outbound import device as device_file
from fieldapp.outbound import outbox, spool as spool_mod, wire
from fieldapp.outbound.spool import Spool
from fieldapp.store import audit, backup, drafts, records, users
from fieldapp.store.database import Store
from helpers.proof_tools import receipt_text, status_text

ROOT = Path(__file__).resolve().parents[1]
# audit event -> the action of the table that makes it
EVENTS = {"record.created": ("create",), "record.edited": ("edit",), "record.submitted": ("submit", "import"),
          "record.discarded": ("discard",),
          "record.approved": ("review",), "record.returned": ("review",), "record.rejected": ("review",),
          "record.queued": ("seal",), "record.requeued": ("requeue",), "record.restored": ("restore",)}


def test_values_are_the_stored_strings():
    assert [s.value for s in State] == ["draft", "submitted", "returned", "rejected", "approved", "queued",
                                        "quarantined", "synced", "registered", "registry_rejected"]
    assert records.STATES == states.STATES and records.EDITABLE == ("draft", "returned")
    assert outbox.SYNC_STATES == spool_mod.STATES == ("queued", "synced", "registered", "registry_rejected", "quarantined")
    assert backup.RESEND_STATES == ("queued", "synced", "quarantined")
    assert all(t in states.STATES for moves in states.TRANSITIONS.values() for f, t in moves if f in (None, *states.STATES)
               and t is not None)
    assert [a for a, moves in states.TRANSITIONS.items() for _f, t in moves if t is None] == ["discard"]


def test_every_state_has_exactly_one_label():
    """One message id per state, in the core catalog, with one text per language; no other catalog labels a state."""
    from babel.messages.pofile import read_po

    from fieldapp.base import i18n

    assert list(states.LABEL_IDS) == list(states.STATES)
    assert [states.label_id(s) for s in State] == [f"core.state.{s.value}" for s in State]
    assert len(set(states.LABEL_IDS.values())) == len(State)
    assert states.label_id("no_such_state") == "core.record.bad_state"  # a damaged row still reads as something
    for lang in i18n.LANGUAGES:
        folder = ROOT / "fieldapp" / "locale" / lang / "LC_MESSAGES"
        for po in sorted(folder.glob("*.po")):
            with po.open("rb") as fh:
                ids = {m.id for m in read_po(fh) if m.id}
            labels = {m for m in ids if ".state." in m}
            assert labels == (set(states.LABEL_IDS.values()) if po.stem == "core" else set()), po
        texts = [i18n.tr(states.label_id(s), lang) for s in State]
        assert all(i18n.has_message(states.label_id(s), lang) for s in State)
        assert len(set(texts)) == len(texts), (lang, texts)
    assert i18n.tr(states.label_id(State.QUEUED), "en") == "Waiting to be sent"
    assert i18n.tr(states.label_id(State.QUARANTINED), "en") == "Set aside by the registry"
    assert i18n.tr(states.label_id(State.RETURNED), "en") == "Returned for correction"


def test_no_caller_builds_a_state_label_id():
    """Screens and commands take a state's label from ``states.label_id``, never from an id of their own."""
    built = re.compile(r"""\.state\.\{|["'](ui|forms|core)\.state\.""")
    for pkg in ("fieldapp", "sync", "ui", "registry"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if path.name == "states.py" and path.parent.name == "domain":
                continue
            assert not built.search(path.read_text(encoding="utf-8")), path


def test_pull_rank_never_moves_backwards_except_out_of_quarantine():
    assert states.may_pull("queued", "synced") and states.may_pull("synced", "registered")
    assert states.may_pull("quarantined", "queued")  # a requeue made in the spool
    assert not states.may_pull("synced", "queued") and not states.may_pull("synced", "quarantined")
    assert not states.may_pull("registered", "registry_rejected")  # final: never pulled again
    assert not states.may_pull("queued", "queued") and not states.may_pull("queued", "bogus")
    assert not states.may_pull("approved", "synced")


@pytest.mark.parametrize("action, old, new", [("review", "approved", "rejected"), ("seal", "submitted", "queued"),
                                              ("requeue", "synced", "queued"), ("restore", "registered", "approved"),
                                              ("edit", "submitted", "submitted"), ("pull", "registered", "queued"),
                                              ("create", None, "submitted"), ("nonsense", None, "draft")])
def test_a_move_outside_the_table_raises(action, old, new):
    assert not states.allowed(action, old, new)
    with pytest.raises(StateError):
        states.require(action, old, new)


def test_no_state_literal_left_in_the_sql_that_moves_records():
    """Record transitions are written with the enum's values as parameters, not as SQL literals."""
    pattern = re.compile(r"state\s*=\s*'(%s)'" % "|".join(states.STATES))
    for rel in ("fieldapp/store/records.py", "fieldapp/outbound/outbox.py", "fieldapp/store/backup.py",
                "fieldapp/store/verify.py"):
        text = (ROOT / rel).read_text(encoding="utf-8")
        assert not pattern.findall(text), rel
        assert "IN ('" not in text, rel
    spool_text = (ROOT / "fieldapp/outbound/spool.py").read_text(encoding="utf-8")
    assert not re.findall(r"UPDATE items SET state\s*=\s*'", spool_text)  # an item's moves: parameters too


def _register(data_dir: Path) -> dict:
    """A registration as ``register_store`` records it in the store (no network here); the registry's keys."""
    from fieldapp.outbound import identity

    priv, pub = wire.new_device_keys()
    keys = wire.new_registry_keys()
    with services.open_session(data_dir, "sup", "supervisor pw") as sup:
        identity.adopt(sup, device_file.Device(
            "dev-0001", "https://registry.example.org", wire.b64e(priv), wire.b64e(pub),
            wire.b64e(keys["seal_public"]), wire.b64e(keys["sign_public"]), "2025-03-04T05:06:07Z"))
    return keys


def _spool_moves(data_dir: Path, before: dict) -> set:
    with Spool(data_dir) as sp:
        after = sp.states()
    return {(before.get(rid, {}).get("state"), info["state"]) for rid, info in after.items()
            if before.get(rid, {}).get("state") != info["state"]}


def test_every_transition_the_code_makes_is_in_the_table(tmp_path):
    data = tmp_path / "data"
    store = Store(data)
    session = store.create("sup", "supervisor pw", "Sup")
    users.add_user(session, "ow", "outreach pw", "outreach")
    session.close()
    recs = make_records(8, seed=11)
    with services.open_session(data, "ow", "outreach pw") as ow:
        drafts.discard_draft(ow, records.save_draft(ow, {"family_name": recs[0]["family_name"]}))
        ids = []
        for rec in recs[:6]:
            rid = records.save_draft(ow, {"family_name": rec["family_name"]})
            records.save_draft(ow, rec, rid)
            records.submit(ow, rid)
            ids.append(rid)
    with services.open_session(data, "sup", "supervisor pw") as sup:
        ids += records.import_records(sup, recs[6:])
        services.review(sup, [ids[0]], "return", "unreadable")
        services.review(sup, [ids[1]], "reject", "duplicate person")
        services.review(sup, [ids[2]], "approve")  # no device yet: stays approved
    with services.open_session(data, "ow", "outreach pw") as ow:
        records.save_draft(ow, recs[0], ids[0])
        records.submit(ow, ids[0])
    keys = _register(data)
    with services.open_session(data, "sup", "supervisor pw") as sup:
        outbox.enqueue_approved(sup)  # approved before registration: sealed now
        services.review(sup, [ids[0], *ids[3:]], "approve")  # sealed in the same transaction
        assert {records.get(sup, rid)["state"] for rid in [ids[0], ids[2], *ids[3:]]} == {"queued"}
    moves = set()
    with Spool(data) as sp:
        before = sp.states()
        moves |= {(None, info["state"]) for info in before.values()}
        queued = sorted(before)
        sp.freeze_batch(batch_id="b1", idempotency_key="k1", body=b"x", sha256="0" * 64, record_ids=queued[:4])
        results = [{"record_id": queued[0], "status": "accepted"}, {"record_id": queued[1], "status": "duplicate"},
                   {"record_id": queued[2], "status": "rejected", "reason": "bad"}]  # [3]: not in receipt
        sp.apply_receipt("b1", results, receipt_text(keys, "dev-0001", results))
        sp.quarantine([queued[4]], "too_large")
    moves |= _spool_moves(data, before)
    with Spool(data) as sp:
        mid = sp.states()
        answer = [{"record_id": queued[0], "state": "registered", "registry_id": "R1"},
                  {"record_id": queued[1], "state": "rejected", "reason": "dead"}]
        sp.apply_status(answer, status_text(keys, "dev-0001", answer))
    moves |= _spool_moves(data, mid)
    with services.open_session(data, "sup", "supervisor pw") as sup:  # every unlock pulls the states back
        assert records.get(sup, queued[0])["state"] == "registered"
        assert records.get(sup, queued[2])["state"] == "quarantined"
        assert outbox.requeue_quarantined(sup, [queued[2]]) == [queued[2]]
        moves |= {("quarantined", "queued")}
        with Spool(data) as sp:
            mid = sp.states()
            sp.quarantine([queued[2]], "again")
        moves |= _spool_moves(data, mid)
        with Spool(data) as sp:
            sp.requeue_quarantined([queued[3]])  # requeued in the spool only: pulled back from quarantine
        moves |= {("quarantined", "queued")}
    with services.open_session(data, "sup", "supervisor pw") as sup:
        assert records.get(sup, queued[3])["state"] == "queued"
        archive = tmp_path / "backup.zip"
        backup.create(sup, archive)
    backup.restore(archive, tmp_path / "restored", "sup", "supervisor pw")
    seen = set()
    for folder in (data, tmp_path / "restored"):
        with Store(folder).unlock("sup", "supervisor pw") as sup:
            rows = sup.conn.execute("SELECT actor, event, from_state, to_state FROM audit WHERE record_id IS NOT NULL")
            for actor, event, old, new in rows:
                actions = ("pull",) if actor == "sync" else EVENTS[event]
                matched = [a for a in actions if states.allowed(a, old, new)]
                assert matched, (actor, event, old, new)
                seen.add((matched[0], old, new))
            assert audit.verify_chain(sup.conn) == []
    assert {a for a, _, _ in seen} == set(states.TRANSITIONS)  # the run covered every action of the table
    for old, new in moves:
        assert any(states.allowed(a, old, new, states.SPOOL_TRANSITIONS) for a in states.SPOOL_TRANSITIONS), (old, new)
