"""The registry's HTTP API under a stateful attacker, and the parser cases tests/registry does not cover.

A hypothesis ``RuleBasedStateMachine`` drives a live ``python -m registry serve`` over real HTTP: devices enroll
(also with spent codes and already-enrolled keys), log in (also with bad signatures and replayed nonces), send
batches mixing new records, resends, changed content, the same person under a new record ID, invalid records,
items naming another device or signed by another key, replay batches and reuse keys, ask for status by ID and by
cursor, and get revoked. Invariants after every step: no 5xx; a record ID never gets two registry IDs; one person
(national ID) has one registry ID across devices; a record's state never goes backwards; replays are identical.

Hand-written cases: duplicate JSON keys (batch envelope, sealed item, sealed plaintext: one signature must not
cover two meanings), NaN in a batch body, and hostile USB bundles (zip bombs, duplicate/symlink/encrypted members,
missing batches, a revoked device, a gzip bomb inside a bundle's batch).
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import os
import uuid
import zlib
import zipfile
from datetime import date

import pytest
import requests
from attack_tools import case, scaled
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule

from fieldapp import wire
from fieldapp.synthetic import make_records

_NIDS = itertools.count(300_000_000 + (os.getpid() % 1000) * 50_000)
RANK = {"received": 1, "registered": 2}


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    from sync_helpers import Registry

    from registry.config import Settings
    from registry.storage import open_database

    r = Registry(tmp_path_factory.mktemp("attackreg"), register_delay=0.4).start()
    r.db = open_database(Settings(data_dir=r.data_dir))
    yield r
    r.db.close()
    r.stop()


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


class RegistryMachine(RuleBasedStateMachine):
    """The model: what the registry holds, per record ID and per person."""

    reg = None  # set by the test
    counter = None

    devices = Bundle("devices")

    @initialize()
    def setup(self):
        self.http = requests.Session()
        self.held: dict[str, dict] = {}        # record_id -> {"hash", "registry_id", "device", "record", "nid"}
        self.people: dict[str, str] = {}       # national ID -> registry_id
        self.rejected: dict[str, tuple] = {}   # record_id -> (device, record) rejected and not held
        self.seen_ids: dict[str, set] = {}     # record_id -> every registry_id ever reported for it
        self.rank: dict[str, int] = {}         # record_id -> highest state rank seen
        self.cursors: dict[str, str] = {}
        self.sent: list[tuple] = []            # (device, key, body, receipt envelope)
        self.spent_codes: list[str] = []
        self.revoked: set[str] = set()

    def teardown(self):
        self.http.close()

    # -- helpers -------------------------------------------------------------
    def ok(self, r: requests.Response) -> requests.Response:
        self.counter["requests"] += 1
        assert r.status_code < 500, (r.status_code, r.text[:300])
        if r.status_code >= 400:
            assert isinstance(r.json().get("error"), str), r.text[:300]
        return r

    def note(self, rid: str, registry_id: str | None, state: str | None = None):
        if registry_id:
            ids = self.seen_ids.setdefault(rid, set())
            ids.add(registry_id)
            assert len(ids) == 1, f"record {rid} got two registry IDs: {ids}"
        if state in RANK:
            assert RANK[state] >= self.rank.get(rid, 0), f"record {rid} went back to {state}"
            self.rank[rid] = max(self.rank.get(rid, 0), RANK[state])
        if state == "rejected":
            assert rid not in self.held, f"held record {rid} reported rejected"

    # -- devices ---------------------------------------------------------------
    @rule(target=devices)
    def enroll(self):
        dev = Dev(self.reg, self.http)
        code = new_code(self.reg)
        r = self.ok(dev.enroll(code))
        assert r.status_code == 200, r.text
        self.spent_codes.append(code)
        return dev

    @precondition(lambda self: self.spent_codes)
    @rule(dev=devices)
    def enroll_with_spent_code_or_known_key(self, dev):
        r = self.ok(Dev(self.reg, self.http).enroll(self.spent_codes[-1]))
        assert (r.status_code, r.json()["error"]) == (403, "code_used")
        again = Dev(self.reg, self.http, private=dev.private)
        r = self.ok(again.enroll(new_code(self.reg)))
        assert (r.status_code, r.json()["error"]) == (409, "key_already_enrolled")

    @rule(dev=devices)
    def login_attacks(self, dev):
        if dev.device_id in self.revoked:
            r = self.ok(dev.challenge())
            assert (r.status_code, r.json()["error"]) == (403, "device_revoked")
            return
        nonce = self.ok(dev.challenge()).json()["nonce"]
        forged = wire.sign_challenge(dev.device_id, nonce, wire.new_device_keys()[0])
        r = self.ok(dev.token_for(nonce, forged))
        assert (r.status_code, r.json()["error"]) == (401, "bad_signature")
        r = self.ok(dev.token_for(nonce))  # the nonce was spent by the failed attempt
        assert (r.status_code, r.json()["error"]) == (401, "bad_nonce")
        r = self.ok(self.http.get(self.reg.url + "/v1/status", timeout=10,
                                  headers={"Authorization": "Bearer v1.e30.00"}))
        assert r.status_code == 401

    @rule(dev=devices)
    def revoke(self, dev):
        if len(self.revoked) >= 2 or dev.device_id in self.revoked:
            return
        from registry import devices as regdev

        if dev.token is None:
            dev.login()  # a token issued before revocation must stop working at once
        assert regdev.revoke(self.reg.db, dev.device_id)
        self.revoked.add(dev.device_id)

    # -- batches -----------------------------------------------------------------
    @rule(dev=devices, plan=st.lists(st.sampled_from(
        ["new", "new", "new_no_nid", "resend", "changed", "same_person", "invalid", "fix_rejected",
         "wrong_device", "bad_sig", "foreign_resend"]), min_size=1, max_size=8))
    def send_batch(self, dev, plan):
        items, expect, used = [], [], set()
        mine = [rid for rid, h in self.held.items() if h["device"] == dev.device_id and rid not in used]
        others = [rid for rid, h in self.held.items() if h["device"] != dev.device_id]
        for kind in plan:
            rid = str(uuid.uuid4())
            if kind in ("resend", "changed") and mine:
                rid = mine.pop()
                rec = dict(self.held[rid]["record"])
                if kind == "changed":
                    rec["notes"] = "changed " + uuid.uuid4().hex[:8]
                    expect.append(("conflict", rid, self.held[rid]["registry_id"]))
                else:
                    expect.append(("duplicate", rid, self.held[rid]["registry_id"]))
            elif kind == "foreign_resend" and others:
                rid = others[0]
                rec = dict(self.held[rid]["record"])
                expect.append(("duplicate", rid, self.held[rid]["registry_id"]))
            elif kind == "same_person" and self.people:
                nid = sorted(self.people)[len(self.held) % len(self.people)]
                rec = fresh_record()
                rec["national_id"] = nid
                expect.append(("duplicate", rid, self.people[nid]))
            elif kind == "invalid":
                rec = fresh_record()
                rec["date_of_birth"] = "2999-01-01"
                expect.append(("rejected", rid, "invalid_record"))
            elif kind == "fix_rejected" and [r for r, (d, _) in self.rejected.items()
                                             if d == dev.device_id and r not in used]:
                rid = [r for r, (d, _) in self.rejected.items() if d == dev.device_id and r not in used][0]
                rec = fresh_record()
                expect.append(("accepted", rid, None))
            elif kind == "wrong_device":
                rec = fresh_record()
                items.append(dev.seal(rec, rid, device_id=str(uuid.uuid4())))
                expect.append(("rejected", rid, "wrong_device"))
                used.add(rid)
                continue
            elif kind == "bad_sig":
                rec = fresh_record()
                items.append(dev.seal(rec, rid, signer=wire.new_device_keys()[0]))
                expect.append(("rejected", rid, "bad_item_signature"))
                used.add(rid)
                continue
            else:
                rec = fresh_record(nid=kind != "new_no_nid")
                expect.append(("accepted", rid, None))
            if rid in used:  # never the same record twice in one batch (the model would be ambiguous)
                expect.pop()
                continue
            used.add(rid)
            items.append(dev.seal(rec, rid))
            expect[-1] = expect[-1] + (rec,)
        body = wire.build_batch(items, device_id=dev.device_id, batch_id=str(uuid.uuid4()))
        key = f"k-{uuid.uuid4()}"
        r = self.ok(dev.post(body, key))
        if dev.device_id in self.revoked:
            assert (r.status_code, r.json()["error"]) == (403, "device_revoked")
            return
        assert r.status_code == 200, r.text[:300]
        receipt = wire.verify_receipt(r.json(), registry_sign_public=dev.sign_public, batch_sha256=wire.sha256_hex(body))
        results = receipt["results"]
        assert len(results) == len(expect)
        for res, exp in zip(results, expect):
            status, rid, extra, rec = exp[0], exp[1], exp[2], exp[3] if len(exp) > 3 else None
            assert res["record_id"] == rid
            if status == "accepted" and rec is not None and rec.get("national_id") in self.people:
                status, extra = "duplicate", self.people[rec["national_id"]]  # a person from an earlier example
            assert res["status"] == status, (res, status)
            if status == "rejected":
                assert res["reason"] == extra
                if extra == "invalid_record":
                    self.rejected[rid] = (dev.device_id, rec)
                self.note(rid, None, "rejected") if rid not in self.held else None
                continue
            if extra and status != "accepted":
                assert res["registry_id"] == extra
            self.note(rid, res["registry_id"])
            if rid not in self.held:
                self.held[rid] = {"record": rec, "registry_id": res["registry_id"], "device": dev.device_id}
                self.rejected.pop(rid, None)
                nid = rec.get("national_id")
                if nid:
                    assert self.people.setdefault(nid, res["registry_id"]) == res["registry_id"]
        self.sent.append((dev, key, body, r.content))

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def replay_and_reuse_keys(self, data):
        dev, key, body, envelope = data.draw(st.sampled_from(self.sent))
        r = self.ok(dev.post(body, key))
        if dev.device_id in self.revoked:
            assert r.status_code == 403
            return
        assert r.status_code == 200 and r.content == envelope, "a replay must return the stored receipt byte for byte"
        other = wire.build_batch([], device_id=dev.device_id, batch_id=str(uuid.uuid4()))
        r = self.ok(dev.post(other, key))
        assert (r.status_code, r.json()["error"]) == (409, "idempotency_key_reused")

    # -- status --------------------------------------------------------------------
    @rule(dev=devices)
    def status_by_ids(self, dev):
        mine = [rid for rid, h in self.held.items() if h["device"] == dev.device_id]
        mine += [rid for rid, (d, _) in self.rejected.items() if d == dev.device_id]
        foreign = [rid for rid, h in self.held.items() if h["device"] != dev.device_id][:5]
        long = self.ok(self.http.post(self.reg.url + "/v1/status", json={"record_ids": ["x" * 300]},
                                      headers=dev.auth(), timeout=30))
        assert long.status_code in (400, 403), long.text[:200]
        asked = mine + foreign + [str(uuid.uuid4()), "../../etc", "' OR 1=1 --", "%", "*"]
        r = self.ok(self.http.post(self.reg.url + "/v1/status", json={"record_ids": asked[:1000]}, headers=dev.auth(),
                                   timeout=30))
        if dev.device_id in self.revoked:
            assert r.status_code == 403
            return
        assert r.status_code == 200, r.text[:300]
        got = r.json()["records"]
        assert {x["record_id"] for x in got} <= set(mine), "status answered for records this device does not own"
        for x in got:
            self.note(x["record_id"], x.get("registry_id"), x["state"])
            if x["record_id"] in self.held:
                assert x.get("registry_id") == self.held[x["record_id"]]["registry_id"]

    @rule(dev=devices)
    def status_feed(self, dev):
        cursor = self.cursors.get(dev.device_id, "0")
        for _ in range(20):
            r = self.ok(self.http.get(self.reg.url + "/v1/status", params={"since": cursor}, headers=dev.auth(),
                                      timeout=30))
            if dev.device_id in self.revoked:
                assert r.status_code == 403
                return
            assert r.status_code == 200, r.text[:300]
            doc = r.json()
            for x in doc["records"]:
                held = self.held.get(x["record_id"])
                assert held is None or held["device"] == dev.device_id
                self.note(x["record_id"], x.get("registry_id"), x["state"])
            assert int(doc["cursor"]) >= int(cursor), "the cursor went backwards"
            cursor = doc["cursor"]
            if not doc.get("more"):
                break
        self.cursors[dev.device_id] = cursor

    @invariant()
    def one_registry_id_per_record_and_person(self):
        for rid, ids in self.seen_ids.items():
            assert len(ids) <= 1, rid
        by_person: dict[str, set] = {}
        for rid, h in self.held.items():
            nid = (h["record"] or {}).get("national_id")
            if nid:
                by_person.setdefault(nid, set()).add(h["registry_id"])
        assert all(len(v) == 1 for v in by_person.values())


@pytest.mark.slow
def test_stateful_registry_api(reg):
    from collections import Counter

    RegistryMachine.reg = reg
    RegistryMachine.counter = Counter()
    with case("registry: stateful HTTP API (enroll, login, batches, replays, status, revoke)",
              "no 5xx; every refusal a JSON reason; one registry ID per record ID and per person; states never go "
              "back; replays byte-identical; reused keys 409; status only for own records") as c:
        test = RegistryMachine.TestCase
        test.settings = settings(max_examples=scaled(12), stateful_step_count=25, deadline=None,
                                 suppress_health_check=list(HealthCheck))
        test().runTest()
        c.runs = RegistryMachine.counter["requests"]
    log = (reg.data_dir / "serve.log").read_text(errors="replace")
    assert '"internal_error"' not in log


# ---------------------------------------------------------------- duplicate keys and NaN
@pytest.fixture(scope="module")
def dev(reg):
    http = requests.Session()
    d = Dev(reg, http)
    assert d.enroll(new_code(reg)).status_code == 200
    yield d
    http.close()


def _post_raw(dev, doc_text: str) -> requests.Response:
    return dev.post(gzip.compress(doc_text.encode("utf-8"), mtime=0), f"k-{uuid.uuid4()}")


def test_nan_and_odd_numbers_in_a_batch_body_are_4xx(dev, reg):
    bodies = ['{"v":1,"batch_id":"b","device_id":"%s","items":[NaN]}' % dev.device_id,
              '{"v":NaN,"batch_id":"b","device_id":"%s","items":[]}' % dev.device_id,
              '{"v":1e999,"batch_id":"b","device_id":"%s","items":[]}' % dev.device_id,
              '{"v":1.0,"batch_id":"b","device_id":"%s","items":[]}' % dev.device_id,
              '{"v":1,"batch_id":"b","device_id":"%s","items":[{"v":Infinity}]}' % dev.device_id,
              '{"v":1,"batch_id":"b","device_id":"%s","items":[],"v":1}' % dev.device_id,
              '{"v":' + "9" * 5000 + ',"batch_id":"b","device_id":"%s","items":[]}' % dev.device_id]
    with case("registry: NaN, Infinity, 1e999, 1.0, 5000-digit numbers in a batch body",
              "never a 5xx; items that are not sealed items are rejected one by one") as c:
        for text in bodies:
            r = _post_raw(dev, text)
            c.runs += 1
            assert r.status_code < 500, (text[:60], r.status_code, r.text[:200])
            if r.status_code == 200:
                for res in r.json()["receipt"]["results"]:
                    assert res["status"] == "rejected"


def _item_text(item: dict, extra: str) -> str:
    """A sealed item as JSON with an extra (duplicate) member spliced in before the closing brace."""
    text = wire.canonical_json(item).decode()
    return text[:-1] + "," + extra + "}"


def test_duplicate_keys_in_a_batch_body_are_refused(dev, reg):
    """The device's X-Batch-Signature and the registry's receipt cover the body bytes: a body with two readings
    (first-wins vs last-wins JSON parsers) must be refused, not interpreted."""
    a, b = fresh_record(), fresh_record()
    rid_a, rid_b = str(uuid.uuid4()), str(uuid.uuid4())
    item_a, item_b = dev.seal(a, rid_a), dev.seal(b, rid_b)
    envelope = ('{"batch_id":"%s","device_id":"%s","items":[%s],"items":[%s],"v":1}'
                % (uuid.uuid4(), dev.device_id, wire.canonical_json(item_a).decode(),
                   wire.canonical_json(item_b).decode()))
    # inside one item: record_id twice (the signature verifies for the last one)
    item_c = dev.seal(fresh_record(), rid_b)
    inner = ('{"batch_id":"%s","device_id":"%s","items":[%s],"v":1}'
             % (uuid.uuid4(), dev.device_id, _item_text(item_c, '"record_id":"%s"' % rid_b).replace(
                 '"record_id":"%s"' % rid_b, '"record_id":"%s"' % rid_a, 1)))
    with case("registry: duplicate JSON keys in a batch envelope or sealed item",
              "refused with 400 malformed; nothing stored under either reading") as c:
        for text in (envelope, inner):
            r = _post_raw(dev, text)
            c.runs += 1
            status = requests.post(reg.url + "/v1/status", json={"record_ids": [rid_a, rid_b]}, headers=dev.auth(),
                                   timeout=10).json()["records"]
            assert (r.status_code, r.json().get("error")) == (400, "malformed") and status == [], (r.status_code,
                                                                                                 r.text[:200])


def _seal_plaintext(dev, plaintext: bytes, record_for_hash: dict, rid: str) -> dict:
    """A sealed item whose ciphertext holds exactly ``plaintext`` (a hand-written, non-canonical JSON text)."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    eph = X25519PrivateKey.generate()
    epk = eph.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = wire._seal_key(eph.exchange(X25519PublicKey.from_public_bytes(dev.seal_public)), epk, dev.seal_public)
    item = {"v": 1, "record_id": rid, "device_id": dev.device_id, "enrolled_on": date.today().isoformat(),
            "content_hash": wire.content_hash(record_for_hash)}
    nonce = os.urandom(12)
    item.update(epk=wire.b64e(epk), nonce=wire.b64e(nonce),
                ct=wire.b64e(AESGCM(key).encrypt(nonce, zlib.compress(plaintext), wire._seal_aad(item))))
    item["sig"] = wire.sign(dev.private, wire.canonical_json(item))
    return item


