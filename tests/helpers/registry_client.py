"""A small device-side test client for the registry, built on ``fieldapp.outbound.wire`` and ``requests``.

``Server`` is a running registry process (made by the ``conftest`` fixtures); ``Device``
enrolls with a one-time code, logs in by signing a nonce and sends sealed batches. ``Device(server)`` stands for a
laptop of release 0.1.0 (version 1 items and batches, no approval key); ``Device(server, approval=True)`` for this
release (an approval key registered at enrollment, version 2 items approved by it, version 2 batches carrying
``self.audit_head``). ``status`` checks the registry's signature on every answer.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import requests

from fieldapp.outbound import proofs, wire

ROOT = Path(__file__).resolve().parents[2]
KHMER_NAMES = ["សុខ", "ដារា", "ចាន់", "សុភា", "វណ្ណា", "ស្រីនាង", "បូរ៉ា", "គឹមហួរ"]
_VILLAGE: list[str] = []


def village_code() -> str:
    """A real village code from the gazetteer (looked up once)."""
    if not _VILLAGE:
        from fieldapp.domain import geo

        _VILLAGE.append(geo.all_units("village")[0].code)
    return _VILLAGE[0]


def random_nid() -> str:
    return f"{random.randrange(10**8, 10**9)}"


def make_record(record_id: str | None = None, national_id: str | None = "auto", **over) -> dict:
    """A record that ``fieldapp.domain.validation`` accepts (overrides via keyword arguments)."""
    rec = {"record_id": record_id or str(uuid.uuid4()), "family_name": random.choice(KHMER_NAMES),
           "given_name": random.choice(KHMER_NAMES), "sex": "female", "date_of_birth": "1990-05-01",
           "village_code": village_code(), "occupation": "farmer", "employment_status": "self_employed",
           "consent": {"given": True, "method": "signature", "recorded_at": date.today().isoformat()}}
    if national_id:
        rec["national_id"] = random_nid() if national_id == "auto" else national_id
    rec.update(over)
    return rec


@dataclass
class Server:
    """A live registry process: base URL, data folder and (for PostgreSQL) its database URL."""

    url: str
    data_dir: Path
    database_url: str | None = None
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    _db: object = field(default=None, repr=False)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``python -m registry ARGS --data-dir ...`` as a real subprocess."""
        cmd = [sys.executable, "-m", "registry", *args, "--data-dir", str(self.data_dir)]
        if self.database_url and args[0] != "keys":
            cmd += ["--database-url", self.database_url]
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        if check and res.returncode != 0:
            raise AssertionError(f"registry {args[0]} failed: {res.stderr[-2000:]}")
        return res

    def db(self):
        """The registry's own storage layer, opened in this process (for codes and counts)."""
        if self._db is None:
            from registry.config import Settings
            from registry.storage import open_database

            self._db = open_database(Settings(data_dir=self.data_dir, database_url=self.database_url))
        return self._db

    def new_code(self, ttl: int = 600) -> str:
        from registry import devices

        return devices.new_enrollment_code(self.db(), ttl)

    def keys(self) -> dict:
        r = requests.get(self.url + "/v1/keys", timeout=10)
        r.raise_for_status()
        return {k: wire.b64d(v) for k, v in r.json().items() if k.endswith("_key")}

    def count(self, sql: str, params: tuple = ()) -> int:
        return self.db().run(lambda tx: tx.one(sql, params)[0], write=False)


