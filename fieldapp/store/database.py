"""The encrypted field store: one SQLCipher database per laptop, opened with a raw key.

``Store(data_dir)`` knows the files; ``Store.create`` makes a new store and
its first supervisor; ``Store.unlock`` checks the lockout, opens the user's
key slot, opens the database and returns a ``Session``. All writes go through
``Session.write()``, a ``BEGIN IMMEDIATE`` transaction: a save is reported only
after COMMIT, and with WAL plus ``synchronous=FULL`` a reported save survives a
power cut.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from fieldapp.store import audit, lockout, migrations
from fieldapp.store.dbapi import DatabaseError, open_encrypted
from fieldapp.base.errors import AuthError, PermissionDenied, StoreError, TamperError
from fieldapp.base.fsutil import create_private, secure_dir
from fieldapp.store.keyslots import SlotFile
from fieldapp.base.paths import DB_FILE, DataDir

log = logging.getLogger(__name__)
ROLES = ("outreach", "supervisor")


def damaged(exc: Exception, path=None) -> StoreError:
    """Translate a driver error into a user-facing one (no SQL, no data). ``path``: the data folder, to tell a
    full disk (SQLite may report only "disk I/O error") from a damaged file."""
    from fieldapp.base.fsutil import is_disk_full

    text = str(exc).lower()
    if is_disk_full(exc, path):
        return StoreError("core.store.disk_full")
    if "locked" in text or "busy" in text:
        return StoreError("core.store.busy")
    if "readonly" in text or "read-only" in text:
        return StoreError("core.store.read_only")
    return StoreError("core.store.damaged")


class Store:
    def __init__(self, data_dir, schema_target: int | None = None):
        """``schema_target`` stops migrations at that version (only the sample-store generator uses it)."""
        self.data_dir = Path(data_dir)
        self.schema_target = schema_target
        self.db_path = DataDir(self.data_dir).db
        self.slots_path = DataDir(self.data_dir).slots

    def exists(self) -> bool:
        """A store exists once its key slots are written (the last step of ``create``)."""
        return self.slots_path.exists()

    def slots_lost(self) -> bool:
        """The database and the escrowed recovery slot are here but ``keyslots.json`` is not: a store
        whose key slots were destroyed, to be rebuilt with ``fieldapp recover``, never replaced."""
        return not self.slots_path.exists() and DataDir(self.data_dir).escrow.exists() and self.db_path.exists()

    def require_exists(self) -> None:
        """Raise the right error when there is no usable store here: its key slots lost, or none at all."""
        if not self.exists():
            raise StoreError("core.store.slots_lost" if self.slots_lost() else "core.store.missing")

    def _set_aside_incomplete(self) -> None:
        """Move aside what an interrupted ``create`` left (no slots yet, so nothing usable), never delete
        it: a database without key slots may also be a store whose slot file was lost."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = self.db_path.with_name(self.db_path.name + suffix)
            if path.exists():
                path.replace(path.with_name(f"{path.name}.unopened-{stamp}"))

    def slots(self) -> SlotFile:
        return SlotFile.load(self.slots_path)

    def users(self) -> list[str]:
        """User names that can log in (read from the key slots; no unlock needed)."""
        return self.slots().users()

    # -- creation ------------------------------------------------------
    def create(self, user: str, password: str, full_name: str | None = None, recovery_public: bytes | None = None,
               kdf: dict | None = None) -> "Session":
        """A new store with ``user`` as its first supervisor. Refuses if a store exists."""
        if self.exists():
            raise StoreError("core.store.exists")
        if self.slots_lost():
            raise StoreError("core.store.slots_lost")
        secure_dir(self.data_dir)
        self._set_aside_incomplete()
        key = secrets.token_bytes(32)
        slots = SlotFile.new(self.slots_path)
        slots.set_password(user, password, key, kdf)
        if recovery_public:
            slots.set_recovery(recovery_public, key)
        create_private(self.db_path)
        conn = self._open(key)
        session = Session(self, conn, key, {"name": user, "role": "supervisor", "full_name": full_name})
        with session.write() as tx:
            tx.execute(
                "INSERT INTO users (name, full_name, role, disabled, created_at, created_by) VALUES (?, ?, 'supervisor', 0, ?, NULL)",
                (user, full_name, audit.now_iso()),
            )
            tx.execute("INSERT INTO settings (key, value) VALUES ('store_id', ?)", (slots.store_id,))
            session.audit.append(user, "store.created")
        slots.save(key)  # last: a store without a slot file is an incomplete init, not a usable store
        return session

    # -- opening -------------------------------------------------------
    def _open(self, key: bytes):
        schema_target = self.schema_target
        try:
            conn = open_encrypted(str(self.db_path), key)
        except DatabaseError as exc:
            raise damaged(exc, self.data_dir) from None
        try:
            conn.isolation_level = None
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=10000")
            if migrations.pending(conn, schema_target):
                if migrations.current_version(conn) > 0:
                    self._backup_before_migration(conn)
                try:
                    migrations.migrate(conn, schema_target)
                except DatabaseError as exc:
                    log.error("migration failed and was rolled back (%s)", type(exc).__name__)
                    conn.close()
                    raise StoreError("core.store.migration_failed") from None
            elif migrations.current_version(conn) > migrations.LATEST:
                raise StoreError("core.store.too_new")
        except DatabaseError as exc:
            conn.close()
            raise damaged(exc, self.data_dir) from None
        return conn

    def _backup_before_migration(self, conn) -> Path:
        """Copy the (encrypted) database file aside before a schema upgrade."""
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        backups = secure_dir(DataDir(self.data_dir).backups)
        target = backups / f"{DB_FILE}.v{migrations.current_version(conn)}.{time.strftime('%Y%m%dT%H%M%S')}.bak"
        create_private(target)
        shutil.copyfile(self.db_path, target)
        log.info("backed up store before migration to %s", target.name)
        return target

    def unlock_key(self, user: str, password) -> tuple[bytes, SlotFile]:
        """The one login check (lockout, ``user``'s key slot, the slot file's MAC): the database key and the slots,
        without opening the database. A wrong password counts toward the lockout; the caller records the success.
        ``password`` may be a function, called once the lockout allows a try."""
        self.require_exists()
        lockout.check(self.data_dir, user)
        slots = self.slots()
        if callable(password):
            password = password()
        if user not in slots.users():
            lockout.record_failure(self.data_dir, user)
            raise AuthError("core.auth.wrong_password")
        try:
            key = slots.unlock(user, password)
        except AuthError:
            lockout.record_failure(self.data_dir, user)
            raise
        slots.check_mac(key)
        return key, slots

    def unlock(self, user: str, password: str) -> "Session":
        """Authenticate offline (opening one's key slot is the authentication) and open the store."""
        key, slots = self.unlock_key(user, password)
        session = self.open_with_key(key, user)
        try:
            slots.write_escrow()  # stores made before the escrow existed get theirs at the next login
        except OSError:
            log.warning("could not write the recovery escrow; will try at the next login")
        lockout.record_success(self.data_dir, user)
        return session

    def open_with_key(self, key: bytes, user: str | None) -> "Session":
        conn = self._open(key)
        info = {"name": None, "role": None, "full_name": None}
        if user is not None:
            row = conn.execute("SELECT name, role, full_name, disabled FROM users WHERE name = ?", (user,)).fetchone()
            if row is None or row[3]:
                conn.close()
                raise AuthError("core.auth.disabled" if row else "core.auth.unknown_user")
            info = {"name": row[0], "role": row[1], "full_name": row[2]}
        return Session(self, conn, key, info)