def test_duplicate_keys_inside_a_sealed_record_are_refused(dev, reg):
    """The device signs the ciphertext; the plaintext must have one meaning: ``national_id`` twice is refused."""
    rec = fresh_record()
    decoy = f"{next(_NIDS):09d}"
    text = wire.canonical_json(rec).decode()
    plaintext = ('{"national_id":"%s",' % decoy + text[1:]).encode()  # decoy first, the real one later
    rid = str(uuid.uuid4())
    item = _seal_plaintext(dev, plaintext, rec, rid)
    body = wire.build_batch([item], device_id=dev.device_id, batch_id=str(uuid.uuid4()))
    with case("registry: duplicate JSON keys inside a sealed record",
              "rejected (malformed_record); never registered under either national ID") as c:
        r = dev.post(body, f"k-{uuid.uuid4()}")
        c.runs += 1
        assert r.status_code == 200
        res = r.json()["receipt"]["results"][0]
        assert (res["status"], res.get("reason")) == ("rejected", "malformed_record"), res


# ---------------------------------------------------------------- hostile USB bundles
def _zip(members: list[tuple], manifest_for=None) -> bytes:
    import warnings

    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as zf:
        warnings.simplefilter("ignore")  # "Duplicate name": on purpose
        for info, data in members:
            zf.writestr(info, data)
    return buf.getvalue()


