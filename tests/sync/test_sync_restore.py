"""A laptop dies with records not yet sent; its USB backup is restored on a new laptop, which registers as a
new device and sends them. Real CLI, real registry: every record ends at the registry exactly once."""

from __future__ import annotations

import functools
import json
import time

from helpers.sync_helpers import assert_exactly_once, run_fieldapp, store_states, write_people


PW = "correct horse battery 9"


fieldapp = functools.partial(run_fieldapp, password=PW)


def states(d) -> dict:
    return store_states(d, PW)


def sync_until_registered(d, n):
    """Sync until the store (not only this laptop's spool) holds ``n`` registered records."""
    for _ in range(30):
        out = fieldapp("sync", "--data-dir", d, "--json")
        assert out.returncode == 0, out.stderr
        now = states(d)  # unlocking pulls the spool's states into the records
        if sum(s == "registered" for s in now.values()) == n:
            return
        time.sleep(0.5)
    raise AssertionError(out.stdout)


def test_records_not_yet_sent_survive_the_laptop(registry, tmp_path):
    old, new = tmp_path / "old-laptop", tmp_path / "new-laptop"
    assert fieldapp("init", "--data-dir", old, "--user", "sup").returncode == 0
    ids = fieldapp("import", "--data-dir", old, "--user", "sup", write_people(tmp_path / "in.jsonl", 30, 88)).stdout.split()
    assert fieldapp("register", "--data-dir", old, "--user", "sup", "--server", registry.url,
                    "--code", registry.code()).returncode == 0
    assert fieldapp("review", "--data-dir", old, "--user", "sup", "--approve", *ids[:10]).returncode == 0
    sync_until_registered(old, 10)                          # ten reached the registry
    assert fieldapp("review", "--data-dir", old, "--user", "sup", "--approve", *ids[10:20]).returncode == 0
    # ten more approved and sealed but never sent, ten still waiting for review: then the backup
    backup = tmp_path / "usb" / "laptop.bak"
    backup.parent.mkdir()
    assert fieldapp("backup", "--data-dir", old, "--user", "sup", "--out", backup).returncode == 0
    before = states(old)
    assert sum(s == "queued" for s in before.values()) == 10

    # the old laptop is gone; a new one gets the backup
    out = fieldapp("restore", backup, "--data-dir", new, "--user", "sup", "--json", FIELDAPP_LOG_DIR=tmp_path / "logs")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["to_resend"] == 10
    assert not (new / "device.json").exists() and not (new / "spool.db").exists()
    after = states(new)
    assert [i for i in ids[:10] if after[i] == "registered"] == ids[:10]
    assert all(after[i] == "approved" for i in ids[10:20]) and all(after[i] == "submitted" for i in ids[20:])

    # registered as a new device: the ten are sealed with its key and sent; then the last ten are approved
    out = fieldapp("register", "--data-dir", new, "--user", "sup", "--server", registry.url, "--code", registry.code())
    assert out.returncode == 0 and "10 approved" in out.stdout, out.stderr
    sync_until_registered(new, 20)
    assert fieldapp("review", "--data-dir", new, "--user", "sup", "--approve-all").returncode == 0
    sync_until_registered(new, 30)
    assert_exactly_once(registry, ids)
    assert fieldapp("verify", "--data-dir", new, "--user", "sup").returncode == 0
