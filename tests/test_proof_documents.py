"""fieldapp.proof.documents: the acknowledgement slip and the membership card as document models.

Failure paths first: no slip for a draft or for another worker's record, no card for a record the registry has not
registered, and no card when what the store holds (the registry's card signature, the member number, the record)
no longer matches what the registry signed, whoever changed it. Real store, real spool, real registry keys: the
registration comes back through a signed status answer, as from the sync engine.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from fieldapp import services
from fieldapp.base.errors import FieldappError
from fieldapp.base.i18n import format_timestamp, to_khmer_digits, tr
from fieldapp.domain.card import card_claims
from fieldapp.domain.synthetic import make_records
from fieldapp.outbound import credential, wire
from fieldapp.outbound.spool import Spool
from fieldapp.proof import documents
from fieldapp.store import records, users
from fieldapp.store.database import Store
from helpers.proof_tools import adopt_test_device, receipt_text, status_text

SUP_PW, OW_PW, OW2_PW = "supervisor pw", "outreach pw", "outreach pw2"
PRINTED_AT = "2025-06-01T10:00:00+07:00"
ISSUED_AT = "2025-06-01T02:03:04Z"
MEMBER_NO = "KH-REG-000042"
HOUSEHOLD = {"family_name": "សុខ", "given_name": "ដារ៉ា", "family_name_latin": "Sok", "given_name_latin": "Dara",
             "sex": "female", "date_of_birth": "1990-05-01"}
DEPENDENTS = [{"family_name": "ចាន់", "given_name": "សុភ័ក្ត្រ", "family_name_latin": "Chan",
               "given_name_latin": "Sopheak", "sex": "male", "date_of_birth": "1988-02-11", "relationship": "spouse",
               "disability_or_chronic_illness": False},
              {"family_name": "ចាន់", "given_name": "ស្រីពៅ", "family_name_latin": "Chan", "given_name_latin": "Sreypov",
               "sex": "female", "date_of_birth": "2019-09-30", "relationship": "child",
               "disability_or_chronic_illness": False}]


@pytest.fixture
def store(tmp_path):
    """Supervisor ``sup``, outreach workers ``ow`` (Keo Sophal) and ``ow2``; ``ow`` submitted one household."""
    data = tmp_path / "data"
    with Store(data).create("sup", SUP_PW, "Supervisor") as sup:
        users.add_user(sup, "ow", OW_PW, "outreach", "Keo Sophal")
        users.add_user(sup, "ow2", OW2_PW, "outreach")
    rec = make_records(1, seed=5)[0]
    rec.update(HOUSEHOLD, dependents=[dict(d) for d in DEPENDENTS])
    rec.pop("national_id", None)
    with Store(data).unlock("ow", OW_PW) as ow:
        (rid,) = records.import_records(ow, [rec])
    return {"data": data, "rid": rid}


def register_device(data) -> dict:
    """The registration as the store records it (no network); the registry's keys and the device's."""
    with Store(data).unlock("sup", SUP_PW) as sup:
        keys = adopt_test_device(sup)
        pub = keys["device_public"]
    return dict(keys, device_public=pub)


def register_record(data, keys, rid, member_no=MEMBER_NO) -> None:
    """Approve, deliver, and bring back the registry's signed answer with its card signature; the unlock pulls it."""
    with Store(data).unlock("sup", SUP_PW) as sup:
        services.review(sup, [rid], "approve")
        clean = records.get(sup, rid)["data"]
    sig = credential.card_signature(card_claims(clean, member_no, ISSUED_AT), keys["sign_private"])
    with Spool(data) as spool:
        spool.freeze_batch(batch_id=f"b-{rid}", idempotency_key=f"k-{rid}", body=b"x", sha256="0" * 64,
                           record_ids=[rid])
        results = [{"record_id": rid, "status": "accepted"}]
        spool.apply_receipt(f"b-{rid}", results, receipt_text(keys, "dev-0001", results, batch_id=f"b-{rid}"))
        answer = [{"record_id": rid, "state": "registered", "registry_id": member_no,
                   "card": {"issued_at": ISSUED_AT, "sig": wire.b64e(sig)}}]
        spool.apply_status(answer, status_text(keys, "dev-0001", answer))
    with services.open_session(data, "sup", SUP_PW) as sup:
        assert records.get(sup, rid)["member_no"] == member_no


