"""Why a supervisor returned or rejected a record: a code from a fixed list, plus free text.

Stored as ``"<code>: <text>"`` (or just ``"<code>"``) in the record's ``reason`` and in the audit
trail, so that every reader sees the code's label in *their* language: an outreach worker reading
in Khmer sees a Khmer label even when their supervisor works in English. Only the free text stays
as it was typed. Reasons stored before codes existed (plain text) are shown as they are.
"""

from __future__ import annotations

from fieldapp.base.errors import FieldappError
from fieldapp.base.i18n import tr

REVIEW_REASONS = ("possible_duplicate", "wrong_name", "wrong_date_of_birth", "wrong_national_id", "wrong_address",
                  "missing_consent", "dependent_details", "other")


def compose(code: str | None, text: str | None = None) -> str | None:
    """The stored form of a reason; ``code`` must be one of ``REVIEW_REASONS`` (or None for text alone)."""
    text = (text or "").strip()
    if code is None:
        return text or None
    if code not in REVIEW_REASONS:
        raise FieldappError("core.review.bad_reason_code", code=code)
    return f"{code}: {text}" if text else code


def split(stored: str | None) -> tuple[str | None, str]:
    """``(code, text)`` of a stored reason; ``code`` is None for plain text."""
    stored = stored or ""
    head, sep, rest = stored.partition(":")
    if head in REVIEW_REASONS and (sep or not rest):
        return head, rest.strip()
    return None, stored


# Why the registry or the sync engine set a record aside, or holds it (docs/protocol.md, docs/sync.md). Only these
# codes reach the store: anything else a spool or an answer says is stored as ``unknown`` (``known_reason``), never
# as the text it came with.
QUARANTINE_REASONS = ("invalid_record", "malformed_item", "wrong_device", "bad_item_signature", "undecryptable",
                      "content_hash_mismatch", "malformed_record", "record_id_mismatch", "conflict", "not_in_receipt",
                      "batch_too_large", "approval_required", "no_approval_key", "bad_approval_signature", "rejected",
                      "held_for_review", "stale_version", "unknown_member", "not_in_area", "unknown")


def known_reason(code) -> str:
    """``code`` if it is one of ``QUARANTINE_REASONS``, else ``unknown``."""
    return code if isinstance(code, str) and code in QUARANTINE_REASONS else "unknown"


def render(stored: str | None, lang: str | None = None) -> str:
    """A stored reason as ``lang``'s reader sees it: the code's label, then the free text. A quarantine
    code from the registry or the sync engine is shown as its label, with the code for IT."""
    if stored in QUARANTINE_REASONS:
        return f"{tr(f'sync.quarantine.{stored}', lang)} ({stored})"
    code, text = split(stored)
    if code is None:
        return text
    label = tr(f"forms.reason.{code}", lang)
    return f"{label}: {text}" if text else label
