"""The sync wire format: keys, canonical JSON, sealed records and batches (receipts, status answers and other
signed answers: ``proofs``; USB bundles: ``bundle``).

Pure functions over bytes, shared by the device (``sync/``, ``fieldapp/outbound/spool.py``) and the
registry (``registry/``). No HTTP, no Qt, no files except through the caller. Every failure
raises :class:`WireError` whose ``.reason`` is a machine-readable code; messages never hold
record contents. See docs/protocol.md for the full protocol.

Item version 2 (this release) has no hash of the record outside the ciphertext and carries a supervisor's approval
signature (the approval key only supervisor key slots reach); version 1 (``content_hash`` in the clear, no approval)
is what release 0.1.0 sends, still taken from a device with no approval key registered.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import json
import os
import re
import zlib
from datetime import date

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldapp.base import encoding
from fieldapp.domain.signed import key_fingerprint

ITEM_V1, ITEM_V2 = 1, 2
WIRE_VERSION = ITEM_V2  # what this release writes (items and batches)
VERSIONS = (ITEM_V1, ITEM_V2)
MAX_COMPRESSED = 8 * 1024 * 1024  # default limits; the registry makes them configurable
MAX_DECOMPRESSED = 32 * 1024 * 1024
MAX_ITEMS = 1000
MAX_CT_BYTES = 256 * 1024
STATUSES = ("accepted", "duplicate", "rejected", "conflict", "held")  # receipt results (held: version 2 batches)
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")  # record, batch and device IDs
KEY_RE = re.compile(r"^[!-~]{1,200}\Z")  # idempotency keys: visible ASCII, no spaces
HEX64_RE = re.compile(r"^[0-9a-f]{64}\Z")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
ITEM_FIELDS_V1 = frozenset({"v", "record_id", "device_id", "enrolled_on", "content_hash", "epk", "nonce", "ct", "sig"})
# A version 2 item carries one signature, the supervisor's approval (by a key registered for that very device), and no
# device signature of its own: the device signs the batch (and a USB bundle's manifest) it travels in.
ITEM_FIELDS_V2 = frozenset({"v", "record_id", "device_id", "enrolled_on", "epk", "nonce", "ct", "approval"})
ITEM_FIELDS = ITEM_FIELDS_V2
FP_RE = re.compile(r"^[0-9a-f]{32}\Z")  # key fingerprints: the first 16 bytes of SHA-256, hex
_RAW = serialization.Encoding.Raw


class WireError(Exception):
    """A wire-level failure; ``reason`` is a stable machine-readable code."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# ---------------------------------------------------------------- encoding helpers
def b64e(data: bytes) -> str:
    """Standard base64 (with padding) as text."""
    return encoding.b64encode(data)


def b64d(text: str) -> bytes:
    """Strict base64 decode; raises ``WireError("bad_base64")``."""
    if not isinstance(text, str):
        raise WireError("bad_base64", "not a string")
    try:
        return encoding.b64decode(text)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise WireError("bad_base64") from None


def canonical_json(obj) -> bytes:
    """Sorted keys, no spaces, UTF-8, no NaN: the bytes every signature covers."""
    return encoding.canonical_json(obj, allow_nan=False)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def loads_json(data: bytes, reason: str = "malformed"):
    """Parse UTF-8 JSON, turning every parser failure (deep nesting too) into ``WireError``."""
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise WireError(reason, "not valid JSON") from None


def now_iso() -> str:
    """The wire's timestamp, UTC to the second with ``Z`` (``encoding.wire_time``)."""
    return encoding.wire_time()


# ---------------------------------------------------------------- keys and signatures
def new_device_keys() -> tuple[bytes, bytes]:
    """A fresh Ed25519 device key pair as raw bytes ``(private, public)``."""
    key = Ed25519PrivateKey.generate()
    return key.private_bytes_raw(), key.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)


@functools.lru_cache(maxsize=8)
def _private_key(private_raw: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(private_raw)


def ed25519_public(private_raw: bytes) -> bytes:
    return _private_key(private_raw).public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)


def x25519_public(private_raw: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private_raw).public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)


def new_registry_keys() -> dict:
    """Registry key material: X25519 sealing pair and Ed25519 signing pair (raw bytes)."""
    seal = X25519PrivateKey.generate().private_bytes_raw()
    sign_private, sign_public = new_device_keys()
    return {"seal_private": seal, "seal_public": x25519_public(seal), "sign_private": sign_private, "sign_public": sign_public}


def check_public_key(raw: bytes) -> bytes:
    """Raise ``WireError("bad_public_key")`` unless ``raw`` is a usable Ed25519 public key."""
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError):
        raise WireError("bad_public_key") from None
    return raw


def sign(private_raw: bytes, message: bytes) -> str:
    """Ed25519 signature of ``message``, base64."""
    return b64e(_private_key(private_raw).sign(message))


