"""Records as a person uses it: the order explained above the list and changed by a heading (mouse) or the Order
list (keyboard); a status line that says how many and offers "scroll for more" only when there is more; Enter
opens any record read-only (the whole household), Esc comes back to the same row, Ctrl+E edits a draft or a
returned record; everything fits 1366x768 and 1024x768 in English and Khmer."""

from __future__ import annotations

from helpers.ui_fit import fit_problems
from helpers.ui_forms import (OW, PASSWORDS, SUP, WAIT_MS, insert_bulk, offscreen_ok, open_session, person,
                              store_records)

from fieldapp import services

from fieldapp.base import i18n
from ui.models import COLUMNS
from ui.qt import QApplication, QPoint, QRect, Qt


def _loaded(model) -> bool:
    return not model.loading and model.pages_loaded > 0


def _click_heading(qtbot, screen, column: str) -> None:
    header = screen.table.horizontalHeader()
    section = COLUMNS.index(column)
    x = header.sectionViewportPosition(section) + header.sectionSize(section) // 2
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=QPoint(x, header.height() // 2))
    qtbot.waitUntil(lambda: _loaded(screen.model), timeout=WAIT_MS)


def _latin(screen) -> list[str]:
    return [row["name_latin"] for row in screen.model.rows()]


@offscreen_ok
def test_headings_and_the_order_list_sort_the_records(make_harness, store_dir, qtbot):
    people = [person(seed=70, family_name_latin="Chan", given_name_latin="Bopha"),
              person(seed=71, family_name_latin="Am", given_name_latin="Sok"),
              person(seed=72, family_name_latin="Yin", given_name_latin="Dara")]
    store_records(store_dir, people)
    h = make_harness(store_dir)
    h.login(OW, PASSWORDS[OW])
    screen = h.show("records")
    qtbot.waitUntil(lambda: screen.model.rowCount() == 3 and _loaded(screen.model), timeout=WAIT_MS)
    # the default order is said in words above the list
    assert screen.order.currentText() == "Returned records first, then the most recently changed"
    assert screen.labels["order"].text() == "Order" and screen.labels["order"].buddy() is screen.order
    assert not screen.table.horizontalHeader().isSortIndicatorShown()

    _click_heading(qtbot, screen, "name_latin")                       # a click sorts A to Z
    assert _latin(screen) == ["Am Sok", "Chan Bopha", "Yin Dara"]
    assert screen.order.currentText() == "Name (Latin), A to Z"
    header = screen.table.horizontalHeader()
    assert header.isSortIndicatorShown() and header.sortIndicatorSection() == COLUMNS.index("name_latin")
    _click_heading(qtbot, screen, "name_latin")                       # a second click reverses it
    assert _latin(screen) == ["Yin Dara", "Chan Bopha", "Am Sok"]
    assert screen.order.currentText() == "Name (Latin), Z to A" and header.sortIndicatorOrder() == Qt.DescendingOrder

    screen.order.setFocus()                                           # the keyboard: the Order list
    qtbot.keyClick(screen.order, Qt.Key_Home)
    qtbot.waitUntil(lambda: screen.model.order is None and _loaded(screen.model), timeout=WAIT_MS)
    assert not header.isSortIndicatorShown()
    for _ in range(ORDER_NATIONAL_ID_DESC):
        qtbot.keyClick(screen.order, Qt.Key_Down)
    qtbot.waitUntil(lambda: screen.model.order == ("national_id", True) and _loaded(screen.model), timeout=WAIT_MS)
    ids = [row["national_id"] for row in screen.model.rows()]
    assert ids == sorted(ids, reverse=True)
    assert header.sortIndicatorSection() == COLUMNS.index("national_id")

    h.ctx.set_language("km")                                          # the order reads in Khmer too
    assert screen.order.currentText() == i18n.tr("forms.records.sort_by_national_id.desc", "km")
    h.ctx.set_language("en")


ORDER_NATIONAL_ID_DESC = 1 + 2 * COLUMNS.index("national_id") + 1


@offscreen_ok
def test_the_status_says_how_many_and_offers_more_only_when_there_is(make_harness, store_dir, qtbot):
    store_records(store_dir, [person(seed=73), person(seed=74)])
    h = make_harness(store_dir)
    h.login(OW, PASSWORDS[OW])
    screen = h.show("records")
    qtbot.waitUntil(lambda: screen.model.rowCount() == 2 and _loaded(screen.model), timeout=WAIT_MS)
    assert screen.status.text() == "2 records" and not screen.model.more
    screen.search.setText("nobody at all")
    qtbot.waitUntil(lambda: screen.model.query.get("text") == "nobody at all" and _loaded(screen.model),
                    timeout=WAIT_MS)
    assert screen.status.text() == "No records match."
    screen.search.setText(person(seed=73)["national_id"])
    qtbot.waitUntil(lambda: screen.model.rowCount() == 1 and _loaded(screen.model), timeout=WAIT_MS)
    assert screen.status.text() == "1 record"
    h.ctx.set_language("km")
    assert screen.status.text() == "កំណត់ត្រា ១"
    h.ctx.set_language("en")


@offscreen_ok
def test_more_than_a_page_says_of_how_many_then_all(make_harness, store_dir, qtbot):
    insert_bulk(store_dir, 450)
    h = make_harness(store_dir)
    h.login(SUP, PASSWORDS[SUP])
    screen = h.show("records")
    model = screen.model
    qtbot.waitUntil(lambda: model.rowCount() == 200 and model.total == 450, timeout=WAIT_MS)
    assert screen.status.text() == "200 of 450 shown; scroll down for more"
    while model.more:
        rows = model.rowCount()
        screen.table.scrollToBottom()
        qtbot.waitUntil(lambda r=rows: model.rowCount() > r and not model.loading, timeout=WAIT_MS)
    assert model.rowCount() == 450 and screen.status.text() == "450 records"


@offscreen_ok
def test_enter_opens_any_record_read_only_and_esc_comes_back(make_harness, store_dir, qtbot):
    approved, submitted = store_records(store_dir, [person(seed=75), person(seed=76)])
    session = open_session(store_dir, SUP)
    try:
        services.review(session, [approved], "approve")
    finally:
        session.close()
    h = make_harness(store_dir)
    h.login(OW, PASSWORDS[OW])
    screen = h.show("records")
    qtbot.waitUntil(lambda: screen.model.rowCount() == 2 and _loaded(screen.model), timeout=WAIT_MS)
    row = next(r for r in range(2) if screen.model.record_id(r) == approved)
    screen.table.setFocus()
    screen.table.setCurrentIndex(screen.model.index(row, 1))
    qtbot.keyClick(screen.table, Qt.Key_Return)
    page = screen.record_page
    qtbot.waitUntil(lambda: screen.pages.currentWidget() is page and page.view.record_id() == approved,
                    timeout=WAIT_MS)
    assert page.view.hasFocus() and not page.edit_button.isVisible()     # approved: read-only, no Edit
    assert page.view.state_line.text().startswith("Approved")
    assert "Approved" in page.view.history.text() and "Supervisor Sok" in page.view.history.text()
    qtbot.keyClick(page.view, Qt.Key_E, Qt.ControlModifier)             # Ctrl+E does nothing here
    h.settle()
    assert h.window.workspace.current_id() == "records"
    qtbot.keyClick(page.view, Qt.Key_Escape)
    assert screen.pages.currentWidget() is screen.list_page and screen.table.hasFocus()
    assert screen.table.currentIndex().row() == row                       # back on the same row
    # double-click opens too; Ctrl+E on a record that cannot be edited says why
    qtbot.keyClick(screen.table, Qt.Key_E, Qt.ControlModifier)
    assert screen.status.text() == i18n.tr("forms.enroll.not_editable", "en", state="Approved")
    rect = screen.table.visualRect(screen.model.index(1 - row, 1))
    qtbot.mouseClick(screen.table.viewport(), Qt.LeftButton, pos=rect.center())   # a double click: press,
    qtbot.mouseDClick(screen.table.viewport(), Qt.LeftButton, pos=rect.center())  # release, press again
    qtbot.waitUntil(lambda: page.view.record_id() == submitted and screen.pages.currentWidget() is page,
                    timeout=WAIT_MS)


def _settle_layout() -> None:
    for _ in range(4):
        QApplication.sendPostedEvents()
        QApplication.processEvents()


@offscreen_ok
def test_records_and_an_open_record_fit_both_laptops_in_both_languages(make_harness, store_dir, qtbot):
    three = person(seed=33)
    ids = store_records(store_dir, [three, person(seed=34, national_id=three["national_id"])], user=OW)
    h = make_harness(store_dir)
    h.login(SUP, PASSWORDS[SUP])
    screen = h.show("records")
    qtbot.waitUntil(lambda: screen.model.rowCount() == 2 and _loaded(screen.model), timeout=WAIT_MS)
    screen.set_order(("name_latin", False))                                # the sort arrow takes room too
    qtbot.waitUntil(lambda: _loaded(screen.model), timeout=WAIT_MS)
    found = {}
    for opened in (False, True):
        if opened:
            screen.open_record(ids[1])
            qtbot.waitUntil(lambda: screen.record_page.view.record_id() == ids[1], timeout=WAIT_MS)
        for width, height in ((1366, 768), (1024, 768)):
            for lang in ("en", "km"):
                h.ctx.set_language(lang)
                h.window.fit_to_screen(QRect(0, 0, width, height - 40))
                h.settle()
                _settle_layout()
                problems = fit_problems(h.window, width, height - 40)
                if problems:
                    found[f"{width} {lang} opened={opened}"] = problems
    h.ctx.set_language("en")
    assert not found, found
