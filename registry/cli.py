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
_COUNT, _SECONDS, _RATE = "count", "seconds", "rate"  # int >= 1; float > 0; float >= 0
# serve flags that set the Settings field of the same name; defaults and meaning: docs/registry.md "Limits"
LIMIT_FLAGS = (("--max-batch-decompressed", _COUNT, "largest inflated batch (default 1 MiB)"),
               ("--header-timeout", _SECONDS, "a request head must arrive whole within this (default 10)"),
               ("--body-timeout", _SECONDS, "longest wait for the next piece of a request body (default 30)"),
               ("--keep-alive-timeout", _SECONDS, "an idle connection is closed after this (default 5)"),
               ("--max-connections", _COUNT, "open connections + requests in progress; beyond: 503 (default 512)"),
               ("--batch-concurrency", _COUNT, "batches taken in at once; beyond: wait, then 503 busy (default 8)"),
               ("--device-batch-concurrency", _COUNT, "batches of one device at once; beyond: wait, 429 (default 2)"),
               ("--intake-wait", _SECONDS, "longest wait of a batch for an intake slot (default 30)"),
               ("--rate-auth", _RATE, "challenges, and tokens, per second per client address (default 20; 0: off)"),
               ("--rate-auth-burst", _COUNT, "burst of --rate-auth (default 200)"),
               ("--rate-enroll", _RATE, "enrollments per second per client address (default 10; 0: off)"),
               ("--rate-enroll-burst", _COUNT, "burst of --rate-enroll (default 300)"),
               ("--rate-global", _RATE, "challenge + token + enroll per second, all clients (default 200; 0: off)"),
               ("--rate-global-burst", _COUNT, "burst of --rate-global (default 1000)"))


def _print(obj) -> None:
    print(json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False))


def _settings(args) -> Settings:
    s = Settings(data_dir=Path(args.data_dir).expanduser().resolve(), database_url=args.database_url or None)
    limits = tuple(flag[2:].replace("-", "_") for flag, _kind, _help in LIMIT_FLAGS)
    for name in ("register_delay", "receipt_retention_days", "max_batch_bytes", "max_batch_items", "token_ttl",
                 *limits):
        if getattr(args, name, None) is not None:
            s = replace(s, **{name: getattr(args, name)})
    return s


def _context(args):
    from registry.app import open_context

    return open_context(_settings(args))


def cmd_serve(args) -> int:
    from registry import server
    from registry.app import create_app

    settings = _settings(args)
    server.serve(create_app(settings), settings, args.host, args.port, args.forwarded_allow_ips)
    return Exit.OK


def cmd_keys(args) -> int:
    _print(keymod.load_or_create(Path(args.data_dir).expanduser().resolve()).public_info())
    return Exit.OK


def cmd_enrollment_code(args) -> int:
    from registry import devices

    from registry import areas

    try:
        area = areas.parse(args.communes) if args.communes is not None else None
    except areas.AreaError as exc:
        return _fail(exc.reason)
    ctx = _context(args)
    out = {"code": devices.new_enrollment_code(ctx.db, args.ttl, area), "expires_in": args.ttl}
    if area:
        out.update(area=area, area_id=areas.area_id(area))
    _print(out)
    return Exit.OK


def cmd_devices(args) -> int:
    from registry import approval, devices

    db = _context(args).db
    _print(approval.annotate(db, devices.list_devices(db)))  # + approval key, kept audit head seq, audit alerts
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
        if not Path(args.file).is_file() or not os.access(args.file, os.R_OK):
            return _fail("unreadable_file")
        raise  # a storage failure: main reports it
    receipts = summary.pop("receipts")
    if args.receipts:
        keymod.write_new_private(Path(args.receipts), json.dumps(receipts, sort_keys=True).encode())
    _print(summary)
    return Exit.FAIL if summary["refused"] else Exit.OK


def cmd_scheme_facts(args) -> int:
    from registry import scheme

    data_dir = Path(args.data_dir).expanduser().resolve()
    try:
        doc = scheme.install(data_dir, Path(args.install)) if args.install else scheme.load(data_dir)
    except scheme.FactsError as exc:
        return _fail(exc.reason)
    except OSError:
        return _fail("unreadable_file")
    _print(doc)
    return Exit.OK


