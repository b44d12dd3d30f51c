"""fieldapp.proof.facts: the scheme facts printed on slips and cards, adopted from the spool only when the registry
key the store holds signed them, the document is newer and it can be printed.

Failure paths first: spool.db is a plain file anyone can write, so every way of changing what it holds must leave the
slip's promises as they were (the bundled document, or the last one adopted). Real store, real spool, real keys.
"""

from __future__ import annotations

import copy
import json

import pytest

from helpers.proof_tools import adopt_test_device

from fieldapp import services
from fieldapp.base.i18n import format_timestamp, tr
from fieldapp.domain.synthetic import make_records
from fieldapp.outbound import proofs, wire
from fieldapp.outbound.spool import Spool
from fieldapp.proof import documents, facts
from fieldapp.store import audit, records, trusted
from fieldapp.store.database import Store

SUP_PW = "supervisor pw"
PRINTED_AT = "2025-06-01T10:00:00+07:00"


@pytest.fixture
def registered(tmp_path):
    """A store registered with a registry whose keys the test holds, with one submitted record and a spool."""
    data = tmp_path / "data"
    Store(data).create("sup", SUP_PW, "Supervisor").close()
    with Store(data).unlock("sup", SUP_PW) as sup:
        keys = adopt_test_device(sup)
        (rid,) = records.import_records(sup, make_records(1, seed=5))
    with Spool(data):
        pass  # spool.db exists, with no scheme facts in it
    return {"data": data, "keys": keys, "rid": rid}


def newer(version: int = 2, **changes) -> dict:
    doc = copy.deepcopy(facts.bundled())
    doc.update(version=version, **changes)
    return doc


def put_signed(data, doc, sign_private: bytes) -> None:
    with Spool(data) as spool:
        spool.set_meta("scheme_facts", proofs.sign_scheme_facts(doc, sign_private))


def put_raw(data, text: str) -> None:
    """The meta row written by SQL, as anyone with the file could."""
    with Spool(data) as spool:
        spool._conn.execute("INSERT INTO meta (key, value) VALUES ('scheme_facts', ?) ON CONFLICT (key) DO UPDATE"
                            " SET value = excluded.value", (text,))


def raw_meta(data) -> str:
    with Spool(data) as spool:
        return spool._conn.execute("SELECT value FROM meta WHERE key = 'scheme_facts'").fetchone()[0]


def adopt(data):
    with Store(data).unlock("sup", SUP_PW) as sup:
        return facts.adopt(sup)


def kept(data) -> tuple[dict, str | None, list]:
    """The document in use, the trusted value, and the adoption events in the audit trail."""
    with Store(data).unlock("sup", SUP_PW) as sup:
        events = sup.conn.execute("SELECT actor, reason FROM audit WHERE event = 'scheme.facts_adopted'").fetchall()
        assert audit.verify_chain(sup.conn) == []
        return facts.current(sup.conn), trusted.get(sup.conn, facts.TRUSTED_NAME), events


def assert_unchanged(data) -> None:
    doc, stored, events = kept(data)
    assert doc == facts.bundled() and stored is None and events == []


# ---------------------------------------------------------------- nothing to adopt: the bundled document
def test_the_bundled_document_is_used_when_nothing_is_adopted(tmp_path, registered):
    bundled = facts.bundled()
    assert bundled["format"] == proofs.FACTS_FORMAT and bundled["version"] == 1 and facts.printable(bundled)
    plain = tmp_path / "plain"  # never registered: no registry key to check anything with
    Store(plain).create("sup", SUP_PW, "Supervisor").close()
    with Spool(plain) as spool:
        spool.set_meta("scheme_facts", proofs.sign_scheme_facts(newer(), wire.new_registry_keys()["sign_private"]))
    assert adopt(plain) is None
    assert_unchanged(plain)
    assert adopt(registered["data"]) is None  # registered, but the spool holds no document
    assert_unchanged(registered["data"])


def test_no_spool_file_adopts_nothing_and_creates_none(registered):
    (registered["data"] / "spool.db").unlink()
    assert adopt(registered["data"]) is None
    assert not (registered["data"] / "spool.db").exists()


