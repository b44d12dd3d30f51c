"""Deployment commands of ``fieldapp`` (plugged into the parser by ``add_commands``), and ``self_test``.

Laptop side: ``provision``, ``diagnostics``, ``rollback``, ``restore-backup``.
IT side: ``provision-keygen``, ``provision-sign``. Documented in docs/deploy.md. ``provision-register`` needs the
sync engine, so it plugs in from ``sync.cli_provision``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import time
from pathlib import Path

from fieldapp.base import fsutil
from fieldapp.base.exitcodes import Exit
from fieldapp.cli.common import emit_json, read_password, say, store_of, subcommand, unlock
from fieldapp.base.errors import FieldappError, PermissionDenied, StoreError

log = logging.getLogger("fieldapp.deploy")


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    def cmd(name, func, text):
        return subcommand(sub, common, name, func, text)

    p = cmd("provision", cmd_provision, "check and apply a signed provisioning file from IT")
    p.add_argument("file", nargs="?", metavar="FILE", help="the signed file (default: the machine-wide one)")
    p.add_argument("--trusted-key", action="append", default=[], metavar="FILE",
                   help="an IT provisioning public key to trust (besides the one in this build)")
    p.add_argument("--user", help="a supervisor: pin the signer in the store and write the recovery key if it has none")
    p.add_argument("--confirm-recovery", action="store_true",
                   help="with --user: also replace an existing recovery key with the file's (audited)")
    p.add_argument("--check", action="store_true", help="only verify the file; change nothing")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p = cmd("recovery-confirm", cmd_recovery_confirm,
            "show the recovery key a provisioning file asks for; --yes writes it into the recovery slot (supervisors)")
    p.add_argument("--user", required=True, help="supervisor user name; password from FIELDAPP_PASSWORD, else a prompt")
    p.add_argument("--yes", action="store_true", help="write it (after checking the fingerprint with IT)")
    p = cmd("provision-keygen", cmd_provision_keygen, "make the IT provisioning key pair (on an IT machine)")
    p.add_argument("--private-out", required=True, metavar="FILE", help="where to write the private key")
    p.add_argument("--public-out", required=True, metavar="FILE", help="where to write the public key")
    p = cmd("provision-sign", cmd_provision_sign, "sign a provisioning file with the IT private key")
    p.add_argument("--key", required=True, metavar="FILE", help="the IT provisioning private key")
    p.add_argument("--in", dest="in_file", required=True, metavar="FILE", help="the unsigned JSON document")
    p.add_argument("--out", required=True, metavar="FILE", help="the signed file to write (must not exist)")
    p = cmd("diagnostics", cmd_diagnostics, "write a diagnostics archive for IT (no personal data)")
    p.add_argument("--out", required=True, metavar="FILE", help="the .zip to write (must not exist)")
    p.add_argument("--user", help="unlock to add store statistics (password from FIELDAPP_PASSWORD)")
    p = cmd("rollback", cmd_rollback, "restore the newest pre-upgrade backup of the store (supervisors)")
    p.add_argument("--user", required=True, help="supervisor user name; password from FIELDAPP_PASSWORD, else a prompt")
    p.add_argument("--force", action="store_true", help="restore even if changes made since the backup are lost")
    p = cmd("restore-backup", cmd_restore_backup, "restore the store from one backup file (supervisors)")
    p.add_argument("backup", metavar="FILE", help="a file from the data folder's backups/")
    p.add_argument("--user", required=True, help="supervisor user name; password from FIELDAPP_PASSWORD, else a prompt")
    p.add_argument("--force", action="store_true", help="restore even if changes made since the backup are lost")


def self_test() -> int:
    """``fieldapp --self-test``: exit 0 when the installation is complete, else 1 with what is missing."""
    from fieldapp.deploy import selftest

    return selftest.run()


# -- provisioning -------------------------------------------------------------------------------------------------------
def cmd_provision(args) -> int:
    from fieldapp.base.paths import machine_provisioning_file
    from fieldapp.deploy import provisioned, provisioning

    store = store_of(args)
    path = Path(args.file) if args.file else machine_provisioning_file()
    explicit = [provisioning.load_key(p, "public") for p in args.trusted_key]
    if args.check:
        payload = provisioning.load_verified(path, explicit + provisioned.file_keys(store.data_dir))
        summary = {"server": payload["registry"]["url"], "label": payload.get("label"), "check": "ok"}
        if args.json:
            emit_json(summary)
        else:
            say("deploy.provision.verified", path=str(path), server=summary["server"])
        return Exit.OK
    session = unlock(args, role="supervisor") if args.user else None
    try:
        summary = provisioned.apply(store.data_dir, path, explicit, session=session,
                                    confirm_recovery=args.confirm_recovery)
    finally:
        if session is not None:
            session.close()
    if args.json:
        emit_json(summary)
        return Exit.OK
    say("deploy.provision.applied", server=summary["server"], signer=summary["signed_by"])
    if summary["recovery"] == "pending":
        say("deploy.provision.recovery_pending")
    if summary["device"] == "differs":
        say("deploy.provision.device_differs")
    return Exit.OK


def cmd_recovery_confirm(args) -> int:
    """Show the recovery key a provisioning file asks for, and write it into the recovery slot with ``--yes``."""
    from fieldapp.store import recovery

    with unlock(args, role="supervisor") as session:
        waiting = recovery.pending(session)
        if waiting is None:
            say("deploy.recovery.nothing_pending")
            return Exit.OK
        if not args.yes:
            say("deploy.recovery.pending", new=waiting["fingerprint"], current=waiting["current"] or "-",
                signer=waiting.get("signer") or "-")
            return Exit.FAIL
        say("deploy.recovery.confirmed", fingerprint=recovery.confirm_pending(session))
    return Exit.OK


def _write_new(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create ``path`` with ``data``; refuse to overwrite anything."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise FieldappError("deploy.file_exists", path=str(path)) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_keypair(private_out, public_out) -> str:
    """Write a new IT provisioning key pair (Ed25519; the private file 0600); returns the public fingerprint."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from fieldapp.deploy.provisioning import KEY_TYPES, _b64e, fingerprint, serialize

    for p in (private_out, public_out):
        if Path(p).exists():
            raise FieldappError("deploy.file_exists", path=str(p))
    priv = Ed25519PrivateKey.generate()
    pub = priv.public_key().public_bytes_raw()
    _write_new(Path(private_out), serialize({"type": KEY_TYPES["private"], "key": _b64e(priv.private_bytes_raw())}))
    _write_new(Path(public_out), serialize({"type": KEY_TYPES["public"], "key": _b64e(pub),
                                            "fingerprint": fingerprint(pub)}), 0o644)
    return fingerprint(pub)


