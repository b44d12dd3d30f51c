"""Batches of sealed items: the body a device sends (gzip of canonical JSON), its signature, and the registry's
bounded parsing. Part of the wire format (``fieldapp.outbound.wire`` re-exports these names)."""

from __future__ import annotations

import gzip
import zlib

from fieldapp.outbound.wire import (ID_RE, ITEM_V2, MAX_DECOMPRESSED, MAX_ITEMS, VERSIONS, WIRE_VERSION, WireError,
                                    _require_canonical, canonical_json, loads_json, sha256_hex, sign, verify)


def build_batch(items: list[dict], *, device_id: str, batch_id: str, audit_head: dict | None = None,
                version: int = WIRE_VERSION) -> bytes:
    """Gzip-compressed canonical JSON of the batch; deterministic for the same input.

    A version 2 batch also carries the laptop's latest signed audit chain head (``proofs.sign_audit_head``) or
    null; the registry keeps the newest one per device and names it in its receipts."""
    doc = {"v": version, "batch_id": batch_id, "device_id": device_id, "items": list(items)}
    if version >= ITEM_V2:
        doc["audit_head"] = audit_head
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
    if not isinstance(doc, dict) or isinstance(doc.get("v"), bool) or doc.get("v") not in VERSIONS \
            or set(doc) != ({"v", "batch_id", "device_id", "items"} | ({"audit_head"} if doc["v"] >= ITEM_V2 else set())):
        raise WireError("malformed", "batch fields")
    if doc.get("audit_head") is not None and not isinstance(doc["audit_head"], dict):
        raise WireError("malformed", "audit_head")
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
