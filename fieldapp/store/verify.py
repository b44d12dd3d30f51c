"""Integrity checks of an unlocked store: database pages, schema, audit chain and its signed head, signed roles,
key slots, outbox.

What an insider with a key slot and a SQL shell can still change, ``verify`` is meant to catch: a role edited in
``users`` (its signature by the approval key no longer matches), audit rows rewritten or deleted at or below the
newest signed head (the head's hash no longer matches), a replaced approval key anchor (it is not the key this
supervisor's slot opens), an approved record in the outbox without the approval key's signature. Rows appended
after the newest signed head are not covered until the next supervisor transaction signs a new head; the registry
keeps each laptop's newest head, so deleting rows a batch already reported is found too (``outbound.verify``).
"""

from __future__ import annotations

from fieldapp.domain import signed
from fieldapp.domain.states import SEALED
from fieldapp.store import approval, audit, migrations
from fieldapp.store.dbapi import DatabaseError
from fieldapp.store.database import Session


def verify(session: Session) -> list[tuple[str, dict]]:
    """Every problem found, as (message id, params); empty when the store is sound."""
    problems: list[tuple[str, dict]] = []
    conn = session.conn
    try:
        bad_pages = conn.execute("PRAGMA cipher_integrity_check").fetchall()
        if bad_pages:
            problems.append(("core.verify.pages", {"count": len(bad_pages)}))
        result = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        if result != ["ok"]:
            problems.append(("core.verify.integrity", {"count": len(result)}))
        if conn.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(("core.verify.foreign_keys", {}))
        version = migrations.current_version(conn)
        if version != migrations.LATEST:
            problems.append(("core.verify.schema", {"version": version, "latest": migrations.LATEST}))
        if audit.verify_chain(conn):
            problems.append(("core.verify.audit", {}))
        problems += approval.verify_head(conn)
        problems += _check_approval(session)
        problems += _check_users(session)
        problems += _check_outbox(conn)
    except DatabaseError:
        problems.append(("core.store.damaged", {}))
    return problems


def _check_approval(session: Session) -> list[tuple[str, dict]]:
    """The approval key anchor is the one a supervisor's slot opens; every role is signed as it stands."""
    out = []
    pub = approval.public_key(session.conn)
    if session.approval_key is not None and pub != signed.public_of(session.approval_key):
        out.append(("core.verify.approval_anchor", {}))
    bad = approval.unsigned_roles(session.conn)
    if bad:
        out.append(("core.verify.roles", {"count": len(bad)}))
    return out


def _check_users(session: Session) -> list[tuple[str, dict]]:
    slot_users = set(session.store.slots().users())
    db_users = {r[0] for r in session.conn.execute("SELECT name FROM users")}
    stray = slot_users - db_users
    return [("core.verify.stray_slots", {"count": len(stray)})] if stray else []


def _check_outbox(conn) -> list[tuple[str, dict]]:
    missing = conn.execute(
        f"SELECT count(*) FROM records r WHERE r.state IN ({','.join('?' * len(SEALED))})"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.record_id = r.id)", SEALED).fetchone()[0]
    return [("core.verify.outbox", {"count": missing})] if missing else []
