"""The transactional outbox between the encrypted store and the sync spool.

On approval, when the device is registered, the record is sealed to the
registry's public key, signed by the device key and written into the store's
``outbox`` table in the same transaction that approves it; the record moves on
to ``queued``. After the commit the sealed item is *published* to the spool
(``spool.db``), which the sync engine reads without anybody's password.
Publishing is idempotent by record ID; anything not yet published (a crash
between commit and publish) is published at the next unlock. States the sync
engine reaches (synced, registered, registry_rejected, quarantined) are pulled
back into the records at every unlock.
"""

from __future__ import annotations

import json

from fieldapp.domain import states
from fieldapp.domain.states import PULLABLE, State
from fieldapp.outbound import device as device_file
from fieldapp.outbound import wire
from fieldapp.store.audit import now_iso
from fieldapp.outbound.spool import Spool
from fieldapp.base.paths import DataDir
from fieldapp.store.database import Session

SYNC_STATES = states.SEALED
# The order a record may move in (``states.may_pull``); a pulled state never moves a record backwards, except from
# quarantine.
_RANK = states.PULL_RANK


def _device(session: Session):
    return device_file.load(session.store.data_dir)  # DeviceFileError carries its own message


def enqueue_in_transaction(session: Session, tx, record_id: str, clean: dict, submitted_at: str | None) -> bool:
    """Seal ``clean`` into the outbox inside the caller's transaction. False when no device is registered."""
    dev = _device(session)
    if dev is None:
        return False
    sealed = wire.seal_record(
        clean, record_id=record_id, device_id=dev.device_id, enrolled_on=(submitted_at or now_iso())[:10],
        seal_public=dev.seal_public_raw, device_private=dev.private_raw,
    )
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


def publish(session: Session) -> int:
    """Copy unpublished sealed items to the spool, then mark them published. Returns how many."""
    rows = session.conn.execute("SELECT record_id, sealed FROM outbox WHERE published_at IS NULL").fetchall()
    if not rows:
        return 0
    with Spool(session.store.data_dir) as spool:
        spool.add([{"record_id": rid, "sealed": json.loads(sealed)} for rid, sealed in rows])
    with session.write() as tx:
        tx.executemany("UPDATE outbox SET published_at = ? WHERE record_id = ?", [(now_iso(), rid) for rid, _ in rows])
    return len(rows)


def pull_states(session: Session) -> int:
    """Move records on to the states the sync engine recorded in the spool. Returns how many changed."""
    rows = session.conn.execute(
        f"SELECT id, state FROM records WHERE state IN ({','.join('?' * len(PULLABLE))})", PULLABLE).fetchall()
    if not rows or not DataDir(session.store.data_dir).spool.exists():
        return 0
    with Spool(session.store.data_dir) as spool:
        remote = spool.states([rid for rid, _ in rows])
    changes = []
    for rid, state in rows:
        info = remote.get(rid)
        if info and states.may_pull(state, info["state"]):
            changes.append((rid, state, states.require("pull", state, info["state"]), info.get("reason")))
    if changes:
        with session.write() as tx:
            for rid, old, new, reason in changes:
                tx.execute("UPDATE records SET state = ?, reason = COALESCE(?, reason), updated_at = ? WHERE id = ?",
                           (new, reason, now_iso(), rid))
                session.audit.append("sync", f"record.{new}", rid, old, new, reason)
    return len(changes)


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
    """What every unlock does: publish what a crash left unpublished, re-add what a lost spool forgot,
    pull sync states back."""
    if session.conn.execute("SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT 1").fetchone():
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
