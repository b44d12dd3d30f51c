"""The small worker jobs of the member lookup and updates (change requests): each runs on the DB worker thread
(``ctx.worker.run(job, ...)``: the session first) and calls the core; the widgets only show what comes back.

The core: ``fieldapp.store.members`` (the looked-up members), ``fieldapp.store.updates`` (an update's draft,
preview and re-base), ``fieldapp.store.records`` (save, submit and review work for updates as for enrollments).
"""

from __future__ import annotations

from fieldapp.domain import update as update_rules
from fieldapp.store import audit, records
from fieldapp.store import preview as record_preview
from ui.widgets.member_text import flat

#: What an update's draft keeps from its stored data when the form saves its changes over it.
KEPT = ("kind", "record_id", "member_no", "base_version")
SEARCH_LIMIT = 200


def _members():
    from fieldapp.store import members

    return members


def _updates():
    from fieldapp.store import updates

    return updates


def search_members(session, text: str, generation: int = 0, limit: int = SEARCH_LIMIT) -> tuple[int, list[dict]]:
    """Looked-up members matching ``text`` (the Records search's normalisation), tagged with the query's number."""
    return generation, [flat(item) for item in _members().search(session, text or "", limit)]


def load_member(session, member_no: str, record_id: str | None = None) -> dict:
    """A member to show or update: the looked-up entry, else the local registered record ``record_id`` that
    carries this member number (its data, with ``member_no``); ``local_record`` names that record."""
    found = _members().get(session, member_no)
    if found:
        return flat(found)
    if record_id:
        record = records.get(session, record_id)
        return dict(record["data"], member_no=record.get("member_no") or member_no, local_record=record_id)
    raise LookupError(member_no)


def save_update(session, record_id: str | None, member_no: str, changes: dict) -> dict:
    """A new update's draft (``updates.new_update``), or the draft ``record_id`` with ``changes`` over it; then
    its preview (``updates.preview``: before, after, summary, problems)."""
    if record_id is None:
        record_id = _updates().new_update(session, member_no, changes)
    else:
        data = records.get(session, record_id)["data"]
        records.save_draft(session, dict({k: data[k] for k in KEPT if k in data}, **changes), record_id)
    return {"record_id": record_id, "record": records.get(session, record_id),
            "preview": _updates().preview(session, record_id)}


def submit_update(session, record_id: str) -> str:
    records.submit(session, record_id)
    return record_id


def load_update(session, record_id: str) -> dict:
    """A stored update (to edit it again: a draft or a returned one) with its preview and its member."""
    record = records.get(session, record_id)
    preview = _updates().preview(session, record_id)
    member = _members().get(session, record["data"].get("member_no") or "")
    return {"record": record, "preview": preview,
            "member": flat(member) if member else dict(preview.get("before") or {},
                                                       member_no=record["data"].get("member_no"))}


def load_record(session, record_id: str) -> dict:
    """Any record read-only (Records, Review): an enrollment as its household (``fieldapp.store.preview.load``),
    an update as its member, base version, summary and before/after (``update``)."""
    record = records.get(session, record_id)
    if not update_rules.is_update(record.get("data")):
        return record_preview.load(session, record_id)
    history = audit.history(session.conn, record_id)
    return {"record": record, "update": _updates().preview(session, record_id), "people": [], "history": history,
            "duplicates": [], "names": record_preview.full_names(session, [record.get("created_by")]
                                                                + [e["actor"] for e in history])}


def rebase(session, record_id: str) -> str:
    """A refused stale update copied onto the member's current version: the new draft's record ID."""
    return _updates().rebase(session, record_id)


def with_members(session, candidates: list[dict]) -> list[dict]:
    """Duplicate candidates, each looked-up member's with its entry (names, birth date, village) to show."""
    out = []
    for cand in candidates or []:
        if cand.get("registered") and not cand.get("entry") and cand.get("member_no"):
            found = _members().get(session, cand["member_no"])
            cand = dict(cand, entry=flat(found)) if found else cand
        out.append(cand)
    return out


def duplicate_check(session, data: dict, record_id: str | None) -> list[dict]:
    """Before submit: ``records.duplicate_candidates`` (local records and looked-up members), members with entries."""
    return with_members(session, records.duplicate_candidates(session, data, record_id))


__all__ = ["duplicate_check", "load_member", "load_record", "load_update", "rebase", "save_update", "search_members",
           "submit_update", "with_members"]
