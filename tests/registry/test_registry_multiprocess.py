"""Two registry processes over one database, taking batches at the same time."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers.registry_client import Device, make_record


@pytest.mark.slow
def test_two_processes_accept_concurrently_without_duplicates(backend, make_server):
    """The same 240 people arrive from several devices through two processes at once: each national ID gets one
    registry ID, at the device that registered it first; every other device's record is held (``held`` in a
    version 2 receipt, ``accepted`` without a registry ID in a version 1 receipt), never a second person."""
    one = make_server("--register-delay", "0.5")
    two = make_server("--register-delay", "0.5", data_dir=one.data_dir, database_url=one.database_url)
    a, b = Device(one, approval=True), Device(two)
    people = [make_record() for _ in range(240)]
    twins = [make_record(national_id=p["national_id"]) for p in people]  # same people, other record IDs

    turns = {a.device_id: threading.Lock(), b.device_id: threading.Lock()}  # one batch at a time per device (the
    # registry allows a device only a few at once); the devices and the two processes still race each other

    def push(dev: Device, server, records: list[dict], key: str | None = None) -> list[dict]:
        with turns.get(dev.device_id, threading.Lock()):
            dev.server = server
            r, body = dev.send(records, key=key)
        return [dict(x, device=dev.device_id) for x in dev.verified(r, body)["results"]]

    jobs = []
    with ThreadPoolExecutor(max_workers=6) as pool:
        for i in range(0, 240, 40):
            extra = [make_record(national_id=p["national_id"]) for p in people[i:i + 20]]
            jobs.append((people[i:i + 40], pool.submit(push, a, one, people[i:i + 40], f"fa-{uuid.uuid4()}")))
            jobs.append((twins[i:i + 40], pool.submit(push, Device(two, approval=i % 80 == 0), two, twins[i:i + 40])))
            jobs.append((extra, pool.submit(push, b, two, extra)))
        pairs = [(rec["national_id"], res) for recs, job in jobs for rec, res in zip(recs, job.result())]
    assert {res["status"] for _, res in pairs} <= {"accepted", "held"}
    registered: dict[str, set] = {}
    for nid, res in pairs:
        if "registry_id" in res:
            registered.setdefault(nid, set()).add((res["registry_id"], res["device"]))
    assert len(registered) == 240 and all(len(ids) == 1 for ids in registered.values())
    assert len({next(iter(ids))[0] for ids in registered.values()}) == 240
    assert sum(res["status"] == "held" or "registry_id" not in res for _, res in pairs) == 240 + 120
    assert one.count("SELECT COUNT(*) FROM people") == 240
    assert one.count("SELECT COUNT(DISTINCT registry_id) FROM records") == 240
    assert one.count("SELECT COUNT(*) FROM records") == 240 + 240 + 120
    assert one.count("SELECT COUNT(*) FROM records WHERE state = 'held' AND registry_id IS NULL") == 240 + 120
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
