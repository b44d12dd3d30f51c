"""Review in the real main window: the whole household beside the queue; approve one, return one with a reason,
approve a selection only after a question that names how many; then the outreach worker finds the returned
record first, opens it read-only with the reason, and from there in the form, fixes it and resubmits."""

from __future__ import annotations

from datetime import datetime

from helpers.ui_fit import fit_problems
from helpers.ui_forms import (OW, PASSWORDS, SUP, WAIT_MS, choose, offscreen_ok, person, states, store_records,
                              type_into)

from fieldapp.base import i18n
from fieldapp.domain.dates import age
from ui.qt import QApplication, QRect, Qt

DIGITS = set("0123456789")


def _row_of(model, record_id: str) -> int:
    return next(row for row in range(model.rowCount()) if model.record_id(row) == record_id)


def _select(qtbot, screen, *record_ids: str) -> None:
    """Click the first row, Ctrl+click the others (multi-select from the mouse, as a supervisor would)."""
    view = screen.table
    for i, record_id in enumerate(record_ids):
        index = screen.model.index(_row_of(screen.model, record_id), 1)
        rect = view.visualRect(index)
        qtbot.mouseClick(view.viewport(), Qt.LeftButton, Qt.ControlModifier if i else Qt.NoModifier, rect.center())
    picked = set(screen.selected_ids())
    assert picked == set(record_ids), picked


def _shown(qtbot, review, record_id: str) -> None:
    qtbot.waitUntil(lambda: review.current is not None and review.current["record"]["id"] == record_id,
                    timeout=WAIT_MS)


def _dialog(qtbot):
    found = []

    def up():
        found[:] = [w for w in QApplication.topLevelWidgets() if w.objectName() == "confirm_dialog" and w.isVisible()]
        return bool(found)
    qtbot.waitUntil(up, timeout=WAIT_MS)
    found[0].activateWindow()  # as a window manager does with a new dialog
    qtbot.waitUntil(found[0].isActiveWindow, timeout=WAIT_MS)
    return found[0]


def _no_dialog() -> bool:
    return not any(w.objectName() == "confirm_dialog" and w.isVisible() for w in QApplication.topLevelWidgets())


def _closed(qtbot, h) -> None:
    """The question is gone and the main window active again (a window manager does that on a desktop; the
    offscreen platform needs asking)."""
    qtbot.waitUntil(_no_dialog, timeout=WAIT_MS)
    h.window.activateWindow()
    qtbot.waitUntil(h.window.isActiveWindow, timeout=WAIT_MS)
    h.settle()


