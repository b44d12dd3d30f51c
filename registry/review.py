"""The operator's review of held records: ``fieldapp-registry duplicates`` and ``fieldapp-registry resolve``.

A record is *held* when its national ID (its keyed HMAC) was first registered from another device: the registry
never decides first-wins, because a device that read record IDs or national IDs somewhere could otherwise
register fake people first. The operator looks at both records (``export`` decrypts the registered one; the held
one is in the database, sealed) and decides:

- ``--same-as REGISTRY_ID``: the held record is the same member: it becomes a duplicate of that registry ID;
- ``--distinct``: another member: it is registered under a new registry ID (its national ID is not indexed for
  matching again: the ID already belongs to the first member).

Either way the record leaves ``held`` with a new ``seq``, so the device sees the outcome in its status feed, and a
row in ``resolutions`` records who became what and when. Nothing here holds or logs personal data.
"""

from __future__ import annotations

import time

from fieldapp.base.encoding import wire_time
from registry import logs
from registry.intake import member_format, registry_id_for
from registry.storage import Database, Tx

WHY = "national_id_first_registered_by_another_device"


class ResolveError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def held_records(db: Database) -> list[dict]:
    """Every held record: device, record ID, the registry ID it matched and whose it is, why, since when."""
    rows = db.run(lambda tx: tx.execute(
        "SELECT r.device_id, r.record_id, r.match_id, p.device_id, r.received_at FROM records r "
        "LEFT JOIN people p ON p.registry_id = r.match_id WHERE r.state = 'held' ORDER BY r.received_at, r.record_id"),
        write=False)
    return [{"device_id": d, "record_id": rid, "matched_registry_id": match, "matched_device_id": first,
             "why": WHY, "received_at": wire_time(at)} for d, rid, match, first, at in rows]


def resolve(db: Database, device_id: str, record_id: str, *, same_as: str | None = None) -> dict:
    """Decide one held record: a duplicate of ``same_as``, or (``same_as`` None) a new member."""

    def work(tx: Tx) -> dict:
        row = tx.one("SELECT state, match_id FROM records WHERE device_id = ? AND record_id = ?", (device_id, record_id))
        if row is None:
            raise ResolveError("unknown_record")
        if row[0] != "held":
            raise ResolveError("not_held")
        seq, now = tx.next_seq(), time.time()
        if same_as is not None:
            if tx.one("SELECT 1 FROM people WHERE registry_id = ?", (same_as,)) is None:
                raise ResolveError("unknown_registry_id")
            registry_id, duplicate_of, outcome = same_as, same_as, "same_as"
        else:
            person = tx.one("INSERT INTO people (nid_hmac, device_id, record_id, created_at) VALUES (NULL, ?, ?, ?) "
                            "RETURNING id", (device_id, record_id, now))
            registry_id, duplicate_of, outcome = registry_id_for(int(person[0]), member_format(tx)), None, "distinct"
            tx.execute("UPDATE people SET registry_id = ? WHERE id = ?", (registry_id, person[0]))
        tx.execute("UPDATE records SET state = 'registered', registry_id = ?, duplicate_of = ?, seq = ?, updated_at = ? "
                   "WHERE device_id = ? AND record_id = ? AND state = 'held'",
                   (registry_id, duplicate_of, seq, now, device_id, record_id))
        tx.execute("INSERT INTO resolutions (device_id, record_id, outcome, registry_id, matched, at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (device_id, record_id, outcome, registry_id, row[1], now))
        return {"device_id": device_id, "record_id": record_id, "outcome": outcome, "registry_id": registry_id,
                "state": "registered"}

    out = db.run(work)
    logs.event("record_resolved", device_id=device_id, outcome=out["outcome"])
    return out
