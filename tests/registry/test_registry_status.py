"""Record states: received -> registered by the background step, status by IDs and by cursor."""

from __future__ import annotations

import json
import time

import pytest
import requests
from helpers.registry_client import Device, make_record


def wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def test_status_moves_to_registered(device):
    records = [make_record() for _ in range(2)]
    receipt = device.verified(*device.send(records))
    ids = [r["record_id"] for r in records]
    first = device.status(ids)["records"]
    assert {r["state"] for r in first} <= {"received", "registered"}
    assert [r["registry_id"] for r in first] == [x["registry_id"] for x in receipt["results"]]
    done = wait_for(lambda: (s := device.status(ids)["records"]) and all(r["state"] == "registered" for r in s) and s)
    assert len(done) == 2


def test_status_since_cursor_reports_each_change_once(device):
    start = device.status(since="0")
    cursor = start["cursor"]
    bad = make_record(sex="x")
    good = make_record()
    device.verified(*device.send([good, bad]))
    seen = {}

    def registered():
        nonlocal cursor
        page = device.status(since=cursor)
        for r in page["records"]:
            seen.setdefault(r["record_id"], []).append(r["state"])
        cursor = page["cursor"]
        return seen.get(good["record_id"], [])[-1:] == ["registered"]

    wait_for(registered)
    assert seen[bad["record_id"]] == ["rejected"]
    assert seen[good["record_id"]] in (["received", "registered"], ["registered"])
    assert device.status(since=cursor)["records"] == []


def test_status_is_private_to_the_device(device, device2):
    rec = make_record()
    device.verified(*device.send([rec]))
    assert device2.status([rec["record_id"]])["records"] == []
    assert device.status([rec["record_id"], "unknown-id"])["records"][0]["record_id"] == rec["record_id"]


def test_status_needs_a_token(registry_server):
    r = requests.get(registry_server.url + "/v1/status", timeout=10)
    assert (r.status_code, r.json()["error"]) == (401, "bad_token")


def test_register_delay_zero_registers_at_once(make_server):
    server = make_server("--register-delay", "0")
    dev = Device(server)
    rec = make_record()
    dev.verified(*dev.send([rec]))
    assert dev.status([rec["record_id"]])["records"][0]["state"] == "registered"


def test_status_answers_are_signed_for_the_device_and_any_change_breaks_them(device, device2, v2device):
    """Both status routes answer ``proofs.sign_status``: the registry's signature over every field, for this device;
    a laptop trusts no unsigned or altered answer about its records (release 0.1.0 laptops read the same
    ``records``/``cursor``/``more`` and ignore the rest)."""
    from fieldapp.outbound import proofs, wire

    rec = make_record()
    device.verified(*device.send([rec, make_record(sex="x")]))
    auth = {"Authorization": f"Bearer {device.token}"}
    answers = [requests.get(device.server.url + "/v1/status", params={"since": "0"}, headers=auth, timeout=10),
               requests.post(device.server.url + "/v1/status", json={"record_ids": [rec["record_id"]]}, headers=auth,
                             timeout=10)]
    for r in answers:
        doc = proofs.verify_status(r.json(), registry_sign_public=device.sign_public, device_id=device.device_id)
        assert set(doc) == {"records", "cursor", "more", "device_id", "issued_at", "signature"}
        assert r.content == wire.canonical_json(doc)  # sent exactly as signed
        for other in (device2.device_id, v2device.device_id):
            with pytest.raises(wire.WireError):
                proofs.verify_status(r.json(), registry_sign_public=device.sign_public, device_id=other)
        body = r.content
        for i in range(0, len(body), max(1, len(body) // 40)):  # a changed byte anywhere
            changed = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
            try:
                doc = json.loads(changed)
            except ValueError:
                continue  # not JSON any more: nothing to trust either
            with pytest.raises(wire.WireError):
                proofs.verify_status(doc, registry_sign_public=device.sign_public, device_id=device.device_id)
        with pytest.raises(wire.WireError):
            proofs.verify_status(r.json(), registry_sign_public=wire.new_device_keys()[1], device_id=device.device_id)