class Device:
    """An enrolled test device with its own Ed25519 key (and, with ``approval=True``, an approval key)."""

    def __init__(self, server: Server, code: str | None = None, approval: bool = False):
        self.server = server
        self.private, self.public = wire.new_device_keys()
        self.approval_private = wire.new_device_keys()[0] if approval else None
        self.audit_head: dict | None = None  # what version 2 batches carry
        keys = server.keys()
        self.seal_public, self.sign_public = keys["seal_public_key"], keys["sign_public_key"]
        body = {"code": code or server.new_code(), "public_key": wire.b64e(self.public)}
        if approval:
            body.update(proofs.approval_key_proof(wire.b64e(self.public), self.approval_private))
        r = requests.post(server.url + "/v1/devices/enroll", timeout=10, json=body)
        assert r.status_code == 200, r.text
        self.device_id = r.json()["device_id"]
        self._token: str | None = None

    @classmethod
    def existing(cls, server: Server, device_id: str, private: bytes) -> "Device":
        """A device already in the registry's database (an upgraded release 0.1.0 registry), without enrolling."""
        dev = cls.__new__(cls)
        dev.server, dev.device_id, dev.private, dev.public = server, device_id, private, wire.ed25519_public(private)
        dev.approval_private, dev.audit_head, dev._token = None, None, None
        keys = server.keys()
        dev.seal_public, dev.sign_public = keys["seal_public_key"], keys["sign_public_key"]
        return dev

    @property
    def version(self) -> int:
        return wire.ITEM_V2 if self.approval_private else wire.ITEM_V1

    def sign_head(self, seq: int, chain_hash: str | None = None, store_id: str = "store-1",
                  signed_at: str | None = None, key: bytes | None = None) -> dict:
        """A signed audit head (by this device's approval key unless ``key``), kept as ``self.audit_head``."""
        self.audit_head = proofs.sign_audit_head(store_id, seq, chain_hash or wire.sha256_hex(str(seq).encode()),
                                                 signed_at or wire.now_iso(), key or self.approval_private)
        return self.audit_head

    def register_approval_key(self, approval_private: bytes, code: str | None = None) -> requests.Response:
        """``POST /v1/devices/approval-key`` for ``approval_private`` (kept as this device's on success)."""
        body = proofs.approval_key_proof(wire.b64e(self.public), approval_private)
        if code:
            body["code"] = code
        r = requests.post(self.server.url + "/v1/devices/approval-key", json=body, timeout=10,
                          headers={"Authorization": f"Bearer {self.token}"})
        if r.status_code == 200:
            self.approval_private = approval_private
        return r

    def login(self) -> str:
        nonce = requests.post(self.server.url + "/v1/auth/challenge", json={"device_id": self.device_id},
                              timeout=10).json()["nonce"]
        r = requests.post(self.server.url + "/v1/auth/token", timeout=10, json={
            "device_id": self.device_id, "nonce": nonce,
            "signature": wire.sign_challenge(self.device_id, nonce, self.private)})
        assert r.status_code == 200, r.text
        self._token = r.json()["token"]
        return self._token

    @property
    def token(self) -> str:
        return self._token or self.login()

    def seal(self, record: dict, *, record_id: str | None = None, enrolled_on: str | None = None,
             device_id: str | None = None, approval_private: bytes | None | bool = True) -> dict:
        """A sealed item: version 2 approved by this device's approval key (if any; ``approval_private`` another
        key, or False for a version 1 item), else version 1."""
        key = self.approval_private if approval_private is True else (approval_private or None)
        return wire.seal_record(record, record_id=record_id or record["record_id"], device_id=device_id or self.device_id,
                                enrolled_on=enrolled_on or date.today().isoformat(), seal_public=self.seal_public,
                                device_private=self.private, approval_private=key)

    def body(self, items: list[dict], batch_id: str | None = None, device_id: str | None = None,
             version: int | None = None) -> bytes:
        """A batch body: version 2 (with ``self.audit_head``) for a device with an approval key, else version 1."""
        version = version or self.version
        return wire.build_batch(items, device_id=device_id or self.device_id, batch_id=batch_id or str(uuid.uuid4()),
                                audit_head=self.audit_head if version >= 2 else None, version=version)

    def post(self, body: bytes, *, key: str | None = None, signature: str | None = None, headers: dict | None = None,
             token: str | None = None) -> requests.Response:
        """POST a raw batch body with the usual headers (any of them overridable)."""
        key = key or f"fa-{uuid.uuid4()}"
        hdrs = {"Authorization": f"Bearer {token or self.token}", "Idempotency-Key": key, "Content-Encoding": "gzip",
                "Content-Type": "application/json",
                "X-Batch-Signature": signature or wire.sign_batch(body, idempotency_key=key, device_private=self.private)}
        hdrs.update(headers or {})
        return requests.post(self.server.url + "/v1/batches", data=body, headers=hdrs, timeout=120)

    def send(self, records: list[dict], key: str | None = None) -> tuple[requests.Response, bytes]:
        """Seal, batch and send records; returns the response and the body sent."""
        body = self.body([self.seal(r) for r in records])
        return self.post(body, key=key), body

    def verified(self, response: requests.Response, body: bytes) -> dict:
        """The receipt, after checking the registry's signature and that it names this body."""
        assert response.status_code == 200, response.text
        return proofs.verify_receipt(response.json(), registry_sign_public=self.sign_public,
                                   batch_sha256=wire.sha256_hex(body))

    def status(self, record_ids: list[str] | None = None, since: str | None = None) -> dict:
        """A status answer, after checking the registry signed it for this device."""
        auth = {"Authorization": f"Bearer {self.token}"}
        if record_ids is not None:
            r = requests.post(self.server.url + "/v1/status", json={"record_ids": record_ids}, headers=auth, timeout=30)
        else:
            r = requests.get(self.server.url + "/v1/status", params={"since": since or "0"}, headers=auth, timeout=30)
        assert r.status_code == 200, r.text
        return proofs.verify_status(r.json(), registry_sign_public=self.sign_public, device_id=self.device_id)


def dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True)
