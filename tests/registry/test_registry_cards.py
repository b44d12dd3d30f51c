"""Protocol 3 at the registry: card signatures in status answers, the member number's form, the signed scheme facts,
and ``verify-card``; protocol 2 answers unchanged for devices that do not ask."""

from __future__ import annotations

import json

import pytest
import requests
from helpers.registry_client import Device, make_record

from fieldapp.domain.card import card_claims
from fieldapp.outbound import credential, proofs, wire


def status(dev: Device, ids: list[str] | None, cards: bool) -> dict:
    auth = {"Authorization": f"Bearer {dev.token}"}
    if ids is None:
        r = requests.get(dev.server.url + "/v1/status", params={"since": "0", **({"cards": "1"} if cards else {})},
                         headers=auth, timeout=30)
    else:
        r = requests.post(dev.server.url + "/v1/status", json={"record_ids": ids, **({"cards": True} if cards else {})},
                          headers=auth, timeout=30)
    assert r.status_code == 200, r.text
    return proofs.verify_status(r.json(), registry_sign_public=dev.sign_public, device_id=dev.device_id)


@pytest.fixture
def server(make_server):
    return make_server("--register-delay", "0")


@pytest.mark.parametrize("approval", [False, True], ids=["v1-device", "v2-device"])
def test_a_registered_record_comes_back_with_a_card_signature_the_laptop_completes(server, approval):
    dev = Device(server, approval=approval)
    household = make_record(national_id=None, dependents=[
        {"family_name": "ចាន់", "given_name": "ស្រីពៅ", "sex": "female", "date_of_birth": "2019-09-30",
         "relationship": "child"}])
    dev.verified(*dev.send([household]))
    for ids in (None, [household["record_id"]]):
        (entry,) = status(dev, ids, cards=True)["records"]
        assert entry["state"] == "registered" and set(entry["card"]) == {"issued_at", "sig"}
        claims = card_claims(household, entry["registry_id"], entry["card"]["issued_at"])
        text = credential.card_with_signature(claims, wire.b64d(entry["card"]["sig"]), dev.sign_public)
        back = credential.verify_card(text, dev.sign_public)
        assert back["member_no"] == entry["registry_id"] and back["dependents"][0]["name"] == "ចាន់ ស្រីពៅ"
        # a laptop cannot make a card for a record it changed after sealing: the registry signed the registered one
        changed = card_claims(dict(household, given_name="សុខា"), entry["registry_id"], entry["card"]["issued_at"])
        with pytest.raises(credential.CredentialError) as err:
            credential.card_with_signature(changed, wire.b64d(entry["card"]["sig"]), dev.sign_public)
        assert err.value.code == "bad_signature"
    # a device that does not ask (protocol 2, release 0.1.0) gets the answer it always got: no card anywhere
    for ids in (None, [household["record_id"]]):
        (entry,) = status(dev, ids, cards=False)["records"]
        assert set(entry) == {"record_id", "state", "registry_id"}


def test_cards_only_for_the_asking_devices_own_registered_records(server):
    dev, other = Device(server), Device(server)
    rec = make_record()
    dev.verified(*dev.send([rec]))
    assert status(other, [rec["record_id"]], cards=True)["records"] == []  # another device's record: nothing
    bad = make_record(sex="x")
    dev.send([bad])
    entries = {e["record_id"]: e for e in status(dev, None, cards=True)["records"]}
    assert "card" not in entries.get(bad["record_id"], {})  # a rejected record has no card


