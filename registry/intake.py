"""Batch intake: checks, per-record outcomes, one transaction per batch, signed receipts.

The CPU work (signature checks, decompression, decryption, validation) runs before the
transaction; the transaction then claims the idempotency key, stores every record and
rejection, and stores the signed receipt, all or nothing. A batch must come from the
device that signs it and holds the token: a body naming another device is refused (403
``device_mismatch``) and an item naming another device is rejected (``wrong_device``).

Records belong to their device: they are keyed by ``(device_id, record_id)``, so no device can claim another's
record IDs. Approval: a device with a registered approval key (``registry.approval``) gets nothing accepted
without a valid approval signature (version 1 items: ``approval_required``; version 2:
``bad_approval_signature``); a device without one keeps sending version 1 items (release 0.1.0 laptops) and has
version 2 items rejected (``no_approval_key``). A national ID first registered from *another* device is never
first-wins: the record is ``held`` for the operator (``fieldapp-registry duplicates``), and no answer names the
other device's registry ID.

Protocol 4 (docs/protocol.md section 15): a registered person becomes a member (``registry.members``); a new
enrollment that shares a name, phonetic or Latin match key with a member first registered from another device is
held too (``records.match_why``); an update item (``fieldapp.domain.update``) is applied by ``registry.updates``.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

from fieldapp.domain.update import is_update
from fieldapp.outbound import proofs, wire
from registry import approval as approvals, audit, checks, members, updates
from registry.config import Settings
from registry.errors import BatchRefused
from registry.keys import RegistryKeys
from registry.sealed import stored_form
from registry.storage import Busy, Database, Tx


class _Raced(Exception):
    """Another request stored this idempotency key first."""


class _KeyChanged(Exception):
    """The device's approval key was replaced between the checks and the transaction: check again."""


_WIRE_STATUS = {"batch_too_large": 413, "bad_compression": 400, "malformed": 400}
#: Rejections of items no supervisor approved: answered in the receipt, never remembered for status queries (an
#: item signed by the device key alone must not change what the registry says about a record).
UNAPPROVED = frozenset({"approval_required", "bad_approval_signature", "no_approval_key"})


@dataclass
class Prepared:
    """One item after the pre-transaction checks: rejected with a reason, or ready to store."""

    record_id: str | None
    reason: str | None = None
    problems: list = field(default_factory=list)
    item: dict | None = None
    nid_hmac: str | None = None
    content_mac: str | None = None
    clean: dict | None = None  # the validated record (in memory only): a new member's version 1, or an update
    hmacs: dict = field(default_factory=dict)  # keyed HMACs of its match keys (registry.members.hmacs)


#: The member number's default form: ``KH-REG-`` and the person's sequence number in 6 digits (``KH-REG-000001``).
#: An operator sets another with ``fieldapp-registry member-number --prefix P --digits N`` (kept in ``meta``; it
#: applies to numbers assigned from then on, by every process). docs/protocol.md section 14.
DEFAULT_PREFIX, DEFAULT_DIGITS = "KH-REG-", 6
PREFIX_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,15}$")


def member_format(tx: Tx) -> tuple[str, int]:
    rows = dict(tx.execute("SELECT key, value FROM meta WHERE key IN ('member_prefix', 'member_digits')"))
    prefix = rows.get("member_prefix", DEFAULT_PREFIX)
    digits = int(rows.get("member_digits", DEFAULT_DIGITS))
    return (prefix, digits) if PREFIX_RE.match(prefix) and 4 <= digits <= 12 else (DEFAULT_PREFIX, DEFAULT_DIGITS)


def registry_id_for(n: int, fmt: tuple[str, int] = (DEFAULT_PREFIX, DEFAULT_DIGITS)) -> str:
    """The member number of the ``n``-th person (a longer number than ``digits`` is written whole)."""
    return f"{fmt[0]}{n:0{fmt[1]}d}"


def _approval_problem(raw: dict, approval) -> str | None:
    if raw["v"] == wire.ITEM_V1:
        return None if approval is None else "approval_required"
    if approval is None:
        return "no_approval_key"
    try:
        wire.verify_approval(raw, approval.public)
    except wire.WireError:
        return "bad_approval_signature"
    return None


