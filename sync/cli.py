"""Command-line handlers of the sync engine, plugged into ``fieldapp`` by :func:`add_commands`.

- ``fieldapp register --user SUPERVISOR --server URL --code CODE [--ca-file PEM] [--pin SHA256]...``
- ``fieldapp sync [--json] [--timeout S]`` (no password: the spool holds only sealed data)
- ``fieldapp export-bundle --user SUPERVISOR --out FILE``

Exit codes of ``sync``: 0 everything sent; 3 registry unreachable / not trusted /
time limit (everything kept); 4 records quarantined (the rest sent); 5 the
registry refused this device (revoked); 1 other failures. Each handler returns
an exit code or raises ``FieldappError``; the caller prints one translated line.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from fieldapp.base.errors import FieldappError
from fieldapp.base.i18n import tr
from fieldapp.base.paths import resolve_data_dir
from fieldapp.base.exitcodes import Exit
from sync.errors import EXIT_ERROR, EXIT_OK, EXIT_QUARANTINED, SyncError, Unreachable


def add_commands(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("register", parents=[common], help="register this laptop with the registry (supervisors)",
                              description="register this laptop with the registry (supervisors)")
    p.add_argument("--user", required=True, help="supervisor user name; password from FIELDAPP_PASSWORD, else a prompt")
    p.add_argument("--server", required=True, metavar="URL", help="registry address (https://; http:// only to localhost)")
    p.add_argument("--code", required=True, help="one-time enrollment code from the registry administrator")
    p.add_argument("--ca-file", metavar="PEM", help="CA certificate(s) to trust for the registry (a copy is kept)")
    p.add_argument("--pin", action="append", default=[], metavar="SHA256",
                   help="base64 SHA-256 of the registry certificate's public key; repeat for a backup pin")
    p.set_defaults(func=cmd_register)

    p = subparsers.add_parser("sync", parents=[common], help="send queued records to the registry now (no password)",
                              description="send queued records to the registry now; exit 0 all sent, "
                                          "3 registry unreachable, 4 records quarantined, 5 device refused")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="give up after S seconds (exit 3)")
    p.add_argument("--user", help="also unlock (password from FIELDAPP_PASSWORD, else a prompt): send to the registry "
                                  "the store holds, and check its answers into the records at once")
    p.set_defaults(func=cmd_sync)

    p = subparsers.add_parser("export-bundle", parents=[common],
                              help="write queued records, sealed and signed, to a file for a USB stick (supervisors)",
                              description="write queued records, sealed and signed, to a file for a USB stick")
    p.add_argument("--user", required=True, help="supervisor user name; password from FIELDAPP_PASSWORD, else a prompt")
    p.add_argument("--out", required=True, metavar="FILE", help="the bundle file to create (must not exist)")
    p.set_defaults(func=cmd_export_bundle)


def _data_dir(args) -> Path:
    return resolve_data_dir(getattr(args, "data_dir", None))


def _load_device(data_dir):
    from sync.engine import load_device

    return load_device(data_dir)


# ------------------------------------------------------------------ register
def cmd_register(args) -> int:
    from fieldapp.outbound import outbox
    from fieldapp.cli.common import unlock
    from sync.registration import register_store
    from sync.transport import check_pins, check_url

    data_dir = _data_dir(args)
    check_url(args.server)  # fail fast, before asking for a password
    check_pins(args.pin)
    try:
        _load_device(data_dir)
    except SyncError as exc:
        if exc.code != "not_registered":
            raise
    else:
        raise SyncError("already_registered")
    session = unlock(args, role="supervisor")
    try:
        dev = register_store(session, args.server, args.code, ca_file=args.ca_file, pins=args.pin)
        queued = outbox.enqueue_approved(session) or 0
    finally:
        session.close()
    print(tr("sync.cli.registered", server=dev.server_url, device_id=dev.device_id, queued=queued))
    return EXIT_OK


# ------------------------------------------------------------------ sync
def cmd_sync(args) -> int:
    from fieldapp.outbound.spool import SpoolError
    from sync.engine import Engine

    data_dir = _data_dir(args)
    session = None
    if getattr(args, "user", None):
        from fieldapp import services
        from fieldapp.cli.common import unlock
        from fieldapp.outbound import identity

        session = unlock(args)  # the unlock also checks device.json against the store and repairs it
        device = identity.trusted_device(session)
        if device is None:
            session.close()
            raise SyncError("not_registered")
    else:
        device = _load_device(data_dir)
    try:
        result = Engine(data_dir, device=device).run(timeout=args.timeout)
        if session is not None:
            services.apply_sync_results(session)  # the registry's signed answers, checked into the records now
    except (SpoolError, OSError, sqlite3.Error) as exc:
        from fieldapp.base.fsutil import is_disk_full

        if is_disk_full(exc, data_dir):  # nothing was lost: free some space and sync again
            raise Unreachable("disk_full") from None
        if isinstance(exc, OSError):
            raise
        raise SyncError("spool") from None
    finally:
        if session is not None:
            session.close()
    code = result.exit_code
    counts = result.counts
    if getattr(args, "json", False):
        print(json.dumps(result.as_dict(), sort_keys=True))
    else:
        print(tr("sync.cli.summary", sent=result.sent, batches=result.batches, queued=counts.get("queued", 0),
                 quarantined=counts.get("quarantined", 0), registered=counts.get("registered", 0)))
    if code == EXIT_OK:
        if not getattr(args, "json", False):
            print(tr("sync.cli.all_synced" if session is not None else "sync.cli.all_sent_unchecked"))
    elif code == EXIT_QUARANTINED:
        print(tr("sync.cli.quarantined", count=counts.get("quarantined", 0)), file=sys.stderr)
    else:
        print(tr(f"sync.error.{result.error or 'unreachable'}", kind="?"), file=sys.stderr)
    return code


# ------------------------------------------------------------------ export-bundle
def cmd_export_bundle(args) -> int:
    from fieldapp.cli.common import unlock
    from sync.bundle import write_bundle

    data_dir = _data_dir(args)
    out = Path(args.out).expanduser()
    if out.exists():
        raise SyncError("file_exists", path=str(out))
    _load_device(data_dir)
    session = unlock(args, role="supervisor")  # also publishes anything approved but not yet spooled
    session.close()
    dev = _load_device(data_dir)
    try:
        records, batches = write_bundle(data_dir, dev, out)
    except OSError:
        raise SyncError("write_failed", path=str(out)) from None
    if not batches:
        print(tr("sync.cli.nothing_to_export"))
        return EXIT_OK
    print(tr("sync.cli.exported", records=records, batches=batches, path=str(out)))
    return EXIT_OK


def self_test_check() -> list[str]:
    """``fieldapp --self-test``: the sync engine imports and its TLS trust store is present (no network is used)."""
    import certifi

    import sync.engine  # noqa: F401 - importing it is the check

    return [] if Path(certifi.where()).is_file() else ["TLS certificate bundle missing"]


# ------------------------------------------------------------------ standalone
def main(argv=None) -> int:
    """``python -m sync COMMAND``: the same commands without the rest of the fieldapp CLI."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help="data folder")
    parser = argparse.ArgumentParser(prog="python -m sync", parents=[common])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_commands(sub, common)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except FieldappError as exc:
        print(exc.message(), file=sys.stderr)
        return getattr(exc, "exit_code", EXIT_ERROR)
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except Exception as exc:  # no traceback, no data
        print(tr("sync.error.internal", kind=type(exc).__name__), file=sys.stderr)
        return EXIT_ERROR
