"""IT provisioning, the document: one signed JSON file points a laptop at the right registry with the right keys.

IT signs the document (docs/deploy.md) with the IT provisioning key (Ed25519: ``provision-keygen``,
``provision-sign``). The signed file has one exact form (``serialize``): a laptop refuses it if any byte differs
from that form, if the signature (over everything but its own value) does not verify, or if the signer is not one
of the keys it is checked against. Applying it to a data folder and to the store, and which keys a laptop trusts
for that, is ``fieldapp.deploy.provisioned``.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import logging
import re
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fieldapp.base import encoding
from fieldapp.base.errors import FieldappError
from fieldapp.base.paths import APPLIED_FILE, CA_FILE  # noqa: F401 (the names: old importers)

log = logging.getLogger(__name__)
FORMAT, SIGNED_FORMAT, APPLIED_FORMAT, VERSION = ("fieldapp-provisioning", "fieldapp-provisioning-signed",
                                                  "fieldapp-provisioning-applied", 1)
KEY_TYPES = {"private": "fieldapp-provisioning-private-key", "public": "fieldapp-provisioning-public-key"}
TRUST_DIR = Path(__file__).resolve().parents[1] / "trust"
_CONTEXT = b"fieldapp provisioning v1\x00"
_TOP = {"format", "version", "label", "issued_at", "registry", "recovery_public_key", "defaults", "language",
        "idle_minutes", "sync"}
_REGISTRY = {"url", "ca_pem", "pins", "seal_public_key", "sign_public_key"}
_LOOPBACK = re.compile(r"^http://(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?(?:/.*)?$")


class ProvisioningError(FieldappError):
    """A provisioning file was refused (the message says why, in one line, never with key material)."""


# -- encoding -------------------------------------------------------------------------------------------------------
def _b64d(text, size: int | None = None) -> bytes:
    try:
        raw = encoding.b64decode(str(text))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ValueError("not base64") from None
    if size is not None and len(raw) != size:
        raise ValueError("wrong length")
    if encoding.b64encode(raw) != text:
        raise ValueError("not canonical base64")  # unused bits set: the same bytes, another text
    return raw


def _b64e(raw: bytes) -> str:
    return encoding.b64encode(raw)


def canonical(obj) -> bytes:
    return encoding.canonical_json(obj)


def serialize(doc) -> bytes:
    """The one exact form of a signed file (and of the unsigned template ``provision-sign`` reads)."""
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def fingerprint(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:32]


# -- IT keys ----------------------------------------------------------------------------------------------------------
def load_key(path, kind: str) -> bytes:
    """The raw 32-byte key from a key file of ``kind`` (``public`` or ``private``)."""
    try:
        doc = json.loads(Path(path).read_bytes().decode("utf-8"))
        if doc.get("type") != KEY_TYPES[kind]:
            raise ValueError("wrong type")
        return _b64d(doc["key"], 32)
    except (OSError, ValueError, KeyError, AttributeError, UnicodeDecodeError):
        raise ProvisioningError("deploy.key.bad_file", path=str(path)) from None


# -- the payload ------------------------------------------------------------------------------------------------------
def _bad(field: str) -> ProvisioningError:
    return ProvisioningError("deploy.provision.invalid", field=field)


def _is_key(text, size: int) -> bool:
    try:
        _b64d(text, size)
        return True
    except ValueError:
        return False


def _int_in(value, low: int, high: int) -> bool:
    """None, or an int (not a bool) in [low, high]."""
    return value is None or (type(value) is int and low <= value <= high)


def validate(payload) -> dict:
    """``payload`` if every setting is valid, else ``ProvisioningError`` naming the first bad field."""
    from fieldapp.domain import geo
    from fieldapp.base.config import MAX_IDLE_MINUTES, MIN_IDLE_MINUTES
    from fieldapp.base.i18n import LANGUAGES

    def need(ok, field: str) -> None:
        if not ok:
            raise _bad(field)

    need(isinstance(payload, dict) and payload.get("format") == FORMAT and payload.get("version") == VERSION, "format")
    for key in sorted(set(payload) - _TOP):
        raise _bad(key)
    need(isinstance(payload.get("issued_at"), str) and when(payload["issued_at"]) > when(""), "issued_at")
    reg = payload.get("registry")
    need(isinstance(reg, dict) and not set(reg) - _REGISTRY, "registry")
    url = reg.get("url")
    need(isinstance(url, str) and " " not in url and (url.startswith("https://") or _LOOPBACK.match(url)),
         "registry.url")
    ca = reg.get("ca_pem")
    need(ca is None or (isinstance(ca, str) and "-----BEGIN CERTIFICATE-----" in ca), "registry.ca_pem")
    for field in ("seal_public_key", "sign_public_key"):
        need(_is_key(reg.get(field), 32), f"registry.{field}")
    pins = reg.get("pins", [])
    need(isinstance(pins, list) and all(_is_key(p, 32) for p in pins), "registry.pins")
    need(payload.get("recovery_public_key") is None or _is_key(payload["recovery_public_key"], 32),
         "recovery_public_key")
    defaults = payload.get("defaults", {})
    need(isinstance(defaults, dict) and not set(defaults) - {"province", "district", "commune"}, "defaults")
    parent = ""
    for level in ("province", "district", "commune"):
        code = defaults.get(level)
        if code is not None:
            need(isinstance(code, str) and code.startswith(parent) and getattr(geo, level)(code) is not None,
                 f"defaults.{level}")
            parent = code
    need(payload.get("language") is None or payload["language"] in LANGUAGES, "language")
    need(_int_in(payload.get("idle_minutes"), MIN_IDLE_MINUTES, MAX_IDLE_MINUTES), "idle_minutes")
    sync = payload.get("sync", {})
    need(isinstance(sync, dict) and not set(sync) - {"auto", "interval_minutes"}, "sync")
    need(isinstance(sync.get("auto", True), bool), "sync.auto")
    need(_int_in(sync.get("interval_minutes"), 1, 1440), "sync.interval_minutes")
    return payload


# -- signing and verifying ----------------------------------------------------------------------------------------------
def sign(payload: dict, private_raw: bytes) -> bytes:
    """The signed file's bytes for ``payload`` (validated first)."""
    validate(payload)
    priv = Ed25519PrivateKey.from_private_bytes(private_raw)
    doc = {"format": SIGNED_FORMAT, "version": VERSION, "payload": payload,
           "signature": {"alg": "ed25519", "key": fingerprint(priv.public_key().public_bytes_raw())}}
    doc["signature"]["value"] = _b64e(priv.sign(_message(doc)))
    return serialize(doc)


