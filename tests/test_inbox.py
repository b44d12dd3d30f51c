"""fieldapp.outbound.inbox: member lookup pages sealed in spool.db for the store, and how the store takes them.

spool.db is a plain file anyone can write, so every crafted row (signed by another key, for another device, sealed
to another key, truncated, out of order) must be dropped with nothing applied, and the spool's cursor set back to the
store's so the pages are fetched again. Real store, real spool, real keys. ``fieldapp.store.members`` is replaced by
a small stub (``StubMembers``) that records the pages it is given and keeps the cursor in ``lookup_meta``.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import types
import zlib

import pytest

from helpers.proof_tools import adopt_test_device

import fieldapp.store
from fieldapp import services
from fieldapp.domain import member
from fieldapp.domain.synthetic import make_records
from fieldapp.outbound import inbox, proofs, wire
from fieldapp.outbound.spool import Spool
from fieldapp.store.database import Store

SUP_PW = "supervisor pw"
PLANTED = "ភ្លាំងតេស្ត"  # a family name no synthetic record has
AREA = ["010201"]
AREA_ID = "a1b2c3d4e5f60718"


class StubMembers(types.ModuleType):
    """Stands for ``fieldapp.store.members`` (``apply_page``, ``cursor``) while that module is being written."""

    def __init__(self):
        super().__init__("fieldapp.store.members")
        self.applied: list[dict] = []

    def apply_page(self, session, page):
        with session.write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS lookup_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            for key, value in (("cursor", str(page["cursor"])), ("area_id", page["area_id"])):
                conn.execute("INSERT INTO lookup_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
                             " SET value = excluded.value", (key, value))
        self.applied.append(page)
        return {"applied": len(page["members"]), "removed": len(page["removed"]), "skipped": 0}

    def cursor(self, session):
        rows = dict(session.conn.execute("SELECT key, value FROM lookup_meta WHERE key IN ('cursor', 'area_id')"))
        return int(rows.get("cursor", 0)), rows.get("area_id")


@pytest.fixture
def stub(monkeypatch):
    mod = StubMembers()
    monkeypatch.setitem(sys.modules, "fieldapp.store.members", mod)
    monkeypatch.setattr(fieldapp.store, "members", mod, raising=False)
    return mod


@pytest.fixture
def laptop(tmp_path, stub):
    """A registered store (registry keys held by the test) with a spool and its inbox key published."""
    data = tmp_path / "data"
    Store(data).create("sup", SUP_PW, "Supervisor").close()
    with Store(data).unlock("sup", SUP_PW) as sup:
        keys = adopt_test_device(sup)
    with Spool(data):
        pass
    with services.open_session(data, "sup", SUP_PW) as session:
        assert services.take_lookup(session) == {"applied": 0, "dropped": 0, "skipped": 0}
    return {"data": data, "keys": keys}


def entry(i: int, family_name: str | None = None) -> dict:
    rec = make_records(1, seed=100 + i)[0]
    if family_name:
        rec["family_name"] = family_name
    return member.lookup_entry(rec, f"KH-REG-{i:06d}", 1, office_commune=AREA[0])


def page(since=0, cursor=1, *, reset=None, more=False, members=(), device_id="dev-0001", area_id=AREA_ID) -> dict:
    return {"format": proofs.LOOKUP_FORMAT, "v": 1, "device_id": device_id, "area": AREA, "area_id": area_id,
            "since": since, "cursor": cursor, "reset": since == 0 if reset is None else reset, "more": more,
            "members": list(members), "removed": [], "issued_at": wire.now_iso()}


def public_of(data) -> bytes:
    with Spool(data) as spool:
        return inbox.public_from_text(spool.get_meta(inbox.SPOOL_PUBLIC))


def put(data, signed, public: bytes | None = None, meta: dict | None = None) -> int:
    """A sealed page in the inbox, as the engine keeps it."""
    blob = inbox.seal_page(public or public_of(data), wire.canonical_json(signed))
    with Spool(data) as spool:
        return spool.inbox_add(blob, meta=meta)


def put_raw(data, blob: bytes) -> None:
    with Spool(data) as spool:
        spool._conn.execute("INSERT INTO inbox (sealed, fetched_at) VALUES (?, 0)", (sqlite3.Binary(blob),))


def take(data) -> dict:
    """Unlock (without the unlock's housekeeping) and take the inbox."""
    with Store(data).unlock("sup", SUP_PW) as session:
        return services.take_lookup(session)


def spool_meta(data, key):
    with Spool(data) as spool:
        return spool.get_meta(key)


def inbox_rows(data) -> int:
    with Spool(data) as spool:
        return len(spool.inbox_pending())


# ---------------------------------------------------------------- sealing
def test_seal_round_trip_and_nothing_readable():
    private = inbox.X25519PrivateKey.generate().private_bytes_raw()
    public = wire.x25519_public(private)
    signed = proofs.sign_lookup(page(members=[entry(1, PLANTED)]), wire.new_registry_keys()["sign_private"])
    blob = inbox.seal_page(public, wire.canonical_json(signed))
    assert inbox.open_page(private, blob) == signed
    assert PLANTED.encode() not in blob and zlib.compress(wire.canonical_json(signed), 6) not in blob
    assert inbox.seal_page(public, wire.canonical_json(signed)) != blob  # a fresh ephemeral key every time
    other = inbox.X25519PrivateKey.generate().private_bytes_raw()
    for bad_key, bad_blob in ((other, blob), (private, blob[:-1]), (private, blob[:40]), (private, b""),
                              (private, blob[:50] + bytes([blob[50] ^ 1]) + blob[51:]), (private, b"XXXX" + blob[4:])):
        with pytest.raises(wire.WireError):
            inbox.open_page(bad_key, bad_blob)


def test_a_sealed_page_that_is_not_an_object_or_a_bomb_is_refused():
    private = inbox.X25519PrivateKey.generate().private_bytes_raw()
    public = wire.x25519_public(private)
    with pytest.raises(wire.WireError):
        inbox.open_page(private, inbox.seal_page(public, b"[1, 2]"))
    with pytest.raises(wire.WireError):
        inbox.open_page(private, inbox.seal_page(public, b"not json"))
    big = b'{"a":"' + b"x" * (inbox.MAX_PAGE_BYTES + 10) + b'"}'
    with pytest.raises(wire.WireError):
        inbox.open_page(private, inbox.seal_page(public, big))


# ---------------------------------------------------------------- the key pair
def test_the_key_lives_in_the_store_and_is_published_again(laptop):
    data = laptop["data"]
    public = public_of(data)
    assert public is not None
    with Store(data).unlock("sup", SUP_PW) as session:
        private = inbox.private_key(session)
    assert private is not None and wire.x25519_public(private) == public
    with Spool(data) as spool:  # someone swaps the published key: the next unlock puts the store's back
        spool.set_meta(inbox.SPOOL_PUBLIC, wire.b64e(wire.x25519_public(bytes(32))))
    take(data)
    assert public_of(data) == public
    spool_bytes = (data / "spool.db").read_bytes()
    assert wire.b64e(private).encode() not in spool_bytes and private not in spool_bytes


def test_an_unregistered_store_makes_no_key(tmp_path, stub):
    data = tmp_path / "plain"
    Store(data).create("sup", SUP_PW, "Supervisor").close()
    with Spool(data):
        pass
    assert take(data) is None
    assert spool_meta(data, inbox.SPOOL_PUBLIC) is None


def test_an_old_spool_gets_the_inbox_table(tmp_path):
    data = tmp_path / "old"
    data.mkdir()
    conn = sqlite3.connect(data / "spool.db")  # a spool.db of release 0.1.0: no inbox table
    conn.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                       " INSERT INTO meta VALUES ('status_cursor', '\"7\"');")
    conn.close()
    with Spool(data) as spool:
        assert spool.get_meta("status_cursor") == "7"
        seq = spool.inbox_add(b"sealed", meta={inbox.CURSOR: 3})
        assert spool.inbox_pending() == [(seq, b"sealed")] and spool.get_meta(inbox.CURSOR) == 3
        assert spool.inbox_add(b"other", expect={inbox.CURSOR: 2}) is None  # the cursor moved: not kept
        assert spool.inbox_delete([seq]) == 1 and spool.inbox_pending() == []


