"""The command line driven from the shell, as IT staff and scripts use it."""

import json
import re
import time

import pytest

from helpers.clitools import OUTREACH_PASSWORD, write_jsonl
from fieldapp.domain.synthetic import make_records


def one_line_error(proc):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.slow
def test_full_flow_with_1000_records(initialized, tmp_path):
    cli = initialized
    src = write_jsonl(tmp_path / "people.jsonl", make_records(1000, seed=11))
    imported = cli("import", "--user", "ow", src, password=OUTREACH_PASSWORD, check=True)
    ids = imported.stdout.split()
    assert len(ids) == 1000 and len(set(ids)) == 1000
    listed = cli.json("list", "--user", "ow", "--json", password=OUTREACH_PASSWORD)
    assert {r["id"] for r in listed} == set(ids) and {r["state"] for r in listed} == {"submitted"}
    assert cli.json("list", "--user", "sup", "--state", "submitted", "--json").__len__() == 1000
    cli("review", "--user", "sup", "--approve", *ids[:10], check=True)
    cli("review", "--user", "sup", "--return", ids[10], "--reason", "photo of consent missing", check=True)
    cli("review", "--user", "sup", "--reject", ids[11], "--reason", "not self-employed", check=True)
    cli("review", "--user", "sup", "--approve-all", check=True)
    status = cli.json("status", "--user", "sup", "--json")
    assert status["counts"]["approved"] == 998 and status["counts"]["returned"] == 1
    assert status["counts"]["rejected"] == 1 and status["total"] == 1000
    mine = cli.json("status", "--user", "ow", "--json", password=OUTREACH_PASSWORD)
    assert mine["total"] == 1000
    verify = cli("verify", "--user", "sup")
    assert verify.returncode == 0, verify.stderr
    returned = cli.json("list", "--user", "ow", "--json", password=OUTREACH_PASSWORD)[0]
    assert returned["state"] == "returned" and returned["reason"] == "photo of consent missing"


def test_csv_import(initialized, tmp_path):
    rec = make_records(1, seed=2)[0]
    path = tmp_path / "people.csv"
    header = "family_name,given_name,sex,date_of_birth,phone,village_code,occupation,employment_status,consent_given,consent_method,consent_recorded_at"
    row = ",".join([rec["family_name"], rec["given_name"], rec["sex"], rec["date_of_birth"], "012 345 678",
                    rec["village_code"], "farmer", "self_employed", "yes", "thumbprint", rec["consent"]["recorded_at"]])
    path.write_text(header + "\n" + row + "\n", encoding="utf-8")
    proc = initialized("import", "--user", "ow", path, password=OUTREACH_PASSWORD)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.split()) == 1


def test_invalid_import_lists_every_problem_and_saves_nothing(initialized, tmp_path):
    recs = make_records(4, seed=3)
    recs[1]["national_id"] = "12345"
    recs[3]["date_of_birth"] = "2020-01-01"
    recs[3]["dependents"] = [{"relationship": "spouse"}]
    lines = [json.dumps(r, ensure_ascii=False) for r in recs]
    lines.insert(2, "{not json")
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = initialized("import", "--user", "ow", tmp_path / "bad.jsonl", password=OUTREACH_PASSWORD)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "line 3" in proc.stderr  # the malformed line
    # fix the malformed line: the record problems are listed with their lines and fields, all at once
    del lines[2]
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = initialized("import", "--user", "ow", tmp_path / "bad.jsonl", password=OUTREACH_PASSWORD)
    assert proc.returncode == 1
    assert "line 2: national_id" in proc.stderr
    assert "line 4: date_of_birth" in proc.stderr and "line 4: dependents[0].date_of_birth" in proc.stderr
    for value in (recs[0]["family_name"], "12345"):
        assert value not in proc.stderr  # no personal data in messages
    assert initialized.json("status", "--user", "ow", "--json", password=OUTREACH_PASSWORD)["total"] == 0


def test_failures_are_one_line_with_non_zero_exit(cli, tmp_path):
    assert "No store" in one_line_error(cli("list", "--user", "sup"))
    cli("init", "--user", "sup", check=True)
    assert "exists already" in one_line_error(cli("init", "--user", "sup"))
    assert "Wrong user name or password" in one_line_error(cli("list", "--user", "sup", password="nope nope"))
    assert "Wrong user name or password" in one_line_error(cli("list", "--user", "ghost"))
    missing = one_line_error(cli("import", "--user", "sup", tmp_path / "missing.jsonl"))
    assert "line" in missing or "file" in missing.lower()
    (tmp_path / "x.txt").write_text("hello")
    assert one_line_error(cli("import", "--user", "sup", tmp_path / "x.txt"))
    assert "reason" in one_line_error(cli("review", "--user", "sup", "--reject", "abc"))
    assert one_line_error(cli("review", "--user", "sup", "--approve", "no-such-id"))
    assert "FIELDAPP_PASSWORD" in one_line_error(cli("status", "--user", "sup", "--json", password=None))


def test_outreach_cannot_use_supervisor_commands(initialized):
    proc = initialized("review", "--user", "ow", "--approve-all", password=OUTREACH_PASSWORD)
    assert "supervisor" in one_line_error(proc)
    proc = initialized("user", "add", "--user", "ow", "--new-user", "x9", "--role", "supervisor",
                       password=OUTREACH_PASSWORD, new_password="whatever123")
    assert "supervisor" in one_line_error(proc)


