"""Member numbers in the store: filled from the registry's signed status answers (``outbox.pull_states``,
``_keep_member``), searchable by the whole number or its digits (``search.member_terms``), and the record's status
in plain words (``fieldapp.proof.status``).

Failure paths first: spool.db is a plain file anyone can edit. Rows changed by SQL, answers nobody signed, and
answers whose number or card is not well formed must never store a number that was not proven, store only the parts
that are valid, and never make an unlock or a sync fail. Real store, real spool, real registry keys.
"""

from __future__ import annotations

import json

import pytest

from fieldapp import services
from fieldapp.base.errors import FieldappError
from fieldapp.base.i18n import tr
from fieldapp.domain import reasons
from fieldapp.domain.card import card_claims
from fieldapp.domain.khmer import match_key
from fieldapp.domain.states import STATES, label_id
from fieldapp.domain.synthetic import make_records
from fieldapp.outbound import credential, wire
from fieldapp.outbound.spool import Spool
from fieldapp.proof import documents
from fieldapp.proof.status import plain_status
from fieldapp.store import audit, records, search, users
from fieldapp.store.database import Store
from fieldapp.store.search import member_terms
from helpers.proof_tools import adopt_test_device, receipt_text, status_text

SUP_PW, OW_PW, OW2_PW = "supervisor pw", "outreach pw", "outreach pw2"
ISSUED_AT = "2025-06-01T02:03:04Z"
MEMBER_NO = "KH-REG-000042"


@pytest.fixture
def synced(tmp_path):
    """A record ``ow`` enrolled, approved, delivered (a signed receipt) and pulled back: ``synced`` in the store."""
    data = tmp_path / "data"
    with Store(data).create("sup", SUP_PW, "Supervisor") as sup:
        users.add_user(sup, "ow", OW_PW, "outreach")
        users.add_user(sup, "ow2", OW2_PW, "outreach")
    with Store(data).unlock("sup", SUP_PW) as sup:
        keys = adopt_test_device(sup)
    with Store(data).unlock("ow", OW_PW) as ow:
        (rid,) = records.import_records(ow, make_records(1, seed=7))
    with Store(data).unlock("sup", SUP_PW) as sup:
        services.review(sup, [rid], "approve")
        clean = records.get(sup, rid)["data"]
    with Spool(data) as spool:
        spool.freeze_batch(batch_id="b1", idempotency_key="k1", body=b"x", sha256="0" * 64, record_ids=[rid])
        results = [{"record_id": rid, "status": "accepted"}]
        spool.apply_receipt("b1", results, receipt_text(keys, "dev-0001", results))
    assert row(data, rid)[0] == "synced"
    return {"data": data, "keys": keys, "rid": rid, "clean": clean}


def card_of(s, member_no=MEMBER_NO) -> dict:
    sig = credential.card_signature(card_claims(s["clean"], member_no, ISSUED_AT), s["keys"]["sign_private"])
    return {"issued_at": ISSUED_AT, "sig": wire.b64e(sig)}


def entry(s, **fields) -> dict:
    return {"record_id": s["rid"], "state": "registered", **fields}


def claim(data, rid: str, answer_text: str, registry_id="KH-REG-000001") -> None:
    """What an edited spool.db says: the item registered, with ``answer_text`` as its proof (written by SQL)."""
    with Spool(data) as spool:
        proof = spool._conn.execute("INSERT INTO status_proofs (answer, received_at) VALUES (?, 0)",
                                    (answer_text,)).lastrowid
        spool._conn.execute("UPDATE items SET state = 'registered', registry_id = ?, status_proof = ? "
                            "WHERE record_id = ?", (registry_id, proof, rid))


def row(data, rid: str) -> tuple:
    """``(state, member_no, card)`` after an unlock (which pulls), with the audit chain checked."""
    with services.open_session(data, "sup", SUP_PW) as sup:
        assert audit.verify_chain(sup.conn) == []
        return sup.conn.execute("SELECT state, member_no, card FROM records WHERE id = ?", (rid,)).fetchone()


def spool_state(data, rid: str) -> str:
    with Spool(data) as spool:
        return spool.states([rid])[rid]["state"]


