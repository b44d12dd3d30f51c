"""Whole-store backups to a USB stick, so records not yet sent survive a stolen or dead laptop.

A backup is one zip file (stored, not compressed: everything in it is already encrypted or holds no
personal data) with:

- ``fieldapp.db``: a consistent snapshot taken with SQLite's online backup API, encrypted with the
  store's own key (SQLCipher page encryption; the plaintext never touches the disk), without this
  laptop's registration (``REGISTRATION``: the device identity and its key are never in a backup);
- ``keyslots.json``: the wrapped key, so the users' passwords at backup time (or IT's recovery key)
  open it (its own MAC, keyed from the store key, is checked at unlock);
- ``desktop.json`` if present and valid (language, idle lock, last login name, office commune: no personal data);
- ``manifest.json``: format, store ID, schema version, when, record counts by state, the SHA-256 and
  size of every other member (readable without a password: no personal data, no login name), and
  (format 2) ``mac``: HMAC-SHA256 over the canonical JSON of the rest of the manifest, under a key
  derived from the store key (HKDF-SHA256, info ``fieldapp backup manifest v1``). Only someone who
  holds the store key can write a manifest that verifies, and it is checked once the copy is unlocked.

A backup is input like any other file outside the store, checked every time it is read: nothing in
it is trusted before the unlock, and ``read_manifest``'s figures are marked unverified. Provisioning
(``provisioning.json``, ``provisioned-ca.pem``) is never written to a backup and never restored from
one (IT applies its signed provisioning file on the replacement laptop); ``recovery-slot.json`` is
rebuilt from the restored (MAC-checked) key slots, never taken from the file. Format 1 backups (no
MAC, written by earlier releases) still restore, but only their database and key slots: the two
members whose own cryptography the unlock checks. Everything else in them is ignored.

``restore`` only ever creates a new data folder: it never writes over a store. It checks every member
against the manifest, unlocks the copy with a supervisor's password, checks the manifest's MAC, then
prepares the records that were on their way to the registry to be sealed again by *this* laptop once
it is registered: queued, synced and quarantined records go back to ``approved`` and their outbox
entries (sealed and signed by the old laptop's key, which is not in the backup) are dropped;
registered ones keep theirs. The registry is idempotent by record ID, so a record it already holds
comes back ``duplicate``: nothing is counted twice, nothing is lost.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import hmac
import json
import logging
import os
import re
import shutil
import uuid
import zipfile
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldapp import __version__
from fieldapp.domain import states
from fieldapp.domain.states import State
from fieldapp.store import migrations
from fieldapp.base.encoding import canonical_json, now_iso, parse_iso, wire_time
from fieldapp.store.dbapi import DatabaseError, open_encrypted
from fieldapp.base.errors import FieldappError, StoreError, TamperError
from fieldapp.base.fsutil import atomic_write_json, create_private, fsync_dir, is_disk_full, read_json, secure_dir
from fieldapp.base.paths import (APPLIED_FILE, CA_FILE, CONFIG_FILE, DB_FILE, DEVICE_FILE, ESCROW_FILE, SLOTS_FILE,
                                 SPOOL_FILE, DataDir)
from fieldapp.store.database import Session, Store, damaged

log = logging.getLogger(__name__)
FORMAT, VERSION = "fieldapp-backup", 2
MANIFEST = "manifest.json"
MAC_INFO = b"fieldapp backup manifest v1"
#: the members each format may hold besides the manifest (format 1 also carried the escrow and provisioning)
MEMBERS = {1: (DB_FILE, SLOTS_FILE, ESCROW_FILE, CONFIG_FILE, APPLIED_FILE, CA_FILE),
           2: (DB_FILE, SLOTS_FILE, CONFIG_FILE)}
#: the members a restore takes from each format: from an unauthenticated (format 1) manifest only those
#: the unlock itself authenticates (SQLCipher's page MACs, the key slot file's MAC)
TAKEN = {1: (DB_FILE, SLOTS_FILE), 2: (DB_FILE, SLOTS_FILE, CONFIG_FILE)}
#: what a finished restore moves into the data folder (``keyslots.json`` last); never provisioning, device, spool
MOVED_IN = (DB_FILE, DB_FILE + "-wal", ESCROW_FILE, CONFIG_FILE)
#: the old laptop's registration as the store holds it (``trusted.`` settings: the device identity, whose private
#: key is among it, and what it enrolled with): left out of every backup and forgotten by a restore, which registers anew
REGISTRATION = ("trusted.device.%", "trusted.registry.%")
_FORGET = "DELETE FROM settings WHERE " + " OR ".join("key LIKE ?" for _ in REGISTRATION)
MAX_MANIFEST_BYTES = 64 * 1024
MAX_CONFIG_BYTES = 16 * 1024
RESEND_STATES = states.RESEND
STORE_FILES = (DB_FILE, DB_FILE + "-wal", DB_FILE + "-journal", SLOTS_FILE, ESCROW_FILE, DEVICE_FILE, SPOOL_FILE)
_MAC_RE = re.compile(r"[0-9a-f]{64}")


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


def manifest_mac(manifest: dict, db_key: bytes) -> str:
    """The MAC of ``manifest`` (every field but ``mac``) under the key derived from the store key ``db_key``."""
    mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=MAC_INFO).derive(db_key)
    body = {k: v for k, v in manifest.items() if k != "mac"}
    return hmac.new(mac_key, canonical_json(body), hashlib.sha256).hexdigest()


def _mac_matches(manifest: dict, db_key: bytes) -> bool:
    given = manifest.get("mac")
    return isinstance(given, str) and hmac.compare_digest(given.encode("utf-8"),
                                                          manifest_mac(manifest, db_key).encode("ascii"))


def valid_config(path: Path) -> dict | None:
    """``desktop.json``'s settings if the file holds nothing but valid ones (a known language, an idle lock in
    range, a well-formed login name), else None: a backup brings the settings over whole or not at all."""
    from fieldapp.base import config
    from fieldapp.base.i18n import LANGUAGES

    try:
        if Path(path).stat().st_size > MAX_CONFIG_BYTES:
            return None
        doc = read_json(path)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or not set(doc) <= {"language", "idle_minutes", "last_user", "office_commune"}:
        return None
    language = doc.get("language", config.DEFAULT_LANGUAGE)
    idle = doc.get("idle_minutes", config.DEFAULT_IDLE_MINUTES)
    user = doc.get("last_user")
    office = doc.get("office_commune")
    if (not isinstance(language, str) or language not in LANGUAGES or type(idle) is not int
            or not config.MIN_IDLE_MINUTES <= idle <= config.MAX_IDLE_MINUTES
            or not (user is None or (isinstance(user, str) and config.NAME_RE.fullmatch(user)))
            or not (office is None or (isinstance(office, str) and config.COMMUNE_RE.fullmatch(office)))):
        return None
    settings = {"language": language, "idle_minutes": idle, "last_user": user}
    if office is not None:
        settings["office_commune"] = office
    return settings


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
                target.execute("PRAGMA secure_delete=ON")
                target.execute(_FORGET, REGISTRATION)
                target.commit()
            finally:
                target.close()
        except DatabaseError as exc:
            raise _failed(exc, out.parent) from None
        files = {DB_FILE: snapshot, SLOTS_FILE: work / SLOTS_FILE}
        shutil.copyfile(data_dir / SLOTS_FILE, work / SLOTS_FILE)  # its own MAC is checked at the restore's unlock
        settings = valid_config(data_dir / CONFIG_FILE)
        if settings is not None:  # a missing or invalid desktop.json stays behind
            files[CONFIG_FILE] = work / CONFIG_FILE
            create_private(files[CONFIG_FILE])
            files[CONFIG_FILE].write_bytes(json.dumps(settings, sort_keys=True).encode("utf-8"))
        counts = dict(session.conn.execute("SELECT state, COUNT(*) FROM records GROUP BY state").fetchall())
        manifest = {
            "format": FORMAT, "version": VERSION, "app_version": __version__,
            "store_id": session.store.slots().store_id,
            "schema_version": migrations.current_version(session.conn),
            "created_at": now_iso(), "counts": counts,  # no login name: the audit trail inside says who
            "files": {name: {"sha256": _sha256(path), "size": path.stat().st_size} for name, path in files.items()},
        }
        manifest["mac"] = manifest_mac(manifest, session.key)
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
    """The manifest of a backup file, checked for form only (``TamperError`` if it is not one, or not intact).

    Nothing in it is verified before the copy is unlocked (format 2's MAC needs the store key; format 1 has
    none): the result carries ``"verified": False``, and its figures (counts, dates, versions) must not be
    shown as facts. ``restore`` returns the verified ones.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            return dict(_check(zf), verified=False)
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
    files, version = manifest.get("files"), manifest.get("version")
    if (manifest.get("format") != FORMAT or not isinstance(files, dict) or not isinstance(manifest.get("store_id"), str)
            or type(version) is not int or version < 1):
        raise TamperError("core.backup.unreadable")
    if version > VERSION:
        raise StoreError("core.backup.version", version=str(version))
    if version >= 2 and not (isinstance(manifest.get("mac"), str) and _MAC_RE.fullmatch(manifest["mac"])):
        raise TamperError("core.backup.tampered")
    if version == 1 and "mac" in manifest:
        raise TamperError("core.backup.tampered")  # a format 2 manifest relabelled: no earlier release wrote one
    names = set(infos) - {MANIFEST}
    if names != set(files) or not {DB_FILE, SLOTS_FILE} <= names or not names <= set(MEMBERS[version]):
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
    the move (a wrong MAC included) nothing is left at ``data_dir``.
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
                for name in TAKEN[manifest["version"]]:
                    if name in manifest["files"]:
                        _extract(zf, name, manifest["files"][name], staging / name)
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


