"""Key slots: the only place the store's keys are kept, and only sealed.

``keyslots.json`` beside the database (format version 2) holds one *password slot* per user who may log in and at
most one *recovery slot*:

- A password slot holds the user's own X25519 key pair: the private half wrapped with AES-256-GCM under a key
  derived from the password with Argon2id (parameters and salt in the slot, bounded on both sides before any
  derivation, and bound into the associated data with the user name, the public half and the store ID). The
  secrets the user may have are *grants* sealed to the public half (``slotcrypto``): ``db``, the 256-bit database
  key, for everyone; ``approval``, the Ed25519 supervisor approval key, for supervisors only. So the approval key
  is cryptographically out of reach of an outreach worker, whatever the database says about roles.
- The recovery slot holds the same grants sealed to IT's X25519 recovery public key (kept whole in the slot).
- During ``rekey`` every slot also holds a ``db_next`` grant: the new database key; the store opens with whichever
  key the database file is under, so a kill at any point leaves it openable (``fieldapp.store.rekey``).
- The whole file carries an HMAC keyed from the database key, checked after every unlock.
- The recovery slot is also kept on its own in ``recovery-slot.json`` (the escrow; ``fieldapp recovery-export``
  gives IT a copy), so a destroyed ``keyslots.json`` is recoverable (``recovery.recover``).

Release 0.1.0 wrote version 1: each password slot wrapped the database key itself. Such a slot still opens, and is
rewritten in the new form at its user's next login (``Keys.legacy``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fieldapp.base.errors import AuthError, StoreError, TamperError
from fieldapp.base.fsutil import atomic_write_json, read_json
from fieldapp.base.paths import ESCROW_FILE
from fieldapp.store import slotcrypto
from fieldapp.store.slotcrypto import (GRANT_ERRORS, KDF_CEILING, KDF_FLOOR, argon2, b64d, b64e, canon, check_kdf,  # noqa: F401
                                       legacy_recovery_kek, tune_kdf)

FORMAT = "fieldapp-keyslots"
VERSION = 2
READABLE = (1, 2)
ESCROW_FORMAT = "fieldapp-recovery-escrow"
_LEGACY_RECOVERY = ("type", "id", "recipient", "epk", "nonce", "wrapped")
_argon2 = argon2  # the name bench/ and older tests use
# What each grant holds, bound into its associated data: ``db_next`` is a database key too (a rekey's new one), so
# it becomes the ``db`` grant by a rename once the database is under it.
_KIND = {"db": "db", "db_next": "db", "approval": "approval"}


@dataclass
class Keys:
    """What a slot opened: the database key, the approval key (supervisors), and what to do next."""

    db_key: bytes
    approval_key: bytes | None = None
    legacy: bool = False  # a release-0.1.0 password slot: rewrite it now that the password is known
    next_db_key: bytes | None = None  # an interrupted rekey's new key: the database may already be under it


def _now() -> str:
    from fieldapp.base.encoding import now_iso_seconds

    return now_iso_seconds()


def fingerprint(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:32]


@dataclass
class SlotFile:
    """The parsed ``keyslots.json``; change it only through its methods, then ``save``."""

    path: Path
    data: dict

    # -- reading -------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> "SlotFile":
        data = _read_document(path, "core.store.missing", "core.slots.unreadable")
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("slots"), list) \
                or not isinstance(data.get("store_id"), str) or not all(isinstance(s, dict) for s in data["slots"]):
            raise TamperError("core.slots.unreadable")
        if data.get("version") not in READABLE:
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
        return [s.get("user") for s in self.data["slots"] if s.get("type") == "password" and isinstance(s.get("user"), str)]

    def has_recovery(self) -> bool:
        return self._recovery() is not None

    def _recovery(self) -> dict | None:
        return next((s for s in self.data["slots"] if s.get("type") == "recovery"), None)

    def _slot(self, user: str) -> dict:
        for slot in self.data["slots"]:
            if slot.get("type") == "password" and slot.get("user") == user:
                return slot
        raise AuthError("core.auth.unknown_user")

    def legacy_users(self) -> list[str]:
        """Users whose slot is still in release 0.1.0's form (rewritten at their next login)."""
        return [s["user"] for s in self.data["slots"] if s.get("type") == "password" and "public" not in s]

    def has_grant(self, user: str, name: str) -> bool:
        try:
            return name in (self._slot(user).get("grants") or {})
        except AuthError:
            return False

    def slot_public(self, user: str) -> bytes | None:
        """The X25519 public key of ``user``'s slot (None for a release-0.1.0 slot)."""
        public = self._slot(user).get("public")
        return b64d(public) if isinstance(public, str) else None

    # -- password slots ------------------------------------------------
    def _aad(self, slot: dict) -> bytes:
        fields = {k: slot[k] for k in ("type", "id", "user", "kdf", "public") if k in slot}
        if slot.get("type") == "recovery":
            fields = {k: slot[k] for k in ("type", "id", "recipient", "epk") if k in slot}
        return canon({"format": FORMAT, "store_id": self.store_id, "slot": fields})

    def _open_grants(self, slot: dict, private: bytes) -> Keys:
        grants = slot.get("grants")
        if not isinstance(grants, dict) or "db" not in grants:
            raise TamperError("core.slots.unreadable")
        opened = {}
        for name in ("db", "approval", "db_next"):
            if name in grants:
                try:
                    opened[name] = slotcrypto.open_grant(grants[name], private, store_id=self.store_id,
                                                         slot_id=str(slot.get("id")), name=_KIND[name])
                except GRANT_ERRORS:
                    if name == "db":
                        raise AuthError("core.auth.wrong_password") from None
                    raise TamperError("core.slots.tampered") from None
        if any(len(v) != 32 for v in opened.values()):
            raise TamperError("core.slots.unreadable")
        return Keys(opened["db"], opened.get("approval"), next_db_key=opened.get("db_next"))

    def unlock(self, user: str, password: str) -> Keys:
        """What ``user``'s slot holds, or ``AuthError`` / ``TamperError``. Nothing is written."""
        slot = self._slot(user)
        check_kdf(slot.get("kdf"))
        try:
            secret = AESGCM(argon2(password, slot["kdf"])).decrypt(b64d(slot["nonce"]), b64d(slot["wrapped"]),
                                                                    self._aad(slot))
        except (InvalidTag, KeyError, ValueError, TypeError):
            raise AuthError("core.auth.wrong_password") from None
        if len(secret) != 32:
            raise TamperError("core.slots.unreadable")
        if "public" not in slot:
            return Keys(secret, legacy=True)
        if slotcrypto.public_of(secret) != b64d(slot["public"]):
            raise TamperError("core.slots.tampered")
        return self._open_grants(slot, secret)

    def set_password(self, user: str, password: str, db_key: bytes, kdf: dict | None = None, *,
                     approval_key: bytes | None = None) -> None:
        """Add ``user``'s slot or replace it: a new key pair, wrapped under the password (new salt, freshly tuned
        parameters), with the database key and, for a supervisor, the approval key granted to it."""
        kdf = dict(kdf or tune_kdf())
        kdf["salt"] = b64e(os.urandom(16))
        check_kdf(kdf)
        private, public = slotcrypto.new_identity()
        slot = {"type": "password", "id": str(uuid.uuid4()), "user": user, "kdf": kdf, "public": b64e(public),
                "created_at": _now()}
        nonce = os.urandom(12)
        slot["nonce"] = b64e(nonce)
        slot["wrapped"] = b64e(AESGCM(argon2(password, kdf)).encrypt(nonce, private, self._aad(slot)))
        slot["grants"] = {}
        self.data["slots"] = [s for s in self.data["slots"]
                              if not (s.get("type") == "password" and s.get("user") == user)] + [slot]
        self.grant(user, "db", db_key)
        if approval_key is not None:
            self.grant(user, "approval", approval_key)

    def _grant_to(self, slot: dict, name: str, secret: bytes) -> None:
        public = b64d(slot["public"])
        slot.setdefault("grants", {})[name] = slotcrypto.seal_grant(secret, public, store_id=self.store_id,
                                                                    slot_id=slot["id"], name=_KIND[name])

    def grant(self, user: str, name: str, secret: bytes) -> None:
        """Seal ``secret`` to ``user``'s slot under ``name`` (needs no password: only the slot's public key)."""
        slot = self._slot(user)
        if "public" not in slot:
            raise StoreError("core.slots.legacy_slot", user=user)
        self._grant_to(slot, name, secret)

    def revoke(self, user: str, name: str) -> None:
        (self._slot(user).get("grants") or {}).pop(name, None)

    def remove_user(self, user: str) -> None:
        self.data["slots"] = [s for s in self.data["slots"] if not (s.get("type") == "password" and s.get("user") == user)]

    # -- recovery slot -------------------------------------------------
    def set_recovery(self, public_key: bytes, db_key: bytes, approval_key: bytes | None = None) -> None:
        """The recovery slot for IT's public key, granting the database key (and the approval key)."""
        slot = {"type": "recovery", "id": str(uuid.uuid4()), "recipient": fingerprint(public_key),
                "public": b64e(public_key), "created_at": _now(), "grants": {}}
        self._grant_to(slot, "db", db_key)
        if approval_key is not None:
            self._grant_to(slot, "approval", approval_key)
        self.data["slots"] = [s for s in self.data["slots"] if s.get("type") != "recovery"] + [slot]

    def recovery_public(self) -> bytes | None:
        """IT's recovery public key as the slot holds it (None for a release-0.1.0 slot, which kept only its
        fingerprint, or without a recovery slot)."""
        slot = self._recovery()
        return b64d(slot["public"]) if slot and isinstance(slot.get("public"), str) else None

    def recovery_fingerprint(self) -> str | None:
        slot = self._recovery()
        return slot.get("recipient") if slot else None

    def grant_recovery(self, name: str, secret: bytes) -> None:
        slot = self._recovery()
        if slot is None or "public" not in slot:
            raise StoreError("core.slots.legacy_slot", user="recovery")
        self._grant_to(slot, name, secret)

    def unlock_recovery(self, private_key: bytes) -> Keys:
        priv = X25519PrivateKey.from_private_bytes(private_key)
        pub = priv.public_key().public_bytes_raw()
        slot = self._recovery()
        if slot is not None and "public" in slot:
            if b64d(slot["public"]) != pub:
                raise AuthError("core.recovery.wrong_key")
            try:
                return self._open_grants(slot, private_key)
            except AuthError:
                raise AuthError("core.recovery.wrong_key") from None
        if slot is not None:
            try:
                epk = b64d(slot["epk"])
                kek = legacy_recovery_kek(priv.exchange(X25519PublicKey.from_public_bytes(epk)), epk, pub)
                return Keys(AESGCM(kek).decrypt(b64d(slot["nonce"]), b64d(slot["wrapped"]), self._aad(slot)))
            except (InvalidTag, KeyError, ValueError, TypeError):
                pass
        raise AuthError("core.recovery.wrong_key")

    # -- rekey -----------------------------------------------------------
    def begin_rekey(self, new_db_key: bytes) -> list[str]:
        """Grant ``new_db_key`` as ``db_next`` to every slot that can take it; returns the users who cannot
        (release-0.1.0 slots: they need a password reset once the rekey is done)."""
        stuck = []
        for slot in self.data["slots"]:
            if "public" in slot:
                self._grant_to(slot, "db_next", new_db_key)
            elif slot.get("type") == "password":
                stuck.append(slot["user"])
            else:
                raise StoreError("core.rekey.legacy_recovery")
        return stuck

    def finish_rekey(self) -> list[str]:
        """Make ``db_next`` every slot's ``db``; drop the slots that could not take it. Returns their users."""
        dropped = [s.get("user") for s in self.data["slots"] if "public" not in s]
        kept = []
        for slot in self.data["slots"]:
            grants = slot.get("grants") or {}
            if "public" in slot and "db_next" in grants:
                grants["db"] = grants.pop("db_next")
                kept.append(slot)
        self.data["slots"] = kept
        return [u for u in dropped if u]

    def abandon_rekey(self) -> None:
        for slot in self.data["slots"]:
            (slot.get("grants") or {}).pop("db_next", None)

    # -- integrity -----------------------------------------------------
    def _mac(self, db_key: bytes) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"fieldapp keyslots mac v1").derive(db_key)
        body = {k: v for k, v in self.data.items() if k != "mac"}
        return hmac.new(mac_key, canon(body), hashlib.sha256).hexdigest()

    def check_mac(self, *db_keys: bytes) -> None:
        """Raise ``TamperError`` unless the file's MAC is right under one of ``db_keys`` (any text, compared as bytes)."""
        stored = self.data.get("mac")
        given = stored.encode("utf-8", "surrogatepass") if isinstance(stored, str) else b""
        if not any(hmac.compare_digest(given, self._mac(k).encode("ascii")) for k in db_keys if k):
            raise TamperError("core.slots.tampered")

    def save(self, db_key: bytes) -> None:
        self.data["version"] = VERSION
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
        slot = self._recovery()
        if slot is None:
            return None
        version = 2 if "public" in slot else 1
        return {"format": ESCROW_FORMAT, "version": version, "store_id": self.store_id, "slot": dict(slot)}


