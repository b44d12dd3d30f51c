"""``GET /v1/lookup`` (protocol 4): each device sees the members of its area and those it has records of, signed,
incremental, paged, gzip; hostile requests get a clean 4xx."""

from __future__ import annotations

import gzip
import json

import pytest
import requests
from members_tools import COMMUNE_A, COMMUNE_B, area_device, lookup, person, raw_lookup, results, sync_all, villages

from fieldapp.domain.member import check_entry
from fieldapp.outbound import credential, wire


@pytest.fixture
def server(make_server):
    return make_server("--register-delay", "0")


def test_each_device_sees_only_its_area_and_its_own_members(server):
    a, b = area_device(server, COMMUNE_A), area_device(server, COMMUNE_B)
    old = area_device(server)  # no area: a laptop provisioned before protocol 4
    in_a = [person(COMMUNE_A) for _ in range(3)]
    in_b = [person(COMMUNE_B) for _ in range(2)]
    ids_a = [r["registry_id"] for r in results(a, in_a)]
    ids_b = [r["registry_id"] for r in results(b, in_b)]
    mine = results(old, [person(COMMUNE_A)])[0]["registry_id"]
    page_a, page_b, page_old = lookup(a), lookup(b), lookup(old)
    assert page_a["reset"] and not page_a["more"] and page_a["area"] == [COMMUNE_A]
    assert {e["member_no"] for e in page_a["members"]} == {*ids_a, mine}
    assert {e["member_no"] for e in page_b["members"]} == set(ids_b)
    assert {e["member_no"] for e in page_old["members"]} == {mine} and page_old["area"] == []
    for entry in page_a["members"]:
        assert check_entry(entry) == entry and entry["version"] == 1
    entry = next(e for e in page_a["members"] if e["member_no"] == ids_a[0])
    assert entry["office_commune"] == COMMUNE_A and entry["commune_code"] == COMMUNE_A
    assert entry["family_name"] == in_a[0]["family_name"] and "phone" not in entry


def test_the_card_signature_in_an_entry_verifies(server):
    from fieldapp.base.encoding import b64url_decode
    from fieldapp.domain.card import card_claims
    from fieldapp.domain.validation import validate_record

    dev = area_device(server, COMMUNE_A)
    rec = person(COMMUNE_A)
    no = results(dev, [rec])[0]["registry_id"]
    entry = next(e for e in lookup(dev)["members"] if e["member_no"] == no)
    clean = validate_record(rec)[0]
    claims = card_claims(clean, no, entry["card"]["issued_at"], 1)
    text = credential.card_with_signature(claims, b64url_decode(entry["card"]["sig"]), dev.sign_public)
    assert text.startswith("NC1:")


def test_increments_paging_and_area_change(server):
    dev = area_device(server, COMMUNE_A)
    other = area_device(server, COMMUNE_A)
    first = [r["registry_id"] for r in results(other, [person(COMMUNE_A) for _ in range(7)])]
    state = sync_all(dev, limit=3)
    assert set(state["members"]) >= set(first)
    again = lookup(dev, state["cursor"], state["area_id"])
    assert again["members"] == [] and not again["reset"] and again["cursor"] == state["cursor"]
    later = [r["registry_id"] for r in results(other, [person(COMMUNE_A) for _ in range(2)])]
    page = lookup(dev, state["cursor"], state["area_id"])
    assert [e["member_no"] for e in page["members"]] == later and not page["reset"]
    # the operator moves the device to commune B: its next lookup starts over
    out = json.loads(server.cli("device-area", dev.device_id, "--communes", COMMUNE_B).stdout)
    assert out["area"] == [COMMUNE_B] and out["area_id"] != state["area_id"]
    page = lookup(dev, page["cursor"], state["area_id"])
    assert page["reset"] and page["area"] == [COMMUNE_B] and not set(first) & {e["member_no"] for e in page["members"]}
    cleared = json.loads(server.cli("device-area", dev.device_id, "--clear").stdout)
    assert cleared["area"] == []


def test_a_member_moving_out_of_the_area_is_removed(server):
    a, b = area_device(server, COMMUNE_A), area_device(server, COMMUNE_B)
    watcher = area_device(server, COMMUNE_A)
    no = results(a, [person(COMMUNE_A)])[0]["registry_id"]
    state = sync_all(watcher)
    assert no in state["members"]
    from members_tools import update_doc

    moved = results(a, [update_doc(no, 1, village_code=villages(COMMUNE_B)[0])])[0]
    assert (moved["status"], moved["version"]) == ("accepted", 2)
    page = lookup(watcher, state["cursor"], state["area_id"])
    assert page["removed"] == [no] and page["members"] == []
    assert no in sync_all(b)["members"]  # commune B's laptop now has it
    assert sync_all(a)["members"][no]["version"] == 2  # the device that registered it keeps it


def test_gzip_and_signature(server):
    dev = area_device(server, COMMUNE_A)
    results(dev, [person(COMMUNE_A) for _ in range(5)])
    r = requests.get(server.url + "/v1/lookup", params={"since": "0"}, stream=True, timeout=30,
                     headers={"Authorization": f"Bearer {dev.token}", "Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    signed = json.loads(gzip.decompress(r.raw.read()))
    from fieldapp.outbound import proofs

    page = proofs.verify_lookup(signed, registry_sign_public=dev.sign_public, device_id=dev.device_id)
    page["members"][0]["family_name"] = "x"
    with pytest.raises(wire.WireError):
        proofs.verify_lookup(signed, registry_sign_public=dev.sign_public, device_id=dev.device_id)
    plain = raw_lookup(dev, since="0", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers


def test_hostile_requests_get_clean_4xx(server):
    dev, other = area_device(server, COMMUNE_A), area_device(server, COMMUNE_B)
    results(other, [person(COMMUNE_B)])
    for params in ({"since": "-1"}, {"since": "1' OR '1'='1"}, {"since": "1e9"}, {"limit": "100000000"},
                   {"limit": "0"}, {"limit": "-5"}, {"area": "x' UNION SELECT entry_enc FROM members --"},
                   {"area": "0" * 17}, {"since": "9" * 30}):
        r = raw_lookup(dev, **params)
        assert r.status_code == 400 and r.json()["error"] == "malformed", (params, r.text)
    assert requests.get(server.url + "/v1/lookup", timeout=10).status_code == 401
    r = requests.get(server.url + "/v1/lookup", headers={"Authorization": "Bearer v1.abc.def"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "bad_token"
    # another device's token gives that device's page, signed for it: never this device's
    r = raw_lookup(dev, headers={"Authorization": f"Bearer {other.token}"})
    assert r.json()["page"]["device_id"] == other.device_id
    with pytest.raises(wire.WireError):
        from fieldapp.outbound import proofs

        proofs.verify_lookup(r.json(), registry_sign_public=dev.sign_public, device_id=dev.device_id)
    server.cli("revoke-device", other.device_id)
    r = raw_lookup(dev, headers={"Authorization": f"Bearer {other.token}"})
    assert r.status_code == 403 and r.json()["error"] == "device_revoked"
    assert lookup(dev)["members"] == []  # nothing of commune B


def test_openapi_describes_lookup(server):
    doc = requests.get(server.url + "/openapi.json", timeout=10).json()
    op = doc["paths"]["/v1/lookup"]["get"]
    assert {p["name"] for p in op["parameters"]} == {"since", "area", "limit"}
    assert "LookupPage" in doc["components"]["schemas"] and "LookupEntry" in doc["components"]["schemas"]
    assert requests.get(server.url + "/v1/keys", timeout=10).json()["protocol"] == [1, 2, 3, 4]