def _extract(zf: zipfile.ZipFile, name: str, entry: dict, target: Path) -> None:
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


def _move_in(staging: Path, data_dir: Path) -> None:
    secure_dir(data_dir)
    for name in MOVED_IN + (SLOTS_FILE,):
        if not (staging / name).is_file():
            continue
        if name == CONFIG_FILE and (data_dir / name).exists():
            continue  # this laptop's own settings are newer than the backup's
        os.replace(staging / name, data_dir / name)
    fsync_dir(data_dir)


def _settle_side_files(store: Store, db_key: bytes) -> None:
    """After the unlock: the escrow made from the (MAC-checked) key slots, ``desktop.json`` only if valid."""
    slots = store.slots()
    slots.check_mac(db_key)
    escrow = DataDir(store.data_dir).escrow
    if slots.escrow() is None:
        escrow.unlink(missing_ok=True)
    else:
        slots.write_escrow()
    config = DataDir(store.data_dir).config
    if config.exists():
        settings = valid_config(config)
        if settings is None:
            config.unlink()
        else:
            atomic_write_json(config, settings)


def _created_at(manifest: dict) -> str | None:
    """The manifest's backup time for the audit trail, if it is a time at all (format 1's is not authenticated)."""
    text = manifest.get("created_at")
    try:
        return parse_iso(text).isoformat() if isinstance(text, str) and len(text) <= 40 else None
    except ValueError:
        return None


