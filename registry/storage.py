"""Storage: the backend-neutral transaction API, migrations and the backend factory (the tables: ``schema``).

Both backends (``sqlite_store`` and ``pg_store``) expose :class:`Database`: ``run(fn)`` runs
``fn(tx)`` in one transaction, committing on return, rolling back on an exception and
retrying transient failures (lock timeouts, deadlocks, serialization failures); when they
persist it raises :class:`Busy` (HTTP 503 with ``Retry-After``). SQL is written once with
``?`` placeholders and portable statements (``INSERT ... ON CONFLICT``, ``RETURNING``).

Correctness never depends on in-process state: codes, nonces, devices, approval keys, idempotency and
record identity are all rows guarded by primary keys and unique constraints, so several
processes over one PostgreSQL database are safe. The ``seq`` counter row is bumped by every
transaction that changes a record state (and holds its row lock until commit), so state
changes commit in ``seq`` order and ``GET /v1/status?since=`` never skips one.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, TypeVar

from registry import logs, schema

T = TypeVar("T")
SCHEMA_VERSION = schema.SCHEMA_VERSION  # the tables are in ``registry.schema``
SCHEMA = schema.SCHEMA


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

    def migrate(self, serial: str, lock_sql: str | None = None, keys_loader: Callable | None = None) -> str:
        """Create the tables or upgrade them to the current schema (idempotent; serialised by ``lock_sql`` where
        given, and by the write transaction itself on SQLite). ``keys_loader`` gives the registry keys, needed
        only to upgrade a version 1 database (its stored items are decrypted once). Returns what was done."""

        def create(tx: Tx) -> str:
            if lock_sql:
                tx.execute(lock_sql)
            return schema.create_or_upgrade(tx, serial, keys_loader)

        return self.run(create)

    def bind_keys(self, fingerprint: str) -> None:
        """Record the key fingerprint on first use; refuse a data folder with other keys."""

        def bind(tx: Tx) -> str:
            tx.execute("INSERT INTO meta (key, value) VALUES ('key_fingerprint', ?) ON CONFLICT (key) DO NOTHING",
                       (fingerprint,))
            return tx.one("SELECT value FROM meta WHERE key = 'key_fingerprint'")[0]

        if self.run(bind) != fingerprint:
            raise KeyMismatch("the data folder's keys do not match this database's")


def open_database(settings: Any, keys: Any = None) -> Database:
    """The configured backend, migrated: PostgreSQL for a ``postgresql://`` URL, else SQLite in the data dir.

    ``keys`` (``RegistryKeys``) are read from the data folder when not given, and only if a version 1 database
    has to be upgraded."""
    url = settings.database_url

    def keys_loader():
        if keys is not None:
            return keys
        from registry.keys import load_or_create

        return load_or_create(settings.data_dir)

    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("--database-url must be a postgresql:// URL")
        from registry.pg_store import PostgresDatabase

        return PostgresDatabase(url, keys_loader=keys_loader)
    from registry.sqlite_store import SqliteDatabase

    return SqliteDatabase(settings.data_dir / "registry.db", keys_loader=keys_loader)
