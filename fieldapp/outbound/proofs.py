"""Signed statements that cross the wire: receipts, status answers, audit chain heads, approval key registrations.

A laptop trusts nothing the network or a file beside its store says about a record unless it is one of these and
verifies with a key held *inside* the encrypted store (``fieldapp.store.trusted``): the registry's signing key for
receipts and status answers, the store's approval key for audit heads. Pure functions over dicts and bytes; every
failure is ``wire.WireError`` with a stable reason code (never record contents). See docs/protocol.md.

- **Receipt** (answer to ``POST /v1/batches``): ``{"receipt": {...}, "signature"}``.
- **Status answer** (``GET``/``POST /v1/status``): the answer's own fields plus ``device_id``, ``issued_at`` and
  ``signature`` over all of them (old laptops read ``records``/``cursor``/``more`` and ignore the rest).
- **Audit head**: ``{"head": {"store_id", "seq", "hash", "signed_at"}, "key", "sig"}``, signed by the approval key;
  a version 2 batch carries the newest, the registry keeps the newest per device and names it in its receipts.
- **Approval key proof**: the approval key's signature over the device key it is registered for.
"""

from __future__ import annotations

from fieldapp.domain import signed
from fieldapp.outbound.wire import STATUSES, WireError, canonical_json, ed25519_public, sign, verify

STATUS_STATES = ("received", "registered", "rejected", "held")


# ---------------------------------------------------------------- receipts
def sign_receipt(receipt: dict, sign_private: bytes) -> dict:
    """Registry side: the signed envelope ``{"receipt", "signature"}``."""
    return {"receipt": receipt, "signature": sign(sign_private, canonical_json(receipt))}


def verify_receipt(receipt: dict, *, registry_sign_public: bytes, batch_sha256: str | None) -> dict:
    """Check a signed receipt envelope is the registry's and names this batch; return the receipt.

    The returned dict holds ``batch_id``, ``batch_sha256``, ``device_id``, ``issued_at`` and ``results`` (each
    ``record_id``, ``status``, maybe ``registry_id`` / ``reason``). ``batch_sha256`` None skips the batch check
    (the store re-checking a kept receipt: what matters there is that the registry signed it for this device).
    """
    if not isinstance(receipt, dict) or not isinstance(receipt.get("receipt"), dict):
        raise WireError("bad_receipt_signature", "shape")
    inner = receipt["receipt"]
    verify(registry_sign_public, canonical_json(inner), receipt.get("signature"), "bad_receipt_signature")
    if batch_sha256 is not None and inner.get("batch_sha256") != batch_sha256:
        raise WireError("bad_receipt_signature", "receipt is for another batch")
    results = inner.get("results")
    if not isinstance(results, list) or not all(isinstance(r, dict) and r.get("status") in STATUSES for r in results):
        raise WireError("bad_receipt_signature", "results")
    return inner


# ---------------------------------------------------------------- status answers
def _status_message(answer: dict) -> bytes:
    return canonical_json({"purpose": "fieldapp-status-v1", **{k: v for k, v in answer.items() if k != "signature"}})


def sign_status(answer: dict, sign_private: bytes, *, device_id: str, issued_at: str) -> dict:
    """Registry side: ``answer`` (``records``, ``cursor``, ``more``) with ``device_id``, ``issued_at`` and the
    registry's signature over all of them."""
    body = dict(answer, device_id=device_id, issued_at=issued_at)
    body.pop("signature", None)
    return dict(body, signature=sign(sign_private, _status_message(body)))


def verify_status(answer, *, registry_sign_public: bytes, device_id: str) -> dict:
    """The answer, when the registry signed it for ``device_id`` and its records are well formed; else
    ``WireError("bad_status_signature")``."""
    if not isinstance(answer, dict) or answer.get("device_id") != device_id or not isinstance(answer.get("records"), list):
        raise WireError("bad_status_signature", "shape")
    verify(registry_sign_public, _status_message(answer), answer.get("signature"), "bad_status_signature")
    for rec in answer["records"]:
        if not isinstance(rec, dict) or not isinstance(rec.get("record_id"), str) or rec.get("state") not in STATUS_STATES:
            raise WireError("bad_status_signature", "records")
    return answer


# ---------------------------------------------------------------- scheme facts (protocol 3)
FACTS_FORMAT = "fieldapp-scheme-facts"


def _facts_message(doc: dict) -> bytes:
    return canonical_json({"purpose": "fieldapp-scheme-facts-v1", "doc": doc})


def sign_scheme_facts(doc: dict, sign_private: bytes) -> dict:
    """Registry side: ``{"doc", "signature"}``, the signature by the registry signing key over the document."""
    return {"doc": doc, "signature": sign(sign_private, _facts_message(doc))}


def verify_scheme_facts(signed, *, registry_sign_public: bytes) -> dict:
    """The document of a signed scheme facts answer, when the registry signed it and it has the expected shape
    (``format``, a positive integer ``version``, ``text`` per language); else ``WireError("bad_scheme_facts")``."""
    doc = signed.get("doc") if isinstance(signed, dict) else None
    if (not isinstance(doc, dict) or doc.get("format") != FACTS_FORMAT or type(doc.get("version")) is not int
            or doc["version"] < 1 or not isinstance(doc.get("text"), dict)):
        raise WireError("bad_scheme_facts", "shape")
    verify(registry_sign_public, _facts_message(doc), signed.get("signature"), "bad_scheme_facts")
    return doc


