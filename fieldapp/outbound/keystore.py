"""The device's sync key at rest in the operating system's keystore, where there is one.

The sync engine signs without anybody's password, so the device's Ed25519 private key cannot live inside the
encrypted store alone. Where the ``keyring`` package finds a real keystore (Windows Credential Manager, macOS
Keychain, the Secret Service of a Linux desktop) the key is kept there, readable only by the logged-in account, and
``device.json`` says ``"key_store": "keyring"`` instead of holding it. Where there is none (a Linux laptop without a
Secret Service, CI) it stays in ``device.json`` (mode 0600): the documented fallback (docs/security.md). Either
way the store keeps its own copy (``identity``) and puts the key back at the next unlock if it goes missing.

With the approval key, the sync key alone gets nothing accepted: whoever copies it can log in to the registry and
send items, and every item without a supervisor's approval signature is rejected.

``FIELDAPP_KEYSTORE`` = ``auto`` (default), ``keyring`` (must be there) or ``file`` (never use the keystore).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from fieldapp.base.errors import FieldappError

log = logging.getLogger(__name__)
SERVICE = "fieldapp device key"
KEYRING = "keyring"


class KeystoreUnavailable(FieldappError):
    """``FIELDAPP_KEYSTORE=keyring`` but no usable keystore here."""

    def __init__(self):
        super().__init__("core.keystore.unavailable")


def mode() -> str:
    value = os.environ.get("FIELDAPP_KEYSTORE", "auto").strip().lower()
    return value if value in ("auto", "keyring", "file") else "auto"


def _account(data_dir, device_id: str) -> str:
    """One entry per data folder and device (a laptop may hold several data folders)."""
    folder = hashlib.sha256(str(Path(data_dir).resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{device_id}@{folder}"


def _backend():
    """The keyring backend when a real one is available, else None."""
    if mode() == "file":
        return None
    try:
        import keyring
        from keyring.backends import fail, null

        backend = keyring.get_keyring()
        if isinstance(backend, (fail.Keyring, null.Keyring)) or getattr(backend, "priority", 0) <= 0:
            return None
        return backend
    except Exception as exc:  # noqa: BLE001 - any keystore trouble means the fallback, never a crash
        log.info("no usable keystore (%s)", type(exc).__name__)
        return None


def describe() -> str:
    """Where a device key goes on this computer now: the keyring backend's name, or the device.json fallback."""
    backend = _backend()
    return f"{type(backend).__module__}.{type(backend).__name__}" if backend is not None else "file (device.json)"


def put(data_dir, device_id: str, private_b64: str) -> str | None:
    """Keep the key in the keystore; returns ``"keyring"``, or None when it must stay in device.json."""
    backend = _backend()
    if backend is None:
        if mode() == "keyring":
            raise KeystoreUnavailable()
        return None
    try:
        backend.set_password(SERVICE, _account(data_dir, device_id), private_b64)
        return KEYRING
    except Exception as exc:  # noqa: BLE001
        log.warning("the keystore refused the device key (%s): it stays in device.json", type(exc).__name__)
        if mode() == "keyring":
            raise KeystoreUnavailable() from None
        return None


def get(data_dir, device_id: str) -> str | None:
    """The key from the keystore, or None when it is not there (or there is no keystore)."""
    backend = _backend()
    if backend is None:
        return None
    try:
        return backend.get_password(SERVICE, _account(data_dir, device_id))
    except Exception as exc:  # noqa: BLE001
        log.warning("the keystore could not be read (%s)", type(exc).__name__)
        return None


def forget(data_dir, device_id: str) -> None:
    backend = _backend()
    if backend is None:
        return
    try:
        backend.delete_password(SERVICE, _account(data_dir, device_id))
    except Exception:  # noqa: BLE001 - not there: nothing to forget
        pass
