"""Regaining access with the IT recovery key: when every user has forgotten their password, or
when ``keyslots.json`` itself is damaged or gone (the recovery slot is escrowed on its own in
``recovery-slot.json``, and IT may hold a copy from ``fieldapp recovery-export``)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from fieldapp.store.audit import now_iso
from fieldapp.base.errors import AuthError, StoreError, TamperError
from fieldapp.store.keyslots import SlotFile, load_escrow
from fieldapp.base.paths import ESCROW_FILE, DataDir
from fieldapp.store.database import Store

log = logging.getLogger(__name__)


def _candidates(store: Store, escrow_file: Path | None) -> list[tuple[str, SlotFile]]:
    """Slot files that may hold the recovery slot: keyslots.json, then the escrow copies."""
    out = []
    try:
        out.append(("keyslots", store.slots()))
    except (StoreError, TamperError):
        pass  # missing or unreadable: the escrow is what it is for
    if escrow_file is not None:  # named by IT: it must be readable
        out.append(("escrow_file", SlotFile.from_escrow(store.slots_path, load_escrow(Path(escrow_file)))))
    local = DataDir(store.data_dir).escrow
    if local.exists():
        try:
            out.append(("escrow", SlotFile.from_escrow(store.slots_path, load_escrow(local))))
        except (StoreError, TamperError):
            log.warning("recovery: %s is unreadable", ESCROW_FILE)
    return out


def recover(store: Store, private_key: bytes, user: str, password: str, escrow_file: Path | None = None) -> str:
    """Open the recovery slot and give ``user`` a supervisor slot with ``password``.

    The slot file's MAC is not required to verify here (it is rewritten with a fresh MAC), and a
    missing or unreadable ``keyslots.json`` is rebuilt from the escrowed recovery slot: the damaged
    file is kept aside, and the other users then need a password reset from ``user``. Returns where
    the recovery slot came from: ``keyslots``, ``escrow_file`` or ``escrow``.
    """
    if not store.db_path.exists():
        raise StoreError("core.store.missing")
    candidates = _candidates(store, escrow_file)
    if not candidates:
        raise StoreError("core.recovery.no_escrow")
    session = error = None
    for source, slots in candidates:
        try:
            key = slots.unlock_recovery(private_key)
        except AuthError as exc:
            error = error or exc
            continue
        try:
            session = store.open_with_key(key, None)
            break
        except StoreError as exc:  # "damaged": the key of another store (an escrow copy from another laptop)
            if exc.msg_id != "core.store.damaged":
                raise
            error = TamperError("core.recovery.other_store")
    if session is None:
        raise error or AuthError("core.recovery.wrong_key")
    readable = next((s for src, s in candidates if src == "keyslots"), None)
    if source != "keyslots" and readable is not None and readable.store_id == slots.store_id:
        # keyslots.json reads but lacks a working recovery slot: keep its users, put the escrowed one back
        readable.data["slots"] = [s for s in readable.data["slots"] if s.get("type") != "recovery"] + slots.data["slots"]
        slots = readable
    try:
        row = session.conn.execute("SELECT value FROM settings WHERE key = 'store_id'").fetchone()
        if row is None or row[0] != slots.store_id:
            raise TamperError("core.recovery.other_store")
        session.user = {"name": "recovery", "role": "supervisor", "full_name": None}
        with session.write() as tx:
            exists = tx.execute("SELECT 1 FROM users WHERE name = ?", (user,)).fetchone()
            if exists:
                tx.execute("UPDATE users SET role = 'supervisor', disabled = 0 WHERE name = ?", (user,))
            else:
                tx.execute("INSERT INTO users (name, role, disabled, created_at, created_by) VALUES (?, 'supervisor', 0, ?, 'recovery')",
                           (user, now_iso()))
            session.audit.append("recovery", "store.recovered" if source == "keyslots" else "store.slots_rebuilt",
                                 reason=user)
            if slots is not readable and store.slots_path.exists():
                aside = store.slots_path.with_name(f"{store.slots_path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
                store.slots_path.replace(aside)
                log.warning("recovery: unreadable key slots kept aside as %s", aside.name)
            slots.set_password(user, password, key)
            slots.save(key)
    finally:
        session.close()
    return source
