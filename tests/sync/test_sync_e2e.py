"""End to end through the real command line and a real registry process: 1,000 records, exactly once."""

import json
import time

import pytest

from helpers.clitools import OUTREACH_PASSWORD, Cli, write_jsonl
from fieldapp.domain.synthetic import make_records
from fieldapp.outbound.spool import Spool


def laptop(tmp_path, name, registry, records_file) -> Cli:
    cli = Cli(tmp_path / name)
    cli("init", "--user", "sup", check=True)
    cli("user", "add", "--user", "sup", "--new-user", "ow", "--role", "outreach", new_password=OUTREACH_PASSWORD,
        check=True)
    cli("import", "--user", "ow", records_file, password=OUTREACH_PASSWORD, check=True)
    cli("review", "--user", "sup", "--approve-all", check=True)
    cli("register", "--user", "sup", "--server", registry.url, "--code", registry.code(), check=True)
    return cli


@pytest.mark.slow
def test_1000_records_exactly_once_and_registered_then_a_second_device_adds_no_person(registry, tmp_path):
    """1,000 records from one laptop, exactly once, then registered; the same people from a second laptop add no one.

    The registry now holds records per (device, record ID), and a national ID already known from another device is
    ``held`` for review (receipt ``held``: synced locally, reason ``held_for_review``) instead of answered
    ``duplicate`` with the first device's registry ID: a laptop is never told about another laptop's record, and a
    second device cannot claim, replace or learn the first one's."""
    recs = make_records(1000, seed=77)
    for i, rec in enumerate(recs):  # every person carries a national ID: that is how the registry knows them again
        rec.setdefault("national_id", f"9{i:08d}")
    src = write_jsonl(tmp_path / "people.jsonl", recs)
    first = laptop(tmp_path, "laptop1", registry, src)
    out = first("sync", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["counts"].get("queued", 0) == 0
    exported = [json.loads(line) for line in registry.cli("export", "--format", "jsonl").splitlines() if line.strip()]
    local = first.json("list", "--user", "sup", "--json")
    assert len(exported) == 1000
    assert len({r["registry_id"] for r in exported}) == 1000
    assert {r["source_device"] for r in exported} == {json.loads((first.data_dir / "device.json").read_text())["device_id"]}
    assert sorted(r["national_id"] for r in exported) == sorted(r["national_id"] for r in local)
    # every local record ends registered (the registry registers at once here; sync pulls the states back)
    for _ in range(30):  # the registry's registration step runs in the background; sync polls the status feed
        first("sync", "--json")
        states = {r["state"] for r in first.json("list", "--user", "sup", "--json")}
        if states == {"registered"}:
            break
        time.sleep(0.5)
    assert states == {"registered"}
    # the same people enrolled again on a second laptop: the registry still holds 1,000 people
    second = laptop(tmp_path, "laptop2", registry, src)
    out = second("sync", "--json")
    assert out.returncode == 0, out.stderr
    again = [json.loads(line) for line in registry.cli("export", "--format", "jsonl").splitlines() if line.strip()]
    assert len(again) == 1000 and {r["registry_id"] for r in again} == {r["registry_id"] for r in exported}
    second("sync", "--json")
    # the second laptop's records were answered "held" (their national IDs are known from the first laptop): synced,
    # held for review at the registry, never registered under the first laptop's registry IDs
    listed = second.json("list", "--user", "sup", "--json")
    assert len(listed) == 1000
    assert {r["state"] for r in listed} == {"synced"} and {r["reason"] for r in listed} == {"held_for_review"}
    with Spool(second.data_dir) as spool:
        held = spool.states()
    assert len(held) == 1000 and not any(v["registry_id"] for v in held.values())
    with Spool(first.data_dir) as spool:
        assert all(v["registry_id"] for v in spool.states().values())  # the first laptop's, registered
