"""The use cases that cross the packages, one function each, shared by the command line and the desktop client.

- :func:`open_session`: unlock the store, then what every unlock does (publish what a crash left unpublished,
  pull sync states back, write IT's provisioned recovery key);
- :func:`create_store`: a new store with its first supervisor (and IT's provisioned recovery key);
- :func:`review`: approve, return or reject, sealing approved records into the outbox in the same transaction,
  then handing them to the spool;
- :func:`apply_sync_results`: pull what the sync engine reached (synced, registered, refused) into the records.

May import: every fieldapp package except ``cli``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fieldapp.base.errors import PermissionDenied
from fieldapp.deploy import provisioning
from fieldapp.outbound import outbox
from fieldapp.store import records
from fieldapp.store.database import Session, Store
from fieldapp.store.users import check_name, check_password

log = logging.getLogger(__name__)


def after_unlock(session: Session) -> None:
    """Housekeeping after every unlock. A damaged spool or provisioning file must not lock anyone out of the store
    (``fieldapp sync`` and ``fieldapp verify`` report those files on their own): each step's failure is logged by
    its type only, never with data. A permission error is not housekeeping: it is raised."""
    for step in (outbox.refresh, provisioning.on_unlock):
        try:
            step(session)
        except PermissionDenied:
            raise
        except Exception as exc:  # noqa: BLE001 - logged by type only, never with data
            log.warning("after-unlock step %s failed: %s", step.__name__, type(exc).__name__)


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


def create_store(data_dir: str | Path, user: str, password: str, full_name: str | None = None) -> Session:
    """A new store with ``user`` as its first supervisor, and IT's recovery key when a provisioning file was applied."""
    check_name(user)
    check_password(password)
    recovery = provisioning.recovery_public_key(data_dir)
    return Store(data_dir).create(user, password, full_name or None, recovery_public=recovery)


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
    """Pull the states the sync engine reached back into the records (also done at every unlock)."""
    outbox.refresh(session)
