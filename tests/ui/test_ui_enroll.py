"""Enrollment form: problems once a field is left, the list of problems after a failed submit, submit, autosaved
drafts, duplicate warning, the calendar, the view and the focus after New and Submit."""

from __future__ import annotations

from helpers.ui_forms import (OW, SUP, WAIT_MS, choose, close_ctx, offscreen_ok, person, show_widget, states,
                              store_records, type_into, wait_idle)

from fieldapp.base.i18n import tr
from fieldapp.domain import geo
from ui.qt import QApplication, Qt
from ui.screens.enroll import EnrollScreen

CODE_ROLE = Qt.UserRole + 1


def _screen(qtbot, ctx, width: int = 1100, height: int = 800):
    return show_widget(qtbot, EnrollScreen(ctx), width, height)


def _problem(screen, key) -> str:
    label = screen.problem_labels[key]
    return label.text() if label.isVisible() else ""


def pick_village(qtbot, screen, code: str) -> None:
    """Type the village's name, move down the list to it and take it with Enter (as a worker does)."""
    picker = screen.widgets["address"].pickers["village"]
    type_into(qtbot, picker, geo.unit(code).name_latin)
    popup = picker._completer.popup()
    qtbot.waitUntil(popup.isVisible, timeout=WAIT_MS)
    rows = [popup.model().index(r, 0).data(CODE_ROLE) for r in range(popup.model().rowCount())]
    for _ in range(rows.index(code) + 1):
        qtbot.keyClick(popup, Qt.Key_Down)
    qtbot.keyClick(popup, Qt.Key_Return)
    qtbot.waitUntil(lambda: picker.code == code, timeout=WAIT_MS)


def fill_valid(qtbot, screen, rec: dict) -> None:
    """Type a whole valid record into the form from the keyboard."""
    w = screen.widgets
    for key in ("family_name", "given_name", "family_name_latin", "given_name_latin"):
        type_into(qtbot, w[key], rec[key])
    choose(qtbot, w["sex"], rec["sex"])
    type_into(qtbot, w["date_of_birth"], rec["date_of_birth"])
    type_into(qtbot, w["national_id"], rec["national_id"])
    type_into(qtbot, w["phone"], rec["phone"])
    pick_village(qtbot, screen, rec["village_code"])
    choose(qtbot, w["occupation"], rec["occupation"])
    choose(qtbot, w["employment_status"], rec["employment_status"])
    w["consent.given"].setFocus()
    if not w["consent.given"].isChecked():
        qtbot.keyClick(w["consent.given"], Qt.Key_Space)
    choose(qtbot, w["consent.method"], rec["consent"]["method"])


