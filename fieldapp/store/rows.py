"""A row of the ``records`` table as callers see it: the columns read, and the decoding that hides other workers'
duplicate matches from an outreach worker. Shared by ``records`` and ``search``, so neither reaches into the other.
"""

from __future__ import annotations

import json

from fieldapp.store.database import Session

COLUMNS = ("id", "state", "created_by", "created_at", "updated_at", "submitted_at", "data", "duplicates", "reason",
           "version", "member_no", "kind", "member_ref")


def decode(row: dict, session: Session | None = None) -> dict:
    """A ``records`` row (``COLUMNS``) as the record callers see: ``data`` and ``duplicates`` parsed; for an outreach
    worker, another worker's duplicate candidates show only that they exist."""
    out = dict(row)
    out["data"] = json.loads(row["data"])
    out["duplicates"] = json.loads(row["duplicates"] or "[]")
    if session is not None and out["duplicates"] and not session.is_supervisor:
        out["duplicates"] = [_redacted(session, d) for d in out["duplicates"]]
    return out


def _redacted(session: Session, cand: dict) -> dict:
    """A duplicate candidate as an outreach worker may see it: for another worker's record, only
    that it exists (its ID), not why it matched: the reason would confirm a guessed name and
    date of birth for a known national ID (or the reverse). A looked-up member (``registered``) is shown to
    everyone: the lookup is the area's, not a worker's."""
    if "record_id" not in cand:
        return cand
    owner = session.conn.execute("SELECT created_by FROM records WHERE id = ?", (cand["record_id"],)).fetchone()
    if owner is not None and owner[0] == session.name:
        return cand
    return hidden(cand["record_id"])


def hidden(record_id: str) -> dict:
    """Another worker's possible duplicate, as an outreach worker sees it: that it exists, nothing more."""
    return {"record_id": record_id, "reasons": [], "visible": False}
