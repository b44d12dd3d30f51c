"""Key slots: the only place the database key is stored, and only wrapped.

``keyslots.json`` beside the database holds one *password slot* per user and at
most one *recovery slot*:

- A password slot wraps the 256-bit database key with AES-256-GCM under a key
  derived from the user's password with Argon2id. The Argon2id parameters and
  salt are stored in the slot and bound into the GCM associated data together
  with the user name and the store ID, so changing the parameters, or moving
  a slot to another user, makes the slot fail to open. Parameters below
  ``KDF_FLOOR`` are refused before any derivation.
- The recovery slot wraps the same key to an IT X25519 public key (ephemeral
  X25519, HKDF-SHA256, AES-256-GCM). The private key stays with IT.
- The whole file carries an HMAC keyed from the database key, checked after
  every unlock, so a slot added or changed by hand is noticed.
- The recovery slot is also kept on its own in ``recovery-slot.json`` (the
  *escrow*, rewritten whenever the slot changes; ``fieldapp recovery-export``
  gives IT a copy to keep off the laptop). It holds nothing a thief can use
  without IT's private key, and it makes a destroyed ``keyslots.json`` a
  recoverable event instead of the loss of every record (``recovery.recover``).

Changing a password rewrites one slot; the database is never re-encrypted.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldapp.base import encoding
from fieldapp.base.errors import AuthError, StoreError, TamperError
from fieldapp.base.fsutil import atomic_write_json, read_json
from fieldapp.base.paths import ESCROW_FILE

FORMAT = "fieldapp-keyslots"
VERSION = 1
ESCROW_FORMAT = "fieldapp-recovery-escrow"
_RECOVERY_FIELDS = ("type", "id", "recipient", "epk", "nonce", "wrapped")
KDF_FLOOR = {"memory_kib": 64 * 1024, "iterations": 3, "lanes": 1}
KDF_CEILING = {"memory_kib": 4 * 1024 * 1024, "iterations": 64, "lanes": 16}
DEFAULT_TARGET_MS = 500


def b64e(data: bytes) -> str:
    return encoding.b64encode(data)


def b64d(text: str) -> bytes:
    return encoding.b64decode(text)


def _canon(obj) -> bytes:
    return encoding.canonical_json(obj)


def _now() -> str:
    return encoding.now_iso_seconds()


def _argon2(password: str, kdf: dict) -> bytes:
    return Argon2id(
        salt=b64d(kdf["salt"]),
        length=32,
        iterations=int(kdf["iterations"]),
        lanes=int(kdf["lanes"]),
        memory_cost=int(kdf["memory_kib"]),
    ).derive(password.encode("utf-8"))


def tune_kdf(target_ms: int | None = None) -> dict:
    """Argon2id parameters (64 MiB, 4 lanes) whose cost is about ``target_ms`` on this machine.

    ``FIELDAPP_KDF_TARGET_MS`` overrides the target (500 ms by default); the
    floor of 64 MiB and 3 iterations is kept whatever the target.
    """
    if target_ms is None:
        target_ms = int(os.environ.get("FIELDAPP_KDF_TARGET_MS", DEFAULT_TARGET_MS))
    kdf = {"name": "argon2id", "memory_kib": 64 * 1024, "iterations": KDF_FLOOR["iterations"], "lanes": 4}
    if target_ms > 0:
        probe = dict(kdf, salt=b64e(os.urandom(16)))
        start = time.perf_counter()
        _argon2("calibration", probe)
        per_iteration = (time.perf_counter() - start) / probe["iterations"]
        wanted = math.ceil(target_ms / 1000 / max(per_iteration, 1e-4))
        kdf["iterations"] = max(KDF_FLOOR["iterations"], min(wanted, KDF_CEILING["iterations"]))
        # the first iterations are dearer (memory fill): measure once at the estimate and correct
        start = time.perf_counter()
        _argon2("calibration", dict(kdf, salt=probe["salt"]))
        took = time.perf_counter() - start
        corrected = round(kdf["iterations"] * target_ms / 1000 / max(took, 1e-4))
        kdf["iterations"] = max(KDF_FLOOR["iterations"], min(corrected, KDF_CEILING["iterations"]))
    return kdf


def check_kdf(kdf) -> None:
    """Refuse parameters that are missing, below the floor or absurdly high."""
    try:
        ok = kdf["name"] == "argon2id" and len(b64d(kdf["salt"])) >= 16
        for key in ("memory_kib", "iterations", "lanes"):
            value = kdf[key]
            ok = ok and isinstance(value, int) and KDF_FLOOR[key] <= value <= KDF_CEILING[key]
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise TamperError("core.slots.weak_kdf")


@dataclass
class SlotFile:
    """The parsed ``keyslots.json``; change it only through its methods, then ``save``."""

    path: Path
    data: dict

    # -- reading -------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> "SlotFile":
        data = _read_document(path, "core.store.missing", "core.slots.unreadable")
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("slots"), list):
            raise TamperError("core.slots.unreadable")
        if data.get("version") != VERSION:
            raise StoreError("core.slots.version", version=str(data.get("version")))
        return cls(Path(path), data)

    @classmethod
    def from_escrow(cls, path: Path, escrow: dict) -> "SlotFile":
        """A slot file holding only the escrowed recovery slot (to rebuild a lost ``keyslots.json``)."""
        return cls(Path(path), {"format": FORMAT, "version": VERSION, "store_id": escrow["store_id"],
                                "slots": [dict(escrow["slot"])]})

    @classmethod
    def new(cls, path: Path) -> "SlotFile":
        return cls(Path(path), {"format": FORMAT, "version": VERSION, "store_id": str(uuid.uuid4()), "slots": []})

    @property
    def store_id(self) -> str:
        return self.data["store_id"]

    def users(self) -> list[str]:
        return [s["user"] for s in self.data["slots"] if s.get("type") == "password"]

    def has_recovery(self) -> bool:
        return any(s.get("type") == "recovery" for s in self.data["slots"])

    def _slot(self, user: str) -> dict:
        for slot in self.data["slots"]:
            if slot.get("type") == "password" and slot.get("user") == user:
                return slot
        raise AuthError("core.auth.unknown_user")

    # -- password slots ------------------------------------------------
    def _aad(self, slot: dict) -> bytes:
        fields = {k: slot[k] for k in ("type", "id", "user", "kdf") if k in slot}
        if slot.get("type") == "recovery":
            fields = {k: slot[k] for k in ("type", "id", "recipient", "epk")}
        return _canon({"format": FORMAT, "store_id": self.store_id, "slot": fields})

    def unlock(self, user: str, password: str) -> bytes:
        """The database key, or ``AuthError`` / ``TamperError``. Nothing is written."""
        slot = self._slot(user)
        check_kdf(slot.get("kdf"))
        try:
            kek = _argon2(password, slot["kdf"])
            key = AESGCM(kek).decrypt(b64d(slot["nonce"]), b64d(slot["wrapped"]), self._aad(slot))
        except (InvalidTag, KeyError, ValueError, TypeError):
            raise AuthError("core.auth.wrong_password") from None
        if len(key) != 32:
            raise TamperError("core.slots.unreadable")
        return key

    def set_password(self, user: str, password: str, db_key: bytes, kdf: dict | None = None) -> None:
        """Add ``user``'s slot or replace it (new salt, freshly tuned parameters)."""
        kdf = dict(kdf or tune_kdf())
        kdf["salt"] = b64e(os.urandom(16))
        check_kdf(kdf)
        slot = {"type": "password", "id": str(uuid.uuid4()), "user": user, "kdf": kdf, "created_at": _now()}
        nonce = os.urandom(12)
        slot["nonce"] = b64e(nonce)
        slot["wrapped"] = b64e(AESGCM(_argon2(password, kdf)).encrypt(nonce, db_key, self._aad(slot)))
        self.data["slots"] = [
            s for s in self.data["slots"] if not (s.get("type") == "password" and s.get("user") == user)
        ] + [slot]

    def remove_user(self, user: str) -> None:
        self.data["slots"] = [s for s in self.data["slots"] if not (s.get("type") == "password" and s.get("user") == user)]

    # -- recovery slot -------------------------------------------------
    def set_recovery(self, public_key: bytes, db_key: bytes) -> None:
        recipient = hashlib.sha256(public_key).hexdigest()[:32]
        eph = X25519PrivateKey.generate()
        epk = eph.public_key().public_bytes_raw()
        slot = {"type": "recovery", "id": str(uuid.uuid4()), "recipient": recipient, "epk": b64e(epk), "created_at": _now()}
        kek = _recovery_kek(eph.exchange(X25519PublicKey.from_public_bytes(public_key)), epk, public_key)
        nonce = os.urandom(12)
        slot["nonce"] = b64e(nonce)
        slot["wrapped"] = b64e(AESGCM(kek).encrypt(nonce, db_key, self._aad(slot)))
        self.data["slots"] = [s for s in self.data["slots"] if s.get("type") != "recovery"] + [slot]

    def unlock_recovery(self, private_key: bytes) -> bytes:
        priv = X25519PrivateKey.from_private_bytes(private_key)
        pub = priv.public_key().public_bytes_raw()
        for slot in self.data["slots"]:
            if slot.get("type") != "recovery":
                continue
            try:
                epk = b64d(slot["epk"])
                kek = _recovery_kek(priv.exchange(X25519PublicKey.from_public_bytes(epk)), epk, pub)
                return AESGCM(kek).decrypt(b64d(slot["nonce"]), b64d(slot["wrapped"]), self._aad(slot))
            except (InvalidTag, KeyError, ValueError):
                continue
        raise AuthError("core.recovery.wrong_key")

    # -- integrity -----------------------------------------------------
    def _mac(self, db_key: bytes) -> str:
        mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"fieldapp keyslots mac v1").derive(db_key)
        body = {k: v for k, v in self.data.items() if k != "mac"}
        return hmac.new(mac_key, _canon(body), hashlib.sha256).hexdigest()

    def check_mac(self, db_key: bytes) -> None:
        if not hmac.compare_digest(str(self.data.get("mac", "")), self._mac(db_key)):
            raise TamperError("core.slots.tampered")

    def save(self, db_key: bytes) -> None:
        self.data["mac"] = self._mac(db_key)
        atomic_write_json(self.path, self.data)
        self.write_escrow()

    def write_escrow(self) -> None:
        """Bring ``recovery-slot.json`` up to date with this file's recovery slot (if it has one)."""
        escrow = self.escrow()
        if escrow is None:
            return
        escrow_path = self.path.with_name(ESCROW_FILE)
        try:
            same = read_json(escrow_path) == escrow
        except (OSError, ValueError, UnicodeDecodeError):
            same = False
        if not same:
            atomic_write_json(escrow_path, escrow)

    # -- escrow --------------------------------------------------------
    def escrow(self) -> dict | None:
        """The recovery slot on its own, with what it is bound to (the store ID); None without one."""
        for slot in self.data["slots"]:
            if slot.get("type") == "recovery":
                return {"format": ESCROW_FORMAT, "version": 1, "store_id": self.store_id,
                        "slot": {k: slot[k] for k in _RECOVERY_FIELDS + ("created_at",) if k in slot}}
        return None


