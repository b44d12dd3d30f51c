"""Users and roles.

``outreach`` users enroll, edit their own drafts and returned records and see
their own records. ``supervisor`` users may do all of that, plus review, user
management, device registration and export. A user's password lives only in
their key slot; the ``users`` table holds the role and whether the user is
disabled.
"""

from __future__ import annotations


from fieldapp.base.config import NAME_RE
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
        slots.set_password(name, password, session.key)
        # The slot file is replaced atomically inside the transaction: if that fails, the user row rolls back.
        slots.save(session.key)


def change_password(session: Session, new_password: str, user: str | None = None) -> None:
    """Rewrite one key slot. Another user's password is a supervisor's reset."""
    target = user or session.name
    if target != session.name:
        session.require_supervisor()
    check_password(new_password)
    slots = session.store.slots()
    # A user of the store may have no slot (key slots rebuilt by recovery): a reset gives them one.
    if session.conn.execute("SELECT 1 FROM users WHERE name = ?", (target,)).fetchone() is None:
        raise FieldappError("core.auth.unknown_user")
    with session.write():
        event = "user.password_changed" if target == session.name else "user.password_reset"
        session.audit.append(session.name, event, reason=target)
        slots.set_password(target, new_password, session.key)
        slots.save(session.key)


def set_disabled(session: Session, name: str, disabled: bool = True) -> None:
    """Supervisor only. A disabled user keeps their records but cannot log in."""
    session.require_supervisor()
    if name == session.name and disabled:
        raise FieldappError("core.user.cannot_disable_self")
    with session.write() as tx:
        cur = tx.execute("UPDATE users SET disabled = ? WHERE name = ?", (1 if disabled else 0, name))
        if cur.rowcount == 0:
            raise FieldappError("core.auth.unknown_user")
        session.audit.append(session.name, "user.disabled" if disabled else "user.enabled", reason=name)
