"""Update items (protocol 4): a registered member's change request, applied at intake in order, exactly once.

The sealed item is an ordinary one (item version 2, approval signature); the record inside is an update document
(``fieldapp.domain.update``), already shape-checked by ``registry.checks``. Here, in the batch transaction:

- a resend (the same ``(device_id, record_id)``) is ``duplicate`` with the version it made (``conflict`` if its
  content differs): an update is applied exactly once;
- the member must exist (``unknown_member``), be in the device's scope (``not_in_area``: its commune in the device's
  area, or the device has a record of it), and its current version must be the update's ``base_version``
  (``stale_version``); the update must apply (``invalid_record`` with problem codes otherwise);
- applied: compare-and-set of the member's version (``registry.members.put_version``: of two processes applying
  updates to one version, one wins and the other's is ``stale_version``), the new version kept in
  ``member_versions``, the lookup entry, card signature and match keys rebuilt, the record stored ``registered``
  with the member number and the new version (whatever the registration delay: the member changed at once).

Nothing here logs personal data.
"""

from __future__ import annotations

from datetime import date

from fieldapp.domain.update import apply_update
from fieldapp.outbound import wire
from registry import members
from registry.keys import RegistryKeys

REASONS = ("unknown_member", "not_in_area", "stale_version")


def _safe(problems) -> list[dict]:
    return [{"path": str(getattr(p, "path", ""))[:200], "code": str(getattr(p, "code", ""))[:100]} for p in problems]


def apply(tx, keys: RegistryKeys, *, device_id: str, record_id: str, update: dict, item: dict, batch_id: str,
          content_mac: str, seq: int, now: float) -> tuple[dict | None, tuple[str, list] | None]:
    """``(result, None)`` for a receipt result (accepted, duplicate or conflict), or ``(None, (reason, problems))``
    for a rejection the caller stores (``intake._reject``)."""
    row = tx.one("SELECT content_mac, registry_id, member_version, state FROM records WHERE device_id = ? AND "
                 "record_id = ?", (device_id, record_id))
    if row is not None:
        out = {"record_id": record_id, "status": "duplicate" if row[0] == content_mac else "conflict"}
        if row[1]:
            out["registry_id"] = row[1]
        if row[2] is not None and out["status"] == "duplicate":
            out["version"] = int(row[2])
        return out, None
    member_no = update["member_no"]
    try:
        base = members.current(tx, keys, member_no)
    except wire.WireError:
        base = None
    if base is None:
        return None, ("unknown_member", [])
    if not members.in_scope(tx, device_id, member_no, base["commune"]):
        return None, ("not_in_area", [])
    if base["version"] != update["base_version"]:
        return None, ("stale_version", [])
    try:
        today = date.fromisoformat(item["enrolled_on"])
    except (KeyError, TypeError, ValueError):
        today = None
    new, problems = apply_update(base["record"], update, today=today)
    if new is None:
        return None, ("invalid_record", _safe(problems) or [{"path": "", "code": "validation.invalid"}])
    version = members.put_version(tx, keys, registry_id=member_no, base=base, clean=new, device_id=device_id,
                                  record_id=record_id, now=now)
    if version is None:
        return None, ("stale_version", [])
    tx.execute("DELETE FROM rejections WHERE device_id = ? AND record_id = ?", (device_id, record_id))
    tx.execute("INSERT INTO records (device_id, record_id, batch_id, content_mac, item_version, enrolled_on, state, "
               "registry_id, member_version, received_at, updated_at, seq, item) "
               "VALUES (?, ?, ?, ?, ?, ?, 'registered', ?, ?, ?, ?, ?, ?)",
               (device_id, record_id, batch_id, content_mac, item["v"], item["enrolled_on"], member_no, version, now,
                now, seq, wire.canonical_json(item).decode("utf-8")))
    return {"record_id": record_id, "status": "accepted", "registry_id": member_no, "version": version}, None
