"""Updates after registration (change requests) in the store: drafted from a member, checked, re-based.

An update is a record of kind ``update`` (``records.kind``) that names its member (``records.member_ref``) and has
the life of an enrollment: ``records.save_draft``, ``records.submit`` and ``records.review`` take it (they call
:func:`check` and :func:`terms` here), the outbox seals it as it seals an enrollment. Its content rules are
``fieldapp.domain.update``'s. It is based on the member's current version as this laptop knows it
(``members.base``: the lookup, or a local registered record); the registry refuses an update based on a stale
version (``stale_version``) and the worker re-bases it (:func:`rebase`) once the lookup holds the new version.
"""

from __future__ import annotations

import re

from fieldapp.base.errors import FieldappError, StateError
from fieldapp.domain import update as upd
from fieldapp.domain.states import EDITABLE, State
from fieldapp.domain.validation import validate_record
from fieldapp.store import members
from fieldapp.store.database import Session
from fieldapp.store.search import member_terms, search_terms

#: Refused update states that :func:`rebase` copies onto the member's current version.
REFUSED = (State.QUARANTINED.value, State.REGISTRY_REJECTED.value)
_TOP = re.compile(r"^[a-z_]+")


def _base(session: Session, member_no) -> dict:
    found = members.base(session, member_no)
    if found is None:
        raise FieldappError("core.update.unknown_member", member_no=str(member_no)[:40])
    return found


def terms(session: Session, data: dict) -> str:
    """An update's search terms: its member's names (from the lookup or a local record) and member number."""
    member_no = data.get("member_no") if isinstance(data, dict) else None
    if not isinstance(member_no, str):
        return ""
    found = members.base(session, member_no.strip().upper())
    names = search_terms(found["record"]) if found else ""
    return " ".join(filter(None, [names] + member_terms(member_no.strip().upper())))


def _relevant(problems, before: dict, clean: dict) -> list:
    """The problems of the member's next version that this laptop can judge: those of fields the base holds or the
    update touches (a base from the lookup holds no occupation or phone: their absence is not the update's fault)."""
    touched = set(before) | {k for k in clean if k in upd.CHANGE_FIELDS}
    if clean.get("add_dependents") or clean.get("remove_dependents"):
        touched.add("dependents")
    if clean.get("village_code"):
        touched |= {"village_code", "commune_code"}
    return [p for p in problems if (m := _TOP.match(p.path or "")) is None or m.group(0) in touched]


def next_version(found: dict, clean: dict, today=None) -> tuple[dict, list]:
    """``(after, problems)``: the member's next version as this laptop can tell it."""
    after, problems = upd.merge_update(found["record"], clean)
    if problems:
        return after, problems
    _, checked = validate_record(after, today=today, require_consent=False)
    return after, _relevant(checked, found["record"], clean)


def check(session: Session, data, record_id: str, today=None) -> tuple[dict | None, list]:
    """For ``records.submit``: ``(clean update with its record ID, [])`` or ``(None, problems)``. Raises
    ``core.update.unknown_member`` when the laptop does not know the member, ``core.update.stale_base`` when it
    knows a newer version than the update's base (re-base it first)."""
    clean, problems = upd.validate_update(data, today=today)
    if problems:
        return None, problems
    found = _base(session, clean["member_no"])
    if found["version"] > clean["base_version"]:
        raise FieldappError("core.update.stale_base", member_no=clean["member_no"], version=found["version"])
    clean = upd.pin(clean, found["record"])  # who each place names: never someone else after a re-base
    _, problems = next_version(found, clean, today)
    if problems:
        return None, problems
    return dict(clean, record_id=record_id), []


def new_update(session: Session, member_no: str, changes: dict) -> str:
    """A draft update of ``member_no`` based on its current version as this laptop knows it, holding ``changes``
    (the update document's change fields). Returns the record ID."""
    from fieldapp.store import records

    if not isinstance(changes, dict):
        raise FieldappError("core.update.bad_changes")
    found = _base(session, (member_no or "").strip().upper() if isinstance(member_no, str) else None)
    data = {k: v for k, v in changes.items() if k not in ("kind", "member_no", "base_version", "record_id")}
    data.update(kind=upd.KIND, member_no=found["member_no"], base_version=found["version"])
    return records.save_draft(session, data)


def rebase(session: Session, record_id: str) -> str:
    """An update the registry refused as stale (or a draft or returned one) onto the member's current version.

    A refused update stays as it is (its history); its copy is a new draft, whose ID is returned. A draft or
    returned update is re-based where it is (its own ID is returned). Dependents it removes or renames are named by
    their place in the base version and pinned by who they are (``was``, set at submit): they move to where the same
    people are in the current version; one no longer there refuses the re-base (``core.update.dependent_gone``)."""
    from fieldapp.store import records

    row = records.get(session, record_id)
    data = row["data"]
    if not upd.is_update(data):
        raise FieldappError("core.update.not_update")
    if row["state"] not in REFUSED + EDITABLE:
        raise StateError("core.update.not_rebasable", state=row["state"])
    found = _base(session, data.get("member_no"))
    if found["version"] == data.get("base_version"):
        raise FieldappError("core.update.not_stale", version=found["version"])
    new, lost = upd.rebase_places({k: v for k, v in data.items() if k != "record_id"}, found["record"])
    if lost:  # a dependent it removes or renames is not on the current version any more: draft it again
        raise FieldappError("core.update.dependent_gone", member_no=found["member_no"])
    new["base_version"] = found["version"]
    if row["state"] in EDITABLE:
        return records.save_draft(session, new, record_id)
    new_id = records.save_draft(session, new)
    with session.write():
        session.audit.append(session.name, "record.rebased", new_id, None, State.DRAFT.value, record_id)
    return new_id


def preview(session: Session, record_id: str, today=None) -> dict:
    """An update as a reviewer sees it: ``before`` (the member's version it is checked against, as this laptop
    knows it), ``after`` (with the update applied; None when the update is not valid yet), ``summary``
    (``fieldapp.domain.update.summary``), ``problems``, ``member_no``, ``base_version`` and ``current_version``
    (None when the laptop does not know the member)."""
    from fieldapp.store import records

    data = records.get(session, record_id)["data"]
    if not upd.is_update(data):
        raise FieldappError("core.update.not_update")
    member_no = data.get("member_no")
    found = members.base(session, member_no.strip().upper()) if isinstance(member_no, str) else None
    clean, problems = upd.validate_update(data, today=today)
    out = {"before": found["record"] if found else None, "after": None, "summary": upd.summary(clean or {}),
           "problems": problems, "member_no": member_no, "base_version": data.get("base_version"),
           "current_version": found["version"] if found else None}
    if clean is not None and found is not None:
        out["after"], out["problems"] = next_version(found, clean, today)
    return out


__all__ = ["check", "new_update", "next_version", "preview", "rebase", "terms"]
