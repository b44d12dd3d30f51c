"""HTTP endpoints of the registry (``/v1/...``); the protocol is in docs/protocol.md."""

from __future__ import annotations

import gzip
from collections import Counter

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fieldapp.domain.geo import DATA_VERSION as geo_version
from fieldapp.domain.occupations import OCCUPATIONS_VERSION as occ_version
from fieldapp.outbound import proofs, wire
from registry import approval, cards, devices, intake, logs, lookup, records, scheme
from registry.errors import ApiError
from registry.models import (ApprovalKeyIn, ApprovalKeyOut, ChallengeIn, ChallengeOut, EnrollIn, EnrollOut, ErrorOut,
                             HealthOut, KeysOut, LookupOut, ReceiptOut, ReferenceOut, SchemeFactsOut, StatusIn, StatusOut, TokenIn,
                             TokenOut)

router = APIRouter(prefix="/v1")
bearer = HTTPBearer(auto_error=False, description="Token from POST /v1/auth/token")
# Protocol versions spoken: 1 (release 0.1.0 laptops), 2 (approval signatures), 3 (cards in status answers, the
# signed scheme facts), 4 (member lookup, updates, cross-device holds by name); items and batches are still
# versions 1 and 2 (docs/protocol.md sections 14 and 15)
PROTOCOL = [wire.ITEM_V1, wire.ITEM_V2, 3, 4]
WHY = {400: "Malformed request (error: malformed, bad_public_key, bad_batch_signature, bad_approval_proof, ...)",
       401: "Not authenticated (error: bad_token, token_expired, unknown_device, bad_nonce, bad_signature)",
       403: "Forbidden (error: device_revoked, device_mismatch, bad_code, code_used, code_expired)",
       409: "Conflict (error: idempotency_key_reused, key_already_enrolled, approval_key_exists)",
       413: "Too large (error: batch_too_large, body_too_large)", 415: "Content-Encoding is not gzip",
       503: "Busy; retry after Retry-After seconds (error: busy)"}


def errors(*codes: int) -> dict:
    """OpenAPI responses for refusals: every 4xx is ``ErrorOut`` (FastAPI's 422 is never used)."""
    out = {"4XX": {"model": ErrorOut, "description": "Refused; `error` is a machine-readable reason code"}}
    out.update({c: {"model": ErrorOut, "description": WHY[c]} for c in (*codes, 503)})
    return out


AUTH_ERRORS = errors(400, 401, 403, 413)


def ctx(request: Request):
    return request.app.state.ctx


