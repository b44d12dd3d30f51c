"""Drafts a worker leaves behind: discard one, or find the last one to offer it again after a restart.

A draft is work in progress that was never submitted: discarding it deletes the row (its data leaves the store) and
appends ``record.discarded`` to the audit trail, in one transaction. Only a draft, and only by the worker who
started it or a supervisor. An outreach worker never learns of another worker's draft (``not found``).
"""

from __future__ import annotations

import json

from fieldapp.base.errors import PermissionDenied, StateError
from fieldapp.domain import states
from fieldapp.domain.states import State
from fieldapp.store.database import Session
from fieldapp.store.records import _row


def discard_draft(session: Session, record_id: str) -> None:
    """Delete the draft ``record_id`` with its audit event (``StateError`` for any other state)."""
    with session.write() as tx:
        row = _row(session, record_id)
        if row["state"] != State.DRAFT:
            raise StateError("core.record.discard_not_draft")
        if row["created_by"] != session.name and not session.is_supervisor:
            raise PermissionDenied("core.record.not_yours")
        if not states.allowed("discard", row["state"], None):
            raise StateError("core.record.discard_not_draft")
        tx.execute("DELETE FROM records WHERE id = ? AND state = ?", (record_id, State.DRAFT.value))
        session.audit.append(session.name, "record.discarded", record_id, row["state"], None)


def latest_draft(session: Session) -> dict | None:
    """This user's most recently saved draft as ``{"id", "updated_at", "data"}``, or None."""
    row = session.conn.execute(
        "SELECT id, updated_at, data FROM records WHERE state = ? AND created_by = ? ORDER BY updated_at DESC, id"
        " LIMIT 1", (State.DRAFT.value, session.name)).fetchone()
    if row is None:
        return None
    return {"id": row[0], "updated_at": row[1], "data": json.loads(row[2])}
