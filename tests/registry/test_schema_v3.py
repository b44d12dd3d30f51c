"""Schema version 3 (protocol 4): a version 2 database and the release 0.1.0 sample (version 1) are upgraded in
place, a member (version 1, lookup entry, match keys, feed) built for every registered person; personal data in the
new tables is sealed."""

from __future__ import annotations

import json
import sqlite3

from helpers.registry_client import Device
from members_tools import COMMUNE_A, area_device, lookup, person, results, sync_all, update_doc
from test_registry_migration import SAMPLE, v1_folder

from fieldapp.outbound import wire

V3_TABLES = ("device_areas", "device_members", "members", "member_versions", "member_keys", "member_feed")
V3_COLUMNS = (("enrollment_codes", "area"), ("records", "match_why"), ("records", "member_version"),
              ("resolutions", "operator"))


def downgrade_to_v2(server) -> None:
    """What a version 2 registry had: the version 3 tables and columns gone, ``schema_version`` 2."""
    server.proc.terminate()
    server.proc.wait(15)

    def work(tx):
        for table in V3_TABLES:
            tx.execute(f"DROP TABLE {table}")
        for table, column in V3_COLUMNS:
            tx.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        tx.execute("DELETE FROM counters WHERE name = 'member_seq'")
        tx.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")

    server.db().run(work)
    server.db().close()
    server._db = None


def test_version_2_database_is_upgraded_with_members(make_server, tmp_path):
    server = make_server("--register-delay", "0")
    a, b = area_device(server, COMMUNE_A), area_device(server, COMMUNE_A)
    recs = [person(COMMUNE_A) for _ in range(4)]
    ids = [r["registry_id"] for r in results(a, recs)]
    dup = results(b, [dict(recs[0], record_id="c0ffee00-0000-4000-8000-00000000000a")])[0]
    assert dup["status"] == "held"
    before = sync_all(a)["members"]
    downgrade_to_v2(server)
    again = make_server("--register-delay", "0", data_dir=server.data_dir, database_url=server.database_url)
    assert again.count("SELECT value FROM meta WHERE key = 'schema_version'") == "3"
    assert again.count("SELECT COUNT(*) FROM members") == 4
    assert again.count("SELECT COUNT(*) FROM member_versions") == 4
    assert again.count("SELECT COUNT(*) FROM member_keys WHERE kind = 'name'") == 4
    a.server = b.server = again
    after = sync_all(a)["members"]  # areas are new in version 3: a sees the members it registered
    assert set(after) == set(ids)
    for no in ids:
        assert {k: v for k, v in after[no].items() if k != "card"} == {
            k: v for k, v in before[no].items() if k != "card"}
    # personal data is sealed: no name in the clear in the new tables
    text = json.dumps(again.db().run(lambda tx: tx.execute("SELECT * FROM members") + tx.execute(
        "SELECT * FROM member_versions") + tx.execute("SELECT * FROM member_keys"), write=False), ensure_ascii=False)
    assert recs[0]["family_name"] not in text and recs[0]["date_of_birth"] not in text
    assert results(a, [update_doc(ids[0], 1)])[0]["version"] == 2


def test_release_010_sample_gets_members(make_server, new_database_url, tmp_path):
    url = new_database_url()
    data = tmp_path / "registry"
    v1_folder(SAMPLE / "registry", data, url)
    stored = sqlite3.connect(SAMPLE / "registry" / "registry.db")
    people = stored.execute("SELECT COUNT(*) FROM people WHERE registry_id IS NOT NULL").fetchone()[0]
    stored.close()
    server = make_server("--register-delay", "0", data_dir=data, database_url=url)
    assert people > 0 and server.count("SELECT COUNT(*) FROM members") == people
    assert server.count("SELECT COUNT(*) FROM member_feed") == people
    laptop = json.loads((SAMPLE / "laptop" / "device.json").read_text())
    dev = Device.existing(server, laptop["device_id"], wire.b64d(laptop["device_private_key"]))
    page = lookup(dev)  # a release 0.1.0 device never asks, but its members are its own
    assert page["reset"] and len(page["members"]) == server.count(
        "SELECT COUNT(DISTINCT registry_id) FROM records WHERE device_id = ? AND registry_id IS NOT NULL",
        (dev.device_id,))
    no = page["members"][0]["member_no"]
    history = json.loads(server.cli("member-history", no).stdout)["versions"]
    assert [v["version"] for v in history] == [1] and history[0]["device_id"] == dev.device_id
