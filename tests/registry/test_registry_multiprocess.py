"""Two registry processes over one database, taking batches at the same time."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers.registry_client import Device, make_record


@pytest.mark.slow
def test_two_processes_accept_concurrently_without_duplicates(backend, make_server):
    one = make_server("--register-delay", "0.5")
    two = make_server("--register-delay", "0.5", data_dir=one.data_dir, database_url=one.database_url)
    a, b = Device(one), Device(two)
    people = [make_record() for _ in range(240)]
    twins = [make_record(national_id=p["national_id"]) for p in people]  # same people, other record IDs

    def push(dev: Device, server, records: list[dict], key: str | None = None) -> list[dict]:
        dev.server = server
        dev._token = None
        r, body = dev.send(records, key=key)
        return dev.verified(r, body)["results"]

    jobs = []
    with ThreadPoolExecutor(max_workers=6) as pool:
        for i in range(0, 240, 40):
            extra = [make_record(national_id=p["national_id"]) for p in people[i:i + 20]]
            jobs.append((people[i:i + 40], pool.submit(push, a, one, people[i:i + 40], f"fa-{uuid.uuid4()}")))
            jobs.append((twins[i:i + 40], pool.submit(push, Device(two), two, twins[i:i + 40])))
            jobs.append((extra, pool.submit(push, b, two, extra)))
        pairs = [(rec["national_id"], res) for recs, job in jobs for rec, res in zip(recs, job.result())]
    assert {res["status"] for _, res in pairs} <= {"accepted", "duplicate"}
    assert sum(res["status"] == "accepted" for _, res in pairs) == 240
    registry_ids: dict[str, set] = {}
    for nid, res in pairs:
        registry_ids.setdefault(nid, set()).add(res["registry_id"])
    assert len(registry_ids) == 240 and all(len(ids) == 1 for ids in registry_ids.values())
    assert one.count("SELECT COUNT(*) FROM people") == 240
    assert one.count("SELECT COUNT(DISTINCT registry_id) FROM records") == 240
    assert one.count("SELECT COUNT(*) FROM records") == 240 + 240 + 120
    assert len(json.loads(two.cli("devices").stdout)) == 2 + 6


def test_data_folder_with_other_keys_is_refused(backend, make_server, tmp_path):
    if backend != "postgres":
        pytest.skip("with SQLite the database lives in the data folder")
    server = make_server()
    stranger = tmp_path / "other-data"
    res = server.cli("enrollment-code", check=False)
    assert res.returncode == 0
    server.data_dir, original = stranger, server.data_dir
    res = server.cli("enrollment-code", check=False)
    server.data_dir = original
    assert res.returncode == 1 and json.loads(res.stderr.strip().splitlines()[-1])["error"] == "key_mismatch"
