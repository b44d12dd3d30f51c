"""Batch intake: checks, per-record outcomes, one transaction per batch, signed receipts.

The CPU work (signature checks, decompression, decryption, validation) runs before the
transaction; the transaction then claims the idempotency key, stores every record and
rejection, and stores the signed receipt, all or nothing. A batch must come from the
device that signs it and holds the token: a body naming another device is refused (403
``device_mismatch``) and an item naming another device is rejected (``wrong_device``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from fieldapp.outbound import wire
from registry import checks
from registry.config import Settings
from registry.errors import BatchRefused
from registry.keys import RegistryKeys
from registry.storage import Database, Tx


class _Raced(Exception):
    """Another request stored this idempotency key first."""


_WIRE_STATUS = {"batch_too_large": 413, "bad_compression": 400, "malformed": 400}


@dataclass
class Prepared:
    """One item after the pre-transaction checks: rejected with a reason, or ready to store."""

    record_id: str | None
    reason: str | None = None
    problems: list = field(default_factory=list)
    item: dict | None = None
    nid_hmac: str | None = None


def registry_id_for(n: int) -> str:
    return f"KH-REG-{n:06d}"


def prepare_item(raw, device_id: str, device_public: bytes, keys: RegistryKeys) -> Prepared:
    """Verify, decrypt and validate one sealed item (no database access)."""
    rid = raw.get("record_id") if isinstance(raw, dict) else None
    rid = rid if isinstance(rid, str) and wire.ID_RE.match(rid) else None
    try:
        wire.check_item(raw)
    except wire.WireError as exc:
        return Prepared(rid, exc.reason)
    if raw["device_id"] != device_id:
        return Prepared(rid, "wrong_device")
    try:
        record = wire.open_sealed(raw, seal_private=keys.seal_private, device_public=device_public)
    except wire.WireError as exc:
        return Prepared(rid, exc.reason)
    clean, problems = checks.check_record(record, raw["enrolled_on"])
    if clean is None:
        return Prepared(rid, "invalid_record", problems)
    nid = checks.national_id(clean)
    return Prepared(rid, item=raw, nid_hmac=keys.nid_hmac(nid) if nid else None)


def _stored(db: Database, device_id: str, key: str) -> tuple[str, dict] | None:
    row = db.run(lambda tx: tx.one("SELECT body_sha256, receipt FROM batches WHERE device_id = ? AND idempotency_key = ?",
                                   (device_id, key)), write=False)
    return (row[0], json.loads(row[1])) if row else None


def _replay(stored: tuple[str, dict], body_sha: str) -> dict:
    if stored[0] != body_sha:
        raise BatchRefused(409, "idempotency_key_reused", "this Idempotency-Key was used with another body")
    return stored[1]


def process_batch(db: Database, keys: RegistryKeys, settings: Settings, *, device_id: str, device_public: bytes,
                  body: bytes, idempotency_key, signature) -> dict:
    """Take one batch; return the signed receipt envelope (replayed if already taken)."""
    if not isinstance(idempotency_key, str) or not wire.KEY_RE.match(idempotency_key):
        raise BatchRefused(400, "bad_idempotency_key", "Idempotency-Key must be 1-200 visible ASCII characters")
    if len(body) > settings.max_batch_bytes:
        raise BatchRefused(413, "batch_too_large", "compressed body too large")
    try:
        wire.verify_batch_signature(body, idempotency_key=idempotency_key, signature=signature,
                                    device_public=device_public)
    except wire.WireError:
        raise BatchRefused(400, "bad_batch_signature", "X-Batch-Signature does not verify") from None
    body_sha = wire.sha256_hex(body)
    stored = _stored(db, device_id, idempotency_key)
    if stored:
        return _replay(stored, body_sha)
    try:
        doc = wire.parse_batch(body, max_decompressed=settings.max_batch_decompressed, max_items=settings.max_batch_items)
    except wire.WireError as exc:
        raise BatchRefused(_WIRE_STATUS.get(exc.reason, 400), exc.reason, exc.detail) from None
    if doc["device_id"] != device_id:
        raise BatchRefused(403, "device_mismatch", "the batch names another device")
    prepared = [prepare_item(raw, device_id, device_public, keys) for raw in doc["items"]]
    ctx = {"device_id": device_id, "key": idempotency_key, "sha": body_sha, "batch_id": doc["batch_id"]}
    try:
        return db.run(lambda tx: _commit(tx, keys, settings, ctx, prepared))
    except _Raced:
        stored = _stored(db, device_id, idempotency_key)
        if stored is None:  # pragma: no cover - the racing row vanished (retention cleanup)
            raise BatchRefused(409, "idempotency_key_reused", "retry later") from None
        return _replay(stored, body_sha)


def _commit(tx: Tx, keys: RegistryKeys, settings: Settings, ctx: dict, prepared: list[Prepared]) -> dict:
    """The batch transaction: claim the key, store outcomes, sign and store the receipt."""
    seq, now = tx.next_seq(), time.time()
    tx.execute("INSERT INTO batches (device_id, idempotency_key, body_sha256, batch_id, receipt, created_at, expires_at) "
               "VALUES (?, ?, ?, ?, '', ?, ?) ON CONFLICT (device_id, idempotency_key) DO NOTHING",
               (ctx["device_id"], ctx["key"], ctx["sha"], ctx["batch_id"], now, now + settings.receipt_retention_seconds))
    if tx.rowcount != 1:
        raise _Raced()
    state = "registered" if settings.register_delay <= 0 else "received"
    results = [_reject(tx, ctx, p, seq, now) if p.reason else _store(tx, ctx, p, seq, now, state) for p in prepared]
    receipt = {"v": wire.WIRE_VERSION, "batch_id": ctx["batch_id"], "batch_sha256": ctx["sha"],
               "device_id": ctx["device_id"], "idempotency_key": ctx["key"], "issued_at": wire.now_iso(),
               "results": results}
    envelope = wire.sign_receipt(receipt, keys.sign_private)
    tx.execute("UPDATE batches SET receipt = ? WHERE device_id = ? AND idempotency_key = ?",
               (json.dumps(envelope, sort_keys=True), ctx["device_id"], ctx["key"]))
    return envelope


def _reject(tx: Tx, ctx: dict, p: Prepared, seq: int, now: float) -> dict:
    """Remember a rejection for status queries, unless this device's record is already held."""
    result = {"record_id": p.record_id, "status": "rejected", "reason": p.reason}
    if p.problems:
        result["problems"] = p.problems
    if p.record_id and tx.one("SELECT 1 FROM records WHERE record_id = ? AND device_id = ?",
                              (p.record_id, ctx["device_id"])) is None:
        tx.execute("INSERT INTO rejections (device_id, record_id, reason, problems, seq, at) VALUES (?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (device_id, record_id) DO UPDATE SET reason = excluded.reason, "
                   "problems = excluded.problems, seq = excluded.seq, at = excluded.at",
                   (ctx["device_id"], p.record_id, p.reason, json.dumps(p.problems), seq, now))
    return result