@pytest.fixture
def registered(store):
    keys = register_device(store["data"])
    register_record(store["data"], keys, store["rid"])
    return dict(store, keys=keys)


def refused(call, msg_id: str) -> None:
    with pytest.raises(FieldappError) as info:
        call()
    assert info.value.msg_id == msg_id
    for lang in ("en", "km"):  # a sentence in each language, not the message id
        assert info.value.message(lang) != msg_id and info.value.message(lang).strip()


def age_on(born: str, day: date) -> int:
    y, m, d = map(int, born.split("-"))
    return day.year - y - ((day.month, day.day) < (m, d))


# ---------------------------------------------------------------- the slip: refused
def test_no_slip_for_a_draft(store):
    with Store(store["data"]).unlock("ow", OW_PW) as ow:
        draft = records.save_draft(ow, {"family_name": "សុខ"})
        refused(lambda: documents.slip_document(ow, draft, "en", PRINTED_AT), "proof.error.not_submitted")
        refused(lambda: documents.slip_document(ow, draft, "km", PRINTED_AT), "proof.error.not_submitted")


def test_no_slip_of_another_workers_record_nor_of_an_unknown_one(store):
    with Store(store["data"]).unlock("ow2", OW2_PW) as ow2:
        refused(lambda: documents.slip_document(ow2, store["rid"], "en", PRINTED_AT), "core.record.not_found")
        refused(lambda: documents.slip_document(ow2, "no-such-record", "en", PRINTED_AT), "core.record.not_found")


def test_a_slip_before_registration_says_it_is_not_signed(store):
    with Store(store["data"]).unlock("ow", OW_PW) as ow:
        slip = documents.slip_document(ow, store["rid"], "en", PRINTED_AT)
    assert slip["qr"] == "" and slip["qr_caption"] == tr("proof.slip.unsigned", "en")
    assert slip["reference"] == credential.reference(store["rid"])


# ---------------------------------------------------------------- the slip: what it says
def test_the_slip_of_a_submitted_record_in_english(store):
    keys = register_device(store["data"])
    with Store(store["data"]).unlock("ow", OW_PW) as ow:
        record = records.get(ow, store["rid"])
        slip = documents.slip_document(ow, store["rid"], "en", PRINTED_AT)
    data, rid = record["data"], store["rid"]
    assert slip["kind"] == "slip" and slip["lang"] == "en" and slip["title"] == tr("proof.slip.title", "en")
    assert slip["reference"] == credential.reference(rid) == credential.check_reference(slip["reference"])
    day = datetime.fromisoformat(record["submitted_at"]).astimezone().date()
    people = [data, *data["dependents"]]
    assert slip["household"] == [
        [f"{p['family_name']} {p['given_name']} ({p['family_name_latin']} {p['given_name_latin']})", role,
         str(age_on(p["date_of_birth"], day))]
        for p, role in zip(people, ("Member", "Spouse", "Child"))]
    assert [p["family_name_latin"] for p in people] == ["Sok", "Chan", "Chan"]
    fields = dict(slip["fields"])
    assert fields[tr("proof.field.enrolled_by", "en")] == "Keo Sophal"
    assert fields[tr("proof.field.date", "en")] == format_timestamp(record["submitted_at"], "en")
    assert tr("proof.field.member_no", "en") not in fields  # not registered yet
    claims = credential.verify_slip(slip["qr"], keys["device_public"])  # signed by this laptop's device key
    assert claims["reference"] == slip["reference"] and claims["record_id"] == rid
    assert claims["device_id"] == "dev-0001" and claims["household_size"] == 3
    assert claims["commune_code"] == data["commune_code"] and claims["enrolled_on"] == record["submitted_at"][:10]
    assert slip["qr_caption"] == tr("proof.slip.signed_by", "en", device="dev-0001")
    with pytest.raises(credential.CredentialError):
        credential.verify_slip(slip["qr"], wire.new_device_keys()[1])


