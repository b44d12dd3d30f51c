"""A curious or hostile outreach worker: every supervisor operation refused, no one else's record readable.

tests/test_records.py checks the basic role split and tests/test_cli.py two supervisor commands. Here an outreach
user goes through *every* supervisor operation of the core API and of the command line, and every way of reading
(get, search, lists, counts, duplicate candidates, the CLI), and after each refusal nothing has changed. Slots
swapped between users, or moved between stores, do not open.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from helpers.attack_tools import case, one_clean_line, run_cli

from helpers.clitools import OUTREACH_PASSWORD, PASSWORD
from fieldapp.outbound import device as device_file
from fieldapp.outbound import identity, outbox, wire
from fieldapp.store import records, search, users
from fieldapp import services
from fieldapp.base.errors import AuthError, FieldappError, PermissionDenied
from fieldapp.store.database import Store
from fieldapp.domain.synthetic import make_records
from helpers.planted import needles_of

OTHER_PASSWORD = "second outreach pw"


def fingerprint(data_dir) -> dict:
    """Every file's hash except the failed-login counters and logs (which a refusal may update)."""
    return {str(p.relative_to(data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(data_dir.rglob("*")) if p.is_file() and p.name not in ("lockout.json",)
            and "logs" not in p.parts and not p.name.endswith(("-shm", "-wal"))}


def state_of(session) -> tuple:
    conn = session.conn
    return (conn.execute("SELECT id, state, data, reason, version FROM records ORDER BY id").fetchall(),
            conn.execute("SELECT name, role, disabled FROM users ORDER BY name").fetchall(),
            conn.execute("SELECT count(*), max(hash) FROM audit").fetchone(),
            conn.execute("SELECT count(*) FROM outbox").fetchone())


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """sup (supervisor), ow and ow2 (outreach); records of each; one of sup's approved; a device identity.

    The store now holds the device identity (``identity.adopt``, as ``register_store`` leaves it): a device.json
    the store does not hold is adopted at the next unlock (whoever's), which changed files during the refusals."""
    data = tmp_path_factory.mktemp("access") / "data"
    st = Store(data)
    with st.create("sup", PASSWORD) as sup:
        users.add_user(sup, "ow", OUTREACH_PASSWORD, "outreach")
        users.add_user(sup, "ow2", OTHER_PASSWORD, "outreach")
        recs = make_records(6, seed=4242)
        for r in recs:
            r["national_id"] = r.get("national_id") or "987654321"
        sup_ids = records.import_records(sup, recs[:2])
    with st.unlock("ow", OUTREACH_PASSWORD) as ow:
        ow_ids = records.import_records(ow, recs[2:4])
        draft = records.save_draft(ow, {"family_name": "សុខ", "notes": "draft"})
    with st.unlock("ow2", OTHER_PASSWORD) as ow2:
        ow2_ids = records.import_records(ow2, recs[4:6])
        ow2_draft = records.save_draft(ow2, {"family_name": "ចាន់", "notes": "other draft"})
    with st.unlock("sup", PASSWORD) as sup:
        services.review(sup, [sup_ids[0]], "approve")
        services.review(sup, [ow2_ids[1]], "return", "check the village")
    # a device identity (no registry needed to test refusals): approvals seal, export-bundle has something to do.
    # The store holds it, as after ``register_store`` (``identity.adopt``): device.json is only its checked copy, so
    # no later unlock (an outreach worker's included) writes to the store or the folder because of it.
    private, public = wire.new_device_keys()
    keys = wire.new_registry_keys()
    dev = device_file.Device(
        device_id="dev-access-test", server_url="http://127.0.0.1:9", device_private_key=wire.b64e(private),
        device_public_key=wire.b64e(public), registry_seal_public_key=wire.b64e(keys["seal_public"]),
        registry_sign_public_key=wire.b64e(keys["sign_public"]), registered_at="2024-05-01T00:00:00+00:00")
    with st.unlock("sup", PASSWORD) as sup:
        identity.adopt(sup, dev)
    # the first unlock of a registered store makes its lookup inbox key (services.take_lookup), as on any laptop
    # after registration: done here, so the refusals below start from a store that has it
    services.open_session(data, "sup", PASSWORD).close()
    return {"store": st, "data": data, "recs": recs, "sup_ids": sup_ids, "ow_ids": ow_ids, "ow2_ids": ow2_ids,
            "draft": draft, "ow2_draft": ow2_draft}


SUPERVISOR_CALLS = {
    "services.review approve": lambda s, w: services.review(s, [w["ow_ids"][0]], "approve"),
    "services.review return": lambda s, w: services.review(s, [w["ow_ids"][0]], "return", "why"),
    "services.review reject": lambda s, w: services.review(s, [w["ow2_ids"][0]], "reject", "why"),
    "records.submitted_ids": lambda s, w: records.submitted_ids(s),
    "users.add_user outreach": lambda s, w: users.add_user(s, "mallory", "mallory password", "outreach"),
    "users.add_user supervisor": lambda s, w: users.add_user(s, "mallory2", "mallory password", "supervisor"),
    "users.set_disabled other": lambda s, w: users.set_disabled(s, "sup", True),
    "users.set_disabled enable": lambda s, w: users.set_disabled(s, "ow2", False),
    "users.change_password other": lambda s, w: users.change_password(s, "taken over pw", "sup"),
    "users.change_password peer": lambda s, w: users.change_password(s, "taken over pw", "ow2"),
}


@pytest.mark.parametrize("name", sorted(SUPERVISOR_CALLS))
def test_outreach_is_refused_every_supervisor_operation_of_the_core(store, name):
    st, data = store["store"], store["data"]
    with st.unlock("sup", PASSWORD) as sup:
        before = state_of(sup)
    files = fingerprint(data)
    with case("access: outreach calls every supervisor operation (core API)",
              "PermissionDenied; records, users, audit, outbox and every file unchanged") as c:
        with st.unlock("ow", OUTREACH_PASSWORD) as ow:
            with pytest.raises(PermissionDenied):
                SUPERVISOR_CALLS[name](ow, store)
            c.runs += 1
        with st.unlock("sup", PASSWORD) as sup:
            assert state_of(sup) == before
        assert fingerprint(data) == files


def test_outreach_cannot_enqueue_approved_records(store):
    st = store["store"]
    with case("access: outreach calls outbox.enqueue_approved", "PermissionDenied, nothing sealed or queued") as c:
        with st.unlock("sup", PASSWORD) as sup:
            before = state_of(sup)
        with st.unlock("ow", OUTREACH_PASSWORD) as ow:
            c.runs += 1
            try:
                with pytest.raises(PermissionDenied):
                    outbox.enqueue_approved(ow)
            finally:
                with st.unlock("sup", PASSWORD) as sup:
                    after = state_of(sup)
        assert after == before, "an outreach session sealed and queued records"


def _scan_for(obj, values) -> list[str]:
    text = json.dumps(obj, ensure_ascii=False, default=str)
    return [label for label, v in values.items() if v in text]


def test_outreach_cannot_read_other_peoples_records(store):
    st, recs = store["store"], store["recs"]
    others = store["sup_ids"] + store["ow2_ids"] + [store["ow2_draft"]]
    # values that belong only to other users' records
    foreign = {k: v for k, v in needles_of(recs[:2] + recs[4:6]).items()
               if v not in json.dumps(recs[2:4], ensure_ascii=False) and len(v) >= 4}
    assert len(foreign) > 10
    with case("access: outreach reads other users' records (core API)",
              "get/edit/submit answer not_found exactly like a missing ID; search, list, counts, daily counts "
              "show only own records; duplicate candidates carry no foreign value") as c:
        with st.unlock("ow", OUTREACH_PASSWORD) as ow:
            missing = pytest.raises(FieldappError)
            with missing as e_missing:
                records.get(ow, "00000000-0000-0000-0000-000000000000")
            for rid in others:
                for attempt in (lambda: records.get(ow, rid),
                                lambda: records.save_draft(ow, {"notes": "mine now"}, rid),
                                lambda: records.submit(ow, rid)):
                    with pytest.raises(FieldappError) as e:
                        attempt()
                    assert e.value.msg_id == e_missing.value.msg_id == "core.record.not_found"
                    c.runs += 1
            own = set(store["ow_ids"] + [store["draft"]])
            assert {r["id"] for r in records.list_records(ow)} == own
            for state in ("submitted", "approved", "returned", "queued"):
                assert {r["id"] for r in records.list_records(ow, state)} <= own
            assert sum(records.counts(ow).values()) == len(own)
            assert sum(n for _, n in search.daily_counts(ow, days=3)) == len(own)
            probes = [""] + [v for v in foreign.values()] + ["%", "_", "*", '"', "' OR 1=1 --", "ស"]
            for text in probes:
                found = search.search(ow, text)
                assert {r["id"] for r in found} <= own, text
                assert not _scan_for(found, foreign)
                c.runs += 1
            for rec in recs[:2] + recs[4:6]:  # the same person, as ow would type them: same national ID
                probe = dict(rec, family_name="ឧត្តម", given_name="ភក្តី", family_name_latin="Oudom",
                             given_name_latin="Pheakdey", phone="012999888", date_of_birth="1990-01-01")
                cands = records.duplicate_candidates(ow, probe)
                assert cands, "the store-wide duplicate rule must still find the person"
                for cand in cands:
                    if cand["record_id"] in others:
                        assert cand["visible"] is False
                        assert cand["differences"] is None and cand["reasons"] == [] and cand["state"] is None
                        assert "data" not in cand
                leaked = _scan_for(cands, {k: v for k, v in foreign.items() if not v.isdigit() or len(v) != 9})
                assert not leaked, leaked
                # No oracle: with a known national ID, the right name and date of birth get exactly
                # the same answer as a wrong guess (session 1 leaked which fields differed).
                right = records.duplicate_candidates(ow, dict(rec, phone="012999888"))
                assert [c for c in right if c["record_id"] in others] == \
                    [c for c in cands if c["record_id"] in others]
                c.runs += 1


def test_outreach_is_refused_supervisor_commands_and_sees_only_own_records_in_the_cli(store, tmp_path):
    data, recs = store["data"], store["recs"]
    other = store["sup_ids"][1]
    pub = tmp_path / "rec.pub"
    assert run_cli(data, "recovery-keygen", "--private-out", tmp_path / "rec.key", "--public-out", pub).returncode == 0
    commands = [
        ("review", "--user", "ow", "--approve-all"),
        ("review", "--user", "ow", "--approve", store["ow_ids"][0]),
        ("review", "--user", "ow", "--reject", other, "--reason", "x"),
        ("user", "add", "--user", "ow", "--new-user", "mallory", "--role", "supervisor"),
        ("user", "disable", "--user", "ow", "--target-user", "sup"),
        ("user", "enable", "--user", "ow", "--target-user", "ow2"),
        ("user", "passwd", "--user", "ow", "--target-user", "sup"),
        ("recovery-set", "--user", "ow", "--public-key", pub),
        ("register", "--user", "ow", "--server", "http://127.0.0.1:9", "--code", "AAAA-BBBB-CCCC-DDDD"),
        ("export-bundle", "--user", "ow", "--out", tmp_path / "stolen.bundle"),
    ]
    with case("access: outreach runs every supervisor command (CLI)",
              "exit 1 with one line saying supervisors only; no file in the data folder changed; no bundle written") as c:
        for cmd in commands:
            before = fingerprint(data)
            if cmd[0] == "register":  # a registered folder refuses registration before asking who you are
                (data / "device.json").rename(data / "device.json.aside")
            try:
                proc = run_cli(data, *cmd, password=OUTREACH_PASSWORD, new_password="taken over pw")
            finally:
                if (data / "device.json.aside").exists():
                    (data / "device.json.aside").rename(data / "device.json")
            line = one_clean_line(proc)
            assert "supervisor" in line.lower(), (cmd, line)
            assert fingerprint(data) == before, cmd
            c.runs += 1
        assert not (tmp_path / "stolen.bundle").exists()
    with case("access: outreach reads other users' records (CLI)", "list/status show only own records and values") as c:
        listed = json.loads(run_cli(data, "list", "--user", "ow", "--json", password=OUTREACH_PASSWORD).stdout)
        assert {r["id"] for r in listed} == set(store["ow_ids"] + [store["draft"]])
        foreign = {k: v for k, v in needles_of(recs[:2] + recs[4:6]).items()
                   if v not in json.dumps(recs[2:4], ensure_ascii=False) and len(v) >= 4}
        assert not _scan_for(listed, foreign)
        status = json.loads(run_cli(data, "status", "--user", "ow", "--json", password=OUTREACH_PASSWORD).stdout)
        assert status["total"] == 3
        c.runs += 2


def test_swapped_or_transplanted_key_slots_do_not_open(store, tmp_path):
    src = store["data"]
    with case("access: key slot swapped between users or moved between stores",
              "the wrong user's slot never opens (AEAD binds user and store ID); refused with the wrong-password "
              "message; the database is untouched") as c:
        # 1. ow copies their own slot over sup's (renamed to sup): ow's password must not open it as sup
        data = tmp_path / "swap"
        shutil.copytree(src, data)
        path = data / "keyslots.json"
        doc = json.loads(path.read_text())
        ow_slot = next(s for s in doc["slots"] if s.get("user") == "ow")
        doc["slots"] = [s for s in doc["slots"] if s.get("user") != "sup"] + [dict(ow_slot, user="sup")]
        path.write_text(json.dumps(doc))
        db_before = (data / "fieldapp.db").read_bytes()
        with pytest.raises(AuthError):
            Store(data).unlock("sup", OUTREACH_PASSWORD)
        c.runs += 1
        proc = run_cli(data, "review", "--user", "sup", "--approve-all", password=OUTREACH_PASSWORD)
        assert one_clean_line(proc) == "Wrong user name or password."
        c.runs += 1
        # 2. the same slot under a brand-new supervisor-looking name
        doc["slots"].append(dict(ow_slot, user="admin"))
        path.write_text(json.dumps(doc))
        with pytest.raises(AuthError):
            Store(data).unlock("admin", OUTREACH_PASSWORD)
        c.runs += 1
        assert (data / "fieldapp.db").read_bytes() == db_before
        # 3. sup's slot from another store with the same password (a colleague's laptop) moved in
        other = tmp_path / "other"
        Store(other).create("sup", PASSWORD).close()
        foreign = json.loads((other / "keyslots.json").read_text())
        doc = json.loads((src / "keyslots.json").read_text())
        doc["slots"] = [s for s in doc["slots"] if s.get("user") != "sup"] + \
            [s for s in foreign["slots"] if s.get("user") == "sup"]
        data3 = tmp_path / "transplant"
        shutil.copytree(src, data3)
        (data3 / "keyslots.json").write_text(json.dumps(doc))
        with pytest.raises(AuthError):
            Store(data3).unlock("sup", PASSWORD)
        c.runs += 1
