"""The registry's tables (schema version 3) and the migrations from versions 1 (release 0.1.0) and 2.

``create_or_upgrade(tx, ...)`` runs inside the one migration transaction that ``storage.Database.migrate`` opens
(serialised by an advisory lock on PostgreSQL and by ``BEGIN IMMEDIATE`` on SQLite, so processes starting together
migrate once): a new database gets version 3; a version 1 or 2 database is upgraded in place, every record,
person, device, receipt and rejection kept; a version 3 database is left alone; a newer one is refused. What
version 3 adds (members, their versions and the lookup feed of protocol 4) is in ``registry.schema_v3``.

What version 2 changes (docs/protocol.md section 11):

- ``records`` is keyed by ``(device_id, record_id)``: a device can never claim another device's record IDs.
- ``content_mac`` (keyed, ``RegistryKeys.content_mac``) replaces ``content_hash``; stored version 1 items keep their
  content hash only wrapped (``registry.sealed``). The upgrade decrypts every stored item to compute both.
- ``people.device_id``: the device of a person's first record (national-ID matches from another device are held).
- ``duplicate_of`` holds the registry ID a duplicate record belongs to; ``match_id`` the one a held record matched.
- New tables: ``approval_keys``, ``audit_heads``, ``audit_alerts``, ``resolutions``.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Callable

from fieldapp.base.sqlscript import statements
from fieldapp.outbound import wire
from registry import logs

SCHEMA_VERSION = "3"
PAGE = 500

BASE = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS enrollment_codes (
  code_hash TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL,
  used_at DOUBLE PRECISION, device_id TEXT);
CREATE TABLE IF NOT EXISTS devices (
  device_id TEXT PRIMARY KEY, public_key TEXT NOT NULL UNIQUE, name TEXT,
  enrolled_at DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION);
CREATE TABLE IF NOT EXISTS nonces (
  nonce_hash TEXT PRIMARY KEY, device_id TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS rejections (
  device_id TEXT NOT NULL, record_id TEXT NOT NULL, reason TEXT NOT NULL, problems TEXT NOT NULL,
  seq BIGINT NOT NULL, at DOUBLE PRECISION NOT NULL, PRIMARY KEY (device_id, record_id));
CREATE INDEX IF NOT EXISTS rejections_device_seq ON rejections (device_id, seq);
CREATE TABLE IF NOT EXISTS batches (
  device_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, body_sha256 TEXT NOT NULL, batch_id TEXT NOT NULL,
  receipt TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (device_id, idempotency_key));
CREATE INDEX IF NOT EXISTS batches_expiry ON batches (expires_at);
"""

PEOPLE = """
CREATE TABLE IF NOT EXISTS people (
  id {serial}, registry_id TEXT UNIQUE, nid_hmac TEXT UNIQUE, record_id TEXT NOT NULL,
  created_at DOUBLE PRECISION NOT NULL, device_id TEXT);
"""

RECORDS = """
CREATE TABLE IF NOT EXISTS {name} (
  device_id TEXT NOT NULL, record_id TEXT NOT NULL, batch_id TEXT NOT NULL, content_mac TEXT,
  item_version INTEGER NOT NULL, enrolled_on TEXT NOT NULL, registry_id TEXT, duplicate_of TEXT, match_id TEXT,
  state TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
  seq BIGINT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (device_id, record_id));
"""

V2_EXTRA = """
CREATE INDEX IF NOT EXISTS nonces_device ON nonces (device_id, expires_at);
CREATE INDEX IF NOT EXISTS records_device_seq ON records (device_id, seq);
CREATE INDEX IF NOT EXISTS records_state ON records (state, received_at);
CREATE INDEX IF NOT EXISTS people_device_record ON people (device_id, record_id);
CREATE TABLE IF NOT EXISTS approval_keys (
  id {serial}, device_id TEXT NOT NULL, fingerprint TEXT NOT NULL, public_key TEXT NOT NULL,
  registered_at DOUBLE PRECISION NOT NULL, how TEXT NOT NULL, retired_at DOUBLE PRECISION);
CREATE UNIQUE INDEX IF NOT EXISTS approval_keys_current ON approval_keys (device_id) WHERE retired_at IS NULL;
CREATE TABLE IF NOT EXISTS audit_heads (
  device_id TEXT NOT NULL, approval_key TEXT NOT NULL, seq BIGINT NOT NULL, hash TEXT NOT NULL,
  store_id TEXT NOT NULL, signed_at TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (device_id, approval_key, seq));
CREATE TABLE IF NOT EXISTS audit_alerts (
  device_id TEXT NOT NULL, approval_key TEXT NOT NULL, kind TEXT NOT NULL, seq BIGINT NOT NULL,
  kept_hash TEXT NOT NULL, seen_hash TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (device_id, approval_key, kind, seq, seen_hash));
CREATE TABLE IF NOT EXISTS resolutions (
  id {serial}, device_id TEXT NOT NULL, record_id TEXT NOT NULL, outcome TEXT NOT NULL,
  registry_id TEXT NOT NULL, matched TEXT, at DOUBLE PRECISION NOT NULL);
"""


