"""``fieldapp slip``, ``fieldapp card`` and ``fieldapp verify-card``: proof for the enrolled person.

Slips and cards are drawn by the desktop client's printing plug-in (``fieldapp.gui`` entry point ``render``: Qt, the
bundled fonts embedded); the core builds what they say (``fieldapp.proof.documents``). The PDF goes only where
``--out`` says, written owner-only; nothing else is left on disk. ``verify-card`` needs no Qt and no network.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

from fieldapp.base.errors import FieldappError
from fieldapp.base.exitcodes import Exit
from fieldapp.base.i18n import get_language, tr
from fieldapp.cli.common import emit_json, unlock

SLIP_PAGES = ("A4", "A5", "80mm")
CARD_LAYOUTS = ("id1", "a4-sheet")


def add_commands(sub, common) -> None:
    def cmd(name, func, text):
        p = sub.add_parser(name, parents=[common], help=text, description=text)
        p.set_defaults(func=func)
        return p

    p = cmd("slip", cmd_slip, "print a record's acknowledgement slip to a PDF file (personal data: keep it safe)")
    p.add_argument("record_id", metavar="ID", help="the record (submitted, or in any later state)")
    p.add_argument("--user", required=True, help="user name; password from FIELDAPP_PASSWORD, else a prompt")
    p.add_argument("--out", required=True, metavar="FILE.pdf", help="the PDF to write (owner-only)")
    p.add_argument("--page", choices=SLIP_PAGES, default="A4", help="paper: A4, A5 or an 80 mm receipt roll")
    p = cmd("card", cmd_card, "print membership cards of registered records to a PDF file (personal data)")
    p.add_argument("record_ids", nargs="*", metavar="ID", help="registered records (or --day)")
    p.add_argument("--day", metavar="YYYY-MM-DD", help="every record registered that day, with a card (the day's batch)")
    p.add_argument("--user", required=True, help="user name; password from FIELDAPP_PASSWORD, else a prompt")
    p.add_argument("--out", required=True, metavar="FILE.pdf", help="the PDF to write (owner-only)")
    p.add_argument("--layout", choices=CARD_LAYOUTS, default="id1",
                   help="id1: one 85.6 x 54 mm card a page; a4-sheet: ten cards on A4")
    p = cmd("verify-card", cmd_verify_card, "check a membership card's or a slip's QR code offline; exit 0 valid, 1 "
                                            "refused")
    p.add_argument("text", nargs="?", metavar="QR_TEXT", help="the QR code's text (NC1:... or NS1:...)")
    p.add_argument("--image", metavar="FILE", help="an image (photo or scan) holding the QR code, instead of its text")
    p.add_argument("--user", help="unlock to use the registry key this laptop holds (and its own device key)")
    p.add_argument("--registry-key", metavar="BASE64", help="the registry's signing public key, instead of --user")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _renderer():
    from fieldapp.base.plugins import plugin

    try:
        render = plugin("fieldapp.gui", "render")
    except ImportError:
        render = None
    if render is None:
        raise FieldappError("core.cli.gui_not_installed")
    return render


def _write(render, kind: str, docs: list[dict], out: Path, page: str) -> None:
    """Render into a new owner-only file beside ``out``, then move it into place."""
    out = out.expanduser().resolve()
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        render(kind, docs, tmp, page)
        os.chmod(tmp, 0o600)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    print(tr("proof.saved", path=str(out)))


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def cmd_slip(args):
    from fieldapp.proof import documents

    render = _renderer()
    with unlock(args) as session:
        doc = documents.slip_document(session, args.record_id, get_language(), _now())
    _write(render, "slip", [doc], Path(args.out), args.page)


def cmd_card(args):
    from fieldapp.proof import documents

    render = _renderer()
    with unlock(args) as session:
        ids = list(args.record_ids) + (documents.registered_on(session, args.day) if args.day else [])
        if not ids:
            if args.day:
                raise FieldappError("proof.none_today", day=args.day)
            raise FieldappError("proof.error.no_card")
        docs = [documents.card_document(session, rid, get_language()) for rid in dict.fromkeys(ids)]
    _write(render, "card", docs, Path(args.out), args.layout)


def cmd_verify_card(args):
    from fieldapp.proof.verify import keys_of_session, verify_text
    from fieldapp.outbound.qr_image import ImageError, read_qr_texts

    if bool(args.text) == bool(args.image):
        print(tr("core.cli.verify_card_usage"), file=sys.stderr)
        return Exit.USAGE
    try:
        texts = read_qr_texts(args.image) if args.image else [args.text.strip()]
    except ImageError as exc:
        raise FieldappError(f"proof.verify.{exc.reason}") from None
    if args.user:
        with unlock(args) as session:
            registry_key, devices = keys_of_session(session)
    elif args.registry_key:
        from fieldapp.base.encoding import b64decode

        try:
            registry_key, devices = b64decode(args.registry_key), {}
        except ValueError:
            raise FieldappError("proof.verify.no_key") from None
    else:
        raise FieldappError("proof.verify.no_key")
    result = verify_text(texts[0], registry_key, devices)
    if args.json:
        emit_json(result)
    else:
        print(result["message"])
        for label, value in result.get("lines", []):
            print(f"  {label}: {value}")
    return Exit.OK if result["valid"] else Exit.FAIL
