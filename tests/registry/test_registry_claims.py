"""Who owns a record: record IDs per device, the keyed content MAC, national-ID matches held for review."""

from __future__ import annotations

import json
import uuid

from helpers.registry_client import Device, make_record

from fieldapp.outbound import wire


def results(dev: Device, records: list[dict], **seal) -> list[dict]:
    body = dev.body([dev.seal(r, **seal) for r in records])
    return dev.verified(dev.post(body), body)["results"]


def test_record_ids_belong_to_their_device(registry_server, device, v2device):
    """The same record ID from two devices is two records; neither device sees or changes the other's."""
    mine = [make_record() for _ in range(3)]
    theirs = [make_record(record_id=r["record_id"]) for r in mine]  # same IDs, other people
    first = results(v2device, theirs)
    assert [r["status"] for r in first] == ["accepted"] * 3
    second = results(device, mine)
    assert [r["status"] for r in second] == ["accepted"] * 3
    assert {r["registry_id"] for r in first}.isdisjoint(r["registry_id"] for r in second)
    ids = [r["record_id"] for r in mine]
    assert registry_server.count("SELECT COUNT(*) FROM records WHERE record_id IN (?, ?, ?)", tuple(ids)) == 6
    for dev, got in ((device, second), (v2device, first)):
        seen = dev.status(ids)["records"]
        assert [(s["record_id"], s["registry_id"]) for s in seen] == [(r["record_id"], r["registry_id"]) for r in got]
    again = results(device, mine)  # resends are judged against the sender's own records only
    assert [r["status"] for r in again] == ["duplicate"] * 3
    changed = results(device, [dict(mine[0], given_name="ចាន់ថា")])
    assert changed[0]["status"] == "conflict" and changed[0]["registry_id"] == second[0]["registry_id"]


def test_a_version_1_record_sent_again_as_version_2_is_a_duplicate(registry_server):
    """Duplicate or conflict is decided on the registry's keyed MAC of the decrypted record, whatever the item
    version carried it (a laptop upgraded after sending a record as version 1 may send it again sealed as 2)."""
    dev = Device(registry_server)
    rec = make_record()
    first = results(dev, [rec])[0]
    approval_private = wire.new_device_keys()[0]
    assert dev.register_approval_key(approval_private).json()["state"] == "registered"
    again = results(dev, [rec])[0]
    assert again == {"record_id": rec["record_id"], "status": "duplicate", "registry_id": first["registry_id"]}
    other = results(dev, [dict(rec, notes="changed")])[0]
    assert other["status"] == "conflict"


def test_no_unkeyed_content_hash_is_stored(registry_server, device, v2device):
    recs = {device: make_record(), v2device: make_record()}
    for dev, rec in recs.items():
        results(dev, [rec])
    dump = json.dumps(registry_server.db().run(lambda tx: [tx.execute(f"SELECT * FROM {t}") for t in (
        "records", "people", "batches", "rejections")], write=False), ensure_ascii=False)
    for rec in recs.values():
        assert wire.content_hash(rec) not in dump  # the clear SHA-256 of the record is nowhere
        assert rec["national_id"] not in dump
    item = json.loads(registry_server.db().run(lambda tx: tx.one(
        "SELECT item FROM records WHERE device_id = ? AND record_id = ?", (device.device_id,
                                                                           recs[device]["record_id"])), write=False)[0])
    assert "content_hash" not in item and "content_hash_wrapped" in item


def test_national_id_from_another_device_is_held_never_first_wins(registry_server, v2device):
    """A device pre-registering a national ID with a fake person gains nothing: the real record is held, the
    answers name nobody's registry ID, and the background registration step leaves it alone."""
    squatter = Device(registry_server, approval=True)
    nid = f"{uuid.uuid4().int % 10**9:09d}"
    fake = results(squatter, [make_record(national_id=nid)])[0]
    real = make_record(national_id=nid)
    got = results(v2device, [real])[0]
    assert got == {"record_id": real["record_id"], "status": "held"}
    assert fake["registry_id"] not in json.dumps(v2device.status(since="0"))
    assert v2device.status([real["record_id"]])["records"] == [{"record_id": real["record_id"], "state": "held"}]
    assert results(v2device, [real])[0] == got  # a resend: still held
    assert results(v2device, [dict(real, notes="x")])[0] == {"record_id": real["record_id"], "status": "conflict"}
    same_device = results(v2device, [make_record(national_id=nid)])[0]
    assert same_device["status"] == "held"  # still the other device's first registration
    assert all(s["state"] != "held" or "registry_id" not in s for s in squatter.status(since="0")["records"])
    assert registry_server.count("SELECT COUNT(*) FROM people WHERE nid_hmac IS NOT NULL AND device_id = ?",
                                 (v2device.device_id,)) == 0


