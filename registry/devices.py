"""Devices: one-time enrollment codes, enrollment, challenge-response login, tokens, revocation.

* Enrollment codes are random (80 bits, shown as ``XXXX-XXXX-XXXX-XXXX``), single use and
  expire (default 10 minutes); only their SHA-256 is stored.
* Login: ``challenge`` stores a random nonce's hash (single use, short expiry); ``token``
  consumes it (``DELETE ... RETURNING``, so exactly one caller wins) and checks the device's
  Ed25519 signature over ``wire.auth_message``.
* Tokens are stateless: ``v1.<payload>.<HMAC-SHA256>`` with the data folder's token key;
  every use also checks the device row, so a revoked device's tokens stop at once.
* Every expiry here (codes, nonces, tokens) reads the time through ``now()``: tests replace it
  (``monkeypatch.setattr(devices, "now", fake_clock)``) to move time on instead of sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import time
import uuid

from fieldapp.base.encoding import b64url_decode, b64url_encode, wire_time
from fieldapp.outbound import wire
from registry.errors import ApiError
from registry.keys import RegistryKeys
from registry.storage import Database, Tx

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def now() -> float:
    """The current time in seconds since the epoch (``time.time()``); the one clock of this module."""
    return time.time()


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_enrollment_code(db: Database, ttl: int = 600, area: list[str] | None = None) -> str:
    """Create and store (hashed) a one-time enrollment code valid for ``ttl`` seconds; ``area`` (commune codes,
    protocol 4) becomes the area of the device that enrolls with it."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    at = now()
    db.run(lambda tx: tx.execute("INSERT INTO enrollment_codes (code_hash, created_at, expires_at, area) "
                                 "VALUES (?, ?, ?, ?)", (_hash(raw), at, at + ttl, ",".join(area) if area else None)))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def _consume_code(tx: Tx, code: str, device_id: str, at: float) -> list[str]:
    """Spend the code; returns the area it carries (commune codes, maybe none)."""
    row = tx.one("SELECT expires_at, used_at, area FROM enrollment_codes WHERE code_hash = ?",
                 (_hash(normalise_code(code)),))
    if row is None:
        raise ApiError(403, "bad_code", "unknown enrollment code")
    if row[1] is not None:
        raise ApiError(403, "code_used", "the enrollment code was already used")
    if row[0] <= at:
        raise ApiError(403, "code_expired", "the enrollment code has expired")
    tx.execute("UPDATE enrollment_codes SET used_at = ?, device_id = ? WHERE code_hash = ? AND used_at IS NULL",
               (at, device_id, _hash(normalise_code(code))))
    if tx.rowcount != 1:
        raise ApiError(403, "code_used", "the enrollment code was already used")
    return [c for c in (row[2] or "").split(",") if c]


def enroll(db: Database, code: str, public_key_b64: str, name: str | None, then=None) -> str:
    """Spend ``code`` to enroll a device with its Ed25519 public key; return the new device ID.

    ``then(tx, device_id, at)``, if given, runs in the same transaction (``registry.approval`` registers the
    device's approval key there)."""
    try:
        wire.check_public_key(wire.b64d(public_key_b64))
    except wire.WireError:
        raise ApiError(400, "bad_public_key", "public_key must be a base64 raw Ed25519 key") from None
    device_id = str(uuid.uuid4())

    def work(tx: Tx) -> None:
        at = now()
        area = _consume_code(tx, code, device_id, at)
        tx.execute("INSERT INTO devices (device_id, public_key, name, enrolled_at) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (public_key) DO NOTHING", (device_id, public_key_b64, name, at))
        if tx.rowcount != 1:
            raise ApiError(409, "key_already_enrolled", "this public key belongs to an enrolled device")
        for commune in area:  # the code's area (protocol 4): the communes whose members this device looks up
            tx.execute("INSERT INTO device_areas (device_id, commune) VALUES (?, ?) ON CONFLICT DO NOTHING",
                       (device_id, commune))
        if then is not None:
            then(tx, device_id, at)

    db.run(work)
    return device_id


def device_row(tx: Tx, device_id: str) -> tuple | None:
    """``(public_key_b64, revoked_at)`` of a device, or None."""
    return tx.one("SELECT public_key, revoked_at FROM devices WHERE device_id = ?", (device_id,))


def active_device_key(db: Database, device_id: str) -> bytes:
    """The public key of an enrolled, not revoked device; ApiError otherwise."""
    row = db.run(lambda tx: device_row(tx, device_id), write=False)
    if row is None:
        raise ApiError(401, "unknown_device", "no such device")
    if row[1] is not None:
        raise ApiError(403, "device_revoked", "this device has been revoked")
    return wire.b64d(row[0])