def current_device(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> tuple[str, bytes]:
    """``(device_id, public key)`` of the bearer token's device (401/403 otherwise). For a batch the guard has
    checked the token already, from the headers, before the body was read (``registry.guard``)."""
    checked = getattr(request.state, "device", None)
    if checked is not None:
        return checked
    c = ctx(request)
    return devices.check_token(c.db, c.keys, creds.credentials if creds else None)


@router.get("/health", response_model=HealthOut, response_model_exclude_none=True, responses={503: {
    "model": HealthOut, "description": "Degraded while storage fails (reason: disk_full, storage_unavailable)"}})
async def health(request: Request):
    """Cheap liveness/connectivity probe, on the event loop (no database access, no thread): 200 ``ok``, or 503
    ``degraded`` with the reason (``disk_full``, ``storage_unavailable``) and ``Retry-After`` while storage fails."""
    from registry.failures import RETRY_AFTER

    failing = ctx(request).health.state()
    if failing is None:
        return {"status": "ok", "time": wire.now_iso()}
    doc = {"status": "degraded", "reason": failing[0], "since": failing[1], "time": wire.now_iso()}
    return Response(wire.canonical_json(doc), status_code=503, media_type="application/json",
                    headers={"Retry-After": str(RETRY_AFTER[failing[0]])})


@router.get("/keys", response_model=KeysOut)
def public_keys(request: Request):
    """The registry's sealing (X25519) and signing (Ed25519) public keys, and the wire versions it takes."""
    info = ctx(request).keys.public_info()
    return {"seal_public_key": info["seal_public_key"], "sign_public_key": info["sign_public_key"],
            "protocol": PROTOCOL}


@router.get("/reference", response_model=ReferenceOut)
def reference(request: Request):
    """Versions of the address lists and the occupation list the registry validates against, and of the scheme
    facts document it serves (protocol 3)."""
    return {"address_lists": str(geo_version), "occupations": str(occ_version),
            "scheme_facts": scheme.load(ctx(request).settings.data_dir)["version"]}


@router.get("/reference/scheme", response_model=SchemeFactsOut)
def scheme_facts(request: Request):
    """The scheme facts document printed on slips and cards, signed by the registry signing key (protocol 3)."""
    c = ctx(request)
    return Response(wire.canonical_json(scheme.signed(c.settings.data_dir, c.keys.sign_private)),
                    media_type="application/json")


@router.post("/devices/enroll", response_model=EnrollOut, response_model_exclude_none=True,
             responses=errors(400, 403, 409, 413))
def enroll(body: EnrollIn, request: Request):
    """Spend a one-time enrollment code to register a device's Ed25519 public key (and, optionally, its
    supervisor approval key with a proof; a bad proof is refused before the code is spent)."""
    c = ctx(request)
    hook, fingerprint = None, None
    if body.approval_public_key is not None or body.approval_proof is not None:
        try:
            device_b64 = wire.b64e(wire.b64d(body.public_key))
        except wire.WireError:
            raise ApiError(400, "bad_public_key", "public_key must be a base64 raw Ed25519 key") from None
        public = approval.check_proof(device_b64, body.approval_public_key, body.approval_proof)
        hook, fingerprint = approval.at_enrollment(public), wire.key_fingerprint(public)
    device_id = devices.enroll(c.db, body.code, body.public_key, body.name, then=hook)
    logs.event("device_enrolled", device_id=device_id, approval_key=fingerprint)
    info = c.keys.public_info()
    return {"device_id": device_id, "seal_public_key": info["seal_public_key"], "sign_public_key": info["sign_public_key"],
            "approval_key": fingerprint}


@router.post("/devices/approval-key", response_model=ApprovalKeyOut, responses=errors(400, 401, 403, 409, 413))
def approval_key(body: ApprovalKeyIn, request: Request, device: tuple[str, bytes] = Depends(current_device)):
    """Register this device's supervisor approval key: the first one on the device's token alone (trust on first
    use), the same one again changes nothing, another one only with a fresh one-time enrollment code (the old key
    is retired). From then on every record of the device must carry a valid approval signature."""
    return approval.register(ctx(request).db, device[0], device[1], body.approval_public_key, body.approval_proof,
                             body.code)


@router.post("/auth/challenge", response_model=ChallengeOut, responses=errors(400, 401, 403, 413))
def challenge(body: ChallengeIn, request: Request):
    """A single-use nonce for the device to sign (expires quickly)."""
    c = ctx(request)
    nonce = devices.new_challenge(c.db, body.device_id, c.settings.nonce_ttl, c.settings.max_nonces_per_device)
    return {"nonce": nonce, "expires_in": c.settings.nonce_ttl}


@router.post("/auth/token", response_model=TokenOut, responses=errors(400, 401, 403, 413))
def token(body: TokenIn, request: Request):
    """Exchange a signed nonce for a short-lived bearer token."""
    c = ctx(request)
    tok = devices.issue_token(c.db, c.keys, body.device_id, body.nonce, body.signature, c.settings.token_ttl)
    return {"token": tok, "expires_in": c.settings.token_ttl}


BATCH_BODY = {
    "requestBody": {
        "required": True,
        "description": "gzip of the canonical JSON {v, batch_id, device_id, items:[sealed items]} "
                       "(fieldapp.outbound.wire.build_batch); sent with Content-Encoding: gzip and any Content-Type.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post("/batches", response_model=ReceiptOut, openapi_extra=BATCH_BODY,
             responses=errors(400, 401, 403, 409, 413, 415))
async def post_batch(
    request: Request,
    device: tuple[str, bytes] = Depends(current_device),
    idempotency_key: str = Header(..., alias="Idempotency-Key", max_length=200,
                                  description="Client-chosen key; the same key and body replay the same receipt"),
    batch_signature: str = Header(..., alias="X-Batch-Signature", max_length=200,
                                  description="Device Ed25519 signature (base64) over wire.batch_message(body, key)"),
    content_encoding: str = Header(..., alias="Content-Encoding", pattern="^[Gg][Zz][Ii][Pp]$",
                                   description="Must be gzip (anything else: 415 bad_compression)"),
):
    """Take a sealed, device-signed batch; answer with the registry-signed receipt (committed first)."""
    c, body = ctx(request), await request.body()
    envelope = await run_in_threadpool(intake.process_batch, c.db, c.keys, c.settings, device_id=device[0],
                                       device_public=device[1], body=body, idempotency_key=idempotency_key,
                                       signature=batch_signature)
    tally = Counter(r["status"] for r in envelope["receipt"]["results"])
    logs.event("batch_receipt", device_id=device[0], batch_id=envelope["receipt"]["batch_id"], **tally)
    return Response(wire.canonical_json(envelope), media_type="application/json")  # byte-identical on replay


def signed_status(request: Request, device_id: str, answer: dict, with_cards: bool = False) -> Response:
    """A status answer signed by the registry for this device, sent exactly as signed; with the registry's card
    signature in each registered entry when the device asked for cards (protocol 3, ``registry.cards``)."""
    issued_at = wire.now_iso()
    if with_cards:
        cards.add_cards(ctx(request).db, ctx(request).keys, device_id, answer["records"], issued_at)
    signed = proofs.sign_status(answer, ctx(request).keys.sign_private, device_id=device_id, issued_at=issued_at)
    return Response(wire.canonical_json(signed), media_type="application/json")


@router.post("/status", response_model=StatusOut, responses=AUTH_ERRORS)
def status_by_ids(body: StatusIn, request: Request, device: tuple[str, bytes] = Depends(current_device)):
    """Current state of some of this device's records (unknown IDs are left out); signed by the registry."""
    found = records.status_by_ids(ctx(request).db, device[0], body.record_ids)
    return signed_status(request, device[0], {"records": found, "cursor": "", "more": False}, body.cards)


@router.get("/status", response_model=StatusOut, responses=AUTH_ERRORS)
def status_since(request: Request, since: str = Query("0", max_length=20, pattern=r"^[0-9]{1,18}$",
                                                      description="Cursor from the previous answer; 0 for all"),
                 cards: bool = Query(False, description="Protocol 3: the registry's card signature in each "
                                                        "registered entry"),
                 device: tuple[str, bytes] = Depends(current_device)):
    """Changes to this device's records after the cursor, oldest first; signed by the registry."""
    c = ctx(request)
    found, cursor, more = records.status_since(c.db, device[0], int(since), c.settings.status_page)
    return signed_status(request, device[0], {"records": found, "cursor": str(cursor), "more": more}, cards)



@router.get("/lookup", response_model=LookupOut, responses=AUTH_ERRORS)
def member_lookup(request: Request,
                  since: str = Query("0", max_length=20, pattern=r"^[0-9]{1,18}$",
                                     description="cursor of the previous page; 0 for a first snapshot"),
                  area: str = Query("", max_length=16, pattern=r"^[0-9a-f]{0,16}$",
                                    description="the area_id the device holds; another than its current one: reset"),
                  limit: int = Query(lookup.DEFAULT_LIMIT, ge=1, le=lookup.MAX_LIMIT,
                                     description="most members in the page (default 5000, at most 10000)"),
                  device: tuple[str, bytes] = Depends(current_device)):
    """Protocol 4: the registered members of this device's area (and those it has a record of) changed after
    ``since``, signed by the registry (``proofs.sign_lookup``); gzip when the client accepts it."""
    c = ctx(request)
    body = lookup.signed_page(c.db, c.keys, device[0], int(since), area or None, limit)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        return Response(gzip.compress(body, 6), media_type="application/json",
                        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return Response(body, media_type="application/json", headers={"Vary": "Accept-Encoding"})
