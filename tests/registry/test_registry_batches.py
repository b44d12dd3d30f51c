"""Batch intake: receipts, idempotency, per-record outcomes and refused batches."""

from __future__ import annotations

import uuid

import pytest
from helpers.registry_client import Device, make_record

from fieldapp.outbound import proofs, wire


def statuses(receipt: dict) -> list[str]:
    return [r["status"] for r in receipt["results"]]


def test_batch_accepted_with_verifying_receipt(anydev):
    device = anydev
    records = [make_record() for _ in range(3)]
    r, body = device.send(records)
    receipt = device.verified(r, body)
    assert statuses(receipt) == ["accepted"] * 3
    assert receipt["device_id"] == device.device_id and receipt["v"] == device.version
    assert ("audit_head" in receipt) == (device.version == 2)  # version 1 receipts are exactly as in release 0.1.0
    assert [x["record_id"] for x in receipt["results"]] == [rec["record_id"] for rec in records]
    assert all(x["registry_id"].startswith("KH-REG-") for x in receipt["results"])
    with pytest.raises(wire.WireError):
        proofs.verify_receipt(r.json(), registry_sign_public=device.sign_public, batch_sha256=wire.sha256_hex(b"other"))
    with pytest.raises(wire.WireError):
        proofs.verify_receipt(r.json(), registry_sign_public=wire.new_device_keys()[1], batch_sha256=wire.sha256_hex(body))


def test_replay_same_key_returns_identical_receipt_and_other_body_is_refused(anydev):
    device = anydev
    key = f"fa-{uuid.uuid4()}"
    first, body = device.send([make_record()], key=key)
    again = device.post(body, key=key)
    assert again.status_code == 200 and again.content == first.content
    other = device.body([device.seal(make_record())])
    r = device.post(other, key=key)
    assert (r.status_code, r.json()["error"]) == (409, "idempotency_key_reused")


def test_invalid_record_rejected_with_reason_others_accepted(registry_server, anydev):
    device = anydev
    good = [make_record(), make_record()]
    bad = make_record(national_id="12ab", sex="unknown")
    r, body = device.send([good[0], bad, good[1]])
    receipt = device.verified(r, body)
    assert statuses(receipt) == ["accepted", "rejected", "accepted"]
    rejected = receipt["results"][1]
    assert rejected["reason"] == "invalid_record"
    codes = {(p["path"], p["code"]) for p in rejected["problems"]}
    assert ("national_id", "validation.digits.count") in codes and ("sex", "validation.invalid_choice") in codes
    assert "12ab" not in r.text  # problem paths and codes only, never values
    state = device.status([bad["record_id"]])["records"]
    assert state == [{"record_id": bad["record_id"], "state": "rejected", "reason": "invalid_record",
                      "problems": rejected["problems"]}]
    log = registry_server.log_path.read_text(errors="replace")
    assert bad["national_id"] not in log and bad["family_name"] not in log


def test_same_record_twice_is_duplicate_and_changed_content_is_conflict(anydev):
    device = anydev
    rec = make_record()
    first = device.verified(*device.send([rec]))
    again = device.verified(*device.send([rec]))
    assert statuses(again) == ["duplicate"]
    assert again["results"][0]["registry_id"] == first["results"][0]["registry_id"]
    changed = dict(rec, given_name="ចាន់ថា")
    conflict = device.verified(*device.send([changed]))
    assert statuses(conflict) == ["conflict"]


def test_same_national_id_from_second_device_is_held_without_the_first_registry_id(device, device2, v2device):
    nid, nid2 = (f"{uuid.uuid4().int % 10**9:09d}" for _ in range(2))
    first = device.verified(*device.send([make_record(national_id=nid)]))
    second = device2.verified(*device2.send([make_record(national_id=nid)]))
    assert second["results"][0] == {"record_id": second["results"][0]["record_id"], "status": "accepted"}  # version 1
    third = v2device.verified(*v2device.send([make_record(national_id=nid)]))
    assert third["results"][0] == {"record_id": third["results"][0]["record_id"], "status": "held"}
    registry_id = first["results"][0]["registry_id"]
    for dev, receipt in ((device2, second), (v2device, third)):
        rid = receipt["results"][0]["record_id"]
        assert dev.status([rid])["records"] == [{"record_id": rid, "state": "held"}]
        assert registry_id not in str(dev.status(since="0"))
    within = device.verified(*device.send([make_record(national_id=nid2), make_record(national_id=nid2)]))
    assert statuses(within) == ["accepted", "duplicate"]  # the same device: a duplicate, with its registry ID
    assert within["results"][0]["registry_id"] == within["results"][1]["registry_id"]


def test_tampered_body_or_wrong_signature_is_refused(device):
    body = device.body([device.seal(make_record())])
    key = f"fa-{uuid.uuid4()}"
    sig = wire.sign_batch(body, idempotency_key=key, device_private=device.private)
    tampered = body[:-9] + bytes([body[-9] ^ 1]) + body[-8:]
    r = device.post(tampered, key=key, signature=sig)
    assert (r.status_code, r.json()["error"]) == (400, "bad_batch_signature")
    other_private, _ = wire.new_device_keys()
    r = device.post(body, signature=wire.sign_batch(body, idempotency_key=key, device_private=other_private), key=key)
    assert (r.status_code, r.json()["error"]) == (400, "bad_batch_signature")
    assert device.post(body, key=key, signature=sig).status_code == 200  # nothing was half-written


def test_batch_replayed_by_another_device_is_refused(device, device2):
    body = device.body([device.seal(make_record())])
    r = device2.post(body)  # device2's token and signature over device1's batch
    assert (r.status_code, r.json()["error"]) == (403, "device_mismatch")
    rebatched = device2.body([device.seal(make_record())])  # device1's items in device2's batch
    receipt = device2.verified(device2.post(rebatched), rebatched)
    assert statuses(receipt) == ["rejected"] and receipt["results"][0]["reason"] == "wrong_device"


def test_item_level_faults_are_rejected_with_reasons(anydev):
    device = anydev
    good = device.seal(make_record())
    bad_sig = dict(device.seal(make_record()), ct=device.seal(make_record())["ct"])
    foreign_seal = wire.seal_record(make_record(), record_id=str(uuid.uuid4()), device_id=device.device_id,
                                    enrolled_on="2025-01-01", seal_public=wire.new_registry_keys()["seal_public"],
                                    device_private=device.private, approval_private=device.approval_private)
    malformed = {"record_id": "x", "v": 1}
    body = device.body([good, bad_sig, foreign_seal, malformed, "not an object"])
    receipt = device.verified(device.post(body), body)
    reasons = [x.get("reason") for x in receipt["results"]]
    assert statuses(receipt)[0] == "accepted"
    # a version 2 item is proven by its approval signature (checked first), a version 1 item by the device's
    expected = "bad_approval_signature" if good["v"] == wire.ITEM_V2 else "bad_item_signature"
    assert reasons[1:] == [expected, "undecryptable", "malformed_item", "malformed_item"]
    assert receipt["results"][4]["record_id"] is None


def test_empty_batch_gets_an_empty_receipt(device):
    body = device.body([])
    assert device.verified(device.post(body), body)["results"] == []


def test_revoked_device_batches_are_refused(registry_server):
    dev = Device(registry_server)
    body = dev.body([dev.seal(make_record())])
    token = dev.login()
    registry_server.cli("revoke-device", dev.device_id)
    r = dev.post(body, token=token)
    assert (r.status_code, r.json()["error"]) == (403, "device_revoked")
