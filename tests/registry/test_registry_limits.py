"""Hostile or broken batch bodies get a 4xx with a machine-readable reason, never a 5xx."""

from __future__ import annotations

import gzip
import json
import uuid
import zlib

import requests
from helpers.registry_client import make_record

from fieldapp.outbound import wire


def refused(device, body: bytes, **kw) -> tuple[int, str]:
    r = device.post(body, **kw)
    return r.status_code, r.json().get("error")


def test_compression_bomb_is_stopped(device):
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = comp.compress(b'{"v":1,"batch_id":"b","device_id":"d","items":["' + b"A" * (64 * 1024 * 1024)) + comp.flush()
    assert len(bomb) < 200 * 1024
    assert refused(device, bomb) == (413, "batch_too_large")


def test_oversized_compressed_body_is_refused(device):
    big = b"\x1f\x8b" + b"\0" * (8 * 1024 * 1024 + 10)
    assert refused(device, big) == (413, "batch_too_large")


def test_too_many_items_is_refused(device):
    body = device.body([{}] * 1001)
    assert refused(device, body) == (413, "batch_too_large")


def test_truncated_or_not_gzip_bodies(device):
    good = device.body([device.seal(make_record())])
    assert refused(device, good[: len(good) // 2]) == (400, "bad_compression")
    assert refused(device, b"plain text, not gzip") == (400, "bad_compression")
    assert refused(device, good + b"trailing") == (400, "bad_compression")
    assert refused(device, gzip.compress(b"{]")) == (400, "malformed")
    assert refused(device, gzip.compress(b"[" * 100000)) == (400, "malformed")
    assert refused(device, gzip.compress("\udcff".encode("utf-8", "surrogatepass"))) == (400, "malformed")


def test_wrong_batch_shapes(device):
    shapes = [[], {"v": 1}, {"v": 2, "batch_id": "b", "device_id": device.device_id, "items": []},
              {"v": 1, "batch_id": 5, "device_id": device.device_id, "items": []},
              {"v": 1, "batch_id": "b", "device_id": device.device_id, "items": {}},
              {"v": True, "batch_id": "b", "device_id": device.device_id, "items": []}]
    for doc in shapes:
        assert refused(device, gzip.compress(json.dumps(doc).encode())) == (400, "malformed"), doc


def test_missing_or_bad_headers(device):
    body = device.body([])
    assert refused(device, body, headers={"Content-Encoding": "identity"}) == (415, "bad_compression")
    assert refused(device, body, key="has space") == (400, "bad_idempotency_key")
    assert refused(device, body, signature="%%%") == (400, "bad_batch_signature")
    for header in ("Idempotency-Key", "X-Batch-Signature", "Content-Encoding"):
        hdrs = {"Authorization": f"Bearer {device.token}", "Idempotency-Key": "k1", "Content-Encoding": "gzip",
                "X-Batch-Signature": wire.sign_batch(body, idempotency_key="k1", device_private=device.private)}
        del hdrs[header]
        r = requests.post(device.server.url + "/v1/batches", data=body, headers=hdrs, timeout=10)
        assert (r.status_code, r.json()["error"]) == (400, "malformed"), header


def test_malformed_json_endpoints(registry_server, device):
    url = registry_server.url
    cases = [("/v1/devices/enroll", b"{not json"), ("/v1/devices/enroll", b'{"code": 5, "public_key": []}'),
             ("/v1/auth/challenge", b'{"device_id": {"x": 1}}'), ("/v1/auth/token", b"[]"),
             ("/v1/auth/challenge", b'{"device_id": "ok", "extra": 1}')]
    for path, data in cases:
        r = requests.post(url + path, data=data, headers={"Content-Type": "application/json"}, timeout=10)
        assert (r.status_code, r.json()["error"]) == (400, "malformed"), path
    r = requests.post(url + "/v1/auth/challenge", data=b"x" * 100_000, headers={"Content-Type": "application/json"},
                      timeout=10)
    assert (r.status_code, r.json()["error"]) == (413, "body_too_large")
    auth = {"Authorization": f"Bearer {device.token}"}
    r = requests.get(url + "/v1/status", params={"since": "-1"}, headers=auth, timeout=10)
    assert (r.status_code, r.json()["error"]) == (400, "malformed")
    r = requests.post(url + "/v1/status", json={"record_ids": ["a"] * 1001}, headers=auth, timeout=10)
    assert (r.status_code, r.json()["error"]) == (400, "malformed")


def test_nothing_is_half_written(registry_server, device):
    """A refused batch stores nothing: its key can be used again with a good body."""
    key = f"fa-{uuid.uuid4()}"
    rec = make_record()
    bad = device.body([device.seal(rec)])[:-4]
    assert device.post(bad, key=key).status_code == 400
    assert device.status([rec["record_id"]])["records"] == []
    good = device.body([device.seal(rec)])
    assert device.verified(device.post(good, key=key), good)["results"][0]["status"] == "accepted"