def cmd_member_number(args) -> int:
    from registry import intake

    db = _context(args).db
    if args.prefix is not None or args.digits is not None:
        prefix = args.prefix if args.prefix is not None else intake.DEFAULT_PREFIX
        digits = args.digits if args.digits is not None else intake.DEFAULT_DIGITS
        if not intake.PREFIX_RE.match(prefix) or not 4 <= digits <= 12:
            return _fail("bad_member_format")

        def put(tx):
            for key, value in (("member_prefix", prefix), ("member_digits", str(digits))):
                tx.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                           "excluded.value", (key, value))
        db.run(put)
    prefix, digits = db.run(intake.member_format, write=False)
    _print({"prefix": prefix, "digits": digits, "example": intake.registry_id_for(1, (prefix, digits))})
    return Exit.OK


def cmd_verify_card(args) -> int:
    from fieldapp.outbound import verify_qr
    from fieldapp.outbound.qr_image import ImageError, read_qr_texts

    if bool(args.text) == bool(args.image):
        return _fail("usage", detail="give QR_TEXT or --image FILE")
    try:
        text = read_qr_texts(args.image)[0] if args.image else args.text.strip()
    except ImageError as exc:
        return _fail(exc.reason)
    ctx = _context(args)

    def device_key(device_id: str):
        row = ctx.db.run(lambda tx: tx.one("SELECT public_key FROM devices WHERE device_id = ?", (device_id,)),
                         write=False)
        return wire.b64d(row[0]) if row else None

    found = verify_qr.check(text, ctx.keys.sign_public, device_key)
    _print(found)
    return Exit.OK if found["valid"] else Exit.FAIL


def _fail(reason: str, **extra) -> int:
    print(json.dumps({"error": reason, **extra}), file=sys.stderr)
    return Exit.FAIL


def _limit(kind: str):
    def parse(text: str):
        value = int(text) if kind == _COUNT else float(text)
        if kind == _COUNT and value < 1 or kind == _SECONDS and not value > 0 or kind == _RATE and not value >= 0:
            raise argparse.ArgumentTypeError({_COUNT: "must be at least 1", _SECONDS: "must be more than 0",
                                              _RATE: "must not be negative"}[kind])
        return value

    return parse


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
    for flag, kind, text in LIMIT_FLAGS:
        p.add_argument(flag, type=_limit(kind), help=text)
    p.add_argument("--forwarded-allow-ips", help="proxy addresses whose X-Forwarded-For gives the client address "
                   "(default: $FORWARDED_ALLOW_IPS, else 127.0.0.1,::1)")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("keys", help="print the public keys (JSON) for provisioning devices")
    _common(p, db=False)
    p.set_defaults(func=cmd_keys)
    p = sub.add_parser("enrollment-code", help="print a one-time device enrollment code")
    _common(p)
    p.add_argument("--ttl", type=_at_least(1), default=600, help="seconds the code stays valid (default 600)")
    p.add_argument("--communes", metavar="C,C", help="the area (commune codes) of the device that enrolls with it")
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
    from registry import cli_members

    cli_members.add_parsers(sub, _common)
    p = sub.add_parser("scheme-facts", help="print the scheme facts document served to laptops, or install a newer one")
    _common(p)  # the document lives in the data folder; --database-url is taken (and unused) like every command's
    p.add_argument("--install", metavar="FILE", help="a newer document (format fieldapp-scheme-facts) to serve")
    p.set_defaults(func=cmd_scheme_facts)
    p = sub.add_parser("member-number", help="print, or set, the form of member numbers assigned from now on")
    _common(p)
    p.add_argument("--prefix", help="letters, digits and '-', at most 16 (default KH-REG-)")
    p.add_argument("--digits", type=int, help="zero-padded width of the number, 4 to 12 (default 6)")
    p.set_defaults(func=cmd_member_number)
    p = sub.add_parser("verify-card", help="check a membership card's (or a slip's) QR code offline; exit 0 valid")
    p.add_argument("text", nargs="?", metavar="QR_TEXT", help="the QR code's text (NC1:... or NS1:...)")
    p.add_argument("--image", metavar="FILE", help="an image holding the QR code, instead of its text")
    _common(p)
    p.set_defaults(func=cmd_verify_card)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    serving = args.command == "serve"
    logs.setup(queued=serving, also=("uvicorn",) if serving else ())
    from registry import failures
    from registry.storage import Busy, KeyMismatch

    try:
        return args.func(args)
    except KeyMismatch:
        return _fail("key_mismatch")
    except Busy:
        return _fail("busy")
    except Exception as exc:  # noqa: BLE001 - one JSON line, never a traceback (it could show data)
        reason = failures.classify(exc, Path(args.data_dir).expanduser())
        if reason == failures.DISK_FULL:
            return _fail("disk_full")
        return _fail("storage_error" if reason else "internal_error", kind=type(exc).__name__)
    finally:
        logs.flush()
