"""A record's status in plain words once it has left the laptop, the same on every screen and in the CLI.

"Sent, waiting for the registry", "Registered: member no. KH-REG-000001", "Held for review at the registry",
"Refused by the registry: <reason>"; before that, the state's own label (``states.label_id``).
"""

from __future__ import annotations

from fieldapp.base.i18n import tr
from fieldapp.domain import reasons
from fieldapp.domain.states import State, label_id

HELD = "held_for_review"


def plain_status(state: str, reason: str | None = None, member_no: str | None = None, lang: str | None = None) -> str:
    if state == State.SYNCED.value:
        return tr("proof.status.held" if reason == HELD else "proof.status.synced", lang)
    if state == State.REGISTERED.value:
        return tr("proof.status.registered", lang, member_no=member_no) if member_no else tr(label_id(state), lang)
    if state == State.REGISTRY_REJECTED.value and reason:  # without a reason: the state's label, not "...: "
        return tr("proof.status.refused", lang, reason=reasons.render(reason, lang))
    return tr(label_id(state), lang)
