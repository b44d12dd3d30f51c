"""`fieldapp backup` and `fieldapp restore`: the whole store to a USB stick, and back onto a new laptop."""

from __future__ import annotations

import argparse
from pathlib import Path

from fieldapp.cli.common import (emit_json, read_password, recovery_credentials, resolve_data_dir, say, subcommand,
                                 unlock)


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    def cmd(name, func, text):
        return subcommand(sub, common, name, func, text)

    p = cmd("backup", cmd_backup, "write an encrypted backup of the whole store to a file (supervisors)")
    p.add_argument("--user", required=True, help="supervisor user name; password from FIELDAPP_PASSWORD, else a prompt")
    p.add_argument("--out", required=True, metavar="FILE", help="the backup file to write (must not exist)")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")
    p = cmd("restore", cmd_restore, "make a new data folder from a backup file (never over a store)")
    p.add_argument("file", metavar="FILE", help="a file written by fieldapp backup")
    p.add_argument("--user", required=True, help="a supervisor of the backed-up store; password (as it was at "
                   "backup time) from FIELDAPP_PASSWORD, else a prompt")
    p.add_argument("--recovery-key", metavar="FILE", help="IT's recovery private key: no old password needed; --user "
                   "becomes a supervisor with the password from FIELDAPP_NEW_PASSWORD")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def cmd_backup(args):
    from fieldapp.store import backup

    with unlock(args, role="supervisor") as session:
        manifest = backup.create(session, Path(args.out))
    if args.json:
        emit_json(manifest)
    else:
        say("core.backup.written", path=args.out, records=sum(manifest["counts"].values()))


def cmd_restore(args):
    from fieldapp.store import backup

    data_dir = resolve_data_dir(getattr(args, "data_dir", None))
    backup.read_manifest(Path(args.file))  # a bad file is refused before any password is asked
    if args.recovery_key:
        key, password = recovery_credentials(args.recovery_key, args.user)
        result = backup.restore(Path(args.file), data_dir, args.user, password, recovery_key=key)
    else:
        result = backup.restore(Path(args.file), data_dir, args.user, read_password(user=args.user))
    if args.json:
        emit_json(result)
    else:
        say("core.backup.restored", path=str(data_dir), records=result["records"], resend=result["to_resend"])
