"""Storage: the schema, the backend-neutral transaction API and the backend factory.

Both backends (``sqlite_store`` and ``pg_store``) expose :class:`Database`: ``run(fn)`` runs
``fn(tx)`` in one transaction, committing on return, rolling back on an exception and
retrying transient failures (lock timeouts, deadlocks, serialization failures); when they
persist it raises :class:`Busy` (HTTP 503 with ``Retry-After``). SQL is written once with
``?`` placeholders and portable statements (``INSERT ... ON CONFLICT``, ``RETURNING``).

Correctness never depends on in-process state: codes, nonces, devices, idempotency and
record identity are all rows guarded by primary keys and unique constraints, so several
processes over one PostgreSQL database are safe. The ``seq`` counter row is bumped by every
transaction that changes a record state (and holds its row lock until commit), so state
changes commit in ``seq`` order and ``GET /v1/status?since=`` never skips one.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, TypeVar

from fieldapp.base.sqlscript import statements
from registry import logs

T = TypeVar("T")
SCHEMA_VERSION = "1"

SCHEMA = """
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
CREATE TABLE IF NOT EXISTS people (
  id {serial}, registry_id TEXT UNIQUE, nid_hmac TEXT UNIQUE, record_id TEXT NOT NULL,
  created_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  record_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, batch_id TEXT NOT NULL, content_hash TEXT NOT NULL,
  enrolled_on TEXT NOT NULL, registry_id TEXT, duplicate_of TEXT, state TEXT NOT NULL,
  received_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, seq BIGINT NOT NULL,
  item TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_device_seq ON records (device_id, seq);
CREATE INDEX IF NOT EXISTS records_state ON records (state, received_at);
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


class Busy(Exception):
    """The database stayed locked or kept failing transiently: answer 503 and let the client retry."""


class KeyMismatch(Exception):
    """The data folder's keys are not the ones this database was created with."""


class Tx:
    """One open transaction. ``execute`` returns all result rows (tuples), or [] for none."""

    def __init__(self, cursor_exec: Callable[[str, tuple], tuple[list, int]]):
        self._exec = cursor_exec
        self.rowcount = 0

    def execute(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        rows, self.rowcount = self._exec(sql, tuple(params))
        return rows

    def one(self, sql: str, params: tuple | list = ()) -> tuple | None:
        rows = self.execute(sql, params)
        return rows[0] if rows else None

    def next_seq(self) -> int:
        """Bump the state-change counter; its row lock orders commits by ``seq``."""
        return int(self.one("UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value")[0])


class Database:
    """Backend-neutral base: subclasses implement ``_attempt`` and ``close``."""

    dialect = "base"
    attempts = 6

    def _attempt(self, fn: Callable[[Tx], T], write: bool) -> T:  # pragma: no cover - abstract
        raise NotImplementedError

    def _is_transient(self, exc: BaseException) -> bool:  # pragma: no cover - abstract
        return False

    def close(self) -> None:  # pragma: no cover - abstract
        pass

    def run(self, fn: Callable[[Tx], T], *, write: bool = True) -> T:
        """Run ``fn`` in one transaction, retrying transient failures with backoff."""
        for attempt in range(self.attempts):
            try:
                return self._attempt(fn, write)
            except Exception as exc:  # noqa: BLE001 - classified below
                if not self._is_transient(exc):
                    raise
                logs.event("db_retry", logging.WARNING, attempt=attempt, error=type(exc).__name__)
                time.sleep(min(0.05 * 2 ** attempt, 1.0))
        raise Busy("database busy")

    def migrate(self, serial: str, lock_sql: str | None = None) -> None:
        """Create the tables (idempotent; serialised by ``lock_sql`` where given)."""

        def create(tx: Tx) -> None:
            if lock_sql:
                tx.execute(lock_sql)
            for stmt in statements(SCHEMA.format(serial=serial)):
                tx.execute(stmt)
            tx.execute("INSERT INTO counters (name, value) VALUES ('seq', 0) ON CONFLICT (name) DO NOTHING")
            tx.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING",
                       (SCHEMA_VERSION,))

        self.run(create)

    def bind_keys(self, fingerprint: str) -> None:
        """Record the key fingerprint on first use; refuse a data folder with other keys."""

        def bind(tx: Tx) -> str:
            tx.execute("INSERT INTO meta (key, value) VALUES ('key_fingerprint', ?) ON CONFLICT (key) DO NOTHING",
                       (fingerprint,))
            return tx.one("SELECT value FROM meta WHERE key = 'key_fingerprint'")[0]

        if self.run(bind) != fingerprint:
            raise KeyMismatch("the data folder's keys do not match this database's")


def open_database(settings: Any) -> Database:
    """The configured backend, migrated: PostgreSQL for a ``postgresql://`` URL, else SQLite in the data dir."""
    url = settings.database_url
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("--database-url must be a postgresql:// URL")
        from registry.pg_store import PostgresDatabase

        return PostgresDatabase(url)
    from registry.sqlite_store import SqliteDatabase

    return SqliteDatabase(settings.data_dir / "registry.db")
