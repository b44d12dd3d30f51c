"""Whole-store backups to a USB stick, so records not yet sent survive a stolen or dead laptop.

A backup is one zip file (stored, not compressed: everything in it is already encrypted or holds no
personal data) with:

- ``fieldapp.db``: a consistent snapshot taken with SQLite's online backup API, encrypted with the
  store's own key (SQLCipher page encryption; the plaintext never touches the disk);
- ``keyslots.json`` and ``recovery-slot.json``: the wrapped key, so the users' passwords at backup time
  (or IT's recovery key) open it;
- ``desktop.json``, ``provisioning.json``, ``provisioned-ca.pem`` if present (settings, no personal data);
- ``manifest.json``: format, store ID, schema version, when, record counts by state, and the SHA-256
  and size of every other member (readable without a password: no personal data, no login name).

``restore`` only ever creates a new data folder: it never writes over a store. It checks every member
against the manifest, unlocks the copy with a supervisor's password, then prepares the records that
were on their way to the registry to be sealed again by *this* laptop once it is registered: queued,
synced and quarantined records go back to ``approved`` and their outbox entries (sealed and signed
by the old laptop's key, which is not in the backup) are dropped; registered ones keep theirs. The registry is idempotent by record ID,
so a record it already holds comes back ``duplicate``: nothing is counted twice, nothing is lost.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import uuid
import zipfile
from pathlib import Path

from fieldapp import __version__
from fieldapp.domain import states
from fieldapp.domain.states import State
from fieldapp.store import migrations
from fieldapp.base.encoding import now_iso, wire_time
from fieldapp.store.dbapi import DatabaseError, open_encrypted
from fieldapp.base.errors import FieldappError, StoreError, TamperError
from fieldapp.base.fsutil import create_private, fsync_dir, is_disk_full, secure_dir
from fieldapp.base.paths import (APPLIED_FILE, CA_FILE, CONFIG_FILE, DB_FILE, DEVICE_FILE, ESCROW_FILE, SLOTS_FILE,
                                 SPOOL_FILE, DataDir)
from fieldapp.store.database import Session, Store, damaged

FORMAT, VERSION = "fieldapp-backup", 1
MANIFEST = "manifest.json"
OPTIONAL = (ESCROW_FILE, CONFIG_FILE, APPLIED_FILE, CA_FILE)
MEMBERS = (DB_FILE, SLOTS_FILE) + OPTIONAL
MAX_MANIFEST_BYTES = 64 * 1024
RESEND_STATES = states.RESEND
STORE_FILES = (DB_FILE, DB_FILE + "-wal", DB_FILE + "-journal", SLOTS_FILE, ESCROW_FILE, DEVICE_FILE, SPOOL_FILE)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _failed(exc: Exception, folder: Path) -> StoreError:
    """Why a backup could not be written, in the user's words (the store itself is untouched)."""
    if is_disk_full(exc, folder):
        return StoreError("core.backup.disk_full")
    error = damaged(exc, folder)
    return error if error.msg_id != "core.store.damaged" else StoreError("core.backup.write_failed")


