"""Supervisor approval keys: registration (enrollment, first use, rotation with a code), the intake rules that
follow from them, and the audit chain heads that version 2 batches carry."""

from __future__ import annotations

import json

import requests
from helpers.registry_client import Device, make_record

from fieldapp.outbound import proofs, wire


def enroll(server, public: bytes, code: str | None = None, **extra) -> requests.Response:
    return requests.post(server.url + "/v1/devices/enroll", timeout=10,
                         json={"code": code or server.new_code(), "public_key": wire.b64e(public), **extra})


def listed(server, device_id: str) -> dict:
    return next(d for d in json.loads(server.cli("devices").stdout) if d["device_id"] == device_id)


def test_enrollment_registers_the_approval_key_and_a_bad_proof_spends_nothing(registry_server):
    private, public = wire.new_device_keys()
    approval_private = wire.new_device_keys()[0]
    code = registry_server.new_code()
    wrong = proofs.approval_key_proof(wire.b64e(wire.new_device_keys()[1]), approval_private)  # for another device
    for extra in (wrong, {"approval_public_key": wrong["approval_public_key"]},
                  {"approval_proof": wrong["approval_proof"]}):
        r = enroll(registry_server, public, code, **extra)
        assert (r.status_code, r.json()["error"]) == (400, "bad_approval_proof"), extra
    good = proofs.approval_key_proof(wire.b64e(public), approval_private)
    r = enroll(registry_server, public, code, **good)  # the refused attempts did not spend the code
    assert r.status_code == 200, r.text
    fingerprint = wire.key_fingerprint(wire.ed25519_public(approval_private))
    assert r.json()["approval_key"] == fingerprint
    row = listed(registry_server, r.json()["device_id"])
    assert (row["approval_key"], row["approval_key_how"], row["audit_head_seq"], row["audit_alerts"]) == (
        fingerprint, "enroll", None, [])
    plain = enroll(registry_server, wire.new_device_keys()[1])
    assert set(plain.json()) == {"device_id", "seal_public_key", "sign_public_key"}  # as release 0.1.0 knows it
    assert listed(registry_server, plain.json()["device_id"])["approval_key"] is None


def test_approval_key_first_use_same_again_and_rotation_with_a_code(registry_server):
    dev = Device(registry_server)  # a release 0.1.0 laptop that upgrades
    first, second, third = (wire.new_device_keys()[0] for _ in range(3))
    fp = [wire.key_fingerprint(wire.ed25519_public(k)) for k in (first, second, third)]
    r = dev.register_approval_key(first)
    assert r.json() == {"device_id": dev.device_id, "approval_key": fp[0], "state": "registered"}
    assert dev.register_approval_key(first).json()["state"] == "unchanged"
    r = dev.register_approval_key(second)
    assert (r.status_code, r.json()["error"]) == (409, "approval_key_exists")
    for bad in ("AAAA-BBBB-CCCC-DDDD",):
        r = dev.register_approval_key(second, code=bad)
        assert (r.status_code, r.json()["error"]) == (403, "bad_code")
    code = registry_server.new_code()
    assert dev.register_approval_key(second, code=code).json() == {"device_id": dev.device_id,
                                                                  "approval_key": fp[1], "state": "rotated"}
    r = dev.register_approval_key(third, code=code)
    assert (r.status_code, r.json()["error"]) == (403, "code_used")
    assert listed(registry_server, dev.device_id)["approval_key"] == fp[1]
    # only the current key is accepted from then on
    old = dev.body([dev.seal(make_record(), approval_private=first)])
    new = dev.body([dev.seal(make_record())])
    assert dev.verified(dev.post(old), old)["results"][0]["reason"] == "bad_approval_signature"
    assert dev.verified(dev.post(new), new)["results"][0]["status"] == "accepted"
    proof = proofs.approval_key_proof(wire.b64e(wire.new_device_keys()[1]), third)  # bound to another device
    r = requests.post(registry_server.url + "/v1/devices/approval-key", json=proof, timeout=10,
                      headers={"Authorization": f"Bearer {dev.token}"})
    assert (r.status_code, r.json()["error"]) == (400, "bad_approval_proof")
    r = requests.post(registry_server.url + "/v1/devices/approval-key", json=proof, timeout=10)
    assert (r.status_code, r.json()["error"]) == (401, "bad_token")


