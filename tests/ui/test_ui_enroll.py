"""Enrollment form: inline problems as you type, submit, autosaved drafts, duplicate warning."""

from __future__ import annotations

from helpers.ui_forms import (OW, SUP, WAIT_MS, choose, close_ctx, offscreen_ok, person, pick_unit, show_widget,
                              states, store_records, type_cell, type_into, wait_idle)

from fieldapp.domain import geo
from fieldapp.base.i18n import tr
from ui.qt import Qt
from ui.screens.enroll import EnrollScreen


def _screen(qtbot, ctx):
    return show_widget(qtbot, EnrollScreen(ctx))


def _problem(screen, key) -> str:
    label = screen.problem_labels[key]
    return label.text() if label.isVisible() else ""


def fill_valid(qtbot, screen, rec: dict) -> None:
    """Type a whole valid record into the form from the keyboard."""
    w = screen.widgets
    for key in ("family_name", "given_name", "family_name_latin", "given_name_latin"):
        type_into(qtbot, w[key], rec[key])
    choose(qtbot, w["sex"], rec["sex"])
    type_into(qtbot, w["date_of_birth"], rec["date_of_birth"])
    type_into(qtbot, w["national_id"], rec["national_id"])
    type_into(qtbot, w["phone"], rec["phone"])
    pick_unit(qtbot, w["address"].pickers["village"], rec["village_code"])
    choose(qtbot, w["occupation"], rec["occupation"])
    choose(qtbot, w["employment_status"], rec["employment_status"])
    w["consent.given"].setFocus()
    if not w["consent.given"].isChecked():
        qtbot.keyClick(w["consent.given"], Qt.Key_Space)
    choose(qtbot, w["consent.method"], rec["consent"]["method"])