def _prepare(store: Store, manifest: dict, user: str, password: str) -> dict:
    with store.unlock(user, password) as session:
        if manifest["version"] >= 2 and not _mac_matches(manifest, session.key):
            raise TamperError("core.backup.tampered")
        session.require_supervisor()
        row = session.conn.execute("SELECT value FROM settings WHERE key = 'store_id'").fetchone()
        if row is None or row[0] != manifest["store_id"] or store.slots().store_id != manifest["store_id"]:
            raise TamperError("core.backup.tampered")
        _settle_side_files(store, session.key)
        resend = [r[0] for r in session.conn.execute(
            f"SELECT id FROM records WHERE state IN ({','.join('?' * len(RESEND_STATES))}) ORDER BY id", RESEND_STATES)]
        with session.write() as tx:
            tx.execute(_FORGET, REGISTRATION)  # the old laptop's device; this one registers itself
            now = now_iso()
            for rid in resend:
                old = tx.execute("SELECT state FROM records WHERE id = ?", (rid,)).fetchone()[0]
                new = states.require("restore", old, State.APPROVED)
                tx.execute("UPDATE records SET state = ?, reason = NULL, updated_at = ? WHERE id = ?", (new, now, rid))
                session.audit.append(session.name, "record.restored", rid, old, new, ts=now)
                tx.execute("DELETE FROM outbox WHERE record_id = ?", (rid,))  # sealed by the old laptop's key
            session.audit.append(session.name, "store.restored", reason=_created_at(manifest))
        total = session.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    if manifest["version"] < 2:
        log.info("restored a format %s backup: only its database and key slots were taken", manifest["version"])
    DataDir(store.data_dir).lockout.unlink(missing_ok=True)  # a fresh start on the new laptop
    return {"store_id": manifest["store_id"], "records": total, "to_resend": len(resend),
            "restored_at": wire_time()}
