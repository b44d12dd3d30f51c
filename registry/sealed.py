"""Sealed items at rest in the registry database: no unkeyed hash of record content outside the ciphertext.

A version 2 item is stored exactly as received. A version 1 item (release 0.1.0 laptops) carries ``content_hash``,
an unsalted SHA-256 of the plaintext record, in the clear: anyone reading the database could test a guessed record
against it. It cannot simply be dropped: it is part of the AES-GCM associated data (and of the device signature), so
without it the stored copy could never be decrypted again. So the registry stores it *wrapped*: AES-256-GCM under a
key derived from the national-ID key (``keys.HASH_WRAP_INFO``), bound to the item's ephemeral key, in the field
``content_hash_wrapped`` instead of ``content_hash``. ``open_stored`` unwraps it and runs the normal checks, so the
stored copy's device signature is still verified on every export. Reading it needs ``registry-keys.json``, which
also opens every sealed record: the wrap adds no new secret, it only takes the guessable hash out of the database.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fieldapp.outbound import wire
from registry.keys import HASH_WRAP_INFO, RegistryKeys

WRAPPED = "content_hash_wrapped"


def _aad(item: dict) -> bytes:
    return wire.canonical_json({"purpose": "fieldapp-registry-hash-wrap-v1", "epk": item["epk"],
                                "record_id": item["record_id"], "device_id": item["device_id"]})


def stored_form(item: dict, keys: RegistryKeys) -> dict:
    """What the database keeps of a checked item: version 2 as is, version 1 with its content hash wrapped."""
    if item.get("v") != wire.ITEM_V1:
        return item
    nonce = os.urandom(12)
    box = AESGCM(keys.derived(HASH_WRAP_INFO)).encrypt(nonce, bytes.fromhex(item["content_hash"]), _aad(item))
    out = {k: v for k, v in item.items() if k != "content_hash"}
    out[WRAPPED] = wire.b64e(nonce + box)
    return out


def wire_form(stored: dict, keys: RegistryKeys) -> dict:
    """The item as the device sent it (the content hash unwrapped); ``WireError("undecryptable")`` if damaged."""
    if WRAPPED not in stored:
        return stored
    raw = wire.b64d(stored[WRAPPED])
    item = {k: v for k, v in stored.items() if k != WRAPPED}
    try:
        digest = AESGCM(keys.derived(HASH_WRAP_INFO)).decrypt(raw[:12], raw[12:], _aad(item))
    except (InvalidTag, ValueError, KeyError):
        raise wire.WireError("undecryptable", "wrapped content hash") from None
    item["content_hash"] = digest.hex()
    return item


def open_stored(stored: dict, keys: RegistryKeys, device_public: bytes, approval_public: bytes | None = None) -> dict:
    """The record inside a stored item, after its signature check: the device's (version 1, with the content hash),
    or the approval key's the device had registered (version 2: ``approval_public``, current or retired)."""
    item = wire_form(stored, keys)
    if item.get("v") == wire.ITEM_V2:
        if approval_public is None:
            raise wire.WireError("bad_approval_signature", "no such approval key")
        wire.verify_approval(item, approval_public)
    return wire.open_sealed(item, seal_private=keys.seal_private, device_public=device_public)