def new_challenge(db: Database, device_id: str, ttl: int, keep: int = 8) -> str:
    """A single-use nonce for ``device_id``; refused for unknown or revoked devices.

    At most ``keep`` unexpired nonces are outstanding per device: a new one replaces the oldest (and expired ones
    go), so a flood of challenges cannot grow the table, and the device's own login, a moment later, still works."""
    active_device_key(db, device_id)
    nonce = wire.b64e(secrets.token_bytes(32))
    new = _hash(nonce)

    def work(tx: Tx) -> None:
        at = now()
        tx.execute("INSERT INTO nonces (nonce_hash, device_id, expires_at) VALUES (?, ?, ?)", (new, device_id, at + ttl))
        tx.execute("DELETE FROM nonces WHERE device_id = ? AND nonce_hash <> ? AND (expires_at <= ? OR nonce_hash "
                   "NOT IN (SELECT nonce_hash FROM nonces WHERE device_id = ? AND nonce_hash <> ? "
                   "ORDER BY expires_at DESC, nonce_hash DESC LIMIT ?))",
                   (device_id, new, at, device_id, new, max(0, keep - 1)))

    db.run(work)
    return nonce


def issue_token(db: Database, keys: RegistryKeys, device_id: str, nonce: str, signature: str, ttl: int) -> str:
    """Consume the nonce, check the device's signature over it, and mint a bearer token."""
    public = active_device_key(db, device_id)
    row = db.run(lambda tx: tx.one("DELETE FROM nonces WHERE nonce_hash = ? AND device_id = ? RETURNING expires_at",
                                   (_hash(nonce), device_id)))
    if row is None:
        raise ApiError(401, "bad_nonce", "unknown or already used nonce")
    if row[0] <= now():
        raise ApiError(401, "nonce_expired", "the challenge has expired")
    try:
        wire.verify(public, wire.auth_message(device_id, nonce), signature, "bad_signature")
    except wire.WireError:
        raise ApiError(401, "bad_signature", "the challenge signature does not verify") from None
    at = now()
    payload = {"d": device_id, "iat": int(at), "exp": math.ceil(at + ttl), "j": secrets.token_hex(8)}  # >= ttl
    body = b64url_encode(wire.canonical_json(payload))
    return f"v1.{body}.{_token_mac(keys, body)}"


def _token_mac(keys: RegistryKeys, body: str) -> str:
    return hmac.new(keys.token_key, b"token:" + body.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def check_token(db: Database, keys: RegistryKeys, token: str | None) -> tuple[str, bytes]:
    """The ``(device_id, device public key)`` a bearer token stands for; ApiError otherwise."""
    parts = token.split(".") if isinstance(token, str) and len(token) < 1000 else []
    if len(parts) != 3 or parts[0] != "v1" or not hmac.compare_digest(  # as bytes: any text is a 401, never a 500
            _token_mac(keys, parts[1]).encode("ascii"), parts[2].encode("utf-8", "surrogatepass")):
        raise ApiError(401, "bad_token", "missing or invalid bearer token")
    try:
        payload = json.loads(b64url_decode(parts[1]))
        device_id, exp = payload["d"], payload["exp"]
    except (ValueError, KeyError, TypeError):
        raise ApiError(401, "bad_token", "missing or invalid bearer token") from None
    if not isinstance(exp, int) or exp <= now():
        raise ApiError(401, "token_expired", "the bearer token has expired")
    return device_id, active_device_key(db, device_id)


def revoke(db: Database, device_id: str) -> bool:
    """Block a device (lost laptop): its tokens and challenges stop working at once."""

    def work(tx: Tx) -> int:
        tx.execute("UPDATE devices SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL", (now(), device_id))
        changed = tx.rowcount
        tx.execute("DELETE FROM nonces WHERE device_id = ?", (device_id,))
        return changed

    return db.run(work) == 1 or db.run(lambda tx: device_row(tx, device_id), write=False) is not None


def list_devices(db: Database) -> list[dict]:
    """Every enrolled device with its state (no key material beyond the public key)."""
    rows = db.run(lambda tx: tx.execute("SELECT device_id, name, enrolled_at, revoked_at, public_key FROM devices "
                                        "ORDER BY enrolled_at"), write=False)
    return [{"device_id": r[0], "name": r[1], "enrolled_at": _iso(r[2]), "revoked_at": _iso(r[3]),
             "state": "revoked" if r[3] is not None else "active", "public_key": r[4]} for r in rows]


def _iso(ts: float | None) -> str | None:
    return None if ts is None else wire_time(ts)
