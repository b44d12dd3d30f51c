"""Enrollment codes, challenge-response login, tokens and revocation, against a live registry.

Lifetimes (codes, challenges, tokens) are tested without sleeping: ``local_server`` serves the registry
from a thread of the test process (real HTTP, same app as ``registry serve``) with ``registry.devices.now``
replaced by ``clock``, a fake clock the test moves on.
"""

from __future__ import annotations

import base64
import json
import socket
import stat
import threading
import time

import pytest
import requests
from helpers.registry_client import Device, Server

from fieldapp.outbound import wire
from registry import cli as registry_cli, devices


class FakeClock:
    """Stands in for ``registry.devices.now``: a time that moves only when the test says so."""

    def __init__(self, start: float):
        self.t = start

    def __call__(self) -> float:
        return self.t

    def set(self, t: float) -> None:
        self.t = t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock(float(int(time.time())))  # a whole second: the steps below add up exactly
    monkeypatch.setattr(devices, "now", fake)
    return fake


@pytest.fixture
def local_server(new_database_url, tmp_path, clock):
    """``local_server(*serve_args)``: a registry (``serve`` options) in a thread of this process, on ``clock``."""
    import uvicorn

    from registry.app import create_app

    running = []

    def start(*args: str) -> Server:
        ddir, url = tmp_path / f"local{len(running)}", new_database_url()
        argv = ["serve", "--data-dir", str(ddir), *args] + (["--database-url", url] if url else [])
        settings = registry_cli._settings(registry_cli.build_parser().parse_args(argv))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(create_app(settings), log_config=None, log_level="warning",
                                               access_log=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        running.append((server, thread, sock))
        deadline = time.monotonic() + 60
        while not server.started:  # waits for start-up only
            assert thread.is_alive() and time.monotonic() < deadline, "the in-process registry did not start"
            time.sleep(0.02)
        local = Server(url=f"http://127.0.0.1:{sock.getsockname()[1]}", data_dir=ddir, database_url=url)
        running[-1] += (local,)
        return local

    yield start
    for server, thread, sock, *local in running:
        server.should_exit = True
        thread.join(15)
        sock.close()
        if local and local[0]._db is not None:
            local[0]._db.close()


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


def test_expired_and_unknown_codes_are_refused(local_server, clock):
    server = local_server()
    out = json.loads(server.cli("enrollment-code", "--ttl", "1").stdout)  # the CLI's code, on the real clock
    assert out["expires_in"] == 1
    created, expires = server.db().run(lambda tx: tx.one(
        "SELECT created_at, expires_at FROM enrollment_codes WHERE code_hash = ?",
        (devices._hash(devices.normalise_code(out["code"])),)), write=False)
    assert expires - created == 1
    clock.set(expires)  # a code is dead from the instant it expires
    r = enroll(server, out["code"])
    assert (r.status_code, r.json()["error"]) == (403, "code_expired")
    fresh, stale = server.new_code(ttl=1), server.new_code(ttl=1)  # made on the fake clock
    clock.advance(0.5)
    assert enroll(server, fresh).status_code == 200
    clock.advance(0.5)
    r = enroll(server, stale)
    assert (r.status_code, r.json()["error"]) == (403, "code_expired")
    r = enroll(server, "AAAA-BBBB-CCCC-DDDD")
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


def test_challenges_expire(local_server, clock):
    server = local_server()
    dev = Device(server)
    nonce = requests.post(server.url + "/v1/auth/challenge", json={"device_id": dev.device_id}, timeout=10).json()
    assert nonce["expires_in"] == 60
    clock.advance(60)
    sig = wire.sign_challenge(dev.device_id, nonce["nonce"], dev.private)
    r = requests.post(server.url + "/v1/auth/token", timeout=10,
                      json={"device_id": dev.device_id, "nonce": nonce["nonce"], "signature": sig})
    assert (r.status_code, r.json()["error"]) == (401, "nonce_expired")
    assert dev.login().startswith("v1.")  # a fresh challenge still works


def test_tokens_expire(local_server, clock):
    server = local_server("--token-ttl", "1")
    dev = Device(server)
    token = dev.login()
    body = token.split(".")[1]
    exp = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["exp"]
    assert exp == clock() + 1
    assert dev.post(dev.body([]), token=token).status_code == 200
    clock.set(exp - 0.5)
    assert dev.post(dev.body([]), token=token).status_code == 200
    clock.set(exp)
    r = dev.post(dev.body([]), token=token)
    assert (r.status_code, r.json()["error"]) == (401, "token_expired")