# ---------------------------------------------------------------- draining
def test_pages_apply_in_order_and_leave_the_inbox(laptop, stub):
    data, sign = laptop["data"], laptop["keys"]["sign_private"]
    put(data, proofs.sign_lookup(page(0, 2, more=True, members=[entry(1), entry(2)]), sign))
    put(data, proofs.sign_lookup(page(2, 3, members=[entry(3)]), sign), meta={inbox.CURSOR: 3})
    assert take(data) == {"applied": 2, "dropped": 0, "skipped": 0}
    assert [(p["since"], p["cursor"], p["reset"]) for p in stub.applied] == [(0, 2, True), (2, 3, False)]
    assert inbox_rows(data) == 0 and spool_meta(data, inbox.CURSOR) == 3
    assert take(data) == {"applied": 0, "dropped": 0, "skipped": 0}


def test_a_page_applied_before_a_crash_is_not_applied_twice(laptop, stub):
    data, sign = laptop["data"], laptop["keys"]["sign_private"]
    first = proofs.sign_lookup(page(0, 2, members=[entry(1)]), sign)
    put(data, first)
    take(data)
    put(data, first)  # as if the unlock had stopped between applying and deleting it
    assert take(data) == {"applied": 0, "dropped": 0, "skipped": 1}
    assert len(stub.applied) == 1 and inbox_rows(data) == 0