def sign_file(key_path, in_path, out_path) -> str:
    """Sign the unsigned document ``in_path`` into ``out_path`` (which must not exist); returns the signer."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from fieldapp.deploy import provisioning

    private = provisioning.load_key(key_path, "private")
    try:
        payload = json.loads(Path(in_path).read_bytes().decode("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        raise FieldappError("deploy.provision.unreadable", path=str(in_path)) from None
    _write_new(Path(out_path), provisioning.sign(payload, private), 0o644)
    return provisioning.fingerprint(Ed25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw())


def cmd_provision_keygen(args) -> int:
    say("deploy.key.written", fingerprint=write_keypair(Path(args.private_out), Path(args.public_out)))
    return Exit.OK


def cmd_provision_sign(args) -> int:
    fp = sign_file(Path(args.key), Path(args.in_file), Path(args.out))
    say("deploy.provision.signed", path=args.out, fingerprint=fp)
    return Exit.OK


# -- diagnostics --------------------------------------------------------------------------------------------------------
def cmd_diagnostics(args) -> int:
    from fieldapp.deploy import diagnostics

    out = Path(args.out).expanduser()
    if out.exists():
        raise FieldappError("deploy.file_exists", path=str(out))
    session = unlock(args) if args.user else None
    try:
        manifest = diagnostics.build(store_of(args).data_dir, out, session=session)
    finally:
        if session is not None:
            session.close()
    say("deploy.diagnostics.written", path=str(out), logs=len(manifest["logs"]))
    return Exit.OK


# -- rollback -----------------------------------------------------------------------------------------------------------
def backups(data_dir: Path) -> list[Path]:
    """Pre-upgrade backups, newest first (``fieldapp.db.vN.YYYYmmddTHHMMSS.bak``)."""
    from fieldapp.base.paths import DB_FILE, DataDir

    folder = DataDir(data_dir).backups
    found = [p for p in folder.glob(f"{DB_FILE}.v*.bak")] if folder.is_dir() else []
    return sorted(found, key=lambda p: (p.name.split(".")[-2], p.stat().st_mtime), reverse=True)


# What the first login after an upgrade writes by itself (docs/deploy.md): not work a rollback would lose.
UPGRADE_EVENTS = ("user.slot_upgraded", "store.approval_key_created", "user.approval_granted", "device.adopted",
                  "store.provisioning_anchor", "sync.resealed", "device.file_repaired", "device.file_ignored")


def _inspect(path: Path, key: bytes, user: str | None, since: int | None = None) -> dict:
    """Schema version and last audit sequence of a database file opened with ``key``; refuses a bad one."""
    from fieldapp.store import migrations
    from fieldapp.store.dbapi import DatabaseError, open_encrypted

    try:
        conn = open_encrypted(str(path), key)
    except (DatabaseError, ValueError):
        raise StoreError("deploy.rollback.unusable", path=path.name) from None
    try:
        if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise StoreError("deploy.rollback.unusable", path=path.name)
        info = {"version": migrations.current_version(conn),
                "seq": conn.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()[0]}
        if since is not None:  # changes after ``since``, not counting what the upgrade's first login itself wrote
            marks = ",".join("?" * len(UPGRADE_EVENTS))
            info["changes"] = conn.execute(f"SELECT count(*) FROM audit WHERE seq > ? AND event NOT IN ({marks})",
                                           (since, *UPGRADE_EVENTS)).fetchone()[0]
        if user is not None:
            row = conn.execute("SELECT role, disabled FROM users WHERE name = ?", (user,)).fetchone()
            info["supervisor"] = bool(row and row[0] == "supervisor" and not row[1])
        return info
    except DatabaseError:
        raise StoreError("deploy.rollback.unusable", path=path.name) from None
    finally:
        conn.close()


def restore(data_dir: Path, backup: Path, key: bytes, user: str, force: bool = False) -> dict:
    """Put ``backup`` in place of the database after checking it opens with ``key``; the current file is kept
    in ``backups/`` as ``fieldapp.db.replaced.TIMESTAMP.bak``. ``spool.db`` (queued records) is not touched."""
    from fieldapp.base.paths import DB_FILE, DataDir

    data_dir, backup = Path(data_dir), Path(backup)
    old = _inspect(backup, key, user)
    if not old["supervisor"]:
        raise PermissionDenied("core.auth.supervisor_only")
    db = DataDir(data_dir).db
    lost = 0
    if db.exists():
        try:
            lost = _inspect(db, key, None, since=old["seq"])["changes"]
        except StoreError:
            lost = 0  # the current file is damaged: that is what a restore is for
        if lost and not force:
            raise StoreError("deploy.rollback.would_lose", count=lost)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = fsutil.secure_dir(DataDir(data_dir).backups) / f"{DB_FILE}.replaced.{stamp}.bak"
        for suffix in ("", "-wal", "-shm"):
            src = db.with_name(db.name + suffix)
            if src.exists():
                os.replace(src, aside.with_name(aside.name + suffix))
    tmp = db.with_name(f".{db.name}.restore.tmp")
    fsutil.create_private(tmp)
    with open(backup, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, db)
    _restore_slots(data_dir, backup)
    fsutil.fsync_dir(data_dir)
    log.info("store restored from %s (schema %s, %s changes dropped)", backup.name, old["version"], lost)
    return {"backup": backup.name, "version": old["version"], "lost": lost}


def _restore_slots(data_dir: Path, backup: Path) -> None:
    """The key slots copied with a pre-upgrade backup (``keyslots.json.vN.STAMP.bak``) go back with it: the older
    release cannot read slots the newer one rewrote. The current file is kept aside."""
    from fieldapp.base.paths import DB_FILE, SLOTS_FILE, DataDir

    if not backup.name.startswith(DB_FILE + "."):
        return
    copy = backup.with_name(SLOTS_FILE + backup.name[len(DB_FILE):])
    if not copy.exists():
        return
    current = DataDir(data_dir).slots
    stamp = time.strftime("%Y%m%dT%H%M%S")
    if current.exists():
        shutil.copyfile(current, fsutil.secure_dir(DataDir(data_dir).backups) / f"{SLOTS_FILE}.replaced.{stamp}.bak")
    fsutil.atomic_write(current, copy.read_bytes())


def _key(args) -> tuple[Path, bytes]:
    """The database key from ``args.user``'s slot (the store itself is not opened: it may be damaged)."""
    from fieldapp.store import lockout

    store = store_of(args)
    keys, _slots = store.unlock_key(args.user, lambda: read_password(user=args.user))
    lockout.record_success(store.data_dir, args.user)
    if keys.approval_key is None and not keys.legacy:  # only a supervisor's slot opens the approval key
        raise PermissionDenied("core.auth.supervisor_only")
    return store.data_dir, keys.next_db_key or keys.db_key


def cmd_rollback(args) -> int:
    data_dir = store_of(args).data_dir
    found = backups(data_dir)
    if not found:
        raise StoreError("deploy.rollback.none")
    data_dir, key = _key(args)
    result = restore(data_dir, found[0], key, args.user, args.force)
    say("deploy.rollback.done", backup=result["backup"], version=result["version"])
    return Exit.OK


def cmd_restore_backup(args) -> int:
    backup = Path(args.backup).expanduser()
    if not backup.is_file():
        raise StoreError("deploy.rollback.unusable", path=backup.name)
    data_dir, key = _key(args)
    result = restore(data_dir, backup, key, args.user, args.force)
    say("deploy.rollback.done", backup=result["backup"], version=result["version"])
    return Exit.OK


__all__ = ["add_commands", "self_test", "write_keypair", "sign_file", "backups", "restore"]