# ---------------------------------------------------------------- refused: who signed it, and what changed since
def test_an_unsigned_document_is_refused(registered):
    data = registered["data"]
    for signed in ({"doc": newer()}, {"doc": newer(), "signature": None}, {"doc": newer(), "signature": ""},
                   {"doc": newer(), "signature": "not base64!"}, {"doc": newer(), "signature": ["x"]}):
        with Spool(data) as spool:
            spool.set_meta("scheme_facts", signed)
        assert adopt(data) is None
    assert_unchanged(data)


def test_a_document_signed_by_another_key_is_refused(registered):
    data = registered["data"]
    put_signed(data, newer(), wire.new_registry_keys()["sign_private"])
    assert adopt(data) is None
    put_signed(data, newer(), wire.new_device_keys()[0])  # the laptop's own kind of key is no better
    assert adopt(data) is None
    assert_unchanged(data)


@pytest.mark.parametrize("old, new", [
    ('"version":2', '"version":3'),  # a newer version number than the registry signed
    ("15,600 riel", "15,700 riel"),  # one digit of the contribution
    ("ABA Bank", "ABC Bank"),  # one letter of a payment channel
])
def test_a_byte_changed_after_signing_is_refused(registered, old, new):
    data = registered["data"]
    put_signed(data, newer(), registered["keys"]["sign_private"])
    text = json.dumps(json.loads(raw_meta(data)), ensure_ascii=False, separators=(",", ":"))
    assert old in text
    put_raw(data, text.replace(old, new, 1))
    assert adopt(data) is None
    assert_unchanged(data)


def test_an_older_or_equal_version_is_refused(registered):
    data, key = registered["data"], registered["keys"]["sign_private"]
    put_signed(data, newer(version=1), key)  # the bundled version, signed: not newer
    assert adopt(data) is None
    assert_unchanged(data)
    put_signed(data, newer(version=3), key)
    assert adopt(data) == 3
    for version in (3, 2):  # the same again, then an older one the registry also signed
        put_signed(data, newer(version=version, hotline="0000"), key)
        assert adopt(data) is None
    doc, _stored, events = kept(data)
    assert doc["version"] == 3 and doc.get("hotline") is None and events == [("sync", "3")]


@pytest.mark.parametrize("change", [
    {"format": "something-else"}, {"version": "2"}, {"version": True}, {"version": 0}, {"version": -4},
    {"version": 2.0}, {"text": "words"}, {"text": ["en"]}, {"text": {}},
    {"text": {"en": "Contribution: 1 riel"}}, {"text": {"en": ["a line"]}},
    {"text": {"en": {"next_steps": 5}}}, {"text": {"en": {"next_steps": None}}},
    {"text": {"en": {"contribution": {"nested": "dict"}}}}, {"text": {"en": {"next_steps": [["nested"]]}}},
    {"text": {"en": {"next_steps": ["line"] * 21}}}, {"text": {"en": {"issuer": "x" * 1001}}},
    {"text": {"km": {"issuer": "ក" * 300_000}}}, {"hotline": 1286}, {"hotline": ["1286"]}, {"hotline": "9" * 1001},
    {"source": "x" * 70_000},  # every text short, but the document larger than the registry would install
], ids=lambda c: json.dumps(c)[:40])
def test_a_document_the_registry_signed_but_cannot_be_printed_is_refused(registered, change):
    """A signature says who wrote it, not that a slip can be laid out from it: wrong types and huge strings are
    refused, so printing never meets an AttributeError or a 300,000-character line."""
    data = registered["data"]
    put_signed(data, newer(**change), registered["keys"]["sign_private"])
    assert adopt(data) is None
    assert_unchanged(data)
    with Store(data).unlock("sup", SUP_PW) as sup:
        slip = documents.slip_document(sup, registered["rid"], "en", PRINTED_AT)
    assert slip["subtitle"].startswith(facts.bundled()["text"]["en"]["issuer"])


@pytest.mark.parametrize("text", [
    "not json at all", "", "{", '"a string"', "42", "null", "[]", '{"doc": null}', '{"doc": [], "signature": 1}',
    '{"doc": {"format": "fieldapp-scheme-facts", "version": 99999999999999999999999, "text": {}}}',
    "[" * 100_000 + "]" * 100_000,  # nested past the JSON parser's recursion limit
    '{"doc": ' + "[" * 100_000 + "]" * 100_000 + "}",
], ids=lambda t: t[:24])
def test_a_crafted_spool_value_adopts_nothing_and_never_raises(registered, text):
    data = registered["data"]
    put_raw(data, text)
    assert adopt(data) is None
    assert_unchanged(data)
    with services.open_session(data, "sup", SUP_PW) as sup:  # every unlock adopts: it must not fail either
        services.apply_sync_results(sup)  # and neither must `fieldapp sync`, which adopts after the engine ran
        assert facts.current(sup.conn) == facts.bundled()


