"""Shared by the registry attack tests: fresh records, an attacking device (the live registry subprocess is the
``reg`` fixture of tests/attack/conftest.py). ``Dev(reg, http)`` is a release 0.1.0 laptop (version 1 items, no
approval key); ``Dev(reg, http, approval=True)`` one of this release (approval key sent at enrollment, version 2
items and batches)."""

from __future__ import annotations

import itertools
import os
from datetime import date

import requests

from fieldapp.outbound import proofs, wire
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
    def __init__(self, reg, http: requests.Session, private: bytes | None = None, approval: bool = False):
        self.reg, self.http = reg, http
        if private is None:
            private, _ = wire.new_device_keys()
        self.private, self.public = private, wire.ed25519_public(private)
        self.approval_private = wire.new_device_keys()[0] if approval else None
        keys = http.get(reg.url + "/v1/keys", timeout=10).json()
        self.seal_public, self.sign_public = wire.b64d(keys["seal_public_key"]), wire.b64d(keys["sign_public_key"])
        self.device_id: str | None = None
        self.token: str | None = None

    @property
    def version(self) -> int:
        return wire.ITEM_V2 if self.approval_private else wire.ITEM_V1

    def enroll(self, code: str) -> requests.Response:
        body = {"code": code, "public_key": wire.b64e(self.public)}
        if self.approval_private:
            body.update(proofs.approval_key_proof(wire.b64e(self.public), self.approval_private))
        r = self.http.post(self.reg.url + "/v1/devices/enroll", timeout=10, json=body)
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

    def seal(self, rec: dict, rid: str, device_id: str | None = None, signer: bytes | None = None,
             approver: bytes | None | bool = True) -> dict:
        """A sealed item: approved by this device's approval key (version 2) if it has one, unless ``approver``
        names another key (or False: a version 1 item signed by the device key alone)."""
        key = self.approval_private if approver is True else (approver or None)
        return wire.seal_record(rec, record_id=rid, device_id=device_id or self.device_id,
                                enrolled_on=date.today().isoformat(), seal_public=self.seal_public,
                                device_private=signer or self.private, approval_private=key)

    def batch(self, items: list[dict], batch_id: str, version: int | None = None, audit_head: dict | None = None,
              device_id: str | None = None) -> bytes:
        version = version or self.version
        return wire.build_batch(items, device_id=device_id or self.device_id, batch_id=batch_id, version=version,
                                audit_head=audit_head if version >= 2 else None)

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

    def status(self, record_ids: list[str] | None = None, since: str = "0") -> requests.Response:
        """A raw status answer (by IDs, or the feed since ``since``)."""
        if record_ids is not None:
            return self.http.post(self.reg.url + "/v1/status", json={"record_ids": record_ids}, headers=self.auth(),
                                  timeout=30)
        return self.http.get(self.reg.url + "/v1/status", params={"since": since}, headers=self.auth(), timeout=30)

    def verified_status(self, r: requests.Response) -> dict:
        """The status answer, after checking the registry signed it for this device."""
        assert r.status_code == 200, r.text[:300]
        return proofs.verify_status(r.json(), registry_sign_public=self.sign_public, device_id=self.device_id)
