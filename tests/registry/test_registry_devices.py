"""Enrollment codes, challenge-response login, tokens and revocation, against a live registry."""

from __future__ import annotations

import json
import stat
import time

import requests
from registry_test_client import Device

from fieldapp.outbound import wire


def enroll(server, code: str, public: bytes | None = None) -> requests.Response:
    public = public or wire.new_device_keys()[1]
    return requests.post(server.url + "/v1/devices/enroll", json={"code": code, "public_key": wire.b64e(public)},
                         timeout=10)


def test_code_from_the_cli_enrolls_once(registry_server):
    out = json.loads(registry_server.cli("enrollment-code").stdout)
    assert out["expires_in"] == 600
    first = enroll(registry_server, out["code"])
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"device_id", "seal_public_key", "sign_public_key"}
    again = enroll(registry_server, out["code"])
    assert (again.status_code, again.json()["error"]) == (403, "code_used")
    listed = json.loads(registry_server.cli("devices").stdout)
    assert any(d["device_id"] == body["device_id"] and d["state"] == "active" for d in listed)


def test_expired_and_unknown_codes_are_refused(registry_server):
    code = json.loads(registry_server.cli("enrollment-code", "--ttl", "1").stdout)["code"]
    time.sleep(1.2)
    r = enroll(registry_server, code)
    assert (r.status_code, r.json()["error"]) == (403, "code_expired")
    r = enroll(registry_server, "AAAA-BBBB-CCCC-DDDD")
    assert (r.status_code, r.json()["error"]) == (403, "bad_code")


def test_codes_are_stored_only_as_hashes(registry_server):
    code = registry_server.new_code()
    rows = registry_server.db().run(lambda tx: tx.execute("SELECT code_hash FROM enrollment_codes"), write=False)
    assert all(code.replace("-", "") not in r[0] and code not in r[0] for r in rows)


def test_bad_public_key_and_reused_key_are_refused(registry_server):
    r = requests.post(registry_server.url + "/v1/devices/enroll", timeout=10,
                      json={"code": registry_server.new_code(), "public_key": "not base64"})
    assert (r.status_code, r.json()["error"]) == (400, "malformed")
    public = wire.new_device_keys()[1]
    assert enroll(registry_server, registry_server.new_code(), public).status_code == 200
    code = registry_server.new_code()
    r = enroll(registry_server, code, public)
    assert (r.status_code, r.json()["error"]) == (409, "key_already_enrolled")
    assert enroll(registry_server, code).status_code == 200  # the refused attempt did not spend the code


def test_token_flow_and_refusals(registry_server, device):
    url = registry_server.url
    assert device.login().startswith("v1.")
    nonce = requests.post(url + "/v1/auth/challenge", json={"device_id": device.device_id}, timeout=10).json()["nonce"]
    other_private, _ = wire.new_device_keys()
    bad = wire.sign_challenge(device.device_id, nonce, other_private)
    r = requests.post(url + "/v1/auth/token", json={"device_id": device.device_id, "nonce": nonce, "signature": bad},
                      timeout=10)
    assert (r.status_code, r.json()["error"]) == (401, "bad_signature")
    good = wire.sign_challenge(device.device_id, nonce, device.private)
    r = requests.post(url + "/v1/auth/token", json={"device_id": device.device_id, "nonce": nonce, "signature": good},
                      timeout=10)
    assert (r.status_code, r.json()["error"]) == (401, "bad_nonce")  # a nonce is consumed by its first use
    nonce = requests.post(url + "/v1/auth/challenge", json={"device_id": device.device_id}, timeout=10).json()["nonce"]
    sig = wire.sign_challenge(device.device_id, nonce, device.private)
    first = requests.post(url + "/v1/auth/token", json={"device_id": device.device_id, "nonce": nonce, "signature": sig},
                          timeout=10)
    assert first.status_code == 200 and first.json()["expires_in"] == 900
    replay = requests.post(url + "/v1/auth/token", json={"device_id": device.device_id, "nonce": nonce, "signature": sig},
                           timeout=10)
    assert (replay.status_code, replay.json()["error"]) == (401, "bad_nonce")


def test_unknown_device_and_forged_tokens_are_refused(registry_server, device):
    r = requests.post(registry_server.url + "/v1/auth/challenge", json={"device_id": "no-such-device"}, timeout=10)
    assert (r.status_code, r.json()["error"]) == (401, "unknown_device")
    head, body, mac = device.token.split(".")
    forged = f"{head}.{body[:-2]}AA.{mac}"
    for token in (forged, "garbage", f"{head}.{body}.{'0' * 64}"):
        r = device.post(device.body([]), token=token)
        assert (r.status_code, r.json()["error"]) == (401, "bad_token"), token
    r = requests.post(registry_server.url + "/v1/batches", data=b"x", timeout=10)
    assert r.status_code in (400, 401)


def test_revoked_device_is_blocked_at_once(registry_server):
    dev = Device(registry_server)
    token = dev.login()
    assert dev.status([])["records"] == []
    out = json.loads(registry_server.cli("revoke-device", dev.device_id).stdout)
    assert out == {"device_id": dev.device_id, "state": "revoked"}
    r = dev.post(dev.body([]), token=token)
    assert (r.status_code, r.json()["error"]) == (403, "device_revoked")
    r = requests.post(registry_server.url + "/v1/auth/challenge", json={"device_id": dev.device_id}, timeout=10)
    assert (r.status_code, r.json()["error"]) == (403, "device_revoked")
    assert registry_server.cli("revoke-device", "no-such-device", check=False).returncode == 1


def test_keys_are_owner_only(registry_server):
    ddir = registry_server.data_dir
    assert stat.S_IMODE(ddir.stat().st_mode) == 0o700
    for path in ddir.iterdir():
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    printed = json.loads(registry_server.cli("keys").stdout)
    served = requests.get(registry_server.url + "/v1/keys", timeout=10).json()
    assert printed["seal_public_key"] == served["seal_public_key"]
    assert printed["sign_public_key"] == served["sign_public_key"]
    assert "private" not in json.dumps(printed)


def test_tokens_expire(make_server):
    server = make_server("--token-ttl", "1")
    dev = Device(server)
    token = dev.login()
    assert dev.post(dev.body([]), token=token).status_code == 200
    time.sleep(2.1)
    r = dev.post(dev.body([]), token=token)
    assert (r.status_code, r.json()["error"]) == (401, "token_expired")