# ---------------------------------------------------------------- adopted: kept in the store, audited, printed
def test_a_newer_signed_document_is_adopted_once_with_its_audit_event(registered):
    data = registered["data"]
    steps = list(facts.bundled()["text"]["en"]["next_steps"]) + ["Bring your ID card."]
    text = copy.deepcopy(facts.bundled()["text"])
    text["en"]["next_steps"] = steps
    put_signed(data, newer(hotline="1286", text=text), registered["keys"]["sign_private"])
    assert adopt(data) == 2
    assert adopt(data) is None  # the same document again: nothing more to do
    doc, stored, events = kept(data)
    assert doc["version"] == 2 and doc["hotline"] == "1286" and json.loads(stored) == doc
    assert events == [("sync", "2")]
    (data / "spool.db").unlink()  # the store keeps it: a lost or replaced spool changes nothing
    with Spool(data):
        pass
    assert kept(data)[0]["version"] == 2
    with Store(data).unlock("sup", SUP_PW) as sup:
        en = documents.slip_document(sup, registered["rid"], "en", PRINTED_AT)
        km = documents.slip_document(sup, registered["rid"], "km", PRINTED_AT)
    follow_up = {s["title"]: s["lines"] for s in en["sections"]}
    assert follow_up[tr("proof.slip.next", "en")] == steps
    assert tr("proof.hotline", "en", number="1286") in follow_up[tr("proof.slip.follow_up", "en")]
    assert tr("proof.hotline", "km", number="១២៨៦") in {line for s in km["sections"] for line in s["lines"]}
    assert en["footer"] == tr("proof.footer", "en", version="2", printed=format_timestamp(PRINTED_AT, "en"))
    assert km["footer"] == tr("proof.footer", "km", version="២", printed=format_timestamp(PRINTED_AT, "km"))


def test_unlock_and_sync_adopt_through_the_service(registered):
    data = registered["data"]
    put_signed(data, newer(version=4), registered["keys"]["sign_private"])
    with services.open_session(data, "sup", SUP_PW) as sup:  # after_unlock adopts
        assert facts.current(sup.conn)["version"] == 4
    put_signed(data, newer(version=5), registered["keys"]["sign_private"])
    with Store(data).unlock("sup", SUP_PW) as sup:
        services.apply_sync_results(sup)
        assert facts.current(sup.conn)["version"] == 5
    assert [reason for _actor, reason in kept(data)[2]] == ["4", "5"]


def test_a_tampered_trusted_value_falls_back_to_the_bundled_document(registered):
    """What the store holds was checked when adopted; should it ever not be a printable newer document, slips are
    printed from the bundled one rather than failing."""
    data = registered["data"]
    for value in ("not json", "[]", json.dumps(newer(version=1)), json.dumps(newer(version="9")),
                  json.dumps(newer(text={"en": "x"}))):
        with Store(data).unlock("sup", SUP_PW) as sup:
            with sup.write():
                trusted.put(sup.conn, facts.TRUSTED_NAME, value)
            assert facts.current(sup.conn) == facts.bundled()
            documents.slip_document(sup, registered["rid"], "km", PRINTED_AT)


# ---------------------------------------------------------------- the words, in English and Khmer
def test_texts_in_english_and_khmer_with_english_for_other_languages():
    doc = facts.bundled()
    en, km = facts.texts(doc, "en"), facts.texts(doc, "km")
    assert set(en) == set(km) >= {"issuer", "scheme_name", "contribution", "channels", "abandon_rule", "next_steps",
                                  "follow_up"}
    assert "NSSF" in en["issuer"] and "15,600" in en["contribution"]
    assert any("\u1780" <= ch <= "\u17ff" for ch in km["issuer"]) and "១៥ ៦០០" in km["contribution"]
    assert facts.texts(doc, "fr") == en
    assert facts.texts({"text": {"km": km}}, "fr") == {}  # no English either: nothing rather than a failure
    assert facts.texts({}, "en") == {}
