"""The transactional outbox between the encrypted store and the sync spool.

On approval, when the device is registered, the record is sealed to the registry's public key *as the store holds
it* (``identity.trusted_device``), signed by the supervisor's approval key and by the device key, and written into
the store's ``outbox`` table in the same transaction that approves it; the record moves on to ``queued``. After the
commit the sealed item is *published* to the spool (``spool.db``), which the sync engine reads without anybody's
password. Publishing is idempotent by record ID; anything not yet published (a crash between commit and publish)
is published at the next unlock.

What the sync engine reached (synced, registered, registry_rejected, quarantined) is pulled back into the records
at every unlock, but only with proof (``pull_states``): a receipt or a status answer that verifies with the
registry signing key the store holds and names the record. spool.db is a plain file anyone can edit: an item it
claims delivered without such proof is put back in the queue and sent again (the registry answers ``duplicate``
for what it already holds), so nothing is marked delivered that was not, and nothing is lost.
"""

from __future__ import annotations

import json
import logging

from fieldapp.base.errors import PermissionDenied
from fieldapp.domain import states
from fieldapp.domain.reasons import known_reason
from fieldapp.domain.states import PULLABLE, State
from fieldapp.outbound import identity, proofs, wire
from fieldapp.outbound.spool import Spool
from fieldapp.base.paths import DataDir
from fieldapp.store import trusted
from fieldapp.store.audit import now_iso
from fieldapp.store.database import Session
from fieldapp.store.search import member_terms

log = logging.getLogger(__name__)
SYNC_STATES = states.SEALED


def _device(session: Session):
    return identity.trusted_device(session)


def seal(session: Session, dev, record_id: str, clean: dict, submitted_at: str | None) -> dict:
    """``clean`` sealed (item version 2) by this supervisor's approval key for ``dev``'s registry."""
    if session.approval_key is None:
        raise PermissionDenied("core.auth.no_approval_key")
    return wire.seal_record(clean, record_id=record_id, device_id=dev.device_id,
                            enrolled_on=(submitted_at or now_iso())[:10], seal_public=dev.seal_public_raw,
                            device_private=dev.private_raw, approval_private=session.approval_key)


def enqueue_in_transaction(session: Session, tx, record_id: str, clean: dict, submitted_at: str | None) -> bool:
    """Seal ``clean`` into the outbox inside the caller's transaction. False when no device is registered."""
    dev = _device(session)
    if dev is None:
        return False
    sealed = seal(session, dev, record_id, clean, submitted_at)
    tx.execute("INSERT OR IGNORE INTO outbox (record_id, sealed, created_at) VALUES (?, ?, ?)",
               (record_id, json.dumps(sealed, sort_keys=True), now_iso()))
    state = states.require("seal", State.APPROVED, State.QUEUED)
    tx.execute("UPDATE records SET state = ?, updated_at = ? WHERE id = ?", (state, now_iso(), record_id))
    session.audit.append(session.name, "record.queued", record_id, State.APPROVED.value, state)
    return True


def enqueue_approved(session: Session) -> int:
    """Supervisor only: seal every approved record that is not queued yet (approved before registration)."""
    session.require_supervisor()
    if _device(session) is None:
        return 0
    rows = session.conn.execute("SELECT id, data, submitted_at FROM records WHERE state = ? ORDER BY id",
                                (State.APPROVED.value,)).fetchall()
    if rows:
        with session.write() as tx:
            for record_id, data, submitted_at in rows:
                enqueue_in_transaction(session, tx, record_id, json.loads(data), submitted_at)
    publish(session)
    return len(rows)