@offscreen_ok
def test_supervisor_reviews_and_worker_fixes_the_returned_record(make_harness, store_dir, qtbot):
    one, two, three = person(seed=31), person(seed=32), person(seed=33)
    four = person(seed=34, national_id=three["national_id"])  # a possible duplicate of ``three``
    a, b, c, d = store_records(store_dir, [one, two, three, four])
    h = make_harness(store_dir)
    h.login(SUP, PASSWORDS[SUP])
    review = h.show("review")
    qtbot.waitUntil(lambda: review.model.rowCount() == 4, timeout=WAIT_MS)

    # the record with a stored duplicate shows it, with the differing fields, and its history
    _select(qtbot, review, d)
    _shown(qtbot, review, d)
    top = review.view.duplicates.topLevelItem(0)
    assert top.data(0, Qt.UserRole) == c and "same national ID" in top.text(0)
    assert top.childCount() > 0 and review.view.dup_box.title() == "Possible duplicates: 1"
    assert "Submitted" in review.view.history.text() and "Outreach Dara" in review.view.history.text()

    # approve one: a single record needs no question, once its household is on screen
    _select(qtbot, review, a)
    _shown(qtbot, review, a)
    qtbot.mouseClick(review.buttons["approve"], Qt.LeftButton)
    qtbot.waitUntil(lambda: states(store_dir, [a])[a][0] == "approved", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: review.model.rowCount() == 3 and not review.model.loading, timeout=WAIT_MS)
    assert review.status.text() == "1 record approved."

    # return one: a reason is required, from the list, plus free text
    _select(qtbot, review, b)
    _shown(qtbot, review, b)
    qtbot.keyClick(review.table, Qt.Key_R, Qt.ControlModifier | Qt.ShiftModifier)
    assert review.reason_problem.isVisible() and states(store_dir, [b])[b][0] == "submitted"
    choose(qtbot, review.reason, "wrong_name")
    type_into(qtbot, review.reason_text, "check the Latin spelling")
    qtbot.keyClick(review.reason_text, Qt.Key_R, Qt.ControlModifier | Qt.ShiftModifier)
    qtbot.waitUntil(lambda: states(store_dir, [b])[b][0] == "returned", timeout=WAIT_MS)
    assert states(store_dir, [b])[b][1] == "wrong_name: check the Latin spelling"  # code + text, any language
    qtbot.waitUntil(lambda: review.model.rowCount() == 2 and not review.model.loading, timeout=WAIT_MS)

    # approve a selection: a question with the count and the names first; Enter goes back, Ctrl+Enter approves
    _select(qtbot, review, c, d)
    qtbot.keyClick(review.table, Qt.Key_A, Qt.ControlModifier | Qt.ShiftModifier)
    dialog = _dialog(qtbot)
    assert dialog.question.text() == "Approve 2 records?" and dialog.confirm_button.text() == "Approve 2 records"
    assert three["given_name_latin"] in dialog.names.text() and four["given_name_latin"] in dialog.names.text()
    qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key_Return)
    _closed(qtbot, h)
    assert states(store_dir, [c, d]) == {c: ("submitted", None), d: ("submitted", None)}
    qtbot.keyClick(review.table, Qt.Key_A, Qt.ControlModifier | Qt.ShiftModifier)
    dialog = _dialog(qtbot)
    qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key_Return, Qt.ControlModifier)
    _closed(qtbot, h)
    qtbot.waitUntil(lambda: states(store_dir, [c, d]) == {c: ("approved", None), d: ("approved", None)},
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: review.model.rowCount() == 0 and not review.model.loading, timeout=WAIT_MS)
    assert review.status.text() == "2 records approved."
    h.ctx.set_language("km")  # the message follows the language, like everything else on screen
    assert review.status.text() == i18n.tr("forms.review.done_approve", "km", count="២")
    h.ctx.set_language("en")
    assert "Approve" in review.buttons["approve"].toolTip() and "Ctrl+Shift+A" in review.buttons["approve"].toolTip()

    # the outreach worker: the returned record comes first, with the reason
    h.window.logout()
    h.login(OW, PASSWORDS[OW])
    records = h.show("records")
    qtbot.waitUntil(lambda: records.model.rowCount() == 4 and not records.model.loading, timeout=WAIT_MS)
    first = records.model.row(0)
    assert first["id"] == b and first["state"] == "returned"
    reason_col = records.model.columnCount() - 1
    assert records.model.index(0, reason_col).data() == "Name spelled wrong: check the Latin spelling"
    h.ctx.set_language("km")  # the supervisor reviewed in English; the worker reads the reason in Khmer
    khmer = i18n.tr("forms.reason.wrong_name", "km") + ": check the Latin spelling"
    assert records.model.index(0, reason_col).data() == khmer
    h.ctx.set_language("en")

    # Enter opens it read-only, with the reason; Ctrl+E from there opens it in the form
    records.table.setFocus()
    records.table.setCurrentIndex(records.model.index(0, 0))
    qtbot.keyClick(records.table, Qt.Key_Return)
    page = records.record_page
    qtbot.waitUntil(lambda: records.pages.currentWidget() is page and page.view.record_id() == b, timeout=WAIT_MS)
    assert "check the Latin spelling" in page.view.reason_line.text() and page.edit_button.isVisible()
    qtbot.keyClick(page.view, Qt.Key_E, Qt.ControlModifier)
    enroll = h.screen("enroll")
    qtbot.waitUntil(lambda: enroll.record_id == b and h.window.workspace.current_id() == "enroll", timeout=WAIT_MS)
    assert enroll.banner.isVisible() and "check the Latin spelling" in enroll.banner.text()
    type_into(qtbot, enroll.widgets["given_name_latin"], two["given_name_latin"] + "h")
    with qtbot.waitSignal(enroll.submitted, timeout=WAIT_MS):
        qtbot.keyClick(enroll.widgets["given_name_latin"], Qt.Key_Return, Qt.ControlModifier)
    assert states(store_dir, [b])[b] == ("submitted", None)
    h.settle()


