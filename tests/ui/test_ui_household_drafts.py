"""Drafts on the enrollment form: discarded after a question (and gone from the store, with an audit event), and
offered again at the next login after the app was killed with one open."""

from __future__ import annotations

from helpers.ui_forms import OW, WAIT_MS, close_ctx, offscreen_ok, open_session, show_widget, states, type_into, \
    wait_idle

from fieldapp.base.i18n import tr
from fieldapp.store import audit, records
from ui.qt import QMessageBox, Qt
from ui.screens.enroll import EnrollScreen


def _screen(qtbot, ctx):
    screen = show_widget(qtbot, EnrollScreen(ctx), 1000, 700)
    screen.go_to_top()
    return screen


def _answer(qtbot, screen, button_name: str) -> None:
    qtbot.waitUntil(lambda: screen.discard_dialog is not None and screen.discard_dialog.isVisible(), timeout=WAIT_MS)
    box = screen.discard_dialog
    assert isinstance(box, QMessageBox) and box.defaultButton().objectName() == "discard_no"  # the safe answer
    qtbot.mouseClick(next(b for b in box.buttons() if b.objectName() == button_name), Qt.LeftButton)
    qtbot.waitUntil(lambda: screen.discard_dialog is None, timeout=WAIT_MS)


@offscreen_ok
def test_a_draft_is_discarded_only_after_the_question(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    type_into(qtbot, screen.widgets["family_name"], "សុខ")
    qtbot.waitUntil(lambda: screen.record_id is not None and not screen._saving, timeout=WAIT_MS)
    record_id = screen.record_id
    assert screen.discard_button.isEnabled()
    qtbot.mouseClick(screen.discard_button, Qt.LeftButton)
    _answer(qtbot, screen, "discard_no")                       # kept
    wait_idle(qtbot, ctx)
    assert states(store_dir)[record_id][0] == "draft" and screen.widgets["family_name"].text() == "សុខ"
    type_into(qtbot, screen.widgets["given_name"], "ដារា")     # typed after the last save: thrown away too
    with qtbot.waitSignal(screen.draft_discarded, timeout=WAIT_MS):
        qtbot.mouseClick(screen.discard_button, Qt.LeftButton)
        _answer(qtbot, screen, "discard_yes")
    wait_idle(qtbot, ctx)
    assert states(store_dir) == {}                             # gone from the store
    session = open_session(store_dir, OW)
    try:
        events = [e["event"] for e in audit.history(session.conn, record_id)]
        assert events[0] == "record.created" and events[-1] == "record.discarded"
        assert audit.verify_chain(session.conn) == []
    finally:
        session.close()
    assert screen.record_id is None and screen.widgets["family_name"].text() == ""
    assert screen.status.text() == tr("forms.enroll.discarded", "en")
    assert screen.focusWidget() is screen.widgets["family_name"]


@offscreen_ok
def test_the_last_draft_is_offered_again_after_a_restart(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    first = _screen(qtbot, ctx)
    type_into(qtbot, first.widgets["family_name"], "ហេង")
    type_into(qtbot, first.widgets["given_name"], "សុភា")
    qtbot.waitUntil(lambda: first.record_id is not None and not first._dirty and not first._saving, timeout=WAIT_MS)
    wait_idle(qtbot, ctx)
    record_id = first.record_id
    first._dirty = False       # the app is killed here: nothing more is saved on the way out
    close_ctx(ctx, first)

    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    screen.activate()                                           # the screen is shown after login
    qtbot.waitUntil(screen.resume_notice.isVisible, timeout=WAIT_MS)
    assert "ហេង សុភា" in screen.resume_notice.text.text()
    assert screen.focusWidget() is screen.widgets["family_name"]  # the offer never takes the keys typed next
    with qtbot.waitSignal(screen.record_loaded, timeout=WAIT_MS):
        qtbot.mouseClick(screen.resume_notice.accept_button, Qt.LeftButton)
    assert screen.record_id == record_id and screen.widgets["given_name"].text() == "សុភា"
    assert not screen.resume_notice.isVisible()
    assert not screen.summary.isVisible() and not screen.problem_labels["sex"].isVisible()  # a draft: no red yet


@offscreen_ok
def test_no_offer_when_the_worker_starts_typing_or_has_no_draft(qtbot, store_dir, contexts):
    session = open_session(store_dir, OW)
    try:
        records.save_draft(session, {"family_name": "ចាន់"})
    finally:
        session.close()
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    screen.activate()
    qtbot.waitUntil(screen.resume_notice.isVisible, timeout=WAIT_MS)
    type_into(qtbot, screen.widgets["family_name"], "សុខ")   # a new person instead: the offer goes away
    assert not screen.resume_notice.isVisible()
    screen.activate()
    wait_idle(qtbot, ctx)
    assert not screen.resume_notice.isVisible()                 # offered once per login
