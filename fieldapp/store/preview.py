"""Everything a read-only view of one record shows, read in one call: the record, its household, its duplicate
candidates, its history and the full names of the people in that history.

Who may see what is ``records.get``'s rule (an outreach worker sees only their own records; anyone else's is
"not found"), and the duplicate candidates come from ``records.duplicate_candidates`` and the record's stored
matches, both already cut down to what this user may see.
"""

from __future__ import annotations

from datetime import date, datetime

from fieldapp.domain import household
from fieldapp.store import audit, records
from fieldapp.store.database import Session


def duplicates(session: Session, record: dict) -> list[dict]:
    """The record's stored matches (with the fields that differ where they can be compared now), then any
    candidate found since (local records and looked-up members)."""
    found = {_key(c): c for c in records.duplicate_candidates(session, record["data"], record["id"])}
    stored = [found.pop(_key(d), dict(d, differences=None)) for d in record["duplicates"]]
    return stored + list(found.values())


def _key(cand: dict) -> tuple:
    """A candidate's identity: a local record's ID, or a looked-up member's number."""
    return ("record", cand["record_id"]) if "record_id" in cand else ("member", cand.get("member_no"))


def full_names(session: Session, names) -> dict[str, str]:
    """{login name: full name} for the given login names (the login name itself where no full name is known)."""
    wanted = sorted({n for n in names if isinstance(n, str) and n})
    if not wanted:
        return {}
    rows = session.conn.execute(f"SELECT name, full_name FROM users WHERE name IN ({', '.join('?' * len(wanted))})",
                                wanted).fetchall()
    known = {name: full or name for name, full in rows}
    return {name: known.get(name, name) for name in wanted}


def load(session: Session, record_id: str, today: date | None = None) -> dict:
    """The record as a household preview: ``record`` (``records.get``), ``people`` (``household.people``),
    ``address`` (``household.address``), ``consent``, ``duplicates``, ``history`` (``audit.history``) and
    ``names`` (full names of the enrolling worker and everyone in the history)."""
    today = today or datetime.now().astimezone().date()
    record = records.get(session, record_id)
    history = audit.history(session.conn, record_id)
    data = record["data"]
    return {"record": record, "people": household.people(data, today), "address": household.address(data),
            "consent": household.consent(data), "duplicates": duplicates(session, record), "history": history,
            "names": full_names(session, [record.get("created_by")] + [e["actor"] for e in history])}


__all__ = ["duplicates", "full_names", "load"]