@pytest.mark.parametrize("how", ["other_key", "other_device", "truncated", "sealed_to_another", "garbage", "gap",
                                 "unsigned"])
def test_crafted_rows_are_dropped_and_the_cursor_reset(laptop, stub, how):
    data, sign = laptop["data"], laptop["keys"]["sign_private"]
    put(data, proofs.sign_lookup(page(0, 5, members=[entry(1)]), sign))
    assert take(data)["applied"] == 1
    good_next = proofs.sign_lookup(page(5, 6, members=[entry(2)]), sign)
    crafted = page(5, 9, members=[entry(3, PLANTED)])
    if how == "other_key":
        put(data, proofs.sign_lookup(crafted, wire.new_registry_keys()["sign_private"]))
    elif how == "other_device":
        put(data, proofs.sign_lookup(dict(crafted, device_id="dev-0002"), sign))
    elif how == "truncated":
        blob = inbox.seal_page(public_of(data), wire.canonical_json(proofs.sign_lookup(crafted, sign)))
        put_raw(data, blob[:len(blob) // 2])
    elif how == "sealed_to_another":
        put(data, proofs.sign_lookup(crafted, sign), public=wire.x25519_public(bytes(range(32))))
    elif how == "garbage":
        put_raw(data, b"FLI1" + bytes(100))
    elif how == "gap":  # signed, but it skips what the store has not got (cursor 7, not 5)
        put(data, proofs.sign_lookup(page(7, 9, members=[entry(3, PLANTED)]), sign))
    else:
        put(data, {"page": crafted, "signature": ""})
    put(data, good_next, meta={inbox.CURSOR: 99, inbox.AREA_ID: "ffffffffffffffff"})  # after the bad one
    assert take(data) == {"applied": 0, "dropped": 1, "skipped": 0}
    assert len(stub.applied) == 1  # only the first, good page
    assert inbox_rows(data) == 0  # the bad page and what followed it are gone
    assert (spool_meta(data, inbox.CURSOR), spool_meta(data, inbox.AREA_ID)) == (5, AREA_ID)  # fetched again from 5
    put(data, good_next)  # the engine fetches it again: it applies
    assert take(data)["applied"] == 1 and stub.applied[-1]["cursor"] == 6


def test_a_reset_page_starts_over_and_an_empty_store_refetches_from_zero(laptop, stub):
    data, sign = laptop["data"], laptop["keys"]["sign_private"]
    put(data, proofs.sign_lookup(page(5, 6), sign))  # not a start: the store has nothing yet
    assert take(data)["dropped"] == 1 and stub.applied == []
    assert (spool_meta(data, inbox.CURSOR), spool_meta(data, inbox.AREA_ID)) == (0, None)
    put(data, proofs.sign_lookup(page(0, 4, members=[entry(1)]), sign))
    put(data, proofs.sign_lookup(page(4, 8, reset=True, area_id="0123456789abcdef"), sign))  # the area changed
    assert take(data)["applied"] == 2 and stub.applied[-1]["reset"] is True


def test_the_inbox_is_taken_at_every_unlock(laptop, stub):
    data, sign = laptop["data"], laptop["keys"]["sign_private"]
    put(data, proofs.sign_lookup(page(0, 1, members=[entry(1)]), sign))
    with services.open_session(data, "sup", SUP_PW):
        pass
    assert len(stub.applied) == 1 and inbox_rows(data) == 0
    put(data, proofs.sign_lookup(page(1, 2, members=[entry(2)]), sign))
    with Store(data).unlock("sup", SUP_PW) as session:
        services.apply_sync_results(session)
    assert len(stub.applied) == 2


def test_a_failing_apply_keeps_the_page_for_the_next_unlock(laptop, stub, monkeypatch, caplog):
    data, sign = laptop["data"], laptop["keys"]["sign_private"]
    put(data, proofs.sign_lookup(page(0, 1, members=[entry(1, PLANTED)]), sign))

    def broken(session, page):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(stub, "apply_page", broken)
    with services.open_session(data, "sup", SUP_PW):
        pass
    assert inbox_rows(data) == 1
    assert PLANTED not in caplog.text
    monkeypatch.undo()


def test_a_page_the_store_refuses_is_dropped_and_fetched_again(laptop, stub, monkeypatch):
    data, sign = laptop["data"], laptop["keys"]["sign_private"]

    class Refused(Exception):
        why = "area"

    def refuse(session, page):
        raise Refused()

    monkeypatch.setattr(stub, "LookupPageRefused", Refused, raising=False)
    monkeypatch.setattr(stub, "apply_page", refuse)
    put(data, proofs.sign_lookup(page(0, 1, members=[entry(1)]), sign), meta={inbox.CURSOR: 1})
    assert take(data) == {"applied": 0, "dropped": 1, "skipped": 0}
    assert inbox_rows(data) == 0 and spool_meta(data, inbox.CURSOR) == 0


def test_the_real_members_module_takes_a_page(tmp_path, monkeypatch):
    """The same path with ``fieldapp.store.members`` itself (store schema 7)."""
    members = pytest.importorskip("fieldapp.store.members")
    if isinstance(members, StubMembers):
        pytest.skip("stubbed")
    data = tmp_path / "data"
    Store(data).create("sup", SUP_PW, "Supervisor").close()
    with Store(data).unlock("sup", SUP_PW) as sup:
        keys = adopt_test_device(sup)
    put(data, proofs.sign_lookup(page(0, 2, members=[entry(1, PLANTED), entry(2)]), keys["sign_private"]),
        public=_published(data))
    assert take(data) == {"applied": 1, "dropped": 0, "skipped": 0}
    with Store(data).unlock("sup", SUP_PW) as session:
        assert members.get(session, "KH-REG-000001")["family_name"] == PLANTED
        assert members.cursor(session) == (2, AREA_ID)
    assert PLANTED.encode() not in (data / "spool.db").read_bytes()


def _published(data) -> bytes:
    with Store(data).unlock("sup", SUP_PW) as session, Spool(data) as spool:
        return inbox.ensure_key(session, spool)


def test_the_registrys_one_pass_page_bytes_are_the_signed_envelope():
    """``signed_lookup_bytes`` (the page serialised once) is byte for byte the canonical JSON of ``sign_lookup``,
    and verifies; Khmer names and a quote in a name included."""
    from fieldapp.outbound import proofs, wire

    private, public = wire.new_device_keys()
    page = {"format": "fieldapp-lookup", "v": 1, "device_id": "dev-1", "area": ["050301"], "area_id": "0" * 16,
            "since": 0, "cursor": 2, "reset": True, "more": False, "removed": ["KH-REG-000009"],
            "members": [{"member_no": "KH-REG-000001", "version": 1, "family_name": "សុខ", "given_name": 'ដា"រា'}],
            "issued_at": "2026-12-05T00:00:00Z"}
    body = proofs.signed_lookup_bytes(page, private)
    assert body == wire.canonical_json(proofs.sign_lookup(page, private))
    assert proofs.verify_lookup(json.loads(body), registry_sign_public=public, device_id="dev-1") == page
