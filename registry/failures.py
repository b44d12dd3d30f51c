"""Storage failures: which exceptions mean a full disk or unavailable storage, and the service's memory of them.

A full disk (ENOSPC/EDQUOT, SQLite's "database or disk is full", PostgreSQL's ``DiskFull``, SQLSTATE 53100) is
``disk_full``; other storage errors (I/O errors, a read-only or missing database, a lost PostgreSQL connection,
a damaged file) are ``storage_unavailable``. Requests that meet either are answered 503 with ``Retry-After``
(nothing was written: every write is one transaction), and ``GET /v1/health`` says ``degraded`` with the reason
while it lasts. Errors that are bugs (an SQL constraint violated, a programming error) are not storage failures.
Only reason codes and exception type names leave this module, never an exception's message.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from fieldapp.base.encoding import wire_time
from fieldapp.base.fsutil import LOW_SPACE, is_disk_full

DISK_FULL, UNAVAILABLE = "disk_full", "storage_unavailable"
RETRY_AFTER = {DISK_FULL: 60, UNAVAILABLE: 10}  # seconds: a full disk needs an operator
WINDOW = 60.0  # a failure keeps health degraded this long unless a write succeeds first


def _psycopg_kind(exc: BaseException) -> str | None:
    module = type(exc).__module__ or ""
    if not module.startswith("psycopg"):
        return None
    if getattr(exc, "sqlstate", None) == "53100" or type(exc).__name__ == "DiskFull":
        return DISK_FULL
    names = {c.__name__ for c in type(exc).__mro__}
    return UNAVAILABLE if names & {"OperationalError", "InterfaceError", "PoolTimeout"} else None


def classify(exc: BaseException, data_dir: Path | None = None) -> str | None:
    """``disk_full``, ``storage_unavailable``, or None when ``exc`` is not a storage failure."""
    pg = _psycopg_kind(exc)
    if pg is None and not isinstance(exc, (sqlite3.Error, OSError)):
        return None
    if pg == DISK_FULL or is_disk_full(exc, data_dir):
        return DISK_FULL
    if isinstance(exc, (OSError, sqlite3.OperationalError)) or type(exc) is sqlite3.DatabaseError:
        return UNAVAILABLE  # I/O error, read-only, cannot open, not a database, malformed
    return pg


def storage_exceptions() -> tuple[type[BaseException], ...]:
    """The exception classes that may be storage failures (the app maps them with ``classify``)."""
    classes: list[type[BaseException]] = [sqlite3.Error, OSError]
    try:
        import psycopg

        classes.append(psycopg.Error)
    except ImportError:  # pragma: no cover - SQLite-only install
        pass
    return tuple(classes)


class StorageHealth:
    """The last storage failure (reason and when), cleared by a write that succeeds after it.

    ``data_dir`` is the folder of the SQLite database (None for PostgreSQL): while it has less than 1 MiB free,
    the state is ``disk_full`` whatever happened last. ``free_bytes`` is refreshed by the background worker, so
    ``state()`` (read by ``GET /v1/health`` on the event loop) makes no system call."""

    def __init__(self, data_dir: Path | None):
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._since = self._last = 0.0
        self.free_bytes: int | None = None
        self.refresh()

    def failed(self, reason: str) -> None:
        with self._lock:
            now = time.time()
            if self._reason != reason:
                self._reason, self._since = reason, now
            self._last = time.monotonic()

    def succeeded(self) -> None:
        with self._lock:
            self._reason = None

    def refresh(self) -> None:
        """Measure the free space of the database's folder (the worker calls this every pass)."""
        if self.data_dir is None:
            return
        try:
            st = os.statvfs(self.data_dir)
            self.free_bytes = st.f_bavail * st.f_frsize
        except OSError:
            self.free_bytes = None

    def state(self) -> tuple[str, str] | None:
        """``(reason, since)`` while the storage is failing, else None."""
        with self._lock:
            reason, since, last = self._reason, self._since, self._last
        if self.free_bytes is not None and self.free_bytes < LOW_SPACE:
            return DISK_FULL, wire_time(since if reason == DISK_FULL else time.time())
        if reason and time.monotonic() - last < WINDOW:
            return reason, wire_time(since)
        return None