def _mark_last_member_encrypted(data: bytes) -> bytes:
    """Set the 'encrypted' flag of the last member in both its local header and the central directory
    (zipfile clears it when writing, so patch the bytes)."""
    import struct

    buf = bytearray(data)
    central = buf.rindex(b"PK\x01\x02")
    buf[central + 8] |= 1
    local = struct.unpack_from("<I", buf, central + 42)[0]
    assert buf[local:local + 4] == b"PK\x03\x04"
    buf[local + 6] |= 1
    return bytes(buf)


def _signed_manifest(dev, entries: list[dict]) -> tuple[bytes, bytes]:
    manifest = wire.canonical_json({"format": wire.BUNDLE_FORMAT, "v": 1, "device_id": dev.device_id,
                                    "created_at": wire.now_iso(), "batches": entries})
    return manifest, wire.sign(dev.private, wire._bundle_message(manifest)).encode()


def test_hostile_bundles_are_refused_in_memory(dev, tmp_path):
    body = wire.build_batch([dev.seal(fresh_record(), str(uuid.uuid4()))], device_id=dev.device_id,
                            batch_id=str(uuid.uuid4()))
    entry = {"file": "batches/000001.json.gz", "idempotency_key": "k1", "sha256": wire.sha256_hex(body),
             "signature": wire.sign_batch(body, idempotency_key="k1", device_private=dev.private)}
    manifest, sig = _signed_manifest(dev, [entry])
    base = [("manifest.json", manifest), ("manifest.sig", sig)]

    def deflated(name, data):
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info, data

    link = zipfile.ZipInfo("batches/000001.json.gz")
    link.external_attr = (0o120777 << 16)
    cases = {
        "zip bomb member": (base + [deflated("batches/000001.json.gz", b"\0" * (64 * 1024 * 1024))], "bundle_too_large"),
        "duplicate member": (base + [("batches/000001.json.gz", body), ("batches/000001.json.gz", b"other")],
                             "bundle_unsafe_member"),
        "duplicate manifest": (base + [("manifest.json", b"{}"), ("batches/000001.json.gz", body)],
                               "bundle_unsafe_member"),
        "symlink member": (base + [(link, b"/etc/passwd")], "bundle_unsafe_member"),
        "directory member": (base + [("batches/", b"")], "bundle_unsafe_member"),
        "dot-dot member": (base + [("batches/../000001.json.gz", body)], "bundle_unsafe_member"),
        "absolute member": (base + [("/batches/000001.json.gz", body)], "bundle_unsafe_member"),
        "missing batch": (base, "bad_bundle"),
        "swapped batch": (base + [("batches/000001.json.gz", wire.build_batch([], device_id=dev.device_id,
                                                                               batch_id="x"))], "bad_bundle"),
        "manifest unsigned": ([("manifest.json", manifest), ("manifest.sig", b"AAAA"),
                               ("batches/000001.json.gz", body)], "bad_bundle_signature"),
    }
    with case("registry: hostile USB bundles (read in memory)",
              "zip bombs, duplicate/symlink/encrypted/directory/traversal members, missing or swapped batches, "
              "unsigned manifests: refused with a reason code, nothing written to disk") as c:
        before = set(tmp_path.rglob("*"))
        for name, (members, reason) in cases.items():
            with pytest.raises(wire.WireError) as e:
                wire.read_bundle(_zip(members), device_public=dev.public)
                pytest.fail(f"bundle case {name!r} was accepted")
            assert e.value.reason == reason, (name, e.value.reason)
            c.runs += 1
        encrypted = _mark_last_member_encrypted(_zip(base + [("batches/000001.json.gz", body)]))
        with pytest.raises(wire.WireError) as e:
            wire.read_bundle(encrypted, device_public=dev.public)
        assert e.value.reason == "bundle_unsafe_member"
        c.runs += 1
        many = base + [(f"batches/{i:06d}.json.gz", b"x") for i in range(1, 40)]
        with pytest.raises(wire.WireError) as e:
            wire.read_bundle(_zip(many), device_public=dev.public, max_batches=10)
        assert e.value.reason == "bundle_too_large"
        c.runs += 1
        assert set(tmp_path.rglob("*")) == before