def _read_document(path: Path, missing: str, unreadable: str):
    """The parsed JSON of ``path``: ``StoreError(missing)`` if absent, ``TamperError(unreadable)`` if not JSON."""
    try:
        return read_json(path)
    except FileNotFoundError:
        raise StoreError(missing) from None
    except (OSError, ValueError, UnicodeDecodeError):
        raise TamperError(unreadable) from None


def load_escrow(path: Path) -> dict:
    """Read and check a recovery escrow file (``recovery-slot.json`` or a ``recovery-export`` copy)."""
    doc = _read_document(path, "core.recovery.no_escrow", "core.recovery.bad_escrow")
    slot = doc.get("slot") if isinstance(doc, dict) else None
    if (not isinstance(slot, dict) or doc.get("format") != ESCROW_FORMAT or not isinstance(doc.get("store_id"), str)
            or slot.get("type") != "recovery" or not all(isinstance(slot.get(k), str) for k in _RECOVERY_FIELDS)):
        raise TamperError("core.recovery.bad_escrow")
    return doc


def _recovery_kek(shared: bytes, epk: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + recipient, info=b"fieldapp recovery slot v1").derive(shared)


def generate_recovery_keypair() -> tuple[dict, dict]:
    """A new IT recovery key pair as two JSON documents (private, public)."""
    priv = X25519PrivateKey.generate()
    pub = priv.public_key().public_bytes_raw()
    return (
        {"type": "fieldapp-recovery-private-key", "key": b64e(priv.private_bytes_raw())},
        {"type": "fieldapp-recovery-public-key", "key": b64e(pub), "fingerprint": hashlib.sha256(pub).hexdigest()[:32]},
    )


def load_recovery_key(path: Path, kind: str) -> bytes:
    """Read a key file written by ``generate_recovery_keypair`` (``kind``: public or private)."""
    try:
        doc = read_json(path)
        if doc.get("type") != f"fieldapp-recovery-{kind}-key":
            raise ValueError
        key = b64d(doc["key"])
        if len(key) != 32:
            raise ValueError
        return key
    except (OSError, ValueError, KeyError, AttributeError, UnicodeDecodeError):
        raise StoreError("core.recovery.bad_key_file") from None
