"""The registry's HTTP API under a stateful attacker, and the parser cases tests/registry does not cover.

A hypothesis ``RuleBasedStateMachine`` drives a live ``python -m registry serve`` over real HTTP: devices enroll
(release 0.1.0 laptops without an approval key, and laptops of this release with one; also with spent codes and
already-enrolled keys), register approval keys with their device key alone (a first one; a second one must be
refused), log in (also with bad signatures and replayed nonces), send version 1 and 2 batches mixing new records,
resends, changed content, the same person under a new record ID, another device's record IDs and content, invalid
records, items naming another device or signed by another key, items without a valid approval, replay batches and
reuse keys, ask for status by ID and by cursor (every answer's signature checked), and get revoked. Invariants after
every step: no 5xx; record IDs belong to their device; a record never gets two registry IDs; one person (national
ID) has one registry ID, given to the device that registered it first, and another device's record of that person
is held; no answer names another device's registry ID; a record's state never goes backwards; replays are identical.

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

from fieldapp.outbound import proofs, wire


class RegistryMachine(RuleBasedStateMachine):
    """The model: what the registry holds, per (device, record ID) and per person (national ID)."""

    reg = None  # set by the test
    counter = None

    devices = Bundle("devices")

    @initialize()
    def setup(self):
        self.http = requests.Session()
        self.held: dict[tuple, dict] = {}      # (device, record_id) -> {"record", "registry_id", "held"}
        self.people: dict[str, tuple] = {}     # national ID -> (registry_id, the device that registered it first)
        self.own: dict[str, set] = {}          # device -> registry IDs it may ever be told (its own people)
        self.rejected: dict[tuple, dict] = {}  # (device, record_id) -> record rejected as invalid and not held
        self.seen_ids: dict[tuple, set] = {}   # (device, record_id) -> every registry_id reported for it
        self.rank: dict[tuple, int] = {}       # (device, record_id) -> highest state rank seen
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

    def note(self, dev, rid: str, registry_id: str | None, state: str | None = None):
        key = (dev.device_id, rid)
        if registry_id:
            assert registry_id in self.own.get(dev.device_id, set()), f"{rid}: told another device's registry ID"
            ids = self.seen_ids.setdefault(key, set())
            ids.add(registry_id)
            assert len(ids) == 1, f"record {rid} got two registry IDs: {ids}"
        if state in RANK:
            assert RANK[state] >= self.rank.get(key, 0), f"record {rid} went back to {state}"
            self.rank[key] = max(self.rank.get(key, 0), RANK[state])
        if state == "rejected":
            assert key not in self.held, f"held record {rid} reported rejected"
        if key in self.held and self.held[key]["held"]:
            assert state in (None, "held") and registry_id is None, f"held record {rid} reported {state}"

    def expect(self, dev, rid: str, rec: dict) -> tuple[str, str | None]:
        """What the registry must answer for this valid record now: (status, registry ID or None)."""
        h = self.held.get((dev.device_id, rid))
        if h is not None:
            if h["record"] != rec:
                return "conflict", h["registry_id"]
            return ("held", None) if h["held"] else ("duplicate", h["registry_id"])
        nid = rec.get("national_id")
        if not nid or nid not in self.people:
            return "accepted", None
        registry_id, first = self.people[nid]
        return ("duplicate", registry_id) if first == dev.device_id else ("held", None)

    # -- devices ---------------------------------------------------------------
    @rule(target=devices, approval=st.booleans())
    def enroll(self, approval):
        dev = Dev(self.reg, self.http, approval=approval)
        code = new_code(self.reg)
        r = self.ok(dev.enroll(code))
        assert r.status_code == 200, r.text
        self.spent_codes.append(code)
        self.own[dev.device_id] = set()
        return dev

    @precondition(lambda self: self.spent_codes)
    @rule(dev=devices)
    def enroll_with_spent_code_or_known_key(self, dev):
        r = self.ok(Dev(self.reg, self.http).enroll(self.spent_codes[-1]))
        assert (r.status_code, r.json()["error"]) == (403, "code_used")
        again = Dev(self.reg, self.http, private=dev.private)
        r = self.ok(again.enroll(new_code(self.reg)))
        assert (r.status_code, r.json()["error"]) == (409, "key_already_enrolled")

    @rule(dev=devices, same=st.booleans())
    def register_approval_key(self, dev, same):
        """A laptop key alone: registers a first approval key (an upgraded 0.1.0 laptop), never replaces one."""
        key = dev.approval_private if same and dev.approval_private else wire.new_device_keys()[0]
        body = proofs.approval_key_proof(wire.b64e(dev.public), key)
        r = self.ok(self.http.post(self.reg.url + "/v1/devices/approval-key", json=body, headers=dev.auth(),
                                   timeout=10))
        if dev.device_id in self.revoked:
            assert (r.status_code, r.json()["error"]) == (403, "device_revoked")
        elif dev.approval_private is None:
            assert r.status_code == 200 and r.json()["state"] == "registered", r.text[:300]
            dev.approval_private = key
        elif key == dev.approval_private:
            assert r.status_code == 200 and r.json()["state"] == "unchanged", r.text[:300]
        else:
            assert (r.status_code, r.json()["error"]) == (409, "approval_key_exists")

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
    @rule(dev=devices, batch_v=st.sampled_from([1, 2]), plan=st.lists(st.sampled_from(
        ["new", "new", "new_no_nid", "resend", "changed", "same_person", "invalid", "fix_rejected",
         "wrong_device", "bad_sig", "foreign_resend", "unapproved", "other_approver"]), min_size=1, max_size=8))
    def send_batch(self, dev, batch_v, plan):
        items, planned, used = [], [], set()
        me = dev.device_id
        mine = [rid for (d, rid) in self.held if d == me]
        others = [(d, rid) for (d, rid) in self.held if d != me and (me, rid) not in self.held]
        fixable = [rid for (d, rid) in self.rejected if d == me]
        for kind in plan:
            rid, rec, fault, item = str(uuid.uuid4()), fresh_record(nid=kind != "new_no_nid"), None, None
            if kind in ("resend", "changed") and mine:
                rid = mine.pop()
                rec = dict(self.held[(me, rid)]["record"])
                if kind == "changed":
                    rec["notes"] = "changed " + uuid.uuid4().hex[:8]
            elif kind == "foreign_resend" and others:
                d, rid = others.pop(0)
                rec = dict(self.held[(d, rid)]["record"])  # another device's record ID and content: its own now
            elif kind == "same_person" and self.people:
                rec["national_id"] = sorted(self.people)[len(self.held) % len(self.people)]
            elif kind == "invalid":
                rec["date_of_birth"] = "2999-01-01"
                fault = "invalid_record"
            elif kind == "fix_rejected" and fixable:
                rid = fixable.pop()
            elif kind == "wrong_device":
                item, fault = dev.seal(rec, rid, device_id=str(uuid.uuid4())), "wrong_device"
            elif kind == "bad_sig" and dev.approval_private is not None:  # a version 2 item: its one signature
                item, fault = dev.seal(rec, rid, approver=wire.new_device_keys()[0]), "bad_approval_signature"
            elif kind == "bad_sig":  # a version 1 item: the device's signature
                item, fault = dev.seal(rec, rid, signer=wire.new_device_keys()[0]), "bad_item_signature"
            elif kind == "unapproved":  # the device key alone: a version 1 item, or approved by some other key
                item = dev.seal(rec, rid, approver=False if dev.approval_private else wire.new_device_keys()[0])
                fault = "approval_required" if dev.approval_private else "no_approval_key"
            elif kind == "other_approver" and dev.approval_private:
                item, fault = dev.seal(rec, rid, approver=wire.new_device_keys()[0]), "bad_approval_signature"
            if rid in used:  # never the same record twice in one batch (the model would be ambiguous)
                continue
            used.add(rid)
            items.append(item or dev.seal(rec, rid))
            planned.append((rid, rec, fault))
        body = dev.batch(items, str(uuid.uuid4()), version=batch_v)
        key = f"k-{uuid.uuid4()}"
        r = self.ok(dev.post(body, key))
        if me in self.revoked:
            assert (r.status_code, r.json()["error"]) == (403, "device_revoked")
            return
        assert r.status_code == 200, r.text[:300]
        receipt = proofs.verify_receipt(r.json(), registry_sign_public=dev.sign_public, batch_sha256=wire.sha256_hex(body))
        assert receipt["v"] == batch_v and len(receipt["results"]) == len(planned)
        for res, (rid, rec, fault) in zip(receipt["results"], planned):
            assert res["record_id"] == rid
            if fault:
                assert (res["status"], res.get("reason")) == ("rejected", fault), (res, fault)
                if fault == "invalid_record" and (me, rid) not in self.held:
                    self.rejected[(me, rid)] = rec
                    self.note(dev, rid, None, "rejected")
                continue
            status, registry_id = self.expect(dev, rid, rec)
            shown = "accepted" if status == "held" and batch_v == 1 else status  # 0.1.0 laptops know no "held"
            assert (res["status"], res.get("registry_id", None) if status != "accepted" else None) == (
                shown, registry_id), (res, status, registry_id)
            if status == "accepted":
                assert res["registry_id"] not in {i for ids in self.own.values() for i in ids}
                self.own[me].add(res["registry_id"])
                registry_id = res["registry_id"]
                if rec.get("national_id"):
                    self.people[rec["national_id"]] = (registry_id, me)
            if (me, rid) not in self.held:
                self.held[(me, rid)] = {"record": rec, "registry_id": registry_id, "held": status == "held"}
                self.rejected.pop((me, rid), None)
            self.note(dev, rid, registry_id)
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
        me = dev.device_id
        mine = [rid for (d, rid) in self.held if d == me] + [rid for (d, rid) in self.rejected if d == me]
        foreign = [rid for (d, rid) in self.held if d != me and (me, rid) not in self.held][:5]
        long = self.ok(self.http.post(self.reg.url + "/v1/status", json={"record_ids": ["x" * 300]},
                                      headers=dev.auth(), timeout=30))
        assert long.status_code in (400, 403), long.text[:200]
        asked = mine + foreign + [str(uuid.uuid4()), "../../etc", "' OR 1=1 --", "%", "*"]
        r = self.ok(dev.status(asked[:1000]))
        if me in self.revoked:
            assert r.status_code == 403
            return
        got = dev.verified_status(r)["records"]
        assert {x["record_id"] for x in got} <= set(mine), "status answered for records this device does not own"
        for x in got:
            self.note(dev, x["record_id"], x.get("registry_id"), x["state"])
            h = self.held.get((me, x["record_id"]))
            if h is not None and not h["held"]:
                assert x.get("registry_id") == h["registry_id"]

    @rule(dev=devices)
    def status_feed(self, dev):
        cursor = self.cursors.get(dev.device_id, "0")
        for _ in range(20):
            r = self.ok(dev.status(since=cursor))
            if dev.device_id in self.revoked:
                assert r.status_code == 403
                return
            doc = dev.verified_status(r)
            for x in doc["records"]:
                self.note(dev, x["record_id"], x.get("registry_id"), x["state"])
            assert int(doc["cursor"]) >= int(cursor), "the cursor went backwards"
            cursor = doc["cursor"]
            if not doc.get("more"):
                break
        self.cursors[dev.device_id] = cursor

    @invariant()
    def one_registry_id_per_record_and_person(self):
        for key, ids in self.seen_ids.items():
            assert len(ids) <= 1, key
        by_person: dict[str, set] = {}
        for h in self.held.values():
            nid = (h["record"] or {}).get("national_id")
            if nid and not h["held"]:
                by_person.setdefault(nid, set()).add(h["registry_id"])
        assert all(len(v) == 1 for v in by_person.values())


@pytest.mark.slow
def test_stateful_registry_api(reg):
    from collections import Counter

    RegistryMachine.reg = reg
    RegistryMachine.counter = Counter()
    with case("registry: stateful HTTP API (enroll with and without approval keys, approval key registration, "
              "login, version 1 and 2 batches, replays, status, revoke)",
              "no 5xx; every refusal a JSON reason; record IDs per device; one registry ID per record and per person; "
              "another device's national ID held, never first-wins; no answer names another device's registry ID; "
              "nothing accepted without a valid approval from a device with an approval key; a second approval key "
              "refused without a code; states never go back; replays byte-identical; reused keys 409; status "
              "answers signed and only for own records") as c:
        test = RegistryMachine.TestCase
        test.settings = settings(max_examples=scaled(12), stateful_step_count=25, deadline=None,
                                 suppress_health_check=list(HealthCheck))
        test().runTest()
        c.runs = RegistryMachine.counter["requests"]
    log = (reg.data_dir / "serve.log").read_text(errors="replace")
    assert '"internal_error"' not in log