def test_intake_approval_rules(registry_server, device, v2device):
    rec = make_record()
    v2_item = v2device.seal(make_record())
    # a device without an approval key: version 1 as in release 0.1.0; version 2 refused (no key to check it with)
    unapproved = device.seal(make_record(), approval_private=wire.new_device_keys()[0])
    body = device.body([device.seal(rec), unapproved])
    got = device.verified(device.post(body), body)["results"]
    assert [r["status"] for r in got] == ["accepted", "rejected"] and got[1]["reason"] == "no_approval_key"
    # a device with one: nothing without a valid approval signature
    forged = dict(v2_item, approval={"key": v2_item["approval"]["key"], "sig": wire.b64e(bytes(64))})
    items = [v2device.seal(make_record(), approval_private=False), forged,
             v2device.seal(make_record(), approval_private=wire.new_device_keys()[0]), v2_item]
    for version in (1, 2):
        body = v2device.body(items, version=version)
        got = v2device.verified(v2device.post(body), body)["results"]
        assert [r.get("reason") for r in got] == ["approval_required", "bad_approval_signature",
                                                  "bad_approval_signature", None]
        assert got[3]["status"] == ("accepted" if version == 1 else "duplicate")
    # unapproved items never show in the status feed: a device key alone cannot mark a record rejected
    ids = [i["record_id"] for i in items]
    assert [s["record_id"] for s in v2device.status(ids)["records"]] == [v2_item["record_id"]]


def test_audit_heads_are_kept_and_forks_and_rollbacks_raise_alerts(registry_server, v2device):
    dev = v2device

    def send(head=None) -> dict:
        body = dev.body([dev.seal(make_record())])
        return dev.verified(dev.post(body), body)

    assert send()["audit_head"] is None
    h5 = dev.sign_head(5, signed_at="2030-01-01T10:00:00Z")
    assert send()["audit_head"] == {"seq": 5, "hash": h5["head"]["hash"]}
    h9 = dev.sign_head(9, signed_at="2030-01-01T11:00:00Z")
    assert send()["audit_head"] == {"seq": 9, "hash": h9["head"]["hash"]}
    dev.sign_head(7, signed_at="2030-01-01T10:30:00Z")  # an older head arriving late (a USB bundle): no alert
    assert send()["audit_head"]["seq"] == 9
    dev.sign_head(9, signed_at="2030-01-01T12:00:00Z", key=wire.new_device_keys()[0])  # another key: ignored
    assert send()["audit_head"]["hash"] == h9["head"]["hash"]
    assert listed(registry_server, dev.device_id)["audit_alerts"] == []
    dev.sign_head(4, signed_at="2030-01-02T09:00:00Z")  # signed later than 9, lower: the chain went back
    assert send()["audit_head"]["seq"] == 9  # the receipt names the kept head: the laptop sees it is behind
    dev.sign_head(9, chain_hash="ab" * 32, signed_at="2030-01-02T10:00:00Z")  # seq 9 again, another chain
    assert send()["audit_head"] == {"seq": 9, "hash": h9["head"]["hash"]}
    send()  # the same forked head again: one alert, not two
    row = listed(registry_server, dev.device_id)
    assert row["audit_head_seq"] == 9
    assert [(a["kind"], a["seq"]) for a in row["audit_alerts"]] == [("rollback", 4), ("fork", 9)]
    log = registry_server.log_path.read_text(errors="replace")
    assert '"audit_fork"' in log and '"audit_rollback"' in log and '"audit_head_invalid"' in log


def test_version_1_batches_ignore_heads_and_a_device_without_key_gets_none(registry_server, device):
    body = device.body([device.seal(make_record())], version=2)  # a version 2 batch of version 1 items
    receipt = device.verified(device.post(body), body)
    assert receipt["v"] == 2 and receipt["audit_head"] is None and receipt["results"][0]["status"] == "accepted"
    head = proofs.sign_audit_head("s", 3, "cd" * 32, wire.now_iso(), wire.new_device_keys()[0])
    body = wire.build_batch([], device_id=device.device_id, batch_id="b-head", audit_head=head, version=2)
    assert device.verified(device.post(body), body)["audit_head"] is None


def test_racing_first_registrations_leave_exactly_one_key(registry_server):
    """Several keys registered on first use at once (from several threads, on one or several processes over one
    database): one wins, every other one is told 409; the device has exactly one current key."""
    from concurrent.futures import ThreadPoolExecutor

    dev = Device(registry_server)
    dev.login()
    keys = [wire.new_device_keys()[0] for _ in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda k: Device.register_approval_key(dev, k), keys))
    outcomes = sorted((r.status_code, r.json().get("state") or r.json().get("error")) for r in answers)
    assert outcomes == [(200, "registered")] + [(409, "approval_key_exists")] * 5
    assert registry_server.count("SELECT COUNT(*) FROM approval_keys WHERE device_id = ? AND retired_at IS NULL",
                                 (dev.device_id,)) == 1