def _message(doc: dict) -> bytes:
    """What the signature covers: the whole document but the signature's value."""
    body = dict(doc, signature={k: v for k, v in doc["signature"].items() if k != "value"})
    return _CONTEXT + canonical(body)


def bundled_keys() -> list[bytes]:
    """IT public keys shipped inside this build (none in a source checkout)."""
    keys = []
    for path in sorted(TRUST_DIR.glob("*.json")) if TRUST_DIR.is_dir() else []:
        try:
            keys.append(load_key(path, "public"))
        except ProvisioningError:
            log.warning("ignored an unreadable bundled IT key file")
    return keys


def verify_bytes(data: bytes, trusted: list[bytes], path="?") -> tuple[dict, bytes]:
    """(payload, signer's public key) of a signed file's bytes, or ``ProvisioningError``."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProvisioningError("deploy.provision.tampered", path=str(path)) from None
    if not isinstance(doc, dict) or doc.get("format") != SIGNED_FORMAT:
        raise ProvisioningError("deploy.provision.not_signed", path=str(path))
    if serialize(doc) != data:
        raise ProvisioningError("deploy.provision.tampered", path=str(path))
    if not trusted:
        raise ProvisioningError("deploy.provision.no_trusted_key", path=str(path))
    sig, payload = doc.get("signature"), doc.get("payload")
    if (set(doc) != {"format", "version", "payload", "signature"} or doc["version"] != VERSION
            or not isinstance(sig, dict) or set(sig) != {"alg", "key", "value"} or sig["alg"] != "ed25519"
            or not isinstance(payload, dict)):
        raise ProvisioningError("deploy.provision.tampered", path=str(path))
    signer = next((k for k in trusted if fingerprint(k) == sig.get("key")), None)
    if signer is None:
        raise ProvisioningError("deploy.provision.untrusted", path=str(path))
    try:
        Ed25519PublicKey.from_public_bytes(signer).verify(_b64d(sig["value"], 64), _message(doc))
    except (InvalidSignature, ValueError):
        raise ProvisioningError("deploy.provision.tampered", path=str(path)) from None
    return validate(payload), signer


def load_verified(path, trusted_keys: list[bytes]) -> dict:
    """The verified payload of the signed file at ``path``; ``ProvisioningError`` if it is refused."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise ProvisioningError("deploy.provision.unreadable", path=str(path)) from None
    return verify_bytes(data, list(trusted_keys), path)[0]


def when(text) -> datetime:
    """``issued_at`` as a time (the earliest possible time when it is not one)."""
    try:
        return encoding.parse_iso(str(text))
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)
