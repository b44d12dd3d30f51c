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
from fieldapp.domain.states import SPOOL_STATES, State
from fieldapp.outbound.spool_engine import EngineSide
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
CREATE TABLE IF NOT EXISTS status_proofs (id INTEGER PRIMARY KEY AUTOINCREMENT, answer TEXT NOT NULL,
                                          received_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS inbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, sealed BLOB NOT NULL, fetched_at REAL NOT NULL);
"""
# Columns added after release 0.1.0 (a spool.db of that release gets them when it is opened).
_ADDED_COLUMNS = {"items": (("status_proof", "INTEGER"),)}
_now = now_epoch  # float seconds: added_at / updated_at / created_at are REAL columns


class SpoolError(FieldappError):
    """The spool is damaged or a caller broke an invariant: ``sync.error.spool``; ``detail`` is English, no data."""

    code = "spool"

    def __init__(self, detail: str):
        super().__init__("sync.error.spool")
        self.detail = detail


class Spool(EngineSide):
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
                for table, columns in _ADDED_COLUMNS.items():
                    have = {row[1] for row in c.execute(f"PRAGMA table_info({table})")}
                    for name, kind in columns:
                        if name not in have:
                            c.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
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
    def add(self, items: list[dict], meta: dict | None = None) -> int:
        """Queue sealed items ``{"record_id", "sealed"}``; an already known record_id is left as is. ``meta``: values
        to set in the same transaction (the store's newest audit head, its approval key registration).

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
            added = c.total_changes - before
            self._put_meta(c, meta or {})
            return added

    @staticmethod
    def _put_meta(c, values: dict) -> None:
        c.executemany("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                      [(k, json.dumps(v)) for k, v in values.items()])

    def set_meta_many(self, values: dict) -> None:
        if values:
            with self._tx() as c:
                self._put_meta(c, values)

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

    # -- what the store checks at unlock (``outbox.pull_states``) ---------------------------------------------------
    def evidence(self, record_ids) -> dict:
        """``{record_id: {"state", "registry_id", "reason", "receipt", "status_answer"}}``: what the spool says of
        each record, with the signed answers that should prove it (texts as stored: the store verifies them)."""
        # Each signed receipt and status answer is read once, not once per item: a receipt covers a whole batch, and
        # reading it with every item decoded the same long text thousands of times, holding the GIL (UI stalls).
        rows = self._in("SELECT record_id, state, registry_id, reason, batch_id, status_proof FROM items"
                        " WHERE record_id IN ({})", list(record_ids))
        receipts = dict(self._in("SELECT batch_id, receipt FROM batches WHERE batch_id IN ({})",
                                 sorted({r[4] for r in rows if r[4] is not None})))
        answers = dict(self._in("SELECT id, answer FROM status_proofs WHERE id IN ({})",
                                sorted({r[5] for r in rows if r[5] is not None})))
        return {rid: {"state": state, "registry_id": reg, "reason": reason, "receipt": receipts.get(batch),
                      "status_answer": answers.get(proof)}
                for rid, state, reg, reason, batch, proof in rows}

    def _in(self, sql: str, values: list, size: int = 500) -> list:
        """``sql`` (with one ``IN ({})``) for ``values``, ``size`` at a time."""
        rows = []
        for i in range(0, len(values), size):
            chunk = values[i:i + size]
            rows += self._query(sql.format(",".join("?" * len(chunk))), chunk)
        return rows

    def reset_unproven(self, record_ids) -> int:
        """Put items whose claimed outcome has no valid proof back in the queue (they are sent again; the registry
        answers ``duplicate`` for what it already holds), and read the status feed again from its start (a cursor
        taken with those answers may have skipped the real ones). Returns how many."""
        now, n = _now(), 0
        with self._tx() as c:
            for rid in record_ids:
                n += c.execute("UPDATE items SET state=?, batch_id=NULL, registry_id=NULL, reason=NULL,"
                               " status_proof=NULL, updated_at=? WHERE record_id=? AND state != ?",
                               (State.QUEUED.value, now, rid, State.QUEUED.value)).rowcount
            if n:
                c.execute("DELETE FROM meta WHERE key = 'status_cursor'")
        return n

    def replace_sealed(self, items: dict) -> int:
        """Put newly sealed copies in place of queued or quarantined items' (an upgrade re-seals in the new format):
        frozen open batches holding any of them are abandoned first, so no old copy is sent after this."""
        now, n = _now(), 0
        with self._tx() as c:
            for rid, sealed in items.items():
                row = c.execute("SELECT batch_id FROM items WHERE record_id=? AND state IN (?, ?)",
                                (rid, State.QUEUED.value, State.QUARANTINED.value)).fetchone()
                if row is None:
                    continue
                if row[0] is not None:
                    c.execute("UPDATE items SET batch_id=NULL WHERE batch_id=? AND state=?", (row[0], State.QUEUED.value))
                    c.execute("UPDATE batches SET state='abandoned', last_error='resealed', body=X'', updated_at=?"
                              " WHERE batch_id=? AND state='open'", (now, row[0]))
                text = canonical_text(sealed)
                n += c.execute("UPDATE items SET sealed=?, size=?, updated_at=? WHERE record_id=? AND state IN (?, ?)",
                               (text, len(text.encode("utf-8")), now, rid, State.QUEUED.value,
                                State.QUARANTINED.value)).rowcount
        return n

    def receipts(self, limit: int = 50) -> list[str]:
        """The newest stored receipts (texts as stored), for the audit head the registry acknowledged."""
        return [r[0] for r in self._query("SELECT receipt FROM batches WHERE receipt IS NOT NULL AND receipt != ''"
                                          " ORDER BY updated_at DESC LIMIT ?", (int(limit),))]

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

    # -- the lookup inbox: registry-signed member pages, sealed to the store's inbox key (``inbox``) ----------------
    def inbox_add(self, sealed: bytes, meta: dict | None = None, expect: dict | None = None) -> int | None:
        """Keep one sealed page (and set ``meta`` in the same transaction); the page's seq. With ``expect``, only
        when those meta values are still as given (the store may have reset the cursor meanwhile): None if not."""
        with self._tx() as c:
            for key, value in (expect or {}).items():
                row = c.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
                if (json.loads(row[0]) if row else None) != value:
                    return None
            seq = c.execute("INSERT INTO inbox(sealed, fetched_at) VALUES (?, ?)",
                            (sqlite3.Binary(sealed), _now())).lastrowid
            self._put_meta(c, meta or {})
            return seq

    def inbox_pending(self, limit: int = 1000, after: int = 0) -> list[tuple[int, bytes]]:
        """``(seq, sealed)`` of the kept pages after ``after``, oldest first."""
        return [(seq, bytes(blob)) for seq, blob in self._query(
            "SELECT seq, sealed FROM inbox WHERE seq > ? ORDER BY seq LIMIT ?", (int(after), int(limit)))]

    def inbox_delete(self, seqs=(), *, from_seq: int | None = None, meta: dict | None = None) -> int:
        """Forget pages: those in ``seqs``, and with ``from_seq`` every page from that seq on; ``meta`` set in the
        same transaction. Returns how many."""
        with self._tx() as c:
            n = sum(c.execute("DELETE FROM inbox WHERE seq=?", (int(s),)).rowcount for s in seqs)
            if from_seq is not None:
                n += c.execute("DELETE FROM inbox WHERE seq >= ?", (int(from_seq),)).rowcount
            self._put_meta(c, meta or {})
            return n
