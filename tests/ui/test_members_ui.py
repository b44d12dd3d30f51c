"""Members and the lookup hit: a registered person found offline (the search box, the arrows, Enter), opened, and the
enrollment form's duplicate check saying "Already registered: member no. …, at … office" with a key (Ctrl+O) that
opens the member instead of enrolling the person twice. Real store, real worker, real widgets (offscreen)."""

from __future__ import annotations

from helpers.ui_forms import OW, PASSWORDS, SUP, WAIT_MS, key_text, offscreen_ok, open_session, person, states
from ui_real.lookup import MEMBER, MEMBER_NO, entry, load_members

from fieldapp.base import i18n
from ui.qt import QApplication, Qt


def _members(h, user=OW):
    h.login(user, PASSWORDS[user])
    screen = h.show("members")
    h.qtbot.waitUntil(lambda: not screen.model.loading, timeout=WAIT_MS)
    return screen


@offscreen_ok
def test_no_members_yet_says_they_come_with_the_next_sync(make_harness, store_dir):
    h = make_harness(store_dir)
    screen = _members(h)
    assert screen.model.rowCount() == 0
    assert screen.status.text() == i18n.tr("forms.member.none", "en")
    screen.search.setFocus()
    key_text(h.qtbot, screen.search, "nobody")
    h.qtbot.waitUntil(lambda: screen.status.text() == i18n.tr("forms.member.none_found", "en"), timeout=WAIT_MS)


@offscreen_ok
def test_search_by_khmer_name_arrows_and_enter_open_the_member(make_harness, store_dir, qtbot):
    other = person(seed=5, family_name="សុខ", given_name="ពិសី", family_name_latin="Sok", given_name_latin="Pisey")
    load_members(store_dir, SUP, PASSWORDS[SUP], [entry(), entry(other, "KH-REG-000124", 3)])
    h = make_harness(store_dir)
    screen = _members(h)
    assert screen.model.rowCount() == 2
    screen.search.setFocus()
    key_text(qtbot, screen.search, "ចាន់ សុភាព")
    qtbot.waitUntil(lambda: screen.model.rowCount() == 1 and not screen.model.loading, timeout=WAIT_MS)
    row = [screen.model.cell(screen.model.row(0), c) for c in ("member_no", "name", "name_latin", "born", "version")]
    assert row == [MEMBER_NO, "ចាន់ សុភាព", "Chan Sopheap", "12/04/1991", "1"]
    assert "Kampot" in screen.model.cell(screen.model.row(0), "village")
    qtbot.keyClick(screen.search, Qt.Key_Down)                      # Down: into the list
    assert QApplication.focusWidget() is screen.table
    qtbot.keyClick(screen.table, Qt.Key_Return)                     # Enter opens
    page = screen.member_page
    qtbot.waitUntil(lambda: screen.pages.currentWidget() is page, timeout=WAIT_MS)
    text = page.text()
    assert MEMBER_NO in text and "ចាន់ សុភាព · Chan Sopheap" in text
    assert "Sdach Kung Khang Lech, Banteay Meas, Kampot" in text     # the registering office
    assert "******678" in text and "Keo Monny" in text
    qtbot.keyClick(page.scroll, Qt.Key_Escape)                      # Esc: back to the list
    assert screen.pages.currentWidget() is screen.list_page
    h.ctx.set_language("km")                                        # the list in Khmer
    assert screen.model.cell(screen.model.row(0), "born") == "១២/០៤/១៩៩១"
    assert screen.model.headerData(0, Qt.Horizontal) == i18n.tr("forms.member.col.member_no", "km")


@offscreen_ok
def test_enter_in_the_search_box_opens_the_first_match(make_harness, store_dir, qtbot):
    load_members(store_dir, SUP, PASSWORDS[SUP], [entry()])
    h = make_harness(store_dir)
    screen = _members(h)
    screen.search.setFocus()
    key_text(qtbot, screen.search, "Sopheap")
    qtbot.keyClick(screen.search, Qt.Key_Return)                   # before the pause ends: opens once found
    qtbot.waitUntil(lambda: screen.pages.currentWidget() is screen.member_page, timeout=WAIT_MS)
    assert screen.member_page.member["member_no"] == MEMBER_NO


@offscreen_ok
def test_lookup_hit_in_the_enrollment_form_opens_the_member(make_harness, store_dir, qtbot):
    load_members(store_dir, SUP, PASSWORDS[SUP], [entry()])
    h = make_harness(store_dir)
    h.login(OW, PASSWORDS[OW])
    enroll = h.show("enroll")
    same = {k: v for k, v in MEMBER.items() if k not in ("national_id", "dependents")}  # no ID card: name + birth
    enroll.fill(dict(same, dependents=[]))
    enroll.submit()
    qtbot.waitUntil(lambda: enroll.duplicates_dialog is not None, timeout=WAIT_MS)
    dialog = enroll.duplicates_dialog
    top = dialog.view.topLevelItem(0).text(0)
    assert top == (f"Already registered: member no. {MEMBER_NO}, at Sdach Kung Khang Lech, Banteay Meas, Kampot "
                   "office")
    rows = [dialog.view.topLevelItem(0).child(i).text(2) for i in range(dialog.view.topLevelItem(0).childCount())]
    assert rows[:3] == ["ចាន់ សុភាព", "Chan Sopheap", "12/04/1991"] and "Kampot" in rows[3]
    assert dialog.member_button.isVisible() and "Open member" in dialog.member_button.text()
    record_id = enroll.record_id
    qtbot.waitUntil(lambda: dialog.isActiveWindow() and QApplication.focusWidget() is not None, timeout=WAIT_MS)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_O, Qt.ControlModifier)  # Ctrl+O: the member, not enrolled twice
    members = h.screen("members")
    qtbot.waitUntil(lambda: members.isVisible() and members.pages.currentWidget() is members.member_page,
                    timeout=WAIT_MS)
    assert members.member_page.member["member_no"] == MEMBER_NO
    h.settle()
    assert states(store_dir, [record_id])[record_id][0] == "draft"   # not submitted; the draft is kept
    assert enroll.status.text() == i18n.tr("forms.enroll.opened_member", "en", member_no=MEMBER_NO)


