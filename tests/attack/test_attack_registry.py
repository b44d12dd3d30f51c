"""The registry's HTTP API under a stateful attacker, and the parser cases tests/registry does not cover.

A hypothesis ``RuleBasedStateMachine`` drives a live ``python -m registry serve`` over real HTTP: devices enroll
(also with spent codes and already-enrolled keys), log in (also with bad signatures and replayed nonces), send
batches mixing new records, resends, changed content, the same person under a new record ID, invalid records,
items naming another device or signed by another key, replay batches and reuse keys, ask for status by ID and by
cursor, and get revoked. Invariants after every step: no 5xx; a record ID never gets two registry IDs; one person
(national ID) has one registry ID across devices; a record's state never goes backwards; replays are identical.

The hand-written parser cases are in test_attack_registry_input.py.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from helpers.attack_registry_tools import RANK, Dev, fresh_record, new_code
from helpers.attack_tools import case, scaled
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule

from fieldapp.outbound import wire


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
