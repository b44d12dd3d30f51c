"""A full disk during save: a clear message, nothing already saved lost, the store still verifies."""

import os
import subprocess

import pytest

from helpers.clitools import Cli, write_jsonl
from fieldapp.domain.synthetic import make_records


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(mnt)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip("needs root to mount a small tmpfs (the test makes a full disk for real)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path, leave: int):
    """Fill the filesystem of ``path`` until about ``leave`` bytes are free."""
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    if free > leave:
        with open(path / "ballast", "wb") as fh:
            fh.write(b"\0" * (free - leave))


@pytest.mark.slow
def test_import_on_a_full_disk_fails_cleanly_and_keeps_what_was_saved(small_fs, tmp_path):
    cli = Cli(small_fs / "data")
    cli("init", "--user", "sup", check=True)
    first = cli("import", "--user", "sup", write_jsonl(tmp_path / "a.jsonl", make_records(50, seed=1)), check=True)
    saved = set(first.stdout.split())
    fill(small_fs, leave=64 * 1024)
    big = write_jsonl(tmp_path / "b.jsonl", make_records(1500, seed=2))
    proc = cli("import", "--user", "sup", big)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "disk is full" in proc.stderr.lower(), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    # nothing already saved was lost, the failed import left nothing half-written
    listed = {r["id"] for r in cli.json("list", "--user", "sup", "--json")}
    assert listed == saved
    assert cli("verify", "--user", "sup").returncode == 0
    # free space: the same import now works
    (small_fs / "ballast").unlink()
    subprocess.run(["mount", "-o", "remount,size=20m", str(small_fs)], check=True)
    again = cli("import", "--user", "sup", big)
    assert again.returncode == 0, again.stderr
    assert len({r["id"] for r in cli.json("list", "--user", "sup", "--json")}) == 1550


def test_password_change_on_a_full_disk_keeps_the_old_password(small_fs):
    cli = Cli(small_fs / "data")
    cli("init", "--user", "sup", check=True)
    fill(small_fs, leave=0)
    proc = cli("user", "passwd", "--user", "sup", new_password="another password")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    (small_fs / "ballast").unlink()
    assert cli("status", "--user", "sup", "--json").returncode == 0  # the old password still opens the store


def test_a_full_usb_stick_during_backup_leaves_nothing_and_says_so(small_fs, tmp_path):
    cli = Cli(tmp_path / "data")  # the store is on the big disk; the "stick" is the small tmpfs
    cli("init", "--user", "sup", check=True)
    cli("import", "--user", "sup", write_jsonl(tmp_path / "a.jsonl", make_records(400, seed=3)), check=True)
    fill(small_fs, leave=96 * 1024)
    out = small_fs / "office.fieldapp-backup"
    proc = cli("backup", "--user", "sup", "--out", out)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "full" in proc.stderr.lower() and "no backup" in proc.stderr.lower(), proc.stderr
    assert sorted(p.name for p in small_fs.iterdir()) == ["ballast"]  # no partial file, no temporary folder
    (small_fs / "ballast").unlink()
    subprocess.run(["mount", "-o", "remount,size=20m", str(small_fs)], check=True)
    cli("backup", "--user", "sup", "--out", out, check=True)
    assert cli("verify", "--user", "sup").returncode == 0
