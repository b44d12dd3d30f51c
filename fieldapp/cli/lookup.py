"""`fieldapp members`, `fieldapp update` and `fieldapp rebase`: the offline lookup of the area's registered members,
and updates after registration (change requests)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fieldapp.base.errors import FieldappError
from fieldapp.cli.common import emit_json, say, subcommand, unlock

MAX_CHANGES_BYTES = 256 * 1024


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    def cmd(name, func, text):
        p = subcommand(sub, common, name, func, text)
        p.add_argument("--user", required=True, help="user name; password from FIELDAPP_PASSWORD, else a prompt")
        return p

    p = cmd("members", cmd_members, "search the offline lookup of the area's registered members")
    p.add_argument("query", nargs="?", default="", metavar="QUERY",
                   help="a name (Khmer or Latin), a member number or its digits; none: the first members")
    p.add_argument("--limit", type=int, default=50, help="at most this many members (default 50)")
    p.add_argument("--json", action="store_true", help="print JSON (one array of lookup entries)")
    p = cmd("update", cmd_update, "draft an update of a registered member (a change request); prints its record ID")
    p.add_argument("member_no", metavar="MEMBER_NO", help="the member number")
    p.add_argument("--changes", required=True, metavar="FILE", help="a JSON object: the update's changes")
    p.add_argument("--submit", action="store_true", help="submit it for review at once")
    p = cmd("rebase", cmd_rebase, "copy an update refused as stale onto the member's current version; prints the ID")
    p.add_argument("record_id", metavar="ID", help="the update's record ID")
    p.add_argument("--submit", action="store_true", help="submit the re-based update for review at once")


def _name(entry: dict) -> str:
    return " ".join(filter(None, [entry.get("family_name"), entry.get("given_name")]))


def cmd_members(args):
    from fieldapp.store import members

    with unlock(args) as session:
        found = members.search(session, args.query, max(1, min(args.limit, 1000)))
        total = members.count(session)
    if args.json:
        emit_json(found)
        return
    for e in found:
        latin = " ".join(filter(None, [e.get("family_name_latin"), e.get("given_name_latin")]))
        print("\t".join([e["member_no"], str(e["version"]), e.get("date_of_birth") or "", _name(e), latin,
                         e.get("village_code") or "", e.get("office_commune") or ""]))
    if not total:
        say("core.cli.lookup_empty")


def _changes(path: str) -> dict:
    file = Path(path)
    try:
        if file.stat().st_size > MAX_CHANGES_BYTES:
            raise FieldappError("core.record.too_large")
        changes = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise FieldappError("core.cli.changes_unreadable", path=path) from None
    if not isinstance(changes, dict):
        raise FieldappError("core.update.bad_changes")
    return changes


def _submit(session, record_id: str) -> None:
    from fieldapp.store import records

    try:
        records.submit(session, record_id)
    except records.ValidationFailed as exc:  # the draft is kept: say its ID, then every problem
        print(record_id)
        for p in exc.problems:
            print(f"{p.path or '-'}: {p.message()}", file=sys.stderr)
        raise


def cmd_update(args):
    from fieldapp.store import updates

    changes = _changes(args.changes)
    with unlock(args) as session:
        record_id = updates.new_update(session, args.member_no, changes)
        if args.submit:
            _submit(session, record_id)
    print(record_id)
    say("core.cli.update_submitted" if args.submit else "core.cli.update_drafted", member_no=args.member_no.upper())


def cmd_rebase(args):
    from fieldapp.store import updates

    with unlock(args) as session:
        new_id = updates.rebase(session, args.record_id)
        if args.submit:
            _submit(session, new_id)
    print(new_id)
    say("core.cli.rebased")
