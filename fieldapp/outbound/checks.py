"""``fieldapp verify``'s checks of what crossed to the registry (``store.verify`` checks the store itself).

- Every sealed record still waiting to go (queued or set aside) that this release sealed (version 2) carries an
  approval signature that verifies with the store's approval key: an approved record nobody with the key approved
  is found here. (Records already delivered were approved under the key of their day, which the registry checked.)
- The registry keeps the newest audit head each laptop reported and names it in its signed receipts: the local
  chain must still hold that head. Deleting audit rows that a batch already reported, even together with the
  store's own signed head, is found here.
"""

from __future__ import annotations

import json

from fieldapp.base.paths import DataDir
from fieldapp.domain.states import State
from fieldapp.outbound import identity, proofs, wire
from fieldapp.outbound.spool import Spool
from fieldapp.store import approval


def outbox_problems(session) -> list[tuple[str, dict]]:
    pub = approval.public_key(session.conn)
    if pub is None:
        return []
    bad = 0
    waiting = (State.QUEUED.value, State.QUARANTINED.value)
    for (text,) in session.conn.execute("SELECT o.sealed FROM outbox o JOIN records r ON r.id = o.record_id"
                                        " WHERE r.state IN (?, ?)", waiting):
        try:
            item = json.loads(text)
            if item.get("v") == wire.ITEM_V2:
                wire.verify_approval(item, pub)
        except (ValueError, TypeError, AttributeError, wire.WireError):
            bad += 1
    return [("core.verify.unapproved", {"count": bad})] if bad else []


def acknowledged_head(session) -> dict | None:
    """The newest audit head the registry acknowledged for this laptop (``{"seq", "hash"}`` from a receipt that
    verifies with the store's registry key), or None."""
    dev = identity.trusted_device(session)
    if dev is None or not DataDir(session.store.data_dir).spool.exists():
        return None
    best = None
    with Spool(session.store.data_dir) as spool:
        texts = spool.receipts(200)
    for text in texts:
        try:
            inner = proofs.verify_receipt(json.loads(text), registry_sign_public=dev.sign_public_raw, batch_sha256=None)
        except (ValueError, TypeError, wire.WireError):
            continue
        head = inner.get("audit_head")
        if (inner.get("device_id") == dev.device_id and isinstance(head, dict) and type(head.get("seq")) is int
                and isinstance(head.get("hash"), str) and (best is None or head["seq"] > best["seq"])):
            best = {"seq": head["seq"], "hash": head["hash"]}
    return best


def audit_problems(session) -> list[tuple[str, dict]]:
    head = acknowledged_head(session)
    if head is None:
        return []
    row = session.conn.execute("SELECT hash FROM audit WHERE seq = ?", (head["seq"],)).fetchone()
    if row is None or row[0] != head["hash"]:
        return [("core.verify.audit_behind_registry", {"seq": head["seq"]})]
    return []


def problems(session) -> list[tuple[str, dict]]:
    return outbox_problems(session) + audit_problems(session)
