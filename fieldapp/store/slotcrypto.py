"""The cryptography of key slots, without files: Argon2id with bounded parameters, and sealed *grants*.

A grant carries one secret (the database key, the approval key) to one X25519 public key: an ephemeral X25519
exchange, HKDF-SHA256 (salt = ephemeral public key ‖ recipient public key) and AES-256-GCM, with associated data
naming the store, the slot, the grant and the recipient, so a grant moved to another slot, store or name fails to
open. Granting needs only the recipient's *public* key: a supervisor gives a new supervisor the approval key, and
``rekey`` gives every user the new database key, without anybody's password.
"""

from __future__ import annotations

import math
import os
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldapp.base import encoding
from fieldapp.base.errors import TamperError

# Argon2id bounds, checked before any derivation. The ceiling is what ``tune_kdf`` can write (64 MiB, 4 lanes, at
# most 64 passes: a few seconds on a slow laptop), so a slot whose parameters were raised by hand to make a login
# take minutes and gigabytes is refused at once.
KDF_FLOOR = {"memory_kib": 64 * 1024, "iterations": 3, "lanes": 1}
KDF_CEILING = {"memory_kib": 64 * 1024, "iterations": 64, "lanes": 4}
DEFAULT_TARGET_MS = 500
GRANT_INFO = b"fieldapp key grant v1"
GRANT_FIELDS = ("epk", "nonce", "ct")


def b64e(data: bytes) -> str:
    return encoding.b64encode(data)


def b64d(text: str) -> bytes:
    return encoding.b64decode(text)


def canon(obj) -> bytes:
    return encoding.canonical_json(obj)


def argon2(password: str, kdf: dict) -> bytes:
    """The 32-byte key ``password`` derives under ``kdf`` (call ``check_kdf`` first)."""
    return Argon2id(salt=b64d(kdf["salt"]), length=32, iterations=int(kdf["iterations"]), lanes=int(kdf["lanes"]),
                    memory_cost=int(kdf["memory_kib"])).derive(password.encode("utf-8", "surrogatepass"))


def tune_kdf(target_ms: int | None = None) -> dict:
    """Argon2id parameters (64 MiB, 4 lanes) whose cost is about ``target_ms`` on this machine.

    ``FIELDAPP_KDF_TARGET_MS`` overrides the target (500 ms by default); the floor of 64 MiB and 3 iterations is
    kept whatever the target, and the iterations never pass the ceiling.
    """
    if target_ms is None:
        target_ms = int(os.environ.get("FIELDAPP_KDF_TARGET_MS", DEFAULT_TARGET_MS))
    kdf = {"name": "argon2id", "memory_kib": 64 * 1024, "iterations": KDF_FLOOR["iterations"], "lanes": 4}
    if target_ms > 0:
        probe = dict(kdf, salt=b64e(os.urandom(16)))
        start = time.perf_counter()
        argon2("calibration", probe)
        per_iteration = (time.perf_counter() - start) / probe["iterations"]
        wanted = math.ceil(target_ms / 1000 / max(per_iteration, 1e-4))
        kdf["iterations"] = max(KDF_FLOOR["iterations"], min(wanted, KDF_CEILING["iterations"]))
        # the first iterations are dearer (memory fill): measure once at the estimate and correct
        start = time.perf_counter()
        argon2("calibration", dict(kdf, salt=probe["salt"]))
        took = time.perf_counter() - start
        corrected = round(kdf["iterations"] * target_ms / 1000 / max(took, 1e-4))
        kdf["iterations"] = max(KDF_FLOOR["iterations"], min(corrected, KDF_CEILING["iterations"]))
    return kdf


def check_kdf(kdf) -> None:
    """Refuse parameters that are missing, below the floor or above the ceiling, before any derivation."""
    try:
        ok = isinstance(kdf, dict) and kdf["name"] == "argon2id" and 16 <= len(b64d(kdf["salt"])) <= 64
        for key in ("memory_kib", "iterations", "lanes"):
            value = kdf[key]
            ok = ok and type(value) is int and KDF_FLOOR[key] <= value <= KDF_CEILING[key]
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise TamperError("core.slots.weak_kdf")


# -- grants ---------------------------------------------------------------------------------------------------------
def new_identity() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair ``(private, public)`` for a slot."""
    priv = X25519PrivateKey.generate()
    return priv.private_bytes_raw(), priv.public_key().public_bytes_raw()


def public_of(private: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def _grant_aad(store_id: str, slot_id: str, name: str, recipient: bytes) -> bytes:
    return canon({"format": "fieldapp-grant", "store_id": store_id, "slot": slot_id, "grant": name,
                  "recipient": b64e(recipient)})


def _grant_key(shared: bytes, epk: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + recipient, info=GRANT_INFO).derive(shared)


def seal_grant(secret: bytes, recipient: bytes, *, store_id: str, slot_id: str, name: str) -> dict:
    """``secret`` sealed to the X25519 public key ``recipient`` (only its private key opens it)."""
    eph = X25519PrivateKey.generate()
    epk = eph.public_key().public_bytes_raw()
    key = _grant_key(eph.exchange(X25519PublicKey.from_public_bytes(recipient)), epk, recipient)
    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, secret, _grant_aad(store_id, slot_id, name, recipient))
    return {"epk": b64e(epk), "nonce": b64e(nonce), "ct": b64e(ct)}


def open_grant(grant, private: bytes, *, store_id: str, slot_id: str, name: str) -> bytes:
    """The secret of ``grant``; ``InvalidTag`` / ``ValueError`` / ``KeyError`` / ``TypeError`` when it does not open."""
    if not isinstance(grant, dict):
        raise ValueError("not a grant")
    recipient = public_of(private)
    epk = b64d(grant["epk"])
    key = _grant_key(X25519PrivateKey.from_private_bytes(private).exchange(X25519PublicKey.from_public_bytes(epk)),
                     epk, recipient)
    return AESGCM(key).decrypt(b64d(grant["nonce"]), b64d(grant["ct"]), _grant_aad(store_id, slot_id, name, recipient))


GRANT_ERRORS = (InvalidTag, ValueError, KeyError, TypeError)


# -- the recovery slot of release 0.1.0 (one wrapped database key, no grants) ------------------------------------------
def legacy_recovery_kek(shared: bytes, epk: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + recipient, info=b"fieldapp recovery slot v1").derive(shared)
