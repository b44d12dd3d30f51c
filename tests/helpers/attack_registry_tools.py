"""Shared by the registry attack tests: fresh records, an attacking device (the live registry subprocess is the
``reg`` fixture of tests/attack/conftest.py)."""

from __future__ import annotations

import itertools
import os
from datetime import date

import requests

from fieldapp.outbound import wire
from fieldapp.domain.synthetic import make_records

_NIDS = itertools.count(300_000_000 + (os.getpid() % 1000) * 50_000)
RANK = {"received": 1, "registered": 2}


def new_code(reg) -> str:
    from registry import devices

    return devices.new_enrollment_code(reg.db, 600)


_POOL: list[dict] = []


def fresh_record(nid: bool = True) -> dict:
    if not _POOL:
        _POOL.extend(make_records(200, seed=int.from_bytes(os.urandom(3), "big")))
    rec = dict(_POOL.pop())
    rec.pop("national_id", None)
    if nid:
        rec["national_id"] = f"{next(_NIDS):09d}"
    return rec


class Dev:
    def __init__(self, reg, http: requests.Session, private: bytes | None = None):
        self.reg, self.http = reg, http
        if private is None:
            private, _ = wire.new_device_keys()
        self.private, self.public = private, wire.ed25519_public(private)
        keys = http.get(reg.url + "/v1/keys", timeout=10).json()
        self.seal_public, self.sign_public = wire.b64d(keys["seal_public_key"]), wire.b64d(keys["sign_public_key"])
        self.device_id: str | None = None
        self.token: str | None = None

    def enroll(self, code: str) -> requests.Response:
        r = self.http.post(self.reg.url + "/v1/devices/enroll", timeout=10,
                           json={"code": code, "public_key": wire.b64e(self.public)})
        if r.status_code == 200:
            self.device_id = r.json()["device_id"]
        return r

    def challenge(self) -> requests.Response:
        return self.http.post(self.reg.url + "/v1/auth/challenge", json={"device_id": self.device_id}, timeout=10)

    def token_for(self, nonce: str, signature: str | None = None) -> requests.Response:
        return self.http.post(self.reg.url + "/v1/auth/token", timeout=10, json={
            "device_id": self.device_id, "nonce": nonce,
            "signature": signature or wire.sign_challenge(self.device_id, nonce, self.private)})

    def login(self) -> None:
        r = self.token_for(self.challenge().json()["nonce"])
        assert r.status_code == 200, r.text
        self.token = r.json()["token"]

    def seal(self, rec: dict, rid: str, device_id: str | None = None, signer: bytes | None = None) -> dict:
        return wire.seal_record(rec, record_id=rid, device_id=device_id or self.device_id,
                                enrolled_on=date.today().isoformat(), seal_public=self.seal_public,
                                device_private=signer or self.private)

    def post(self, body: bytes, key: str) -> requests.Response:
        if self.token is None:
            self.login()
        return self.http.post(self.reg.url + "/v1/batches", data=body, timeout=60, headers={
            "Authorization": f"Bearer {self.token}", "Idempotency-Key": key, "Content-Encoding": "gzip",
            "Content-Type": "application/json",
            "X-Batch-Signature": wire.sign_batch(body, idempotency_key=key, device_private=self.private)})

    def auth(self) -> dict:
        if self.token is None:
            self.login()
        return {"Authorization": f"Bearer {self.token}"}
