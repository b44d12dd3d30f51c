"""Sync against the real reference registry on loopback: register through the screen, watch the progress
bar move batch by batch, and see the records end ``registered``."""

from __future__ import annotations

import pytest
from helpers.faultproxy import FaultProxy  # the sync tests' loopback proxy
from helpers.sync_helpers import Registry  # ``python -m registry serve`` as a subprocess
from helpers.ui_forms import (SUP, WAIT_MS, offscreen_ok, open_session, show_widget, states, store_records,
                              type_into)

from fieldapp.domain.synthetic import make_records
from ui.qt import Qt
from ui.screens.sync_screen import SyncScreen

SYNC_WAIT_MS = 90000


@pytest.fixture
def registry(tmp_path):
    reg = Registry(tmp_path / "registry", register_delay=0).start()
    yield reg
    reg.stop()


@pytest.fixture
def slow_proxy(registry):
    """Each batch's receipt is held back 0.6 s, so a 250 ms poll sees the bar between batches."""
    proxy = FaultProxy(registry.port)
    proxy.add("delay", seconds=0.6, count=None)
    yield proxy
    proxy.close()


def register_laptop(store_dir, registry) -> None:
    """The supervisor registers the laptop as the screen does (``register_store``): the store then holds the
    registration, so approvals seal. Plain ``register`` only writes device.json, which no bare ``Store.unlock``
    adopts: records approved after it stayed ``approved``, never sealed."""
    from sync.registration import register_store

    session = open_session(store_dir, SUP)
    try:
        register_store(session, registry.url, registry.code())
    finally:
        session.close()


