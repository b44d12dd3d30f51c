"""Issue 10, cases 4, 5, 6, 11, 12 and 13: someone who holds a key slot, or the laptop's disk, and a SQL shell.

The attacker here opens the decrypted database the way an insider would: their own slot's database key and the
SQLCipher driver, no application code in between (``sql_shell``). Every test performs the attack, then asserts what
it can no longer achieve: approve a record, promote themselves, rewrite or cut the audit trail undetected, keep
their access after being disabled, or make a login cost minutes and gigabytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers.attack_tools import case, one_clean_line, run_cli
from helpers.clitools import OUTREACH_PASSWORD, PASSWORD

from fieldapp import services
from fieldapp.base.errors import AuthError, LockedOut, PermissionDenied, TamperError
from fieldapp.domain.synthetic import make_records
from fieldapp.store import audit, keyslots, lockout, records, users
from fieldapp.store.database import Store
from fieldapp.store.dbapi import DatabaseError, open_encrypted
from fieldapp.store.keyslots import SlotFile


def sql_shell(data_dir, user: str, password: str):
    """What an insider does: open their own key slot, then the database, with the driver alone."""
    key = SlotFile.load(data_dir / "keyslots.json").unlock(user, password).db_key
    conn = open_encrypted(str(data_dir / "fieldapp.db"), key)
    conn.isolation_level = None
    return conn, key


def problems(data_dir, user=("sup", PASSWORD)) -> list[str]:
    with services.open_session(data_dir, *user) as s:
        return [m for m, _p in services.verify(s)]


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDAPP_KDF_TARGET_MS", "0")
    data = tmp_path / "data"
    with services.create_store(data, "sup", PASSWORD) as sup:
        users.add_user(sup, "ow", OUTREACH_PASSWORD, "outreach")
        users.add_user(sup, "ow2", "second outreach pw", "outreach")
    with services.open_session(data, "ow2", "second outreach pw") as ow2:
        records.import_records(ow2, make_records(2, seed=9))
    with services.open_session(data, "ow", OUTREACH_PASSWORD) as ow:
        mine = records.import_records(ow, make_records(2, seed=10))
    return data, mine


def test_case4_outreach_worker_with_a_sql_shell_cannot_approve_or_promote_themselves(store):
    data, mine = store
    with case("insider: outreach worker edits roles with SQL, then approves through the CLI",
              "role change needs the approval key; CLI and core refuse; verify reports the unsigned role") as c:
        conn, _key = sql_shell(data, "ow", OUTREACH_PASSWORD)
        others = conn.execute("SELECT count(*) FROM records WHERE created_by != 'ow'").fetchone()[0]
        assert others == 2  # a stated limit (docs/security.md): a slot holder reads every record on the laptop
        conn.execute("UPDATE users SET role = 'supervisor' WHERE name = 'ow'")
        conn.close()
        c.runs += 1
        out = run_cli(data, "review", "--user", "ow", "--approve", *mine, password=OUTREACH_PASSWORD)
        assert "supervisor" in one_clean_line(out).lower()
        with Store(data).unlock("ow", OUTREACH_PASSWORD) as ow:
            assert not ow.is_supervisor and ow.approval_key is None
            with pytest.raises(PermissionDenied):
                services.review(ow, mine, "approve")
        assert "core.verify.roles" in problems(data)
        with services.open_session(data, "sup", PASSWORD) as sup:
            assert {r["state"] for r in (records.get(sup, rid) for rid in mine)} == {"submitted"}


def test_case4_a_hand_made_supervisor_slot_gets_no_approval_key(store):
    data, mine = store
    with case("insider: outreach worker adds a supervisor key slot and recomputes the slot file's MAC",
              "the new slot opens the database but never the approval key: no approval, no signature"):
        slots = SlotFile.load(data / "keyslots.json")
        key = slots.unlock("ow", OUTREACH_PASSWORD).db_key
        slots.set_password("boss", "a boss password", key)  # the MAC is keyed from a key they hold
        slots.save(key)
        conn, _ = sql_shell(data, "ow", OUTREACH_PASSWORD)
        conn.execute("INSERT INTO users (name, role, disabled, created_at) VALUES ('boss', 'supervisor', 0, 'x')")
        conn.close()
        with Store(data).unlock("boss", "a boss password") as boss:
            assert not boss.is_supervisor
            with pytest.raises(PermissionDenied):
                services.review(boss, mine, "approve")


def test_case4_and_6_rewriting_or_cutting_the_audit_trail_is_found(store):
    data, mine = store
    with services.open_session(data, "sup", PASSWORD) as sup:
        services.review(sup, mine[:1], "approve")  # a supervisor transaction: a signed head
    assert problems(data) == []
    with case("insider: rewrites an audit actor and recomputes the unkeyed hash chain",
              "the signed head no longer matches: verify fails") as c:
        conn, _ = sql_shell(data, "ow", OUTREACH_PASSWORD)
        conn.execute("DROP TRIGGER audit_no_update")
        rows = conn.execute("SELECT seq, ts, actor, event, record_id, from_state, to_state, reason FROM audit"
                            " ORDER BY seq").fetchall()
        prev = audit.GENESIS
        for row in rows:
            d = dict(zip(audit.FIELDS, row))
            if d["event"] == "record.approved":
                d["actor"] = "ow"
            h = audit._digest(prev, d)
            conn.execute("UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?", (d["actor"], prev, h, d["seq"]))
            prev = h
        assert audit.verify_chain(conn) == []  # the unkeyed chain alone is fooled
        conn.close()
        c.runs += 1
        assert "core.verify.audit_truncated" in problems(data)


def test_case6_deleting_the_newest_audit_rows_is_found(store):
    data, mine = store
    with services.open_session(data, "sup", PASSWORD) as sup:
        services.review(sup, mine, "approve")
    with case("insider: deletes the newest audit rows (triggers dropped)",
              "the signed head points past the end of the chain: verify fails") as c:
        conn, _ = sql_shell(data, "ow", OUTREACH_PASSWORD)
        conn.execute("DROP TRIGGER audit_no_delete")
        top = conn.execute("SELECT max(seq) FROM audit").fetchone()[0]
        conn.execute("DELETE FROM audit WHERE seq > ?", (top - 3,))
        conn.close()
        c.runs += 1
        assert "core.verify.audit_truncated" in problems(data)


def test_case5_a_disabled_worker_keeps_nothing_after_rekey(store, tmp_path):
    data, _mine = store
    with case("leaving staff: a disabled worker kept a copy of the key slots, then the store was rekeyed",
              "disable removes the slot; after rekey the old copy's key opens nothing; the others still log in") as c:
        kept = (data / "keyslots.json").read_bytes()  # copied while they could still log in
        with services.open_session(data, "sup", PASSWORD) as sup:
            users.set_disabled(sup, "ow")
        assert "ow" not in Store(data).users()
        stale = tmp_path / "stale-keyslots.json"
        stale.write_bytes(kept)
        old_key = SlotFile.load(stale).unlock("ow", OUTREACH_PASSWORD).db_key
        open_encrypted(str(data / "fieldapp.db"), old_key).close()  # still works before the rekey: why rekey exists
        out = run_cli(data, "rekey", "--user", "sup", password=PASSWORD)
        assert out.returncode == 0, out.stderr
        c.runs += 1
        with pytest.raises(DatabaseError):
            open_encrypted(str(data / "fieldapp.db"), old_key)
        assert problems(data) == []
        with services.open_session(data, "ow2", "second outreach pw") as ow2:
            assert len(records.list_records(ow2)) == 2


REKEY_STEPS = ("slots_prepared", "database_rekeyed", "slots_finished")
_KILLER = """
import os, signal, sys
from fieldapp import services
from fieldapp.store import rekey
target = sys.argv[2]
def step(name):
    if name == target:
        os.kill(os.getpid(), signal.SIGKILL)