# ---------------------------------------------------------------- an answer nobody (or somebody else) signed
@pytest.mark.parametrize("forge", ["unsigned", "another key", "another device", "edited after signing"])
def test_an_unproven_answer_claiming_registered_changes_nothing(synced, forge):
    data, rid, keys = synced["data"], synced["rid"], synced["keys"]
    records_ = [entry(synced, registry_id=MEMBER_NO, card=card_of(synced))]
    if forge == "unsigned":
        text = json.dumps({"records": records_, "cursor": "1", "more": False, "device_id": "dev-0001",
                           "issued_at": ISSUED_AT})
    elif forge == "another key":
        text = status_text(wire.new_registry_keys(), "dev-0001", records_)
    elif forge == "another device":
        text = status_text(keys, "dev-0002", records_)
    else:
        text = status_text(keys, "dev-0001", [entry(synced, registry_id="KH-REG-000041")])
        text = text.replace("KH-REG-000041", MEMBER_NO)
    claim(data, rid, text, registry_id=MEMBER_NO)
    assert row(data, rid) == ("synced", None, None)
    assert spool_state(data, rid) == "queued"  # sent again; the registry answers "duplicate" for what it holds
    with Store(data).unlock("sup", SUP_PW) as sup:
        assert search.search(sup, MEMBER_NO) == [] and search.search(sup, "000042") == []
        assert sup.conn.execute("SELECT count(*) FROM audit WHERE event = 'sync.unproven'").fetchone()[0] == 1
        with pytest.raises(FieldappError):
            documents.card_document(sup, rid, "en")


def test_spool_rows_edited_by_sql_never_give_the_number(synced):
    data, rid = synced["data"], synced["rid"]
    with Spool(data) as spool:  # registered in the spool, with a number, and no proof at all
        spool._conn.execute("UPDATE items SET state = 'registered', registry_id = 'KH-REG-999999' WHERE record_id = ?",
                            (rid,))
    assert row(data, rid) == ("synced", None, None)


# ---------------------------------------------------------------- a proven answer: the number, its card, search
def test_a_proven_registration_stores_the_number_and_card_and_finds_the_record(synced):
    data, rid = synced["data"], synced["rid"]
    answer = [entry(synced, registry_id=MEMBER_NO, card=card_of(synced))]
    with Spool(data) as spool:
        spool.apply_status(answer, status_text(synced["keys"], "dev-0001", answer))
    state, member_no, card = row(data, rid)
    assert (state, member_no, json.loads(card)) == ("registered", MEMBER_NO, card_of(synced))
    with Store(data).unlock("sup", SUP_PW) as sup:
        assert sup.conn.execute("SELECT reason FROM audit WHERE event = 'record.registered' AND record_id = ?",
                                (rid,)).fetchall() == [(MEMBER_NO,)]
        for query in (MEMBER_NO, MEMBER_NO.lower(), "000042", "០០០០៤២", "42", "REG-0000"):
            assert [r["id"] for r in search.search(sup, query)] == [rid], query
            assert search.count(sup, query) == 1
        for query in ("KH-REG-000043", "000043", "999999"):
            assert search.search(sup, query) == [], query
        assert records.get(sup, rid)["member_no"] == MEMBER_NO
        assert documents.card_document(sup, rid, "en")["member_no"] == MEMBER_NO
    with Store(data).unlock("ow", OW_PW) as ow:
        assert [r["id"] for r in search.search(ow, "000042")] == [rid]
    with Store(data).unlock("ow2", OW2_PW) as ow2:
        assert search.search(ow2, "000042") == []  # another worker's record stays out of sight


def test_the_number_once_stored_is_not_changed_by_the_spool(synced):
    data, rid, keys = synced["data"], synced["rid"], synced["keys"]
    answer = [entry(synced, registry_id=MEMBER_NO, card=card_of(synced))]
    with Spool(data) as spool:
        spool.apply_status(answer, status_text(keys, "dev-0001", answer))
    first = row(data, rid)
    for registry_id in ("KH-REG-000666", "x' OR '1'='1", "'; DELETE FROM records; --", "K" * 100_000):
        with Spool(data) as spool:
            spool._conn.execute("UPDATE items SET registry_id = ? WHERE record_id = ?", (registry_id, rid))
        assert row(data, rid) == first
    other = [entry(synced, registry_id="KH-REG-000666")]  # even a later answer the registry signed
    claim(data, rid, status_text(keys, "dev-0001", other), registry_id="KH-REG-000666")
    assert row(data, rid) == first


