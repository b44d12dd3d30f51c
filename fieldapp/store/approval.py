"""The supervisor approval key: what makes a supervisor a supervisor, cryptographically.

One Ed25519 key per store. Its private half exists only sealed to supervisor key slots and the recovery slot
(``keyslots``): a user whose slot does not open it is an outreach worker, whatever the ``users`` table says. It
signs every approved record (the registry requires that signature, see docs/protocol.md), every user's role
(``users.role_sig``) and the audit chain's head after every supervisor transaction (``trusted.audit.head``). Its
public half is a trusted fact of the store (``trusted.approval.public_key``), registered with the registry.

Stores from release 0.1.0 get their key at the first login of a supervisor (``on_login``): it is made, granted to
that supervisor and the recovery slot, and the roles *as the database holds them then* are signed. Other
supervisors of that store get it when a supervisor who holds it next logs in (``grant_supervisors``), once their
own slot has been rewritten at their own login.
"""

from __future__ import annotations

import logging

from fieldapp.base.encoding import b64decode, b64encode, canonical_text, now_iso_seconds
from fieldapp.domain import signed
from fieldapp.store import trusted

log = logging.getLogger(__name__)


def public_key(conn) -> bytes | None:
    """The store's approval public key (a trusted fact), or None before it exists."""
    value = trusted.get(conn, "approval.public_key")
    return b64decode(value) if value else None


def store_id(conn) -> str:
    row = conn.execute("SELECT value FROM settings WHERE key = 'store_id'").fetchone()
    return row[0] if row else ""


def sign_role(session, tx, name: str) -> None:
    """Sign ``name``'s row as it now stands (inside the caller's transaction; needs the approval key)."""
    row = tx.execute("SELECT role, disabled FROM users WHERE name = ?", (name,)).fetchone()
    if row is None or session.approval_key is None:
        return
    sig = signed.sign_role(store_id(tx), name, row[0], bool(row[1]), session.approval_key)
    tx.execute("UPDATE users SET role_sig = ? WHERE name = ?", (sig, name))


def unsigned_roles(conn) -> list[str]:
    """Users whose row is not signed by the store's approval key as it stands (empty before the key exists)."""
    pub = public_key(conn)
    if pub is None:
        return []
    sid = store_id(conn)
    rows = conn.execute("SELECT name, role, disabled, role_sig FROM users ORDER BY name").fetchall()
    return [n for n, role, disabled, sig in rows if not signed.role_ok(sid, n, role, bool(disabled), sig, pub)]


def signed_supervisors(conn) -> list[str]:
    """Enabled users whose row says supervisor under a valid signature."""
    pub = public_key(conn)
    if pub is None:
        return []
    sid = store_id(conn)
    rows = conn.execute("SELECT name, role, disabled, role_sig FROM users WHERE role = 'supervisor' AND disabled = 0")
    return [n for n, role, disabled, sig in rows if signed.role_ok(sid, n, role, False, sig, pub)]


def create(session, slots) -> bytes:
    """A new approval key for this store, granted to ``session``'s user and the recovery slot; every role signed.

    Runs inside ``session.write()``; the caller saves ``slots`` inside that transaction too, as every slot change
    does (the file is replaced atomically before the commit: if that fails, nothing is committed)."""
    key = signed.new_key()
    session.approval_key = key
    trusted.put(session.conn, "approval.public_key", b64encode(signed.public_of(key)))
    slots.grant(session.name, "approval", key)
    if slots.recovery_public() is not None:
        slots.grant_recovery("approval", key)
    for (name,) in session.conn.execute("SELECT name FROM users").fetchall():
        sign_role(session, session.conn, name)
    session.audit.append(session.name, "store.approval_key_created",
                         reason=signed.key_fingerprint(signed.public_of(key)))
    return key