#: The whole version 2 schema of a new database (``{serial}``: the backend's auto-increment primary key).
SCHEMA = BASE + PEOPLE + RECORDS.replace("{name}", "records") + V2_EXTRA


class SchemaTooNew(Exception):
    """The database was written by a newer registry: never touch it."""


class NeedsKeys(Exception):
    """A version 1 database can only be upgraded with its data folder's keys."""


def _run(tx, script: str, serial: str, **names) -> None:
    for stmt in statements(script.format(serial=serial, **names)):
        tx.execute(stmt)


def create_or_upgrade(tx, serial: str, keys_loader: Callable | None) -> str:
    """Bring the database to version 3 inside ``tx``; return what was done: created, upgraded or current."""
    from registry import schema_v3

    tx.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    row = tx.one("SELECT value FROM meta WHERE key = 'schema_version'")
    version = row[0] if row else None
    if version not in (None, "1", "2", SCHEMA_VERSION):
        raise SchemaTooNew(f"schema version {version}")
    done = "current"
    if version == "1":
        _upgrade_v1(tx, serial, keys_loader)
        done = "upgraded"
    else:
        done = "created" if version is None else "upgraded" if version == "2" else done
        _run(tx, SCHEMA, serial)
    _run(tx, V2_EXTRA, serial)
    tx.execute("INSERT INTO counters (name, value) VALUES ('seq', 0) ON CONFLICT (name) DO NOTHING")
    if version != SCHEMA_VERSION:
        schema_v3.upgrade(tx, "sqlite" if "AUTOINCREMENT" in serial.upper() else "postgres", keys_loader, version)
    tx.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE "
               "SET value = excluded.value", (SCHEMA_VERSION,))
    return done


def _upgrade_v1(tx, serial: str, keys_loader: Callable | None) -> None:
    """Version 1 -> 2 in place: rebuild ``records`` under its new key with keyed MACs and wrapped content hashes,
    and note each person's first device. Nothing is dropped but the old ``records`` table, after its copy."""
    from registry.sealed import stored_form

    if keys_loader is None:
        raise NeedsKeys("upgrading a version 1 registry database needs its keys")
    keys = keys_loader()
    bound = tx.one("SELECT value FROM meta WHERE key = 'key_fingerprint'")
    if bound and bound[0] != keys.fingerprint():
        from registry.storage import KeyMismatch

        raise KeyMismatch("the data folder's keys do not match this database's")
    started = time.monotonic()
    devices = {d: wire.b64d(k) for d, k in tx.execute("SELECT device_id, public_key FROM devices")}
    _run(tx, RECORDS, serial, name="records_v2")
    cols = ("record_id, device_id, batch_id, content_hash, enrolled_on, registry_id, duplicate_of, state, "
            "received_at, updated_at, seq, item")
    after, copied, unreadable = "", 0, 0
    while True:
        rows = tx.execute(f"SELECT {cols} FROM records WHERE record_id > ? ORDER BY record_id LIMIT ?", (after, PAGE))
        if not rows:
            break
        for (rid, dev, batch, _hash, enrolled, reg_id, dup_of, state, rec_at, upd_at, seq, item_text) in rows:
            after = rid
            item = json.loads(item_text)
            mac = None
            try:
                record = wire.open_sealed(item, seal_private=keys.seal_private, device_public=devices[dev])
                mac = keys.content_mac(record)
            except (wire.WireError, KeyError):
                unreadable += 1  # kept as is; a resend of it will be a conflict, never a silent duplicate
            stored = stored_form(item, keys) if item.get("content_hash") else item
            tx.execute("INSERT INTO records_v2 (device_id, record_id, batch_id, content_mac, item_version, enrolled_on, "
                       "registry_id, duplicate_of, match_id, state, received_at, updated_at, seq, item) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)",
                       (dev, rid, batch, mac, int(item.get("v", 1)), enrolled, reg_id,
                        reg_id if dup_of else None, state, rec_at, upd_at, seq,
                        wire.canonical_json(stored).decode("utf-8")))
            copied += 1
    tx.execute("ALTER TABLE people ADD COLUMN device_id TEXT")
    tx.execute("UPDATE people SET device_id = (SELECT r.device_id FROM records r WHERE r.record_id = people.record_id)")
    tx.execute("DROP TABLE records")  # its indexes go with it
    tx.execute("ALTER TABLE records_v2 RENAME TO records")
    tx.execute("INSERT INTO meta (key, value) VALUES ('upgraded_from_1_at', ?) ON CONFLICT (key) DO NOTHING",
               (wire.now_iso(),))
    logs.event("schema_upgraded", logging.WARNING if unreadable else logging.INFO, from_version=1,
               to_version=2, records=copied, unreadable=unreadable,
               ms=round((time.monotonic() - started) * 1000))