def reseal_legacy(session: Session) -> int:
    """Supervisor only (every supervisor unlock): seal again the records still waiting to go whose outbox copy is
    not approved by the store's current approval key: release 0.1.0's version 1 items after the upgrade (a registry
    that knows this device's approval key refuses version 1), or items approved under a key since rotated. The
    spool gets the new copies; frozen batches holding old ones are abandoned."""
    dev = _device(session)
    if session.approval_key is None or dev is None:
        return 0
    current = wire.key_fingerprint(wire.ed25519_public(session.approval_key))
    rows = session.conn.execute(
        "SELECT r.id, r.data, r.submitted_at, o.sealed FROM records r JOIN outbox o ON o.record_id = r.id"
        " WHERE r.state IN (?, ?)", (State.QUEUED.value, State.QUARANTINED.value)).fetchall()
    fresh = {rid: seal(session, dev, rid, json.loads(data), sub) for rid, data, sub, sealed in rows
             if (json.loads(sealed).get("approval") or {}).get("key") != current}
    if not fresh:
        return 0
    with session.write() as tx:
        tx.executemany("UPDATE outbox SET sealed = ?, published_at = NULL WHERE record_id = ?",
                       [(json.dumps(item, sort_keys=True), rid) for rid, item in fresh.items()])
        session.audit.append(session.name, "sync.resealed", reason=str(len(fresh)))
    with Spool(session.store.data_dir) as spool:
        spool.replace_sealed(fresh)
    return len(fresh)


def register_rotated_key(session: Session, code: str) -> None:
    """After ``approval.rotate``: seal the waiting records again under the new key, and have the engine register it
    with the registry, with IT's one-time ``code`` (the registry accepts a different key only with one)."""
    reseal_legacy(session)
    with Spool(session.store.data_dir) as spool:
        spool.set_meta("approval_key_registration", None)
        spool.set_meta_many(_meta_for(session, spool, code=code))


def _meta_for(session: Session, spool: Spool, code: str | None = None) -> dict:
    """What the engine sends besides records, where the spool lacks it: the newest signed audit head, and the
    approval key to register."""
    out = {}
    head = trusted.get(session.conn, "audit.head")
    if head and spool.get_meta("audit_head") != json.loads(head):
        out["audit_head"] = json.loads(head)
    dev, pub = _device(session), trusted.get(session.conn, "approval.public_key")
    if dev is None or pub is None or session.approval_key is None:
        return out
    fp = wire.key_fingerprint(wire.b64d(pub))
    pending = spool.get_meta("approval_key_registration")
    if not isinstance(pending, dict) or pending.get("fingerprint") != fp:
        registration = dict(proofs.approval_key_proof(dev.device_public_key, session.approval_key), fingerprint=fp)
        if code:
            registration["code"] = code
        out["approval_key_registration"] = registration
    return out


def publish(session: Session) -> int:
    """Copy unpublished sealed items to the spool (with what the engine sends besides them, in the same spool
    transaction), then mark them published. Returns how many."""
    rows = session.conn.execute("SELECT record_id, sealed FROM outbox WHERE published_at IS NULL").fetchall()
    if not rows:
        if DataDir(session.store.data_dir).spool.exists():
            with Spool(session.store.data_dir) as spool:
                spool.set_meta_many(_meta_for(session, spool))
        return 0
    with Spool(session.store.data_dir) as spool:
        spool.add([{"record_id": rid, "sealed": json.loads(sealed)} for rid, sealed in rows], _meta_for(session, spool))
    with session.write() as tx:
        tx.executemany("UPDATE outbox SET published_at = ? WHERE record_id = ?", [(now_iso(), rid) for rid, _ in rows])
    return len(rows)


def _verified(cache: dict, kind: str, text, dev):
    """A stored receipt or status answer, parsed and verified once per pull (a batch's receipt names up to hundreds of
    records); None when it does not verify with the store's registry key for this device."""
    if not text:
        return None
    if (kind, text) not in cache:
        try:
            doc = json.loads(text)
            if kind == "receipt":
                inner = proofs.verify_receipt(doc, registry_sign_public=dev.sign_public_raw, batch_sha256=None)
                found = inner if inner.get("device_id") == dev.device_id else None
            else:
                found = proofs.verify_status(doc, registry_sign_public=dev.sign_public_raw, device_id=dev.device_id)
        except (TypeError, ValueError, wire.WireError):
            found = None
        if found is not None:  # record ID -> its entry (the last one, as the spool applies them)
            key = "results" if kind == "receipt" else "records"
            found = {r.get("record_id"): r for r in found.get(key, ()) if isinstance(r, dict)}
        cache[(kind, text)] = found
    return cache[(kind, text)]


