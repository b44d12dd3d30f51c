"""Upgrading a release 0.1.0 registry (schema version 1) in place: the frozen sample and a richer written one,
on SQLite and PostgreSQL; idempotent; several processes starting at once upgrade it once."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.registry_client import Device, make_record
from helpers.registry_v1 import V1Writer, copy_v1, table_counts

from fieldapp.outbound import wire

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "samples" / "release-0.1.0"
TABLES = ("devices", "enrollment_codes", "people", "records", "rejections", "batches")


def v1_folder(src: Path, dest: Path, url: str | None) -> dict:
    """A copy of a version 1 data folder; with ``url`` its database moves to PostgreSQL. Returns the row counts."""
    shutil.copytree(src, dest)
    os.chmod(dest, 0o700)
    counts = table_counts(dest / "registry.db")
    if url:
        copy_v1(dest / "registry.db", url)
        (dest / "registry.db").unlink()
    return counts


def rows(server, sql: str, params=()) -> list:
    return server.db().run(lambda tx: tx.execute(sql, params), write=False)


def check_upgraded(server, before: dict) -> None:
    after = {t: server.count(f"SELECT COUNT(*) FROM {t}") for t in TABLES}
    assert after == {t: before[t] for t in TABLES}
    assert rows(server, "SELECT value FROM meta WHERE key = 'schema_version'") == [("3",)]
    assert server.count("SELECT COUNT(*) FROM records WHERE content_mac IS NULL") == 0
    assert server.count("SELECT COUNT(*) FROM people WHERE device_id IS NULL") == 0
    for (item,) in rows(server, "SELECT item FROM records"):
        assert "content_hash" not in json.loads(item)  # wrapped: no clear hash of any record left


def test_release_010_sample_upgrades_in_place(make_server, new_database_url, tmp_path):
    expected = json.loads((SAMPLE / "expected.json").read_text())
    url = new_database_url()
    data = tmp_path / "registry"
    before = v1_folder(SAMPLE / "registry", data, url)
    spool = sqlite3.connect(SAMPLE / "laptop" / "spool.db")
    open_batch = spool.execute("SELECT idempotency_key, body FROM batches WHERE state = 'open'").fetchone()
    unsent = [json.loads(r[0]) for r in spool.execute("SELECT sealed FROM items WHERE state = 'queued' AND batch_id "
                                                      "IS NULL")]
    spool.close()
    stored = sqlite3.connect(SAMPLE / "registry" / "registry.db")
    kept_receipt = stored.execute("SELECT receipt FROM batches WHERE idempotency_key = ?", (open_batch[0],)).fetchone()
    registry_ids = dict(stored.execute("SELECT record_id, registry_id FROM records"))
    stored.close()
    server = make_server("--register-delay", "0", data_dir=data, database_url=url)
    check_upgraded(server, before)
    laptop = json.loads((SAMPLE / "laptop" / "device.json").read_text())
    dev = Device.existing(server, laptop["device_id"], wire.b64d(laptop["device_private_key"]))
    # the open batch whose answer was lost: its stored receipt comes back byte for byte
    r = dev.post(open_batch[1], key=open_batch[0])
    assert r.status_code == 200 and r.content == wire.canonical_json(json.loads(kept_receipt[0]))
    # what the laptop still has to send, sealed by release 0.1.0, goes in as before
    body = dev.body(unsent)
    assert {x["status"] for x in dev.verified(dev.post(body), body)["results"]} == {"accepted"}
    # a resend of what the registry held before the upgrade is a duplicate (content MACs backfilled)
    held = [json.loads(i) for (i,) in rows(server, "SELECT item FROM records WHERE device_id = ? LIMIT 5",
                                           (dev.device_id,))]
    from registry.sealed import wire_form

    body = dev.body([wire_form(i, _keys(data)) for i in held])
    again = dev.verified(dev.post(body), body)["results"]
    assert [(x["status"], x["registry_id"]) for x in again] == [("duplicate", registry_ids[i["record_id"]])
                                                                 for i in held]
    feed = {x["record_id"]: x for x in dev.status(since="0")["records"]}
    assert all(feed[rid]["registry_id"] == registry_ids[rid] for rid in registry_ids)
    assert set(expected["registry"]["ids"]["registered"]) <= set(feed)
    lines = server.cli("export", "--format", "jsonl")
    assert len(lines.stdout.splitlines()) == before["people"] + len(unsent)
    assert json.loads(lines.stderr.strip().splitlines()[-1])["failed"] == 0


def _keys(data: Path):
    from registry import keys

    return keys.load_or_create(data)


def written_v1(path: Path) -> dict:
    """Two laptops of release 0.1.0 (one since revoked), a cross-device national-ID match (first-wins, as 0.1.0
    did), a rejection, two receipts. Returns what the tests need."""
    w = V1Writer(path)
    a, b, gone = w.device(), w.device(), w.device(revoked=True)
    recs_a = [make_record() for _ in range(4)]
    twin = make_record(national_id=recs_a[0]["national_id"])
    bad = make_record()
    batch_a = w.batch(a, recs_a + [bad], invalid=(4,))
    batch_b = w.batch(b, [twin, make_record()])
    w.batch(gone, [make_record()])
    w.close()
    return {"a": a, "b": b, "recs_a": recs_a, "twin": twin, "bad": bad, "batches": [(a, batch_a), (b, batch_b)]}


def test_written_v1_database_upgrades_with_everything_kept(make_server, new_database_url, tmp_path):
    url = new_database_url()
    made = written_v1(tmp_path / "v1")
    before = v1_folder(tmp_path / "v1", tmp_path / "registry", url)
    server = make_server("--register-delay", "0", data_dir=tmp_path / "registry", database_url=url)
    check_upgraded(server, before)
    a = Device.existing(server, made["a"][0], made["a"][1])
    b = Device.existing(server, made["b"][0], made["b"][1])
    for (device_id, _), batch in made["batches"]:
        dev = a if device_id == a.device_id else b
        r = dev.post(batch["body"], key=batch["key"])
        assert r.status_code == 200 and r.content == wire.canonical_json(batch["envelope"])
    by_id = {x["record_id"]: x for x in a.status(since="0")["records"]}
    assert by_id[made["bad"]["record_id"]]["reason"] == "invalid_record"
    first = by_id[made["recs_a"][0]["record_id"]]["registry_id"]
    twin = b.status([made["twin"]["record_id"]])["records"][0]  # 0.1.0's first-wins answer is history: kept
    assert (twin["state"], twin["registry_id"], twin.get("duplicate")) == ("registered", first, True)
    got = a.verified(*a.send(made["recs_a"][:2] + [dict(made["recs_a"][2], notes="changed")]))["results"]
    assert [x["status"] for x in got] == ["duplicate", "duplicate", "conflict"]
    assert a.register_approval_key(wire.new_device_keys()[0]).json()["state"] == "registered"
    got = a.verified(*a.send([made["recs_a"][3]]))["results"]  # sealed again as version 2: still a duplicate
    assert (a.version, got[0]["status"]) == (2, "duplicate")
    late = make_record(national_id=made["recs_a"][1]["national_id"])  # from now on: held, not first-wins
    assert b.verified(*b.send([late]))["results"][0] == {"record_id": late["record_id"], "status": "accepted"}
    assert b.status([late["record_id"]])["records"][0]["state"] == "held"
    server.proc.terminate()
    server.proc.wait(15)
    again = make_server(data_dir=tmp_path / "registry", database_url=url)  # a second start changes nothing
    assert again.count("SELECT COUNT(*) FROM records") == before["records"] + 1  # + the held one


def test_processes_starting_together_upgrade_once(new_database_url, tmp_path):
    url = new_database_url()
    written_v1(tmp_path / "v1")
    before = v1_folder(tmp_path / "v1", tmp_path / "registry", url)
    cmd = [sys.executable, "-m", "registry", "enrollment-code", "--data-dir", str(tmp_path / "registry")]
    cmd += ["--database-url", url] if url else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDAPP_")}
    env["PYTHONPATH"] = str(ROOT)
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-800:] for o in outs]
    assert sum(o[1].count('"schema_upgraded"') for o in outs) == 1
    from registry.config import Settings
    from registry.storage import open_database

    db = open_database(Settings(data_dir=tmp_path / "registry", database_url=url))
    try:
        counts = db.run(lambda tx: {t: tx.one(f"SELECT COUNT(*) FROM {t}")[0] for t in TABLES}, write=False)
    finally:
        db.close()
    assert counts == {**{t: before[t] for t in TABLES}, "enrollment_codes": before["enrollment_codes"] + 4}


def test_other_keys_or_a_newer_schema_leave_the_database_untouched(tmp_path):
    from registry.config import Settings
    from registry.schema import SchemaTooNew
    from registry.storage import KeyMismatch, open_database

    written_v1(tmp_path / "v1")
    stranger = tmp_path / "stranger"
    stranger.mkdir(mode=0o700)
    shutil.copy(tmp_path / "v1" / "registry.db", stranger / "registry.db")  # a database without its keys
    with pytest.raises(KeyMismatch):
        open_database(Settings(data_dir=stranger))
    assert table_counts(stranger / "registry.db")["records"] == table_counts(tmp_path / "v1" / "registry.db")["records"]
    conn = sqlite3.connect(stranger / "registry.db")
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
    conn.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew):
        open_database(Settings(data_dir=stranger))
