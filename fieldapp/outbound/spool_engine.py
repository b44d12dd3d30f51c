"""The sync engine's side of ``spool.db`` (a mixin of ``fieldapp.outbound.spool.Spool``): frozen batches, receipts,
quarantine, status answers. See ``spool`` for the file and its states."""

from __future__ import annotations

import json
import sqlite3

from fieldapp.base.encoding import now_epoch
from fieldapp.domain.states import FINAL_REFUSALS, RECEIPT_STATUS, STATUS_ANSWER, State

_SYNCED_STATUSES = RECEIPT_STATUS
_now = now_epoch



def _text_id(value) -> str | None:
    """A registry ID as the spool keeps it: text of at most 64 characters, else nothing (a registry that signs an
    object or a list there must not break the spool's transaction)."""
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None

class EngineSide:
    """Methods the sync engine calls; ``_tx`` and ``_query`` come from ``Spool``."""

    def open_batch_ids(self) -> list[str]:
        """IDs of frozen batches still waiting for a receipt, oldest first."""
        return [r[0] for r in self._query(
            "SELECT batch_id FROM batches WHERE state='open' ORDER BY created_at, rowid")]

    def batch(self, batch_id: str) -> dict | None:
        """One frozen batch with its exact bytes and record IDs (None unless still open)."""
        rows = self._query("SELECT batch_id, idempotency_key, body, sha256, n_items, attempts FROM batches"
                           " WHERE batch_id=? AND state='open'", (batch_id,))
        if not rows:
            return None
        bid, key, body, sha, n, attempts = rows[0]
        ids = [r[0] for r in self._query("SELECT record_id FROM items WHERE batch_id=? ORDER BY seq", (bid,))]
        return {"batch_id": bid, "idempotency_key": key, "body": bytes(body), "sha256": sha,
                "n_items": n, "attempts": attempts, "record_ids": ids}

    def open_batches(self) -> list[dict]:
        """Frozen batches still waiting for a receipt, oldest first (with their exact bytes)."""
        return [b for b in (self.batch(bid) for bid in self.open_batch_ids()) if b is not None]

    def unbatched(self, limit: int, after_seq: int = 0) -> list[dict]:
        """Queued items not in any frozen batch, in queue order: ``{"seq","record_id","sealed","size"}``."""
        rows = self._query(
            "SELECT seq, record_id, sealed, size FROM items WHERE state='queued' AND batch_id IS NULL"
            " AND seq > ? ORDER BY seq LIMIT ?", (after_seq, int(limit)))
        return [{"seq": s, "record_id": r, "sealed": json.loads(t), "size": n}
                for s, r, t, n in rows]

    def freeze_batch(self, *, batch_id: str, idempotency_key: str, body: bytes, sha256: str,
                     record_ids: list[str]) -> bool:
        """Store a batch's bytes and claim its items, atomically.

        Returns False (and stores nothing) if another process claimed one of the
        items in the meantime.
        """
        now = _now()
        with self._tx() as c:
            claimed = 0
            for i in range(0, len(record_ids), 500):
                chunk = record_ids[i:i + 500]
                cur = c.execute(
                    f"UPDATE items SET batch_id=?, updated_at=? WHERE state='queued' AND batch_id IS"
                    f" NULL AND record_id IN ({','.join('?' * len(chunk))})", [batch_id, now, *chunk])
                claimed += cur.rowcount
            if claimed != len(set(record_ids)):
                c.execute("UPDATE items SET batch_id=NULL WHERE batch_id=?", (batch_id,))
                return False
            c.execute(
                "INSERT INTO batches(batch_id, idempotency_key, body, sha256, n_items, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (batch_id, idempotency_key, sqlite3.Binary(body), sha256, len(record_ids), now, now))
        return True

    def note_attempt(self, batch_id: str, error: str | None = None) -> None:
        with self._tx() as c:
            c.execute("UPDATE batches SET attempts=attempts+1, last_error=?, updated_at=?"
                      " WHERE batch_id=?", (error, _now(), batch_id))

    def abandon_batch(self, batch_id: str, reason: str) -> int:
        """Give up a frozen batch (e.g. 413): its queued items go back to the queue.

        Safe even if the registry had committed it: the registry is idempotent by
        record ID, so a resend in another batch comes back ``duplicate``.
        """
        now = _now()
        with self._tx() as c:
            cur = c.execute("UPDATE items SET batch_id=NULL, updated_at=? WHERE batch_id=? AND"
                            " state='queued'", (now, batch_id))
            c.execute("UPDATE batches SET state='abandoned', last_error=?, body=X'', updated_at=?"
                      " WHERE batch_id=? AND state='open'", (reason, now, batch_id))
            return cur.rowcount

    def quarantine(self, record_ids: list[str], reason: str) -> None:
        now = _now()
        with self._tx() as c:
            for rid in record_ids:
                c.execute("UPDATE items SET state=?, reason=?, updated_at=? WHERE record_id=? AND state=?",
                          (State.QUARANTINED.value, reason, now, rid, State.QUEUED.value))

    def apply_receipt(self, batch_id: str, results: list[dict], receipt_json: str | None = None) -> dict:
        """Apply a *verified* receipt's results to the batch's items; close the batch.

        Results naming records outside this batch are ignored. Items of the batch the
        receipt does not mention are quarantined (``not_in_receipt``) rather than
        requeued, so a faulty registry cannot make the engine loop. Returns counts per status.
        """
        now = _now()
        tally: dict[str, int] = {}
        with self._tx() as c:
            members = {r[0] for r in c.execute(
                "SELECT record_id FROM items WHERE batch_id=? AND state='queued'", (batch_id,))}
            for res in results:
                rid, status = res.get("record_id"), res.get("status")
                if not isinstance(rid, str) or rid not in members or status not in _SYNCED_STATUSES:
                    continue
                members.discard(rid)
                state = _SYNCED_STATUSES[status]
                if status == "rejected" and res.get("reason") in FINAL_REFUSALS:
                    state = State.REGISTRY_REJECTED.value  # sending again cannot change it (states.FINAL_REFUSALS)
                reason = None if state == State.SYNCED else str(res.get("reason") or status)[:200]
                c.execute("UPDATE items SET state=?, registry_id=COALESCE(?, registry_id), reason=?,"
                          " updated_at=? WHERE record_id=?",
                          (state, _text_id(res.get("registry_id")), reason, now, rid))
                tally[status] = tally.get(status, 0) + 1
            if members:
                c.executemany("UPDATE items SET state=?, reason='not_in_receipt', updated_at=? WHERE record_id=?",
                              [(State.QUARANTINED.value, now, rid) for rid in members])
                tally["not_in_receipt"] = len(members)
            c.execute("UPDATE batches SET state='done', receipt=?, body=X'', updated_at=?"
                      " WHERE batch_id=?", (receipt_json, now, batch_id))
        return tally

    def recent_batches(self, limit: int = 20) -> list[dict]:
        """The newest batches with their outcome: ``{batch_id, state, items, attempts, last_error, updated_at, results}``.

        ``results`` counts the batch's records by their state now (synced, quarantined, registered, ...).
        """
        rows = self._query("SELECT batch_id, state, n_items, attempts, last_error, updated_at FROM batches"
                           " ORDER BY updated_at DESC, batch_id LIMIT ?", (int(limit),))
        out = []
        for batch_id, state, n, attempts, error, updated in rows:
            results = dict(self._query("SELECT state, COUNT(*) FROM items WHERE batch_id=? GROUP BY state", (batch_id,)))
            out.append({"batch_id": batch_id, "state": state, "items": n, "attempts": attempts, "last_error": error,
                        "updated_at": updated, "results": results})
        return out

    def quarantined(self, limit: int = 500) -> list[dict]:
        """Quarantined records with the registry's reason, newest first (record IDs and codes only)."""
        rows = self._query("SELECT record_id, reason, updated_at FROM items WHERE state='quarantined'"
                           " ORDER BY updated_at DESC LIMIT ?", (int(limit),))
        return [{"record_id": r, "reason": why, "updated_at": t} for r, why, t in rows]

    def synced_ids(self, limit: int = 500, after: str = "") -> list[str]:
        """Record IDs in state ``synced`` (waiting for the registry's final word), by record_id."""
        return [r[0] for r in self._query(
            "SELECT record_id FROM items WHERE state='synced' AND record_id > ?"
            " ORDER BY record_id LIMIT ?", (after, int(limit)))]

    def registered_unproven_ids(self, limit: int = 500, after: str = "") -> list[str]:
        """Record IDs registered without a kept status answer (spools from before protocol 3 kept none): the
        registry is asked once more for them, so the store gets their member number and card signature."""
        return [r[0] for r in self._query(
            "SELECT record_id FROM items WHERE state='registered' AND status_proof IS NULL AND record_id > ?"
            " ORDER BY record_id LIMIT ?", (after, int(limit)))]

    def apply_status(self, records: list[dict], answer: str | None = None) -> int:
        """Apply ``/v1/status`` answers: ``registered`` / ``rejected`` move synced items on. ``answer`` is the signed
        answer they came in (kept as the items' proof, for the store to check at the next unlock)."""
        now, n = _now(), 0
        with self._tx() as c:
            proof = None
            for rec in records:
                st = rec.get("state")
                if st not in STATUS_ANSWER:
                    continue
                if proof is None and answer is not None:
                    proof = c.execute("INSERT INTO status_proofs (answer, received_at) VALUES (?, ?)",
                                      (answer, now)).lastrowid
                if st == "registered":
                    cur = c.execute("UPDATE items SET state=?, registry_id=COALESCE(?, registry_id), status_proof=?,"
                                    " updated_at=? WHERE record_id=? AND (state=? OR (state='registered' AND"
                                    " status_proof IS NULL))",
                                    (STATUS_ANSWER[st], _text_id(rec.get("registry_id")), proof, now, rec.get("record_id"),
                                     State.SYNCED.value))
                else:
                    cur = c.execute("UPDATE items SET state=?, reason=?, status_proof=?, updated_at=? WHERE record_id=?"
                                    " AND state=?", (STATUS_ANSWER[st], str(rec.get("reason") or "rejected")[:200],
                                                     proof, now, rec.get("record_id"), State.SYNCED.value))
                n += cur.rowcount
            c.execute("DELETE FROM status_proofs WHERE id NOT IN (SELECT status_proof FROM items"
                      " WHERE status_proof IS NOT NULL)")
        return n

