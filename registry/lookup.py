"""``GET /v1/lookup`` (protocol 4): a device's page of the registered members of its area, signed by the registry.

The scope of a device: every member whose commune is in the device's area (``registry.areas``) and every member
the device has a record of (``device_members``: registered from it, updated from it, or a held record of it resolved
``--same-as``). Each change of a member gives it a new member seq (``registry.members``); a page holds the current
lookup entries of the members in scope changed after ``since``, in member seq order, at most ``limit``, and in
``removed`` the member numbers that left the scope after ``since`` (moved to a village outside the area).
``since`` 0, or an ``area`` other than the device's current ``area_id``, starts over: ``reset`` true, from the start.
``cursor`` is the ``since`` of the next call; ``more`` says another page waits. The page is signed with
``fieldapp.outbound.proofs.sign_lookup``. Logs hold counts, never personal data.
"""

from __future__ import annotations

import logging

from fieldapp.outbound import proofs, wire
from registry import areas, logs
from registry.keys import RegistryKeys

FORMAT, VERSION = proofs.LOOKUP_FORMAT, 1
DEFAULT_LIMIT, MAX_LIMIT = 5000, 10000

_SCOPE = ("SELECT m.registry_id, m.version, m.seq, m.entry_enc FROM members m JOIN device_areas a "
          "ON a.commune = m.commune AND a.device_id = ? WHERE m.seq > ? "
          "UNION SELECT m.registry_id, m.version, m.seq, m.entry_enc FROM members m JOIN device_members d "
          "ON d.registry_id = m.registry_id AND d.device_id = ? WHERE m.seq > ? ORDER BY 3 LIMIT ?")
_REMOVED = ("SELECT f.registry_id, MAX(f.seq) FROM member_feed f JOIN device_areas a ON a.commune = f.commune "
            "AND a.device_id = ? JOIN members m ON m.registry_id = f.registry_id WHERE f.seq > ? AND f.seq <= ? "
            "AND NOT EXISTS (SELECT 1 FROM device_areas a2 WHERE a2.device_id = ? AND a2.commune = m.commune) "
            "AND NOT EXISTS (SELECT 1 FROM device_members d WHERE d.device_id = ? AND d.registry_id = f.registry_id) "
            "GROUP BY f.registry_id ORDER BY 2, 1")
_TOP = 2 ** 62


def page(db, keys: RegistryKeys, device_id: str, since: int, area: str | None, limit: int = DEFAULT_LIMIT) -> dict:
    """The page (unsigned) for ``device_id``; ``area`` is the ``area_id`` the device holds (or None)."""
    limit = max(1, min(int(limit), MAX_LIMIT))

    def work(tx) -> dict:
        communes = areas.get(tx, device_id)
        aid = areas.area_id(communes)
        reset = since == 0 or area != aid
        start = 0 if reset else since
        rows = tx.execute(_SCOPE, (device_id, start, device_id, start, limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        end = int(rows[-1][2]) if more else _TOP
        removed = [] if reset else tx.execute(_REMOVED, (device_id, start, end, device_id, device_id))
        cursor = max([start] + [int(r[2]) for r in rows] + [int(r[1]) for r in removed])
        return {"communes": communes, "area_id": aid, "reset": reset, "start": start, "rows": rows, "more": more,
                "removed": [r[0] for r in removed], "cursor": cursor}

    got = db.run(work, write=False)
    entries, bad = [], 0
    for registry_id, version, _seq, enc in got["rows"]:
        try:
            entries.append(keys.open_entry(enc, f"entry:{registry_id}:{int(version)}"))
        except wire.WireError:
            bad += 1
    if bad:
        logs.event("lookup_entry_unreadable", logging.ERROR, device_id=device_id, count=bad)
    return {"format": FORMAT, "v": VERSION, "device_id": device_id, "area": got["communes"], "area_id": got["area_id"],
            "since": got["start"], "cursor": got["cursor"], "reset": got["reset"], "more": got["more"],
            "members": entries, "removed": got["removed"], "issued_at": wire.now_iso()}


def signed_page(db, keys: RegistryKeys, device_id: str, since: int, area: str | None, limit: int) -> bytes:
    """The signed page as the body of the answer: canonical JSON of ``proofs.sign_lookup``'s envelope."""
    doc = page(db, keys, device_id, since, area, limit)
    logs.event("lookup_page", device_id=device_id, members=len(doc["members"]), removed=len(doc["removed"]),
               reset=doc["reset"], more=doc["more"])
    return proofs.signed_lookup_bytes(doc, keys.sign_private)