def _read_document(path: Path, missing: str, unreadable: str):
    """The parsed JSON of ``path``: ``StoreError(missing)`` if absent, ``TamperError(unreadable)`` if not JSON."""
    try:
        return read_json(path)
    except FileNotFoundError:
        raise StoreError(missing) from None
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        raise TamperError(unreadable) from None


def load_escrow(path: Path) -> dict:
    """Read and check a recovery escrow file (``recovery-slot.json`` or a ``recovery-export`` copy)."""
    doc = _read_document(path, "core.recovery.no_escrow", "core.recovery.bad_escrow")
    slot = doc.get("slot") if isinstance(doc, dict) else None
    ok = (isinstance(slot, dict) and doc.get("format") == ESCROW_FORMAT and isinstance(doc.get("store_id"), str)
          and slot.get("type") == "recovery")
    if ok and doc.get("version", 1) == 1:
        ok = all(isinstance(slot.get(k), str) for k in _LEGACY_RECOVERY)
    elif ok:
        ok = (doc.get("version") == 2 and isinstance(slot.get("public"), str) and isinstance(slot.get("id"), str)
              and isinstance(slot.get("grants"), dict) and "db" in slot["grants"])
    if not ok:
        raise TamperError("core.recovery.bad_escrow")
    return doc


def generate_recovery_keypair() -> tuple[dict, dict]:
    """A new IT recovery key pair as two JSON documents (private, public)."""
    priv, pub = slotcrypto.new_identity()
    return (
        {"type": "fieldapp-recovery-private-key", "key": b64e(priv)},
        {"type": "fieldapp-recovery-public-key", "key": b64e(pub), "fingerprint": fingerprint(pub)},
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
