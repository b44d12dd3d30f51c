"""``fieldapp-registry`` (also ``python -m registry``): serve and operator commands.

Every command takes ``--data-dir`` (keys, and the SQLite file unless ``--database-url``
names a PostgreSQL database; the URL may also come from ``FIELDAPP_REGISTRY_DATABASE_URL``).
Output is JSON on stdout; failures are ``{"error": reason}`` on stderr with exit code 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from fieldapp.outbound import wire
from fieldapp.base.exitcodes import Exit
from registry import keys as keymod, logs
from registry.config import Settings

DB_ENV = "FIELDAPP_REGISTRY_DATABASE_URL"


def _print(obj) -> None:
    print(json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False))


def _settings(args) -> Settings:
    s = Settings(data_dir=Path(args.data_dir).expanduser().resolve(), database_url=args.database_url or None)
    for name in ("register_delay", "receipt_retention_days", "max_batch_bytes", "max_batch_items", "token_ttl"):
        if getattr(args, name, None) is not None:
            s = replace(s, **{name: getattr(args, name)})
    return s


def _context(args):
    from registry.app import open_context

    return open_context(_settings(args))


def cmd_serve(args) -> int:
    import uvicorn

    from registry.app import create_app

    app = create_app(_settings(args))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=5)
    return Exit.OK


def cmd_keys(args) -> int:
    _print(keymod.load_or_create(Path(args.data_dir).expanduser().resolve()).public_info())
    return Exit.OK


def cmd_enrollment_code(args) -> int:
    from registry import devices

    ctx = _context(args)
    _print({"code": devices.new_enrollment_code(ctx.db, args.ttl), "expires_in": args.ttl})
    return Exit.OK


def cmd_devices(args) -> int:
    from registry import devices

    _print(devices.list_devices(_context(args).db))
    return Exit.OK


def cmd_revoke_device(args) -> int:
    from registry import devices

    if not devices.revoke(_context(args).db, args.device_id):
        return _fail("unknown_device")
    _print({"device_id": args.device_id, "state": "revoked"})
    return Exit.OK


def cmd_export(args) -> int:
    from registry import bundles

    ctx = _context(args)
    if args.out:
        counts = bundles.export_to_file(ctx, Path(args.out))
    else:
        counts = bundles.export_jsonl(ctx, sys.stdout)
    print(json.dumps(counts), file=sys.stderr)
    return Exit.OK


def cmd_import_bundle(args) -> int:
    from registry import bundles

    try:
        summary = bundles.import_bundle(_context(args), Path(args.file))
    except wire.WireError as exc:
        return _fail(exc.reason)
    except OSError:
        return _fail("unreadable_file")
    receipts = summary.pop("receipts")
    if args.receipts:
        keymod.write_new_private(Path(args.receipts), json.dumps(receipts, sort_keys=True).encode())
    _print(summary)
    return Exit.FAIL if summary["refused"] else Exit.OK


def _fail(reason: str) -> int:
    print(json.dumps({"error": reason}), file=sys.stderr)
    return Exit.FAIL


def _at_least(minimum: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    return parse


def _common(p: argparse.ArgumentParser, db: bool = True) -> None:
    p.add_argument("--data-dir", required=True, help="registry data folder (keys; SQLite file by default)")
    if db:
        p.add_argument("--database-url", default=os.environ.get(DB_ENV),
                       help=f"postgresql://... (default: ${DB_ENV}, else SQLite in the data folder)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldapp-registry", description="Reference central registry for fieldapp")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the HTTP service")
    _common(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8443)
    p.add_argument("--register-delay", type=float, help="seconds before received -> registered (0 = at once)")
    p.add_argument("--receipt-retention-days", type=_at_least(30), help="days a batch receipt stays replayable "
                   "(default 90, at least 30)")
    p.add_argument("--max-batch-bytes", type=int, help="largest compressed batch body")
    p.add_argument("--max-batch-items", type=int, help="most items in one batch")
    p.add_argument("--token-ttl", type=_at_least(1), help="bearer token lifetime in seconds (default 900)")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("keys", help="print the public keys (JSON) for provisioning devices")
    _common(p, db=False)
    p.set_defaults(func=cmd_keys)
    p = sub.add_parser("enrollment-code", help="print a one-time device enrollment code")
    _common(p)
    p.add_argument("--ttl", type=_at_least(1), default=600, help="seconds the code stays valid (default 600)")
    p.set_defaults(func=cmd_enrollment_code)
    p = sub.add_parser("devices", help="list enrolled devices")
    _common(p)
    p.set_defaults(func=cmd_devices)
    p = sub.add_parser("revoke-device", help="block a device at once (lost laptop)")
    p.add_argument("device_id")
    _common(p)
    p.set_defaults(func=cmd_revoke_device)
    p = sub.add_parser("export", help="write the registered records, decrypted (personal data!)")
    _common(p)
    p.add_argument("--format", choices=["jsonl"], default="jsonl")
    p.add_argument("--out", help="file to write (mode 0600); default stdout")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("import-bundle", help="take a USB bundle made by `fieldapp export-bundle`")
    p.add_argument("file")
    _common(p)
    p.add_argument("--receipts", help="also write the signed receipts (JSON) to this new file")
    p.set_defaults(func=cmd_import_bundle)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    logs.setup()
    from registry.storage import Busy, KeyMismatch

    try:
        return args.func(args)
    except KeyMismatch:
        return _fail("key_mismatch")
    except Busy:
        return _fail("busy")
