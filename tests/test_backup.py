"""`fieldapp backup` / `fieldapp restore` through the real CLI on real files: the round trip, no plaintext in the
backup, and every refusal leaving nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile

import pytest

from helpers.clitools import OUTREACH_PASSWORD, PASSWORD, ROOT, Cli, base_env, write_jsonl
from fieldapp.domain.synthetic import make_records
from helpers.planted import needles_of, scan


class NewLaptop(Cli):
    """A data folder that does not exist yet; its log goes elsewhere (restore wants an empty folder)."""

    def __call__(self, *args, **kw):
        kw.setdefault("FIELDAPP_LOG_DIR", str(self.data_dir.parent / f"{self.data_dir.name}-logs"))
        return super().__call__(*args, **kw)


def one_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.fixture
def backed_up(initialized, tmp_path):
    cli = initialized
    recs = make_records(40, seed=91)
    ids = cli("import", "--user", "ow", write_jsonl(tmp_path / "r.jsonl", recs), password=OUTREACH_PASSWORD,
              check=True).stdout.split()
    cli("review", "--user", "sup", "--approve", *ids[:10], check=True)
    cli("review", "--user", "sup", "--return", ids[10], "--reason-code", "wrong_name", check=True)
    usb = tmp_path / "usb"
    usb.mkdir()
    out = cli("backup", "--user", "sup", "--out", usb / "laptop.fieldapp-backup", "--json", check=True)
    return cli, recs, ids, usb / "laptop.fieldapp-backup", json.loads(out.stdout)


def test_round_trip_onto_a_new_laptop(backed_up, tmp_path):
    cli, recs, ids, archive, manifest = backed_up
    assert manifest["counts"] == {"submitted": 29, "approved": 10, "returned": 1}
    assert set(manifest["files"]) >= {"fieldapp.db", "keyslots.json"}
    before = {r["id"]: r for r in cli.json("list", "--user", "sup", "--json")}
    new = NewLaptop(tmp_path / "new-laptop")
    out = new("restore", archive, "--user", "sup", "--json", check=True)
    assert json.loads(out.stdout)["records"] == 40
    after = {r["id"]: r for r in new.json("list", "--user", "sup", "--json")}
    assert after == before
    assert new("verify", "--user", "sup").returncode == 0
    # the outreach worker's password (as it was at backup time) opens it too, and sees their own records
    assert len(new.json("list", "--user", "ow", "--json", password=OUTREACH_PASSWORD)) == 40
    assert oct((tmp_path / "new-laptop").stat().st_mode & 0o777) == "0o700"


def test_the_backup_holds_no_personal_data_in_plaintext(backed_up):
    _cli, recs, _ids, archive, _manifest = backed_up
    assert scan([archive.parent], needles_of(recs)) == []
    with zipfile.ZipFile(archive) as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        assert zf.read("fieldapp.db")[:16] != b"SQLite format 3\x00"


def test_backup_is_for_supervisors_and_never_overwrites(backed_up, tmp_path):
    cli, _recs, _ids, archive, _manifest = backed_up
    assert "supervisor" in one_line(cli("backup", "--user", "ow", "--out", tmp_path / "x.bak",
                                        password=OUTREACH_PASSWORD)).lower()
    assert not (tmp_path / "x.bak").exists()
    size = archive.stat().st_size
    one_line(cli("backup", "--user", "sup", "--out", archive))
    assert archive.stat().st_size == size
    assert [p.name for p in archive.parent.iterdir()] == [archive.name]  # no temporary files left


def test_restore_never_replaces_a_store(backed_up):
    cli, _recs, _ids, archive, _manifest = backed_up
    db = (cli.data_dir / "fieldapp.db").read_bytes()
    assert "already holds a store" in one_line(cli("restore", archive, "--user", "sup"))
    assert (cli.data_dir / "fieldapp.db").read_bytes() == db


@pytest.mark.parametrize("damage", ["flip_db", "flip_slots", "drop_member", "extra_member", "not_a_zip", "manifest"])
def test_a_damaged_or_tampered_backup_restores_nothing(backed_up, tmp_path, damage):
    _cli, _recs, _ids, archive, _manifest = backed_up
    bad = tmp_path / "bad.bak"
    with zipfile.ZipFile(archive) as zf:
        members = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    if damage == "flip_db":
        db = bytearray(members["fieldapp.db"])
        db[len(db) // 2] ^= 0x01
        members["fieldapp.db"] = bytes(db)
    elif damage == "flip_slots":
        members["keyslots.json"] = members["keyslots.json"].replace(b'"iterations": 3', b'"iterations": 4')
    elif damage == "drop_member":
        del members["keyslots.json"]
    elif damage == "extra_member":
        members["../../evil.sh"] = b"echo pwned"
    elif damage == "manifest":
        doc = json.loads(members["manifest.json"])
        doc["store_id"] = "00000000-0000-0000-0000-000000000000"
        members["manifest.json"] = json.dumps(doc).encode()
    if damage == "not_a_zip":
        bad.write_bytes(b"PK\x03\x04 this is not really a zip" * 10)
    else:
        with zipfile.ZipFile(bad, "w", zipfile.ZIP_STORED) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    target = tmp_path / "new-laptop"
    msg = one_line(NewLaptop(target)("restore", bad, "--user", "sup"))
    assert "backup" in msg.lower() or "password" in msg.lower()
    assert not target.exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".new-laptop")] == []
    assert not (tmp_path / "evil.sh").exists() and not (tmp_path.parent / "evil.sh").exists()


def test_wrong_password_or_an_outreach_worker_restores_nothing(backed_up, tmp_path):
    _cli, _recs, _ids, archive, _manifest = backed_up
    target = NewLaptop(tmp_path / "new-laptop")
    assert "password" in one_line(target("restore", archive, "--user", "sup", password="not the password")).lower()
    assert not (tmp_path / "new-laptop").exists()
    assert "supervisor" in one_line(target("restore", archive, "--user", "ow", password=OUTREACH_PASSWORD)).lower()
    assert not (tmp_path / "new-laptop").exists()
    (tmp_path / "new-laptop").mkdir()  # an empty folder is fine
    target("restore", archive, "--user", "sup", password=PASSWORD, check=True)


def test_the_manifest_names_no_one(backed_up):
    _cli, _recs, _ids, archive, manifest = backed_up
    with zipfile.ZipFile(archive) as zf:
        text = zf.read("manifest.json").decode()
    assert '"sup"' not in text and '"ow"' not in text and "Supervisor" not in text
    assert set(manifest) == {"format", "version", "app_version", "store_id", "schema_version", "created_at",
                             "counts", "files", "mac"}
    assert manifest["version"] == 2 and set(manifest["files"]) <= {"fieldapp.db", "keyslots.json", "desktop.json"}


def test_the_manifest_is_unverified_until_unlock(backed_up):
    from fieldapp.store import backup

    _cli, _recs, _ids, archive, manifest = backed_up
    assert backup.read_manifest(archive) == dict(manifest, verified=False)


def test_a_backup_from_release_1_still_restores_without_its_provisioning(backed_up, tmp_path):
    """Format 1 (no MAC, with the escrow, desktop settings and provisioning files) restores: only its database and
    key slots are taken, the escrow is rebuilt from the key slots, and IT provisions the new laptop itself."""
    from fieldapp.store.keyslots import SlotFile, load_escrow
    from helpers.backup_craft import as_release_1, read_members, write_members

    cli = backed_up[0]
    cli("recovery-keygen", "--private-out", tmp_path / "it.key", "--public-out", tmp_path / "it.pub", password=None,
        check=True)
    cli("recovery-set", "--user", "sup", "--public-key", tmp_path / "it.pub", check=True)
    cli("backup", "--user", "sup", "--out", tmp_path / "now.bak", check=True)
    old = write_members(tmp_path / "release-1.bak", as_release_1(read_members(tmp_path / "now.bak"), add={
        "recovery-slot.json": (cli.data_dir / "recovery-slot.json").read_bytes(),
        "desktop.json": b'{"language": "km", "idle_minutes": 15, "last_user": "sup"}',
        "provisioning.json": b'{"format": "fieldapp-provisioning-applied"}', "provisioned-ca.pem": b"-----BEGIN"}))
    before = {r["id"]: r for r in cli.json("list", "--user", "sup", "--json")}
    new = NewLaptop(tmp_path / "new-laptop")
    assert json.loads(new("restore", old, "--user", "sup", "--json", check=True).stdout)["records"] == 40
    assert {r["id"]: r for r in new.json("list", "--user", "sup", "--json")} == before
    assert new("verify", "--user", "sup").returncode == 0
    names = {p.name for p in new.data_dir.iterdir()}
    assert not names & {"provisioning.json", "provisioned-ca.pem", "desktop.json"}, names
    assert load_escrow(new.data_dir / "recovery-slot.json") == SlotFile.load(new.data_dir / "keyslots.json").escrow()


def test_a_folder_that_cannot_be_written_is_named_plainly(backed_up, tmp_path):
    cli = backed_up[0]
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("x")
    msg = one_line(cli("backup", "--user", "sup", "--out", not_a_folder / "x.fieldapp-backup"))
    assert "no backup was written" in msg and not list(tmp_path.glob(".x.fieldapp-backup*"))


def stepped_backup(data_dir, out, kill_at: int | None = None) -> tuple[list[str], int]:
    """``fieldapp backup`` in ``backup_stepper.py``: every step it announces, and SIGKILL at step ``kill_at``
    (before that step is done). Returns the steps announced and the exit code."""
    step_r, step_w = os.pipe()
    go_r, go_w = os.pipe()
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "backup_stepper.py"), str(step_w), str(go_r),
                             "backup", "--user", "sup", "--out", str(out)], pass_fds=(step_w, go_r),
                            env=base_env(data_dir, FIELDAPP_PASSWORD=PASSWORD), cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(step_w)
    os.close(go_r)
    steps = []
    try:
        with open(step_r, encoding="utf-8", closefd=True) as events:
            for line in events:  # ends when the child exits (or is killed)
                steps.append(line.rstrip("\n"))
                if len(steps) - 1 == kill_at:
                    proc.send_signal(signal.SIGKILL)  # the child is blocked, waiting for its go
                else:
                    os.write(go_w, b"g")
        err = proc.communicate(timeout=300)[1].decode(errors="replace")
    finally:
        os.close(go_w)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    expected = 0 if kill_at is None else -signal.SIGKILL
    assert proc.returncode == expected, f"exit {proc.returncode} at step {kill_at}: {err}"
    return steps, proc.returncode


def test_a_backup_killed_at_any_step_leaves_no_file_and_the_next_one_cleans_up(backed_up, tmp_path):
    cli = backed_up[0]
    out = tmp_path / "stick" / "office.fieldapp-backup"
    out.parent.mkdir()

    def complete() -> bool:
        return json.loads(zipfile.ZipFile(out).read("manifest.json"))["format"] == "fieldapp-backup"

    steps, _ = stepped_backup(cli.data_dir, out)  # undisturbed: every step the backup goes through
    assert complete() and steps[-1] == "returned" and steps.count("replace") == 1, steps
    out.unlink()
    renamed = steps.index("replace")
    for k, name in enumerate(steps):  # SIGKILL just before each step in turn
        seen, _ = stepped_backup(cli.data_dir, out, kill_at=k)
        assert seen == steps[:k + 1], f"killed before {name!r}: another path than the undisturbed run"
        if k > renamed:  # killed after the rename: the file is there, complete and valid
            assert complete(), f"killed before {name!r}"
            out.unlink()
        else:
            assert not out.exists(), f"killed before {name!r}: a backup file appeared"
        assert all(p.name.startswith(f".{out.name}.") for p in out.parent.iterdir()), f"killed before {name!r}"
    cli("backup", "--user", "sup", "--out", out, check=True)
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # what the killed runs left is gone
    new = NewLaptop(tmp_path / "new-laptop")
    assert json.loads(new("restore", out, "--user", "sup", "--json", check=True).stdout)["records"] == 40


def test_it_restores_with_the_recovery_key_when_no_one_remembers_a_password(initialized, tmp_path):
    cli = initialized
    priv, pub = tmp_path / "it.key", tmp_path / "it.pub"
    cli("recovery-keygen", "--private-out", priv, "--public-out", pub, password=None, check=True)
    cli("recovery-set", "--user", "sup", "--public-key", pub, check=True)
    cli("import", "--user", "ow", write_jsonl(tmp_path / "r.jsonl", make_records(7, seed=5)),
        password=OUTREACH_PASSWORD, check=True)
    cli("backup", "--user", "sup", "--out", tmp_path / "b.bak", check=True)
    new = NewLaptop(tmp_path / "new-laptop")
    wrong = tmp_path / "wrong.key"
    cli("recovery-keygen", "--private-out", wrong, "--public-out", tmp_path / "wrong.pub", password=None, check=True)
    assert "does not open" in one_line(new("restore", tmp_path / "b.bak", "--user", "it-admin", "--recovery-key",
                                           wrong, password=None, new_password="it admin pw 1"))
    assert not (tmp_path / "new-laptop").exists()
    out = new("restore", tmp_path / "b.bak", "--user", "it-admin", "--recovery-key", priv, "--json",
              password=None, new_password="it admin pw 1", check=True)
    assert json.loads(out.stdout)["records"] == 7
    assert len(new.json("list", "--user", "it-admin", "--json", password="it admin pw 1")) == 7
    assert new("verify", "--user", "it-admin", password="it admin pw 1").returncode == 0


def test_the_laptops_registration_is_never_in_a_backup_nor_restored(tmp_path):
    """The store may hold the device identity (its private key among it) and the registry it enrolled with, as
    ``trusted.`` settings: the snapshot leaves them out, and a restore forgets them (the new laptop registers)."""
    from fieldapp.store import backup
    from fieldapp.store.database import Store
    from fieldapp.store.dbapi import open_encrypted
    from helpers.backup_craft import read_members

    def registration(conn) -> list:
        return conn.execute("SELECT key FROM settings WHERE key LIKE 'trusted.device.%' OR key LIKE "
                            "'trusted.registry.%' OR value LIKE '%planted%'").fetchall()

    with Store(tmp_path / "old").create("sup", PASSWORD) as sup:
        with sup.write() as tx:
            tx.executemany("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [
                ("trusted.device.identity", '{"device_private_key": "planted-device-key"}'),
                ("trusted.registry.ca_pem", "planted-ca")])
        assert len(registration(sup.conn)) == 2
        backup.create(sup, tmp_path / "b.bak")
        key, store_id = sup.key, sup.store.slots().store_id
    (tmp_path / "snap.db").write_bytes(read_members(tmp_path / "b.bak")["fieldapp.db"])
    conn = open_encrypted(str(tmp_path / "snap.db"), key)
    try:
        assert registration(conn) == []
        assert conn.execute("SELECT value FROM settings WHERE key = 'store_id'").fetchone() == (store_id,)
    finally:
        conn.close()
    assert backup.restore(tmp_path / "b.bak", tmp_path / "new", "sup", PASSWORD)["store_id"] == store_id
    with Store(tmp_path / "new").unlock("sup", PASSWORD) as sup:
        assert registration(sup.conn) == []