def test_member_number_form_is_set_by_the_operator_and_kept_for_every_process(server):
    assert json.loads(server.cli("member-number").stdout)["example"] == "KH-REG-000001"
    out = json.loads(server.cli("member-number", "--prefix", "NSSF-VHS-", "--digits", "8").stdout)
    assert out == {"prefix": "NSSF-VHS-", "digits": 8, "example": "NSSF-VHS-00000001"}
    for bad in (["--prefix", "nssf"], ["--prefix", "X" * 17], ["--digits", "3"], ["--prefix", "A'; DROP TABLE x"]):
        proc = server.cli("member-number", *bad, check=False)
        assert proc.returncode == 1 and json.loads(proc.stderr)["error"] == "bad_member_format"
    dev = Device(server)
    rec = make_record()
    receipt = dev.verified(*dev.send([rec]))
    assert receipt["results"][0]["registry_id"].startswith("NSSF-VHS-")
    assert len(receipt["results"][0]["registry_id"]) == len("NSSF-VHS-") + 8


def test_scheme_facts_are_signed_and_a_newer_version_can_be_installed(server, tmp_path):
    ref = requests.get(server.url + "/v1/reference", timeout=10).json()
    assert ref["scheme_facts"] == 1
    keys = server.keys()
    sign_public = keys["sign_public_key"]
    signed = requests.get(server.url + "/v1/reference/scheme", timeout=10).json()
    doc = proofs.verify_scheme_facts(signed, registry_sign_public=sign_public)
    assert doc["contribution_riel_per_month"] == 15600 and doc["months_unpaid_to_abandon"] == 6
    forged = json.loads(json.dumps(signed))
    forged["doc"]["contribution_riel_per_month"] = 1
    with pytest.raises(wire.WireError):
        proofs.verify_scheme_facts(forged, registry_sign_public=sign_public)
    path = tmp_path / "facts.json"
    # signed and well-formed, but no laptop could print it (its own rule): never installed
    for bad in (dict(doc, version=2, hotline=["1286"]),
                dict(doc, version=2, text={"en": dict(doc["text"]["en"], contribution="x" * 1001)})):
        path.write_text(json.dumps(bad), encoding="utf-8")
        refused = server.cli("scheme-facts", "--install", str(path), check=False)
        assert refused.returncode == 1 and json.loads(refused.stderr)["error"] == "not_printable"
    newer = dict(doc, version=2, hotline="1286")
    path.write_text(json.dumps(newer), encoding="utf-8")
    assert json.loads(server.cli("scheme-facts", "--install", str(path)).stdout)["version"] == 2
    again = server.cli("scheme-facts", "--install", str(path), check=False)  # not newer any more
    assert again.returncode == 1 and json.loads(again.stderr)["error"] == "not_newer"
    path.write_text(json.dumps({"format": "something", "version": 9}), encoding="utf-8")
    assert json.loads(server.cli("scheme-facts", "--install", str(path), check=False).stderr)["error"] == \
        "bad_scheme_facts"
    signed = requests.get(server.url + "/v1/reference/scheme", timeout=10).json()
    assert proofs.verify_scheme_facts(signed, registry_sign_public=sign_public)["hotline"] == "1286"


def test_registry_verify_card_accepts_its_card_and_refuses_a_changed_one(server):
    dev = Device(server)
    rec = make_record(national_id=None)
    dev.verified(*dev.send([rec]))
    (entry,) = status(dev, [rec["record_id"]], cards=True)["records"]
    text = credential.card_with_signature(card_claims(rec, entry["registry_id"], entry["card"]["issued_at"]),
                                          wire.b64d(entry["card"]["sig"]), dev.sign_public)
    ok = json.loads(server.cli("verify-card", text).stdout)
    assert ok["valid"] and ok["kind"] == "card" and ok["claims"]["member_no"] == entry["registry_id"]
    raw = bytearray(credential.b45decode(text[4:]))
    raw[-10] ^= 0x01
    proc = server.cli("verify-card", text[:4] + credential.b45encode(bytes(raw)), check=False)
    assert proc.returncode == 1 and json.loads(proc.stdout)["valid"] is False
    other_key = credential.issue_card(card_claims(rec, entry["registry_id"], entry["card"]["issued_at"]),
                                      wire.new_device_keys()[0])
    proc = server.cli("verify-card", other_key, check=False)
    assert proc.returncode == 1 and json.loads(proc.stdout)["reason"] == "bad_signature"
