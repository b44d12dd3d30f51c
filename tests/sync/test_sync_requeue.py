"""A supervisor sends quarantined records again (`fieldapp requeue`), through the real CLI, store and registry.

The quarantine itself is made by the spool call the engine uses when a receipt leaves a record out
(`Spool.quarantine(ids, "not_in_receipt")`): the engine's own quarantine paths are covered by
test_sync_engine.py; this test is about what a supervisor can do afterwards.
"""

from __future__ import annotations

import json
import subprocess
import time

from sync_helpers import PY, REPO, assert_exactly_once, env

from fieldapp.spool import Spool
from fieldapp.store import Store
from fieldapp import audit
from fieldapp.synthetic import make_records

PW, OW_PW = "correct horse battery 9", "outreach pass 1"


def fieldapp(*args, password=PW, timeout=120, **extra):
    e = env()
    e.update(FIELDAPP_KDF_TARGET_MS="0", **extra)
    if password:
        e["FIELDAPP_PASSWORD"] = password
    out = subprocess.run([PY, "-m", "fieldapp", *map(str, args)], cwd=REPO, env=e, capture_output=True, text=True,
                         timeout=timeout)
    assert "Traceback" not in out.stderr, out.stderr
    return out


def states(d) -> dict:
    return {r["id"]: r["state"] for r in json.loads(fieldapp("list", "--data-dir", d, "--user", "sup", "--json").stdout)}


def test_requeue_sends_quarantined_records_again_and_only_those(registry, tmp_path):
    d = tmp_path / "laptop"
    assert fieldapp("init", "--data-dir", d, "--user", "sup").returncode == 0
    assert fieldapp("user", "add", "--data-dir", d, "--user", "sup", "--new-user", "ow", "--role", "outreach",
                    FIELDAPP_NEW_PASSWORD=OW_PW).returncode == 0
    src = tmp_path / "in.jsonl"
    recs = make_records(8, seed=77)
    for i, r in enumerate(recs):
        r["national_id"] = f"77{i:07d}"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n", encoding="utf-8")
    ids = fieldapp("import", "--data-dir", d, "--user", "sup", src).stdout.split()
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
