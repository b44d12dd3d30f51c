"""Duplicates across laptops (protocol 4): the same person enrolled on two devices without a national ID is held for
review by name, phonetic key or Latin name; the operator resolves it (``resolve ID --same-as MEMBER | --distinct``)
with an audit trail; a device's own repeat is registered (its laptop warned the worker)."""

from __future__ import annotations

import json

import pytest
from members_tools import COMMUNE_A, COMMUNE_B, area_device, lookup, person, results, sync_all


@pytest.fixture
def server(make_server):
    return make_server("--register-delay", "0")


def _held(server) -> dict:
    return {x["record_id"]: x for x in json.loads(server.cli("duplicates").stdout)}


def test_held_by_name_then_resolved_same_as(server):
    a, b = area_device(server, COMMUNE_A), area_device(server, COMMUNE_B)
    first = person(COMMUNE_A, family_name="សុខ", given_name="ដារា")
    member = results(a, [first])[0]["registry_id"]
    twin = dict(first, record_id="c0ffee00-0000-4000-8000-000000000001")
    assert results(b, [twin])[0] == {"record_id": twin["record_id"], "status": "held"}
    assert b.status([twin["record_id"]])["records"][0] == {"record_id": twin["record_id"], "state": "held"}
    listed = _held(server)[twin["record_id"]]
    assert (listed["why"], listed["matched_member"], listed["matched_device_id"]) == ("name", member, a.device_id)
    assert member not in sync_all(b)["members"]  # commune B's laptop does not see commune A's member yet
    state = sync_all(b)
    out = json.loads(server.cli("resolve", twin["record_id"], "--same-as", member).stdout)
    assert (out["outcome"], out["registry_id"], out["state"]) == ("same_as", member, "registered")
    assert out["operator"]
    entry = sync_all(b, state)["members"][member]  # linked: one sync later, B's lookup has it
    assert entry["office_commune"] == COMMUNE_A and entry["version"] == 1
    status = b.status([twin["record_id"]])["records"][0]
    assert status == {"record_id": twin["record_id"], "state": "registered", "registry_id": member, "duplicate": True}
    assert server.count("SELECT COUNT(*) FROM members") == 1
    rows = server.db().run(lambda tx: tx.execute("SELECT outcome, operator FROM resolutions"), write=False)
    assert rows[0][0] == "same_as" and rows[0][1]


def test_held_by_phonetic_spelling_variant_then_distinct(server):
    a, b = area_device(server, COMMUNE_A), area_device(server, COMMUNE_B)
    first = person(COMMUNE_A, family_name="សុខ", given_name="ដារ៉ា")
    member = results(a, [first])[0]["registry_id"]
    variant = person(COMMUNE_A, family_name="សុខ", given_name="ដារា", date_of_birth=first["date_of_birth"])
    assert results(b, [variant])[0]["status"] == "held"
    assert _held(server)[variant["record_id"]]["why"] == "phonetic"
    out = json.loads(server.cli("resolve", variant["record_id"], "--distinct").stdout)
    assert out["outcome"] == "distinct" and out["registry_id"] != member
    new = out["registry_id"]
    assert new in sync_all(b)["members"]  # its own member now, seen by the device that registered it
    history = json.loads(server.cli("member-history", new).stdout)
    assert [(v["version"], v["device_id"], v["record_id"]) for v in history["versions"]] == [
        (1, b.device_id, variant["record_id"])]
    assert "record" not in history["versions"][0]
    shown = json.loads(server.cli("member-history", new, "--show").stdout)
    assert shown["versions"][0]["record"]["given_name"] == "ដារា"
    assert server.count("SELECT COUNT(*) FROM members") == 2


def test_held_by_latin_name(server):
    a, b = area_device(server, COMMUNE_A), area_device(server, COMMUNE_B)
    first = person(COMMUNE_A, family_name="សុខ", given_name="ចាន់", family_name_latin="Sok", given_name_latin="Chan")
    results(a, [first])
    other = person(COMMUNE_A, family_name="សុក", given_name="ច័ន្ទ", family_name_latin="SOK",
                   given_name_latin="chan", date_of_birth=first["date_of_birth"])
    assert results(b, [other])[0]["status"] == "held"
    assert _held(server)[other["record_id"]]["why"] in ("phonetic", "latin")


def test_same_device_repeat_is_registered_and_old_laptops_keep_working(server):
    a = area_device(server, COMMUNE_A)
    first = person(COMMUNE_A)
    one = results(a, [first])[0]
    again = results(a, [dict(first, record_id="c0ffee00-0000-4000-8000-000000000002")])[0]
    assert one["status"] == again["status"] == "accepted" and one["registry_id"] != again["registry_id"]
    old = area_device(server, approval=False)  # release 0.1.0 laptop: version 1 receipts know no "held"
    res = results(old, [dict(first, record_id="c0ffee00-0000-4000-8000-000000000003")])[0]
    assert res == {"record_id": "c0ffee00-0000-4000-8000-000000000003", "status": "accepted"}
    assert lookup(old)["members"] == []


def test_resolve_errors(server):
    a, b = area_device(server, COMMUNE_A), area_device(server, COMMUNE_B)
    first = person(COMMUNE_A)
    member = results(a, [first])[0]["registry_id"]
    twin = dict(first, record_id="c0ffee00-0000-4000-8000-000000000004")
    results(b, [twin])
    for args, reason in (((first["record_id"], "--distinct"), "not_held"), (("nothing", "--distinct"), "unknown_record"),
                         ((twin["record_id"], "--same-as", "KH-REG-999999"), "unknown_registry_id"),
                         ((b.device_id, "nothing", "--distinct"), "unknown_record")):
        res = server.cli("resolve", *args, check=False)
        assert res.returncode == 1 and json.loads(res.stderr.strip().splitlines()[-1])["error"] == reason
    # the same record ID held from two devices: the operator names the device
    c = area_device(server, COMMUNE_B)
    results(c, [dict(twin)])
    res = server.cli("resolve", twin["record_id"], "--distinct", check=False)
    assert json.loads(res.stderr.strip().splitlines()[-1])["error"] == "ambiguous_record"
    out = json.loads(server.cli("resolve", c.device_id, twin["record_id"], "--same-as", member).stdout)
    assert out["device_id"] == c.device_id
    res = server.cli("member-history", "KH-REG-999999", check=False)
    assert json.loads(res.stderr.strip().splitlines()[-1])["error"] == "unknown_member"
