"""The update (change request) form, Review of an update and Records' statuses for updates. Failure paths first: an
empty update is refused with one translated line and loses nothing typed; a stale refusal from the registry is shown
in plain words with *Re-base*, which makes a new draft on the member's current version. Then a newborn added by
keyboard, submitted, reviewed (member no., base version, what changes, before/after) and approved."""

from __future__ import annotations

from helpers.ui_forms import OW, PASSWORDS, SUP, WAIT_MS, key_text, offscreen_ok, open_session
from ui_real.lookup import MEMBER, MEMBER_NO, entry, load_members, updates_of

from fieldapp.base import i18n
from ui.qt import QApplication, Qt


def _form(h, qtbot, user=OW):
    h.login(user, PASSWORDS[user])
    members = h.show("members")
    members.open_member(MEMBER_NO)
    qtbot.waitUntil(lambda: members.pages.currentWidget() is members.member_page, timeout=WAIT_MS)
    qtbot.keyClick(members.member_page.scroll, Qt.Key_U, Qt.ControlModifier)   # Update…
    qtbot.waitUntil(lambda: members.pages.currentWidget() is members.form, timeout=WAIT_MS)
    return members, members.form


@offscreen_ok
def test_empty_update_is_refused_with_one_line_and_nothing_is_lost(make_harness, store_dir, qtbot):
    load_members(store_dir, SUP, PASSWORDS[SUP], [entry()])
    h = make_harness(store_dir)
    _members, form = _form(h, qtbot)
    form.notes.setFocus()
    key_text(qtbot, form.notes, "asked at the office")                # a note alone changes nothing
    qtbot.keyClick(form.notes, Qt.Key_Return, Qt.ControlModifier)    # Submit
    h.settle()
    assert form.problem_list.isVisible()
    assert form.problem_list.text().split("\n") == [i18n.tr("validation.update.empty", "en")]
    assert form.notes.toPlainText() == "asked at the office"         # nothing lost
    assert updates_of(store_dir, SUP, PASSWORDS[SUP]) == []           # nothing stored
    h.ctx.set_language("km")                                           # the line in Khmer too
    assert form.problem_list.text() == i18n.tr("validation.update.empty", "km")
    assert form.status.text().startswith("មិនបានរក្សាទុកទេ")
    qtbot.keyClick(form.notes, Qt.Key_S, Qt.ControlModifier)          # Save draft: refused alike
    h.settle()
    assert updates_of(store_dir, SUP, PASSWORDS[SUP]) == []


def _stale_update(store_dir) -> str:
    """An update of version 1, submitted and approved, then refused by the registry as stale."""
    from fieldapp import services
    from fieldapp.store import records, updates

    session = open_session(store_dir, OW)
    try:
        record_id = updates.new_update(session, MEMBER_NO, {"phone": "012999000"})
        records.submit(session, record_id)
    finally:
        session.close()
    session = open_session(store_dir, SUP)
    try:
        services.review(session, [record_id], "approve", None)
        with session.write() as tx:
            tx.execute("UPDATE records SET state = 'registry_rejected', reason = 'stale_version' WHERE id = ?",
                       (record_id,))
    finally:
        session.close()
    return record_id


