"""This laptop's registration as the encrypted store holds it; ``device.json`` is a copy, checked against it.

The sync engine runs without anybody's password, so it reads ``device.json`` (the registry's URL, its keys, the
device key). Anyone who can write to the data folder can rewrite that file; what they cannot do is make the store
believe them:

- at registration the whole device identity and the registry's CA are written into the store (``adopt``), and
  ``device.json`` gets a MAC under a key derived from the store key;
- at every unlock ``check`` compares the file (and the CA file) with the store's copy and rewrites them from it
  when they differ (``device.file_repaired`` in the audit trail);
- records are sealed only to the registry key the store holds (``outbox``), and a record moves past ``queued`` only
  on a receipt or status answer that verifies with the registry signing key the store holds (``outbox.pull_states``),
  so a redirected engine at worst delays delivery until the next unlock: it cannot read, redirect or lose a record.

A store of release 0.1.0 has no copy yet: the first unlock after the upgrade adopts the files as they are then
(``trusted.legacy_adoption``). A store of this release registers only through ``sync.registration.register_store``;
a device.json it never wrote is set aside (``device.file_ignored`` in the audit trail), never adopted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldapp.base import fsutil
from fieldapp.base.encoding import canonical_json, canonical_text
from fieldapp.base.paths import REGISTRY_CA_FILE, DataDir
from fieldapp.outbound import device as device_file
from fieldapp.store import trusted

log = logging.getLogger(__name__)


def _mac(db_key: bytes, body: dict) -> str:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"fieldapp device file v1").derive(db_key)
    return hmac.new(key, canonical_json({k: v for k, v in body.items() if k != "mac"}), hashlib.sha256).hexdigest()


def trusted_device(session) -> device_file.Device | None:
    """The device this store registered (None if it never did): the only source for sealing and checking."""
    text = trusted.get(session.conn, "device.identity")
    if not text:
        return None
    cached = getattr(session, "_trusted_device", None)  # sealing asks for it once per approved record
    if cached is not None and cached[0] == text:
        return cached[1]
    dev = device_file.from_json(json.loads(text))
    session._trusted_device = (text, dev)
    return dev


def trusted_ca(session) -> str | None:
    return trusted.get(session.conn, "registry.ca_pem") or None


def write_file(session, dev: device_file.Device) -> None:
    """Write ``device.json`` (and the CA file) from the store's copy, with the MAC."""
    data_dir = session.store.data_dir
    ca = trusted_ca(session)
    if ca:
        fsutil.atomic_write(DataDir(data_dir).registry_ca, ca.encode("utf-8"))
    device_file.save(data_dir, dev, mac_of=lambda body: _mac(session.key, body))


def _normalised(dev: device_file.Device, ca_pem: str | None) -> device_file.Device:
    from dataclasses import replace

    return replace(dev, ca_file=REGISTRY_CA_FILE if ca_pem else None)


def adopt(session, dev: device_file.Device, ca_pem: str | None = None, *, event: str = "device.registered") -> None:
    """Make ``dev`` (just registered, or found at the first unlock after an upgrade) the store's trusted identity."""
    dev = _normalised(dev, ca_pem)
    with session.write():
        trusted.put(session.conn, "device.identity", canonical_text(dev.to_json()))
        trusted.put(session.conn, "registry.ca_pem", ca_pem or "")
        session.audit.append(session.name or "system", event, reason=dev.device_id)
    write_file(session, dev)


def _file_ca(data_dir, dev: device_file.Device) -> str | None:
    if not dev.ca_file:
        return None
    from pathlib import Path

    path = Path(dev.ca_file)
    path = path if path.is_absolute() else DataDir(data_dir).root / path
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return text if "-----BEGIN CERTIFICATE-----" in text else None


def check(session) -> str:
    """At unlock: ``unregistered``, ``ok``, ``adopted`` (first unlock after an upgrade) or ``repaired`` (the files
    differed from the store's copy and were rewritten from it)."""
    data_dir = session.store.data_dir
    held = trusted_device(session)
    try:
        raw = device_file.read_raw(data_dir)
        on_disk = device_file.load(data_dir) if raw is not None else None
    except device_file.DeviceFileError:
        raw, on_disk = {}, None
    if held is None:
        if on_disk is None and not raw:
            return "unregistered"
        if on_disk is not None and trusted.legacy_adoption(session.conn):
            adopt(session, on_disk, _file_ca(data_dir, on_disk), event="device.adopted")
            log.warning("device identity adopted from device.json (first unlock of this store since the upgrade)")
            return "adopted"
        _set_aside(session)  # a store that registers only through register_store: a file it never wrote
        return "unregistered"
    ca = trusted_ca(session)
    same = (isinstance(raw, dict) and hmac.compare_digest(str(raw.get("mac", "")).encode("utf-8", "surrogatepass"),
                                                          _mac(session.key, raw).encode("ascii"))
            and on_disk == held and (not ca or _file_ca(data_dir, on_disk) == ca))
    if same:
        return "ok"
    write_file(session, held)
    with session.write():
        session.audit.append(session.name or "system", "device.file_repaired", reason=held.device_id)
    log.warning("device.json or its CA file differed from the store's copy: rewritten from the store")
    return "repaired"


def _set_aside(session) -> None:
    """A device.json the store never wrote (planted, or left by another store): moved aside, never used to seal."""
    import time

    path = device_file.path_of(session.store.data_dir)
    aside = path.with_name(f"{path.name}.untrusted-{time.strftime('%Y%m%dT%H%M%S')}")
    try:
        path.replace(aside)
    except OSError:
        return
    with session.write():
        session.audit.append(session.name or "system", "device.file_ignored", reason=aside.name)
    log.warning("a device.json this store never registered was set aside as %s", aside.name)


def rewrite_after_rekey(session) -> None:
    """The MAC is keyed from the database key: write the file again under the new one."""
    held = trusted_device(session)
    if held is not None:
        write_file(session, held)
