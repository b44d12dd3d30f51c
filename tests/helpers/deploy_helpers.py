"""Helpers of the deployment tests: a runner for the entry script or the frozen program, signed provisioning files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "installers" / "entry.py"
PASSWORD = "correct horse battery"
OUTREACH_PASSWORD = "outreach pass 1"
SAMPLES = ROOT / "tests" / "samples"
SAMPLE_PASSWORDS = {"sup": "sample supervisor", "ow": "sample outreach"}


class Runner:
    """Runs fieldapp against one data folder, with its logs in ``log_dir``.

    With ``exe`` (the frozen program) the environment is clean, as after ``env -i``: only QT_QPA_PLATFORM, LANG
    and the FIELDAPP_* variables the command needs. Without, ``python installers/entry.py`` from the venv.
    """

    def __init__(self, data_dir: Path, log_dir: Path, exe: Path | None = None):
        self.data_dir, self.log_dir, self.exe = Path(data_dir), Path(log_dir), exe

    def env(self, **extra) -> dict:
        base = {"QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8"}
        if self.exe is None:
            base = {k: v for k, v in os.environ.items() if not k.startswith("FIELDAPP_")}
            base.update({"PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"})
        base.update({"FIELDAPP_DATA_DIR": str(self.data_dir), "FIELDAPP_LOG_DIR": str(self.log_dir),
                     "FIELDAPP_KDF_TARGET_MS": "0", "FIELDAPP_LANG": "en",
                     "FIELDAPP_PROVISIONING_FILE": str(self.data_dir.parent / "no-machine-provisioning.json")})
        base.update({k: str(v) for k, v in extra.items()})
        return base

    def __call__(self, *args, password: str | None = PASSWORD, new_password: str | None = None, check: bool = False,
                 timeout: float = 300, **env) -> subprocess.CompletedProcess:
        extra = dict(env)
        if password is not None:
            extra["FIELDAPP_PASSWORD"] = password
        if new_password is not None:
            extra["FIELDAPP_NEW_PASSWORD"] = new_password
        cmd = [str(self.exe)] if self.exe else [sys.executable, str(ENTRY)]
        proc = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, env=self.env(**extra),
                              stdin=subprocess.DEVNULL, timeout=timeout, cwd=self.data_dir.parent)
        if check and proc.returncode != 0:
            raise AssertionError(f"fieldapp {args} exited {proc.returncode}: {proc.stderr[-2000:]}")
        assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
        return proc

    def json(self, *args, **kw):
        return json.loads(self(*args, check=True, **kw).stdout)


def payload(url: str, seal: str, sign: str, **over) -> dict:
    """An unsigned provisioning document with every setting (override any with keyword arguments)."""
    doc = {"format": "fieldapp-provisioning", "version": 1, "label": "Kampong Cham rollout, wave 1",
           "issued_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "registry": {"url": url, "seal_public_key": seal, "sign_public_key": sign, "pins": []},
           "defaults": {"province": "03", "district": "0301", "commune": "030101"},
           "language": "km", "idle_minutes": 15, "sync": {"auto": True, "interval_minutes": 30}}
    doc.update(over)
    return doc


def registry_keys(registry) -> tuple[str, str]:
    info = json.loads(registry.cli("keys"))
    return info["seal_public_key"], info["sign_public_key"]


def write_signed(path: Path, doc: dict, private_key_file: Path) -> Path:
    from fieldapp.cli import deploy as cli_deploy

    unsigned = path.with_suffix(".unsigned.json")
    unsigned.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    cli_deploy.sign_file(private_key_file, unsigned, path)
    return path


def copy_sample(version: int, target: Path) -> dict:
    """A copy of the sample store of schema ``version``; returns its expected.json."""
    import shutil

    src = SAMPLES / f"schema-v{version}"
    shutil.copytree(src, target, ignore=shutil.ignore_patterns("expected.json"))
    return json.loads((src / "expected.json").read_text())


def queue_items(data_dir: Path, n: int) -> dict:
    """Put ``n`` sealed synthetic records into the spool (as a registered laptop would have); returns
    {record_id: sealed JSON} as stored."""
    from fieldapp.outbound import wire
    from fieldapp.outbound.spool import Spool
    from fieldapp.domain.synthetic import make_records

    keys = wire.new_registry_keys()
    seal_public = keys["seal_public"]
    device_private, _public = wire.new_device_keys()
    items = []
    for rec in make_records(n, seed=77):
        rid = str(uuid.uuid4())
        items.append({"record_id": rid, "sealed": wire.seal_record(
            rec, record_id=rid, device_id="dev-upgrade-test", enrolled_on=date.today().isoformat(),
            seal_public=seal_public, device_private=device_private)})
    with Spool(data_dir) as spool:
        spool.add(items)
    return spool_snapshot(data_dir)


def spool_snapshot(data_dir: Path) -> dict:
    import sqlite3

    conn = sqlite3.connect(f"file:{Path(data_dir) / 'spool.db'}?mode=ro", uri=True)
    try:
        return {rid: (sealed, state) for rid, sealed, state in conn.execute("SELECT record_id, sealed, state FROM items")}
    finally:
        conn.close()


def schema_of(data_dir: Path, user: str, password: str) -> int:
    """The schema version of the database file, read with the database key from ``user``'s slot (no migration).
    ``SlotFile.unlock`` returns a ``Keys`` (database key, approval key, ...), not the key's bytes."""
    from fieldapp.store import migrations
    from fieldapp.store.dbapi import open_encrypted
    from fieldapp.store.keyslots import SlotFile

    key = SlotFile.load(Path(data_dir) / "keyslots.json").unlock(user, password).db_key
    conn = open_encrypted(str(Path(data_dir) / "fieldapp.db"), key)
    try:
        return migrations.current_version(conn)
    finally:
        conn.close()
