"""Key slots: Argon2id-wrapped slot keys, grants of the database and approval keys, bounded and bound parameters,
the recovery slot, rekey grants, release-0.1.0 slots, the MAC over the file."""

import json

import pytest

from fieldapp.store import keyslots
from fieldapp.base.errors import AuthError, TamperError
from fieldapp.store.keyslots import SlotFile

KEY = bytes(range(32))
FAST = {"name": "argon2id", "memory_kib": 65536, "iterations": 3, "lanes": 4}


@pytest.fixture
def slots(tmp_path):
    s = SlotFile.new(tmp_path / "keyslots.json")
    s.set_password("alice", "alice password", KEY, FAST)
    s.set_password("bob", "bob password", KEY, FAST)
    s.save(KEY)
    return SlotFile.load(tmp_path / "keyslots.json")


def test_each_user_unlocks_the_same_key(slots):
    assert slots.unlock("alice", "alice password").db_key == KEY
    assert slots.unlock("bob", "bob password").db_key == KEY
    slots.check_mac(KEY)


def test_wrong_password_and_unknown_user(slots):
    with pytest.raises(AuthError):
        slots.unlock("alice", "bob password")
    with pytest.raises(AuthError):
        slots.unlock("carol", "x")


def test_file_never_holds_the_key_or_password(slots):
    text = slots.path.read_bytes()
    assert KEY not in text and keyslots.b64e(KEY).encode() not in text and b"alice password" not in text


def _edit(slots, fn):
    data = json.loads(slots.path.read_text())
    fn(data)
    slots.path.write_text(json.dumps(data))
    return SlotFile.load(slots.path)


@pytest.mark.parametrize("field,value", [("memory_kib", 1024), ("iterations", 1), ("lanes", 0), ("name", "pbkdf2"),
                                         ("memory_kib", 4 * 1024 * 1024), ("iterations", 65), ("lanes", 16),
                                         ("iterations", True), ("memory_kib", 65536.0)])
def test_parameters_out_of_bounds_are_refused_before_derivation(slots, field, value, monkeypatch):
    """Lowered (a weak slot) or raised (a login that takes minutes and gigabytes) parameters never reach Argon2id."""
    monkeypatch.setattr(keyslots, "argon2", lambda *a: pytest.fail("derived with refused parameters"))
    def lower(data):
        data["slots"][0]["kdf"][field] = value

    tampered = _edit(slots, lower)
    with pytest.raises(TamperError) as info:
        tampered.unlock("alice", "alice password")
    assert info.value.msg_id == "core.slots.weak_kdf"


def test_parameters_are_bound_into_the_slot(slots):
    """Changed parameters that are still above the floor no longer open the slot: they are authenticated data."""
    def change(data):
        data["slots"][0]["kdf"]["iterations"] = 4

    with pytest.raises(AuthError):
        _edit(slots, change).unlock("alice", "alice password")


def test_swapped_slots_between_users_do_not_open(slots):
    def swap(data):
        a, b = data["slots"]
        a["user"], b["user"] = b["user"], a["user"]

    swapped = _edit(slots, swap)
    with pytest.raises(AuthError):
        swapped.unlock("alice", "bob password")  # bob's slot now labelled alice
    with pytest.raises(AuthError):
        swapped.unlock("alice", "alice password")


def test_a_hand_added_slot_breaks_the_mac(slots, tmp_path):
    other = SlotFile.new(tmp_path / "other.json")
    other.set_password("mallory", "mallory pass", KEY, FAST)

    def add(data):
        data["slots"].append(other.data["slots"][0])

    tampered = _edit(slots, add)
    assert tampered.unlock("alice", "alice password").db_key == KEY
    with pytest.raises(TamperError):
        tampered.check_mac(KEY)


