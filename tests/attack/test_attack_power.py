"""Power loss, modelled by SIGKILL at random points: during saves and approvals, during a schema upgrade, during sync.

tests/test_crash.py kills ``crash_writer.py`` ~30 times during saves and approvals without a device. Here:

- saves, submits, returns and approvals on a *registered* laptop, so each approval also seals the record into the
  outbox and publishes it to the spool: a kill between the approval's commit and the publish must be repaired by
  the next unlock (every approved record in the spool exactly once);
- the schema upgrade of the released v1 sample store (backup, then three migrations), killed at random times,
  sometimes twice in a row: it always opens, verifies and holds every record, and every backup file is either a
  whole copy or refused (never a silently partial restore);
- ``python -m sync sync`` and ``python -m fieldapp sync`` killed at random points against a real registry behind
  a slow proxy (some kills of real fresh processes, most of children of a warm fork server, see attack_forker.py);
  after every kill the spool is intact and complete, and finishing the sync gives every record exactly once at the
  registry and synced locally.

``FIELDAPP_ATTACK_SCALE`` multiplies the kill counts (defaults: 70 + 100 copies (~130 kills) + 60 = ~260 kills).
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from helpers.attack_tools import PY, ROOT, Forker, assert_exactly_once_at, case, cli_env, scaled

from helpers.clitools import PASSWORD
from fieldapp.outbound import device as device_file
from fieldapp.store import migrations, records
from fieldapp import services
from fieldapp.outbound import outbox, wire
from fieldapp.store.dbapi import open_encrypted
from fieldapp.store.keyslots import SlotFile
from fieldapp.outbound.spool import Spool
from fieldapp.store.database import Store
from fieldapp.domain.synthetic import make_records
from fieldapp.store.verify import verify

SAMPLES = ROOT / "tests" / "samples"
WRITER_KILLS = scaled(70)
MIGRATION_KILLS = scaled(100)
SYNC_KILLS = scaled(60)


@pytest.fixture(scope="module")
def forker(tmp_path_factory):
    f = Forker(cli_env(FIELDAPP_LOG_DIR=str(tmp_path_factory.mktemp("forklogs"))))
    yield f
    f.close()


def spool_intact(data_dir: Path) -> Counter:
    """PRAGMA integrity_check on spool.db (opened as the next process would: WAL recovery), items by state."""
    if not (data_dir / "spool.db").exists():
        return Counter()
    conn = sqlite3.connect(str(data_dir / "spool.db"))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    with Spool(data_dir) as spool:
        return Counter({k: v for k, v in spool.counts().items() if v})


def fake_device(data_dir: Path) -> None:
    """A device identity without a registry, recorded in the store as registration does: enough for approvals to
    seal (no network in this test)."""
    from fieldapp.outbound import identity

    private, public = wire.new_device_keys()
    keys = wire.new_registry_keys()
    with services.open_session(data_dir, "sup", PASSWORD) as session:
        identity.adopt(session, device_file.Device(
        device_id="dev-power-test", server_url="http://127.0.0.1:9", device_private_key=wire.b64e(private),
        device_public_key=wire.b64e(public), registry_seal_public_key=wire.b64e(keys["seal_public"]),
        registry_sign_public_key=wire.b64e(keys["sign_public"]), registered_at="2024-05-01T00:00:00+00:00"))


# ---------------------------------------------------------------- saves and approvals on a registered laptop
@pytest.mark.slow
def test_sigkill_during_saves_and_approvals_with_sealing_and_publishing(forker, tmp_path):
    data = tmp_path / "data"
    with Store(data).create("sup", PASSWORD) as s:
        key, approval = s.key, s.approval_key
    fake_device(data)
    rng = random.Random(20251125)
    saved, approved, published, returned = set(), set(), set(), set()
    landed = Counter()
    with case("power loss: saves, submits, returns, approvals + sealing + spool publish (fork-server SIGKILL)",
              "after each kill: verify() clean (pages, integrity, audit chain, slots, outbox); every reported save "
              "present; every reported approval queued with its sealed copy; after the unlock's repair every "
              "queued record in spool.db exactly once and spool.db passes integrity_check") as c:
        for i in range(WRITER_KILLS):
            run = forker.run("writer", data_dir=str(data), key=key.hex(), approval=approval.hex(), user="sup", seed=i,
                             ops=["import", "import", "draft", "approve", "approve", "return"])
            assert run.pump("ready", timeout=60), run.events
            run.kill_after(rng.uniform(0.0, 0.35))
            assert not [e for e in run.events if e.startswith("error")], run.events
            saved |= set(run.words("saved"))
            approved |= set(run.words("approved"))
            published |= set(run.words("published"))
            returned |= set(run.words("returned"))
            last = run.events[-1].split()[0] if run.events else "ready"
            landed[last] += 1
            with Store(data).open_with_key(key, "sup", approval) as session:
                unpublished = session.conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0]
                landed["outbox_left_unpublished"] += bool(unpublished)
                outbox.refresh(session)  # what the next unlock does
                problems = verify(session)
                assert problems == [], f"kill {i}: {problems}"
                state = dict(session.conn.execute("SELECT id, state FROM records"))
                sealed = {r[0] for r in session.conn.execute("SELECT record_id FROM outbox")}
                assert session.conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0] == 0
            assert saved <= state.keys(), f"kill {i}: {len(saved - state.keys())} reported saves lost"
            assert all(state[r] == "queued" for r in approved), f"kill {i}: an approval was lost"
            assert approved <= sealed and {r for r, s in state.items() if s == "queued"} == sealed
            assert all(state[r] == "returned" for r in returned - approved)
            in_spool = spool_intact(data)
            with Spool(data) as spool:
                spooled = spool.states()
            assert set(spooled) == sealed, f"kill {i}: spool and outbox differ"
            assert sum(in_spool.values()) == len(sealed)
            c.runs += 1
        c.checked += f" [{len(saved)} saves, {len(approved)} approvals reported; last event before the kill: " \
                     f"{dict(landed)}]"
    assert len(saved) > WRITER_KILLS and len(approved) > WRITER_KILLS // 3
    assert landed["outbox_left_unpublished"] > 0 or WRITER_KILLS < 40, dict(landed)


# ---------------------------------------------------------------- the schema upgrade
def _sample_records(key: bytes) -> dict:
    conn = open_encrypted(str(SAMPLES / "schema-v1" / "fieldapp.db"), key)
    try:
        return dict(conn.execute("SELECT id, data FROM records").fetchall())
    finally:
        conn.close()


def _on_disk_version(data: Path, key: bytes) -> int:
    conn = open_encrypted(str(data / "fieldapp.db"), key)
    try:
        return migrations.current_version(conn)
    finally:
        conn.close()


@pytest.mark.slow
def test_sigkill_during_the_schema_upgrade_of_the_v1_sample(forker, tmp_path):
    from fieldapp.cli.deploy import _inspect, backups
    from fieldapp.base.errors import StoreError

    src = SAMPLES / "schema-v1"
    key = SlotFile.load(src / "keyslots.json").unlock("sup", "sample supervisor").db_key
    expected = json.loads((src / "expected.json").read_text())
    before = _sample_records(key)
    rng = random.Random(7)
    seen = Counter()
    partial_backups = 0
    with case("power loss: schema upgrade v1 -> latest of tests/samples/schema-v1 (fork-server SIGKILL, "
              "one or two kills per copy)",
              "after the kill(s) the store opens (finishing the upgrade), verify() is clean, every record of the "
              "sample is there unchanged with its state; each backup file is a whole v1/v2 copy or refused as "
              "unusable; the newest backup is usable for a rollback") as c:
        durations = []
        for k in range(3):  # calibrate: how long does the whole upgrade take here, now?
            data = tmp_path / f"cal{k}"
            shutil.copytree(src, data)
            run = forker.run("migrate", data_dir=str(data), key=key.hex(), user="sup")
            assert run.pump("opening", timeout=60), (k, run.events, run.exited)
            t0 = time.monotonic()
            assert run.wait() == "0"
            durations.append(time.monotonic() - t0)
            shutil.rmtree(data)
        window = sorted(durations)[1] * 1.1
        for i in range(MIGRATION_KILLS):
            data = tmp_path / f"s{i}"
            shutil.copytree(src, data)
            for _ in range(1 if i % 3 else 2):  # every third copy is killed twice before it is checked
                run = forker.run("migrate", data_dir=str(data), key=key.hex(), user="sup")
                assert run.pump("opening", timeout=60), (run.events, run.exited)
                verdict = run.kill_after(rng.uniform(0.0, window))
                c.runs += 1
                if verdict != "killed":
                    seen["finished before the kill"] += 1
                else:
                    n_backups = len(list((data / "backups").glob("*.bak"))) if (data / "backups").exists() else 0
                    seen[f"killed at schema v{_on_disk_version(data, key)}, {n_backups} backup file(s)"] += 1
            with Store(data).open_with_key(key, "sup") as session:
                assert migrations.current_version(session.conn) == migrations.LATEST
                assert verify(session) == [], f"copy {i}"
                after = dict(session.conn.execute("SELECT id, data FROM records").fetchall())
                counts = records.counts(session)
            assert after == before, f"copy {i}: records changed or lost"
            assert all(counts[s] == expected[s] for s in ("approved", "returned", "rejected", "submitted", "draft"))
            found = backups(data)
            assert found, f"copy {i}: no backup before the upgrade"
            for n, path in enumerate(found):
                try:
                    info = _inspect(path, key, "sup")
                except StoreError:
                    assert n > 0, f"copy {i}: the newest backup {path.name} is unusable"
                    partial_backups += 1
                    continue
                assert info["version"] < migrations.LATEST and info["supervisor"]
                conn = open_encrypted(str(path), key)
                try:
                    assert dict(conn.execute("SELECT id, data FROM records").fetchall()) == before
                finally:
                    conn.close()
            shutil.rmtree(data)
        c.checked += f" [upgrade takes ~{window * 1000:.0f} ms here; where the kills landed: {dict(sorted(seen.items()))}; " \
                     f"older partial backups refused: {partial_backups}]"
    assert sum(v for k, v in seen.items() if k.startswith("killed at schema v1")) > 0
    assert any(k.startswith("killed at schema v2") for k in seen) or MIGRATION_KILLS < 30


# ---------------------------------------------------------------- sync
@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from helpers.sync_helpers import Registry

    reg = Registry(tmp_path_factory.mktemp("powerreg"), register_delay=0).start()
    yield reg
    reg.stop()


def _approve_more(data: Path, n: int, seed: int) -> list[str]:
    recs = make_records(n, seed=seed)
    for j, r in enumerate(recs):  # one person each: the export then holds every record once
        r["national_id"] = f"{70000000 + seed * 1000 + j:09d}"
    with services.open_session(data, "sup", PASSWORD) as s:  # the unlock adopts the registration it finds
        ids = records.import_records(s, recs)
        services.review(s, ids, "approve")
        outbox.publish(s)
    return ids


@pytest.mark.slow
def test_sigkill_during_sync_then_finish_exactly_once(forker, registry, tmp_path):
    from helpers.faultproxy import FaultProxy
    from sync.engine import Engine
    from helpers.sync_helpers import fast_config
    from sync.registration import register_store

    data = tmp_path / "laptop"
    with Store(data).create("sup", PASSWORD):
        pass
    proxy = FaultProxy(registry.port)
    proxy.add("delay", seconds=0.35, count=None)  # a slow link: kills land while batches are on the wire
    with services.open_session(data, "sup", PASSWORD) as sup:
        register_store(sup, proxy.url, registry.code())
    all_ids = _approve_more(data, 300, seed=1)
    rng = random.Random(99)
    outcomes = Counter()
    real = max(4, SYNC_KILLS // 6)
    try:
        with case("power loss: `python -m sync sync` / `python -m fieldapp sync` SIGKILLed at random points "
                  "(real processes and fork-server children) behind a slow proxy",
                  "after each kill spool.db passes integrity_check and still holds every record (none lost, none "
                  "doubled); finishing the sync: every record exactly once at the registry, synced/registered in "
                  "spool.db and in the store") as c:
            for i in range(SYNC_KILLS):
                with Spool(data) as spool:
                    spool.set_meta("batch_size", 8)  # start small again: many batches, many places to die
                    low = spool.pending_count() < 150
                if low:
                    all_ids += _approve_more(data, 300, seed=100 + i)
                delay = rng.uniform(0.05, 1.2)
                if i < real:  # fresh interpreters, as the brief's commands
                    module = "sync" if i % 2 == 0 else "fieldapp"
                    proc = subprocess.Popen([PY, "-m", module, "sync", "--data-dir", str(data), "--json"],
                                            cwd=ROOT, env=cli_env(), stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
                    try:
                        proc.wait(0.6 + delay)  # ~0.6 s to start the interpreter
                        outcomes["finished before the kill"] += 1
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait(30)
                        outcomes[f"killed python -m {module}"] += 1
                else:
                    if i % 2:
                        run = forker.run("sync", argv=["sync", "--data-dir", str(data), "--json"])
                    else:
                        run = forker.run("cli", argv=["sync", "--data-dir", str(data), "--json"])
                    verdict = run.kill_after(delay)
                    outcomes["killed fork child" if verdict == "killed" else "finished before the kill"] += 1
                c.runs += 1
                counts = spool_intact(data)
                assert sum(counts.values()) == len(all_ids), f"kill {i}: spool holds {counts}, {len(all_ids)} made"
                with Spool(data) as spool:
                    assert set(spool.states()) == set(all_ids)
                    # every frozen batch's items are still queued, and every batch body is intact gzip
                    for batch in spool.open_batches():
                        doc = wire.parse_batch(batch["body"])
                        assert [it["record_id"] for it in doc["items"]] == batch["record_ids"]
            outcomes["batches seen by the registry"] = proxy.count("/v1/batches")
            proxy.clear()
            res = Engine(data, config=fast_config()).run(timeout=180)
            assert res.exit_code == 0, res
            with Store(data).unlock("sup", PASSWORD) as s:
                outbox.refresh(s)  # what every unlock does (CLI and desktop): pull the spool's states back
                states = Counter(st for (st,) in s.conn.execute("SELECT state FROM records"))
            assert set(states) <= {"synced", "registered"} and sum(states.values()) == len(all_ids), states
            assert_exactly_once_at(registry, all_ids)
            c.checked += f" [{len(all_ids)} records; {dict(outcomes)}]"
    finally:
        proxy.close()
    assert outcomes["killed fork child"] + sum(v for k, v in outcomes.items() if k.startswith("killed python")) \
        >= SYNC_KILLS // 2, dict(outcomes)
