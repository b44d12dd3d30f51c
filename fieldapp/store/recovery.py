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
            keys = slots.unlock_recovery(private_key)
        except AuthError as exc:
            error = error or exc
            continue
        key = keys.next_db_key or keys.db_key
        try:
            try:
                session = store.open_with_key(keys.db_key, None, keys.approval_key)
                key = keys.db_key
            except StoreError:
                if keys.next_db_key is None:
                    raise
                session = store.open_with_key(keys.next_db_key, None, keys.approval_key)  # an interrupted rekey
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
            if session.approval_key is not None:
                from fieldapp.store import approval

                approval.sign_role(session, tx, user)
            session.audit.append("recovery", "store.recovered" if source == "keyslots" else "store.slots_rebuilt",
                                 reason=user)
            if slots is not readable and store.slots_path.exists():
                aside = store.slots_path.with_name(f"{store.slots_path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
                store.slots_path.replace(aside)
                log.warning("recovery: unreadable key slots kept aside as %s", aside.name)
            if keys.next_db_key is not None and key == keys.next_db_key:
                slots.finish_rekey()
            slots.set_password(user, password, key, approval_key=session.approval_key)
            slots.save(key)
    finally:
        session.close()
    return source


# -- the recovery slot, changed only by a supervisor's explicit action (docs/security.md) --------------------------------
def set_recovery(session, public_key: bytes) -> str:
    """Supervisor only: the recovery slot for IT's ``public_key`` (granting the database and approval keys). The old
    and new fingerprints go into the audit trail. Returns the new fingerprint."""
    from fieldapp.base.encoding import b64encode
    from fieldapp.store import trusted
    from fieldapp.store.keyslots import fingerprint

    session.require_supervisor()
    slots = session.store.slots()
    old = slots.recovery_fingerprint()
    with session.write():
        slots.set_recovery(public_key, session.key, session.approval_key)
        trusted.put(session.conn, "recovery.fingerprint", fingerprint(public_key))
        trusted.put(session.conn, "recovery.public_key", b64encode(public_key))
        trusted.delete(session.conn, "provisioning.recovery_pending")
        session.audit.append(session.name, "store.recovery_set", reason=f"{old or '-'}->{fingerprint(public_key)}")
        slots.save(session.key)
    return fingerprint(public_key)


def mark_pending(session, public_key: bytes, signer: str | None = None) -> None:
    """A provisioned recovery key waits for a supervisor's confirmation (shown with its fingerprint)."""
    import json

    from fieldapp.base.encoding import b64encode
    from fieldapp.store import trusted
    from fieldapp.store.keyslots import fingerprint

    value = json.dumps({"fingerprint": fingerprint(public_key), "public_key": b64encode(public_key), "signer": signer},
                       sort_keys=True)
    if trusted.get(session.conn, "provisioning.recovery_pending") != value:
        with session.write():
            trusted.put(session.conn, "provisioning.recovery_pending", value)
            session.audit.append(session.name or "system", "store.recovery_pending", reason=fingerprint(public_key))
        log.warning("a provisioned recovery key waits for a supervisor's confirmation")


def pending(session) -> dict | None:
    """``{"fingerprint", "public_key", "signer", "current"}`` of a recovery key waiting for confirmation, or None."""
    import json

    from fieldapp.store import trusted

    text = trusted.get(session.conn, "provisioning.recovery_pending")
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return dict(value, current=session.store.slots().recovery_fingerprint())


def clear_pending(session) -> None:
    from fieldapp.store import trusted

    if trusted.get(session.conn, "provisioning.recovery_pending"):
        with session.write():
            trusted.delete(session.conn, "provisioning.recovery_pending")


def confirm_pending(session) -> str | None:
    """Supervisor only: write the pending recovery key into the recovery slot. Returns its fingerprint (None when
    nothing was pending)."""
    from fieldapp.base.encoding import b64decode

    session.require_supervisor()
    waiting = pending(session)
    if waiting is None:
        return None
    return set_recovery(session, b64decode(waiting["public_key"]))