@offscreen_ok
def test_invalid_then_fixed_input_and_submit(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    w = screen.widgets
    type_into(qtbot, w["family_name"], "Sok")             # Latin letters in the Khmer name
    type_into(qtbot, w["phone"], "123")                    # not a Cambodian number
    type_into(qtbot, w["date_of_birth"], "២៩៩៩-០១-០១")      # Khmer digits, but in the future
    qtbot.waitUntil(lambda: all(_problem(screen, k) for k in ("family_name", "phone", "date_of_birth")),
                    timeout=WAIT_MS)
    assert _problem(screen, "family_name") == tr("validation.not_khmer", "en", field=tr("field.family_name", "en"))
    assert _problem(screen, "date_of_birth") == tr("validation.date.in_future", "en",
                                                   field=tr("field.date_of_birth", "en"))
    assert "phone" in _problem(screen, "phone").lower()
    assert _problem(screen, "national_id") == ""           # untouched fields stay quiet
    # the same problems, in Khmer, beside the same fields
    ctx.set_language("km")
    assert _problem(screen, "family_name") == tr("validation.not_khmer", "km", field=tr("field.family_name", "km"))
    assert screen.labels["family_name"].text() == tr("field.family_name", "km")
    ctx.set_language("en")

    # a dependent added from the keyboard, with a bad date: the problem shows on that cell
    qtbot.keyClick(w["family_name"], Qt.Key_D, Qt.ControlModifier | Qt.ShiftModifier)
    table = w["dependents"].table
    assert table.rowCount() == 1
    type_cell(qtbot, table, 0, 6, "1990-13-40")
    qtbot.waitUntil(lambda: bool(table.item(0, 6).toolTip()), timeout=WAIT_MS)
    assert "Dependent 1" in w["dependents"].problem.text()
    table.setCurrentCell(0, 0)
    qtbot.keyClick(table, Qt.Key_Delete, Qt.ControlModifier)
    assert table.rowCount() == 0

    # submitting now shows every problem, moves to the first one and submits nothing
    qtbot.keyClick(w["phone"], Qt.Key_Return, Qt.ControlModifier)
    assert _problem(screen, "sex") and _problem(screen, "address")
    assert screen.focusWidget() is w["family_name"]

    rec = person(seed=11)
    fill_valid(qtbot, screen, rec)
    qtbot.waitUntil(lambda: not any(_problem(screen, k) for k in screen.problem_labels), timeout=WAIT_MS)
    assert w["address"].pickers["province"].code == rec["village_code"][:2]
    assert screen.hints["date_of_birth"].text() == ctx.format_date(rec["date_of_birth"])
    with qtbot.waitSignal(screen.submitted, timeout=WAIT_MS) as done:
        qtbot.keyClick(w["phone"], Qt.Key_Return, Qt.ControlModifier)
    assert states(store_dir)[done.args[0]][0] == "submitted"
    assert w["family_name"].text() == ""                   # ready for the next person


@offscreen_ok
def test_keyboard_khmer_digits_and_address_typed_in_khmer(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    pickers = screen.widgets["address"].pickers
    pick_unit(qtbot, pickers["province"], "\u200b" + geo.province("12").name_km)  # a stray zero-width space
    assert pickers["province"].code == "12"
    district = geo.children("12")[0]
    pick_unit(qtbot, pickers["district"], district.name_latin[:5].lower())
    assert pickers["district"].code == district.code
    type_into(qtbot, screen.widgets["national_id"], "០១២៣៤៥៦៧៨")
    assert screen.collect()["national_id"] == "012345678"
    # Enter moves to the next field; every input has an accessible name and shortcuts are in tooltips
    screen.widgets["family_name"].setFocus()
    qtbot.keyClick(screen.widgets["family_name"], Qt.Key_Return)
    assert screen.focusWidget() is screen.widgets["given_name"]
    assert all(widget.accessibleName() for widget in screen.widgets.values())
    assert "Ctrl+S" in screen.save_button.toolTip() and "Ctrl+Return" in screen.submit_button.toolTip()


@offscreen_ok
def test_draft_survives_closing_without_saving(qtbot, store_dir, contexts):
    rec = person(seed=12)
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    fill_valid(qtbot, screen, rec)
    type_into(qtbot, screen.widgets["notes"], "met at the market")
    qtbot.keyClick(screen.widgets["family_name"], Qt.Key_D, Qt.ControlModifier | Qt.ShiftModifier)
    type_cell(qtbot, screen.widgets["dependents"].table, 0, 0, "សុខ")
    # no Ctrl+S: the autosave alone must keep it
    qtbot.waitUntil(lambda: screen.record_id is not None and not screen._dirty and not screen._saving,
                    timeout=WAIT_MS)
    wait_idle(qtbot, ctx)
    before = screen.collect()
    record_id = screen.record_id
    close_ctx(ctx, screen)                                  # the window and the session (and its key) are gone

    ctx = contexts(store_dir, OW)
    again = _screen(qtbot, ctx)
    with qtbot.waitSignal(again.record_loaded, timeout=WAIT_MS):
        again.open_record(record_id)
    assert again.collect() == before
    assert again.widgets["notes"].toPlainText() == "met at the market"
    assert again.widgets["address"].pickers["village"].code == rec["village_code"]
    assert again.widgets["dependents"].rows()[0]["family_name"] == "សុខ"


@offscreen_ok
def test_duplicate_warning_shows_differences(qtbot, store_dir, contexts):
    stored = person(seed=13)
    store_records(store_dir, [stored])
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    other = person(seed=14, national_id=stored["national_id"])  # same ID, someone else's details
    fill_valid(qtbot, screen, other)
    qtbot.keyClick(screen.widgets["phone"], Qt.Key_Return, Qt.ControlModifier)
    qtbot.waitUntil(lambda: screen.duplicates_dialog is not None and screen.duplicates_dialog.isVisible(),
                    timeout=WAIT_MS)
    dialog = screen.duplicates_dialog
    fields = dialog.view.differing_fields()
    assert "national_id" not in fields and "phone" in fields
    top = dialog.view.topLevelItem(0)
    rows = {top.child(i).text(0): (top.child(i).text(1), top.child(i).text(2)) for i in range(top.childCount())}
    assert tr("field.phone", "en") in rows
    assert "same national ID" in top.text(0)
    # cancel: it stays a draft
    qtbot.mouseClick(dialog.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: screen.duplicates_dialog is None and screen.isActiveWindow(), timeout=WAIT_MS)
    assert states(store_dir)[screen.record_id][0] == "draft"
    # confirm: submitted
    qtbot.keyClick(screen.widgets["phone"], Qt.Key_Return, Qt.ControlModifier)
    qtbot.waitUntil(lambda: screen.duplicates_dialog is not None and screen.duplicates_dialog.isVisible(),
                    timeout=WAIT_MS)
    record_id = screen.record_id
    with qtbot.waitSignal(screen.submitted, timeout=WAIT_MS):
        qtbot.mouseClick(screen.duplicates_dialog.confirm_button, Qt.LeftButton)
    assert states(store_dir)[record_id][0] == "submitted"


@offscreen_ok
def test_duplicate_of_another_workers_record_shows_no_detail(qtbot, store_dir, contexts):
    stored = person(seed=13)
    store_records(store_dir, [stored], user=SUP)
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    fill_valid(qtbot, screen, person(seed=14, national_id=stored["national_id"]))
    qtbot.keyClick(screen.widgets["phone"], Qt.Key_Return, Qt.ControlModifier)
    qtbot.waitUntil(lambda: screen.duplicates_dialog is not None and screen.duplicates_dialog.isVisible(),
                    timeout=WAIT_MS)
    view = screen.duplicates_dialog.view
    assert view.differing_fields() == []
    top = view.topLevelItem(0)
    assert top.text(0) == tr("forms.dup.candidate_hidden", "en", record=top.data(0, Qt.UserRole)[:8])
    assert [top.child(i).text(0) for i in range(top.childCount())] == [tr("forms.dup.hidden", "en")]
    # a long spanned line never widens the field column: the values stay in view
    assert view.columnWidth(0) < view.fontMetrics().horizontalAdvance(tr("forms.dup.hidden", "en"))
    texts = [view.topLevelItem(0).child(i).text(c) for i in range(top.childCount()) for c in range(3)]
    assert not any(stored["phone"][-6:] in t or stored["family_name"] in t for t in texts)
    qtbot.mouseClick(screen.duplicates_dialog.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: screen.duplicates_dialog is None, timeout=WAIT_MS)


@offscreen_ok
def test_dates_can_be_picked_from_a_calendar_in_the_ui_language(qtbot, store_dir, contexts):
    from datetime import date

    from fieldapp.base import i18n
    from ui.qt import QtWidgets

    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    dob = screen.widgets["date_of_birth"]
    dob.setFocus()
    type_into(qtbot, dob, "1990-02-3")  # half typed: the calendar opens on what can be read, else a default
    qtbot.keyClick(dob, Qt.Key_Down, Qt.AltModifier)
    popup = dob.popup
    qtbot.waitUntil(popup.isVisible, timeout=WAIT_MS)
    assert popup.maximumDate().toPython() == date.today()  # no birth in the future
    assert popup.selectedDate().toPython() == date(date.today().year - 30, 1, 1)  # "1990-02-3" is not a date yet
    popup.setSelectedDate(popup.selectedDate().fromString("1990-02-03", "yyyy-MM-dd"))
    view = popup.findChild(QtWidgets.QTableView)  # the day grid: it has the focus in the popup
    qtbot.keyClick(view, Qt.Key_Right)   # the keyboard moves the day ...
    qtbot.keyClick(view, Qt.Key_Return)  # ... and Enter writes it in
    qtbot.waitUntil(lambda: not popup.isVisible(), timeout=WAIT_MS)
    assert dob.text() == "1990-02-04" and dob.hasFocus()
    assert screen.hints["date_of_birth"].text() == "4 February 1990"
    qtbot.waitUntil(lambda: screen.record_id is not None, timeout=WAIT_MS)  # the pick autosaved the draft like typing
    # in Khmer the calendar speaks Khmer; F4 opens it too, Escape closes it and changes nothing
    ctx.set_language("km")
    qtbot.keyClick(dob, Qt.Key_F4)
    qtbot.waitUntil(popup.isVisible, timeout=WAIT_MS)
    assert popup.locale().language() == popup.locale().Language.Khmer
    assert popup.locale().monthName(2) != "February"
    qtbot.keyClick(popup.findChild(QtWidgets.QTableView), Qt.Key_Escape)
    assert not popup.isVisible() and dob.text() == "1990-02-04"
    assert dob.pick_action.toolTip().startswith(i18n.tr("forms.date_pick", "km"))
    ctx.set_language("en")