def verify(public_raw: bytes, message: bytes, signature_b64, reason: str = "bad_signature") -> None:
    """Raise ``WireError(reason)`` unless ``signature_b64`` is a valid signature of ``message``."""
    try:
        sig = b64d(signature_b64)
        Ed25519PublicKey.from_public_bytes(public_raw).verify(sig, message)
    except (WireError, InvalidSignature, ValueError, TypeError):
        raise WireError(reason) from None


def auth_message(device_id: str, nonce: str) -> bytes:
    """What a device signs to answer a login challenge."""
    return canonical_json({"purpose": "fieldapp-auth-v1", "device_id": device_id, "nonce": nonce})


def sign_challenge(device_id: str, nonce: str, device_private: bytes) -> str:
    return sign(device_private, auth_message(device_id, nonce))


# ---------------------------------------------------------------- sealed records
def content_hash(record: dict) -> str:
    """Hex SHA-256 of the canonical JSON of ``record`` without ``record_id`` (version 1 items only)."""
    return sha256_hex(canonical_json({k: v for k, v in record.items() if k != "record_id"}))


_AAD_FIELDS = {ITEM_V1: ("v", "record_id", "device_id", "enrolled_on", "content_hash"),
               ITEM_V2: ("v", "record_id", "device_id", "enrolled_on")}
_SEAL_INFO = {ITEM_V1: b"fieldapp-seal-v1", ITEM_V2: b"fieldapp-seal-v2"}


def _seal_aad(item: dict) -> bytes:
    return canonical_json({k: item[k] for k in _AAD_FIELDS[item["v"]]})


def _seal_key(shared: bytes, epk: bytes, seal_public: bytes, version: int = ITEM_V1) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + seal_public, info=_SEAL_INFO[version])
    return hkdf.derive(shared)


def approval_message(item: dict) -> bytes:
    """What a supervisor's approval key signs: the sealed content of a version 2 item (not its device signature)."""
    return canonical_json({"purpose": "fieldapp-approval-v1", **{k: item[k] for k in (
        "v", "record_id", "device_id", "enrolled_on", "epk", "nonce", "ct")}})


def seal_record(record: dict, *, record_id: str, device_id: str, enrolled_on: str, seal_public: bytes,
                device_private: bytes, approval_private: bytes | None = None) -> dict:
    """Encrypt ``record`` to the registry and sign it: with the approval key (version 2), or without one with the
    device key (version 1: what laptops of release 0.1.0 send, kept for them and for tests that stand for them).
    """
    version = ITEM_V2 if approval_private is not None else ITEM_V1
    eph = X25519PrivateKey.generate()
    epk = eph.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    key = _seal_key(eph.exchange(X25519PublicKey.from_public_bytes(seal_public)), epk, seal_public, version)
    item = {"v": version, "record_id": record_id, "device_id": device_id, "enrolled_on": enrolled_on}
    if version == ITEM_V1:
        item["content_hash"] = content_hash(record)
    nonce = os.urandom(12)
    # compressed before encryption: ciphertext does not compress, and a record's JSON shrinks to about a third;
    # each record is compressed alone, so no other record's content shares its compression context
    plain = zlib.compress(canonical_json(record), 9)
    item.update(epk=b64e(epk), nonce=b64e(nonce), ct=b64e(AESGCM(key).encrypt(nonce, plain, _seal_aad(item))))
    if version == ITEM_V2:
        item["approval"] = approve(item, approval_private)
    else:
        item["sig"] = sign(device_private, canonical_json(item))
    return item


def approve(item: dict, approval_private: bytes) -> dict:
    """The ``approval`` field of a version 2 item: ``{"key": fingerprint, "sig": base64}``."""
    return {"key": _fingerprint_of(approval_private), "sig": sign(approval_private, approval_message(item))}


@functools.lru_cache(maxsize=8)
def _fingerprint_of(private_raw: bytes) -> str:
    return key_fingerprint(ed25519_public(private_raw))


def verify_approval(item: dict, approval_public: bytes) -> None:
    """Raise ``WireError("bad_approval_signature")`` unless a version 2 item's approval verifies with ``approval_public``."""
    approval = item.get("approval")
    if item.get("v") != ITEM_V2 or not isinstance(approval, dict) or approval.get("key") != key_fingerprint(approval_public):
        raise WireError("bad_approval_signature")
    verify(approval_public, approval_message(item), approval.get("sig"), "bad_approval_signature")


def _is_iso_date(value) -> bool:
    try:
        return isinstance(value, str) and bool(DATE_RE.match(value)) and date.fromisoformat(value) is not None
    except ValueError:
        return False


