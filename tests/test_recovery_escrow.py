"""A destroyed `keyslots.json` is a recoverable event, not the loss of every record.

The recovery slot is escrowed on its own in `recovery-slot.json` (and IT may keep a copy from
`fieldapp recovery-export`); `fieldapp recover` rebuilds the key slots from it. Until then, `init`
and the first-run screen refuse to replace the store, and nothing ever deletes its database.
All through the real CLI on real files.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from helpers.clitools import OUTREACH_PASSWORD, write_jsonl
from fieldapp.domain.synthetic import make_records

ADMIN = {"new_password": "it admin pw"}


def one_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(initialized, tmp_path):
    cli = initialized
    priv, pub = tmp_path / "it.key", tmp_path / "it.pub"
    cli("recovery-keygen", "--private-out", priv, "--public-out", pub, password=None, check=True)
    cli("recovery-set", "--user", "sup", "--public-key", pub, check=True)
    cli("import", "--user", "ow", write_jsonl(tmp_path / "r.jsonl", make_records(5)), password=OUTREACH_PASSWORD,
        check=True)
    assert (cli.data_dir / "recovery-slot.json").exists()
    return cli, priv, pub


def test_escrow_holds_only_the_recovery_slot(store):
    cli, _, _ = store
    escrow = json.loads((cli.data_dir / "recovery-slot.json").read_text())
    slots = json.loads((cli.data_dir / "keyslots.json").read_text())
    recovery = [s for s in slots["slots"] if s["type"] == "recovery"][0]
    assert escrow["format"] == "fieldapp-recovery-escrow" and escrow["store_id"] == slots["store_id"]
    assert escrow["slot"] == {k: recovery[k] for k in escrow["slot"]}
    assert set(escrow) == {"format", "version", "store_id", "slot"}
    assert set(escrow["slot"]) == {"type", "id", "recipient", "public", "grants", "created_at"}  # no user


def test_lost_key_slots_are_refused_plainly_then_rebuilt(store):
    cli, priv, _ = store
    db = cli.data_dir / "fieldapp.db"
    (cli.data_dir / "keyslots.json").unlink()
    before = digest(db)
    assert "keyslots.json" in one_line(cli("status", "--user", "sup", "--json"))
    # init must not replace the store (it would have set the database aside, every record unreadable)
    assert "fieldapp recover" in one_line(cli("init", "--user", "newbie"))
    assert digest(db) == before and not list(cli.data_dir.glob("*.unopened-*"))

    out = cli("recover", "--recovery-key", priv, "--new-user", "it-admin", password=None, check=True, **ADMIN)
    assert "rebuilt" in out.stdout
    status = cli.json("status", "--user", "it-admin", "--json", password="it admin pw")
    assert status["total"] == 5
    assert cli("verify", "--user", "it-admin", password="it admin pw").returncode == 0
    # the other users' slots were in the lost file: they need a reset, which the recovered supervisor gives
    assert cli("status", "--user", "ow", "--json", password=OUTREACH_PASSWORD).returncode != 0
    cli("user", "passwd", "--user", "it-admin", "--target-user", "ow", password="it admin pw",
        new_password="ow again", check=True)
    assert cli.json("status", "--user", "ow", "--json", password="ow again")["total"] == 5
    # and the rebuilt file carries the recovery slot again
    again = json.loads((cli.data_dir / "keyslots.json").read_text())
    assert any(s["type"] == "recovery" for s in again["slots"])


def test_damaged_key_slots_are_kept_aside(store):
    cli, priv, _ = store
    slots = cli.data_dir / "keyslots.json"
    slots.write_bytes(b"\x00garbage" * 40)
    assert cli("status", "--user", "sup", "--json").returncode != 0
    cli("recover", "--recovery-key", priv, "--new-user", "it-admin", password=None, check=True, **ADMIN)
    aside = list(cli.data_dir.glob("keyslots.json.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == b"\x00garbage" * 40
    assert cli.json("status", "--user", "it-admin", "--json", password="it admin pw")["total"] == 5


def test_both_files_lost_needs_its_exported_copy(store, tmp_path):
    cli, priv, pub = store
    copy = tmp_path / "it-copy.json"
    cli("recovery-export", "--out", copy, password=None, check=True)
    assert cli("recovery-export", "--out", copy, password=None).returncode != 0  # never overwrites
    (cli.data_dir / "keyslots.json").unlink()
    (cli.data_dir / "recovery-slot.json").unlink()
    assert "recovery-slot.json" in one_line(cli("recover", "--recovery-key", priv, "--new-user", "it-admin",
                                                password=None, **ADMIN))
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    assert "recovery slot file" in one_line(cli("recover", "--recovery-key", priv, "--new-user", "it-admin",
                                                "--escrow", bad, password=None, **ADMIN))
    cli("recover", "--recovery-key", priv, "--new-user", "it-admin", "--escrow", copy, password=None, check=True,
        **ADMIN)
    assert cli.json("status", "--user", "it-admin", "--json", password="it admin pw")["total"] == 5
    assert (cli.data_dir / "recovery-slot.json").exists()


def test_an_escrow_copy_from_another_laptop_is_refused(store, tmp_path):
    cli, priv, pub = store
    other = type(cli)(tmp_path / "other")
    other("init", "--user", "sup", "--recovery-public-key", pub, check=True)  # same IT key, another store
    theirs = tmp_path / "other-copy.json"
    other("recovery-export", "--out", theirs, password=None, check=True)
    (cli.data_dir / "keyslots.json").unlink()
    (cli.data_dir / "recovery-slot.json").unlink()
    db = digest(cli.data_dir / "fieldapp.db")
    msg = one_line(cli("recover", "--recovery-key", priv, "--new-user", "it-admin", "--escrow", theirs,
                       password=None, **ADMIN))
    assert "another store" in msg
    assert digest(cli.data_dir / "fieldapp.db") == db and not (cli.data_dir / "keyslots.json").exists()


def test_wrong_recovery_key_changes_nothing(store, tmp_path):
    cli, _, _ = store
    wrong_priv, wrong_pub = tmp_path / "w.key", tmp_path / "w.pub"
    cli("recovery-keygen", "--private-out", wrong_priv, "--public-out", wrong_pub, password=None, check=True)
    (cli.data_dir / "keyslots.json").unlink()
    assert "does not open" in one_line(cli("recover", "--recovery-key", wrong_priv, "--new-user", "it-admin",
                                           password=None, **ADMIN))
    assert not (cli.data_dir / "keyslots.json").exists()


def test_stores_from_before_the_escrow_get_one_at_the_next_login(store):
    cli, _, _ = store
    escrow = cli.data_dir / "recovery-slot.json"
    kept = escrow.read_bytes()
    escrow.unlink()
    cli("status", "--user", "sup", "--json", check=True)
    assert json.loads(escrow.read_bytes()) == json.loads(kept)


def test_a_database_without_slots_or_escrow_is_set_aside_never_deleted(initialized):
    cli = initialized
    db = cli.data_dir / "fieldapp.db"
    before = digest(db)
    (cli.data_dir / "keyslots.json").unlink()  # no recovery slot was ever set: nothing to rebuild from
    cli("init", "--user", "newbie", check=True)
    aside = list(cli.data_dir.glob("fieldapp.db.unopened-*"))
    assert len(aside) == 1 and digest(aside[0]) == before


def test_diagnostics_tell_it_whether_the_escrow_matches(store, tmp_path):
    import zipfile

    cli, _, _ = store

    def escrow_state(name):
        cli("diagnostics", "--out", tmp_path / name, password=None, check=True)
        with zipfile.ZipFile(tmp_path / name) as zf:
            return json.loads(zf.read("store.json"))["key_slots"]["recovery_escrow_matches"]

    assert escrow_state("ok.zip") is True
    (cli.data_dir / "recovery-slot.json").write_text("{}")
    assert escrow_state("bad.zip") is False