def test_password_change_rewrites_one_slot(slots):
    before = {s["user"]: s for s in slots.data["slots"]}
    slots.set_password("alice", "new alice password", KEY, FAST)
    slots.save(KEY)
    again = SlotFile.load(slots.path)
    after = {s["user"]: s for s in again.data["slots"]}
    assert after["bob"] == before["bob"]
    assert after["alice"]["wrapped"] != before["alice"]["wrapped"]
    assert again.unlock("alice", "new alice password").db_key == KEY
    with pytest.raises(AuthError):
        again.unlock("alice", "alice password")


def test_recovery_slot(slots):
    private, public = keyslots.generate_recovery_keypair()
    slots.set_recovery(keyslots.b64d(public["key"]), KEY)
    slots.save(KEY)
    again = SlotFile.load(slots.path)
    assert again.unlock_recovery(keyslots.b64d(private["key"])).db_key == KEY
    wrong, _ = keyslots.generate_recovery_keypair()
    with pytest.raises(AuthError):
        again.unlock_recovery(keyslots.b64d(wrong["key"]))


def test_tuning_meets_the_floor():
    kdf = keyslots.tune_kdf(target_ms=0)
    assert kdf["memory_kib"] >= 65536 and kdf["iterations"] >= 3
    tuned = keyslots.tune_kdf(target_ms=400)
    assert tuned["iterations"] >= kdf["iterations"]
    keyslots.check_kdf(dict(tuned, salt=keyslots.b64e(b"s" * 16)))


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"format": "x"}', "\u17a0".encode()])
def test_unreadable_slot_file(tmp_path, content):
    path = tmp_path / "keyslots.json"
    path.write_bytes(content)
    with pytest.raises(TamperError):
        SlotFile.load(path)


def test_supervisor_slots_hold_the_approval_key_and_outreach_slots_do_not(tmp_path):
    approval = bytes(range(100, 132))
    s = SlotFile.new(tmp_path / "keyslots.json")
    s.set_password("sup", "sup password", KEY, FAST, approval_key=approval)
    s.set_password("ow", "ow password", KEY, FAST)
    s.save(KEY)
    again = SlotFile.load(s.path)
    assert again.unlock("sup", "sup password").approval_key == approval
    assert again.unlock("ow", "ow password").approval_key is None
    assert approval not in s.path.read_bytes() and keyslots.b64e(approval).encode() not in s.path.read_bytes()
    again.grant("ow", "approval", approval)  # a promotion: needs only the slot's public key
    assert again.unlock("ow", "ow password").approval_key == approval
    again.revoke("ow", "approval")
    assert again.unlock("ow", "ow password").approval_key is None


def test_a_grant_moved_to_another_slot_does_not_open(slots):
    grant = slots._slot("alice")["grants"]["db"]
    slots._slot("bob")["grants"]["db"] = grant
    with pytest.raises(AuthError):
        slots.unlock("bob", "bob password")


def test_rekey_grants_the_new_key_to_every_slot_without_passwords(slots):
    private, public = keyslots.generate_recovery_keypair()
    slots.set_recovery(keyslots.b64d(public["key"]), KEY)
    new = bytes(range(200, 232))
    assert slots.begin_rekey(new) == []
    keys = slots.unlock("bob", "bob password")
    assert (keys.db_key, keys.next_db_key) == (KEY, new)
    assert slots.finish_rekey() == []
    slots.save(new)
    again = SlotFile.load(slots.path)
    again.check_mac(new)
    assert again.unlock("alice", "alice password").db_key == new
    assert again.unlock_recovery(keyslots.b64d(private["key"])).db_key == new


@pytest.mark.parametrize("mac", ["\u17a0" * 64, "é", "", None, 7, ["x"]])
def test_any_mac_text_is_a_tamper_error_never_a_crash(slots, mac):
    """Case 13's pattern: ``compare_digest`` raises TypeError on non-ASCII text; the MAC is compared as bytes."""
    slots.data["mac"] = mac
    with pytest.raises(TamperError):
        slots.check_mac(KEY)
