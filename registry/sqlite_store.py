"""Embedded SQLite backend: one file in the data folder, WAL, ``synchronous=FULL``.

Each thread has its own connection (uvicorn runs handlers in a thread pool). Write
transactions start with ``BEGIN IMMEDIATE`` so writers queue on SQLite's lock (waiting up
to ``busy_timeout``) instead of failing half-way; several processes may share the file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Callable, TypeVar

from registry.storage import Database, Tx

T = TypeVar("T")


class SqliteDatabase(Database):
    dialect = "sqlite"
    attempts = 4

    def __init__(self, path: Path, busy_timeout_ms: int = 10000, keys_loader: Callable | None = None):
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)  # owner-only before any data
        os.fchmod(fd, 0o600)
        os.close(fd)
        self.migrate("INTEGER PRIMARY KEY AUTOINCREMENT", keys_loader=keys_loader)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=self.busy_timeout_ms / 1000)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _attempt(self, fn: Callable[[Tx], T], write: bool) -> T:
        conn = self._conn()

        def run_sql(sql: str, params: tuple) -> tuple[list, int]:
            cur = conn.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
            return rows, cur.rowcount

        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = fn(Tx(run_sql))
            conn.execute("COMMIT")
            return result
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _is_transient(self, exc: BaseException) -> bool:
        text = str(exc).lower()
        return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()
