"""The sync wire format: keys, canonical JSON, sealed records, batches, receipts (USB bundles: ``wire_bundle``).

Pure functions over bytes, shared by the device (``sync/``, ``fieldapp/outbound/spool.py``) and the
registry (``registry/``). No HTTP, no Qt, no files except through the caller. Every failure
raises :class:`WireError` whose ``.reason`` is a machine-readable code; messages never hold
record contents. See docs/protocol.md for the full protocol.
"""

from __future__ import annotations

import binascii
import gzip
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

WIRE_VERSION = 1
MAX_COMPRESSED = 8 * 1024 * 1024  # default limits; the registry makes them configurable
MAX_DECOMPRESSED = 32 * 1024 * 1024
MAX_ITEMS = 1000
MAX_CT_BYTES = 256 * 1024
STATUSES = ("accepted", "duplicate", "rejected", "conflict")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")  # record, batch and device IDs
KEY_RE = re.compile(r"^[!-~]{1,200}\Z")  # idempotency keys: visible ASCII, no spaces
HEX64_RE = re.compile(r"^[0-9a-f]{64}\Z")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
ITEM_FIELDS = frozenset({"v", "record_id", "device_id", "enrolled_on", "content_hash", "epk", "nonce", "ct", "sig"})
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


def ed25519_public(private_raw: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(private_raw).public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)


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
    return b64e(Ed25519PrivateKey.from_private_bytes(private_raw).sign(message))


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
    """Hex SHA-256 of the canonical JSON of ``record`` without ``record_id``."""
    return sha256_hex(canonical_json({k: v for k, v in record.items() if k != "record_id"}))


def _seal_aad(item: dict) -> bytes:
    return canonical_json({k: item[k] for k in ("v", "record_id", "device_id", "enrolled_on", "content_hash")})


def _seal_key(shared: bytes, epk: bytes, seal_public: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + seal_public, info=b"fieldapp-seal-v1")
    return hkdf.derive(shared)


def seal_record(record: dict, *, record_id: str, device_id: str, enrolled_on: str, seal_public: bytes,
                device_private: bytes) -> dict:
    """Encrypt ``record`` to the registry and sign the sealed item with the device key."""
    eph = X25519PrivateKey.generate()
    epk = eph.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    key = _seal_key(eph.exchange(X25519PublicKey.from_public_bytes(seal_public)), epk, seal_public)
    item = {"v": WIRE_VERSION, "record_id": record_id, "device_id": device_id, "enrolled_on": enrolled_on,
            "content_hash": content_hash(record)}
    nonce = os.urandom(12)
    # compressed before encryption: ciphertext does not compress, and a record's JSON shrinks to about a third;
    # each record is compressed alone, so no other record's content shares its compression context
    plain = zlib.compress(canonical_json(record), 9)
    item.update(epk=b64e(epk), nonce=b64e(nonce), ct=b64e(AESGCM(key).encrypt(nonce, plain, _seal_aad(item))))
    item["sig"] = sign(device_private, canonical_json(item))
    return item


def _is_iso_date(value) -> bool:
    try:
        return isinstance(value, str) and bool(DATE_RE.match(value)) and date.fromisoformat(value) is not None
    except ValueError:
        return False