def test_the_slip_in_khmer_has_khmer_digits_and_the_same_reference(store):
    with Store(store["data"]).unlock("ow", OW_PW) as ow:
        record = records.get(ow, store["rid"])
        km = documents.slip_document(ow, store["rid"], "km", PRINTED_AT)
        en = documents.slip_document(ow, store["rid"], "en", PRINTED_AT)
    day = datetime.fromisoformat(record["submitted_at"]).astimezone().date()
    ages = [age_on(p["date_of_birth"], day) for p in [record["data"], *record["data"]["dependents"]]]
    assert [row[2] for row in km["household"]] == [to_khmer_digits(str(a)) for a in ages]
    assert not any(ch.isascii() and ch.isdigit() for row in km["household"] for ch in row[2])
    assert [row[1] for row in km["household"]] == [tr("proof.role.member", "km"), tr("relationship.spouse", "km"),
                                                   tr("relationship.child", "km")]
    assert km["reference"] == en["reference"]  # typed back in Latin letters whatever the slip's language
    assert km["title"] == tr("proof.slip.title", "km") != en["title"]
    assert km["footer"] == tr("proof.footer", "km", version="១", printed=format_timestamp(PRINTED_AT, "km"))
    assert [row[0] for row in km["household"]] == [row[0] for row in en["household"]]


def test_the_slip_of_a_registered_record_shows_its_member_number(registered):
    with Store(registered["data"]).unlock("sup", SUP_PW) as sup:
        slip = documents.slip_document(sup, registered["rid"], "km", PRINTED_AT)
    assert dict(slip["fields"])[tr("proof.field.member_no", "km")] == MEMBER_NO


# ---------------------------------------------------------------- the card: refused
def test_no_card_for_a_record_the_registry_has_not_registered(store):
    keys = register_device(store["data"])
    with Store(store["data"]).unlock("sup", SUP_PW) as sup:
        refused(lambda: documents.card_document(sup, store["rid"], "en"), "proof.error.no_card")  # submitted
        services.review(sup, [store["rid"]], "approve")
        assert records.get(sup, store["rid"])["state"] == "queued"
        refused(lambda: documents.card_document(sup, store["rid"], "km"), "proof.error.no_card")
        refused(lambda: documents.card_document(sup, "no-such-record", "en"), "core.record.not_found")
    # a member number and a card signature written by SQL on a record the registry never registered
    sig = credential.card_signature(card_claims(HOUSEHOLD, MEMBER_NO, ISSUED_AT),
                                    keys["sign_private"])
    with Store(store["data"]).unlock("sup", SUP_PW) as sup:
        with sup.write() as tx:
            tx.execute("UPDATE records SET member_no = ?, card = ? WHERE id = ?",
                       (MEMBER_NO, json.dumps({"issued_at": ISSUED_AT, "sig": wire.b64e(sig)}), store["rid"]))
        refused(lambda: documents.card_document(sup, store["rid"], "en"), "proof.error.no_card")


def _set(column: str, value):
    return lambda tx, rid, card: tx.execute(f"UPDATE records SET {column} = ? WHERE id = ?", (value, rid))


def _card(**change):
    return lambda tx, rid, card: tx.execute("UPDATE records SET card = ? WHERE id = ?",
                                            (json.dumps({k: v for k, v in (card | change).items() if v is not None}),
                                             rid))


def _data(tx, rid, card):
    data = json.loads(tx.execute("SELECT data FROM records WHERE id = ?", (rid,)).fetchone()[0])
    tx.execute("UPDATE records SET data = ? WHERE id = ?",
               (json.dumps(dict(data, given_name="សុខា"), ensure_ascii=False), rid))


TAMPERS = {
    "another 64-byte signature": _card(sig=wire.b64e(bytes(range(64)))),
    "a signature cut short": _card(sig=wire.b64e(bytes(32))),
    "a signature that is not base64": _card(sig="not base64!"),
    "a signature that is a number": _card(sig=12345),
    "no signature": _card(sig=None),
    "the issue time moved by a second": _card(issued_at="2025-06-01T02:03:05Z"),
    "an issue time that is not one": _card(issued_at="yesterday"),
    "card not JSON": _set("card", "{not json"),
    "card a list": _set("card", "[]"),
    "card a string": _set("card", '"sig"'),
    "card JSON null": _set("card", "null"),
    "card nested past the parser": _set("card", "[" * 100_000 + "]" * 100_000),
    "no card": _set("card", None),
    "member number changed": _set("member_no", "KH-REG-000043"),
    "member number with quotes": _set("member_no", "KH'; DROP TABLE records; --"),
    "member number removed": _set("member_no", None),
    "the record changed": _data,
}


