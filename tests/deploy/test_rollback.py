"""Upgrades keep queued records; ``rollback`` / ``restore-backup`` put the pre-upgrade database back, safely."""

from __future__ import annotations

import json

import pytest

from helpers.deploy_helpers import SAMPLE_PASSWORDS, Runner, copy_sample, queue_items, schema_of, spool_snapshot
from fieldapp.store import migrations

SUP = SAMPLE_PASSWORDS["sup"]


@pytest.fixture
def upgraded(tmp_path):
    """A copy of the schema-1 sample with 12 queued items in its spool, opened (so upgraded) once."""
    data = tmp_path / "data"
    expected = copy_sample(1, data)
    queued = queue_items(data, 12)
    run = Runner(data, tmp_path / "logs")
    status = run.json("status", "--user", "sup", "--json", password=SUP)
    assert status["total"] == expected["records"] and status["counts"]["approved"] == expected["approved"]
    assert schema_of(data, "sup", SUP) == migrations.LATEST
    assert spool_snapshot(data) == queued  # every queued item, byte for byte, still queued
    return run, data, queued


def test_rollback_restores_the_pre_upgrade_database_and_keeps_the_spool(upgraded):
    run, data, queued = upgraded
    backups = sorted((data / "backups").glob("fieldapp.db.v1.*.bak"))
    assert len(backups) == 1
    assert json.loads((data / "keyslots.json").read_text())["version"] == 2  # rewritten by the first login
    out = run("rollback", "--user", "sup", password=SUP)
    assert out.returncode == 0, out.stderr
    assert "schema version 1" in out.stdout
    assert schema_of(data, "sup", SUP) == 1
    # the key slots go back with the database: release 0.1.0 reads only version 1 slot files
    assert json.loads((data / "keyslots.json").read_text())["version"] == 1
    assert list((data / "backups").glob("fieldapp.db.replaced.*.bak"))  # the upgraded file is kept aside
    assert spool_snapshot(data) == queued
    # this release opens it again (upgrading it again, with a new backup)
    assert run.json("status", "--user", "sup", "--json", password=SUP)["total"] == 37
    run("verify", "--user", "sup", password=SUP, check=True)


def test_rollback_refuses_to_drop_later_changes_unless_forced(upgraded):
    run, data, _queued = upgraded
    run("review", "--user", "sup", "--approve-all", password=SUP, check=True)  # work done after the upgrade
    out = run("rollback", "--user", "sup", password=SUP)
    assert out.returncode == 1 and "would be lost" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert schema_of(data, "sup", SUP) == migrations.LATEST
    out = run("rollback", "--user", "sup", "--force", password=SUP)
    assert out.returncode == 0 and schema_of(data, "sup", SUP) == 1


def test_rollback_checks_the_password_role_and_backup(upgraded, tmp_path):
    run, data, _queued = upgraded
    assert run("rollback", "--user", "sup", password="wrong password").returncode == 1
    out = run("rollback", "--user", "ow", password=SAMPLE_PASSWORDS["ow"])
    assert out.returncode == 1 and "supervisor" in out.stderr
    junk = tmp_path / "junk.bak"
    junk.write_bytes(b"\0" * 4096)
    out = run("restore-backup", junk, "--user", "sup", password=SUP)
    assert out.returncode == 1 and "cannot be opened" in out.stderr
    assert schema_of(data, "sup", SUP) == migrations.LATEST
    backup = next((data / "backups").glob("fieldapp.db.v1.*.bak"))
    out = run("restore-backup", backup, "--user", "sup", password=SUP)
    assert out.returncode == 0 and schema_of(data, "sup", SUP) == 1


def test_rollback_without_backup_says_so(tmp_path):
    data = tmp_path / "data"
    copy_sample(migrations.LATEST, data)
    out = Runner(data, tmp_path / "logs")("rollback", "--user", "sup", password=SUP)
    assert out.returncode == 1 and "no pre-upgrade backup" in out.stderr