HOUSEHOLD = person(
    seed=35, family_name="សុខ", given_name="ចន្ទា", family_name_latin="Sok", given_name_latin="Chanda",
    sex="female", date_of_birth="1988-03-14", village_code="05010203", phone="012345678", national_id="011223344",
    consent={"given": True, "method": "thumbprint", "recorded_at": "2025-01-10"},
    dependents=[
        {"family_name": "ម៉ម", "given_name": "វិចិត្រ", "family_name_latin": "Mom", "given_name_latin": "Vichet",
         "sex": "male", "date_of_birth": "1985-11-02", "relationship": "spouse"},
        {"family_name": "ម៉ម", "given_name": "សុភា", "sex": "female", "date_of_birth": "2012-05-20",
         "relationship": "child"},
        {"family_name": "ម៉ម", "given_name": "ដារ៉ា", "sex": "male", "date_of_birth": "2004-08-15",
         "relationship": "child", "disability_or_chronic_illness": True},
    ])


def _age(born: str) -> str:
    return str(age(datetime.fromisoformat(born).date(), datetime.now().astimezone().date()))


@offscreen_ok
def test_the_preview_shows_the_whole_household(make_harness, store_dir, qtbot):
    rid, = store_records(store_dir, [HOUSEHOLD])
    h = make_harness(store_dir)
    h.login(SUP, PASSWORDS[SUP])
    review = h.show("review")
    qtbot.waitUntil(lambda: review.model.rowCount() == 1, timeout=WAIT_MS)
    _shown(qtbot, review, rid)
    view = review.view
    rows = view.people.text().splitlines()
    assert rows == [
        f"សុខ ចន្ទា / Sok Chanda | Member | Female | 14/03/1988 | {_age('1988-03-14')} | \u2014",
        f"ម៉ម វិចិត្រ / Mom Vichet | Spouse | Male | 02/11/1985 | {_age('1985-11-02')} | No",
        f"ម៉ម សុភា | Child | Female | 20/05/2012 | {_age('2012-05-20')} | No",
        f"ម៉ម ដារ៉ា | Child | Male | 15/08/2004 | {_age('2004-08-15')} | Yes",
        "  18 or older: covered because of a disability or chronic illness.",
    ]
    text = view.plain_text()
    assert "Household: 4 people" in text
    assert "Address: Prey Sampoar \u2014 Kat Phluk, Basaed, Kampong Speu" in text
    assert "Consent: Given (Thumbprint), 10 January 2025" in text
    assert "Enrolled by: Outreach Dara, " in text                       # the full name, not the login
    assert "No possible duplicates found." in text
    assert view.history.text().startswith(h.ctx.format_timestamp(review.current["history"][0]["ts"]))

    h.ctx.set_language("km")  # Khmer: Khmer labels and Khmer digits everywhere numbers are shown
    h.settle()
    rows = view.people.text().splitlines()
    assert rows[0].split(" | ")[1:5] == ["សមាជិក", "ស្រី", "១៤/០៣/១៩៨៨", i18n.to_khmer_digits(_age("1988-03-14"))]
    text = view.plain_text()
    assert "ព្រៃសំព័រ \u2014 កាត់ភ្លុក, បរសេដ្ឋ, កំពង់ស្ពឺ" in text
    assert not DIGITS & set(view.people.text() + view.history.text() + view.detail_values["consent"].text()
                            + view.detail_values["enrolled_by"].text() + view.household_box.title())
    h.ctx.set_language("en")


