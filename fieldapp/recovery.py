"""Regaining access with the IT recovery key when every user has forgotten their password."""

from __future__ import annotations

from fieldapp.audit import now_iso
from fieldapp.errors import StoreError
from fieldapp.store import Store


def recover(store: Store, private_key: bytes, user: str, password: str) -> None:
    """Open the recovery slot and give ``user`` a supervisor slot with ``password``.

    The slot file's MAC is not required to verify here (it is rewritten with a
    fresh MAC), so a store whose slot file was damaged can be recovered too.
    """
    if not store.exists():
        raise StoreError("core.store.missing")
    slots = store.slots()
    key = slots.unlock_recovery(private_key)
    session = store.open_with_key(key, None)
    try:
        session.user = {"name": "recovery", "role": "supervisor", "full_name": None}
        with session.write() as tx:
            exists = tx.execute("SELECT 1 FROM users WHERE name = ?", (user,)).fetchone()
            if exists:
                tx.execute("UPDATE users SET role = 'supervisor', disabled = 0 WHERE name = ?", (user,))
            else:
                tx.execute("INSERT INTO users (name, role, disabled, created_at, created_by) VALUES (?, 'supervisor', 0, ?, 'recovery')",
                           (user, now_iso()))
            session.audit.append("recovery", "store.recovered", reason=user)
            slots.set_password(user, password, key)
            slots.save(key)
    finally:
        session.close()