def _receipt_says(cache: dict, text, rid: str, dev, allowed: tuple) -> dict | None:
    """The result for ``rid`` in a stored receipt, if the registry signed it for this device and its status is one of
    ``allowed``; else None."""
    results = _verified(cache, "receipt", text, dev)
    result = results.get(rid) if results else None
    return result if result and result.get("status") in allowed else None


def _status_says(cache: dict, text, rid: str, dev, state: str) -> dict | None:
    records = _verified(cache, "status", text, dev)
    entry = records.get(rid) if records else None
    return entry if entry and entry.get("state") == state else None


def _proven(ev: dict, rid: str, dev, cache: dict) -> tuple[bool, str | None, str | None]:
    """``(proven, registry_id, reason)`` for what the spool claims of ``rid``."""
    claimed = ev["state"]
    if claimed == State.QUEUED:  # back in the queue (a requeue made in the spool): claims no delivery
        return True, None, None
    if claimed == State.SYNCED:
        res = _receipt_says(cache, ev["receipt"], rid, dev, ("accepted", "duplicate", "held"))
        if res is None:
            return False, None, None
        return True, res.get("registry_id"), "held_for_review" if res["status"] == "held" else None
    if claimed == State.QUARANTINED:  # not delivered: needs no proof, only a reason from a list
        res = _receipt_says(cache, ev["receipt"], rid, dev, ("rejected", "conflict"))
        code = (res.get("reason") or res["status"]) if res else ev["reason"]
        return True, None, known_reason(code)
    answer = ev["status_answer"]
    if claimed == State.REGISTERED:
        res = _status_says(cache, answer, rid, dev, "registered") if answer else None
        if res:
            cache.setdefault("cards", {})[rid] = res.get("card")
        registry_id = res.get("registry_id") if res else None  # signed, yet only a well-formed number is kept
        return (True, registry_id if isinstance(registry_id, str) and wire.ID_RE.match(registry_id) else None,
                None) if res else (False, None, None)
    if claimed == State.REGISTRY_REJECTED:
        res = _status_says(cache, answer, rid, dev, "rejected") if answer else None
        if res is None and ev["receipt"]:  # a final refusal in the receipt itself (states.FINAL_REFUSALS)
            res = _receipt_says(cache, ev["receipt"], rid, dev, ("rejected",))
            res = res if res and res.get("reason") in states.FINAL_REFUSALS else None
        return (True, None, known_reason(res.get("reason") or "rejected")) if res else (False, None, None)
    return False, None, None


def pull_states(session: Session) -> int:
    """Move records on to the states the sync engine reached, where the registry's signed answers prove them.
    Returns how many changed."""
    rows = session.conn.execute(
        f"SELECT id, state FROM records WHERE state IN ({','.join('?' * len(PULLABLE))}) OR (state = ? AND "
        f"member_no IS NULL)", (*PULLABLE, State.REGISTERED.value)).fetchall()
    dev = _device(session)
    if not rows or dev is None or not DataDir(session.store.data_dir).spool.exists():
        return 0
    with Spool(session.store.data_dir) as spool:
        evidence = spool.evidence([rid for rid, _ in rows])
        changes, unproven, members, cache = [], [], [], {}
        for rid, state in rows:
            ev = evidence.get(rid)
            if ev and state == ev["state"] == State.REGISTERED:  # registered before member numbers were kept
                proven, registry_id, _reason = _proven(ev, rid, dev, cache)
                if proven and registry_id:
                    members.append((rid, registry_id, cache["cards"].get(rid)))
                continue
            if not ev or not states.may_pull(state, ev["state"]):
                continue
            proven, registry_id, reason = _proven(ev, rid, dev, cache)
            if proven:
                changes.append((rid, state, states.require("pull", state, ev["state"]), reason, registry_id))
                if ev["state"] == State.REGISTERED and registry_id:
                    members.append((rid, registry_id, cache["cards"].get(rid)))
            else:
                unproven.append(rid)
        if unproven:
            spool.reset_unproven(unproven)
            log.warning("%d spool item(s) claimed an outcome without the registry's signed proof: queued again",
                        len(unproven))
    if changes or unproven or members:
        with session.write() as tx:
            for rid, old, new, reason, registry_id in changes:
                tx.execute("UPDATE records SET state = ?, reason = ?, updated_at = ? WHERE id = ?",
                           (new, reason, now_iso(), rid))
                # a registration's audit event names the member number (not personal data: the person's ID at the
                # registry, printed on their card) so the record's history shows it
                session.audit.append("sync", f"record.{new}", rid, old, new,
                                     registry_id if new == State.REGISTERED and registry_id else reason)
            for rid, member_no, card in members:
                _keep_member(tx, rid, member_no, card)
            if unproven:
                session.audit.append("sync", "sync.unproven", reason=str(len(unproven)))
    return len(changes)


