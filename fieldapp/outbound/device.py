"""The device identity file ``device.json`` in the data folder.

Written at registration (mode 0600, atomically: a 0600 temporary sibling, fsync, rename, fsync of the folder), and
rewritten from the encrypted store's copy whenever it differs (``identity``). The device's Ed25519 sync key is in
the operating system's keystore where there is one (``keystore``: the file then says ``"key_store": "keyring"``),
else in this file, because sync must sign without anybody's password (docs/security.md).
"""

from __future__ import annotations

import binascii
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fieldapp.base import fsutil
from fieldapp.base.errors import FieldappError
from fieldapp.base.encoding import b64decode
from fieldapp.base.paths import DEVICE_FILE, DataDir  # noqa: F401 (DEVICE_FILE: old importers)
from fieldapp.outbound import keystore

_REQUIRED = ("device_id", "server_url", "device_private_key", "device_public_key",
             "registry_seal_public_key", "registry_sign_public_key", "registered_at")


class DeviceFileError(FieldappError):
    """device.json exists but cannot be used.

    The message is ``sync.error.device_file`` (the one text every screen and command shows for it; sync reports it
    under the code ``device_file``). ``detail`` says what is wrong, in English for logs: it never holds key material.
    """

    code = "device_file"

    def __init__(self, detail: str):
        super().__init__("sync.error.device_file")
        self.detail = detail


@dataclass(frozen=True)
class Device:
    device_id: str
    server_url: str
    device_private_key: str          # Ed25519 raw, base64
    device_public_key: str           # Ed25519 raw, base64
    registry_seal_public_key: str    # X25519 raw, base64
    registry_sign_public_key: str    # Ed25519 raw, base64
    registered_at: str
    ca_file: str | None = None
    pins: tuple[str, ...] = field(default_factory=tuple)

    # raw bytes, for wire.*
    @property
    def private_raw(self) -> bytes:
        return b64decode(self.device_private_key)

    @property
    def public_raw(self) -> bytes:
        return b64decode(self.device_public_key)

    @property
    def seal_public_raw(self) -> bytes:
        return b64decode(self.registry_seal_public_key)

    @property
    def sign_public_raw(self) -> bytes:
        return b64decode(self.registry_sign_public_key)

    def to_json(self) -> dict:
        d = asdict(self)
        d["pins"] = list(self.pins)
        if not d["pins"]:
            del d["pins"]
        if d["ca_file"] is None:
            del d["ca_file"]
        return d

    def __repr__(self) -> str:  # never print the private key
        return f"Device(device_id={self.device_id!r}, server_url={self.server_url!r})"

    __str__ = __repr__


def path_of(data_dir) -> Path:
    return DataDir(data_dir).device


def _check_b64(name: str, value, size: int) -> None:
    try:
        raw = b64decode(value)
    except (binascii.Error, TypeError, ValueError, AttributeError):
        raise DeviceFileError(f"device.json: {name} is not base64") from None
    if len(raw) != size:
        raise DeviceFileError(f"device.json: {name} has the wrong length")


def from_json(data) -> Device:
    if not isinstance(data, dict):
        raise DeviceFileError("device.json: not a JSON object")
    missing = [k for k in _REQUIRED if not isinstance(data.get(k), str) or not data.get(k)]
    if missing:
        raise DeviceFileError(f"device.json: missing {', '.join(missing)}")
    for name in ("device_private_key", "device_public_key", "registry_seal_public_key",
                 "registry_sign_public_key"):
        _check_b64(name, data[name], 32)
    pins = data.get("pins") or []
    if not isinstance(pins, list) or not all(isinstance(p, str) for p in pins):
        raise DeviceFileError("device.json: pins must be a list of strings")
    ca = data.get("ca_file")
    if ca is not None and not isinstance(ca, str):
        raise DeviceFileError("device.json: ca_file must be a string")
    return Device(**{k: data[k] for k in _REQUIRED}, ca_file=ca, pins=tuple(pins))


def read_raw(data_dir) -> dict | None:
    """device.json as written (the private key absent when the keystore holds it), or None when there is none."""
    p = path_of(data_dir)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        raise DeviceFileError("device.json cannot be read") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DeviceFileError("device.json is not valid JSON") from None
    if not isinstance(data, dict):
        raise DeviceFileError("device.json: not a JSON object")
    return data


def load(data_dir) -> Device | None:
    """The registered device, or ``None`` if this data folder was never registered."""
    data = read_raw(data_dir)
    if data is None:
        return None
    if data.get("key_store") == keystore.KEYRING:
        private = keystore.get(data_dir, str(data.get("device_id")))
        if not private:
            raise DeviceFileError("device.json: the device key is not in the keystore")
        data = dict(data, device_private_key=private)
    return from_json(data)


def body_of(data_dir, device: Device) -> dict:
    """What device.json holds for ``device``: the private key goes to the keystore when there is one."""
    body = device.to_json()
    if keystore.put(data_dir, device.device_id, device.device_private_key) == keystore.KEYRING:
        del body["device_private_key"]
        body["key_store"] = keystore.KEYRING
    return body


def save(data_dir, device: Device, mac_of=None) -> Path:
    """Write ``device.json`` atomically and durably, owner-only. ``mac_of(body)``: the store's MAC over it."""
    d = Path(data_dir)
    fsutil.secure_dir(d)
    p = path_of(d)
    body = body_of(d, device)
    if mac_of is not None:
        body["mac"] = mac_of(body)
    fsutil.atomic_write(p, json.dumps(body, indent=1, sort_keys=True).encode("utf-8"))
    return p
