"""Applying IT's signed provisioning document to a laptop, and what the laptop trusts of it.

``apply`` verifies the signed file (``provisioning.verify_bytes``) and writes the language and idle lock to the
desktop settings, the signed document to ``provisioning.json`` and the CA to ``provisioned-ca.pem`` (atomically,
0600; nothing in them is secret). Those files sit beside the store, so they are *input*, checked every time:

- **Which keys.** A document must be signed by an IT key bundled in the build (``fieldapp/trust/``), by a key given
  with ``--trusted-key``, or by the key the *store* pinned (``trusted.provisioning.trust_anchor``, written when a
  supervisor applies a document, or creates the store with one applied). The key recorded inside the applied file
  itself only stages a file for a store that does not exist yet; it is never an anchor for a store.
- **The recovery key.** The store's recovery slot gives whoever holds its private key every record. It is written
  only by a supervisor's explicit action: ``init`` with a provisioned key (the creator sees its fingerprint),
  ``fieldapp provision FILE --user SUPERVISOR`` (adding one where there was none; replacing one needs
  ``--confirm-recovery``), ``fieldapp recovery-set``, or *Confirm* in the desktop client's Settings. At an ordinary
  login a document asking for another recovery key only makes it *pending* (``recovery_pending``), with its
  fingerprint, for a supervisor to confirm; each change is an audit event with the old and new fingerprints.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from fieldapp.base import encoding, fsutil
from fieldapp.base.errors import FieldappError
from fieldapp.base.paths import DataDir
from fieldapp.deploy.provisioning import (ProvisioningError, _b64d, _b64e, bundled_keys, fingerprint, load_key,
                                          serialize, verify_bytes, when)
from fieldapp.store import trusted

log = logging.getLogger(__name__)
APPLIED_FORMAT = "fieldapp-provisioning-applied"


def _applied_doc(data_dir) -> dict | None:
    try:
        doc = fsutil.read_json(DataDir(data_dir).provisioning)
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == APPLIED_FORMAT else None


def _staged_key(doc) -> list[bytes]:
    try:
        return [_b64d(doc.get("trusted_key"), 32)]
    except (ValueError, AttributeError):
        return []


def _verify_applied(doc, keys: list[bytes]) -> tuple[dict, bytes, str] | None:
    """``(payload, signer, sha256)`` when the applied file holds a document signed by one of ``keys``."""
    if not isinstance(doc, dict) or not isinstance(doc.get("signed"), dict):
        return None
    try:
        data = serialize(doc["signed"])
        payload, signer = verify_bytes(data, keys, DataDir("").provisioning.name)
    except (ProvisioningError, TypeError, ValueError):
        return None
    return payload, signer, hashlib.sha256(data).hexdigest()


def file_keys(data_dir, extra_files=()) -> list[bytes]:
    """Keys a document may be applied under without a store: ``--trusted-key`` files, the bundled ones, and the
    signer of the document staged here before (a file-level pin only)."""
    return [load_key(p, "public") for p in extra_files] + bundled_keys() + _staged_key(_applied_doc(data_dir))


def store_keys(session) -> list[bytes]:
    """Keys the store trusts for provisioning: the bundled ones and its pinned anchor."""
    anchor = trusted.get(session.conn, "provisioning.trust_anchor")
    return bundled_keys() + ([_b64d(anchor, 32)] if anchor else [])


def applied(data_dir) -> dict | None:
    """The payload staged in this data folder (signature checked against ``file_keys``), or None. Only settings
    without records or keys are read from it before login (sync policy, default address)."""
    doc = _applied_doc(data_dir)
    found = _verify_applied(doc, file_keys(data_dir)) if doc else None
    return found[0] if found else None


def trusted_payload(session) -> dict | None:
    """The applied payload, if its signer is one the store trusts; else None."""
    found = _verify_applied(_applied_doc(session.store.data_dir), store_keys(session))
    return found[0] if found else None


def _slot_fp(session) -> str | None:
    try:
        return session.store.slots().recovery_fingerprint()
    except FieldappError:
        return None


def _pin(session, signer: bytes, sha: str) -> None:
    with session.write():
        old = trusted.get(session.conn, "provisioning.trust_anchor")
        trusted.put(session.conn, "provisioning.trust_anchor", _b64e(signer))
        trusted.put(session.conn, "provisioning.sha256", sha)
        if old != _b64e(signer):
            session.audit.append(session.name or "system", "store.provisioning_anchor", reason=fingerprint(signer))


def _recovery_step(session, payload, confirm: bool) -> str:
    """Write, keep pending, or report the document's recovery key: ``none``, ``set``, ``unchanged``, ``pending``."""
    from fieldapp.store import recovery

    raw = payload.get("recovery_public_key")
    if not raw:
        return "none"
    key = _b64d(raw, 32)
    current = _slot_fp(session)
    if current == fingerprint(key):
        recovery.clear_pending(session)
        if session.is_supervisor and session.store.slots().recovery_public() is None:
            recovery.set_recovery(session, key)  # release 0.1.0's slot, same key: now with the approval key too
        return "unchanged"
    if session is not None and session.is_supervisor and (current is None or confirm):
        recovery.set_recovery(session, key)
        return "set"
    recovery.mark_pending(session, key)
    return "pending"