@offscreen_ok
def test_problems_show_once_a_field_is_left_and_a_failed_submit_lists_them(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    w = screen.widgets
    type_into(qtbot, w["family_name"], "Sok")             # Latin letters in the Khmer name
    screen.check()                                        # what the as-you-type timer runs
    assert _problem(screen, "family_name") == ""          # not while the worker is still in the field
    qtbot.keyClick(w["family_name"], Qt.Key_Tab)
    qtbot.waitUntil(lambda: bool(_problem(screen, "family_name")), timeout=WAIT_MS)
    assert _problem(screen, "family_name") == tr("validation.not_khmer", "en", field=tr("field.family_name", "en"))
    type_into(qtbot, w["date_of_birth"], "២៩៩៩-០១-០១")      # Khmer digits, but in the future
    qtbot.keyClick(w["date_of_birth"], Qt.Key_Tab)
    qtbot.waitUntil(lambda: bool(_problem(screen, "date_of_birth")), timeout=WAIT_MS)
    assert _problem(screen, "date_of_birth") == tr("validation.date.in_future", "en",
                                                   field=tr("field.date_of_birth", "en"))
    # the address is not "required" while the worker is still inside it, nor before it is reached
    assert _problem(screen, "address") == "" and _problem(screen, "national_id") == ""
    pickers = w["address"].pickers
    pickers["province"].setFocus()
    qtbot.keyClick(pickers["province"], Qt.Key_Tab)
    assert QApplication.focusWidget() is pickers["district"] and _problem(screen, "address") == ""
    # the same problems, in Khmer, beside the same fields
    ctx.set_language("km")
    assert _problem(screen, "family_name") == tr("validation.not_khmer", "km", field=tr("field.family_name", "km"))
    assert screen.labels["family_name"].text() == tr("field.family_name", "km")
    ctx.set_language("en")

    # submitting lists every problem at the top, in form order, and moves to the first one; nothing is stored
    qtbot.keyClick(w["phone"], Qt.Key_Return, Qt.ControlModifier)
    assert screen.summary.isVisible()
    listed = [screen.summary.list.item(i).text() for i in range(screen.summary.list.count())]
    assert listed[0] == _problem(screen, "family_name") and len(listed) == len(screen.problems)
    assert any(text == tr("validation.required", "en", field=tr("field.sex", "en")) for text in listed)
    assert _problem(screen, "sex") and _problem(screen, "address")
    assert screen.focusWidget() is w["family_name"]
    # Enter on a line of the list goes to its field
    sex_row = [i for i, t in enumerate(listed) if tr("field.sex", "en") in t][0]
    screen.summary.list.setCurrentRow(sex_row)
    qtbot.keyClick(screen.summary.list, Qt.Key_Return)
    assert screen.focusWidget() is w["sex"]
    assert screen.record_id is None                        # no name yet: no draft either

    rec = person(seed=11)
    fill_valid(qtbot, screen, rec)
    qtbot.waitUntil(lambda: not any(_problem(screen, k) for k in screen.problem_labels), timeout=WAIT_MS)
    assert not screen.summary.isVisible()                 # every problem fixed: the list is gone
    assert w["address"].pickers["province"].code == rec["village_code"][:2]
    assert screen.hints["date_of_birth"].text().startswith(ctx.format_date(rec["date_of_birth"]))
    screen.scroll.verticalScrollBar().setValue(screen.scroll.verticalScrollBar().maximum())
    with qtbot.waitSignal(screen.submitted, timeout=WAIT_MS) as done:
        qtbot.keyClick(w["phone"], Qt.Key_Return, Qt.ControlModifier)
    assert states(store_dir)[done.args[0]][0] == "submitted"
    assert w["family_name"].text() == ""                   # ready for the next person: at the top, in the first field
    assert screen.focusWidget() is w["family_name"] and screen.scroll.verticalScrollBar().value() == 0


@offscreen_ok
def test_fields_keep_their_place_and_size_when_a_problem_appears(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx, 1000, 700)
    w = screen.widgets
    keys = ("family_name", "phone", "date_of_birth", "occupation")
    before = {k: w[k].geometry() for k in keys}
    screen.submit()                                        # every problem shown beside its field
    assert all(_problem(screen, k) for k in ("family_name", "date_of_birth", "occupation"))
    QApplication.processEvents()
    after = {k: w[k].geometry() for k in keys}
    assert {k: (g.x(), g.width()) for k, g in before.items()} == {k: (g.x(), g.width()) for k, g in after.items()}


@offscreen_ok
def test_enter_moves_on_khmer_digits_and_names_for_screen_readers(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    type_into(qtbot, screen.widgets["national_id"], "០១២៣៤៥៦៧៨")
    assert screen.collect()["national_id"] == "012345678"
    screen.widgets["family_name"].setFocus()
    qtbot.keyClick(screen.widgets["family_name"], Qt.Key_Return)
    assert screen.focusWidget() is screen.widgets["given_name"]
    assert all(widget.accessibleName() for widget in screen.widgets.values())
    assert "Ctrl+S" in screen.save_button.toolTip() and "Ctrl+Return" in screen.submit_button.toolTip()
    # "Other occupation" is asked for "Other" only (Tab passes it by otherwise)
    assert not screen.widgets["occupation_other"].isEnabled()
    choose(qtbot, screen.widgets["occupation"], "other")
    assert screen.widgets["occupation_other"].isEnabled()


@offscreen_ok
def test_draft_survives_closing_without_saving(qtbot, store_dir, contexts):
    rec = person(seed=12)
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    fill_valid(qtbot, screen, rec)
    type_into(qtbot, screen.widgets["notes"], "met at the market")
    qtbot.keyClick(screen.widgets["family_name"], Qt.Key_C, Qt.ControlModifier | Qt.ShiftModifier)
    panel = screen.widgets["dependents"].panels[0]
    assert QApplication.focusWidget() is panel.widgets["family_name"]
    type_into(qtbot, panel.widgets["family_name"], "សុខ")
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
    assert again.widgets["dependents"].rows()[0]["relationship"] == "child"


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
    type_into(qtbot, dob, "3/2/19")  # half typed: the calendar opens on what can be read, else a default
    qtbot.keyClick(dob, Qt.Key_Down, Qt.AltModifier)
    popup = dob.popup
    qtbot.waitUntil(popup.isVisible, timeout=WAIT_MS)
    assert popup.maximumDate().toPython() == date.today()  # no birth in the future
    assert popup.selectedDate().toPython() == date(date.today().year - 30, 1, 1)  # "3/2/19" is not a date yet
    popup.setSelectedDate(popup.selectedDate().fromString("1990-02-03", "yyyy-MM-dd"))
    view = popup.findChild(QtWidgets.QTableView)  # the day grid: it has the focus in the popup
    qtbot.keyClick(view, Qt.Key_Right)   # the keyboard moves the day ...
    qtbot.keyClick(view, Qt.Key_Return)  # ... and Enter writes it in, day first
    qtbot.waitUntil(lambda: not popup.isVisible(), timeout=WAIT_MS)
    assert dob.text() == "04/02/1990" and dob.hasFocus()
    assert screen.collect()["date_of_birth"] == "1990-02-04"
    assert screen.hints["date_of_birth"].text().startswith("4 February 1990 · ")
    type_into(qtbot, screen.widgets["family_name"], "សុខ")  # a draft starts once there is a name ...
    qtbot.waitUntil(lambda: screen.record_id is not None, timeout=WAIT_MS)
    # in Khmer the calendar speaks Khmer, with Khmer digits; F4 opens it too, Escape closes it and changes nothing
    ctx.set_language("km")
    assert dob.text() == "០៤/០២/១៩៩០"
    qtbot.keyClick(dob, Qt.Key_F4)
    qtbot.waitUntil(popup.isVisible, timeout=WAIT_MS)
    assert popup.locale().language() == popup.locale().Language.Khmer
    assert popup.locale().monthName(2) != "February"
    year = popup.findChild(QtWidgets.QToolButton, "qt_calendar_yearbutton")
    assert year.text() == "១៩៩០"
    qtbot.keyClick(popup.findChild(QtWidgets.QTableView), Qt.Key_Escape)
    assert not popup.isVisible() and dob.text() == "០៤/០២/១៩៩០"
    assert dob.pick_action.toolTip().startswith(i18n.tr("forms.date_pick", "km"))
    ctx.set_language("en")


@offscreen_ok
def test_new_returns_to_the_top_with_the_focus_in_the_first_field(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx, 1000, 600)
    type_into(qtbot, screen.widgets["family_name"], "សុខ")
    screen.widgets["notes"].setFocus()
    bar = screen.scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=WAIT_MS)  # the view followed the focus down
    qtbot.keyClick(screen.widgets["notes"], Qt.Key_N, Qt.ControlModifier)
    qtbot.waitUntil(lambda: screen.widgets["family_name"].text() == "" and screen.record_id is None,
                    timeout=WAIT_MS)
    assert bar.value() == 0 and screen.focusWidget() is screen.widgets["family_name"]
    wait_idle(qtbot, ctx)
    assert [s for s, _r in states(store_dir).values()] == ["draft"]  # what was typed was kept as a draft