@pytest.mark.parametrize("registry_id", ["'; DROP TABLE records; --", 'KH"REG', "KH REG 1", "-KH-REG-1", "",
                                         "KH-REG-" + "9" * 10_000, "ខ-០០១", "KH-REG-1\n", None])
def test_a_signed_number_that_is_not_a_member_number_is_not_stored(synced, registry_id):
    """The registry signed it, but it is not an ID (docs/protocol.md section 2): the record is registered, with no
    number and no card, and nothing else happens."""
    data, rid = synced["data"], synced["rid"]
    fields = {"card": card_of(synced)} if registry_id is None else {"registry_id": registry_id,
                                                                    "card": card_of(synced)}
    claim(data, rid, status_text(synced["keys"], "dev-0001", [entry(synced, **fields)]), registry_id=None)
    assert row(data, rid) == ("registered", None, None)
    assert row(data, rid) == ("registered", None, None)  # asked again at the next unlock: still nothing, no failure
    with Store(data).unlock("sup", SUP_PW) as sup:
        assert sup.conn.execute("SELECT count(*) FROM records").fetchone()[0] == 1
        assert search.search(sup, "DROP") == [] and search.search(sup, "9" * 50) == []
        services.apply_sync_results(sup)


# a registry_id that is not text, in a signed status answer, once reached audit.append as the event's reason
@pytest.mark.parametrize("registry_id", [{"a": 1}, ["KH-REG-000042"], 12345, True],
                         ids=["object", "array", "number", "boolean"])
def test_a_signed_number_that_is_not_text_does_not_break_the_pull(synced, registry_id):
    data, rid = synced["data"], synced["rid"]
    claim(data, rid, status_text(synced["keys"], "dev-0001", [entry(synced, registry_id=registry_id)]))
    with Store(data).unlock("sup", SUP_PW) as sup:
        services.apply_sync_results(sup)
        assert sup.conn.execute("SELECT state, member_no FROM records").fetchone() == ("registered", None)
        assert audit.verify_chain(sup.conn) == []


CARDS = {
    "an extra key": lambda good: dict(good, extra="x"),
    "a huge signature": lambda good: dict(good, sig="A" * 100_000),
    "a signature of 201 characters": lambda good: dict(good, sig="A" * 201),
    "a long issue time": lambda good: dict(good, issued_at=ISSUED_AT + "x" * 40),
    "an issue time that is a number": lambda good: dict(good, issued_at=1748743384),
    "no signature": lambda good: {"issued_at": good["issued_at"]},
    "a signature that is a list": lambda good: dict(good, sig=[good["sig"]]),
    "a string": lambda good: good["sig"],
    "a list": lambda good: [good["issued_at"], good["sig"]],
    "null": lambda good: None,
}


@pytest.mark.parametrize("make", CARDS.values(), ids=CARDS.keys())
def test_a_card_that_is_not_well_formed_is_left_out_and_the_number_kept(synced, make):
    data, rid = synced["data"], synced["rid"]
    answer = [entry(synced, registry_id=MEMBER_NO, card=make(card_of(synced)))]
    claim(data, rid, status_text(synced["keys"], "dev-0001", answer), registry_id=MEMBER_NO)
    assert row(data, rid) == ("registered", MEMBER_NO, None)
    with Store(data).unlock("sup", SUP_PW) as sup:
        assert [r["id"] for r in search.search(sup, MEMBER_NO)] == [rid]
        with pytest.raises(FieldappError) as info:
            documents.card_document(sup, rid, "en")
        assert info.value.msg_id == "proof.error.no_card"