with services.open_session(sys.argv[1], "sup", sys.argv[3]) as sup:
    rekey.rekey(sup, step=step)
"""


@pytest.mark.parametrize("step", REKEY_STEPS)
def test_case5_rekey_killed_at_any_step_opens_with_the_old_or_the_new_key(store, step):
    data, mine = store
    with case("rekey killed (SIGKILL) after each durable step", "the store opens afterwards for every user; "
              "records intact; verify clean") as c:
        env = dict(os.environ, FIELDAPP_KDF_TARGET_MS="0", PYTHONPATH=os.pathsep.join(sys.path))
        proc = subprocess.run([sys.executable, "-c", _KILLER, str(data), step, PASSWORD], env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == -9, proc.stderr[-2000:]
        c.runs += 1
        for user, pw in (("sup", PASSWORD), ("ow", OUTREACH_PASSWORD)):
            with services.open_session(data, user, pw) as s:
                assert len(records.list_records(s)) >= 2
        assert problems(data) == []
        assert "db_next" not in (data / "keyslots.json").read_text()


@pytest.mark.parametrize("field,value", [("memory_kib", 4 * 1024 * 1024), ("iterations", 64 * 8), ("lanes", 64)])
def test_case11_raised_kdf_parameters_are_refused_before_any_derivation(store, monkeypatch, field, value):
    data, _ = store
    with case("slot parameters raised by hand (4 GiB, hundreds of passes)",
              "refused before Argon2id runs: a one-line message, no memory or time spent") as c:
        doc = json.loads((data / "keyslots.json").read_text())
        next(s for s in doc["slots"] if s.get("user") == "ow")["kdf"][field] = value
        (data / "keyslots.json").write_text(json.dumps(doc))
        monkeypatch.setattr(keyslots, "argon2", lambda *a: pytest.fail("Argon2id ran with refused parameters"))
        with pytest.raises(TamperError) as info:
            Store(data).unlock("ow", OUTREACH_PASSWORD)
        assert info.value.msg_id == "core.slots.weak_kdf"
        c.runs += 1


def test_case12_guesses_started_together_get_the_attempts_one_guess_would(store):
    data, _ = store
    with case("16 wrong-password logins started at the same moment (real processes)",
              "check, derivation and record happen under one lock: at most the free attempts get a derivation") as c:
        procs = [subprocess.Popen([sys.executable, "-m", "fieldapp", "list", "--user", "ow", "--json"],
                                  env=dict(os.environ, FIELDAPP_KDF_TARGET_MS="0", FIELDAPP_DATA_DIR=str(data),
                                           FIELDAPP_PASSWORD=f"wrong guess {i}", PYTHONPATH=os.pathsep.join(sys.path)),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(16)]
        outs = [p.communicate(timeout=300) for p in procs]
        c.runs += 16
        wrong = sum("wrong user name or password" in err.lower() for _o, err in outs)
        assert wrong == lockout.FREE_ATTEMPTS, [e for _o, e in outs]
        assert all(p.returncode != 0 for p in procs)
        with pytest.raises(LockedOut):  # the right password too, until the delay has passed
            Store(data).unlock("ow", OUTREACH_PASSWORD)


def test_case12_a_crafted_lockout_file_can_only_make_a_user_wait_the_maximum(store):
    data, _ = store
    with case("crafted lockout.json (huge counts, future times, wrong types)",
              "read defensively: the wait never passes MAX_DELAY, other users unaffected") as c:
        for entry in ({"failures": 10 ** 9, "last_failure": 10 ** 12}, {"failures": "x", "last_failure": "nan"},
                      {"failures": -5, "last_failure": float("inf")}, [], "garbage"):
            (data / "lockout.json").write_text(json.dumps({"ow": entry}))
            assert lockout.remaining(data, "ow") <= lockout.MAX_DELAY
            with services.open_session(data, "sup", PASSWORD):
                pass
            c.runs += 1


def test_case13_a_non_ascii_slot_file_mac_is_a_clean_refusal(store):
    data, _ = store
    with case("key slot file whose MAC is Khmer text", "one translated line, no traceback") as c:
        doc = json.loads((data / "keyslots.json").read_text())
        doc["mac"] = "\u17a0" * 64
        (data / "keyslots.json").write_text(json.dumps(doc, ensure_ascii=False))
        line = one_clean_line(run_cli(data, "list", "--user", "sup", password=PASSWORD))
        assert "changed" in line or "damaged" in line.lower(), line
        c.runs += 1
        with pytest.raises(TamperError):
            Store(data).unlock("sup", PASSWORD)


def test_an_outreach_slot_cannot_be_given_the_approval_key_by_its_holder(store):
    data, _ = store
    with pytest.raises(AuthError):
        SlotFile.load(data / "keyslots.json").unlock("ow", "not the password")
    keys = SlotFile.load(data / "keyslots.json").unlock("ow", OUTREACH_PASSWORD)
    assert keys.approval_key is None and keys.db_key
