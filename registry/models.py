"""Pydantic models of the JSON bodies: they are what ``/openapi.json`` publishes.

Strict types (no coercion), bounded sizes and no unknown fields, so bad input is a 400
``malformed`` before any handler runs.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

B64_KEY = r"^[A-Za-z0-9+/]{43}=$"  # base64 of 32 raw bytes
B64_SIG = r"^[A-Za-z0-9+/]{86}==$"  # base64 of a 64-byte Ed25519 signature
FINGERPRINT = "32 hex digits: the first 16 bytes of the SHA-256 of the raw public key (wire.key_fingerprint)"
ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorOut(BaseModel):
    error: str = Field(description="Machine-readable reason code, e.g. bad_token, malformed, batch_too_large")
    detail: object = Field(None, description="Human-readable detail (never personal data)")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    time: str
    reason: Optional[str] = Field(None, description="When degraded: disk_full or storage_unavailable")
    since: Optional[str] = Field(None, description="When degraded: when the failure began (UTC)")


class KeysOut(BaseModel):
    seal_public_key: str = Field(description="X25519 public key, base64 raw: records are sealed to it")
    sign_public_key: str = Field(description="Ed25519 public key, base64 raw: receipts and status answers are "
                                             "signed with it")
    protocol: list[int] = Field(description="Wire format versions this registry takes (items and batches)")


class ReferenceOut(BaseModel):
    address_lists: str = Field(description="Version of the address gazetteer (fieldapp.domain.geo.DATA_VERSION)")
    occupations: str = Field(description="Version of the occupation code list")
    scheme_facts: int = Field(description="Version of the scheme facts document (GET /v1/reference/scheme)")


class SchemeFactsOut(BaseModel):
    doc: dict = Field(description="The scheme facts document (format fieldapp-scheme-facts, docs/credentials.md)")
    signature: str = Field(description="Ed25519 by the registry signing key over canonical JSON of "
                                       "{purpose: fieldapp-scheme-facts-v1, doc}, base64")


class EnrollIn(Strict):
    code: str = Field(min_length=1, max_length=64, description="One-time enrollment code from the operator")
    public_key: str = Field(pattern=B64_KEY, description="The device's Ed25519 public key, base64 raw")
    name: Optional[str] = Field(None, max_length=100, description="A label for the device (no personal data)")
    approval_public_key: Optional[str] = Field(None, pattern=B64_KEY, description="The laptop's supervisor approval "
                                               "key (Ed25519, base64 raw); with approval_proof")
    approval_proof: Optional[str] = Field(None, pattern=B64_SIG, description="proofs.approval_key_proof: the approval "
                                          "key's signature binding it to public_key (base64)")

    @field_validator("name")
    @classmethod
    def printable(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not value.isprintable():  # no control characters, NULs or lone surrogates
            raise ValueError("name must be printable text")
        return value


class EnrollOut(BaseModel):
    device_id: str
    seal_public_key: str = Field(description="X25519 public key, base64 raw: records are sealed to it")
    sign_public_key: str = Field(description="Ed25519 public key, base64 raw: receipts are signed with it")
    approval_key: Optional[str] = Field(None, description="Fingerprint of the approval key registered with the device "
                                        "(only when one was sent): " + FINGERPRINT)


class ApprovalKeyIn(Strict):
    approval_public_key: str = Field(pattern=B64_KEY, description="The supervisor approval key, Ed25519, base64 raw")
    approval_proof: str = Field(pattern=B64_SIG, description="proofs.approval_key_proof for this device (base64)")
    code: Optional[str] = Field(None, min_length=1, max_length=64, description="A one-time enrollment code: needed "
                                "(and spent) only to replace a registered approval key")


class ApprovalKeyOut(BaseModel):
    device_id: str
    approval_key: str = Field(description=FINGERPRINT)
    state: Literal["registered", "unchanged", "rotated"]


class ChallengeIn(Strict):
    device_id: str = Field(pattern=ID, max_length=128)


class ChallengeOut(BaseModel):
    nonce: str = Field(description="Single-use nonce; sign wire.auth_message(device_id, nonce)")
    expires_in: int


class TokenIn(Strict):
    device_id: str = Field(pattern=ID, max_length=128)
    nonce: str = Field(min_length=1, max_length=200)
    signature: str = Field(min_length=1, max_length=200, description="Ed25519 signature, base64")


class TokenOut(BaseModel):
    token: str = Field(description="Bearer token for Authorization: Bearer ...")
    expires_in: int


class ResultOut(BaseModel):
    record_id: Optional[str]
    status: Literal["accepted", "duplicate", "rejected", "conflict", "held"] = Field(
        description="held (version 2 batches only): the national ID was first registered from another device")
    registry_id: Optional[str] = None
    version: Optional[int] = Field(None, description="Protocol 4, an applied update (accepted, or duplicate on a "
                                   "resend): the member's version it made")
    reason: Optional[str] = Field(None, description="For rejected: invalid_record, bad_item_signature, undecryptable, "
                                  "approval_required, bad_approval_signature, no_approval_key; for an update "
                                  "(protocol 4): unknown_member, not_in_area, stale_version, ...")
    problems: Optional[list[dict]] = Field(None, description="For invalid_record: [{path, code}] (never values)")


class AuditHeadOut(BaseModel):
    seq: int
    hash: str


class ReceiptBody(BaseModel):
    v: int = Field(description="1 for a version 1 batch, 2 for a version 2 batch")
    batch_id: str
    batch_sha256: str = Field(description="Hex SHA-256 of the request body (as sent, compressed)")
    device_id: str
    idempotency_key: str
    issued_at: str
    results: list[ResultOut]
    audit_head: Optional[AuditHeadOut] = Field(None, description="Version 2 only: the laptop's audit chain head the "
                                               "registry keeps (highest seq), or null")


class ReceiptOut(BaseModel):
    receipt: ReceiptBody
    signature: str = Field(description="Ed25519 by the registry over the canonical JSON of receipt, base64")


class StatusIn(Strict):
    record_ids: list[Annotated[str, Field(max_length=128)]] = Field(max_length=1000)
    cards: bool = Field(False, description="Protocol 3: the registry's card signature in each registered entry")


class CardSig(BaseModel):
    issued_at: str
    sig: str = Field(description="Ed25519 by the registry signing key over the card's COSE Sig_structure, base64 "
                                 "(docs/credentials.md)")


class StatusRecord(BaseModel):
    record_id: str
    state: Literal["received", "registered", "rejected", "held"]
    registry_id: Optional[str] = None
    duplicate: Optional[bool] = None
    version: Optional[int] = Field(None, description="Protocol 4, an applied update: the member's version it made")
    reason: Optional[str] = None
    problems: Optional[list[dict]] = None
    card: Optional[CardSig] = None


class StatusOut(BaseModel):
    records: list[StatusRecord]
    cursor: str = Field(description="Opaque; pass as ?since= to get later changes")
    more: bool = False
    device_id: str = Field(description="The device this answer is for")
    issued_at: str
    signature: str = Field(description="Ed25519 by the registry signing key (proofs.sign_status) over every other "
                                       "field, base64")


class LookupPerson(BaseModel):
    family_name: str
    given_name: str
    family_name_latin: Optional[str] = None
    given_name_latin: Optional[str] = None
    relationship: Optional[str] = Field(None, description="Dependents only")
    sex: Optional[str] = None
    date_of_birth: Optional[str] = None
    disability_or_chronic_illness: Optional[bool] = Field(None, description="Dependents only")


class LookupEntry(BaseModel):
    member_no: str
    version: int = Field(description="The member's current version (1 at registration, + 1 per applied update)")
    family_name: str
    given_name: str
    family_name_latin: Optional[str] = None
    given_name_latin: Optional[str] = None
    sex: Optional[str] = None
    date_of_birth: Optional[str] = None
    village_code: Optional[str] = None
    commune_code: Optional[str] = None
    national_id_masked: Optional[str] = Field(None, description="All but the last three digits masked (******789)")
    dependents: list[LookupPerson] = []
    office_commune: Optional[str] = Field(None, description="Commune of the office that registered the member")
    registered_on: Optional[str] = None
    card: Optional[CardSig] = Field(None, description="The registry's card signature for this version (sig: "
                                    "base64url, no padding)")


class LookupPage(BaseModel):
    format: Literal["fieldapp-lookup"]
    v: int = Field(description="1")
    device_id: str
    area: list[str] = Field(description="The device's area: commune codes, sorted")
    area_id: str = Field(description="First 16 hex digits of SHA-256 of the comma-joined sorted communes")
    since: int = Field(description="Where this page starts (0 after a reset)")
    cursor: int = Field(description="Pass as ?since= next time")
    reset: bool = Field(description="True: replace every member held (since 0, or the device's area changed)")
    more: bool = Field(description="True: another page waits; ask again at once with since=cursor")
    members: list[LookupEntry] = Field(description="Lookup entries changed after since, in change order "
                                       "(fieldapp.domain.member.lookup_entry)")
    removed: list[str] = Field(description="Member numbers that left the device's scope after since")
    issued_at: str


class LookupOut(BaseModel):
    page: LookupPage
    signature: str = Field(description="Ed25519 by the registry signing key (proofs.sign_lookup) over canonical JSON "
                                       "of {purpose: fieldapp-lookup-v1, page}, base64")
