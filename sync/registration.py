"""Registering this laptop with the registry (a supervisor does it once, with a one-time code)."""

from __future__ import annotations

from pathlib import Path

from fieldapp.outbound import device as device_file
from fieldapp.base import fsutil
from fieldapp.base.encoding import now_iso_seconds
from fieldapp.base.paths import REGISTRY_CA_FILE as CA_COPY, DataDir
from fieldapp.outbound import proofs, wire
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
             *, connect_timeout: float = 15.0, read_timeout: float = 60.0,
             approval_key: bytes | None = None) -> device_file.Device:
    """Enroll a new Ed25519 device key with the one-time ``code``; save and return device.json.

    With ``approval_key`` (the store's supervisor approval key) the enrollment also registers its public half, with
    a proof of possession bound to the new device key. Refuses if this data folder is already registered (queued
    items are sealed and signed for that identity). Raises ``SyncError`` subclasses with codes only. A store's
    supervisor registers with ``register_store``, which also makes the store hold the registration.
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
        if approval_key is not None:
            body.update(proofs.approval_key_proof(wire.b64e(public), approval_key))
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



def register_store(session, server_url: str, code: str, ca_file=None, pins=None, name: str | None = None,
                   expect_keys: tuple[str, str] | None = None, **kw) -> device_file.Device:
    """A supervisor registers this laptop: enroll (with the store's approval key), then make the encrypted store
    hold the registration (``identity.adopt``), so device.json is only ever a checked copy. ``expect_keys``
    (sealing, signing; from IT's provisioning) undoes the registration when the registry's keys differ."""
    from fieldapp.base.errors import FieldappError
    from fieldapp.outbound import identity

    session.require_supervisor()
    if identity.trusted_device(session) is not None:
        raise SyncError("already_registered")
    data_dir = session.store.data_dir
    dev = register(data_dir, server_url, code, ca_file, pins, name, approval_key=session.approval_key, **kw)
    if expect_keys is not None and (dev.registry_seal_public_key, dev.registry_sign_public_key) != tuple(expect_keys):
        device_file.path_of(data_dir).unlink()
        raise FieldappError("deploy.register.keys_differ", server=server_url)
    ca_pem = None
    if dev.ca_file:
        try:
            ca_pem = DataDir(data_dir).registry_ca.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            raise SyncError("ca_file_unreadable") from None
    identity.adopt(session, dev, ca_pem)
    return dev
