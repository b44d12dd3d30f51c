"""A record's status in plain words once it has left the laptop, the same on every screen and in the CLI.

"Sent, waiting for the registry", "Registered: member no. KH-REG-000001", "Held for review at the registry",
"Refused by the registry: <reason>"; before that, the state's own label (``states.label_id``). An update (a change
request) reads "Update applied: member no. X, version N" once applied, and a refusal of an update says what to do
(``stale_version``: re-base it after the next sync; ``unknown_member``; ``not_in_area``).
"""

from __future__ import annotations

from fieldapp.base.i18n import tr
from fieldapp.domain import reasons
from fieldapp.domain.states import State, label_id

HELD = "held_for_review"
#: Why the registry refuses an update (docs/protocol.md section 15), each with its own plain words.
UPDATE_REFUSALS = {"stale_version": "proof.status.update_stale", "unknown_member": "proof.status.update_unknown",
                   "not_in_area": "proof.status.update_not_in_area"}
_REFUSED = (State.REGISTRY_REJECTED.value, State.QUARANTINED.value)


def plain_status(state: str, reason: str | None = None, member_no: str | None = None, lang: str | None = None, *,
                 kind: str | None = None, version: int | None = None) -> str:
    """``kind`` ``"update"``: an update's words (``version``: the member's version it made, when known)."""
    if kind == "update":
        if state == State.REGISTERED.value and member_no:
            if version:
                return tr("proof.status.update_applied", lang, member_no=member_no, version=version)
            return tr("proof.status.update_applied_no_version", lang, member_no=member_no)
        if state in _REFUSED and reason in UPDATE_REFUSALS:
            return tr(UPDATE_REFUSALS[reason], lang)
    if state == State.SYNCED.value:
        return tr("proof.status.held" if reason == HELD else "proof.status.synced", lang)
    if state == State.REGISTERED.value:
        return tr("proof.status.registered", lang, member_no=member_no) if member_no else tr(label_id(state), lang)
    if state == State.REGISTRY_REJECTED.value and reason:  # without a reason: the state's label, not "...: "
        return tr("proof.status.refused", lang, reason=reasons.render(reason, lang))
    return tr(label_id(state), lang)


def record_status(record: dict, lang: str | None = None) -> str:
    """:func:`plain_status` of a record as ``records.get``/``list_records`` give it: an update's member number is its
    ``member_ref`` and the version it made its base version + 1 (the registry applies an update only to its base)."""
    data = record.get("data") if isinstance(record.get("data"), dict) else {}
    kind = record.get("kind") or ("update" if data.get("kind") == "update" else None)
    member_no = record.get("member_no") or (record.get("member_ref") if kind == "update" else None)
    base = data.get("base_version")
    version = base + 1 if isinstance(base, int) and not isinstance(base, bool) and kind == "update" else None
    return plain_status(record["state"], record.get("reason"), member_no, lang, kind=kind, version=version)


__all__ = ["HELD", "UPDATE_REFUSALS", "plain_status", "record_status"]