@offscreen_ok
def test_ctrl_a_then_approve_never_approves_without_the_question(make_harness, store_dir, qtbot):
    ids = store_records(store_dir, [person(seed=s) for s in (36, 37, 38)])
    h = make_harness(store_dir)
    h.login(SUP, PASSWORDS[SUP])
    review = h.show("review")
    qtbot.waitUntil(lambda: review.model.rowCount() == 3 and review.current is not None, timeout=WAIT_MS)
    review.table.setFocus()
    qtbot.keyClick(review.table, Qt.Key_A, Qt.ControlModifier)
    for action, key in (("approve", Qt.Key_A), ("reject", Qt.Key_J)):
        if action == "reject":
            choose(qtbot, review.reason, "possible_duplicate")
            review.table.setFocus()
        qtbot.keyClick(review.table, key, Qt.ControlModifier | Qt.ShiftModifier)
        dialog = _dialog(qtbot)
        assert dialog.question.text() == f"{action.capitalize()} 3 records?"
        if action == "reject":
            assert dialog.detail.text() == "Reason: " + i18n.tr("forms.reason.possible_duplicate", "en")
        qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key_Escape)
        _closed(qtbot, h)
        assert {s for s, _r in states(store_dir, ids).values()} == {"submitted"}
    qtbot.keyClick(review.table, Qt.Key_J, Qt.ControlModifier | Qt.ShiftModifier)
    dialog = _dialog(qtbot)
    qtbot.mouseClick(dialog.confirm_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: {s for s, _r in states(store_dir, ids).values()} == {"rejected"}, timeout=WAIT_MS)


@offscreen_ok
def test_enter_opens_the_household_across_the_screen_and_esc_comes_back(make_harness, store_dir, qtbot):
    first, second = store_records(store_dir, [person(seed=39), person(seed=40)])
    h = make_harness(store_dir)
    h.login(SUP, PASSWORDS[SUP])
    review = h.show("review")
    qtbot.waitUntil(lambda: review.model.rowCount() == 2 and review.current is not None, timeout=WAIT_MS)
    review.table.setFocus()
    shown = review.current["record"]["id"]
    qtbot.keyClick(review.table, Qt.Key_Return)
    assert review.expanded and not review.queue.isVisible() and review.view.hasFocus()
    assert review.open_button.text() == "Back to the queue"
    assert review.selected_ids() == [shown]                 # acting here acts on the record on screen only
    qtbot.keyClick(review.view, Qt.Key_Escape)
    assert not review.expanded and review.queue.isVisible() and review.table.hasFocus()
    qtbot.keyClick(review.table, Qt.Key_Down)
    _shown(qtbot, review, first if shown == second else second)
    review.current = None                                   # as while the next household is still loading
    qtbot.keyClick(review.table, Qt.Key_A, Qt.ControlModifier | Qt.ShiftModifier)
    assert review.status.text() == "Wait until the record is shown, then act on it."
    assert {s for s, _r in states(store_dir, [first, second]).values()} == {"submitted"}


@offscreen_ok
def test_review_fits_both_laptops_in_both_languages(make_harness, store_dir, qtbot):
    """Beside the queue and across the screen, with duplicates and a long history, at 1366x768 and 1024x768."""
    three = person(seed=33)
    ids = store_records(store_dir, [three, person(seed=34, national_id=three["national_id"]), HOUSEHOLD])
    h = make_harness(store_dir)
    h.login(SUP, PASSWORDS[SUP])
    review = h.show("review")
    qtbot.waitUntil(lambda: review.model.rowCount() == 3, timeout=WAIT_MS)
    _select(qtbot, review, ids[1])
    _shown(qtbot, review, ids[1])
    found = {}
    for expanded in (False, True):
        review.set_expanded(expanded)
        for width, height in ((1366, 768), (1024, 768)):
            for lang in ("en", "km"):
                h.ctx.set_language(lang)
                h.window.fit_to_screen(QRect(0, 0, width, height - 40))
                h.settle()
                for _ in range(4):
                    QApplication.sendPostedEvents()
                    QApplication.processEvents()
                problems = fit_problems(h.window, width, height - 40)
                if problems:
                    found[f"{width} {lang} expanded={expanded}"] = problems
    h.ctx.set_language("en")
    assert not found, found


def test_review_is_for_supervisors_only(make_harness, store_dir):
    h = make_harness(store_dir)
    h.login(OW, PASSWORDS[OW])
    assert "review" not in h.window.workspace.visible_ids()