def _keep_member(tx, rid: str, member_no, card) -> None:
    """Store the member number the registry's signed answer gave (and its card signature, when well formed: it is
    checked against the record when a card is made) and make the number searchable."""
    if not isinstance(member_no, str) or not wire.ID_RE.match(member_no):
        return
    ok = (isinstance(card, dict) and isinstance(card.get("issued_at"), str) and isinstance(card.get("sig"), str)
          and len(card) == 2 and len(card["issued_at"]) <= 40 and len(card["sig"]) <= 200)
    terms = " ".join(member_terms(member_no))
    tx.execute("UPDATE records SET member_no = ?, card = COALESCE(?, card), search_terms = "
               "trim(COALESCE(search_terms, '') || ' ' || ?) WHERE id = ? AND member_no IS NULL",
               (member_no, json.dumps(card, sort_keys=True) if ok else None, terms, rid))


def republish_missing(session: Session) -> int:
    """Queued records whose sealed copy the spool does not hold (spool.db lost or replaced): add them again.

    Safe to repeat: the spool ignores known record IDs and the registry answers a resent record "duplicate".
    """
    queued = [r[0] for r in session.conn.execute("SELECT id FROM records WHERE state = ?", (State.QUEUED.value,))]
    if not queued:
        return 0
    with Spool(session.store.data_dir) as spool:
        known = spool.states(queued)
        missing = [rid for rid in queued if rid not in known]
        if missing:
            rows = []
            for i in range(0, len(missing), 500):
                chunk = missing[i:i + 500]
                rows += session.conn.execute(
                    f"SELECT record_id, sealed FROM outbox WHERE record_id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
            spool.add([{"record_id": rid, "sealed": json.loads(sealed)} for rid, sealed in rows])
    return len(missing)


def refresh(session: Session) -> None:
    """What every unlock does: check device.json against the store, seal again what an upgrade left in the old
    format, publish what a crash left unpublished, re-add what a lost spool forgot, pull proven states back."""
    if identity.check(session) == "unregistered":
        return
    reseal_legacy(session)
    publish(session)
    republish_missing(session)
    pull_states(session)


def requeue_quarantined(session: Session, record_ids: list[str] | None = None) -> list[str]:
    """Supervisor only: send quarantined records again (all of them when ``record_ids`` is None).

    For a registry that was wrong or is fixed, or an answer that left a record out
    (``not_in_receipt``). A record the registry rejects again comes back quarantined: the
    engine never loops on it. The store moves first, in one transaction with its audit events;
    then the spool. A crash between the two is healed by ``pull_states`` (the record shows
    quarantined again and can be requeued again). Returns the IDs requeued.
    """
    session.require_supervisor()
    rows = session.conn.execute("SELECT id, reason FROM records WHERE state = ? ORDER BY id",
                                (State.QUARANTINED.value,)).fetchall()
    wanted = None if record_ids is None else set(record_ids)
    chosen = [(rid, reason) for rid, reason in rows if wanted is None or rid in wanted]
    if not chosen:
        return []
    with session.write() as tx:
        now = now_iso()
        state = states.require("requeue", State.QUARANTINED, State.QUEUED)
        for rid, reason in chosen:
            tx.execute("UPDATE records SET state = ?, reason = NULL, updated_at = ? WHERE id = ?", (state, now, rid))
            session.audit.append(session.name, "record.requeued", rid, State.QUARANTINED.value, state, reason, ts=now)
    ids = [rid for rid, _ in chosen]
    with Spool(session.store.data_dir) as spool:
        spool.requeue_quarantined(ids)
    republish_missing(session)  # a spool rebuilt since the quarantine no longer holds them
    return ids