@dataclass
class Session:
    """An unlocked store and the user working in it."""

    store: Store
    conn: object
    key: bytes
    user: dict
    _audit: audit.AuditLog | None = field(default=None, repr=False)

    @property
    def audit(self) -> audit.AuditLog:
        if self._audit is None:
            self._audit = audit.AuditLog(self.conn)
        return self._audit

    @property
    def name(self) -> str:
        return self.user["name"]

    @property
    def is_supervisor(self) -> bool:
        return self.user.get("role") == "supervisor"

    def require_supervisor(self) -> None:
        if not self.is_supervisor:
            raise PermissionDenied("core.auth.supervisor_only")

    @contextlib.contextmanager
    def write(self):
        """One durable transaction; rolled back entirely on any error."""
        self._audit = None  # re-read the chain head inside the transaction
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except DatabaseError as exc:
            raise damaged(exc, self.store.data_dir) from None
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except DatabaseError as exc:
            self._rollback()
            raise damaged(exc, self.store.data_dir) from None
        except BaseException:
            self._rollback()
            raise
        finally:
            self._audit = None

    def _rollback(self) -> None:
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except DatabaseError:
            pass

    def close(self) -> None:
        try:
            self.conn.close()
        except DatabaseError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def umask_private() -> None:
    """Files the process creates are owner-only unless a function sets otherwise."""
    if os.name == "posix":
        os.umask(0o077)


__all__ = ["Store", "Session", "ROLES", "damaged", "umask_private", "TamperError"]
