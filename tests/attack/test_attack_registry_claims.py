"""Attacks on who owns what at the registry, over raw HTTP as an attacker would send them.

- case 8a: another enrolled device claims a laptop's record IDs first (read from a USB bundle), with fake people;
- case 8b: another device pre-registers a national ID with a fake person, and reads who is registered;
- case 15: ``device.json`` alone (the device key, no supervisor approval key) tries to get records accepted, or to
  register an approval key of its own;
- case 17: status answers forged or altered on the way;
- audit: a laptop's audit chain cut short or rewritten.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from helpers.attack_registry_tools import Dev, fresh_record, new_code
from helpers.attack_tools import case

from fieldapp.outbound import bundle as wire_bundle
from fieldapp.outbound import proofs, wire


@pytest.fixture
def http():
    session = requests.Session()
    yield session
    session.close()


def enrolled(reg, http, approval: bool = True) -> Dev:
    dev = Dev(reg, http, approval=approval)
    assert dev.enroll(new_code(reg)).status_code == 200
    return dev


def send(dev: Dev, items: list[dict], version: int | None = None, head: dict | None = None) -> dict:
    body = dev.batch(items, str(uuid.uuid4()), version=version, audit_head=head)
    r = dev.post(body, f"k-{uuid.uuid4()}")
    assert r.status_code == 200, r.text[:300]
    return proofs.verify_receipt(r.json(), registry_sign_public=dev.sign_public, batch_sha256=wire.sha256_hex(body))


def held_rows(reg, device_id: str) -> list[tuple]:
    return reg.db.run(lambda tx: tx.execute("SELECT record_id, state, registry_id FROM records WHERE device_id = ? "
                                            "ORDER BY record_id", (device_id,)), write=False)


def test_case_8a_another_device_claiming_a_laptops_record_ids_first_gains_nothing(reg, http):
    with case("registry case 8a: a second device claims a laptop's record IDs first (read from its USB bundle)",
              "the laptop's real records are all accepted under the laptop, none quarantined or conflicting; the "
              "registry holds both sets apart; each device's status shows only its own") as c:
        for approval in (False, True):  # a release 0.1.0 laptop, and one of this release
            laptop, thief = enrolled(reg, http, approval), enrolled(reg, http, approval=True)
            real = {str(uuid.uuid4()): fresh_record() for _ in range(5)}
            items = [laptop.seal(rec, rid) for rid, rec in real.items()]
            usb = wire_bundle.build_bundle([("k-usb", laptop.batch(items, "b-usb"))], device_id=laptop.device_id,
                                           device_private=laptop.private)
            opened = wire_bundle.read_bundle(usb, device_public=laptop.public)  # what a finder of the stick reads
            stolen = [i["record_id"] for i in wire.parse_batch(opened["batches"][0]["body"])["items"]]
            assert sorted(stolen) == sorted(real)
            first = send(thief, [thief.seal(fresh_record(), rid) for rid in stolen])
            assert {r["status"] for r in first["results"]} == {"accepted"}
            got = send(laptop, items)
            assert [(r["record_id"], r["status"]) for r in got["results"]] == [(rid, "accepted") for rid in real]
            assert all(r.get("registry_id") for r in got["results"])
            assert {r["registry_id"] for r in got["results"]}.isdisjoint(r["registry_id"] for r in first["results"])
            assert [row[0] for row in held_rows(reg, laptop.device_id)] == sorted(real)
            assert [row[0] for row in held_rows(reg, thief.device_id)] == sorted(real)
            mine = laptop.verified_status(laptop.status(since="0"))["records"]
            assert {(x["record_id"], x.get("registry_id")) for x in mine} == {
                (r["record_id"], r["registry_id"]) for r in got["results"]}
            c.runs += 1


def test_case_8b_a_pre_registered_national_id_is_held_and_tells_nobody_anything(reg, http):
    with case("registry case 8b: a device pre-registers a national ID with a fake person, then the real person "
              "comes from a laptop",
              "the real record is held (never a duplicate of the fake); the laptop never learns the squatter's "
              "registry ID; the squatter's answers do not change and never mention the laptop's record") as c:
        for approval in (False, True):
            squatter, laptop = enrolled(reg, http), enrolled(reg, http, approval)
            nid = fresh_record()["national_id"]
            fake = dict(fresh_record(), national_id=nid)
            fake_id = send(squatter, [squatter.seal(fake, str(uuid.uuid4()))])["results"][0]["registry_id"]
            before = squatter.verified_status(squatter.status(since="0"))
            rid = str(uuid.uuid4())
            got = send(laptop, [laptop.seal(dict(fresh_record(), national_id=nid), rid)])["results"][0]
            assert got == {"record_id": rid, "status": "held" if approval else "accepted"}
            answers = [got, laptop.verified_status(laptop.status([rid])), laptop.verified_status(laptop.status())]
            assert fake_id not in json.dumps(answers)
            assert answers[1]["records"] == [{"record_id": rid, "state": "held"}]
            after = squatter.verified_status(squatter.status(since="0"))
            assert (after["records"], after["cursor"]) == (before["records"], before["cursor"])
            assert squatter.verified_status(squatter.status([rid]))["records"] == []
            assert squatter.verified_status(squatter.status(since=before["cursor"]))["records"] == []
            again = send(laptop, [laptop.seal(dict(fresh_record(), national_id=nid), str(uuid.uuid4()))])
            assert "registry_id" not in again["results"][0]  # each try: held again, never first-wins
            assert held_rows(reg, laptop.device_id) and all(row[1:] == ("held", None)
                                                            for row in held_rows(reg, laptop.device_id))
            c.runs += 1


def test_case_15_the_device_key_alone_gets_nothing_accepted(reg, http):
    laptop = enrolled(reg, http)
    thief = Dev(reg, http, private=laptop.private)  # device.json copied: the device key, no approval key
    thief.device_id = laptop.device_id
    other_key = wire.new_device_keys()[0]
    with case("registry case 15: device.json alone, for a device with an approval key registered",
              "version 1 items, version 2 items with a forged, missing-key, foreign or swapped approval are all "
              "rejected in version 1 and 2 batches; nothing stored, nothing in the status feed; a second approval "
              "key is refused without a code (409) and with a spent or bad one (403)") as c:
        good = laptop.seal(fresh_record(), str(uuid.uuid4()))
        for version in (1, 2):
            forged = thief.seal(fresh_record(), str(uuid.uuid4()), approver=other_key)
            forged["approval"]["key"] = good["approval"]["key"]  # claims the real key's name
            if "sig" in forged:  # a version 1 item carries the device's signature: the thief can make that one
                forged["sig"] = wire.sign(thief.private, wire.canonical_json({k: v for k, v in forged.items()
                                                                               if k != "sig"}))
            swapped = thief.seal(fresh_record(), str(uuid.uuid4()), approver=other_key)
            swapped["approval"] = good["approval"]  # a real approval, lifted from another record
            if "sig" in swapped:
                swapped["sig"] = wire.sign(thief.private, wire.canonical_json({k: v for k, v in swapped.items()
                                                                               if k != "sig"}))
            attempts = [thief.seal(fresh_record(), str(uuid.uuid4()), approver=False), forged, swapped,
                        thief.seal(fresh_record(), str(uuid.uuid4()), approver=other_key)]
            before = len(held_rows(reg, laptop.device_id))
            got = send(thief, attempts, version=version)["results"]
            assert [r["status"] for r in got] == ["rejected"] * 4
            assert [r["reason"] for r in got] == ["approval_required"] + ["bad_approval_signature"] * 3
            assert len(held_rows(reg, laptop.device_id)) == before
            ids = [i["record_id"] for i in attempts]
            assert laptop.verified_status(laptop.status(ids))["records"] == []
            c.runs += len(attempts)
        for code in (None, "AAAA-BBBB-CCCC-DDDD", new_code(reg)):
            if code and code != "AAAA-BBBB-CCCC-DDDD":
                assert Dev(reg, http).enroll(code).status_code == 200  # spent by someone else first
            body = dict(proofs.approval_key_proof(wire.b64e(laptop.public), other_key), **({"code": code} if code else {}))
            r = http.post(reg.url + "/v1/devices/approval-key", json=body, headers=thief.auth(), timeout=10)
            assert (r.status_code, r.json()["error"]) == ((409, "approval_key_exists") if code is None else
                                                          (403, "bad_code" if code.startswith("AAAA") else "code_used"))
            c.runs += 1
        assert send(laptop, [good])["results"][0]["status"] == "accepted"  # the real laptop is unaffected


def test_case_17_status_answers_are_signed_and_bound_to_the_device(reg, http):
    a, b = enrolled(reg, http), enrolled(reg, http, approval=False)
    send(a, [a.seal(fresh_record(), str(uuid.uuid4())) for _ in range(3)])
    send(b, [b.seal(fresh_record(), str(uuid.uuid4()))])
    with case("registry case 17: status answers (feed and by IDs) altered, or moved to another device",
              "every answer verifies with the registry key for its device only; any changed byte, another "
              "device's answer or another key fails proofs.verify_status") as c:
        for dev, other in ((a, b), (b, a)):
            ids = [x["record_id"] for x in dev.verified_status(dev.status())["records"]]
            for r in (dev.status(), dev.status(ids)):
                doc = r.json()
                proofs.verify_status(doc, registry_sign_public=dev.sign_public, device_id=dev.device_id)
                with pytest.raises(wire.WireError):
                    proofs.verify_status(doc, registry_sign_public=dev.sign_public, device_id=other.device_id)
                for i in range(len(r.content)):
                    changed = r.content[:i] + bytes([r.content[i] ^ 0x20]) + r.content[i + 1:]
                    try:
                        doc = json.loads(changed)
                    except ValueError:
                        continue
                    with pytest.raises(wire.WireError):
                        proofs.verify_status(doc, registry_sign_public=dev.sign_public, device_id=dev.device_id)
                    c.runs += 1


def test_audit_a_cut_or_rewritten_chain_is_detected(reg, http):
    laptop = enrolled(reg, http)

    def head(seq: int, at: str, digest: str | None = None, key: bytes | None = None) -> dict:
        return proofs.sign_audit_head("store-a", seq, digest or wire.sha256_hex(f"chain {seq}".encode()), at,
                                      key or laptop.approval_private)

    def alerts() -> list[tuple]:
        out = reg.cli("devices")
        row = next(d for d in json.loads(out) if d["device_id"] == laptop.device_id)
        return [(a["kind"], a["seq"]) for a in row["audit_alerts"]]

    item = lambda: laptop.seal(fresh_record(), str(uuid.uuid4()))  # noqa: E731
    with case("registry audit: the laptop's signed audit head, truncated, rewritten or forged",
              "kept per device (highest seq) and named in every version 2 receipt, so a laptop whose chain is "
              "behind sees it; a lower seq signed later is a rollback alert, another hash at a kept seq a fork "
              "alert (fieldapp-registry devices); a forged head is ignored, never refusing the batch") as c:
        assert send(laptop, [item()], head=head(20, "2030-05-01T08:00:00Z"))["audit_head"]["seq"] == 20
        cut = send(laptop, [item()], head=head(12, "2030-05-02T08:00:00Z"))  # 8 audit events cut off the end
        assert cut["audit_head"]["seq"] == 20 > 12 and alerts() == [("rollback", 12)]
        c.runs += 1
        rewritten = send(laptop, [item()], head=head(20, "2030-05-03T08:00:00Z", digest="ef" * 32))
        assert rewritten["audit_head"]["hash"] == wire.sha256_hex(b"chain 20") and alerts() == [("rollback", 12),
                                                                                                ("fork", 20)]
        c.runs += 1
        forged = send(laptop, [item()], head=head(99, "2030-05-04T08:00:00Z", key=wire.new_device_keys()[0]))
        assert forged["audit_head"]["seq"] == 20 and forged["results"][0]["status"] == "accepted"
        c.runs += 1
    log = (reg.data_dir / "serve.log").read_text(errors="replace")
    assert '"audit_fork"' in log and '"audit_rollback"' in log and '"audit_head_invalid"' in log
