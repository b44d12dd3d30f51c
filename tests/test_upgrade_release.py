"""Release 0.1.0 in the field, upgraded in place: a laptop stopped mid-sync and its registry keep syncing exactly once.

tests/samples/release-0.1.0 was made by release 0.1.0's own code (tests/samples/make_release_sample.py; never
regenerated): a provisioned, registered laptop whose records are registered, synced (registration pending), queued
in an open frozen batch that the registry already holds (its answer was lost), queued and never sent, submitted,
returned, rejected and drafts; and the registry's data folder. This test runs THIS code on copies of both, at the
level of the commands and the registry's public behaviour: the registry (``python -m registry serve``) on the old
data folder, behind a fault proxy on the registry address the laptop knows (its old port: nothing in the laptop's
files is rewritten, as no IT person would), the laptop through ``python -m fieldapp``. Nothing here waits for a
clock: faults are counted, and sync runs a bounded number of rounds.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest

from helpers.faultproxy import FaultProxy
from helpers.sync_helpers import Registry, free_port, run_fieldapp

SAMPLE = Path(__file__).parent / "samples" / "release-0.1.0"
SEND = ("registered", "synced", "open_batch", "queued_unsent", "submitted")  # groups that must end registered
KEEP = {"returned": "returned", "rejected": "rejected", "draft": "draft"}    # groups that must keep their state
SYNC_ROUNDS = 8         # `fieldapp sync` runs before the outbox must be empty (each gives up on its own)
REGISTER_ROUNDS = 60    # status polls before every sent record must read registered


def _install(src: Path, dst: Path) -> Path:
    """A copy of a sample data folder, owner-only as the release left it (a git checkout does not keep modes)."""
    shutil.copytree(src, dst)
    for root, dirs, files in os.walk(dst):
        os.chmod(root, 0o700)
        for f in files:
            os.chmod(Path(root) / f, 0o600)
    return dst


class Laptop:
    def __init__(self, data_dir: Path, tmp_path: Path, passwords: dict):
        self.data_dir, self.passwords = data_dir, passwords
        self.env = {"FIELDAPP_LANG": "en", "FIELDAPP_LOG_DIR": tmp_path / "logs",
                    "FIELDAPP_PROVISIONING_FILE": tmp_path / "no-machine-provisioning.json"}

    def __call__(self, *args, user: str | None = None, timeout: float = 300):
        extra = ("--user", user) if user else ()
        return run_fieldapp(*args, "--data-dir", self.data_dir, *extra,
                            password=self.passwords[user] if user else None, timeout=timeout, **self.env)

    def states(self, user: str = "sup") -> dict:
        out = self("list", "--json", user=user)
        assert out.returncode == 0, out.stderr
        return {r["id"]: r["state"] for r in json.loads(out.stdout)}

    def sync_until_empty(self) -> dict:
        """``fieldapp sync`` until it exits 0 (the outbox is empty); only "registry not reachable yet" (3) may
        come before that."""
        for _ in range(SYNC_ROUNDS):
            out = self("sync", "--json", "--timeout", "240", timeout=400)
            assert out.returncode in (0, 3), (out.returncode, out.stdout, out.stderr)
            if out.returncode == 0:
                return json.loads(out.stdout)
        raise AssertionError(f"the outbox was not empty after {SYNC_ROUNDS} sync runs: {out.stdout} {out.stderr}")

    def sync_until_registered(self, record_ids) -> dict:
        """Sync (which polls the registry's status feed) until every one of ``record_ids`` reads registered."""
        for _ in range(REGISTER_ROUNDS):
            states = self.states()
            if all(states.get(r) == "registered" for r in record_ids):
                return states
            assert self("sync", "--json", "--timeout", "240", timeout=400).returncode in (0, 3)
            time.sleep(0.2)  # the registry registers in a background pass: let it run
        late = Counter(states.get(r) for r in record_ids if states.get(r) != "registered")
        raise AssertionError(f"not registered after {REGISTER_ROUNDS} polls: {dict(late)}")


def _registry_db(reg_dir: Path) -> dict:
    """Rows the registry holds, read through its own storage layer (which migrates the schema, as serve does)."""
    from registry.config import Settings
    from registry.storage import open_database

    db = open_database(Settings(data_dir=reg_dir))
    try:
        records = db.run(lambda tx: tx.execute("SELECT record_id, state, duplicate_of FROM records"), write=False)
        people = db.run(lambda tx: tx.execute("SELECT record_id FROM people"), write=False)
        devices = db.run(lambda tx: tx.execute("SELECT device_id, revoked_at FROM devices"), write=False)
    finally:
        db.close()
    return {"per_record": Counter(r[0] for r in records), "state": {r[0]: r[1] for r in records},
            "duplicate_of": {r[0]: r[2] for r in records if r[2] is not None},
            "people": Counter(p[0] for p in people), "devices": {d[0]: d[1] for d in devices}}


def test_release_0_1_0_laptop_and_registry_upgrade_in_place_and_keep_syncing_exactly_once(tmp_path):
    expected = json.loads((SAMPLE / "expected.json").read_text(encoding="utf-8"))
    assert expected["release"] == "0.1.0"
    groups = {k: list(v) for k, v in expected["groups"].items()}
    laptop = Laptop(_install(SAMPLE / "laptop", tmp_path / "laptop"), tmp_path, expected["passwords"])
    reg_dir = _install(SAMPLE / "registry", tmp_path / "registry")
    device_id = expected["device_id"]
    held_before = {rid for ids in expected["registry"]["ids"].values() for rid in ids}
    open_batch = expected["spool"]["open_batches"][0]
    assert set(open_batch["record_ids"]) == set(groups["open_batch"]) and set(open_batch["record_ids"]) <= held_before

    # the registry of this release on the old data folder, on a new port, behind a fault proxy on the old one
    registry = Registry(reg_dir, register_delay=0, port=free_port())
    try:
        proxy = FaultProxy(registry.port, port=expected["registry_port"])
    except OSError:
        pytest.skip(f"loopback port {expected['registry_port']} is taken: the sample laptop knows its registry "
                    f"only as {expected['registry_url']}")
    try:
        registry.start()
        _upgrade_and_sync(laptop, registry, reg_dir, proxy, expected, groups, device_id, held_before)
    finally:
        proxy.close()
        registry.stop()


def _upgrade_and_sync(laptop, registry, reg_dir, proxy, expected, groups, device_id, held_before):
    # 1. the registry's schema migration kept what it held: the device, every record
    devices = json.loads(registry.cli("devices"))
    assert device_id in json.dumps(devices)
    held = _registry_db(reg_dir)
    assert set(held["per_record"]) == held_before
    assert held["devices"].get(device_id, "absent") is None  # enrolled, not revoked

    # 2. the laptop opens with this code (store migrations, upgrade steps): every record, in the state it had
    before = laptop.states("sup")
    want_before = {rid: state for state, ids in expected["store"]["ids"].items() for rid in ids}
    assert before == want_before
    assert laptop("list", "--json", user="ow").returncode == 0  # the outreach worker still logs in

    # 3. sync through faults: an answer lost after the registry committed, a cut request, a slow answer, a busy probe
    lost = proxy.add("drop_response", path="/v1/batches", count=1)
    cut = proxy.add("reset", path="/v1/batches", count=1)
    proxy.add("delay", path="/v1/batches", seconds=0.5, count=2)
    proxy.add("status", path="/v1/health", method="GET", status=503, retry_after="1", count=1)
    laptop.sync_until_empty()
    assert lost.applied == 1 and cut.applied == 1  # the faults happened (the open batch and the unsent queue went)
    sent_before_review = [r for g in ("registered", "synced", "open_batch", "queued_unsent") for r in groups[g]]
    laptop.sync_until_registered(sent_before_review)

    # 4. the supervisor approves what was waiting for review; it goes the same way
    out = laptop("review", "--approve-all", user="sup")
    assert out.returncode == 0, out.stderr
    proxy.add("drop_response", path="/v1/batches", count=1)
    laptop.sync_until_empty()
    sent = [r for g in SEND for r in groups[g]]
    states = laptop.sync_until_registered(sent)

    # 5. nothing lost on the laptop: every record there, the rest in the state it had
    assert set(states) == set(want_before)
    for group, state in KEEP.items():
        assert {states[r] for r in groups[group]} == {state}, group
    assert {states[r] for r in sent} == {"registered"}
    assert laptop("verify", user="sup").returncode == 0
    listed = laptop("list", "--json", user="ow")
    assert listed.returncode == 0
    # every registered record holds its member number, those registered before the upgrade included
    members = {r["id"]: r["member_no"] for r in json.loads(listed.stdout)}
    missing = {g: sum(1 for r in groups[g] if not members[r]) for g in SEND}
    assert all(members[r] and members[r].startswith("KH-REG-") for r in sent), missing
    assert len({members[r] for r in sent}) == len(sent)
    old_card = laptop.data_dir.parent / "registered-before-the-upgrade.pdf"  # the registry signed its card too
    out = laptop("card", groups["registered"][0], "--out", old_card, user="ow")
    assert out.returncode == 0 and old_card.read_bytes().startswith(b"%PDF"), out.stdout + out.stderr

    # 6. exactly once at the registry: one record row and one person per record, none a duplicate, nothing else
    registry.stop()
    db = _registry_db(reg_dir)
    assert set(db["per_record"]) == set(sent) and set(db["per_record"].values()) == {1}
    assert {db["state"][r] for r in sent} == {"registered"} and not db["duplicate_of"]
    assert set(db["people"]) == set(sent) and set(db["people"].values()) == {1}
    assert db["devices"] == {device_id: None}
    exported = registry.export_counts()  # the registry's own export: one line per person
    assert set(exported) == set(sent) and set(exported.values()) == {1}
