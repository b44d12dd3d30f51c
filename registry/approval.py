"""Supervisor approval keys: which key must have approved a device's records.

A laptop of this release holds an Ed25519 *approval key* that only supervisor key slots of its encrypted store
reach; every version 2 item carries that key's signature (``wire.verify_approval``). The registry keeps one current
approval key per device (``approval_keys``, a partial unique index on the rows not retired), registered:

- at enrollment (``how = enroll``): ``approval_public_key`` + ``approval_proof`` in the enrollment body;
- by the device's bearer token when it has none yet (``how = token``, trust on first use: how a release 0.1.0
  laptop that upgrades registers its key);
- with a fresh one-time enrollment code (``how = code``): the only way to replace a registered key; the old one is
  retired and only the new one is accepted from then on.

A proof (``proofs.verify_approval_key_proof``) is the approval key's signature over the device's public key, so a
key is only ever registered by whoever holds it, for that device. Once a device has an approval key, the registry
takes nothing from it without a valid approval signature (``intake``): ``device.json`` alone no longer gets a
record accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

from fieldapp.base.encoding import wire_time
from fieldapp.outbound import proofs, wire
from registry import devices, logs
from registry.errors import ApiError
from registry.storage import Database, Tx


@dataclass(frozen=True)
class ApprovalKey:
    fingerprint: str
    public: bytes


def check_proof(device_public_b64: str, approval_public_b64, proof) -> bytes:
    """The approval public key (raw) when ``proof`` binds it to this device; ApiError 400 otherwise."""
    if not isinstance(approval_public_b64, str) or not isinstance(proof, str):
        raise ApiError(400, "bad_approval_proof", "approval_public_key and approval_proof go together")
    try:
        return proofs.verify_approval_key_proof(device_public_b64, approval_public_b64, proof)
    except wire.WireError as exc:
        reason = "bad_public_key" if exc.reason == "bad_public_key" else "bad_approval_proof"
        raise ApiError(400, reason, "the approval key proof does not verify for this device") from None


def current(tx: Tx, device_id: str) -> ApprovalKey | None:
    """The device's current approval key, or None (a device that never registered one)."""
    row = tx.one("SELECT fingerprint, public_key FROM approval_keys WHERE device_id = ? AND retired_at IS NULL",
                 (device_id,))
    return ApprovalKey(row[0], wire.b64d(row[1])) if row else None


def current_key(db: Database, device_id: str) -> ApprovalKey | None:
    return db.run(lambda tx: current(tx, device_id), write=False)


def _insert(tx: Tx, device_id: str, public: bytes, how: str, at: float) -> bool:
    tx.execute("INSERT INTO approval_keys (device_id, fingerprint, public_key, registered_at, how) VALUES (?, ?, ?, ?, ?) "
               "ON CONFLICT (device_id) WHERE retired_at IS NULL DO NOTHING",
               (device_id, wire.key_fingerprint(public), wire.b64e(public), at, how))
    return tx.rowcount == 1


def at_enrollment(public: bytes):
    """The hook ``devices.enroll`` runs in its transaction: register ``public`` for the new device."""

    def hook(tx: Tx, device_id: str, at: float) -> None:
        _insert(tx, device_id, public, "enroll", at)

    return hook


def register(db: Database, device_id: str, device_public: bytes, approval_public_b64: str, proof: str,
             code: str | None) -> dict:
    """``POST /v1/devices/approval-key``: register, confirm or (with a code) replace the device's approval key."""
    public = check_proof(wire.b64e(device_public), approval_public_b64, proof)
    fingerprint = wire.key_fingerprint(public)

    def work(tx: Tx) -> str:
        at = devices.now()
        # a row lock on the device: registrations of one device run one at a time (portable: no SELECT FOR UPDATE)
        tx.execute("UPDATE devices SET name = name WHERE device_id = ?", (device_id,))
        held = current(tx, device_id)
        if held is not None and held.fingerprint == fingerprint:
            return "unchanged"
        if held is not None and not code:
            raise ApiError(409, "approval_key_exists", "another approval key is registered; replacing it needs a "
                                                       "one-time enrollment code")
        if code:
            devices._consume_code(tx, code, device_id, at)
        if held is not None:
            tx.execute("UPDATE approval_keys SET retired_at = ? WHERE device_id = ? AND retired_at IS NULL",
                       (at, device_id))
        if not _insert(tx, device_id, public, "code" if code else "token", at):  # pragma: no cover - the row lock
            raise ApiError(409, "approval_key_exists", "another approval key was registered at the same time")
        return "rotated" if held is not None else "registered"

    state = db.run(work)
    logs.event("approval_key", device_id=device_id, approval_key=fingerprint, state=state,
               how="code" if code and state != "unchanged" else "token")
    return {"device_id": device_id, "approval_key": fingerprint, "state": state}


def describe(db: Database) -> dict[str, dict]:
    """Per device, for ``fieldapp-registry devices``: the current approval key, the kept audit head's seq and the
    audit alerts (forks, roll-backs) seen for that key."""

    def work(tx: Tx) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for dev, fp, how, at in tx.execute("SELECT device_id, fingerprint, how, registered_at FROM approval_keys "
                                           "WHERE retired_at IS NULL"):
            out[dev] = {"approval_key": fp, "approval_key_how": how, "approval_key_at": _iso(at),
                        "audit_head_seq": None, "audit_alerts": []}
        for dev, fp, seq in tx.execute("SELECT device_id, approval_key, MAX(seq) FROM audit_heads "
                                       "GROUP BY device_id, approval_key"):
            if dev in out and out[dev]["approval_key"] == fp:
                out[dev]["audit_head_seq"] = int(seq)
        for dev, fp, kind, seq, at in tx.execute("SELECT device_id, approval_key, kind, seq, at FROM audit_alerts "
                                                 "ORDER BY at"):
            if dev in out:
                out[dev]["audit_alerts"].append({"kind": kind, "seq": int(seq), "approval_key": fp, "at": _iso(at)})
        return out

    return db.run(work, write=False)


def _iso(ts: float | None) -> str | None:
    return None if ts is None else wire_time(ts)


def annotate(db: Database, listed: list[dict]) -> list[dict]:
    """``devices.list_devices`` rows with their approval key, audit head seq and audit alerts added."""
    extra = describe(db)
    empty = {"approval_key": None, "approval_key_how": None, "approval_key_at": None, "audit_head_seq": None,
             "audit_alerts": []}
    return [{**row, **extra.get(row["device_id"], empty)} for row in listed]
