"""The delivery queue: ``spool.db`` in the data folder.

A plain SQLite file (sync runs without anybody's password), so it holds only
sealed ciphertext and metadata: record IDs, states, batch IDs, reason codes,
registry IDs and timestamps - never personal data in plaintext.

An item's states (``queued``, ``synced``, ``registered``, ``registry_rejected``,
``quarantined``) are ``fieldapp.domain.states.SPOOL_STATES``; a quarantined item
never blocks the rest, and a supervisor can requeue it.

Batches are frozen: the engine builds a batch body once, stores its exact bytes
and Idempotency-Key here together with the claim of its items (one transaction),
and every retry - also after a crash or power cut - resends those bytes. The file
uses WAL and ``synchronous=FULL``; it is created owner-only before any data.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

from fieldapp.base.encoding import canonical_text, now_epoch
from fieldapp.base.errors import FieldappError
from fieldapp.base.paths import SPOOL_FILE, DataDir  # noqa: F401 (SPOOL_FILE: old importers)
from fieldapp.base.sqlscript import statements
from fieldapp.domain.states import RECEIPT_STATUS, SPOOL_STATES, STATUS_ANSWER, State
STATES = SPOOL_STATES  # an item's states: the record states they become (fieldapp.domain.states)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL UNIQUE,
    sealed TEXT NOT NULL,
    size INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    batch_id TEXT,
    registry_id TEXT,
    reason TEXT,
    added_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS items_state ON items(state, batch_id, seq);
CREATE INDEX IF NOT EXISTS items_batch ON items(batch_id);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL,
    body BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    n_items INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    receipt TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_state ON batches(state, created_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_SYNCED_STATUSES = RECEIPT_STATUS
_now = now_epoch  # float seconds: added_at / updated_at / created_at are REAL columns


class SpoolError(FieldappError):
    """The spool is damaged or a caller broke an invariant: ``sync.error.spool``; ``detail`` is English, no data."""

    code = "spool"

    def __init__(self, detail: str):
        super().__init__("sync.error.spool")
        self.detail = detail


class Spool:
    """Thread-safe handle on ``<data_dir>/spool.db``; several processes may open it."""

    def __init__(self, data_dir, *, timeout: float = 30.0):
        self.data_dir = Path(data_dir)
        self.path = DataDir(self.data_dir).spool
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._create_private()
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=timeout,
                                         isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            with self._tx(immediate=True) as c:
                for stmt in statements(_SCHEMA):
                    c.execute(stmt)
        except sqlite3.DatabaseError as exc:
            raise SpoolError(f"spool database unusable: {type(exc).__name__}") from None

    def _create_private(self) -> None:
        # SQLite gives -wal/-shm the main file's mode, so owner-only from the start.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
        if os.name == "posix":
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(self.path) + suffix)
                if p.exists():
                    os.chmod(p, 0o600)

    # -- plumbing ---------------------------------------------------------
    class _Tx:
        def __init__(self, spool: "Spool", immediate: bool):
            self.spool, self.immediate = spool, immediate

        def __enter__(self):
            self.spool._lock.acquire()
            try:
                self.spool._conn.execute("BEGIN IMMEDIATE" if self.immediate else "BEGIN")
            except BaseException:
                self.spool._lock.release()
                raise
            return self.spool._conn

        def __exit__(self, et, ev, tb):
            try:
                self.spool._conn.execute("ROLLBACK" if et else "COMMIT")
            finally:
                self.spool._lock.release()
            return False

    def _tx(self, immediate: bool = True) -> "Spool._Tx":
        return Spool._Tx(self, immediate)

    def _query(self, sql: str, params=()) -> list:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the core's side ---------------------------------------------------
    def add(self, items: list[dict]) -> int:
        """Queue sealed items ``{"record_id", "sealed"}``; an already known record_id is left as is.

        Returns how many were new.
        """
        rows = []
        for it in items:
            rid, sealed = it["record_id"], it["sealed"]
            if not isinstance(rid, str) or not rid or not isinstance(sealed, dict):
                raise SpoolError("spool item needs a record_id string and a sealed dict")
            if sealed.get("record_id", rid) != rid:
                raise SpoolError("sealed item names another record_id")
            text = canonical_text(sealed)
            rows.append((rid, text, len(text.encode("utf-8"))))
        now = _now()
        with self._tx() as c:
            before = c.total_changes
            c.executemany(
                "INSERT OR IGNORE INTO items(record_id, sealed, size, state, added_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(r, s, n, State.QUEUED.value, now, now) for r, s, n in rows])
            return c.total_changes - before

    def states(self, record_ids=None) -> dict:
        """``{record_id: {"state", "registry_id", "reason", "updated_at"}}`` (all, or those asked for)."""
        sql = "SELECT record_id, state, registry_id, reason, updated_at FROM items"
        out = {}
        if record_ids is None:
            rows = self._query(sql)
        else:
            ids = list(record_ids)
            rows = []
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                rows += self._query(sql + f" WHERE record_id IN ({','.join('?' * len(chunk))})", chunk)
        for rid, state, reg, reason, upd in rows:
            out[rid] = {"state": state, "registry_id": reg, "reason": reason, "updated_at": upd}
        return out

    def counts(self) -> dict:
        out = {s: 0 for s in STATES}
        for state, n in self._query("SELECT state, COUNT(*) FROM items GROUP BY state"):
            out[state] = n
        return out

    def summary(self) -> dict:
        """Counts and times without record IDs (status, diagnostics); ``meta`` values as stored (JSON text)."""
        one, q = (lambda sql: self._query(sql)[0][0]), (lambda sql: dict(self._query(sql)))
        return {"items_by_state": q("SELECT state, count(*) FROM items GROUP BY state"),
                "quarantine_reasons": q("SELECT coalesce(reason, '?'), count(*) FROM items"
                                        " WHERE state = 'quarantined' GROUP BY 1"),
                "batches_by_state": q("SELECT state, count(*) FROM batches GROUP BY state"),
                "attempts": one("SELECT coalesce(sum(attempts), 0) FROM batches"),
                "last_errors": q("SELECT last_error, count(*) FROM batches WHERE last_error IS NOT NULL GROUP BY 1"),
                "last_activity": one("SELECT max(updated_at) FROM items"),
                "last_attempt": one("SELECT max(updated_at) FROM batches WHERE attempts > 0"),
                "last_success": one("SELECT max(updated_at) FROM items WHERE state != 'queued'"),
                "meta": q("SELECT key, value FROM meta")}

    def requeue_quarantined(self, record_ids, replacements: dict | None = None) -> int:
        """Put quarantined items back in the queue (a supervisor's decision).

        ``replacements`` may map a record_id to a newly sealed item (e.g. after a
        correction); other states are left alone. Returns how many were requeued.
        """
        replacements = replacements or {}
        now, n = _now(), 0
        with self._tx() as c:
            for rid in record_ids:
                if rid in replacements:
                    text = canonical_text(replacements[rid])
                    cur = c.execute(
                        "UPDATE items SET state=?, reason=NULL, batch_id=NULL, sealed=?,"
                        " size=?, updated_at=? WHERE record_id=? AND state=?",
                        (State.QUEUED.value, text, len(text.encode()), now, rid, State.QUARANTINED.value))
                else:
                    cur = c.execute(
                        "UPDATE items SET state=?, reason=NULL, batch_id=NULL, updated_at=?"
                        " WHERE record_id=? AND state=?", (State.QUEUED.value, now, rid, State.QUARANTINED.value))
                n += cur.rowcount
        return n

    # -- the engine's side ---------------------------------------------------
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
                if rid not in members or status not in _SYNCED_STATUSES:
                    continue
                members.discard(rid)
                state = _SYNCED_STATUSES[status]
                reason = None if state == State.SYNCED else str(res.get("reason") or status)[:200]
                c.execute("UPDATE items SET state=?, registry_id=COALESCE(?, registry_id), reason=?,"
                          " updated_at=? WHERE record_id=?",
                          (state, res.get("registry_id"), reason, now, rid))
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

    def apply_status(self, records: list[dict]) -> int:
        """Apply ``/v1/status`` answers: ``registered`` / ``rejected`` move synced items on."""
        now, n = _now(), 0
        with self._tx() as c:
            for rec in records:
                st = rec.get("state")
                if st == "registered":
                    cur = c.execute("UPDATE items SET state=?, registry_id=COALESCE(?,"
                                    " registry_id), updated_at=? WHERE record_id=? AND state=?",
                                    (STATUS_ANSWER[st], rec.get("registry_id"), now, rec.get("record_id"),
                                     State.SYNCED.value))
                elif st == "rejected":
                    cur = c.execute("UPDATE items SET state=?, reason=?, updated_at=? WHERE record_id=? AND state=?",
                                    (STATUS_ANSWER[st], str(rec.get("reason") or "rejected")[:200], now,
                                     rec.get("record_id"), State.SYNCED.value))
                else:
                    continue
                n += cur.rowcount
        return n

    def pending_count(self) -> int:
        return self._query("SELECT COUNT(*) FROM items WHERE state='queued'")[0][0]

    def pending_bytes(self) -> int:
        return self._query("SELECT COALESCE(SUM(size), 0) FROM items WHERE state='queued'")[0][0]

    def get_meta(self, key: str, default=None):
        rows = self._query("SELECT value FROM meta WHERE key=?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set_meta(self, key: str, value) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
                      " SET value=excluded.value", (key, json.dumps(value)))
