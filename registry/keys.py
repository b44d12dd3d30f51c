"""The registry's key material in its data folder.

``registry-keys.json`` (mode 0600 in a 0700 folder) holds the X25519 sealing pair (records
are sealed to its public half), the Ed25519 signing pair (receipts, status answers), the HMAC key for
national-ID duplicate detection and the HMAC key for bearer tokens. Two more keys are derived from the
national-ID key with HKDF-SHA256 (no file format change): the content MAC key (``content_mac``: duplicate or
conflict, without an unkeyed hash of any record) and the at-rest wrapping key for the clear ``content_hash`` of
version 1 items (``registry.sealed``). The file is created on first use: written to a 0600 temporary file,
fsynced, then hard-linked into place, so two processes starting at once agree on one key set (the loser reads the
winner's file).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldapp.outbound import wire
from fieldapp.base.fsutil import fsync_dir, secure_dir

KEYS_FILE = "registry-keys.json"


@functools.lru_cache(maxsize=16)
def _derived(secret: bytes, info: bytes) -> bytes:
    """HKDF-SHA256(secret, info), derived once per process (intake asks for it for every record)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)
FILE_MODE = 0o600
CONTENT_MAC_INFO = b"fieldapp registry content mac v1"
HASH_WRAP_INFO = b"fieldapp registry content hash wrap v1"
MEMBER_DATA_INFO = b"fieldapp registry member data v1"
MATCH_KEY_INFO = b"fieldapp registry match keys v1"


@dataclass(frozen=True)
class RegistryKeys:
    """Raw key bytes; ``public_info()`` is what devices are provisioned with."""

    seal_private: bytes
    seal_public: bytes
    sign_private: bytes
    sign_public: bytes
    nid_key: bytes
    token_key: bytes

    def public_info(self) -> dict:
        return {"seal_public_key": wire.b64e(self.seal_public), "sign_public_key": wire.b64e(self.sign_public),
                "fingerprint": self.fingerprint()}

    def fingerprint(self) -> str:
        """A short ID of the public keys, recorded in the database to catch mismatched data folders."""
        return hashlib.sha256(self.seal_public + self.sign_public).hexdigest()[:32]

    def nid_hmac(self, national_id: str) -> str:
        """Keyed HMAC of a normalised national ID: duplicates are found without storing the ID."""
        norm = "".join(ch for ch in national_id.upper() if ch.isalnum())
        return hmac.new(self.nid_key, b"nid:" + norm.encode("utf-8"), hashlib.sha256).hexdigest()

    def derived(self, info: bytes) -> bytes:
        """A 32-byte key derived from the national-ID key: HKDF-SHA256(nid_key, info=``info``), no salt."""
        return _derived(self.nid_key, info)

    def content_mac(self, record: dict) -> str:
        """Hex HMAC-SHA256 of the canonical JSON of ``record`` without ``record_id``, under the content MAC key:
        the same content gives the same MAC, and nobody without the registry's keys can test a guess against it."""
        body = wire.canonical_json({k: v for k, v in record.items() if k != "record_id"})
        return hmac.new(self.derived(CONTENT_MAC_INFO), body, hashlib.sha256).hexdigest()

    def match_hmac(self, kind: str, value: str) -> str:
        """Keyed HMAC of one duplicate match key (``fieldapp.domain.member.match_keys``: national_id, name,
        phonetic, latin): probable duplicates are found without storing names or birth dates in the clear."""
        data = f"{kind}:{value}".encode("utf-8", "surrogatepass")
        return hmac.new(self.derived(MATCH_KEY_INFO), data, hashlib.sha256).hexdigest()

    def member_key(self) -> bytes:
        """The AES-256-GCM key of the members' lookup entries and versions at rest (HKDF from the national-ID key)."""
        return self.derived(MEMBER_DATA_INFO)

    def seal_entry(self, doc, label: str) -> str:
        """``doc`` (JSON) encrypted at rest, bound to ``label`` (e.g. the member number and version): base64."""
        nonce = os.urandom(12)
        box = AESGCM(self.member_key()).encrypt(nonce, wire.canonical_json(doc), b"fieldapp-member:" + label.encode())
        return wire.b64e(nonce + box)

    def open_entry(self, text: str, label: str):
        """The document ``seal_entry`` sealed under ``label``; ``wire.WireError("undecryptable")`` otherwise."""
        try:
            raw = wire.b64d(text)
            plain = AESGCM(self.member_key()).decrypt(raw[:12], raw[12:], b"fieldapp-member:" + label.encode())
            return json.loads(plain)
        except (InvalidTag, ValueError, wire.WireError):
            raise wire.WireError("undecryptable", "member data") from None


def write_new_private(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` (0600) only if it does not exist yet, atomically and durably.

    Returns False when another process created it first.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # before any data, whatever the umask
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
        fsync_dir(path.parent)


def _encode(keys: dict) -> bytes:
    return json.dumps({"v": 1, **{k: wire.b64e(v) for k, v in keys.items()}}, indent=1, sort_keys=True).encode()


def _decode(data: bytes) -> RegistryKeys:
    doc = json.loads(data.decode("utf-8"))
    raw = {k: wire.b64d(doc[k]) for k in ("seal_private", "sign_private", "nid_key", "token_key")}
    return RegistryKeys(seal_public=wire.x25519_public(raw["seal_private"]),
                        sign_public=wire.ed25519_public(raw["sign_private"]), **raw)


def load_or_create(data_dir: Path) -> RegistryKeys:
    """The registry keys of ``data_dir``, created on first use."""
    data_dir = secure_dir(Path(data_dir))
    path = data_dir / KEYS_FILE
    if not path.exists():
        fresh = wire.new_registry_keys()
        write_new_private(path, _encode({"seal_private": fresh["seal_private"], "sign_private": fresh["sign_private"],
                                         "nid_key": os.urandom(32), "token_key": os.urandom(32)}))
    if stat.S_IMODE(path.stat().st_mode) != FILE_MODE:
        os.chmod(path, FILE_MODE)
    return _decode(path.read_bytes())
