"""Rotating the database key (``fieldapp rekey``), safe against a kill at any point.

When staff leave, removing their key slot stops them logging in, but someone who copied the database key while
they could log in still holds it. ``rekey`` makes a new database key, re-encrypts every page under it
(``PRAGMA rekey``) and grants it to every key slot and the recovery slot (grants need only each slot's public key,
so nobody else's password is needed). The steps, each durable before the next:

1. ``keyslots.json`` gets a ``db_next`` grant of the new key in every slot (MAC still under the old key);
2. the database is re-encrypted in one transaction (SQLite's commit makes it all or nothing);
3. ``keyslots.json`` makes ``db_next`` every slot's ``db`` (MAC under the new key).

A kill before 2 commits leaves the database under the old key: the next unlock drops the ``db_next`` grants. A kill
after 2 leaves it under the new key with slots that still open the old one too: the next unlock opens it with
``db_next`` and finishes step 3 (``settle``). The store opens with the old or the new key, never neither. Logins
wait while a rekey runs (it holds the lockout's lock). Slots still in release 0.1.0's form cannot be granted the
new key without their user's password: those users need a password reset afterwards (the command lists them).
"""

from __future__ import annotations

import logging
import secrets

from fieldapp.base.errors import StoreError
from fieldapp.store import lockout
from fieldapp.store.dbapi import DatabaseError

log = logging.getLogger(__name__)


def settle(store, slots, keys) -> bytes:
    """At unlock: the key the database is under, finishing or dropping an interrupted rekey on the way."""
    if keys.next_db_key is None:
        return keys.db_key
    try:
        store.open_with_key(keys.db_key, None).close()
    except StoreError as exc:
        if exc.msg_id != "core.store.damaged":
            raise
        store.open_with_key(keys.next_db_key, None).close()  # raises if neither key opens it
        finish(slots, keys.next_db_key)
        log.warning("an interrupted rekey was finished at unlock")
        return keys.next_db_key
    slots.abandon_rekey()
    slots.save(keys.db_key)
    log.warning("an interrupted rekey was dropped at unlock (the database was still under the old key)")
    return keys.db_key


def finish(slots, new_key: bytes) -> list[str]:
    dropped = slots.finish_rekey()
    slots.save(new_key)
    return dropped


def rekey(session, *, step=None) -> dict:
    """Supervisor only: rotate the database key of ``session``'s store. Returns ``{"users", "dropped"}``: how many
    slots now open the new key, and the users whose release-0.1.0 slot could not take it (reset their passwords).

    ``step(name)`` is called after each durable step (tests kill the process there)."""
    session.require_supervisor()
    step = step or (lambda _name: None)
    store = session.store
    with lockout._locked(store.data_dir):
        slots = store.slots()
        slots.check_mac(session.key)
        new_key = secrets.token_bytes(32)
        with session.write():
            session.audit.append(session.name, "store.rekey_started")
        stuck = slots.begin_rekey(new_key)
        slots.save(session.key)
        step("slots_prepared")
        try:
            session.conn.execute(f"PRAGMA rekey = \"x'{new_key.hex()}'\"")
        except DatabaseError as exc:
            from fieldapp.store.database import damaged

            raise damaged(exc, store.data_dir) from None
        session.key = new_key
        step("database_rekeyed")
        dropped = finish(slots, new_key)
        step("slots_finished")
        with session.write():
            session.audit.append(session.name, "store.rekeyed", reason=",".join(dropped) or None)
    log.info("database key rotated (%d slots, %d dropped)", len(slots.users()), len(dropped))
    return {"users": len(slots.users()), "dropped": dropped, "stuck": stuck}
