"""Membership cards in status answers (protocol 3): the registry's signature over each registered record's card.

A device that asks (``"cards": true`` in ``POST /v1/status``, ``&cards=1`` on ``GET``) gets, in each registered
record's entry, ``"card": {"issued_at", "sig"}``: an Ed25519 signature by the registry signing key over the card
claims ``fieldapp.domain.card.card_claims`` builds from the record the device sealed. The answer carries no
personal data: the device holds the record and rebuilds the same claims (docs/credentials.md). A stored item that
cannot be opened any more (none should) gets no card; the answer is still given, and the failure logged.
"""

from __future__ import annotations

import json
import logging

from fieldapp.domain.card import card_claims
from fieldapp.outbound import credential, wire
from registry import logs
from registry.keys import RegistryKeys
from registry.sealed import open_stored
from registry.storage import Database, Tx

CHUNK = 500


def _items(tx: Tx, device_id: str, record_ids: list[str]) -> tuple[dict[str, str], bytes | None, dict]:
    """The stored items of ``record_ids``, the device's public key and its approval keys by fingerprint (current or
    retired: an item keeps the key that approved it)."""
    items = {}
    for i in range(0, len(record_ids), CHUNK):
        part = record_ids[i:i + CHUNK]
        marks = ",".join("?" * len(part))
        for record_id, item in tx.execute(f"SELECT record_id, item FROM records WHERE device_id = ? AND record_id IN "
                                          f"({marks})", [device_id, *part]):
            items[record_id] = item
    device = tx.one("SELECT public_key FROM devices WHERE device_id = ?", (device_id,))
    approvals = dict(tx.execute("SELECT fingerprint, public_key FROM approval_keys WHERE device_id = ?", (device_id,)))
    return items, (wire.b64d(device[0]) if device else None), approvals


def _record(stored: str, keys: RegistryKeys, device_public: bytes, approvals: dict) -> dict:
    item = json.loads(stored)
    fp = (item.get("approval") or {}).get("key") if item.get("v") == wire.ITEM_V2 else None
    approval_public = wire.b64d(approvals[fp]) if fp in approvals else None
    return open_stored(item, keys, device_public, approval_public)


def add_cards(db: Database, keys: RegistryKeys, device_id: str, entries: list[dict], issued_at: str) -> int:
    """Put a ``card`` into every registered entry of ``entries`` (in place); returns how many got one."""
    wanted = [e["record_id"] for e in entries if e.get("state") == "registered" and e.get("registry_id")]
    if not wanted:
        return 0
    items, device_public, approvals = db.run(lambda tx: _items(tx, device_id, wanted), write=False)
    made = 0
    for entry in entries:
        stored = items.get(entry["record_id"]) if entry.get("state") == "registered" else None
        if stored is None or device_public is None or not entry.get("registry_id"):
            continue
        try:
            if entry.get("version"):  # an applied update (protocol 4): the card of the version it made
                from registry import members

                record = db.run(lambda tx: members.version_record(tx, keys, entry["registry_id"], entry["version"]),
                                write=False)
                claims = card_claims(record, entry["registry_id"], issued_at, entry["version"])
            else:
                record = _record(stored, keys, device_public, approvals)
                claims = card_claims(record, entry["registry_id"], issued_at)
            sig = credential.card_signature(claims, keys.sign_private)
        except (wire.WireError, credential.CredentialError, ValueError, KeyError, TypeError, AttributeError) as exc:
            logs.event("card_failed", logging.ERROR, device_id=device_id, kind=type(exc).__name__)
            continue
        entry["card"] = {"issued_at": issued_at, "sig": wire.b64e(sig)}
        made += 1
    return made
