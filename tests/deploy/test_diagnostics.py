"""Logs live in the platform's log folder, and neither they nor the diagnostics archive hold personal data."""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
import zipfile
from pathlib import Path

import pytest

from helpers.deploy_helpers import OUTREACH_PASSWORD, PASSWORD, Runner
from fieldapp.base import logs, paths
from fieldapp.domain.synthetic import make_records
from helpers.planted import needles_of, scan


@pytest.mark.parametrize("platform,env,expected", [
    ("linux", {"XDG_STATE_HOME": "/xdg/state"}, "/xdg/state/fieldapp/logs"),
    ("linux", {}, "~/.local/state/fieldapp/logs"),
    ("win32", {"LOCALAPPDATA": "/c/Users/x/AppData/Local"}, "/c/Users/x/AppData/Local/fieldapp/Logs"),
    ("darwin", {}, "~/Library/Logs/fieldapp"),
])
def test_log_folder_per_platform(monkeypatch, platform, env, expected):
    for name in ("XDG_STATE_HOME", "LOCALAPPDATA", "FIELDAPP_LOG_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "platform", platform)
    assert paths.resolve_log_dir() == Path(os.path.expanduser(expected))
    monkeypatch.setenv("FIELDAPP_LOG_DIR", "/var/tmp/fa-logs")
    assert paths.resolve_log_dir() == Path("/var/tmp/fa-logs")


def test_setup_writes_an_owner_only_rotating_log_and_scrubs(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDAPP_LOG_DIR", str(tmp_path / "logs"))
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        path = logs.setup()
        logging.getLogger("fieldapp.test").warning("careless line: 012 345 678 / 123456789 / សុខ ដារា / a@b.org")
        for h in root.handlers:
            h.flush()
        text = path.read_text(encoding="utf-8")
    finally:
        for h in root.handlers[:]:
            if h not in before:
                root.removeHandler(h)
                h.close()
        logs._configured.discard(str(tmp_path / "logs"))
    assert path == tmp_path / "logs" / "fieldapp.log"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "careless line" in text and "345" not in text and "123456789" not in text and "សុខ" not in text
    assert "a@b.org" not in text


def test_scrub_keeps_identifiers_and_masks_data_shapes():
    line = ("record 3f2a1b4c-1111-2222-3333-444455556666 batch 9f86d081884c7d659a2feaa0c55ad015 at "
            "2026-11-25T13:22:01+00:00: 12 items, id 012345678, +855 12 345 678, 855-12-345-678")
    out = logs.scrub(line)
    assert "3f2a1b4c-1111-2222-3333-444455556666" in out and "9f86d081884c7d659a2feaa0c55ad015" in out
    assert "2026-11-25T13:22:01+00:00" in out and "12 items" in out
    assert "012345678" not in out and "345 678" not in out and "345-678" not in out


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """A store with 40 planted records imported and approved, then diagnostics with and without unlock."""
    tmp = tmp_path_factory.mktemp("diag")
    run = Runner(tmp / "data", tmp / "logs")
    run("init", "--user", "sup", "--full-name", "Supervisor", new_password=PASSWORD, check=True)
    run("user", "add", "--user", "sup", "--new-user", "ow", "--role", "outreach", new_password=OUTREACH_PASSWORD,
        check=True)
    recs = make_records(40, seed=404)
    src = tmp / "import" / "people.jsonl"
    src.parent.mkdir()
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    run("import", "--user", "ow", src, password=OUTREACH_PASSWORD, check=True)
    run("review", "--user", "sup", "--approve-all", check=True)
    run("backup", "--user", "sup", "--out", tmp / "office.fieldapp-backup", check=True)
    run("diagnostics", "--out", tmp / "locked.zip", check=True)
    run("diagnostics", "--out", tmp / "unlocked.zip", "--user", "sup", check=True)
    return run, tmp, recs


def test_archives_and_logs_hold_no_personal_data(workflow):
    run, tmp, recs = workflow
    needles = needles_of(recs)
    assert len(needles) > 100
    assert scan([tmp / "locked.zip", tmp / "unlocked.zip", tmp / "logs", tmp / "data", tmp / "office.fieldapp-backup"],
                needles) == []
    for name in ("locked.zip", "unlocked.zip"):
        assert stat.S_IMODE((tmp / name).stat().st_mode) == 0o600


def test_archive_contents(workflow):
    _run, tmp, _recs = workflow
    with zipfile.ZipFile(tmp / "unlocked.zip") as zf:
        names = set(zf.namelist())
        assert {"manifest.json", "versions.json", "settings.json", "store.json", "sync.json"} <= names
        store = json.loads(zf.read("store.json"))
        versions = json.loads(zf.read("versions.json"))
        settings = json.loads(zf.read("settings.json"))
        text = "".join(zf.read(n).decode("utf-8") for n in names)
    assert store["unlocked"] and store["schema_version"] == store["latest_schema"]
    assert store["records_by_state"]["approved"] == 40 and store["verify_problems"] == []
    assert store["users_by_role"] == {"outreach": 1, "supervisor": 1}
    assert store["key_slots"]["password_slots"] == 2 and "fieldapp.db" in store["files"]["files"]
    assert store["key_slots"]["recovery_escrow_matches"] is None  # no recovery key was set here
    assert store["last_backup_at"] and store["last_backup_at"] <= versions.get("generated_at", "9999")
    assert versions["sqlcipher"] and versions["python"] and versions["fieldapp"]
    assert settings["desktop"]["last_user"] in (True, False)
    assert "Supervisor" not in text and "correct horse" not in text
    assert any(n.startswith("logs/") for n in names)
    with zipfile.ZipFile(tmp / "locked.zip") as zf:
        store = json.loads(zf.read("store.json"))
    assert not store["unlocked"] and "records_by_state" not in store


def test_careless_log_lines_are_redacted(workflow):
    run, tmp, recs = workflow
    rec = recs[3]
    line = (f"oops {rec['family_name']} {rec['given_name']} {rec['national_id']} {rec.get('phone') or ''} "
            f"{rec.get('family_name_latin') or ''}\n")
    with open(tmp / "logs" / "fieldapp.log", "a", encoding="utf-8") as fh:
        fh.write(line)
    run("diagnostics", "--out", tmp / "careless.zip", "--user", "sup", check=True)
    assert scan([tmp / "careless.zip"], needles_of([rec])) == []
    run("diagnostics", "--out", tmp / "careless-locked.zip", check=True)  # patterns only: IDs, phones, Khmer
    latin = {k: v for k, v in needles_of([rec]).items() if not k.endswith("_latin") and "full_name" not in k}
    assert scan([tmp / "careless-locked.zip"], latin) == []
    out = run("diagnostics", "--out", tmp / "careless.zip")
    assert out.returncode == 1 and "exists already" in out.stderr