def prepare_item(raw, device_id: str, device_public: bytes, keys: RegistryKeys, approval=None) -> Prepared:
    """Verify, decrypt and validate one sealed item (no database access); ``approval`` is the device's current
    approval key (``approval.ApprovalKey``) or None."""
    rid = raw.get("record_id") if isinstance(raw, dict) else None
    rid = rid if isinstance(rid, str) and wire.ID_RE.match(rid) else None
    try:
        wire.check_item(raw)
    except wire.WireError as exc:
        return Prepared(rid, exc.reason)
    if raw["device_id"] != device_id:
        return Prepared(rid, "wrong_device")
    problem = _approval_problem(raw, approval)  # before decrypting: nothing unapproved costs a decryption
    if problem:
        return Prepared(rid, problem)
    try:  # a version 2 item is proven by the approval signature just checked; version 1 by the device's here
        record = wire.open_sealed(raw, seal_private=keys.seal_private, device_public=device_public)
    except wire.WireError as exc:
        return Prepared(rid, exc.reason)
    clean, problems = checks.check_record(record, raw["enrolled_on"])
    if clean is None:
        return Prepared(rid, "invalid_record", problems)
    if is_update(clean):
        return Prepared(rid, item=stored_form(raw, keys), content_mac=keys.content_mac(record), clean=clean)
    nid = checks.national_id(clean)
    return Prepared(rid, item=stored_form(raw, keys), nid_hmac=keys.nid_hmac(nid) if nid else None,
                    content_mac=keys.content_mac(record), clean=clean, hmacs=members.hmacs(keys, clean))


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
    for _attempt in range(3):
        key = approvals.current_key(db, device_id)
        prepared = [prepare_item(raw, device_id, device_public, keys, key) for raw in doc["items"]]
        head = audit.verify_head(doc.get("audit_head"), key, device_id) if doc["v"] >= wire.ITEM_V2 else None
        ctx = {"device_id": device_id, "key": idempotency_key, "sha": body_sha, "batch_id": doc["batch_id"],
               "v": doc["v"], "approval_key": key.fingerprint if key else None, "head": head}
        try:
            return db.run(lambda tx: _commit(tx, keys, settings, ctx, prepared))
        except _KeyChanged:
            continue
        except _Raced:
            stored = _stored(db, device_id, idempotency_key)
            if stored is None:  # pragma: no cover - the racing row vanished (retention cleanup)
                raise BatchRefused(409, "idempotency_key_reused", "retry later") from None
            return _replay(stored, body_sha)
    raise Busy("the approval key kept changing during intake")  # 503 busy: the laptop sends again


def _commit(tx: Tx, keys: RegistryKeys, settings: Settings, ctx: dict, prepared: list[Prepared]) -> dict:
    """The batch transaction: claim the key, store outcomes, keep the audit head, sign and store the receipt."""
    seq, now = tx.next_seq(), time.time()
    held_key = approvals.current(tx, ctx["device_id"])
    if (held_key.fingerprint if held_key else None) != ctx["approval_key"]:
        raise _KeyChanged()
    tx.execute("INSERT INTO batches (device_id, idempotency_key, body_sha256, batch_id, receipt, created_at, expires_at) "
               "VALUES (?, ?, ?, ?, '', ?, ?) ON CONFLICT (device_id, idempotency_key) DO NOTHING",
               (ctx["device_id"], ctx["key"], ctx["sha"], ctx["batch_id"], now, now + settings.receipt_retention_seconds))
    if tx.rowcount != 1:
        raise _Raced()
    state = "registered" if settings.register_delay <= 0 else "received"
    results = [_reject(tx, ctx, p, seq, now) if p.reason else _update(tx, keys, ctx, p, seq, now)
               if is_update(p.clean) else _store(tx, keys, ctx, p, seq, now, state) for p in prepared]
    receipt = {"v": ctx["v"], "batch_id": ctx["batch_id"], "batch_sha256": ctx["sha"],
               "device_id": ctx["device_id"], "idempotency_key": ctx["key"], "issued_at": wire.now_iso(),
               "results": results}
    if ctx["v"] >= wire.ITEM_V2:
        receipt["audit_head"] = (audit.keep(tx, ctx["device_id"], ctx["approval_key"], ctx["head"], now)
                                 if ctx["approval_key"] else None)
    envelope = proofs.sign_receipt(receipt, keys.sign_private)
    tx.execute("UPDATE batches SET receipt = ? WHERE device_id = ? AND idempotency_key = ?",
               (json.dumps(envelope, sort_keys=True), ctx["device_id"], ctx["key"]))
    return envelope


def _reject(tx: Tx, ctx: dict, p: Prepared, seq: int, now: float) -> dict:
    """Remember a rejection for status queries, unless this device's record is already held or no supervisor
    approved the item (``UNAPPROVED``)."""
    result = {"record_id": p.record_id, "status": "rejected", "reason": p.reason}
    if p.problems:
        result["problems"] = p.problems
    if p.record_id and p.reason not in UNAPPROVED and tx.one(
            "SELECT 1 FROM records WHERE device_id = ? AND record_id = ?", (ctx["device_id"], p.record_id)) is None:
        tx.execute("INSERT INTO rejections (device_id, record_id, reason, problems, seq, at) VALUES (?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (device_id, record_id) DO UPDATE SET reason = excluded.reason, "
                   "problems = excluded.problems, seq = excluded.seq, at = excluded.at",
                   (ctx["device_id"], p.record_id, p.reason, json.dumps(p.problems), seq, now))
    return result