def on_login(session, slots, keys, password: str) -> None:
    """What a login does for the approval key (``database.Store.unlock``): rewrite a release-0.1.0 slot; make the
    store's approval key at the first supervisor login after the upgrade; give the key to signed supervisors who
    lack it. ``session.approval_key`` is set from the slot before this runs."""
    conn = session.conn
    row = conn.execute("SELECT role FROM users WHERE name = ?", (session.name,)).fetchone()
    db_role = row[0] if row else None
    if keys.legacy or (public_key(conn) is None and db_role == "supervisor"):
        with session.write():
            if keys.legacy:
                slots.set_password(session.name, password, session.key, approval_key=session.approval_key)
                session.audit.append(session.name, "user.slot_upgraded", reason=session.name)
            if public_key(conn) is None and db_role == "supervisor":
                create(session, slots)
            slots.save(session.key)
    if session.approval_key is not None:
        check_anchor(session)
        grant_supervisors(session, slots)


def check_anchor(session) -> None:
    """The store's approval public key must be the one this supervisor's slot opened: an insider who replaced the
    trusted fact to sign with a key of their own is caught here and by ``verify``."""
    if public_key(session.conn) != signed.public_of(session.approval_key):
        log.error("approval key anchor differs from the key this slot holds")
        session.approval_key = None
        session.user["role"] = "outreach"


def grant_supervisors(session, slots) -> list[str]:
    """Give the approval key to every signed, enabled supervisor whose (rewritten) slot lacks it, and to the recovery
    slot. Returns who got it."""
    given = []
    for name in signed_supervisors(session.conn):
        if name in slots.users() and name not in slots.legacy_users() and not slots.has_grant(name, "approval"):
            slots.grant(name, "approval", session.approval_key)
            given.append(name)
    recovery = slots.recovery_public() is not None and not _recovery_has(slots)
    if given or recovery:
        if recovery:
            slots.grant_recovery("approval", session.approval_key)
        with session.write():
            for name in given:
                session.audit.append(session.name, "user.approval_granted", reason=name)
            slots.save(session.key)
    return given


def _recovery_has(slots) -> bool:
    slot = slots._recovery()
    return bool(slot and "approval" in (slot.get("grants") or {}))


def sign_head(session) -> None:
    """After a supervisor's transaction appended audit events: sign the chain's new head (same transaction)."""
    row = session.conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None or session.approval_key is None:
        return
    head = signed.sign_audit_head(store_id(session.conn), row[0], row[1], now_iso_seconds(), session.approval_key)
    trusted.put(session.conn, "audit.head", canonical_text(head))


def verify_head(conn) -> list[tuple[str, dict]]:
    """Problems with the signed audit head (``verify``): not signed by the store's key, or the chain does not
    reach it with the same hash (rows deleted or rewritten below it)."""
    import json

    pub, text = public_key(conn), trusted.get(conn, "audit.head")
    if pub is None:
        return []
    if not text:
        return [("core.verify.audit_unsigned", {})]
    try:
        head = signed.verify_audit_head(json.loads(text), pub)
    except (ValueError, signed.BadStatement):
        return [("core.verify.audit_head", {})]
    row = conn.execute("SELECT hash FROM audit WHERE seq = ?", (head["seq"],)).fetchone()
    if row is None or row[0] != head["hash"] or head["store_id"] != store_id(conn):
        return [("core.verify.audit_truncated", {"seq": head["seq"]})]
    return []


def rotate(session) -> bytes:
    """Supervisor only: a new approval key (after a supervisor left), granted to every signed, enabled supervisor and
    the recovery slot; every role signed again. The old key's grants are replaced. Returns the new key; the registry
    accepts it with an enrollment code from IT (``outbox`` sends the registration, ``fieldapp rotate-approval-key``)."""
    session.require_supervisor()
    slots = session.store.slots()
    supervisors = [n for n in signed_supervisors(session.conn) if n in slots.users() and n not in slots.legacy_users()]
    old = signed.key_fingerprint(signed.public_of(session.approval_key))
    key = signed.new_key()
    with session.write():
        for name in slots.users():
            slots.revoke(name, "approval")
        for name in supervisors:
            slots.grant(name, "approval", key)
        if slots.recovery_public() is not None:
            slots.grant_recovery("approval", key)
        session.approval_key = key
        trusted.put(session.conn, "approval.public_key", b64encode(signed.public_of(key)))
        for (name,) in session.conn.execute("SELECT name FROM users").fetchall():
            sign_role(session, session.conn, name)
        session.audit.append(session.name, "store.approval_key_rotated",
                             reason=f"{old}->{signed.key_fingerprint(signed.public_of(key))}")
        slots.save(session.key)
    return key