def _store(tx: Tx, ctx: dict, p: Prepared, seq: int, now: float, state: str) -> dict:
    """Store one valid record: accepted (new person), duplicate, or conflict."""
    item, rid = p.item, p.record_id
    row = tx.one("INSERT INTO records (record_id, device_id, batch_id, content_hash, enrolled_on, state, received_at, "
                 "updated_at, seq, item) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (record_id) DO NOTHING "
                 "RETURNING record_id",
                 (rid, ctx["device_id"], ctx["batch_id"], item["content_hash"], item["enrolled_on"], state, now, now,
                  seq, wire.canonical_json(item).decode("utf-8")))
    if row is None:
        held = tx.one("SELECT content_hash, registry_id FROM records WHERE record_id = ?", (rid,))
        status = "duplicate" if held[0] == item["content_hash"] else "conflict"
        return {"record_id": rid, "status": status, "registry_id": held[1]}
    tx.execute("DELETE FROM rejections WHERE device_id = ? AND record_id = ?", (ctx["device_id"], rid))
    person = tx.one("INSERT INTO people (nid_hmac, record_id, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (nid_hmac) DO NOTHING RETURNING id", (p.nid_hmac, rid, now))
    if person is None:
        registry_id, first = tx.one("SELECT registry_id, record_id FROM people WHERE nid_hmac = ?", (p.nid_hmac,))
        tx.execute("UPDATE records SET registry_id = ?, duplicate_of = ? WHERE record_id = ?", (registry_id, first, rid))
        return {"record_id": rid, "status": "duplicate", "registry_id": registry_id}
    registry_id = registry_id_for(int(person[0]))
    tx.execute("UPDATE people SET registry_id = ? WHERE id = ?", (registry_id, person[0]))
    tx.execute("UPDATE records SET registry_id = ? WHERE record_id = ?", (registry_id, rid))
    return {"record_id": rid, "status": "accepted", "registry_id": registry_id}