def apply(data_dir, path, trusted_keys: list[bytes] | None = None, session=None, confirm_recovery: bool = False) -> dict:
    """Verify the signed file at ``path`` and apply it to ``data_dir``; returns a summary (no secrets).

    ``trusted_keys`` (IT's ``--trusted-key`` files) are trusted besides the bundled keys; without a ``session`` the
    document staged before also pins its signer. With a supervisor's ``session`` the document is checked against the
    store's anchor too, its signer becomes the anchor, and its recovery key is written when the store has none (or
    ``confirm_recovery``); otherwise it is pending until a supervisor confirms it.
    """
    from fieldapp.base import config

    data_dir = Path(data_dir)
    explicit = list(trusted_keys or [])
    keys = explicit + bundled_keys() + (store_keys(session) if session is not None else _staged_key(_applied_doc(data_dir)))
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise ProvisioningError("deploy.provision.unreadable", path=str(path)) from None
    payload, signer = verify_bytes(data, keys, path)
    before = applied(data_dir)
    if before and when(payload["issued_at"]) < when(before.get("issued_at")):
        raise ProvisioningError("deploy.provision.older", path=str(path))
    fsutil.secure_dir(data_dir)
    reg = payload["registry"]
    if reg.get("ca_pem"):
        fsutil.atomic_write(DataDir(data_dir).provisioned_ca, reg["ca_pem"].encode("utf-8"))
    fsutil.atomic_write_json(DataDir(data_dir).provisioning, {
        "format": APPLIED_FORMAT, "applied_at": encoding.now_iso_seconds(),
        "sha256": hashlib.sha256(data).hexdigest(), "signed_by": fingerprint(signer), "trusted_key": _b64e(signer),
        "signed": json.loads(data.decode("utf-8"))})
    changes = {k: payload[k] for k in ("language", "idle_minutes") if payload.get(k) is not None}
    if changes:
        config.update(data_dir, **changes)
    if session is not None and session.is_supervisor:
        _pin(session, signer, hashlib.sha256(data).hexdigest())
        recovery_state = _recovery_step(session, payload, confirm_recovery)
    else:
        recovery_state = "none" if not payload.get("recovery_public_key") else (
            "unchanged" if _recovery_matches(data_dir, _b64d(payload["recovery_public_key"], 32)) else "pending")
    log.info("provisioning applied (signer %s, recovery %s)", fingerprint(signer), recovery_state)
    return {"server": reg["url"], "language": payload.get("language"), "idle_minutes": payload.get("idle_minutes"),
            "recovery": "set" if recovery_state == "unchanged" else recovery_state, "device": check_device(data_dir),
            "signed_by": fingerprint(signer), "label": payload.get("label")}


def _recovery_matches(data_dir, public_key: bytes) -> bool:
    from fieldapp.store.keyslots import SlotFile

    try:
        return SlotFile.load(DataDir(data_dir).slots).recovery_fingerprint() == fingerprint(public_key)
    except FieldappError:
        return False


def recovery_public_key(data_dir) -> bytes | None:
    """The staged recovery public key (for ``init``: the creating supervisor is shown its fingerprint), or None."""
    payload = applied(data_dir)
    return _b64d(payload["recovery_public_key"], 32) if payload and payload.get("recovery_public_key") else None


