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

from fieldapp.base.encoding import b64encode
from fieldapp.domain import signed
from fieldapp.store import approval, audit, lockout, migrations, trusted
from fieldapp.store.dbapi import DatabaseError, open_encrypted
from fieldapp.base.errors import AuthError, PermissionDenied, StoreError, TamperError
from fieldapp.base.fsutil import create_private, secure_dir
from fieldapp.store.keyslots import Keys, SlotFile
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
        key, approval_key = secrets.token_bytes(32), signed.new_key()
        slots = SlotFile.new(self.slots_path)
        slots.set_password(user, password, key, kdf, approval_key=approval_key)
        if recovery_public:
            slots.set_recovery(recovery_public, key, approval_key)
        create_private(self.db_path)
        conn = self._open(key)
        session = Session(self, conn, key, {"name": user, "role": "supervisor", "full_name": full_name}, approval_key)
        with session.write() as tx:
            tx.execute(
                "INSERT INTO users (name, full_name, role, disabled, created_at, created_by) VALUES (?, ?, 'supervisor', 0, ?, NULL)",
                (user, full_name, audit.now_iso()),
            )
            tx.execute("INSERT INTO settings (key, value) VALUES ('store_id', ?)", (slots.store_id,))
            trusted.put(tx, "approval.public_key", b64encode(signed.public_of(approval_key)))
            if recovery_public:
                trusted.put(tx, "recovery.fingerprint", slots.recovery_fingerprint())
            approval.sign_role(session, tx, user)
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
        """Copy the (encrypted) database file aside before a schema upgrade, and the key slots with it: the first login
        after an upgrade may rewrite them in a form the older release cannot read (``fieldapp rollback`` puts both
        back)."""
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        backups = secure_dir(DataDir(self.data_dir).backups)
        stamp = f"v{migrations.current_version(conn)}.{time.strftime('%Y%m%dT%H%M%S')}"
        target = backups / f"{DB_FILE}.{stamp}.bak"
        create_private(target)
        shutil.copyfile(self.db_path, target)
        if self.slots_path.exists():
            slots_copy = backups / f"{self.slots_path.name}.{stamp}.bak"
            create_private(slots_copy)
            shutil.copyfile(self.slots_path, slots_copy)
        log.info("backed up store before migration to %s", target.name)
        return target

    def unlock_key(self, user: str, password) -> tuple[Keys, SlotFile]:
        """The one login check (lockout, ``user``'s key slot, the slot file's MAC): what the slot holds and the slots,
        without opening the database. ``password`` may be a function, called once the lockout allows a try."""
        self.require_exists()
        if callable(password):
            lockout.check(self.data_dir, user)  # before asking: a locked-out user is not made to type
            password = password()
        with lockout.attempt(self.data_dir, user) as attempt:
            return self._try(attempt, user, password)

    def _try(self, attempt, user: str, password: str) -> tuple[Keys, SlotFile]:
        """Inside the lockout's lock: derive, open the slot, check the file's MAC, and record the outcome."""
        slots = self.slots()
        if user not in slots.users():
            attempt.failed()
            raise AuthError("core.auth.wrong_password")
        try:
            keys = slots.unlock(user, password)
        except AuthError:
            attempt.failed()
            raise
        slots.check_mac(keys.db_key, keys.next_db_key)
        attempt.succeeded()
        return keys, slots

    def unlock(self, user: str, password: str) -> "Session":
        """Authenticate offline (opening one's key slot is the authentication) and open the store.

        One attempt at a time (``lockout.attempt``): the check, the derivation, opening the database and finishing
        an interrupted ``rekey`` happen under one lock. A supervisor's slot also opens the approval key; a user whose
        slot does not is an outreach worker, whatever the database's ``users`` table says."""
        self.require_exists()
        with lockout.attempt(self.data_dir, user) as attempt:
            keys, slots = self._try(attempt, user, password)
            from fieldapp.store import rekey

            db_key = rekey.settle(self, slots, keys)
            session = self.open_with_key(db_key, user, keys.approval_key)
        try:
            approval.on_login(session, slots, keys, password)
            if session.approval_key is None:
                session.user["role"] = "outreach"
        except BaseException:
            session.close()
            raise
        try:
            slots.write_escrow()  # stores made before the escrow existed get theirs at the next login
        except OSError:
            log.warning("could not write the recovery escrow; will try at the next login")
        return session

    def open_with_key(self, key: bytes, user: str | None, approval_key: bytes | None = None) -> "Session":
        conn = self._open(key)
        info = {"name": None, "role": None, "full_name": None}
        if user is not None:
            row = conn.execute("SELECT name, role, full_name, disabled FROM users WHERE name = ?", (user,)).fetchone()
            if row is None or row[3]:
                conn.close()
                raise AuthError("core.auth.disabled" if row else "core.auth.unknown_user")
            info = {"name": row[0], "role": row[1], "full_name": row[2]}
        return Session(self, conn, key, info, approval_key)


@dataclass
class Session:
    """An unlocked store and the user working in it."""

    store: Store
    conn: object
    key: bytes = field(repr=False)
    user: dict
    approval_key: bytes | None = field(default=None, repr=False)  # supervisors only (their slot opens it)
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
            if self.approval_key is not None and self._audit is not None and self._audit.appended:
                approval.sign_head(self)  # the chain's new head, signed in the same transaction
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
