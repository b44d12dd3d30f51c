"""Schema version 3 (protocol 4, docs/protocol.md section 15): device areas, members, their versions, match keys
and the lookup feed; and the upgrade from version 2 that backfills them from everyone registered before.

New tables: ``device_areas`` (the communes a device serves), ``device_members`` (members a device has a record of,
seen whatever its area), ``members`` (current version, commune, member seq, the sealed lookup entry),
``member_versions`` (every version, sealed, with the device and record that made it), ``member_keys`` (keyed HMACs
of the match keys), ``member_feed`` (a row per change per commune, for ``removed``). New columns:
``enrollment_codes.area`` (the area a code gives the device that enrolls with it), ``records.match_why`` (which
match key held a record), ``records.member_version`` (the version an applied update made), ``resolutions.operator``.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Callable

from fieldapp.base.sqlscript import statements
from fieldapp.outbound import wire
from registry import logs

PAGE = 500

TABLES = """
CREATE TABLE IF NOT EXISTS device_areas (
  device_id TEXT NOT NULL, commune TEXT NOT NULL, PRIMARY KEY (device_id, commune));
CREATE TABLE IF NOT EXISTS device_members (
  device_id TEXT NOT NULL, registry_id TEXT NOT NULL, PRIMARY KEY (device_id, registry_id));
CREATE INDEX IF NOT EXISTS device_members_member ON device_members (registry_id);
CREATE TABLE IF NOT EXISTS members (
  registry_id TEXT PRIMARY KEY, version INTEGER NOT NULL, commune TEXT NOT NULL, seq BIGINT NOT NULL,
  entry_enc TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS members_commune_seq ON members (commune, seq);
CREATE INDEX IF NOT EXISTS members_seq ON members (seq);
CREATE TABLE IF NOT EXISTS member_versions (
  registry_id TEXT NOT NULL, version INTEGER NOT NULL, record_enc TEXT NOT NULL, device_id TEXT, record_id TEXT,
  at DOUBLE PRECISION NOT NULL, PRIMARY KEY (registry_id, version));
CREATE INDEX IF NOT EXISTS member_versions_record ON member_versions (device_id, record_id);
CREATE TABLE IF NOT EXISTS member_keys (
  kind TEXT NOT NULL, hmac TEXT NOT NULL, registry_id TEXT NOT NULL, PRIMARY KEY (hmac, registry_id));
CREATE INDEX IF NOT EXISTS member_keys_member ON member_keys (registry_id);
CREATE TABLE IF NOT EXISTS member_feed (seq BIGINT NOT NULL, registry_id TEXT NOT NULL, commune TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS member_feed_commune_seq ON member_feed (commune, seq);
"""

COLUMNS = (("enrollment_codes", "area", "TEXT"), ("records", "match_why", "TEXT"),
           ("records", "member_version", "INTEGER"), ("resolutions", "operator", "TEXT"))


def ensure(tx, dialect: str) -> None:
    """Create the version 3 tables and columns where missing (idempotent)."""
    for stmt in statements(TABLES):
        tx.execute(stmt)
    for table, column, kind in COLUMNS:
        have = _table_columns(tx, table, dialect)
        if column not in have:
            tx.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    tx.execute("INSERT INTO counters (name, value) VALUES ('member_seq', 0) ON CONFLICT (name) DO NOTHING")


def _table_columns(tx, table: str, dialect: str) -> set[str]:
    if dialect == "sqlite":
        return {r[1] for r in tx.execute(f"PRAGMA table_info({table})")}
    return {r[0] for r in tx.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                     "AND table_schema = current_schema()", (table,))}


def backfill(tx, keys_loader: Callable | None) -> dict:
    """A member (version 1) for every registered person without one, from the record that registered them; every
    device with a record of a member linked to it. Returns counts (no personal data)."""
    from registry import checks, members
    from registry.sealed import open_stored

    if tx.one("SELECT 1 FROM people p WHERE p.registry_id IS NOT NULL AND NOT EXISTS "
              "(SELECT 1 FROM members m WHERE m.registry_id = p.registry_id)") is None:
        return {"members": 0, "unreadable": 0}
    if keys_loader is None:
        from registry.schema import NeedsKeys

        raise NeedsKeys("upgrading a registry database to version 3 needs its keys")
    keys = keys_loader()
    bound = tx.one("SELECT value FROM meta WHERE key = 'key_fingerprint'")
    if bound and bound[0] != keys.fingerprint():
        from registry.storage import KeyMismatch

        raise KeyMismatch("the data folder's keys do not match this database's")
    devices = {d: wire.b64d(k) for d, k in tx.execute("SELECT device_id, public_key FROM devices")}
    approvals = {(d, fp): wire.b64d(k) for d, fp, k in tx.execute(
        "SELECT device_id, fingerprint, public_key FROM approval_keys")}
    after, made, unreadable, now = -1, 0, 0, time.time()
    while True:
        rows = tx.execute("SELECT p.id, p.registry_id, p.device_id, p.record_id, r.item, r.enrolled_on FROM people p "
                          "JOIN records r ON r.device_id = p.device_id AND r.record_id = p.record_id "
                          "WHERE p.id > ? AND p.registry_id IS NOT NULL ORDER BY p.id LIMIT ?", (after, PAGE))
        if not rows:
            break
        for pid, registry_id, device_id, record_id, item_text, enrolled_on in rows:
            after = pid
            if tx.one("SELECT 1 FROM members WHERE registry_id = ?", (registry_id,)):
                continue
            try:
                item = json.loads(item_text)
                fp = (item.get("approval") or {}).get("key") if item.get("v") == wire.ITEM_V2 else None
                record = open_stored(item, keys, devices[device_id], approvals.get((device_id, fp)))
                clean, _problems = checks.check_record(record, enrolled_on)
            except (wire.WireError, KeyError, ValueError, TypeError):
                clean = None
            if clean is None:
                unreadable += 1
                continue
            members.create(tx, keys, registry_id=registry_id, clean=clean, device_id=device_id, record_id=record_id,
                           enrolled_on=enrolled_on, now=now)
            made += 1
    tx.execute("INSERT INTO device_members (device_id, registry_id) SELECT DISTINCT r.device_id, r.registry_id "
               "FROM records r JOIN members m ON m.registry_id = r.registry_id WHERE r.state <> 'held' "
               "ON CONFLICT DO NOTHING")
    return {"members": made, "unreadable": unreadable}


def upgrade(tx, dialect: str, keys_loader: Callable | None, from_version: str | None) -> None:
    """Bring a version 2 database (new, or just upgraded from version 1) to version 3."""
    started = time.monotonic()
    ensure(tx, dialect)
    counts = backfill(tx, keys_loader)
    if from_version is not None:  # from version 1, the first step logged schema_upgraded already
        logs.event("schema_upgraded" if from_version == "2" else "members_backfilled",
                   logging.WARNING if counts["unreadable"] else logging.INFO, from_version=int(from_version),
                   to_version=3, ms=round((time.monotonic() - started) * 1000), **counts)
