"""``fieldapp-registry`` commands of protocol 4 and the operator's review: device areas, held duplicates,
their resolution, a member's history (docs/registry.md). Output is JSON on stdout; a failure is
``{"error": reason}`` on stderr with exit code 1 (``registry.cli``)."""

from __future__ import annotations


from fieldapp.base.exitcodes import Exit


def _cli():
    from registry import cli

    return cli


def cmd_device_area(args) -> int:
    from registry import areas

    cli = _cli()
    try:
        communes = areas.parse(args.communes) if args.communes is not None else None
        cli._print(areas.show(cli._context(args).db, args.device_id, communes, clear=args.clear))
    except areas.AreaError as exc:
        return cli._fail(exc.reason)
    return Exit.OK


def cmd_duplicates(args) -> int:
    from registry import review

    cli = _cli()
    cli._print(review.held_records(cli._context(args).db))
    return Exit.OK


def cmd_resolve(args) -> int:
    from registry import review

    cli = _cli()
    if len(args.ids) > 2:
        return cli._fail("usage", detail="give RECORD_ID, or DEVICE_ID RECORD_ID")
    ctx = cli._context(args)
    try:
        device_id, record_id = args.ids if len(args.ids) == 2 else (review.find_held(ctx.db, args.ids[0]), args.ids[0])
        cli._print(review.resolve(ctx.db, device_id, record_id, same_as=args.same_as, keys=ctx.keys))
    except review.ResolveError as exc:
        return cli._fail(exc.reason)
    return Exit.OK


def cmd_member_history(args) -> int:
    from registry import members

    cli = _cli()
    ctx = cli._context(args)
    found = ctx.db.run(lambda tx: members.history(tx, ctx.keys, args.member_no.strip().upper(), show=args.show),
                       write=False)
    if found is None:
        return cli._fail("unknown_member")
    cli._print({"member_no": args.member_no.strip().upper(), "versions": found})
    return Exit.OK


def add_parsers(sub, common) -> None:
    """The subcommands of this module (``common(p)`` adds ``--data-dir`` and ``--database-url``)."""
    p = sub.add_parser("device-area", help="print a device's area (the communes whose members it looks up), or set it")
    p.add_argument("device_id")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--communes", metavar="C,C", help="commune codes, comma-separated: the device's new area")
    how.add_argument("--clear", action="store_true", help="no area: the device sees only members it has records of")
    common(p)
    p.set_defaults(func=cmd_device_area)
    p = sub.add_parser("duplicates", help="list held records (probable duplicates of a member registered elsewhere)")
    common(p)
    p.set_defaults(func=cmd_duplicates)
    p = sub.add_parser("resolve", help="decide a held record: the same member, or a new one")
    p.add_argument("ids", nargs="+", metavar="ID", help="the held record's ID (or DEVICE_ID RECORD_ID when two "
                   "devices hold that record ID)")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--same-as", metavar="MEMBER", help="the held record is this member (its member number)")
    how.add_argument("--distinct", action="store_true", help="the held record is another member: register it")
    common(p)
    p.set_defaults(func=cmd_resolve)
    p = sub.add_parser("member-history", help="every version of a member: number, when, device, record")
    p.add_argument("member_no", metavar="MEMBER_NO")
    p.add_argument("--show", action="store_true", help="also print each version's record (personal data!)")
    common(p)
    p.set_defaults(func=cmd_member_history)


__all__ = ["add_parsers"]
