"""Pydantic models of the JSON bodies: they are what ``/openapi.json`` publishes.

Strict types (no coercion), bounded sizes and no unknown fields, so bad input is a 400
``malformed`` before any handler runs.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

B64_KEY = r"^[A-Za-z0-9+/]{43}=$"  # base64 of 32 raw bytes
ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorOut(BaseModel):
    error: str = Field(description="Machine-readable reason code, e.g. bad_token, malformed, batch_too_large")
    detail: object = Field(None, description="Human-readable detail (never personal data)")


class HealthOut(BaseModel):
    status: Literal["ok"]
    time: str


class KeysOut(BaseModel):
    seal_public_key: str = Field(description="X25519 public key, base64 raw: records are sealed to it")
    sign_public_key: str = Field(description="Ed25519 public key, base64 raw: receipts are signed with it")


class ReferenceOut(BaseModel):
    address_lists: str = Field(description="Version of the address gazetteer (fieldapp.domain.geo.DATA_VERSION)")
    occupations: str = Field(description="Version of the occupation code list")


class EnrollIn(Strict):
    code: str = Field(min_length=1, max_length=64, description="One-time enrollment code from the operator")
    public_key: str = Field(pattern=B64_KEY, description="The device's Ed25519 public key, base64 raw")
    name: Optional[str] = Field(None, max_length=100, description="A label for the device (no personal data)")

    @field_validator("name")
    @classmethod
    def printable(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not value.isprintable():  # no control characters, NULs or lone surrogates
            raise ValueError("name must be printable text")
        return value


class EnrollOut(KeysOut):
    device_id: str


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
    status: Literal["accepted", "duplicate", "rejected", "conflict"]
    registry_id: Optional[str] = None
    reason: Optional[str] = Field(None, description="For rejected: invalid_record, bad_item_signature, undecryptable, ...")
    problems: Optional[list[dict]] = Field(None, description="For invalid_record: [{path, code}] (never values)")


class ReceiptBody(BaseModel):
    v: int
    batch_id: str
    batch_sha256: str = Field(description="Hex SHA-256 of the request body (as sent, compressed)")
    device_id: str
    idempotency_key: str
    issued_at: str
    results: list[ResultOut]


class ReceiptOut(BaseModel):
    receipt: ReceiptBody
    signature: str = Field(description="Ed25519 by the registry over the canonical JSON of receipt, base64")


class StatusIn(Strict):
    record_ids: list[Annotated[str, Field(max_length=128)]] = Field(max_length=1000)


class StatusRecord(BaseModel):
    record_id: str
    state: Literal["received", "registered", "rejected"]
    registry_id: Optional[str] = None
    duplicate: Optional[bool] = None
    reason: Optional[str] = None
    problems: Optional[list[dict]] = None


class StatusOut(BaseModel):
    records: list[StatusRecord]
    cursor: str = Field(description="Opaque; pass as ?since= to get later changes")
    more: bool = False
