"""Record states: status answers for devices, the registration step, housekeeping.

States: ``received`` (accepted, held), ``registered`` (the reference registry's stand-in
for the national registration step), ``rejected`` (with its reason and problem codes), ``held`` (its national ID
was first registered from another device: waiting for the operator, ``registry.review``; never registered by the
background step, and its answer names no registry ID).
Every state change stamps the row with the transaction's ``seq``; ``since`` cursors are
those numbers (see ``storage``), so a device polling with its last cursor sees each change
exactly once even with several registry processes.
"""

from __future__ import annotations

import json
import time

from fieldapp.outbound import wire
from registry.storage import Database, Tx

CHUNK = 500


def _record_view(row: tuple) -> dict:
    """A record's status entry, without null fields (status answers are signed as sent)."""
    record_id, state, registry_id, duplicate_of, member_version, seq = row
    out = {"record_id": record_id, "state": state}
    if state == "held":
        return out  # no registry ID: the one it matched is another device's
    if registry_id:
        out["registry_id"] = registry_id
    if duplicate_of:
        out["duplicate"] = True
    if member_version is not None:  # an applied update (protocol 4): the member's version it made
        out["version"] = int(member_version)
    return out


def _rejection_view(row: tuple) -> dict:
    record_id, reason, problems, seq = row
    return {"record_id": record_id, "state": "rejected", "reason": reason, "problems": json.loads(problems or "[]")}


_REC_COLS = "record_id, state, registry_id, duplicate_of, member_version, seq"
_REJ_COLS = "record_id, reason, problems, seq"


def status_by_ids(db: Database, device_id: str, record_ids: list[str]) -> list[dict]:
    """States of this device's records among ``record_ids``; unknown IDs are left out."""

    def work(tx: Tx) -> list[dict]:
        found: dict[str, dict] = {}
        ids = [r for r in dict.fromkeys(record_ids) if wire.ID_RE.match(r)]  # nothing else can be held
        for i in range(0, len(ids), CHUNK):
            part = ids[i:i + CHUNK]
            marks = ",".join("?" * len(part))
            for row in tx.execute(f"SELECT {_REJ_COLS} FROM rejections WHERE device_id = ? AND record_id IN ({marks})",
                                  [device_id, *part]):
                found[row[0]] = _rejection_view(row)
            for row in tx.execute(f"SELECT {_REC_COLS} FROM records WHERE device_id = ? AND record_id IN ({marks})",
                                  [device_id, *part]):
                found[row[0]] = _record_view(row)  # a held record wins over an older rejection
        return [found[r] for r in ids if r in found]

    return db.run(work, write=False)


def status_since(db: Database, device_id: str, cursor: int, page: int) -> tuple[list[dict], int, bool]:
    """Changes to this device's records after ``cursor``: ``(records, new_cursor, more)``.

    Rows sharing a ``seq`` (one transaction) are never split across pages.
    """

    def fetch(tx: Tx, op: str, seq: int, limit: int | None) -> list[tuple]:
        lim = f" LIMIT {int(limit)}" if limit else ""
        rec = tx.execute(f"SELECT {_REC_COLS} FROM records WHERE device_id = ? AND seq {op} ? ORDER BY seq{lim}",
                         (device_id, seq))
        rej = tx.execute(f"SELECT {_REJ_COLS} FROM rejections WHERE device_id = ? AND seq {op} ? ORDER BY seq{lim}",
                         (device_id, seq))
        return sorted([(r[-1], _record_view(r)) for r in rec] + [(r[-1], _rejection_view(r)) for r in rej],
                      key=lambda r: r[0])

    def work(tx: Tx) -> tuple[list[dict], int, bool]:
        rows = fetch(tx, ">", cursor, page + 1)
        more = len(rows) > page
        if more:
            last = rows[page][0]
            rows = [r for r in rows if r[0] < last]
            if not rows:  # one transaction larger than a page: send it whole
                rows = fetch(tx, "=", last, None)
        new_cursor = rows[-1][0] if rows else cursor
        return [view for _, view in rows], int(new_cursor), more

    return db.run(work, write=False)


def register_due(db: Database, delay: float, limit: int = 1000) -> int:
    """Move records received at least ``delay`` seconds ago to ``registered``; return how many.

    Safe with several processes: the update re-checks ``state = 'received'`` under the row
    locks, so a record is registered (and re-stamped) once.
    """

    cutoff = time.time() - delay
    probe = "SELECT 1 FROM records WHERE state = 'received' AND received_at <= ? LIMIT 1"
    if db.run(lambda tx: tx.one(probe, (cutoff,)), write=False) is None:
        return 0  # the common case: no write lock taken

    def work(tx: Tx) -> int:
        due = tx.execute("SELECT device_id, record_id FROM records WHERE state = 'received' AND received_at <= ? "
                         "ORDER BY received_at LIMIT ?", (cutoff, limit))
        if not due:
            return 0
        seq, marks = tx.next_seq(), ",".join("(?, ?)" for _ in due)
        tx.execute(f"UPDATE records SET state = 'registered', seq = ?, updated_at = ? "
                   f"WHERE state = 'received' AND (device_id, record_id) IN (VALUES {marks})",
                   [seq, time.time(), *(v for pair in due for v in pair)])
        return tx.rowcount

    return db.run(work)


def housekeeping(db: Database) -> None:
    """Drop expired nonces, stale enrollment codes and receipts past their retention."""
    now = time.time()

    def work(tx: Tx) -> None:
        tx.execute("DELETE FROM nonces WHERE expires_at < ?", (now - 60,))
        tx.execute("DELETE FROM enrollment_codes WHERE expires_at < ? AND used_at IS NULL", (now - 86400,))
        tx.execute("DELETE FROM batches WHERE expires_at < ?", (now,))

    db.run(work)


def counts(db: Database) -> dict:
    """Totals for the operator (no personal data)."""

    def work(tx: Tx) -> dict:
        out = {state: n for state, n in tx.execute("SELECT state, COUNT(*) FROM records GROUP BY state")}
        out["people"] = tx.one("SELECT COUNT(*) FROM people")[0]
        out["rejections"] = tx.one("SELECT COUNT(*) FROM rejections")[0]
        return out

    return db.run(work, write=False)