def seconds_left(message: str) -> int:
    found = re.search(r"Try again in (\d+) seconds", message)
    assert found, message
    return int(found.group(1))


def test_lockout_after_five_failures_survives_a_restart(initialized):
    cli = initialized
    for _ in range(5):
        assert cli("status", "--user", "ow", "--json", password="wrong wrong").returncode == 1
    # the right password is refused while locked out, in a new process
    locked = one_line_error(cli("status", "--user", "ow", "--json", password=OUTREACH_PASSWORD))
    assert 0 < seconds_left(locked) <= 30  # how many are left depends on how long the new process took to start
    # other users are not affected
    assert cli("status", "--user", "sup", "--json").returncode == 0
    # time passes (edit the counter's timestamp): one more failure doubles the delay
    path = cli.data_dir / "lockout.json"
    data = json.loads(path.read_text())
    data["ow"]["last_failure"] = time.time() - 31
    path.write_text(json.dumps(data))
    assert cli("status", "--user", "ow", "--json", password="wrong wrong").returncode == 1
    assert 30 < seconds_left(one_line_error(cli("status", "--user", "ow", "--json", password=OUTREACH_PASSWORD))) <= 60
    data = json.loads(path.read_text())
    data["ow"]["last_failure"] = time.time() - 61
    path.write_text(json.dumps(data))
    assert cli("status", "--user", "ow", "--json", password=OUTREACH_PASSWORD).returncode == 0
    assert "ow" not in json.loads(path.read_text())  # success clears the counter


def test_password_change_and_reset(initialized):
    """Own password change, a supervisor's reset, disabling and enabling again.

    A disabled user's key slot is removed, so their old password opens nothing: the login fails like any wrong
    password ("Wrong user name or password"), no longer "disabled" (which needed the slot to open first). Enabling
    them again needs a new password (``user enable`` with FIELDAPP_NEW_PASSWORD), which gives them a new slot."""
    cli = initialized
    cli("user", "passwd", "--user", "ow", password=OUTREACH_PASSWORD, new_password="brand new pw", check=True)
    assert cli("status", "--user", "ow", "--json", password=OUTREACH_PASSWORD).returncode == 1
    assert cli("status", "--user", "ow", "--json", password="brand new pw").returncode == 0
    cli("user", "passwd", "--user", "sup", "--target-user", "ow", new_password="reset by sup", check=True)
    assert cli("status", "--user", "ow", "--json", password="reset by sup").returncode == 0
    cli("user", "disable", "--user", "sup", "--target-user", "ow", check=True)
    assert "Wrong user name or password" in one_line_error(cli("status", "--user", "ow", "--json", password="reset by sup"))
    slots = json.loads((cli.data_dir / "keyslots.json").read_text())["slots"]
    assert [s.get("user") for s in slots if s["type"] == "password"] == ["sup"]  # the slot is gone, not flagged
    users = cli.json("user", "list", "--user", "sup", "--json")
    assert {u["name"]: u["disabled"] for u in users} == {"ow": 1, "sup": 0}
    out = cli("user", "enable", "--user", "sup", "--target-user", "ow")  # no new password: refused
    assert out.returncode != 0 and "FIELDAPP_NEW_PASSWORD" in out.stderr and "Traceback" not in out.stderr
    assert cli.json("user", "list", "--user", "sup", "--json")[0]["disabled"] == 1
    cli("user", "enable", "--user", "sup", "--target-user", "ow", new_password="enabled again", check=True)
    assert cli("status", "--user", "ow", "--json", password="reset by sup").returncode == 1
    assert cli("status", "--user", "ow", "--json", password="enabled again").returncode == 0
    users = cli.json("user", "list", "--user", "sup", "--json")
    assert {u["name"]: u["disabled"] for u in users} == {"ow": 0, "sup": 0}
    assert cli("verify", "--user", "sup").returncode == 0  # every role still signed


def test_recovery_key_restores_access(cli, tmp_path):
    priv, pub = tmp_path / "it.key", tmp_path / "it.pub"
    cli("recovery-keygen", "--private-out", priv, "--public-out", pub, password=None, check=True)
    cli("init", "--user", "sup", "--recovery-public-key", pub, check=True)
    cli("import", "--user", "sup", write_jsonl(tmp_path / "r.jsonl", make_records(3)), check=True)
    # everybody forgot: the recovery key gives a supervisor a new password
    assert cli("recover", "--recovery-key", pub, "--new-user", "it-admin", new_password="it admin pw").returncode == 1
    cli("recover", "--recovery-key", priv, "--new-user", "it-admin", new_password="it admin pw", check=True)
    status = cli.json("status", "--user", "it-admin", "--json", password="it admin pw")
    assert status["total"] == 3
    assert cli("verify", "--user", "it-admin", password="it admin pw").returncode == 0


def test_messages_in_khmer(cli):
    proc = cli("list", "--user", "sup", FIELDAPP_LANG="km")
    assert "ឃ្លាំង" in one_line_error(proc)
    proc = cli("--lang", "km", "list", "--user", "sup")
    assert "ឃ្លាំង" in one_line_error(proc)
