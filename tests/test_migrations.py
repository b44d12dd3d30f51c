"""Upgrades: a store of every released schema version opens, is backed up, migrates and keeps every record."""

import json
import shutil
from pathlib import Path

import pytest

from fieldapp.store import audit, migrations, records
from fieldapp.store.dbapi import open_encrypted
from fieldapp.store.keyslots import SlotFile
from fieldapp.store.database import Store
from fieldapp.store.verify import verify

SAMPLES = Path(__file__).parent / "samples"
VERSIONS = sorted(int(p.name.split("-v")[1]) for p in SAMPLES.glob("schema-v*"))
PASSWORD = {"sup": "sample supervisor", "ow": "sample outreach"}


def test_every_released_version_has_a_sample():
    assert VERSIONS == [m[0] for m in migrations.MIGRATIONS]


@pytest.mark.parametrize("version", VERSIONS)
def test_upgrade_from_sample(tmp_path, version):
    data = tmp_path / "data"
    shutil.copytree(SAMPLES / f"schema-v{version}", data)
    expected = json.loads((data / "expected.json").read_text())
    key = SlotFile.load(data / "keyslots.json").unlock("sup", PASSWORD["sup"]).db_key
    conn = open_encrypted(str(data / "fieldapp.db"), key)
    assert migrations.current_version(conn) == version
    before = dict(conn.execute("SELECT id, data FROM records").fetchall())
    conn.close()

    with Store(data).unlock("sup", PASSWORD["sup"]) as session:
        assert migrations.current_version(session.conn) == migrations.LATEST
        after = dict(session.conn.execute("SELECT id, data FROM records").fetchall())
        counts = records.counts(session)
        assert verify(session) == []
        assert audit.verify_chain(session.conn) == []
        assert session.is_supervisor and session.approval_key is not None  # the upgrade made the approval key
    assert after == before and len(after) == expected["records"]
    for state in ("approved", "returned", "rejected", "submitted", "draft"):
        assert counts[state] == expected[state]
    backups = list((data / "backups").glob("fieldapp.db.*.bak")) if version < migrations.LATEST else []
    assert len(backups) == (1 if version < migrations.LATEST else 0)
    for backup in backups:  # the backup is the old store, still encrypted with the same key, for a rollback
        old = open_encrypted(str(backup), key)
        assert migrations.current_version(old) == version
        assert dict(old.execute("SELECT id, data FROM records").fetchall()) == before
        old.close()
    # the outreach worker's records and returned reasons survive too
    with Store(data).unlock("ow", PASSWORD["ow"]) as ow:
        first = records.list_records(ow)[0]
        assert first["state"] == "returned" and first["reason"] == "sample return reason"


def test_a_store_from_a_newer_release_is_refused(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SAMPLES / f"schema-v{VERSIONS[-1]}", data)
    with Store(data).unlock("sup", PASSWORD["sup"]) as session:
        session.conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x')")
    with pytest.raises(Exception) as info:
        Store(data).unlock("sup", PASSWORD["sup"])
    assert getattr(info.value, "msg_id", "") == "core.store.too_new"


def test_each_migration_is_atomic(tmp_path, monkeypatch):
    """A migration that fails half-way leaves the store at the previous version, nothing half-applied."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLES / "schema-v1", data)
    broken = migrations.MIGRATIONS + [(99, "broken", "CREATE TABLE half (x);\nCREATE TABLE half (x);")]
    monkeypatch.setattr(migrations, "MIGRATIONS", broken)
    monkeypatch.setattr(migrations, "LATEST", 99)
    with pytest.raises(Exception) as info:
        Store(data).unlock("sup", PASSWORD["sup"])
    assert getattr(info.value, "msg_id", "") == "core.store.migration_failed"
    monkeypatch.undo()
    with Store(data).unlock("sup", PASSWORD["sup"]) as session:
        assert migrations.current_version(session.conn) == migrations.LATEST
        assert not session.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'half'").fetchone()