def test_a_well_formed_card_for_another_record_is_kept_but_prints_nothing(synced):
    data, rid = synced["data"], synced["rid"]
    wrong = card_of(dict(synced, clean=dict(synced["clean"], given_name="សុខា")))  # signed, but not this record
    answer = [entry(synced, registry_id=MEMBER_NO, card=wrong)]
    claim(data, rid, status_text(synced["keys"], "dev-0001", answer), registry_id=MEMBER_NO)
    state, member_no, card = row(data, rid)
    assert (state, member_no, json.loads(card)) == ("registered", MEMBER_NO, wrong)
    with Store(data).unlock("sup", SUP_PW) as sup:
        with pytest.raises(FieldappError):
            documents.card_document(sup, rid, "km")


def test_a_record_registered_before_numbers_were_kept_gets_its_number_once(synced):
    data, rid = synced["data"], synced["rid"]
    answer = [entry(synced, registry_id=MEMBER_NO, card=card_of(synced))]
    with Store(data).unlock("sup", SUP_PW) as sup:
        with sup.write() as tx:  # as release 0.1.0 left it: registered, no number
            tx.execute("UPDATE records SET state = 'registered' WHERE id = ?", (rid,))
    claim(data, rid, status_text(synced["keys"], "dev-0001", answer), registry_id=MEMBER_NO)
    assert row(data, rid)[:2] == ("registered", MEMBER_NO)
    with Store(data).unlock("sup", SUP_PW) as sup:
        assert [r["id"] for r in search.search(sup, "000042")] == [rid]


# ---------------------------------------------------------------- the search keys of a number
def test_member_terms():
    assert member_terms(MEMBER_NO) == [match_key(MEMBER_NO), "000042"]
    assert member_terms("NSSF.2026:77") == [match_key("NSSF.2026:77"), "202677"]
    assert member_terms("ABC") == [match_key("ABC")]
    assert member_terms("") == []


# ---------------------------------------------------------------- the status in plain words
@pytest.mark.parametrize("lang", ["en", "km"])
def test_plain_status_of_every_state(lang):
    special = {"synced", "registered", "registry_rejected"}
    for state in STATES:
        if state not in special:
            assert plain_status(state, "any reason", "KH-1", lang) == tr(label_id(state), lang)
    assert plain_status("synced", None, None, lang) == tr("proof.status.synced", lang)
    assert plain_status("synced", "held_for_review", None, lang) == tr("proof.status.held", lang)
    assert plain_status("synced", "something else", None, lang) == tr("proof.status.synced", lang)
    registered = plain_status("registered", None, MEMBER_NO, lang)
    assert registered == tr("proof.status.registered", lang, member_no=MEMBER_NO) and MEMBER_NO in registered
    assert plain_status("registered", None, None, lang) == tr(label_id("registered"), lang)
    assert plain_status("no such state", None, None, lang) == tr("core.record.bad_state", lang)
    shown = {plain_status(s, None, None, lang) for s in STATES}
    assert len(shown) == len(STATES) and not any(text.rstrip().endswith((":", "\u17d6")) for text in shown)


@pytest.mark.parametrize("reason", ["rejected", "invalid_record", "wrong_name: typo in the given name", "wrong_name",
                                    "died before registration"])
def test_a_refusal_names_its_reason_in_both_languages(reason):
    en, km = (plain_status("registry_rejected", reason, None, lang) for lang in ("en", "km"))
    assert en == tr("proof.status.refused", "en", reason=reasons.render(reason, "en"))
    assert km == tr("proof.status.refused", "km", reason=reasons.render(reason, "km"))
    assert en != km and reasons.render(reason, "km") in km
    assert en.startswith("Refused by the registry: ") and en != "Refused by the registry: "


@pytest.mark.parametrize("registry_id", [{"a": 1}, ["KH-REG-000042"], 12345, "K" * 65],
                         ids=["object", "array", "number", "too long"])
def test_the_spool_keeps_no_registry_id_that_is_not_short_text(synced, registry_id):
    """A registry-signed status answer or receipt with an object there once raised sqlite3.ProgrammingError inside
    ``Spool.apply_status``: the answer is applied (registered), without the ID."""
    data, rid = synced["data"], synced["rid"]
    with Spool(data) as spool:
        assert spool.apply_status([entry(synced, registry_id=registry_id)]) == 1
        assert spool._conn.execute("SELECT state, registry_id FROM items WHERE record_id = ?",
                                   (rid,)).fetchone() == ("registered", None)