def check_item(item) -> dict:
    """Raise ``WireError("malformed_item")`` unless ``item`` has exactly the sealed-item shape."""
    if not isinstance(item, dict) or set(item) != ITEM_FIELDS or item["v"] != WIRE_VERSION or isinstance(item["v"], bool):
        raise WireError("malformed_item", "fields")
    for name in ("record_id", "device_id"):
        if not isinstance(item[name], str) or not ID_RE.match(item[name]):
            raise WireError("malformed_item", name)
    if not _is_iso_date(item["enrolled_on"]):
        raise WireError("malformed_item", "enrolled_on")
    if not isinstance(item["content_hash"], str) or not HEX64_RE.match(item["content_hash"]):
        raise WireError("malformed_item", "content_hash")
    for name, size in (("epk", 32), ("nonce", 12), ("sig", 64), ("ct", None)):
        text = item[name]
        if not isinstance(text, str) or len(text) > (200 if size else MAX_CT_BYTES * 4 // 3 + 4):
            raise WireError("malformed_item", name)
        try:
            raw = b64d(text)
        except WireError:
            raise WireError("malformed_item", name) from None
        if size and len(raw) != size:
            raise WireError("malformed_item", name)
    return item


def verify_item(item: dict, device_public: bytes) -> None:
    """Check shape and the device signature over every other field of a sealed item."""
    check_item(item)
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
    """Registry side: verify the device signature, decrypt, check the content hash; return the record."""
    verify_item(item, device_public)
    epk = b64d(item["epk"])
    try:
        priv = X25519PrivateKey.from_private_bytes(seal_private)
        key = _seal_key(priv.exchange(X25519PublicKey.from_public_bytes(epk)), epk, x25519_public(seal_private))
        packed = AESGCM(key).decrypt(b64d(item["nonce"]), b64d(item["ct"]), _seal_aad(item))
    except (InvalidTag, ValueError):
        raise WireError("undecryptable") from None
    plain = _inflate_record(packed)
    record = loads_json(plain, "undecryptable")
    _require_canonical(record, plain, "malformed_record")
    if not isinstance(record, dict):
        raise WireError("malformed_record", "not an object")
    try:
        digest = content_hash(record)
    except (ValueError, UnicodeEncodeError, RecursionError):  # NaN, lone surrogates, absurd nesting
        raise WireError("malformed_record", "not canonical JSON") from None
    if digest != item["content_hash"]:
        raise WireError("content_hash_mismatch")
    if "record_id" in record and record["record_id"] != item["record_id"]:
        raise WireError("record_id_mismatch")
    return record


# ---------------------------------------------------------------- batches
def build_batch(items: list[dict], *, device_id: str, batch_id: str) -> bytes:
    """Gzip-compressed canonical JSON of the batch; deterministic for the same input."""
    doc = {"v": WIRE_VERSION, "batch_id": batch_id, "device_id": device_id, "items": list(items)}
    return gzip.compress(canonical_json(doc), compresslevel=6, mtime=0)


def gunzip_limited(data: bytes, max_size: int = MAX_DECOMPRESSED) -> bytes:
    """Decompress one gzip member, streaming, stopping as soon as ``max_size`` is passed.

    Raises ``WireError("bad_compression")`` for non-gzip, truncated or trailing data and
    ``WireError("batch_too_large")`` when the output would exceed ``max_size``.
    """
    dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    pending = bytes(data)
    try:
        while pending:
            out += dec.decompress(pending, max_size + 1 - len(out))
            if len(out) > max_size:
                raise WireError("batch_too_large", "decompressed size")
            pending = dec.unconsumed_tail
        if not dec.eof:
            raise WireError("bad_compression", "truncated")
    except zlib.error:
        raise WireError("bad_compression") from None
    if dec.unused_data:
        raise WireError("bad_compression", "trailing data")
    return bytes(out)


def parse_batch(body: bytes, *, max_decompressed: int = MAX_DECOMPRESSED, max_items: int = MAX_ITEMS) -> dict:
    """Decompress and check the batch envelope; items are checked one by one later."""
    raw = gunzip_limited(body, max_decompressed)
    doc = loads_json(raw)
    _require_canonical(doc, raw, "malformed")
    if not isinstance(doc, dict) or set(doc) != {"v", "batch_id", "device_id", "items"} \
            or doc["v"] != WIRE_VERSION or isinstance(doc["v"], bool):
        raise WireError("malformed", "batch fields")
    for name in ("batch_id", "device_id"):
        if not isinstance(doc[name], str) or not ID_RE.match(doc[name]):
            raise WireError("malformed", name)
    if not isinstance(doc["items"], list):
        raise WireError("malformed", "items")
    if len(doc["items"]) > max_items:
        raise WireError("batch_too_large", "too many items")
    return doc


def batch_message(body: bytes, idempotency_key: str) -> bytes:
    """What the device signs for a batch: its idempotency key and the body's SHA-256."""
    return canonical_json({"purpose": "fieldapp-batch-v1", "idempotency_key": idempotency_key, "body_sha256": sha256_hex(body)})


def sign_batch(body: bytes, *, idempotency_key: str, device_private: bytes) -> str:
    """The ``X-Batch-Signature`` header value."""
    return sign(device_private, batch_message(body, idempotency_key))


def verify_batch_signature(body: bytes, *, idempotency_key: str, signature: str, device_public: bytes) -> bool:
    """True, or ``WireError("bad_batch_signature")``."""
    verify(device_public, batch_message(body, idempotency_key), signature, "bad_batch_signature")
    return True


# ---------------------------------------------------------------- receipts
def sign_receipt(receipt: dict, sign_private: bytes) -> dict:
    """Registry side: the signed envelope ``{"receipt", "signature"}``."""
    return {"receipt": receipt, "signature": sign(sign_private, canonical_json(receipt))}


def verify_receipt(receipt: dict, *, registry_sign_public: bytes, batch_sha256: str) -> dict:
    """Check a signed receipt envelope is the registry's and names this batch; return the receipt.

    The returned dict holds ``batch_id``, ``batch_sha256``, ``device_id``, ``issued_at`` and
    ``results`` (each ``record_id``, ``status``, maybe ``registry_id`` / ``reason``).
    """
    if not isinstance(receipt, dict) or not isinstance(receipt.get("receipt"), dict):
        raise WireError("bad_receipt_signature", "shape")
    inner = receipt["receipt"]
    verify(registry_sign_public, canonical_json(inner), receipt.get("signature"), "bad_receipt_signature")
    if inner.get("batch_sha256") != batch_sha256:
        raise WireError("bad_receipt_signature", "receipt is for another batch")
    results = inner.get("results")
    if not isinstance(results, list) or not all(isinstance(r, dict) and r.get("status") in STATUSES for r in results):
        raise WireError("bad_receipt_signature", "results")
    return inner