def check_item(item) -> dict:
    """Raise ``WireError("malformed_item")`` unless ``item`` has exactly the sealed-item shape of its version."""
    if not isinstance(item, dict) or isinstance(item.get("v"), bool) or item.get("v") not in VERSIONS:
        raise WireError("malformed_item", "fields")
    if set(item) != (ITEM_FIELDS_V1 if item["v"] == ITEM_V1 else ITEM_FIELDS_V2):
        raise WireError("malformed_item", "fields")
    for name in ("record_id", "device_id"):
        if not isinstance(item[name], str) or not ID_RE.match(item[name]):
            raise WireError("malformed_item", name)
    if not _is_iso_date(item["enrolled_on"]):
        raise WireError("malformed_item", "enrolled_on")
    if item["v"] == ITEM_V1 and (not isinstance(item["content_hash"], str) or not HEX64_RE.match(item["content_hash"])):
        raise WireError("malformed_item", "content_hash")
    if item["v"] == ITEM_V2:
        approval = item["approval"]
        if (not isinstance(approval, dict) or set(approval) != {"key", "sig"} or not isinstance(approval["key"], str)
                or not FP_RE.match(approval["key"])):
            raise WireError("malformed_item", "approval")
        _check_b64(approval["sig"], 64, "approval")
    for name, size in (("epk", 32), ("nonce", 12), ("sig", 64), ("ct", None)) if item["v"] == ITEM_V1 else \
            (("epk", 32), ("nonce", 12), ("ct", None)):
        _check_b64(item[name], size, name)
    return item


def _check_b64(text, size: int | None, name: str) -> None:
    if not isinstance(text, str) or len(text) > (200 if size else MAX_CT_BYTES * 4 // 3 + 4):
        raise WireError("malformed_item", name)
    try:
        raw = b64d(text)
    except WireError:
        raise WireError("malformed_item", name) from None
    if size and len(raw) != size:
        raise WireError("malformed_item", name)


def verify_item(item: dict, device_public: bytes) -> None:
    """Check shape and (version 1) the device signature over every other field of a sealed item. A version 2 item
    is proven by its approval signature instead (``verify_approval``, with the device's registered key)."""
    check_item(item)
    if item["v"] == ITEM_V2:
        return
    unsigned = {k: v for k, v in item.items() if k != "sig"}
    verify(device_public, canonical_json(unsigned), item["sig"], "bad_item_signature")


MAX_RECORD_BYTES = 256 * 1024


def _require_canonical(doc, raw: bytes, reason: str) -> None:
    """Refuse JSON that is not exactly its canonical form: duplicate keys (read last-wins by one parser and
    first-wins by another), extra spaces or escapes would let one signature cover two meanings."""
    try:
        same = canonical_json(doc) == raw
    except (ValueError, TypeError, UnicodeEncodeError, RecursionError):
        same = False
    if not same:
        raise WireError(reason, "not canonical JSON")


def _inflate_record(packed: bytes) -> bytes:
    """Decompress a record's JSON, refusing more than ``MAX_RECORD_BYTES`` (a compression bomb)."""
    inflater = zlib.decompressobj()
    try:
        plain = inflater.decompress(packed, MAX_RECORD_BYTES + 1)
    except zlib.error:
        raise WireError("undecryptable", "bad compression") from None
    if len(plain) > MAX_RECORD_BYTES or inflater.unconsumed_tail:
        raise WireError("malformed_record", "too large")
    if not inflater.eof:
        raise WireError("undecryptable", "truncated")
    return plain


def open_sealed(item: dict, *, seal_private: bytes, device_public: bytes) -> dict:
    """Registry side: verify the device signature, decrypt, check the content hash (version 1); return the record.

    The approval signature of a version 2 item is checked by the caller (``verify_approval``), which knows the
    device's registered approval key."""
    verify_item(item, device_public)
    epk = b64d(item["epk"])
    try:
        priv = X25519PrivateKey.from_private_bytes(seal_private)
        key = _seal_key(priv.exchange(X25519PublicKey.from_public_bytes(epk)), epk, x25519_public(seal_private),
                        item["v"])
        packed = AESGCM(key).decrypt(b64d(item["nonce"]), b64d(item["ct"]), _seal_aad(item))
    except (InvalidTag, ValueError):
        raise WireError("undecryptable") from None
    plain = _inflate_record(packed)
    record = loads_json(plain, "undecryptable")
    _require_canonical(record, plain, "malformed_record")
    if not isinstance(record, dict):
        raise WireError("malformed_record", "not an object")
    if item["v"] == ITEM_V1:
        try:
            digest = content_hash(record)
        except (ValueError, UnicodeEncodeError, RecursionError):  # NaN, lone surrogates, absurd nesting
            raise WireError("malformed_record", "not canonical JSON") from None
        if digest != item["content_hash"]:
            raise WireError("content_hash_mismatch")
    if "record_id" in record and record["record_id"] != item["record_id"]:
        raise WireError("record_id_mismatch")
    return record


# ---------------------------------------------------------------- batches (``fieldapp.outbound.batch``)
_BATCH = frozenset({"batch_message", "build_batch", "gunzip_limited", "parse_batch", "sign_batch",
                    "verify_batch_signature"})


def __getattr__(name: str):
    """The batch functions, still reachable as ``wire.NAME`` (they live in ``batch``, which imports this module)."""
    if name in _BATCH:
        from fieldapp.outbound import batch

        return getattr(batch, name)
    raise AttributeError(name)