@offscreen_ok
def test_register_then_sync_until_registered(qtbot, store_dir, contexts, registry, slow_proxy):
    from sync.service import SyncService

    ids = store_records(store_dir, make_records(120, seed=41), approve=True)  # approved before registration
    ctx = contexts(store_dir, SUP, sync=SyncService(store_dir))
    screen = show_widget(qtbot, SyncScreen(ctx))
    qtbot.waitUntil(lambda: screen.register_form.isVisible(), timeout=WAIT_MS)
    assert not screen.sync_button.isEnabled()               # nothing to talk to yet
    seen: list[tuple[int, int]] = []
    screen.bar.valueChanged.connect(lambda v: seen.append((v, screen.bar.maximum())))

    type_into(qtbot, screen.url, slow_proxy.url)
    type_into(qtbot, screen.code, registry.code())
    qtbot.mouseClick(screen.register_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: (store_dir / "device.json").exists(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not screen.register_form.isVisible(), timeout=WAIT_MS)

    qtbot.waitUntil(lambda: {s for s, _r in states(store_dir, ids).values()} == {"registered"},
                    timeout=SYNC_WAIT_MS)
    assert (120, 120) in seen                               # the bar reached the end...
    assert any(0 < v < 120 and m == 120 for v, m in seen), seen  # ...through values in between
    qtbot.waitUntil(lambda: screen.batches.count() >= 2, timeout=WAIT_MS)
    assert "sent" in screen.batches.item(0).text()
    qtbot.waitUntil(lambda: "Registered: 120" in screen.counts.text(), timeout=WAIT_MS)
    assert screen.quarantine.topLevelItemCount() == 0
    assert registry.export_counts() == {rid: 1 for rid in ids}

    # "Sync now" (F5) with nothing waiting: a quick pass, and the button comes back
    qtbot.waitUntil(screen.sync_button.isEnabled, timeout=WAIT_MS)
    qtbot.keyClick(screen.sync_button, Qt.Key_F5)
    qtbot.waitUntil(lambda: "finished" in screen.status.text(), timeout=SYNC_WAIT_MS)

    # quarantined records are listed with their reason
    session = open_session(store_dir, SUP)
    with session.write() as tx:
        tx.execute("UPDATE records SET state = 'quarantined', reason = 'conflict' WHERE id = ?", (ids[0],))
    session.close()
    screen.reload()
    qtbot.waitUntil(lambda: screen.quarantine.topLevelItemCount() == 1, timeout=WAIT_MS)
    assert screen.quarantine.topLevelItem(0).text(2) == \
        "The registry holds different content under this record ID (conflict)"
    assert screen.quarantine.topLevelItem(0).text(0) == ids[0][:8]


@offscreen_ok
def test_supervisor_sends_quarantined_records_again(qtbot, store_dir, contexts, registry):
    """Quarantined records listed with their reason, sent again one by one or all at once, then registered.

    The laptop is registered with ``register_store``: a record is sealed only when the store itself holds the
    registration (a device.json alone no longer makes approvals seal)."""
    from fieldapp.outbound import outbox
    from fieldapp.outbound.spool import Spool
    from sync.service import SyncService

    register_laptop(store_dir, registry)
    ids = store_records(store_dir, make_records(6, seed=43), approve=True)  # sealed into the outbox at approval
    session = open_session(store_dir, SUP)
    outbox.refresh(session)
    with Spool(store_dir) as spool:  # what the engine does when a receipt leaves records out
        spool.quarantine(ids[:2], "not_in_receipt")
    outbox.refresh(session)
    session.close()
    assert {rid: s for rid, (s, _r) in states(store_dir, ids[:2]).items()} == {ids[0]: "quarantined",
                                                                                ids[1]: "quarantined"}
    ctx = contexts(store_dir, SUP, sync=SyncService(store_dir))
    screen = show_widget(qtbot, SyncScreen(ctx))
    qtbot.waitUntil(lambda: screen.quarantine.topLevelItemCount() == 2, timeout=WAIT_MS)
    assert screen.quarantine.topLevelItem(0).text(2) == "Missing from the registry's answer (not_in_receipt)"
    assert screen.requeue_button.isVisible() and screen.requeue_button.isEnabled()

    first = screen.quarantine.topLevelItem(0)
    first.setSelected(True)
    picked = first.data(0, Qt.UserRole)
    qtbot.keyClick(screen.quarantine, Qt.Key_Q, Qt.ControlModifier | Qt.ShiftModifier)
    qtbot.waitUntil(lambda: "1 record(s) queued" in screen.status.text(), timeout=WAIT_MS)
    other = next(r for r in ids[:2] if r != picked)
    assert states(store_dir, [other])[other][0] == "quarantined"
    qtbot.waitUntil(lambda: screen.quarantine.topLevelItemCount() == 1, timeout=WAIT_MS)

    screen.quarantine.clearSelection()
    qtbot.mouseClick(screen.requeue_button, Qt.LeftButton)  # none selected: every quarantined record
    qtbot.waitUntil(lambda: screen.quarantine.topLevelItemCount() == 0, timeout=WAIT_MS)
    assert not screen.requeue_button.isEnabled()
    screen.sync_now()
    qtbot.waitUntil(lambda: {s for s, _r in states(store_dir, ids).values()} == {"registered"},
                    timeout=SYNC_WAIT_MS)
    assert registry.export_counts() == {rid: 1 for rid in ids}


@offscreen_ok
def test_outreach_workers_cannot_requeue(qtbot, store_dir, contexts):
    from helpers.ui_forms import OW

    ctx = contexts(store_dir, OW)
    screen = show_widget(qtbot, SyncScreen(ctx))
    assert not screen.requeue_button.isVisible()
    screen.requeue()  # the shortcut does nothing either (and the core would refuse)


@offscreen_ok
def test_the_screen_opens_with_the_spools_recent_batches(qtbot, store_dir, contexts, registry):
    """The batches an earlier session sent are listed at once, in the user's language.

    Registered with ``register_store`` (the store holds the registration, so the approvals seal)."""
    from fieldapp.base import i18n
    from sync.service import SyncService

    register_laptop(store_dir, registry)
    ids = store_records(store_dir, make_records(5, seed=44), approve=True)
    SyncService(store_dir).sync_once(timeout=60)  # an earlier session sent them
    ctx = contexts(store_dir, SUP)
    screen = show_widget(qtbot, SyncScreen(ctx))
    qtbot.waitUntil(lambda: screen.batches.count() >= 1, timeout=WAIT_MS)
    line = screen.batches.item(0).text()
    assert "5 record(s); now" in line and ("Sent to the registry 5" in line or "Registered 5" in line), line
    ctx.set_language("km")
    assert i18n.format_number(5, "km") in screen.batches.item(0).text()
    assert "record(s)" not in screen.batches.item(0).text()
    ctx.set_language("en")
    assert {s for s, _r in states(store_dir, ids).values()} <= {"approved", "queued", "synced", "registered"}