@offscreen_ok
def test_lookup_hit_reads_in_khmer(make_harness, store_dir, qtbot):
    load_members(store_dir, SUP, PASSWORDS[SUP], [entry()])
    h = make_harness(store_dir)
    h.login(OW, PASSWORDS[OW])
    h.ctx.set_language("km")
    enroll = h.show("enroll")
    enroll.fill(dict({k: v for k, v in MEMBER.items() if k != "national_id"}, dependents=[]))
    enroll.submit()
    qtbot.waitUntil(lambda: enroll.duplicates_dialog is not None, timeout=WAIT_MS)
    top = enroll.duplicates_dialog.view.topLevelItem(0).text(0)
    assert top == i18n.tr("forms.member.already_registered", "km", member_no=MEMBER_NO,
                          office="ស្ដេចគង់ខាងលិច, បន្ទាយមាស, កំពត") or top.startswith("បានចុះឈ្មោះរួចហើយ")
    assert "KH-REG-000123" in top
    enroll.duplicates_dialog.reject()


@offscreen_ok
def test_update_from_a_registered_local_record(make_harness, store_dir, qtbot):
    from fieldapp.store import records

    session = open_session(store_dir, OW)
    try:
        (record_id,) = records.import_records(session, [MEMBER])
    finally:
        session.close()
    session = open_session(store_dir, SUP)
    try:
        with session.write() as tx:
            tx.execute("UPDATE records SET state = 'registered', member_no = ? WHERE id = ?", (MEMBER_NO, record_id))
    finally:
        session.close()
    h = make_harness(store_dir)
    h.login(OW, PASSWORDS[OW])
    screen = h.show("records")
    qtbot.waitUntil(lambda: screen.model.rowCount() == 1, timeout=WAIT_MS)
    screen.open_row(0)
    page = screen.record_page
    qtbot.waitUntil(lambda: screen.pages.currentWidget() is page and page.view.record_id() == record_id,
                    timeout=WAIT_MS)
    assert page.update_button.isVisibleTo(page) and not page.rebase_button.isVisibleTo(page)
    qtbot.keyClick(page.view, Qt.Key_U, Qt.ControlModifier)        # Ctrl+U: Update…
    members = h.screen("members")
    qtbot.waitUntil(lambda: members.isVisible() and members.pages.currentWidget() is members.form, timeout=WAIT_MS)
    form = members.form
    assert MEMBER_NO in form.heading.text() and "ចាន់ សុភាព" in form.heading.text()
    assert [n.text() for n in form.removals.names][1].startswith("កែវ មុន្នី · Keo Monny")


@offscreen_ok
def test_records_search_names_the_registered_members_and_ctrl_m_opens_them(make_harness, store_dir, qtbot):
    """Records search includes the looked-up members: a line names them (spelled ដារា, found for ដារ៉ា, by the
    phonetic key as records are), and Ctrl+M shows them in Members with the same search."""
    variant = person(seed=7, family_name="សុខ", given_name="ដារា", family_name_latin="Sok", given_name_latin="Dara")
    load_members(store_dir, SUP, PASSWORDS[SUP], [entry(), entry(variant, "KH-REG-000125", 2)])
    h = make_harness(store_dir)
    h.login(OW, PASSWORDS[OW])
    records = h.show("records")
    hint = records.members_hint
    assert not hint.isVisible()
    records.search.setFocus()
    key_text(qtbot, records.search, "សុខ ដារ៉ា")
    qtbot.waitUntil(lambda: hint.isVisible(), timeout=WAIT_MS)
    assert "KH-REG-000125 សុខ ដារា" in hint.label.text() and MEMBER_NO not in hint.label.text()
    qtbot.keyClick(records.search, Qt.Key_M, Qt.ControlModifier)
    members = h.window.workspace.screens["members"] if hasattr(h, "window") else records._members()
    qtbot.waitUntil(lambda: members.isVisible() and members.model.rowCount() == 1 and not members.model.loading,
                    timeout=WAIT_MS)
    assert members.search.text() == "សុខ ដារ៉ា"
    assert members.model.cell(members.model.row(0), "member_no") == "KH-REG-000125"
    records.search.clear()                                         # a short or empty search: no line
    h.show("records")
    key_text(qtbot, records.search, "x")
    qtbot.waitUntil(lambda: not hint.isVisible(), timeout=WAIT_MS)