def _held_result(ctx: dict, rid: str) -> dict:
    """A held record in a receipt: ``held`` for version 2 batches; release 0.1.0 laptops know only accepted,
    duplicate, rejected and conflict, so their version 1 receipts say ``accepted`` (no registry ID)."""
    return {"record_id": rid, "status": "held" if ctx["v"] >= wire.ITEM_V2 else "accepted"}


def _update(tx: Tx, keys: RegistryKeys, ctx: dict, p: Prepared, seq: int, now: float) -> dict:
    result, refused = updates.apply(tx, keys, device_id=ctx["device_id"], record_id=p.record_id, update=p.clean,
                                    item=p.item, batch_id=ctx["batch_id"], content_mac=p.content_mac, seq=seq, now=now)
    if refused:
        return _reject(tx, ctx, Prepared(p.record_id, refused[0], refused[1]), seq, now)
    return result


def _by_national_id(tx: Tx, ctx: dict, p: Prepared) -> dict | None:
    """The outcome when the national ID is already a person's: held (another device's) or duplicate; else None."""
    dev, rid = ctx["device_id"], p.record_id
    found = tx.one("SELECT registry_id, device_id FROM people WHERE nid_hmac = ?", (p.nid_hmac,)) if p.nid_hmac else None
    if found is None:
        return None
    registry_id, first_device = found
    if first_device != dev:  # another device registered this national ID first: held, never first-wins
        tx.execute("UPDATE records SET state = 'held', match_id = ?, match_why = 'national_id' WHERE device_id = ? "
                   "AND record_id = ?", (registry_id, dev, rid))
        return _held_result(ctx, rid)
    tx.execute("UPDATE records SET registry_id = ?, duplicate_of = ? WHERE device_id = ? AND record_id = ?",
               (registry_id, registry_id, dev, rid))
    return {"record_id": rid, "status": "duplicate", "registry_id": registry_id}


def _store(tx: Tx, keys: RegistryKeys, ctx: dict, p: Prepared, seq: int, now: float, state: str) -> dict:
    """Store one valid record: accepted (new person and member), duplicate, conflict or held."""
    dev, rid = ctx["device_id"], p.record_id
    row = tx.one("INSERT INTO records (device_id, record_id, batch_id, content_mac, item_version, enrolled_on, state, "
                 "received_at, updated_at, seq, item) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                 "ON CONFLICT (device_id, record_id) DO NOTHING RETURNING record_id",
                 (dev, rid, ctx["batch_id"], p.content_mac, p.item["v"], p.item["enrolled_on"], state, now, now, seq,
                  wire.canonical_json(p.item).decode("utf-8")))
    if row is None:
        mac, registry_id, held_state = tx.one("SELECT content_mac, registry_id, state FROM records "
                                              "WHERE device_id = ? AND record_id = ?", (dev, rid))
        if mac is None or mac != p.content_mac:
            return _with_id({"record_id": rid, "status": "conflict"}, registry_id)
        if held_state == "held":
            return _held_result(ctx, rid)
        return _with_id({"record_id": rid, "status": "duplicate"}, registry_id)
    tx.execute("DELETE FROM rejections WHERE device_id = ? AND record_id = ?", (dev, rid))
    known = _by_national_id(tx, ctx, p)
    if known is not None:
        return known
    hold = members.find_hold(tx, p.hmacs, dev)  # the same person enrolled at another office, without the ID
    if hold is not None:
        tx.execute("UPDATE records SET state = 'held', match_id = ?, match_why = ? WHERE device_id = ? AND record_id = ?",
                   (hold[0], hold[1], dev, rid))
        return _held_result(ctx, rid)
    person = tx.one("INSERT INTO people (nid_hmac, device_id, record_id, created_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (nid_hmac) DO NOTHING RETURNING id", (p.nid_hmac, dev, rid, now))
    if person is None:  # pragma: no cover - batches are serialised by the seq row lock; kept as a safety net
        return _by_national_id(tx, ctx, p)
    registry_id = registry_id_for(int(person[0]), member_format(tx))
    tx.execute("UPDATE people SET registry_id = ? WHERE id = ?", (registry_id, person[0]))
    tx.execute("UPDATE records SET registry_id = ? WHERE device_id = ? AND record_id = ?", (registry_id, dev, rid))
    members.create(tx, keys, registry_id=registry_id, clean=p.clean, device_id=dev, record_id=rid,
                   enrolled_on=p.item["enrolled_on"], now=now)
    return {"record_id": rid, "status": "accepted", "registry_id": registry_id}


def _with_id(result: dict, registry_id: str | None) -> dict:
    if registry_id:
        result["registry_id"] = registry_id
    return result
