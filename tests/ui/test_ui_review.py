"""Review in the real main window: approve one, return one with a reason, approve a selection at once;
then the outreach worker finds the returned record first, with the reason, fixes it and resubmits."""

from __future__ import annotations

from fieldapp.base import i18n

from helpers.ui_forms import (OW, PASSWORDS, SUP, WAIT_MS, choose, offscreen_ok, person, states, store_records,
                              type_into)

from ui.qt import Qt


def _row_of(model, record_id: str) -> int:
    return next(row for row in range(model.rowCount()) if model.record_id(row) == record_id)


def _select(qtbot, screen, *record_ids: str) -> None:
    """Click the first row, Ctrl+click the others (multi-select from the mouse, as a supervisor would)."""
    view = screen.table
    for i, record_id in enumerate(record_ids):
        index = screen.model.index(_row_of(screen.model, record_id), 0)
        rect = view.visualRect(index)
        qtbot.mouseClick(view.viewport(), Qt.LeftButton, Qt.ControlModifier if i else Qt.NoModifier, rect.center())
    picked = set(screen.selected_ids())
    assert picked == set(record_ids), picked


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
    qtbot.waitUntil(lambda: review.current is not None and review.current["record"]["id"] == d, timeout=WAIT_MS)
    top = review.duplicates.topLevelItem(0)
    assert top.data(0, Qt.UserRole) == c and "same national ID" in top.text(0)
    assert top.childCount() > 0
    assert review.history.topLevelItemCount() >= 1
    assert "Submitted" in review.history.topLevelItem(0).text(2)

    # approve one
    _select(qtbot, review, a)
    qtbot.mouseClick(review.buttons["approve"], Qt.LeftButton)
    qtbot.waitUntil(lambda: states(store_dir, [a])[a][0] == "approved", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: review.model.rowCount() == 3 and not review.model.loading, timeout=WAIT_MS)

    # return one: a reason is required, from the list, plus free text
    _select(qtbot, review, b)
    qtbot.keyClick(review.table, Qt.Key_R, Qt.ControlModifier | Qt.ShiftModifier)
    assert review.reason_problem.isVisible() and states(store_dir, [b])[b][0] == "submitted"
    choose(qtbot, review.reason, "wrong_name")
    type_into(qtbot, review.reason_text, "check the Latin spelling")
    qtbot.keyClick(review.reason_text, Qt.Key_R, Qt.ControlModifier | Qt.ShiftModifier)
    qtbot.waitUntil(lambda: states(store_dir, [b])[b][0] == "returned", timeout=WAIT_MS)
    assert states(store_dir, [b])[b][1] == "wrong_name: check the Latin spelling"  # code + text, any language
    qtbot.waitUntil(lambda: review.model.rowCount() == 2 and not review.model.loading, timeout=WAIT_MS)

    # approve a selection at once
    _select(qtbot, review, c, d)
    qtbot.keyClick(review.table, Qt.Key_A, Qt.ControlModifier | Qt.ShiftModifier)
    qtbot.waitUntil(lambda: states(store_dir, [c, d]) == {c: ("approved", None), d: ("approved", None)},
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: review.model.rowCount() == 0 and not review.model.loading, timeout=WAIT_MS)
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

    records.table.setFocus()
    records.table.setCurrentIndex(records.model.index(0, 0))
    qtbot.keyClick(records.table, Qt.Key_Return)
    enroll = h.screen("enroll")
    qtbot.waitUntil(lambda: enroll.record_id == b and h.window.workspace.current_id() == "enroll", timeout=WAIT_MS)
    assert enroll.banner.isVisible() and "check the Latin spelling" in enroll.banner.text()
    type_into(qtbot, enroll.widgets["given_name_latin"], two["given_name_latin"] + "h")
    with qtbot.waitSignal(enroll.submitted, timeout=WAIT_MS):
        qtbot.keyClick(enroll.widgets["given_name_latin"], Qt.Key_Return, Qt.ControlModifier)
    assert states(store_dir, [b])[b] == ("submitted", None)
    h.settle()


def test_review_is_for_supervisors_only(make_harness, store_dir):
    h = make_harness(store_dir)
    h.login(OW, PASSWORDS[OW])
    assert "review" not in h.window.workspace.visible_ids()
