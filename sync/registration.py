"""Registering this laptop with the registry (a supervisor does it once, with a one-time code)."""

from __future__ import annotations

from pathlib import Path

from fieldapp.outbound import device as device_file
from fieldapp.base import fsutil
from fieldapp.base.encoding import now_iso_seconds
from fieldapp.base.paths import REGISTRY_CA_FILE as CA_COPY, DataDir
from fieldapp.outbound import wire
from sync.errors import SyncError, Unreachable
from sync.transport import Client, TransportError, check_pins, check_url

_ENROLL_REFUSALS = {"bad_code", "code_expired", "code_used", "unknown_code", "invalid_code"}


def _copy_ca(data_dir: Path, ca_file) -> str | None:
    """Keep a private copy of the CA bundle in the data folder (the USB stick may go away)."""
    if not ca_file:
        return None
    src = Path(ca_file).expanduser()
    try:
        data = src.read_bytes()
    except OSError:
        raise SyncError("ca_file_unreadable") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise SyncError("ca_file_unreadable")
    dst = DataDir(data_dir).registry_ca
    if src.resolve() != dst.resolve():
        fsutil.atomic_write(dst, data)
    return CA_COPY  # relative to the data folder


def _transport_failure(exc: TransportError) -> SyncError:
    if exc.kind == "pin":
        return Unreachable("pin_mismatch")
    if exc.kind == "tls":
        return Unreachable("tls_failed")
    if exc.kind == "busy":
        return Unreachable("registry_busy")
    if exc.kind == "unexpected":
        return Unreachable("unexpected_answer")
    return Unreachable("unreachable")


def register(data_dir, server_url: str, code: str, ca_file=None, pins=None, name: str | None = None,
             *, connect_timeout: float = 15.0, read_timeout: float = 60.0) -> device_file.Device:
    """Enroll a new Ed25519 device key with the one-time ``code``; save and return device.json.

    Refuses if this data folder is already registered (queued items are sealed and
    signed for that identity). Raises ``SyncError`` subclasses with codes only.
    """
    data_dir = Path(data_dir)
    if device_file.load(data_dir) is not None:
        raise SyncError("already_registered")
    url = check_url(server_url)
    pins = check_pins(pins)
    code = (code or "").strip()
    if not code:
        raise SyncError("enroll_refused", reason="bad_code")
    fsutil.secure_dir(data_dir)
    ca_rel = _copy_ca(data_dir, ca_file)
    ca_path = str(data_dir / ca_rel) if ca_rel else None
    private, public = wire.new_device_keys()
    client = Client(url, ca_file=ca_path, pins=pins, connect_timeout=connect_timeout,
                    read_timeout=read_timeout)
    try:
        body = {"code": code, "public_key": wire.b64e(public)}
        if name:  # never the host name by default: it is often a person's name
            body["name"] = name[:64]
        r = client.request("POST", "/v1/devices/enroll", json_body=body)
        if r.status != 200 or not isinstance(r.data, dict):
            if r.is_json and 400 <= r.status < 500:
                reason = r.error if r.error in _ENROLL_REFUSALS else (r.error or f"http_{r.status}")
                raise SyncError("enroll_refused", reason=str(reason)[:40])
            raise _transport_failure(TransportError("busy" if r.status >= 500 else "unexpected"))
        enrolled = r.data
        k = client.request("GET", "/v1/keys")
        keys = k.data if k.status == 200 and isinstance(k.data, dict) else {}
    except TransportError as exc:
        raise _transport_failure(exc) from None
    finally:
        client.close()
    device_id = enrolled.get("device_id")
    seal, sign = enrolled.get("seal_public_key"), enrolled.get("sign_public_key")
    if keys and (keys.get("seal_public_key") != seal or keys.get("sign_public_key") != sign):
        raise SyncError("registry_keys_mismatch")
    try:
        for raw in (seal, sign):
            if len(wire.b64d(raw)) != 32:
                raise wire.WireError("bad_public_key")
        if not isinstance(device_id, str) or not wire.ID_RE.match(device_id):
            raise wire.WireError("malformed")
    except wire.WireError:
        raise Unreachable("unexpected_answer") from None
    dev = device_file.Device(
        device_id=device_id, server_url=url, device_private_key=wire.b64e(private),
        device_public_key=wire.b64e(public), registry_seal_public_key=seal,
        registry_sign_public_key=sign,
        registered_at=now_iso_seconds(),
        ca_file=ca_rel, pins=pins)
    device_file.save(data_dir, dev)
    return dev

