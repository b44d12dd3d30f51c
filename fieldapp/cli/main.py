"""The ``fieldapp`` command line: a thin layer over the core.

Every command and flag is documented in docs/cli.md (checked by
tests/test_docs.py). Failures are one translated line on stderr and a non-zero
exit code, never a traceback. ``fieldapp`` with no command opens the desktop
client (the ``fieldapp.gui`` plug-in) where there is one and a display.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from fieldapp import __version__
from fieldapp.store.dbapi import DatabaseError
from fieldapp.base.errors import FieldappError
from fieldapp.base.exitcodes import Exit
from fieldapp.domain.reasons import REVIEW_REASONS

EXIT_OK, EXIT_FAIL, EXIT_USAGE = Exit.OK, Exit.FAIL, Exit.USAGE
log = logging.getLogger("fieldapp.cli")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help="data folder (else FIELDAPP_DATA_DIR, else the platform's user data folder)")
    common.add_argument("--lang", choices=("en", "km"), default=argparse.SUPPRESS, help="language of messages (else FIELDAPP_LANG)")
    return common


def build_parser() -> argparse.ArgumentParser:
    from fieldapp.cli import commands as c

    common = _common()
    parser = argparse.ArgumentParser(prog="fieldapp", parents=[common], description="Offline enrollment client for the social security fund.")
    parser.add_argument("--version", action="version", version=f"fieldapp {__version__}")
    parser.add_argument("--self-test", action="store_true", help="check this installation (encrypted store, Qt platform plug-in, fonts); exit 0 or 1")
    parser.add_argument("--demo", action="store_true", help="start a local demo registry and a demo store, then the app")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def cmd(name, func, help_text, parent=None, user=True):
        p = (parent or sub).add_parser(name, parents=[common], help=help_text, description=help_text)
        if user:
            p.add_argument("--user", required=True, help="user name; password from FIELDAPP_PASSWORD, else a prompt")
        p.set_defaults(func=func)
        return p

    p = cmd("init", c.cmd_init, "create a new store with NAME as its first supervisor", user=False)
    p.add_argument("--user", required=True, help="the first supervisor's user name")
    p.add_argument("--full-name", help="the supervisor's full name")
    p.add_argument("--recovery-public-key", metavar="FILE", help="IT recovery public key (from recovery-keygen)")

    users = sub.add_parser("user", parents=[common], help="manage users").add_subparsers(dest="user_command", metavar="ACTION", required=True)
    p = cmd("add", c.cmd_user_add, "add a user (password from FIELDAPP_NEW_PASSWORD, else a prompt)", users)
    p.add_argument("--new-user", required=True, help="the new user's name")
    p.add_argument("--role", required=True, choices=("outreach", "supervisor"), help="the new user's role")
    p.add_argument("--full-name", help="the new user's full name")
    p = cmd("passwd", c.cmd_user_passwd, "change your password, or (supervisors) reset another user's", users)
    p.add_argument("--target-user", help="whose password to reset (supervisors only)")
    for name, func, text in (("disable", c.cmd_user_disable, "disable a user and remove their key slot (supervisors)"),
                             ("enable", c.cmd_user_enable, "enable a disabled user with a new password (supervisors; "
                                                           "password from FIELDAPP_NEW_PASSWORD, else a prompt)")):
        cmd(name, func, text, users).add_argument("--target-user", required=True, help="the user to change")
    cmd("list", c.cmd_user_list, "list users", users).add_argument("--json", action="store_true", help="print JSON")

    p = cmd("import", c.cmd_import, "import records from JSON Lines or CSV, all or nothing; they become submitted")
    p.add_argument("file", metavar="FILE", help="a .jsonl/.ndjson or .csv file")
    p = cmd("list", c.cmd_list, "list the records you may see")
    p.add_argument("--state", help="only records in this state")
    p.add_argument("--json", action="store_true", help="print JSON (one array)")
    p = cmd("review", c.cmd_review, "approve, reject or return submitted records (supervisors)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--approve", nargs="+", metavar="ID", help="approve these records")
    group.add_argument("--approve-all", action="store_true", help="approve every submitted record")
    group.add_argument("--reject", metavar="ID", help="reject this record (needs --reason)")
    group.add_argument("--return", dest="return_id", metavar="ID", help="return this record for correction (needs --reason)")
    p.add_argument("--reason", help="why a record is rejected or returned (free text)")
    p.add_argument("--reason-code", choices=REVIEW_REASONS, help="why, as a code every reader sees in their language")
    p = cmd("requeue", c.cmd_requeue, "send quarantined records again (supervisors)")
    p.add_argument("ids", nargs="*", metavar="ID", help="these quarantined records")
    p.add_argument("--all", action="store_true", help="every quarantined record (instead of IDs)")
    cmd("status", c.cmd_status, "counts of records by state").add_argument("--json", action="store_true", help="print JSON")
    cmd("verify", c.cmd_verify, "check the database, the audit chain and its signed head, roles, key slots and the "
                                "outbox; exit 0 or 1")
    p = cmd("rotate-approval-key", c.cmd_rotate_approval_key, "make a new supervisor approval key (supervisors; after a "
            "supervisor leaves); the next sync registers it with IT's code")
    p.add_argument("--code", required=True, help="one-time enrollment code from the registry administrator")
    cmd("rekey", c.cmd_rekey, "rotate the database key and give it to every key slot (supervisors; after staff leave)")

    p = cmd("recovery-keygen", c.cmd_recovery_keygen, "make an IT recovery key pair (run on an IT machine, not a laptop)", user=False)
    p.add_argument("--private-out", required=True, metavar="FILE", help="where to write the private key")
    p.add_argument("--public-out", required=True, metavar="FILE", help="where to write the public key")
    p = cmd("recovery-set", c.cmd_recovery_set, "add or replace the store's recovery slot (supervisors)")
    p.add_argument("--public-key", required=True, metavar="FILE", help="IT recovery public key")
    p = cmd("recover", c.cmd_recover, "regain access with the IT recovery private key: adds or resets a supervisor", user=False)
    p.add_argument("--recovery-key", required=True, metavar="FILE", help="IT recovery private key")
    p.add_argument("--new-user", required=True, help="supervisor to create or reset (password from FIELDAPP_NEW_PASSWORD)")
    p.add_argument("--escrow", metavar="FILE", help="a recovery slot file from recovery-export, if keyslots.json and "
                   "recovery-slot.json are both lost")
    p = cmd("recovery-export", c.cmd_recovery_export, "copy the store's recovery slot for IT to keep (no unlock)", user=False)
    p.add_argument("--out", required=True, metavar="FILE", help="where to write it")

    from fieldapp.base.plugins import plugins

    for add_commands in plugins("fieldapp.commands").values():  # the sync engine's commands (entry points)
        add_commands(sub, common)
    from fieldapp.cli import deploy as cli_deploy

    cli_deploy.add_commands(sub, common)
    from fieldapp.cli import backup as cli_backup

    cli_backup.add_commands(sub, common)
    from fieldapp.cli import proof as cli_proof

    cli_proof.add_commands(sub, common)
    from fieldapp.cli import lookup as cli_lookup

    cli_lookup.add_commands(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    from fieldapp.base import i18n
    from fieldapp.store.database import umask_private

    umask_private()
    logging.raiseExceptions = False  # a full disk must not turn a log line into a traceback on the terminal
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "lang", None):
        i18n.set_language(args.lang)
    if args.self_test:
        from fieldapp.cli import deploy as cli_deploy

        return cli_deploy.self_test()
    if args.demo:
        return _guard(_run_demo, args)
    if not getattr(args, "func", None):
        if not _has_display():  # a terminal without a display (ssh): the commands
            parser.print_help()
            return EXIT_USAGE
        return _guard(_run_desktop, args)
    return _guard(args.func, args)


def _has_display() -> bool:
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _run_desktop(args) -> int:
    """No command: the desktop client on the data folder (IT's machine-wide provisioning file applied first, as
    the installed program does), or one line saying how to install it."""
    from fieldapp.base.i18n import tr
    from fieldapp.base.paths import resolve_data_dir
    from fieldapp.base.plugins import gui_runner
    from fieldapp.deploy import provisioned

    try:
        run_gui = gui_runner()
    except ImportError:  # declared by the package, but its Qt part (the ``ui`` extra) is missing
        run_gui = None
    if run_gui is None:
        print(tr("core.cli.gui_not_installed"), file=sys.stderr)
        return EXIT_USAGE
    data_dir = resolve_data_dir(getattr(args, "data_dir", None))
    message = provisioned.apply_machine_file(data_dir)
    if message:
        print(message, file=sys.stderr)
    return run_gui(data_dir)


def _run_demo(args) -> int:
    from fieldapp.base.plugins import plugin

    run_demo = plugin("fieldapp.demo", "demo")  # the sync engine's demo (an entry point)
    if run_demo is None:
        raise FieldappError("core.cli.demo_not_installed")
    return run_demo(args)


def _data_dir_of(args):
    from fieldapp.base.paths import resolve_data_dir

    try:
        return resolve_data_dir(getattr(args, "data_dir", None))
    except Exception:  # noqa: BLE001 - only used to word an error
        return None


def _guard(func, args) -> int:
    """Run a handler; turn every failure into one line and an exit code."""
    from fieldapp.base.logs import setup

    try:
        setup()  # the platform's log folder (FIELDAPP_LOG_DIR overrides), never the data folder
        code = func(args)
        return EXIT_OK if code is None else code
    except FieldappError as exc:
        log.info("command %s failed: %s", getattr(args, "command", "?"), exc.msg_id)
        print(exc.message(), file=sys.stderr)
        return exc.exit_code
    except DatabaseError as exc:  # a page failed its check or the disk refused: say so, in one line
        from fieldapp.store.database import damaged

        err = damaged(exc, _data_dir_of(args))
        log.warning("database error: %s", err.msg_id)
        print(err.message(), file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except BrokenPipeError:  # output piped into `head`: not a failure of ours
        return EXIT_OK
    except OSError as exc:
        from fieldapp.base.fsutil import is_disk_full
        from fieldapp.base.i18n import tr

        if is_disk_full(exc, _data_dir_of(args)):
            print(tr("core.store.disk_full"), file=sys.stderr)
            return EXIT_FAIL
        log.warning("command failed with OS error %s", exc.errno)
        print(tr("core.cli.os_error", error=exc.strerror or "I/O"), file=sys.stderr)
        return EXIT_FAIL
    except Exception as exc:  # last resort: no traceback, no data
        from fieldapp.base.i18n import tr

        tb = exc.__traceback__
        while tb and tb.tb_next:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else "?"
        log.error("unexpected error %s at %s", type(exc).__name__, where)  # no message: it may hold data
        print(tr("core.cli.unexpected", kind=type(exc).__name__), file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