def status_names(answer: dict, record_id: str, state: str) -> dict | None:
    """The record entry of a verified status answer that says ``record_id`` is in ``state``, or None."""
    return next((r for r in answer.get("records", ()) if r.get("record_id") == record_id and r.get("state") == state),
                None)


def receipt_result(receipt: dict, record_id: str) -> dict | None:
    """The result for ``record_id`` in a verified receipt (the last one, as the spool applies them), or None."""
    found = None
    for r in receipt.get("results", ()):
        if r.get("record_id") == record_id:
            found = r
    return found


# ---------------------------------------------------------------- audit heads (format: ``fieldapp.domain.signed``)
sign_audit_head = signed.sign_audit_head


def check_audit_head(head) -> dict:
    """A signed audit head's shape (not its signature), else ``WireError("bad_audit_head")``."""
    try:
        return signed.check_audit_head(head)
    except signed.BadStatement:
        raise WireError("bad_audit_head") from None


def verify_audit_head(head, approval_public: bytes) -> dict:
    """The head (``store_id``, ``seq``, ``hash``, ``signed_at``) when ``approval_public`` signed it."""
    try:
        return signed.verify_audit_head(head, approval_public)
    except signed.BadStatement:
        raise WireError("bad_audit_head") from None


# ---------------------------------------------------------------- approval key registration
def approval_key_message(device_public_b64: str, approval_public_b64: str) -> bytes:
    """What the approval key signs to be registered for a device (proof of possession, bound to that device)."""
    return canonical_json({"purpose": "fieldapp-approval-key-v1", "device_public_key": device_public_b64,
                           "approval_public_key": approval_public_b64})


def approval_key_proof(device_public_b64: str, approval_private: bytes) -> dict:
    """``{"approval_public_key", "approval_proof"}`` for the enrollment body or ``POST /v1/devices/approval-key``."""
    from fieldapp.outbound.wire import b64e

    public = b64e(ed25519_public(approval_private))
    return {"approval_public_key": public,
            "approval_proof": sign(approval_private, approval_key_message(device_public_b64, public))}


def verify_approval_key_proof(device_public_b64: str, approval_public_b64: str, proof) -> bytes:
    """The approval public key (raw) when ``proof`` is its signature for this device; else ``WireError``."""
    from fieldapp.outbound.wire import b64d, check_public_key

    try:
        raw = check_public_key(b64d(approval_public_b64))
    except WireError:
        raise WireError("bad_public_key") from None
    if len(raw) != 32:
        raise WireError("bad_public_key")
    verify(raw, approval_key_message(device_public_b64, approval_public_b64), proof, "bad_approval_proof")
    return raw


# ---------------------------------------------------------------- member lookup pages (protocol 4)
LOOKUP_FORMAT = "fieldapp-lookup"
LOOKUP_KEYS = ("format", "v", "device_id", "area", "area_id", "since", "cursor", "reset", "more", "members", "removed",
               "issued_at")


def _lookup_message(page: dict) -> bytes:
    return canonical_json({"purpose": "fieldapp-lookup-v1", "page": page})


def sign_lookup(page: dict, sign_private: bytes) -> dict:
    """Registry side: ``{"page", "signature"}``, signed by the registry signing key (docs/protocol.md section 15)."""
    return {"page": page, "signature": sign(sign_private, _lookup_message(page))}


def signed_lookup_bytes(page: dict, sign_private: bytes) -> bytes:
    """``canonical_json(sign_lookup(page, sign_private))``, with the page serialised once for both the signature and
    the body (a commune's page is megabytes): canonical JSON sorts the keys, so ``page`` comes before ``purpose`` in
    the signed message and before ``signature`` in the body."""
    body = canonical_json(page)
    message = b'{"page":' + body + b',"purpose":"fieldapp-lookup-v1"}'
    signature = sign(sign_private, message)
    return b'{"page":' + body + b',"signature":' + canonical_json(signature) + b"}"


def verify_lookup(signed, *, registry_sign_public: bytes, device_id: str) -> dict:
    """The page of a signed lookup answer when the registry signed it for ``device_id`` and it has the expected
    shape; else ``WireError("bad_lookup_signature")``. The entries are checked one by one by whoever stores them
    (``fieldapp.domain.member.check_entry``)."""
    page = signed.get("page") if isinstance(signed, dict) else None
    ints = ("v", "since", "cursor")
    if (not isinstance(page, dict) or set(page) != set(LOOKUP_KEYS) or page["format"] != LOOKUP_FORMAT
            or page["device_id"] != device_id or any(type(page[k]) is not int or page[k] < 0 for k in ints)
            or not isinstance(page["reset"], bool) or not isinstance(page["more"], bool)
            or not isinstance(page["members"], list) or not isinstance(page["removed"], list)
            or not isinstance(page["area"], list) or not all(isinstance(c, str) for c in page["area"])
            or not all(isinstance(m, str) for m in page["removed"]) or not isinstance(page["area_id"], str)):
        raise WireError("bad_lookup_signature", "shape")
    verify(registry_sign_public, _lookup_message(page), signed.get("signature"), "bad_lookup_signature")
    return page
