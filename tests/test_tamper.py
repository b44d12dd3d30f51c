"""Wrong password, a tampered key slot, a flipped byte in the database: refused clearly, nothing overwritten."""

import hashlib
import json

import pytest

from helpers.clitools import write_jsonl
from fieldapp.domain.synthetic import make_records


def snapshot(folder):
    """Hashes of every file except the lockout counter (which a failed login is meant to update)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "lockout.json" and "logs" not in p.parts}


@pytest.fixture
def filled(initialized, tmp_path):
    initialized("import", "--user", "sup", write_jsonl(tmp_path / "r.jsonl", make_records(300, seed=8)), check=True)
    return initialized


def error_of(proc):
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr.strip()


def test_wrong_password_changes_nothing(filled):
    before = snapshot(filled.data_dir)
    assert error_of(filled("list", "--user", "sup", password="not the password")) == "Wrong user name or password."
    assert snapshot(filled.data_dir) == before


@pytest.mark.parametrize("field,value", [("memory_kib", 8), ("iterations", 1), ("lanes", 0)])
def test_lowered_kdf_parameters_are_refused(filled, field, value):
    path = filled.data_dir / "keyslots.json"
    data = json.loads(path.read_text())
    for slot in data["slots"]:
        if slot.get("user") == "sup":
            slot["kdf"][field] = value
    path.write_text(json.dumps(data))
    before = snapshot(filled.data_dir)
    message = error_of(filled("list", "--user", "sup"))
    assert "protection settings were lowered" in message
    assert snapshot(filled.data_dir) == before
    # the other users' slots open, but the file's MAC shows the change: refused too, until IT looks at it
    assert "changed outside the app" in error_of(filled("list", "--user", "ow", password="outreach pass 1"))


def test_hand_edited_slot_file_is_noticed(filled):
    path = filled.data_dir / "keyslots.json"
    data = json.loads(path.read_text())
    data["slots"] = [s for s in data["slots"] if s.get("user") != "ow"]  # someone removed a user's slot
    path.write_text(json.dumps(data))
    before = snapshot(filled.data_dir)
    assert "changed outside the app" in error_of(filled("list", "--user", "sup"))
    assert snapshot(filled.data_dir) == before


@pytest.mark.parametrize("where", ["header", "middle", "end"])
def test_flipped_byte_in_the_database(filled, where):
    db = filled.data_dir / "fieldapp.db"
    data = bytearray(db.read_bytes())
    page = 4096
    offset = {"header": 100, "middle": (len(data) // page // 2) * page + 1000, "end": len(data) - 50}[where]
    data[offset] ^= 0x01
    db.write_bytes(bytes(data))
    before = snapshot(filled.data_dir)
    verify = filled("verify", "--user", "sup")
    listing = filled("list", "--user", "sup", "--json")
    assert verify.returncode == 1 and "Traceback" not in verify.stderr
    assert "damaged" in verify.stderr or "authentication check" in verify.stderr, verify.stderr
    if listing.returncode != 0:  # the damaged page may not be one the listing reads
        assert "damaged" in error_of(listing)
    assert snapshot(filled.data_dir) == before, "a damaged database must not be written to"


def test_truncated_database(filled):
    db = filled.data_dir / "fieldapp.db"
    db.write_bytes(db.read_bytes()[: 4096 * 3 + 17])
    message = error_of(filled("verify", "--user", "sup"))
    assert "damaged" in message or "authentication" in message
