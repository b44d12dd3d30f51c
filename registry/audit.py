"""Laptops' audit chain heads: kept per device, so a truncated or rewritten chain is noticed.

A version 2 batch carries the laptop's newest signed audit head (``proofs.sign_audit_head``: store ID, seq, chain
hash, signed by the approval key) or null. The registry checks it with the device's *current* approval key (a head
that does not verify is logged ``audit_head_invalid`` and ignored: it never refuses a batch) and keeps every head it
verified (``audit_heads``, one row per device, approval key and seq). The *kept* head is the one with the highest
seq; version 2 receipts name it (``{"seq", "hash"}``), so the laptop can compare it with its own chain: a kept seq
above the laptop's own, or another hash at the same seq, means its chain was cut or rewritten.

The registry raises an alert (``audit_alerts``, shown by ``fieldapp-registry devices``) when

- ``fork``: a head names a seq it already holds with another hash or store (logged ``audit_fork``);
- ``rollback``: a head signed later than the kept one (by the laptop's clock) names a lower seq (logged
  ``audit_rollback``): the chain went back, e.g. truncated or restored from an older backup.

An older head arriving late (a USB bundle, a retried batch) is normal and no alert: its ``signed_at`` is older.
Heads are tracked per approval key: a key replaced with an enrollment code starts a new series.
"""

from __future__ import annotations

import logging

from fieldapp.outbound import proofs, wire
from registry import logs
from registry.storage import Tx

ISO_Z = 20  # "YYYY-MM-DDTHH:MM:SSZ": the only form whose text order is time order


def verify_head(signed, approval, device_id: str) -> dict | None:
    """The head of a batch's ``audit_head`` when the device's current approval key signed it, else None."""
    if signed is None:
        return None
    if approval is None:
        logs.event("audit_head_invalid", logging.WARNING, device_id=device_id, reason="no_approval_key")
        return None
    try:
        return proofs.verify_audit_head(signed, approval.public)
    except wire.WireError as exc:
        logs.event("audit_head_invalid", logging.WARNING, device_id=device_id, reason=exc.reason)
        return None


def kept(tx: Tx, device_id: str, approval_key: str | None) -> dict | None:
    """``{"seq", "hash"}`` of the kept head (highest seq) for this device and approval key, or None."""
    if approval_key is None:
        return None
    row = tx.one("SELECT seq, hash FROM audit_heads WHERE device_id = ? AND approval_key = ? ORDER BY seq DESC LIMIT 1",
                 (device_id, approval_key))
    return {"seq": int(row[0]), "hash": row[1]} if row else None


def _later(a: str, b: str) -> bool:
    """True when wire timestamp ``a`` is after ``b`` (both in the wire's ``...Z`` form; else unknown: False)."""
    return len(a) == len(b) == ISO_Z and a.endswith("Z") and b.endswith("Z") and a > b


def _alert(tx: Tx, device_id: str, key: str, kind: str, seq: int, kept_hash: str, seen_hash: str, now: float) -> None:
    tx.execute("INSERT INTO audit_alerts (device_id, approval_key, kind, seq, kept_hash, seen_hash, at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, approval_key, kind, seq, seen_hash) DO NOTHING",
               (device_id, key, kind, seq, kept_hash, seen_hash, now))
    if tx.rowcount == 1:
        logs.event(f"audit_{kind}", logging.WARNING, device_id=device_id, seq=seq)


def keep(tx: Tx, device_id: str, approval_key: str, head: dict | None, now: float) -> dict | None:
    """Record a verified head (inside the batch transaction); return the kept head afterwards."""
    if head is None:
        return kept(tx, device_id, approval_key)
    seq, digest = int(head["seq"]), head["hash"]
    top = tx.one("SELECT seq, hash, signed_at FROM audit_heads WHERE device_id = ? AND approval_key = ? "
                 "ORDER BY seq DESC LIMIT 1", (device_id, approval_key))
    tx.execute("INSERT INTO audit_heads (device_id, approval_key, seq, hash, store_id, signed_at, received_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, approval_key, seq) DO NOTHING",
               (device_id, approval_key, seq, digest, head["store_id"], head["signed_at"], now))
    if tx.rowcount != 1:
        same = tx.one("SELECT hash, store_id FROM audit_heads WHERE device_id = ? AND approval_key = ? AND seq = ?",
                      (device_id, approval_key, seq))
        if same and (same[0], same[1]) != (digest, head["store_id"]):
            _alert(tx, device_id, approval_key, "fork", seq, same[0], digest, now)
    elif top is not None and seq < int(top[0]) and _later(head["signed_at"], top[2]):
        _alert(tx, device_id, approval_key, "rollback", seq, top[1], digest, now)
    return kept(tx, device_id, approval_key)