@pytest.mark.parametrize("tamper", TAMPERS.values(), ids=TAMPERS.keys())
def test_no_card_when_what_the_store_holds_no_longer_verifies(registered, tamper):
    data, rid = registered["data"], registered["rid"]
    with Store(data).unlock("sup", SUP_PW) as sup:
        card = json.loads(sup.conn.execute("SELECT card FROM records WHERE id = ?", (rid,)).fetchone()[0])
        documents.card_document(sup, rid, "en")  # fine before
        with sup.write() as tx:
            tamper(tx, rid, card)
        refused(lambda: documents.card_document(sup, rid, "en"), "proof.error.no_card")
        refused(lambda: documents.card_text(sup, records.get(sup, rid)), "proof.error.no_card")
        assert sup.conn.execute("SELECT count(*) FROM records").fetchone()[0] == 1


def test_no_card_once_the_device_identity_is_gone(registered):
    """The registry key a card is checked with is the store's: without it nothing is printed."""
    from fieldapp.store import trusted

    with Store(registered["data"]).unlock("sup", SUP_PW) as sup:
        with sup.write():
            trusted.delete(sup.conn, "device.identity")
        refused(lambda: documents.card_document(sup, registered["rid"], "en"), "proof.error.no_card")


# ---------------------------------------------------------------- the card: what it says
def test_the_card_of_a_registered_record_verifies_with_the_registry_key(registered):
    with Store(registered["data"]).unlock("ow", OW_PW) as ow:  # its worker may print it too
        en = documents.card_document(ow, registered["rid"], "en")
        km = documents.card_document(ow, registered["rid"], "km")
    claims = credential.verify_card(en["qr"], registered["keys"]["sign_public"])
    assert claims["member_no"] == en["member_no"] == MEMBER_NO and claims["issued_at"] == ISSUED_AT
    assert claims["full_name"] == "សុខ ដារ៉ា" and claims["full_name_latin"] == "Sok Dara"
    assert [(d["name"], d["relationship"]) for d in claims["dependents"]] == [("ចាន់ សុភ័ក្ត្រ", "spouse"),
                                                                            ("ចាន់ ស្រីពៅ", "child")]
    assert en["name"] == "សុខ ដារ៉ា" and en["name_latin"] == "SOK DARA"
    assert en["fields"] == [[tr("proof.card.born", "en"), "1990-05-01"], [tr("proof.card.sex", "en"),
                                                                         tr("sex.female", "en")]]
    assert en["dependents"] == ["ចាន់ សុភ័ក្ត្រ (Spouse, 1988-02-11)", "ចាន់ ស្រីពៅ (Child, 2019-09-30)"]
    assert km["qr"] == en["qr"] and km["member_no"] == MEMBER_NO  # the number is printed as the registry wrote it
    assert km["fields"][0] == [tr("proof.card.born", "km"), "១៩៩០-០៥-០១"]
    assert km["dependents"][1] == f"ចាន់ ស្រីពៅ ({tr('relationship.child', 'km')}, ២០១៩-០៩-៣០)"
    with pytest.raises(credential.CredentialError):
        credential.verify_card(en["qr"], wire.new_registry_keys()["sign_public"])
    with Store(registered["data"]).unlock("ow2", OW2_PW) as ow2:
        refused(lambda: documents.card_document(ow2, registered["rid"], "en"), "core.record.not_found")


# ---------------------------------------------------------------- the day's batch of cards
def test_registered_on_lists_the_days_cards_for_who_may_see_them(registered):
    data, rid = registered["data"], registered["rid"]
    with Store(data).unlock("sup", SUP_PW) as sup:
        (day,) = sup.conn.execute("SELECT DISTINCT date(ts, 'localtime') FROM audit WHERE event = 'record.registered'"
                                  " AND record_id = ?", (rid,)).fetchone()
        assert documents.registered_on(sup, day) == [rid]
        assert documents.registered_on(sup, "2000-01-01") == []
        assert documents.registered_on(sup, "not a day'; --") == []
    with Store(data).unlock("ow", OW_PW) as ow:
        assert documents.registered_on(ow, day) == [rid]
    with Store(data).unlock("ow2", OW2_PW) as ow2:
        assert documents.registered_on(ow2, day) == []
    with Store(data).unlock("sup", SUP_PW) as sup:
        with sup.write() as tx:  # a member number without the registry's card signature: no card to print
            tx.execute("UPDATE records SET card = NULL WHERE id = ?", (rid,))
        assert documents.registered_on(sup, day) == []