@offscreen_ok
def test_a_stale_refusal_offers_rebase_onto_the_current_version(make_harness, store_dir, qtbot):
    load_members(store_dir, SUP, PASSWORDS[SUP], [entry()])
    record_id = _stale_update(store_dir)
    newer = dict(MEMBER, phone="012111222")
    load_members(store_dir, SUP, PASSWORDS[SUP], [entry(newer, version=2)], cursor=2)  # the next lookup: version 2
    h = make_harness(store_dir)
    h.login(OW, PASSWORDS[OW])
    screen = h.show("records")
    qtbot.waitUntil(lambda: screen.model.rowCount() == 1 and not screen.model.loading, timeout=WAIT_MS)
    row = screen.model.row(0)
    assert row["kind"] == "update"
    assert screen.model._display(row, "name").startswith(f"Update of member no. {MEMBER_NO}")
    assert screen.model._display(row, "state").startswith("Refused by the registry")
    screen.open_row(0)
    page = screen.record_page
    qtbot.waitUntil(lambda: screen.pages.currentWidget() is page and page.view.record_id() == record_id,
                    timeout=WAIT_MS)
    text = page.view.plain_text()
    assert f"Update of member no. {MEMBER_NO}" in text and "Refused by the registry" in text
    assert page.rebase_button.isVisibleTo(page) and not page.update_button.isVisibleTo(page)
    assert not page.slip_button.isVisibleTo(page) and not page.card_button.isVisibleTo(page)
    qtbot.keyClick(page.view, Qt.Key_B, Qt.ControlModifier)           # Ctrl+B: Re-base
    members = h.screen("members")
    qtbot.waitUntil(lambda: members.isVisible() and members.pages.currentWidget() is members.form
                    and members.form.record_id not in (None, record_id), timeout=WAIT_MS)
    form = members.form
    assert form.data["base_version"] == 2 and form.data["phone"] in ("012999000", "+85512999000")
    found = updates_of(store_dir, SUP, PASSWORDS[SUP])
    assert [(u["state"], u["data"]["base_version"]) for u in found] == [("registry_rejected", 1), ("draft", 2)]


@offscreen_ok
def test_newborn_added_by_keyboard_submitted_and_reviewed(make_harness, store_dir, qtbot):
    load_members(store_dir, SUP, PASSWORDS[SUP], [entry()])
    h = make_harness(store_dir)
    members, form = _form(h, qtbot)
    assert [c.currentData() for c in form.removals.combos] == [None, None]   # both stay covered
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_C, Qt.ControlModifier | Qt.ShiftModifier)  # Add child
    panel = form.added.panels[0]
    assert QApplication.focusWidget() is panel.widgets["family_name"]
    assert panel.reason.currentData() == "birth"                     # a child starts as a birth
    for name, text in (("family_name", "កែវ"), ("given_name", "សុវណ្ណ")):
        panel.widgets[name].setFocus()
        key_text(qtbot, panel.widgets[name], text)
    panel.widgets["sex"].setCurrentIndex(panel.widgets["sex"].findData("male"))
    panel.widgets["date_of_birth"].setFocus()
    key_text(qtbot, panel.widgets["date_of_birth"], "03/02/2025")
    qtbot.keyClick(panel.widgets["date_of_birth"], Qt.Key_Return, Qt.ControlModifier)  # Submit
    qtbot.waitUntil(lambda: members.pages.currentWidget() is members.member_page, timeout=WAIT_MS)
    h.settle()
    (stored,) = updates_of(store_dir, SUP, PASSWORDS[SUP])
    assert stored["state"] == "submitted"
    data = stored["data"]
    assert data["member_no"] == MEMBER_NO and data["base_version"] == 1
    assert [(d["given_name"], d["relationship"], d["reason"]) for d in data["add_dependents"]] == \
        [("សុវណ្ណ", "child", "birth")]
    h.window.logout()
    h.login(SUP, PASSWORDS[SUP])
    review = h.show("review")
    qtbot.waitUntil(lambda: review.current is not None and review.current["record"]["id"] == stored["id"],
                    timeout=WAIT_MS)
    text = review.view.plain_text()
    assert f"Update of member no. {MEMBER_NO}" in text
    assert "based on version 1" in text
    assert "Add កែវ សុវណ្ណ (Child, born 03/02/2025), because of birth" in text
    assert "Before and after" in text and "Keo Monny" in text
    h.ctx.set_language("km")
    assert "ដោយសារកំណើត" in review.view.plain_text()
    h.ctx.set_language("en")
    review.table.setFocus()
    qtbot.keyClick(review.table, Qt.Key_A, Qt.ControlModifier | Qt.ShiftModifier)   # Approve
    h.settle()
    (approved,) = updates_of(store_dir, SUP, PASSWORDS[SUP])
    assert approved["state"] in ("approved", "queued")
