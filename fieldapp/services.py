"""The use cases that cross the packages, one function each, shared by the command line and the desktop client.

- :func:`open_session`: unlock the store, then what every unlock does (check the provisioning file and device.json
  against the store, publish what a crash left unpublished, pull proven sync states back);
- :func:`create_store`: a new store with its first supervisor (and IT's provisioned recovery key);
- :func:`review`: approve, return or reject, sealing approved records into the outbox in the same transaction,
  then handing them to the spool;
- :func:`apply_sync_results`: pull what the sync engine reached (synced, registered, refused) into the records,
  and the member lookup pages it fetched into the store (:func:`take_lookup`).

May import: every fieldapp package except ``cli``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fieldapp.base.errors import PermissionDenied
from fieldapp.deploy import provisioned
from fieldapp.outbound import outbox
from fieldapp.proof import facts
from fieldapp.store import records
from fieldapp.store.database import Session, Store
from fieldapp.store.users import check_name, check_password

log = logging.getLogger(__name__)


def after_unlock(session: Session) -> None:
    """Housekeeping after every unlock. A damaged spool or provisioning file must not lock anyone out of the store
    (``fieldapp sync`` and ``fieldapp verify`` report those files on their own): each step's failure is logged by
    its type only, never with data. A permission error is not housekeeping: it is raised."""
    for step in (provisioned.on_unlock, take_lookup, outbox.refresh, facts.adopt):  # take_lookup makes the spool
        try:
            step(session)
        except PermissionDenied:
            raise
        except Exception as exc:  # noqa: BLE001 - logged by type only, never with data
            log.warning("after-unlock step %s failed: %s", step.__name__, type(exc).__name__)
    from fieldapp.store import trusted

    if trusted.legacy_adoption(session.conn):  # the upgrade's one adoption of files is done
        with session.write():
            trusted.delete(session.conn, "store.legacy_adoption")


def open_session(data_dir: str | Path, user: str, password: str, *, role: str | None = None) -> Session:
    """Unlock the store in ``data_dir`` as ``user``; with ``role="supervisor"`` refuse anyone else."""
    store = Store(data_dir)
    store.require_exists()
    session = store.unlock(user, password)
    try:
        if role == "supervisor":
            session.require_supervisor()
        after_unlock(session)
    except BaseException:
        session.close()
        raise
    return session


def create_store(data_dir: str | Path, user: str, password: str, full_name: str | None = None,
                 recovery_public: bytes | None = None) -> Session:
    """A new store with ``user`` as its first supervisor, and IT's recovery key (given, or from the provisioning file
    staged here: the creating supervisor confirms it, and the store pins that file's signer)."""
    check_name(user)
    check_password(password)
    recovery = recovery_public or provisioned.recovery_public_key(data_dir)
    session = Store(data_dir).create(user, password, full_name or None, recovery_public=recovery)
    try:
        if recovery is not None:
            from fieldapp.store import trusted
            from fieldapp.base.encoding import b64encode

            with session.write():
                trusted.put(session.conn, "recovery.public_key", b64encode(recovery))
        provisioned.on_unlock(session)
    except BaseException:
        session.close()
        raise
    return session


def review(session: Session, record_ids: list[str], action: str, reason: str | None = None) -> list[str]:
    """Supervisor only: approve, return or reject submitted records in one transaction.

    Approved records are sealed into the outbox in that same transaction (when the device is registered); after
    the commit they are handed to the spool. A failed hand-off is logged: the approval is saved, and the next
    unlock publishes again.
    """
    done = records.review(session, record_ids, action, reason, on_approved=outbox.enqueue_in_transaction)
    if action == "approve":
        try:
            outbox.publish(session)
        except Exception as exc:  # noqa: BLE001 - the approval is saved; the next unlock publishes again
            log.warning("spool hand-off after approval failed: %s", type(exc).__name__)
    return done


def apply_sync_results(session: Session) -> None:
    """Pull the states the sync engine reached back into the records, a newer scheme facts document it fetched, and
    the member lookup pages it sealed into the spool's inbox (also done at every unlock)."""
    outbox.refresh(session)
    facts.adopt(session)
    try:
        take_lookup(session)
    except Exception as exc:  # noqa: BLE001 - the pages stay in the inbox for the next unlock; type only
        log.warning("member lookup pages not applied: %s", type(exc).__name__)


def take_lookup(session: Session) -> dict | None:
    """Publish the store's inbox key to the spool (made at the first unlock of a registered store; the spool is made
    too, so the very first sync fetches), then apply the member lookup pages the sync engine sealed into the spool's
    inbox (``fieldapp.outbound.inbox.drain``): counts, or None when this store is not registered."""
    from fieldapp.outbound import identity, inbox
    from fieldapp.outbound.spool import Spool

    dev = identity.trusted_device(session)
    if dev is None:
        return None
    with Spool(session.store.data_dir) as spool:
        inbox.ensure_key(session, spool)
        return inbox.drain(session, spool, dev)


def verify(session: Session) -> list[tuple[str, dict]]:
    """Every problem ``fieldapp verify`` reports: the store's own checks, then what crossed to the registry (approval
    signatures in the outbox, the audit head the registry acknowledged)."""
    from fieldapp.outbound import checks
    from fieldapp.store.verify import verify as store_verify

    found = store_verify(session)
    try:
        found += checks.problems(session)
    except Exception as exc:  # noqa: BLE001 - a damaged spool is reported by sync; verify reports the store
        log.warning("outbound checks failed: %s", type(exc).__name__)
    return found


def rekey(session: Session) -> dict:
    """Supervisor only: rotate the database key (``fieldapp.store.rekey``), then write device.json's MAC again under
    the new key."""
    from fieldapp.outbound import identity
    from fieldapp.store import rekey as store_rekey

    result = store_rekey.rekey(session)
    identity.rewrite_after_rekey(session)
    return result
