"""What a user has to do and has done today (Home): their records returned for correction, their drafts, and how
many records they submitted today. Only the user's own records, whatever their role."""

from __future__ import annotations

import json
from datetime import date, datetime

from fieldapp.domain.states import State
from fieldapp.store.database import Session

LIMIT = 50


def _name(data: dict) -> str:
    """The person's name as written (Khmer family name first), else the Latin one; empty for a nameless draft."""
    def joined(*keys):
        return " ".join(data[k].strip() for k in keys if isinstance(data.get(k), str) and data[k].strip())

    return joined("family_name", "given_name") or joined("family_name_latin", "given_name_latin")


def _items(session: Session, state: str, limit: int) -> tuple[int, list[dict]]:
    conn = session.conn
    total = conn.execute("SELECT count(*) FROM records WHERE created_by = ? AND state = ?",
                         (session.name, state)).fetchone()[0]
    rows = conn.execute("SELECT id, updated_at, reason, data FROM records WHERE created_by = ? AND state = ?"
                        " ORDER BY updated_at DESC, id LIMIT ?", (session.name, state, int(limit))).fetchall()
    items = []
    for record_id, updated_at, reason, data in rows:
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = {}
        items.append({"id": record_id, "updated_at": updated_at, "reason": reason,
                      "name": _name(parsed if isinstance(parsed, dict) else {})})
    return total, items


def my_work(session: Session, today: date | None = None, limit: int = LIMIT) -> dict:
    """``returned`` and ``drafts`` (newest first, at most ``limit`` each: id, name, updated_at, reason) with their
    totals ``returned_total`` and ``drafts_total``, and ``submitted_today``: the user's records submitted on the
    laptop's local day (drafts never count; a record returned and submitted again today counts once)."""
    today = today or datetime.now().astimezone().date()
    returned_total, returned = _items(session, State.RETURNED.value, limit)
    drafts_total, drafts = _items(session, State.DRAFT.value, limit)
    submitted = session.conn.execute(
        "SELECT count(*) FROM records WHERE created_by = ? AND state != ? AND submitted_at IS NOT NULL"
        " AND submitted_at >= ? AND date(submitted_at, 'localtime') = ?",
        (session.name, State.DRAFT.value, date.fromordinal(today.toordinal() - 1).isoformat(),
         today.isoformat())).fetchone()[0]
    return {"returned": returned, "returned_total": returned_total, "drafts": drafts, "drafts_total": drafts_total,
            "submitted_today": submitted}
