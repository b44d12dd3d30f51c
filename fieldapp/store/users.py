"""Users and roles.

``outreach`` users enroll, edit their own drafts and returned records and see
their own records. ``supervisor`` users may do all of that, plus review, user
management, device registration and export. A user's password lives only in
their key slot; the ``users`` table holds the role and whether the user is
disabled, each row signed by the approval key (``approval.sign_role``).

A supervisor is a user whose key slot holds the approval key: adding one, or
resetting one's password, grants it to the new slot. Disabling a user removes
their key slot (the row and their records stay); enabling them again is a
password reset by a supervisor, which gives them a new slot. After staff leave,
``fieldapp rekey`` rotates the database key itself (``rekey``).
"""

from __future__ import annotations


from fieldapp.base.config import NAME_RE
from fieldapp.store import approval
from fieldapp.store.audit import now_iso
from fieldapp.base.errors import FieldappError
from fieldapp.store.database import ROLES, Session

MIN_PASSWORD = 8


def check_name(name: str) -> None:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise FieldappError("core.user.bad_name")


def check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise FieldappError("core.user.weak_password", minimum=MIN_PASSWORD)


def list_users(session: Session) -> list[dict]:
    rows = session.conn.execute("SELECT name, full_name, role, disabled, created_at FROM users ORDER BY name")
    return [dict(zip(("name", "full_name", "role", "disabled", "created_at"), r)) for r in rows]


def add_user(session: Session, name: str, password: str, role: str, full_name: str | None = None) -> None:
    """Supervisor only: a new user with their own key slot."""
    session.require_supervisor()
    check_name(name)
    check_password(password)
    if role not in ROLES:
        raise FieldappError("core.user.bad_role")
    slots = session.store.slots()
    exists = session.conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone()
    if exists or name in slots.users():
        raise FieldappError("core.user.exists")
    with session.write() as tx:
        tx.execute(
            "INSERT INTO users (name, full_name, role, disabled, created_at, created_by) VALUES (?, ?, ?, 0, ?, ?)",
            (name, full_name, role, now_iso(), session.name),
        )
        session.audit.append(session.name, "user.added", reason=f"{name}:{role}")
        approval.sign_role(session, tx, name)
        slots.set_password(name, password, session.key,
                           approval_key=session.approval_key if role == "supervisor" else None)
        # The slot file is replaced atomically inside the transaction: if that fails, the user row rolls back.
        slots.save(session.key)


def change_password(session: Session, new_password: str, user: str | None = None) -> None:
    """Rewrite one key slot. Another user's password is a supervisor's reset, which also enables a disabled user
    (they get a new key slot: disabling removed theirs)."""
    target = user or session.name
    if target != session.name:
        session.require_supervisor()
    check_password(new_password)
    slots = session.store.slots()
    # A user of the store may have no slot (disabled, or key slots rebuilt by recovery): a reset gives them one.
    row = session.conn.execute("SELECT role, disabled FROM users WHERE name = ?", (target,)).fetchone()
    if row is None:
        raise FieldappError("core.auth.unknown_user")
    supervisor = target in approval.signed_supervisors(session.conn) or (target == session.name and session.is_supervisor)
    if row[0] == "supervisor" and row[1] and target != session.name:
        supervisor = True  # a disabled supervisor enabled again: the row is re-signed below
    with session.write() as tx:
        event = "user.password_changed" if target == session.name else "user.password_reset"
        session.audit.append(session.name, event, reason=target)
        if row[1] and target != session.name:
            tx.execute("UPDATE users SET disabled = 0 WHERE name = ?", (target,))
            session.audit.append(session.name, "user.enabled", reason=target)
            approval.sign_role(session, tx, target)
        grant = session.approval_key if supervisor and row[0] == "supervisor" else None
        slots.set_password(target, new_password, session.key, approval_key=grant)
        slots.save(session.key)


def change_own_password(session: Session, current_password: str, new_password: str) -> None:
    """The logged-in user changes their own password. The current one is checked first, as a login checks it
    (lockout, their key slot): a laptop left unlocked does not let someone else take the account."""
    check_password(new_password)
    session.store.unlock_key(session.name, current_password)
    change_password(session, new_password)


def set_disabled(session: Session, name: str, disabled: bool = True, new_password: str | None = None) -> None:
    """Supervisor only. A disabled user keeps their records but loses their key slot: they cannot log in, and their
    old password no longer opens anything in this file. Enabling again needs ``new_password`` (a password reset)."""
    session.require_supervisor()
    if name == session.name and disabled:
        raise FieldappError("core.user.cannot_disable_self")
    if not disabled:
        if new_password is None:
            raise FieldappError("core.user.enable_needs_password")
        change_password(session, new_password, name)
        return
    slots = session.store.slots()
    with session.write() as tx:
        cur = tx.execute("UPDATE users SET disabled = 1 WHERE name = ?", (name,))
        if cur.rowcount == 0:
            raise FieldappError("core.auth.unknown_user")
        session.audit.append(session.name, "user.disabled", reason=name)
        approval.sign_role(session, tx, name)
        slots.remove_user(name)
        slots.save(session.key)