def test_held_records_are_never_registered(make_server):
    server = make_server("--register-delay", "0")
    a, b = Device(server, approval=True), Device(server)
    nid = f"{uuid.uuid4().int % 10**9:09d}"
    results(a, [make_record(national_id=nid)])
    held = make_record(national_id=nid)
    assert results(b, [held])[0] == {"record_id": held["record_id"], "status": "accepted"}  # version 1 receipt
    from registry import records

    records.register_due(server.db(), 0)
    assert b.status([held["record_id"]])["records"][0]["state"] == "held"
    assert server.count("SELECT COUNT(*) FROM records WHERE state = 'held' AND registry_id IS NULL") == 1
    lines = [json.loads(x) for x in server.cli("export", "--format", "jsonl").stdout.splitlines()]
    assert held["record_id"] not in {ln["record_id"] for ln in lines}


def test_the_operator_resolves_held_records_and_the_device_sees_the_outcome(registry_server, v2device):
    squatter = Device(registry_server)
    nids = [f"{uuid.uuid4().int % 10**9:09d}" for _ in range(2)]
    theirs = results(squatter, [make_record(national_id=n) for n in nids])
    same, other = (make_record(national_id=n) for n in nids)
    assert [r["status"] for r in results(v2device, [same, other])] == ["held", "held"]
    cursor = v2device.status(since="0")["cursor"]
    listed = [x for x in json.loads(registry_server.cli("duplicates").stdout) if x["device_id"] == v2device.device_id]
    assert {x["why"] for x in listed} == {"national_id"}
    assert {(x["record_id"], x["matched_registry_id"], x["matched_device_id"]) for x in listed} == {
        (same["record_id"], theirs[0]["registry_id"], squatter.device_id),
        (other["record_id"], theirs[1]["registry_id"], squatter.device_id)}
    out = json.loads(registry_server.cli("resolve", v2device.device_id, same["record_id"], "--same-as",
                                         theirs[0]["registry_id"]).stdout)
    assert (out["outcome"], out["registry_id"]) == ("same_as", theirs[0]["registry_id"])
    out = json.loads(registry_server.cli("resolve", v2device.device_id, other["record_id"], "--distinct").stdout)
    assert out["outcome"] == "distinct" and out["registry_id"] not in (theirs[1]["registry_id"], None)
    feed = {x["record_id"]: x for x in v2device.status(since=cursor)["records"]}
    assert feed[same["record_id"]] == {"record_id": same["record_id"], "state": "registered",
                                       "registry_id": theirs[0]["registry_id"], "duplicate": True}
    assert feed[other["record_id"]] == {"record_id": other["record_id"], "state": "registered",
                                        "registry_id": out["registry_id"]}
    for args, reason in (((v2device.device_id, same["record_id"], "--distinct"), "not_held"),
                         (("nobody", "nothing", "--distinct"), "unknown_record")):
        res = registry_server.cli("resolve", *args, check=False)
        assert res.returncode == 1 and json.loads(res.stderr.strip().splitlines()[-1])["error"] == reason
    third = make_record(national_id=nids[0])
    results(v2device, [third])
    res = registry_server.cli("resolve", v2device.device_id, third["record_id"], "--same-as", "KH-REG-999999999",
                              check=False)
    assert json.loads(res.stderr.strip().splitlines()[-1])["error"] == "unknown_registry_id"
    assert registry_server.count("SELECT COUNT(*) FROM resolutions WHERE device_id = ?", (v2device.device_id,)) == 2