def create(session: Session, out: Path) -> dict:
    """Supervisor only: write a backup of the whole store to ``out`` (refuses an existing file).

    Returns the manifest. The file appears complete or not at all (written beside, then renamed).
    """
    session.require_supervisor()
    out = Path(out)
    if out.exists():
        raise FieldappError("core.cli.file_exists", path=str(out))
    data_dir = session.store.data_dir
    name = glob.escape(out.name)
    for stale in list(out.parent.glob(f".{name}.*.tmp")) + list(out.parent.glob(f".{name}.partial")):
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)  # a killed run's
    work = out.parent / f".{out.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        secure_dir(work)
        snapshot = work / DB_FILE
        create_private(snapshot)
        try:
            target = open_encrypted(str(snapshot), session.key)
            try:
                session.conn.backup(target)
            finally:
                target.close()
        except DatabaseError as exc:
            raise _failed(exc, out.parent) from None
        files = {DB_FILE: snapshot}
        for name in (SLOTS_FILE,) + OPTIONAL:
            if (data_dir / name).exists():
                shutil.copyfile(data_dir / name, work / name)
                files[name] = work / name
        counts = dict(session.conn.execute("SELECT state, COUNT(*) FROM records GROUP BY state").fetchall())
        manifest = {
            "format": FORMAT, "version": VERSION, "app_version": __version__,
            "store_id": session.store.slots().store_id,
            "schema_version": migrations.current_version(session.conn),
            "created_at": now_iso(), "counts": counts,  # no login name: the audit trail inside says who
            "files": {name: {"sha256": _sha256(path), "size": path.stat().st_size} for name, path in files.items()},
        }
        partial = out.with_name(f".{out.name}.partial")
        create_private(partial)
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, sort_keys=True, indent=1))
            for name, path in files.items():
                zf.write(path, name)
        with open(partial, "r+b") as fh:  # writable: Windows flushes only a handle open for writing
            os.fsync(fh.fileno())
        os.replace(partial, out)
        fsync_dir(out.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            out.with_name(f".{out.name}.partial").unlink()
        raise _failed(exc, out.parent) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with session.write():
        session.audit.append(session.name, "store.backup", reason=str(sum(counts.values())))
    return manifest


def read_manifest(archive: Path) -> dict:
    """The checked manifest of a backup file (``TamperError`` if it is not one, or not intact)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            return _check(zf)
    except FileNotFoundError:
        raise StoreError("core.backup.missing", path=str(archive)) from None
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        raise TamperError("core.backup.unreadable") from None


def _check(zf: zipfile.ZipFile) -> dict:
    infos = {i.filename: i for i in zf.infolist()}
    if MANIFEST not in infos or infos[MANIFEST].file_size > MAX_MANIFEST_BYTES:
        raise TamperError("core.backup.unreadable")
    manifest = json.loads(zf.read(MANIFEST))
    if not isinstance(manifest, dict):
        raise TamperError("core.backup.unreadable")
    files = manifest.get("files")
    if manifest.get("format") != FORMAT or not isinstance(files, dict) or not isinstance(manifest.get("store_id"), str):
        raise TamperError("core.backup.unreadable")
    if manifest.get("version") != VERSION:
        raise StoreError("core.backup.version", version=str(manifest.get("version")))
    names = set(infos) - {MANIFEST}
    if names != set(files) or not {DB_FILE, SLOTS_FILE} <= names or not names <= set(MEMBERS):
        raise TamperError("core.backup.tampered")
    for name in names:
        entry, info = files[name], infos[name]
        if (not isinstance(entry, dict) or info.file_size != entry.get("size") or info.compress_type != zipfile.ZIP_STORED
                or info.flag_bits & 0x1):
            raise TamperError("core.backup.tampered")
    return manifest


def holds_a_store(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds (any part of) a store, which a restore must never replace."""
    return any((Path(data_dir) / name).exists() for name in STORE_FILES)


def restore(archive: Path, data_dir: Path, user: str, password: str, recovery_key: bytes | None = None) -> dict:
    """Make ``data_dir`` a copy of the backup; ``user`` must be one of its supervisors.

    With ``recovery_key`` (IT's private recovery key), nobody's old password is needed: the copy's
    recovery slot gives ``user`` a supervisor slot with ``password`` first (``recovery.recover``).

    ``data_dir`` may be absent or hold settings (a first run that chose a language or applied IT's
    provisioning file: those are kept), but no part of a store. Everything is prepared in a hidden
    folder beside it and moved in at the end, ``keyslots.json`` last (a store exists only once its key
    slots do). Returns ``{"store_id", "records", "to_resend", "restored_at"}``. On any failure before
    the move nothing is left at ``data_dir``.
    """
    data_dir = Path(data_dir)
    if data_dir.exists() and (not data_dir.is_dir() or holds_a_store(data_dir)):
        raise StoreError("core.backup.target_not_empty", path=str(data_dir))
    staging = data_dir.with_name(f".{data_dir.name}.restoring-{uuid.uuid4().hex[:8]}")
    secure_dir(staging)
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                manifest = _check(zf)
                for name, entry in manifest["files"].items():
                    target = staging / name
                    create_private(target)
                    digest = hashlib.sha256()
                    with zf.open(name) as src, open(target, "wb") as dst:
                        for block in iter(lambda: src.read(1 << 20), b""):
                            digest.update(block)
                            dst.write(block)
                        dst.flush()
                        os.fsync(dst.fileno())
                    if digest.hexdigest() != entry.get("sha256"):
                        raise TamperError("core.backup.tampered")
        except FileNotFoundError:
            raise StoreError("core.backup.missing", path=str(archive)) from None
        except (zipfile.BadZipFile, ValueError, KeyError):
            raise TamperError("core.backup.unreadable") from None
        if recovery_key is not None:
            from fieldapp.store.recovery import recover

            recover(Store(staging), recovery_key, user, password)
        result = _prepare(Store(staging), manifest, user, password)
        fsync_dir(staging)
        _move_in(staging, data_dir)
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_in(staging: Path, data_dir: Path) -> None:
    secure_dir(data_dir)
    names = sorted(p.name for p in staging.iterdir() if p.is_file() and p.name != SLOTS_FILE)
    for name in names + [SLOTS_FILE]:
        if name in OPTIONAL[1:] and (data_dir / name).exists():
            continue  # this laptop's own settings and provisioning are newer than the backup's
        os.replace(staging / name, data_dir / name)
    fsync_dir(data_dir)


def _prepare(store: Store, manifest: dict, user: str, password: str) -> dict:
    with store.unlock(user, password) as session:
        session.require_supervisor()
        row = session.conn.execute("SELECT value FROM settings WHERE key = 'store_id'").fetchone()
        if row is None or row[0] != manifest["store_id"] or store.slots().store_id != manifest["store_id"]:
            raise TamperError("core.backup.tampered")
        resend = [r[0] for r in session.conn.execute(
            f"SELECT id FROM records WHERE state IN ({','.join('?' * len(RESEND_STATES))}) ORDER BY id", RESEND_STATES)]
        with session.write() as tx:
            now = now_iso()
            for rid in resend:
                old = tx.execute("SELECT state FROM records WHERE id = ?", (rid,)).fetchone()[0]
                new = states.require("restore", old, State.APPROVED)
                tx.execute("UPDATE records SET state = ?, reason = NULL, updated_at = ? WHERE id = ?", (new, now, rid))
                session.audit.append(session.name, "record.restored", rid, old, new, ts=now)
                tx.execute("DELETE FROM outbox WHERE record_id = ?", (rid,))  # sealed by the old laptop's key
            session.audit.append(session.name, "store.restored", reason=manifest.get("created_at"))
        total = session.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    DataDir(store.data_dir).lockout.unlink(missing_ok=True)  # a fresh start on the new laptop
    return {"store_id": manifest["store_id"], "records": total, "to_resend": len(resend),
            "restored_at": wire_time()}

