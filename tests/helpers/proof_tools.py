"""Signed registry answers for tests that drive the spool by hand: what a real registry would have signed.

Since the store moves a record past ``queued`` only on a receipt or status answer that verifies with the registry
key it holds, a test that writes spool outcomes itself must also write the proof, signed with the registry key of
the device it registered (``keys`` from ``wire.new_registry_keys()``).
"""

from __future__ import annotations

import json

from fieldapp.outbound import proofs, wire


def receipt_text(keys: dict, device_id: str, results: list[dict], *, batch_id: str = "b1",
                 batch_sha256: str = "0" * 64) -> str:
    """A signed receipt envelope as the spool stores it (``apply_receipt``'s ``receipt_json``)."""
    receipt = {"v": 2, "batch_id": batch_id, "batch_sha256": batch_sha256, "device_id": device_id,
               "idempotency_key": f"k-{batch_id}", "issued_at": wire.now_iso(), "results": results}
    return json.dumps(proofs.sign_receipt(receipt, keys["sign_private"]), separators=(",", ":"))


def status_text(keys: dict, device_id: str, records: list[dict]) -> str:
    """A signed status answer as the spool stores it (``apply_status``'s ``answer``)."""
    answer = proofs.sign_status({"records": records, "cursor": "1", "more": False}, keys["sign_private"],
                                device_id=device_id, issued_at=wire.now_iso())
    return json.dumps(answer, separators=(",", ":"))


def adopt_test_device(session) -> dict:
    """Register the store behind ``session`` as device ``dev-0001`` of a registry whose keys the test holds (no
    network): the registry's keys and ``device_private`` / ``device_public``."""
    from fieldapp.outbound import device as device_file
    from fieldapp.outbound import identity, wire

    priv, pub = wire.new_device_keys()
    keys = wire.new_registry_keys()
    identity.adopt(session, device_file.Device(
        "dev-0001", "https://registry.example.org", wire.b64e(priv), wire.b64e(pub),
        wire.b64e(keys["seal_public"]), wire.b64e(keys["sign_public"]), "2025-03-04T05:06:07Z"))
    return dict(keys, device_private=priv, device_public=pub)