def test_bundle_from_a_revoked_device_and_a_bomb_inside_a_bundle_batch(reg, tmp_path):
    http = requests.Session()
    d = Dev(reg, http)
    assert d.enroll(new_code(reg)).status_code == 200
    good = [d.seal(fresh_record(), str(uuid.uuid4())) for _ in range(3)]
    good_body = wire.build_batch(good, device_id=d.device_id, batch_id=str(uuid.uuid4()))
    comp = __import__("zlib").compressobj(9, 8, 31)
    bomb = comp.compress(b'{"v":1,"batch_id":"b","device_id":"%s","items":["' % d.device_id.encode()
                         + b"A" * (48 * 1024 * 1024)) + comp.flush()
    bundle = wire.build_bundle([("k-bomb", bomb), ("k-good", good_body)], device_id=d.device_id,
                               device_private=d.private)
    path = tmp_path / "usb.bundle"
    path.write_bytes(bundle)
    with case("registry: bundle with a gzip bomb batch; bundle from a revoked device (import-bundle CLI)",
              "the bomb batch alone is refused (batch_too_large), the good batch imported; after revocation the "
              "whole bundle is refused (device_revoked) and nothing changes") as c:
        import subprocess

        from sync_helpers import PY, REPO, env
        res = subprocess.run([PY, "-m", "registry", "import-bundle", str(path), "--data-dir", str(reg.data_dir)],
                             cwd=REPO, env=env(), capture_output=True, text=True, timeout=120)
        c.runs += 1
        assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr[-800:]
        summary = json.loads(res.stdout)
        assert summary["refused"] == [{"batch": 1, "error": "batch_too_large"}] and summary["results"] == {"accepted": 3}
        from registry import devices as regdev

        assert regdev.revoke(reg.db, d.device_id)
        again = wire.build_bundle([("k-good2", wire.build_batch([d.seal(fresh_record(), str(uuid.uuid4()))],
                                                                  device_id=d.device_id, batch_id="b2"))],
                                  device_id=d.device_id, device_private=d.private)
        path2 = tmp_path / "usb2.bundle"
        path2.write_bytes(again)
        res = subprocess.run([PY, "-m", "registry", "import-bundle", str(path2), "--data-dir", str(reg.data_dir)],
                             cwd=REPO, env=env(), capture_output=True, text=True, timeout=120)
        c.runs += 1
        assert res.returncode == 1 and res.stdout == ""
        assert json.loads(res.stderr.strip().splitlines()[-1])["error"] == "device_revoked"
    http.close()
