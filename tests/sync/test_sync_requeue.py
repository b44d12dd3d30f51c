"""A supervisor sends quarantined records again (`fieldapp requeue`), through the real CLI, store and registry.

The quarantine itself is made by the spool call the engine uses when a receipt leaves a record out
(`Spool.quarantine(ids, "not_in_receipt")`): the engine's own quarantine paths are covered by
test_sync_engine.py; this test is about what a supervisor can do afterwards.
"""

from __future__ import annotations

import functools
import json
import time

from helpers.sync_helpers import assert_exactly_once, run_fieldapp, store_states, write_people

from fieldapp.outbound.spool import Spool
from fieldapp.store.database import Store
from fieldapp.store import audit

PW, OW_PW = "correct horse battery 9", "outreach pass 1"


fieldapp = functools.partial(run_fieldapp, password=PW)


def states(d) -> dict:
    return store_states(d, PW)


def test_requeue_sends_quarantined_records_again_and_only_those(registry, tmp_path):
    d = tmp_path / "laptop"
    assert fieldapp("init", "--data-dir", d, "--user", "sup").returncode == 0
    assert fieldapp("user", "add", "--data-dir", d, "--user", "sup", "--new-user", "ow", "--role", "outreach",
                    FIELDAPP_NEW_PASSWORD=OW_PW).returncode == 0
    ids = fieldapp("import", "--data-dir", d, "--user", "sup", write_people(tmp_path / "in.jsonl", 8, 77)).stdout.split()
    assert len(ids) == 8
    assert fieldapp("register", "--data-dir", d, "--user", "sup", "--server", registry.url,
                    "--code", registry.code()).returncode == 0
    assert fieldapp("review", "--data-dir", d, "--user", "sup", "--approve-all").returncode == 0
    stuck = ids[:3]
    with Spool(d) as spool:  # what the engine does when a receipt leaves records out
        spool.quarantine(stuck, "not_in_receipt")
    out = fieldapp("sync", "--data-dir", d, "--json")
    assert out.returncode == 4, out.stderr  # quarantined records: a supervisor must look
    now = states(d)
    assert all(now[i] == "quarantined" for i in stuck)
    assert all(now[i] in ("synced", "registered") for i in ids[3:])

    # an outreach worker may not; an ID that is not quarantined is left alone
    out = fieldapp("requeue", "--data-dir", d, "--user", "ow", "--all", password=OW_PW)
    assert out.returncode != 0 and "supervisor" in out.stderr.lower()
    assert all(states(d)[i] == "quarantined" for i in stuck)
    out = fieldapp("requeue", "--data-dir", d, "--user", "sup", ids[5])
    assert out.returncode == 0 and out.stdout.splitlines() == ["0 quarantined record(s) queued to be sent again."]
    for wrong in ((), ("--all", ids[0])):  # IDs or --all: exactly one
        out = fieldapp("requeue", "--data-dir", d, "--user", "sup", *wrong)
        assert out.returncode == 1 and "--all" in out.stderr and len(out.stderr.splitlines()) == 1

    out = fieldapp("requeue", "--data-dir", d, "--user", "sup", stuck[0])
    assert out.returncode == 0 and out.stdout.splitlines()[0] == stuck[0]
    assert states(d)[stuck[0]] == "queued" and states(d)[stuck[1]] == "quarantined"
    out = fieldapp("requeue", "--data-dir", d, "--user", "sup", "--all")
    assert out.returncode == 0 and sorted(out.stdout.splitlines()[:-1]) == sorted(stuck[1:])

    for _ in range(20):  # sent, then registered by the registry's background step
        out = fieldapp("sync", "--data-dir", d, "--json")
        assert out.returncode == 0, out.stderr
        if json.loads(out.stdout)["counts"]["registered"] == 8:
            break
        time.sleep(0.5)
    assert set(states(d).values()) == {"registered"}
    assert_exactly_once(registry, ids)
    # the audit trail says who requeued what, and why it had been quarantined
    with Store(d).unlock("sup", PW) as sup:
        events = [e for e in audit.history(sup.conn, stuck[0]) if e["event"] == "record.requeued"]
    assert len(events) == 1 and events[0]["actor"] == "sup" and events[0]["reason"] == "not_in_receipt"
    assert fieldapp("verify", "--data-dir", d, "--user", "sup").returncode == 0
