"""The one definition of a record's states and of who may move a record from which state to which.

The values are the strings stored in the ``records`` table, in ``spool.db``'s ``items`` table and in the
audit trail: they never change. The order of :class:`State` is the order screens and counts list them in.

The life of a record::

    (new) -create-> draft -edit-> draft -submit-> submitted -review-> approved | returned | rejected
    draft -discard-> (deleted; the audit trail keeps that it was)
    (new) -import-> submitted          returned -edit-> returned -submit-> submitted
    approved -seal-> queued -(sync engine, pulled back)-> quarantined | synced -> registered | registry_rejected
    quarantined -requeue-> queued
    queued | synced | quarantined -restore (a backup restored on another laptop)-> approved

A pulled state never moves a record backwards (``PULL_RANK``), except out of ``quarantined``: a supervisor's
requeue in the spool, or a second answer, may move it anywhere the engine went.
"""

from __future__ import annotations

from enum import StrEnum

from fieldapp.base.errors import StateError


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    REJECTED = "rejected"
    APPROVED = "approved"
    QUEUED = "queued"
    QUARANTINED = "quarantined"
    SYNCED = "synced"
    REGISTERED = "registered"
    REGISTRY_REJECTED = "registry_rejected"


class BatchState(StrEnum):
    """A frozen batch in ``spool.db`` (not a record state)."""

    OPEN = "open"
    DONE = "done"
    ABANDONED = "abandoned"


S = State
STATES = tuple(s.value for s in State)  # plain strings, in display order
# The one label of each state, as a message id of the ``core`` catalog: every screen, list and message that shows
# a state to a person looks it up with ``label_id``, so a state reads the same everywhere. Written out (not built
# with an f-string) so that scripts/i18n-extract finds them.
LABEL_IDS: dict[str, str] = {
    S.DRAFT.value: "core.state.draft",
    S.SUBMITTED.value: "core.state.submitted",
    S.RETURNED.value: "core.state.returned",
    S.REJECTED.value: "core.state.rejected",
    S.APPROVED.value: "core.state.approved",
    S.QUEUED.value: "core.state.queued",
    S.QUARANTINED.value: "core.state.quarantined",
    S.SYNCED.value: "core.state.synced",
    S.REGISTERED.value: "core.state.registered",
    S.REGISTRY_REJECTED.value: "core.state.registry_rejected",
}
EDITABLE = (S.DRAFT.value, S.RETURNED.value)
REVIEW_ACTIONS = {"approve": S.APPROVED.value, "return": S.RETURNED.value, "reject": S.REJECTED.value}
# The states a record has once it is sealed into the outbox (it must then have an outbox row).
SEALED = (S.QUEUED.value, S.SYNCED.value, S.REGISTERED.value, S.REGISTRY_REJECTED.value, S.QUARANTINED.value)
# The states of an item in ``spool.db``: the same strings as the record states they become (spool order).
SPOOL_STATES = SEALED
# The states ``pull_states`` reads from the records (the ones the sync engine may still move on).
PULLABLE = (S.QUEUED.value, S.SYNCED.value, S.QUARANTINED.value)
# The states a restored backup resets to ``approved``: their outbox rows were sealed by the old laptop's key.
RESEND = (S.QUEUED.value, S.SYNCED.value, S.QUARANTINED.value)
# The order a pulled state may move a record in.
PULL_RANK = {S.QUEUED.value: 0, S.QUARANTINED.value: 1, S.SYNCED.value: 2, S.REGISTERED.value: 3,
             S.REGISTRY_REJECTED.value: 3}
# What a verified receipt's status makes of a spool item (``spool.apply_receipt``).
RECEIPT_STATUS = {"accepted": S.SYNCED.value, "duplicate": S.SYNCED.value, "held": S.SYNCED.value,
                  "rejected": S.QUARANTINED.value, "conflict": S.QUARANTINED.value}
# Refusals that sending again can never change (an update based on a member version the registry has moved past,
# a member it does not know or that this device does not serve): a receipt's ``rejected`` with one of these reasons
# makes the item ``registry_rejected`` at once (final; the worker re-bases an update), not ``quarantined``.
FINAL_REFUSALS = frozenset({"stale_version", "unknown_member", "not_in_area"})
# What a ``/v1/status`` answer makes of a synced spool item (``spool.apply_status``).
STATUS_ANSWER = {"registered": S.REGISTERED.value, "rejected": S.REGISTRY_REJECTED.value}


def label_id(state: str) -> str:
    """The message id of ``state``'s label: ``tr(label_id(state))`` is the text to show. A value that is not a
    record state (a damaged row) reads "Unknown record state." rather than breaking the screen showing it."""
    return LABEL_IDS.get(state, "core.record.bad_state")


def may_pull(current: str, pulled: str) -> bool:
    """Whether the sync engine's ``pulled`` state (from the spool) may replace the record's ``current`` one."""
    if current not in PULLABLE or pulled == current or pulled not in PULL_RANK:
        return False
    return PULL_RANK[pulled] >= PULL_RANK.get(current, 0) or current == S.QUARANTINED


def _pairs(sources, targets) -> frozenset:
    return frozenset((s, t) for s in sources for t in targets)


# action -> the (from, to) moves it may make; ``None`` as from: the record is new; as to: the record is deleted.
TRANSITIONS: dict[str, frozenset[tuple[str | None, str | None]]] = {
    "create": frozenset({(None, S.DRAFT.value)}),                        # an outreach worker saves a new draft
    "discard": frozenset({(S.DRAFT.value, None)}),                       # its owner (or a supervisor) deletes it
    "edit": frozenset((s, s) for s in EDITABLE),                         # its owner (or a supervisor) edits it
    "submit": _pairs(EDITABLE, [S.SUBMITTED.value]),                     # valid: goes to review
    "import": frozenset({(None, S.SUBMITTED.value)}),                    # a supervisor imports validated records
    "review": _pairs([S.SUBMITTED.value], REVIEW_ACTIONS.values()),      # a supervisor decides
    "seal": frozenset({(S.APPROVED.value, S.QUEUED.value)}),             # sealed into the outbox (device registered)
    "pull": frozenset((s, t) for s in PULLABLE for t in PULL_RANK if may_pull(s, t)),  # the sync engine's outcome
    "requeue": frozenset({(S.QUARANTINED.value, S.QUEUED.value)}),       # a supervisor sends it again
    "restore": _pairs(RESEND, [S.APPROVED.value]),                       # a backup restored: seal again here
}
# The same moves as ``spool.db`` makes them on its items (``None``: the item is added).
SPOOL_TRANSITIONS: dict[str, frozenset[tuple[str | None, str]]] = {
    "add": frozenset({(None, S.QUEUED.value)}),
    "receipt": _pairs([S.QUEUED.value], {*RECEIPT_STATUS.values(), S.REGISTRY_REJECTED.value}),  # FINAL_REFUSALS
    "quarantine": frozenset({(S.QUEUED.value, S.QUARANTINED.value)}),
    "status": _pairs([S.SYNCED.value], STATUS_ANSWER.values()),
    "requeue": frozenset({(S.QUARANTINED.value, S.QUEUED.value)}),
}


def allowed(action: str, from_state: str | None, to_state: str, table: dict | None = None) -> bool:
    return (from_state, to_state) in (TRANSITIONS if table is None else table).get(action, ())


def require(action: str, from_state: str | None, to_state: str) -> str:
    """``to_state`` when ``action`` may move a record from ``from_state`` to it; else ``StateError``."""
    if not allowed(action, from_state, to_state):
        raise StateError("core.record.not_editable", state=str(from_state))
    return str(to_state)
