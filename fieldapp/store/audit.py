"""Append-only, hash-chained audit trail.

Every record transition and every user-management action is one row: who,
when, which record, from which state to which, and why. Each row's ``hash`` is
SHA-256 over the previous row's hash and the row's canonical JSON, so removing,
reordering or editing a row breaks the chain, which ``verify_chain`` finds.
SQL triggers refuse UPDATE and DELETE on the table.
"""

from __future__ import annotations

import hashlib

from fieldapp.base.encoding import canonical_text, now_iso  # noqa: F401 (now_iso: the store's timestamp, its importers)

GENESIS = "0" * 64
FIELDS = ("seq", "ts", "actor", "event", "record_id", "from_state", "to_state", "reason")


def _digest(prev_hash: str, row: dict) -> str:
    body = canonical_text({k: row.get(k) for k in FIELDS})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


class AuditLog:
    """Appends to the ``audit`` table inside the caller's open transaction."""

    def __init__(self, conn):
        self.conn = conn
        self._head = None

    @property
    def appended(self) -> bool:
        """Whether this log appended an event (in the current transaction)."""
        return self._head is not None

    def _last(self) -> tuple[int, str]:
        row = self.conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def append(self, actor: str, event: str, record_id: str | None = None, from_state: str | None = None,
               to_state: str | None = None, reason: str | None = None, ts: str | None = None) -> dict:
        seq, prev = self._head or self._last()
        row = {"seq": seq + 1, "ts": ts or now_iso(), "actor": actor, "event": event, "record_id": record_id,
               "from_state": from_state, "to_state": to_state, "reason": reason}
        row["prev_hash"] = prev
        row["hash"] = _digest(prev, row)
        self.conn.execute(
            "INSERT INTO audit (seq, ts, actor, event, record_id, from_state, to_state, reason, prev_hash, hash)"
            " VALUES (:seq, :ts, :actor, :event, :record_id, :from_state, :to_state, :reason, :prev_hash, :hash)",
            row,
        )
        self._head = (row["seq"], row["hash"])
        return row


def verify_chain(conn) -> list[str]:
    """Problems with the chain (empty when it is intact): message ids with the first bad ``seq``."""
    prev, expected_seq = GENESIS, 1
    cursor = conn.execute(
        "SELECT seq, ts, actor, event, record_id, from_state, to_state, reason, prev_hash, hash FROM audit ORDER BY seq"
    )
    for values in cursor:
        row = dict(zip(FIELDS + ("prev_hash", "hash"), values))
        if row["seq"] != expected_seq or row["prev_hash"] != prev or row["hash"] != _digest(prev, row):
            return [f"audit chain broken at event {row['seq']}"]
        prev, expected_seq = row["hash"], expected_seq + 1
    return []


def history(conn, record_id: str) -> list[dict]:
    cursor = conn.execute(
        "SELECT seq, ts, actor, event, from_state, to_state, reason FROM audit WHERE record_id = ? ORDER BY seq",
        (record_id,),
    )
    return [dict(zip(("seq", "ts", "actor", "event", "from_state", "to_state", "reason"), r)) for r in cursor]