def on_unlock(session) -> str | None:
    """After every unlock: check the applied document against the store. ``None`` (nothing applied), ``ok``,
    ``adopted`` (the first unlock of a store of release 0.1.0 pins the document it was provisioned with, when that
    changes nothing), ``pending`` (a recovery key waits for a supervisor's confirmation) or ``untrusted`` (ignored:
    a store of this release trusts only bundled keys and the signer it pinned)."""
    doc = _applied_doc(session.store.data_dir)
    if doc is None:
        return None
    found = _verify_applied(doc, store_keys(session))
    if found is None and not trusted.get(session.conn, "provisioning.trust_anchor") and trusted.legacy_adoption(session.conn):
        staged = _verify_applied(doc, _staged_key(doc))
        if staged is not None:
            payload, signer, sha = staged
            raw = payload.get("recovery_public_key")
            if not raw or _slot_fp(session) == fingerprint(_b64d(raw, 32)):
                _pin(session, signer, sha)  # the upgrade: the document this store was provisioned with
                return "adopted"
            from fieldapp.store import recovery

            recovery.mark_pending(session, _b64d(raw, 32), signer=fingerprint(signer))
            return "pending"
    if found is None:
        log.warning("the provisioning file beside the store is not signed by a key the store trusts: ignored")
        return "untrusted"
    payload, signer, sha = found
    if trusted.get(session.conn, "provisioning.sha256") != sha:
        _pin(session, signer, sha)
    return "pending" if _recovery_step(session, payload, confirm=False) == "pending" else "ok"


def registry_settings(data_dir, session=None) -> dict | None:
    """Where and how to reach the registry, as provisioned: server_url, ca_file, pins and the registry's keys. With
    a ``session``, only from a document the store trusts."""
    payload = trusted_payload(session) if session is not None else applied(data_dir)
    if not payload:
        return None
    reg = payload["registry"]
    ca = DataDir(data_dir).provisioned_ca
    if reg.get("ca_pem"):
        fsutil.atomic_write(ca, reg["ca_pem"].encode("utf-8"))  # the signed document's CA, not whatever is on disk
    return {"server_url": reg["url"], "ca_file": str(ca) if reg.get("ca_pem") else None,
            "pins": list(reg.get("pins", [])), "seal_public_key": reg["seal_public_key"],
            "sign_public_key": reg["sign_public_key"]}


def sync_policy(data_dir) -> dict:
    """``{"auto": bool, "interval_minutes": int}``: the provisioned sync policy, else automatic every 15 minutes."""
    sync = (applied(data_dir) or {}).get("sync", {})
    return {"auto": sync.get("auto", True), "interval_minutes": sync.get("interval_minutes", 15)}


def default_address(data_dir) -> dict:
    """The provisioned default province, district and commune codes (missing ones are None)."""
    defaults = (applied(data_dir) or {}).get("defaults", {})
    return {level: defaults.get(level) for level in ("province", "district", "commune")}


def check_device(data_dir) -> str:
    """``unregistered``, ``unprovisioned``, ``matches`` or ``differs``: is device.json the provisioned registry's?"""
    from fieldapp.outbound import device as device_file

    try:
        dev = device_file.load(data_dir)
    except device_file.DeviceFileError:
        return "differs"
    payload = applied(data_dir)
    if dev is None:
        return "unregistered"
    if payload is None:
        return "unprovisioned"
    reg = payload["registry"]
    same = (dev.server_url.rstrip("/") == reg["url"].rstrip("/") and dev.registry_seal_public_key == reg["seal_public_key"]
            and dev.registry_sign_public_key == reg["sign_public_key"])
    return "matches" if same else "differs"


def apply_machine_file(data_dir, path=None) -> str | None:
    """At start-up: apply the machine-wide file an installer left, if it is new here. Returns a translated
    one-line message (applied, or why it was refused), or None when there was nothing new. Never raises."""
    from fieldapp.base.i18n import tr
    from fieldapp.base.paths import machine_provisioning_file

    path = Path(path) if path else machine_provisioning_file()
    try:
        data = path.read_bytes()
    except OSError:
        return None
    doc = _applied_doc(data_dir)
    if doc and doc.get("sha256") == hashlib.sha256(data).hexdigest():
        return None
    try:
        summary = apply(data_dir, path)
    except FieldappError as exc:
        log.warning("machine provisioning file refused: %s", exc.msg_id)
        return exc.message()
    except OSError:
        log.warning("machine provisioning file could not be applied (OS error)")
        return tr("deploy.provision.unreadable", path=str(path))
    return tr("deploy.provision.applied", server=summary["server"], signer=summary["signed_by"])
