"""Statements the supervisor approval key signs inside a laptop: audit chain heads and user roles.

Pure functions (Ed25519 from ``cryptography``, canonical JSON): the store signs with them, ``verify`` and the
registry check with them. A statement names its purpose, so a signature made for one can never pass as another.

- **Audit head** ``{"head": {"store_id", "seq", "hash", "signed_at"}, "key", "sig"}``: the audit chain up to ``seq``
  hashes to ``hash``. Signed after every supervisor transaction; a version 2 batch carries the newest one.
- **Role** of a user (name, role, disabled), bound to the store ID: an outreach worker who edits the ``users``
  table cannot make the signature match.
"""

from __future__ import annotations

import base64
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fieldapp.base.encoding import canonical_json

_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")
_FP = re.compile(r"^[0-9a-f]{32}\Z")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_HEAD_FIELDS = {"store_id", "seq", "hash", "signed_at"}


class BadStatement(ValueError):
    """A signed statement that is malformed or whose signature does not verify (``reason`` says which)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def key_fingerprint(public_raw: bytes) -> str:
    """The 32-hex-digit name of a public key."""
    return hashlib.sha256(public_raw).hexdigest()[:32]


def public_of(private_raw: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(private_raw).public_key().public_bytes_raw()


def new_key() -> bytes:
    """A new Ed25519 private key (raw 32 bytes)."""
    return Ed25519PrivateKey.generate().private_bytes_raw()


def _sign(private_raw: bytes, message: bytes) -> str:
    return base64.b64encode(Ed25519PrivateKey.from_private_bytes(private_raw).sign(message)).decode("ascii")


def _verify(public_raw: bytes, message: bytes, signature, reason: str) -> None:
    try:
        if not isinstance(signature, str) or len(signature) > 200:
            raise ValueError
        Ed25519PublicKey.from_public_bytes(public_raw).verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError, TypeError):
        raise BadStatement(reason) from None


# -- audit heads ------------------------------------------------------------------------------------------------------
def _head_message(head: dict) -> bytes:
    return canonical_json({"purpose": "fieldapp-audit-head-v1", **head}, allow_nan=False)


def sign_audit_head(store_id: str, seq: int, chain_hash: str, signed_at: str, approval_private: bytes) -> dict:
    """The signed head of a store's audit chain at ``seq``."""
    head = {"store_id": store_id, "seq": int(seq), "hash": chain_hash, "signed_at": signed_at}
    return {"head": head, "key": key_fingerprint(public_of(approval_private)),
            "sig": _sign(approval_private, _head_message(head))}


def check_audit_head(signed) -> dict:
    """``signed`` if it has the shape of a signed audit head (signature not checked), else ``BadStatement``."""
    head = signed.get("head") if isinstance(signed, dict) else None
    if (not isinstance(head, dict) or set(signed) != {"head", "key", "sig"} or set(head) != _HEAD_FIELDS
            or type(head["seq"]) is not int or not 0 <= head["seq"] < 2 ** 62 or not isinstance(head["hash"], str)
            or not _HEX64.match(head["hash"]) or not isinstance(head["store_id"], str) or not _ID.match(head["store_id"])
            or not isinstance(head["signed_at"], str) or len(head["signed_at"]) > 40
            or not isinstance(signed["key"], str) or not _FP.match(signed["key"])):
        raise BadStatement("bad_audit_head")
    return signed


def verify_audit_head(signed, approval_public: bytes) -> dict:
    """The head (``store_id``, ``seq``, ``hash``, ``signed_at``) when ``approval_public`` signed it."""
    check_audit_head(signed)
    if signed["key"] != key_fingerprint(approval_public):
        raise BadStatement("bad_audit_head")
    _verify(approval_public, _head_message(signed["head"]), signed["sig"], "bad_audit_head")
    return signed["head"]


# -- roles -------------------------------------------------------------------------------------------------------------
def _role_message(store_id: str, name: str, role: str, disabled: bool) -> bytes:
    return canonical_json({"purpose": "fieldapp-role-v1", "store_id": store_id, "name": name, "role": role,
                           "disabled": bool(disabled)}, allow_nan=False)


def sign_role(store_id: str, name: str, role: str, disabled: bool, approval_private: bytes) -> str:
    return _sign(approval_private, _role_message(store_id, name, role, disabled))


def role_ok(store_id: str, name: str, role: str, disabled: bool, signature, approval_public: bytes) -> bool:
    try:
        _verify(approval_public, _role_message(store_id, name, role, bool(disabled)), signature, "bad_role")
        return True
    except BadStatement:
        return False
