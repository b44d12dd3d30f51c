"""Two registry processes over one database applying updates to the same members at once: of two updates based
on one version, exactly one is applied and the other is refused ``stale_version``; every version is kept once."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from members_tools import COMMUNE_A, area_device, person, results, sync_all, update_doc


def test_concurrent_updates_from_two_processes_one_wins(backend, make_server):
    one = make_server("--register-delay", "0")
    two = make_server("--register-delay", "0", data_dir=one.data_dir, database_url=one.database_url)
    a, b = area_device(one, COMMUNE_A), area_device(two, COMMUNE_A)
    ids = [r["registry_id"] for r in results(a, [person(COMMUNE_A) for _ in range(12)])]
    start = threading.Barrier(2)

    def send(dev, no: str, phone: str) -> dict:
        doc = update_doc(no, 1, phone=phone)
        body = dev.body([dev.seal(doc)])
        start.wait(timeout=30)
        return dev.verified(dev.post(body), body)["results"][0]

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = []
        for no in ids:
            jobs = [pool.submit(send, a, no, "012000111"), pool.submit(send, b, no, "012000222")]
            outcomes.append([j.result() for j in jobs])
    for no, pair in zip(ids, outcomes):
        assert sorted(r["status"] for r in pair) == ["accepted", "rejected"], pair
        assert [r.get("reason") for r in pair if r["status"] == "rejected"] == ["stale_version"]
        assert [r["version"] for r in pair if r["status"] == "accepted"] == [2]
        history = json.loads(one.cli("member-history", no).stdout)["versions"]
        assert [v["version"] for v in history] == [1, 2]
    assert one.count("SELECT COUNT(*) FROM member_versions") == 24
    assert {e["version"] for no, e in sync_all(b)["members"].items() if no in ids} == {2}
