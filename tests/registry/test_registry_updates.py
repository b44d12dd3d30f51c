"""Update items (protocol 4): applied in order, exactly once, against the member's current version; refusals
(stale_version, unknown_member, not_in_area) answered and repeated by status; every version kept."""

from __future__ import annotations

import json

import pytest
import requests
from members_tools import (COMMUNE_A, COMMUNE_B, area_device, lookup, newborn, person, results, sync_all,
                           update_doc)

from fieldapp.base.encoding import b64url_decode
from fieldapp.domain.card import card_claims
from fieldapp.outbound import credential, proofs, wire


@pytest.fixture
def server(make_server):
    return make_server("--register-delay", "0")


def test_updates_apply_in_order_and_stale_ones_are_refused(server):
    dev = area_device(server, COMMUNE_A)
    peer = area_device(server, COMMUNE_A)
    no = results(dev, [person(COMMUNE_A)])[0]["registry_id"]
    state = sync_all(peer)
    first = update_doc(no, 1, add_dependents=[newborn()])
    res = results(peer, [first])[0]  # a laptop that looked the member up
    assert res == {"record_id": first["record_id"], "status": "accepted", "registry_id": no, "version": 2}
    stale = update_doc(no, 1, phone="098765432")
    res = results(dev, [stale])[0]
    assert (res["status"], res["reason"]) == ("rejected", "stale_version")
    assert dev.status([stale["record_id"]])["records"][0]["reason"] == "stale_version"
    second = update_doc(no, 2, phone="098765432")
    assert results(dev, [second])[0]["version"] == 3
    entry = sync_all(peer, state)["members"][no]
    assert entry["version"] == 3 and [d["given_name"] for d in entry["dependents"]] == ["ដារា"]
    history = json.loads(server.cli("member-history", no).stdout)["versions"]
    assert [(v["version"], v["record_id"]) for v in history] == [
        (1, history[0]["record_id"]), (2, first["record_id"]), (3, second["record_id"])]
    assert [v["device_id"] for v in history] == [dev.device_id, peer.device_id, dev.device_id]
    shown = json.loads(server.cli("member-history", no, "--show").stdout)["versions"]
    assert len(shown[0]["record"].get("dependents", [])) == 0 and len(shown[1]["record"]["dependents"]) == 1
    assert shown[2]["record"]["phone"] == "+85598765432"
    status = peer.status([first["record_id"]])["records"][0]
    assert status == {"record_id": first["record_id"], "state": "registered", "registry_id": no, "version": 2}


def test_a_resend_is_a_duplicate_applied_exactly_once(server):
    dev = area_device(server, COMMUNE_A)
    no = results(dev, [person(COMMUNE_A)])[0]["registry_id"]
    doc = update_doc(no, 1, phone="011222333")
    item = dev.seal(doc)
    body = dev.body([item])
    first = dev.verified(dev.post(body), body)["results"][0]
    again_body = dev.body([item])  # the same sealed item in a new batch (the receipt was lost)
    again = dev.verified(dev.post(again_body), again_body)["results"][0]
    assert first["status"] == "accepted" and again == {"record_id": doc["record_id"], "status": "duplicate",
                                                       "registry_id": no, "version": 2}
    assert server.count("SELECT version FROM members WHERE registry_id = ?", (no,)) == 2
    assert server.count("SELECT COUNT(*) FROM member_versions WHERE registry_id = ?", (no,)) == 2


def test_unknown_member_not_in_area_and_invalid(server):
    a, b = area_device(server, COMMUNE_A), area_device(server, COMMUNE_B)
    no = results(a, [person(COMMUNE_A)])[0]["registry_id"]
    res = results(a, [update_doc("KH-REG-999999", 1)])[0]
    assert res["reason"] == "unknown_member"
    outsider = update_doc(no, 1)
    assert results(b, [outsider])[0]["reason"] == "not_in_area"
    assert b.status([outsider["record_id"]])["records"][0]["reason"] == "not_in_area"
    bad = update_doc(no, 1, remove_dependents=[{"index": 3, "reason": "death"}])
    res = results(a, [bad])[0]
    assert res["reason"] == "invalid_record" and res["problems"][0]["code"] == "validation.update.no_such_dependent"
    shapeless = update_doc(no, 0)
    assert results(a, [shapeless])[0]["reason"] == "invalid_record"
    assert server.count("SELECT version FROM members WHERE registry_id = ?", (no,)) == 1
    assert lookup(b)["members"] == []


def test_update_with_a_registration_delay_and_its_card(make_server):
    server = make_server("--register-delay", "30")
    dev = area_device(server, COMMUNE_A)
    rec = person(COMMUNE_A)
    no = results(dev, [rec])[0]["registry_id"]
    doc = update_doc(no, 1, add_dependents=[newborn()])
    assert results(dev, [doc])[0]["version"] == 2  # applied at once, while the enrollment still waits
    states = {r["record_id"]: r for r in dev.status(since="0")["records"]}
    assert states[rec["record_id"]]["state"] == "received"
    assert states[doc["record_id"]] == {"record_id": doc["record_id"], "state": "registered", "registry_id": no,
                                        "version": 2}
    r = requests.post(server.url + "/v1/status", json={"record_ids": [doc["record_id"]], "cards": True},
                      headers={"Authorization": f"Bearer {dev.token}"}, timeout=30)
    card = proofs.verify_status(r.json(), registry_sign_public=dev.sign_public,
                                device_id=dev.device_id)["records"][0]["card"]
    from fieldapp.domain.update import apply_update, validate_update
    from fieldapp.domain.validation import validate_record

    new = apply_update(validate_record(rec)[0], validate_update(doc)[0])[0]
    claims = card_claims(new, no, card["issued_at"], 2)
    assert credential.card_with_signature(claims, wire.b64d(card["sig"]), dev.sign_public).startswith("NC1:")
    entry = lookup(dev)["members"][0]
    assert entry["version"] == 2 and len(b64url_decode(entry["card"]["sig"])) == 64
