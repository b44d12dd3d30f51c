"""The operator's review of held records: ``fieldapp-registry duplicates`` and ``fieldapp-registry resolve``.

A record is *held* when one of its match keys (keyed HMACs, ``fieldapp.domain.member.match_keys``) belongs to a
member first registered from another device: its national ID, or (protocol 4) its normalised Khmer name, phonetic
key or Latin name, each with the birth date and commune (``why``: national_id, name, phonetic, latin). The registry
never decides first-wins, because a device that read record IDs or national IDs somewhere could otherwise
register fake people first. The operator looks at both records (``export`` decrypts the registered one; the held
one is in the database, sealed) and decides:

- ``--same-as MEMBER``: the held record is the same member: it becomes a duplicate of that member number, and the
  held record's device is linked to the member (it sees it in its lookup from then on);
- ``--distinct``: another member: it is registered under a new member number, with its own member (version 1,
  lookup entry, match keys); its national ID is not indexed for matching again (it already belongs to the first
  member).

Either way the record leaves ``held`` with a new ``seq``, so the device sees the outcome in its status feed, and a
row in ``resolutions`` records who became what and when. Nothing here holds or logs personal data.
"""

from __future__ import annotations

import getpass
import json
import time

from fieldapp.base.encoding import wire_time
from fieldapp.outbound import wire
from registry import checks, logs, members
from registry.intake import member_format, registry_id_for
from registry.keys import RegistryKeys
from registry.sealed import open_stored
from registry.storage import Database, Tx


class ResolveError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def held_records(db: Database) -> list[dict]:
    """Every held record: device, record ID, the registry ID it matched and whose it is, why, since when."""
    rows = db.run(lambda tx: tx.execute(
        "SELECT r.device_id, r.record_id, r.match_id, p.device_id, r.received_at, r.match_why FROM records r "
        "LEFT JOIN people p ON p.registry_id = r.match_id WHERE r.state = 'held' ORDER BY r.received_at, r.record_id"),
        write=False)
    return [{"device_id": d, "record_id": rid, "matched_registry_id": match, "matched_member": match,
             "matched_device_id": first, "why": why or "national_id", "received_at": wire_time(at)}
            for d, rid, match, first, at, why in rows]


def find_held(db: Database, record_id: str) -> str:
    """The device of the held record ``record_id`` (``resolve ID``); ``unknown_record`` or ``ambiguous_record`` (two
    devices hold that record ID: give ``DEVICE_ID RECORD_ID``)."""
    rows = db.run(lambda tx: tx.execute("SELECT device_id, state FROM records WHERE record_id = ? ORDER BY device_id",
                                        (record_id,)), write=False)
    held = [d for d, state in rows if state == "held"]
    if len(held) > 1:
        raise ResolveError("ambiguous_record")
    if held:
        return held[0]
    if rows:
        return rows[0][0]  # resolve answers not_held
    raise ResolveError("unknown_record")


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment (a container)
        return "unknown"


def _clean_record(tx: Tx, keys: RegistryKeys, device_id: str, record_id: str) -> dict | None:
    """The held record's clean content, for its member (None if its stored item cannot be opened: none should)."""
    item = json.loads(tx.one("SELECT item FROM records WHERE device_id = ? AND record_id = ?", (device_id, record_id))[0])
    device = tx.one("SELECT public_key FROM devices WHERE device_id = ?", (device_id,))
    fp = (item.get("approval") or {}).get("key") if item.get("v") == wire.ITEM_V2 else None
    approval = tx.one("SELECT public_key FROM approval_keys WHERE device_id = ? AND fingerprint = ?", (device_id, fp))
    try:
        record = open_stored(item, keys, wire.b64d(device[0]), wire.b64d(approval[0]) if approval else None)
        return checks.check_record(record, item["enrolled_on"])[0]
    except (wire.WireError, KeyError, TypeError, ValueError):
        return None


def resolve(db: Database, device_id: str, record_id: str, *, same_as: str | None = None,
            keys: RegistryKeys | None = None) -> dict:
    """Decide one held record: a duplicate of ``same_as``, or (``same_as`` None) a new member (``keys`` needed to
    build it)."""
    operator = _operator()

    def work(tx: Tx) -> dict:
        row = tx.one("SELECT state, match_id, enrolled_on FROM records WHERE device_id = ? AND record_id = ?",
                     (device_id, record_id))
        if row is None:
            raise ResolveError("unknown_record")
        if row[0] != "held":
            raise ResolveError("not_held")
        seq, now = tx.next_seq(), time.time()
        if same_as is not None:
            if tx.one("SELECT 1 FROM people WHERE registry_id = ?", (same_as,)) is None:
                raise ResolveError("unknown_registry_id")
            registry_id, duplicate_of, outcome = same_as, same_as, "same_as"
            members.link(tx, device_id, same_as, republish=True)
        else:
            person = tx.one("INSERT INTO people (nid_hmac, device_id, record_id, created_at) VALUES (NULL, ?, ?, ?) "
                            "RETURNING id", (device_id, record_id, now))
            registry_id, duplicate_of, outcome = registry_id_for(int(person[0]), member_format(tx)), None, "distinct"
            tx.execute("UPDATE people SET registry_id = ? WHERE id = ?", (registry_id, person[0]))
            clean = _clean_record(tx, keys, device_id, record_id) if keys is not None else None
            if clean is not None:
                members.create(tx, keys, registry_id=registry_id, clean=clean, device_id=device_id,
                               record_id=record_id, enrolled_on=row[2], now=now)
        tx.execute("UPDATE records SET state = 'registered', registry_id = ?, duplicate_of = ?, seq = ?, updated_at = ? "
                   "WHERE device_id = ? AND record_id = ? AND state = 'held'",
                   (registry_id, duplicate_of, seq, now, device_id, record_id))
        tx.execute("INSERT INTO resolutions (device_id, record_id, outcome, registry_id, matched, at, operator) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", (device_id, record_id, outcome, registry_id, row[1], now, operator))
        return {"device_id": device_id, "record_id": record_id, "outcome": outcome, "registry_id": registry_id,
                "state": "registered", "operator": operator}

    out = db.run(work)
    logs.event("record_resolved", device_id=device_id, outcome=out["outcome"])
    return out
