"""Handlers of the ``fieldapp`` commands (parsing lives in ``fieldapp.cli.main``)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from fieldapp.domain import reasons
from fieldapp.proof.status import record_status
from fieldapp.store import records, users
from fieldapp import services
from fieldapp.cli.common import emit_json, new_password, read_password, recovery_credentials, say, store_of, unlock
from fieldapp.base.errors import FieldappError, StoreError, TamperError
from fieldapp.base.fsutil import atomic_write_json
from fieldapp.base.exitcodes import Exit
from fieldapp.base.i18n import tr
from fieldapp.store.keyslots import generate_recovery_keypair, load_recovery_key

EXIT_FAIL = Exit.FAIL


def cmd_init(args):
    store = store_of(args)
    if store.exists():
        raise FieldappError("core.store.exists")
    users.check_name(args.user)
    if args.recovery_public_key:
        recovery = load_recovery_key(Path(args.recovery_public_key), "public")
    else:  # the recovery key from IT's provisioning file, if one was applied
        from fieldapp.deploy import provisioned

        recovery = provisioned.recovery_public_key(store.data_dir)
    password = read_password(prompt_id="core.cli.new_password_prompt", confirm=True, user=args.user)
    users.check_password(password)
    services.create_store(store.data_dir, args.user, password, args.full_name, recovery_public=recovery).close()
    say("core.cli.init_done", path=str(store.data_dir), user=args.user)
    if recovery is None:
        print(tr("core.cli.no_recovery_warning"), file=sys.stderr)
    else:
        from fieldapp.store.keyslots import fingerprint

        say("core.cli.recovery_fingerprint", fingerprint=fingerprint(recovery))


def cmd_user_add(args):
    with unlock(args, role="supervisor") as session:
        users.add_user(session, args.new_user, new_password(args.new_user), args.role, args.full_name)
    say("core.cli.user_added", user=args.new_user, role=args.role)


def cmd_user_passwd(args):
    with unlock(args) as session:
        target = args.target_user or args.user
        users.change_password(session, new_password(target), target)
    say("core.cli.password_changed", user=target)


def cmd_user_disable(args):
    with unlock(args, role="supervisor") as session:
        users.set_disabled(session, args.target_user, True)
    say("core.cli.user_disabled", user=args.target_user)


def cmd_user_enable(args):
    with unlock(args, role="supervisor") as session:
        users.set_disabled(session, args.target_user, False, new_password(args.target_user))
    say("core.cli.user_enabled", user=args.target_user)


def cmd_user_list(args):
    with unlock(args) as session:
        rows = users.list_users(session)
    if args.json:
        emit_json(rows)
    else:
        for row in rows:
            flag = " (" + tr("core.cli.disabled") + ")" if row["disabled"] else ""
            print(f"{row['name']}\t{row['role']}{flag}")


def cmd_import(args):
    from fieldapp.domain.importer import read_records, validate_import

    with unlock(args) as session:
        rows, problems = read_records(Path(args.file))
        cleans = []
        if not problems:
            cleans, problems = validate_import(rows, date.today())
        file_level = [p for p in problems if not getattr(p, "line", 0) or p.line <= 0]
        if file_level:  # the file as a whole cannot be read: one line says why
            print(file_level[0].message(), file=sys.stderr)
            return EXIT_FAIL
        if problems:
            for p in problems:
                print(_import_problem_line(p), file=sys.stderr)
            print(tr("core.cli.import_failed", count=len(problems)), file=sys.stderr)
            return EXIT_FAIL
        if not cleans:
            raise FieldappError("core.cli.import_empty")
        ids = records.import_records(session, cleans)
    for record_id in ids:
        print(record_id)
    print(tr("core.cli.imported", count=len(ids)), file=sys.stderr)


def _import_problem_line(p) -> str:
    from fieldapp.domain.validation import Problem

    text = Problem(p.path, p.code, p.params).message()
    return tr("core.cli.problem_line", line=p.line, field=p.path or "-", message=text)


def _summary(rec: dict) -> dict:
    data = rec["data"]
    keep = ("family_name", "given_name", "family_name_latin", "given_name_latin", "sex", "date_of_birth",
            "national_id", "phone", "village_code")
    out = {"id": rec["id"], "state": rec["state"], "created_by": rec["created_by"], "created_at": rec["created_at"],
           "updated_at": rec["updated_at"], "reason": rec["reason"],
           "reason_code": reasons.split(rec["reason"])[0], "duplicates": rec["duplicates"],
           "member_no": rec.get("member_no"), "kind": rec.get("kind") or "enrollment",
           "member_ref": rec.get("member_ref"), "status": record_status(rec)}
    out.update({k: data.get(k) for k in keep if isinstance(data, dict)})
    out["dependents"] = len(data.get("dependents") or []) if isinstance(data, dict) else 0
    return out


def cmd_list(args):
    with unlock(args) as session:
        rows = [_summary(r) for r in records.list_records(session, args.state)]
    if args.json:
        emit_json(rows)
        return
    for r in rows:
        name = " ".join(filter(None, [r.get("family_name"), r.get("given_name")]))
        if r["kind"] == "update":
            name = tr("core.cli.update_of", member_no=r["member_ref"] or "?")
        print(f"{r['id']}\t{r['state']}\t{r.get('date_of_birth') or ''}\t{name}\t{r['status']}")


def cmd_review(args):
    with unlock(args, role="supervisor") as session:
        if args.approve_all:
            ids, action = records.submitted_ids(session), "approve"
        elif args.approve:
            ids, action = args.approve, "approve"
        elif args.reject:
            ids, action = [args.reject], "reject"
        else:
            ids, action = [args.return_id], "return"
        reason = reasons.compose(args.reason_code, args.reason)
        if action != "approve" and not reason:
            raise FieldappError("core.review.reason_required")
        done = services.review(session, ids, action, reason)
    say(f"core.cli.reviewed_{action}", count=len(done))


def cmd_requeue(args):
    from fieldapp.outbound import outbox

    if bool(args.ids) == bool(args.all):
        raise FieldappError("core.cli.requeue_what")
    with unlock(args, role="supervisor") as session:
        done = outbox.requeue_quarantined(session, None if args.all else args.ids)
    for record_id in done:
        print(record_id)
    say("core.cli.requeued", count=len(done))


def cmd_status(args):
    with unlock(args) as session:
        counts = records.counts(session)
        spool = _spool_counts(session.store.data_dir)
    result = {"counts": counts, "total": sum(counts.values()), "user": args.user}
    if spool is not None:
        result["spool"] = spool
    if args.json:
        emit_json(result)
    else:
        for state, n in counts.items():
            print(f"{state}\t{n}")


def _spool_counts(data_dir):
    from fieldapp.outbound.spool import SpoolError
    from fieldapp.outbound.status import delivery_status

    status = delivery_status(data_dir)
    if not status.spool_present:
        return None
    if isinstance(status.spool_error, SpoolError):
        return {"error": "spool_unusable"}
    if status.spool_error is not None:
        raise status.spool_error
    return status.counts


def cmd_verify(args):
    with unlock(args) as session:
        problems = services.verify(session)
    for msg_id, params in problems:
        print(tr(msg_id, **params), file=sys.stderr)
    if problems:
        return EXIT_FAIL
    say("core.cli.verify_ok")


def cmd_rekey(args):
    with unlock(args, role="supervisor") as session:
        result = services.rekey(session)
    say("core.cli.rekeyed", users=result["users"])
    for name in result["dropped"]:
        print(tr("core.cli.rekey_reset_needed", user=name), file=sys.stderr)


def cmd_rotate_approval_key(args):
    from fieldapp.outbound import outbox
    from fieldapp.store import approval

    with unlock(args, role="supervisor") as session:
        approval.rotate(session)
        outbox.register_rotated_key(session, args.code)
    say("core.cli.approval_key_rotated")


def cmd_recovery_keygen(args):
    private, public = generate_recovery_keypair()
    for path in (args.private_out, args.public_out):
        if Path(path).exists():
            raise FieldappError("core.cli.file_exists", path=path)
    atomic_write_json(Path(args.private_out), private)
    atomic_write_json(Path(args.public_out), public)
    say("core.cli.recovery_keys_written", fingerprint=public["fingerprint"])


def cmd_recovery_set(args):
    from fieldapp.store.recovery import set_recovery

    key = load_recovery_key(Path(args.public_key), "public")
    with unlock(args, role="supervisor") as session:
        set_recovery(session, key)
    say("core.cli.recovery_set")


def cmd_recover(args):
    from fieldapp.store.recovery import recover

    private, password = recovery_credentials(args.recovery_key, args.new_user)
    source = recover(store_of(args), private, args.new_user, password,
                     Path(args.escrow) if args.escrow else None)
    if source != "keyslots":
        say("core.cli.slots_rebuilt")
    say("core.cli.recovered", user=args.new_user)


def cmd_recovery_export(args):
    from fieldapp.store.keyslots import load_escrow
    from fieldapp.base.paths import DataDir

    store = store_of(args)
    out = Path(args.out)
    if out.exists():
        raise FieldappError("core.cli.file_exists", path=str(out))
    try:
        escrow = store.slots().escrow()
    except (StoreError, TamperError):
        escrow = None
    if escrow is None:
        escrow = load_escrow(DataDir(store.data_dir).escrow)
    atomic_write_json(out, escrow)
    say("core.cli.recovery_exported", store_id=escrow["store_id"], path=str(out))
