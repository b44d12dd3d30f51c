"""One check of a card's or a slip's QR text, for every verifier (``fieldapp verify-card``, the registry's).

A card (``NC1:``) must verify with the registry signing key; a slip (``NS1:``) with the public key of the device
that signed it, looked up by the device ID it names (``device_key``: a laptop knows only its own; the registry knows
every enrolled device). What the text says before its signature is checked is never shown.
"""

from __future__ import annotations

from typing import Callable

from fieldapp.outbound import credential

MAX_TEXT = 4000


def check(text, registry_key: bytes | None, device_key: Callable[[str], bytes | None]) -> dict:
    """``{"valid": True, "kind", "claims"}`` or ``{"valid": False, "kind"?, "reason"}`` (a ``CredentialError`` code,
    ``unknown_device`` or ``no_key``)."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        return {"valid": False, "reason": "too_large" if isinstance(text, str) else "not_a_credential"}
    try:
        kind, peeked = credential.peek(text)
    except credential.CredentialError as exc:
        return {"valid": False, "reason": exc.code}
    try:
        if kind == "card":
            if registry_key is None:
                return {"valid": False, "kind": kind, "reason": "no_key"}
            return {"valid": True, "kind": kind, "claims": credential.verify_card(text, registry_key)}
        device_id = peeked.get("device_id")
        public = device_key(device_id) if isinstance(device_id, str) else None
        if public is None:
            return {"valid": False, "kind": kind, "reason": "unknown_device"}
        return {"valid": True, "kind": kind, "claims": credential.verify_slip(text, public)}
    except credential.CredentialError as exc:
        return {"valid": False, "kind": kind, "reason": exc.code}
    except ValueError:  # a key that is not an Ed25519 public key
        return {"valid": False, "kind": kind, "reason": "no_key"}
