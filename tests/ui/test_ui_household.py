"""The household on the enrollment form: a panel of real fields per person that every keystroke reaches, one Tab
path through the form, the age beside each birth date, the illness question where the rule needs it, suggested
Latin spellings, and the wheel that never changes a value it was not meant for."""

from __future__ import annotations

from datetime import date, timedelta

from helpers.ui_forms import OW, WAIT_MS, key_text, offscreen_ok, show_widget, type_into, wait_idle

from fieldapp.base.i18n import tr
from ui.qt import QApplication, QPoint, QPointF, Qt, QtGui
from ui.screens.enroll import EnrollScreen


def _screen(qtbot, ctx, width: int = 1000, height: int = 700):
    screen = show_widget(qtbot, EnrollScreen(ctx), width, height)
    screen.go_to_top()
    return screen


def _add(qtbot, relationship: str):
    key = {"spouse": Qt.Key_S, "child": Qt.Key_C, None: Qt.Key_D}[relationship]
    qtbot.keyClick(QApplication.focusWidget(), key, Qt.ControlModifier | Qt.ShiftModifier)


def _born(years: int, days: int = 10) -> str:
    """A birth date ``years`` years and a few days ago, typed day first."""
    day = date.today().replace(year=date.today().year - years) - timedelta(days=days)
    return day.strftime("%d/%m/%Y")


@offscreen_ok
def test_every_keystroke_lands_while_the_form_checks_itself(qtbot, store_dir, contexts):
    """The table this replaces lost the first keys typed after Tab: the as-you-type check re-coloured the cell
    being edited and Qt then reset its editor. Here the check runs between every two keys, and nothing is lost."""
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    type_into(qtbot, screen.widgets["family_name"], "សុខ")
    _add(qtbot, "child")
    panel = screen.widgets["dependents"].panels[0]
    typed = {"family_name": "វង្ស", "given_name": "វិចិត្រ", "family_name_latin": "Vong",
             "given_name_latin": "Vichet", "date_of_birth": "15082007"}
    for name, text in typed.items():
        widget = panel.widgets[name]
        if name != "family_name":
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Tab)
            if name == "date_of_birth":
                qtbot.keyClick(QApplication.focusWidget(), Qt.Key_M)  # sex: Male, then on to the date
                qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Tab)
        assert QApplication.focusWidget() is widget, name
        for ch in text:
            key_text(qtbot, QApplication.focusWidget(), ch)
            screen.check()                     # what the 300 ms timer does, at the worst moment
            QApplication.processEvents()
    assert {name: panel.widgets[name].text() for name in typed} == typed  # 15082007 is shown as typed until left
    row = screen.widgets["dependents"].rows()[0]
    assert row == {"relationship": "child", "family_name": "វង្ស", "given_name": "វិចិត្រ",
                   "family_name_latin": "Vong", "given_name_latin": "Vichet", "sex": "male",
                   "date_of_birth": "2007-08-15", "disability_or_chronic_illness": False}


@offscreen_ok
def test_one_tab_path_through_the_whole_form_and_back(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    w = screen.widgets
    type_into(qtbot, w["family_name"], "សុខ")
    _add(qtbot, "spouse")
    _add(qtbot, "child")
    household = w["dependents"]
    w["family_name"].setFocus(Qt.TabFocusReason)
    path = [QApplication.focusWidget()]
    while path[-1] is not screen.submit_button and len(path) < 80:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Tab)
        path.append(QApplication.focusWidget())
    assert path[-1] is screen.submit_button and len(set(map(id, path))) == len(path)  # no trap, no loop
    expected = [w[k] for k in ("family_name", "given_name", "family_name_latin", "given_name_latin", "sex",
                               "date_of_birth", "national_id", "phone")]
    expected += list(w["address"].pickers.values())
    expected += [w["occupation"], w["employment_status"]]          # "Other occupation" only for Other
    for panel in household.panels:
        expected += [panel.widgets[n] for n in ("relationship", "family_name", "given_name", "family_name_latin",
                                                "given_name_latin", "sex", "date_of_birth")]
    expected += [household.buttons["child"]]                       # one spouse at most: "Add spouse" is hidden
    expected += [w[k] for k in ("consent.given", "consent.method", "consent.recorded_at", "idpoor_household_id",
                                "disability_id", "notes")] + [screen.submit_button]
    assert [p.objectName() for p in path] == [e.objectName() for e in expected]
    assert path == expected
    back = [QApplication.focusWidget()]
    while back[-1] is not w["family_name"] and len(back) < 80:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Backtab, Qt.ShiftModifier)
        back.append(QApplication.focusWidget())
    assert back == list(reversed(path))


@offscreen_ok
def test_people_are_added_and_removed_from_the_keyboard(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    w = screen.widgets
    household = w["dependents"]
    w["sex"].setFocus()
    qtbot.keyClick(w["sex"], Qt.Key_M)                                 # the member is a man ...
    _add(qtbot, "spouse")
    spouse = household.panels[0]
    assert spouse.code("relationship") == "spouse" and spouse.code("sex") == "female"  # ... so his wife is a woman
    assert QApplication.focusWidget() is spouse.widgets["family_name"]
    assert not household.buttons["spouse"].isVisible()                 # one spouse at most
    _add(qtbot, None)                                                   # Ctrl+Shift+D: relationship to choose
    other = household.panels[1]
    assert QApplication.focusWidget() is other.widgets["relationship"] and other.code("relationship") is None
    qtbot.keyClick(other.widgets["relationship"], Qt.Key_C)
    assert other.code("relationship") == "child"
    assert [p.title.text() for p in household.panels] == ["Dependent 1", "Dependent 2"]
    spouse.widgets["given_name"].setFocus()
    qtbot.keyClick(spouse.widgets["given_name"], Qt.Key_Delete, Qt.ControlModifier)   # Ctrl+Del: this one
    qtbot.waitUntil(lambda: len(household.panels) == 1, timeout=WAIT_MS)
    assert household.panels[0] is other and other.title.text() == "Dependent 1"
    assert QApplication.focusWidget() is other.widgets["family_name"]
    assert household.buttons["spouse"].isVisibleTo(household)
    # new panels are quiet: no tint, no message, until the keyboard leaves a field (or Submit)
    assert not other.problem.text() and not any(x.property("has_problem") for x in other.widgets.values())
    qtbot.keyClick(other.widgets["family_name"], Qt.Key_Tab)
    qtbot.waitUntil(lambda: bool(other.problem.text()), timeout=WAIT_MS)
    assert other.problem.text() == tr("validation.required", "en", field=tr("field.family_name", "en"))
    assert other.widgets["family_name"].property("has_problem") and not other.widgets["sex"].property("has_problem")


@offscreen_ok
def test_age_beside_each_birth_date_and_the_illness_question_where_it_matters(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    type_into(qtbot, screen.widgets["date_of_birth"], _born(36))
    assert screen.hints["date_of_birth"].text().endswith("36 years old")
    _add(qtbot, "child")
    child = screen.widgets["dependents"].panels[0]
    illness = child.widgets["disability_or_chronic_illness"]
    type_into(qtbot, child.widgets["date_of_birth"], _born(12))
    assert child.age.text() == "12 years old" and not illness.isVisible()
    type_into(qtbot, child.widgets["date_of_birth"], _born(17))             # 18 within the year: asked
    assert child.age.text() == "17 years old" and illness.isVisible()
    type_into(qtbot, child.widgets["date_of_birth"], _born(25))
    assert illness.isVisible()
    illness.setFocus()
    qtbot.keyClick(illness, Qt.Key_Space)
    assert child.values()["disability_or_chronic_illness"] is True
    type_into(qtbot, child.widgets["date_of_birth"], _born(0, days=40))
    assert child.age.text() == "under 1 year old" and illness.isVisible()   # ticked: it stays to be unticked
    qtbot.keyClick(illness, Qt.Key_Space)
    type_into(qtbot, child.widgets["date_of_birth"], _born(4))
    assert not illness.isVisible()
    # in Khmer: Khmer digits typed and shown, the age in Khmer
    ctx.set_language("km")
    type_into(qtbot, child.widgets["date_of_birth"], "០៣.០៤.២០១៨")
    assert child.values()["date_of_birth"] == "2018-04-03"
    years = date.today().year - 2018 - ((date.today().month, date.today().day) < (4, 3))
    assert child.age.text() == tr("forms.age.years", "km", age=ctx.format_number(years))
    assert any("\u17e0" <= c <= "\u17e9" for c in child.age.text())
    qtbot.keyClick(child.widgets["date_of_birth"], Qt.Key_Tab)
    assert child.widgets["date_of_birth"].text() == "០៣/០៤/២០១៨"                # what was understood, day first
    ctx.set_language("en")
    assert child.widgets["date_of_birth"].text() == "03/04/2018"


@offscreen_ok
def test_latin_spelling_of_a_common_name_is_offered_and_can_be_refused(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    w = screen.widgets
    key_text(qtbot, w["family_name"], "ហេង")
    qtbot.keyClick(w["family_name"], Qt.Key_Tab)
    key_text(qtbot, w["given_name"], "ដារ៉ា")                 # a variant spelling of ដារា
    qtbot.keyClick(w["given_name"], Qt.Key_Tab)
    latin = w["family_name_latin"]
    assert QApplication.focusWidget() is latin and latin.text() == "Heng" and latin.selectedText() == "Heng"
    qtbot.keyClick(latin, Qt.Key_Tab)                        # kept with Tab alone
    given = w["given_name_latin"]
    assert given.text() == "Dara" and given.selectedText() == "Dara"
    key_text(qtbot, given, "Darra")                          # typing replaces it
    assert given.text() == "Darra"
    qtbot.keyClick(given, Qt.Key_Backtab, Qt.ShiftModifier)
    qtbot.keyClick(latin, Qt.Key_Backspace)                  # refused: left empty, not offered again
    qtbot.keyClick(latin, Qt.Key_Backtab, Qt.ShiftModifier)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Tab)
    assert QApplication.focusWidget() is latin and latin.text() == ""
    assert screen.collect()["given_name_latin"] == "Darra" and "family_name_latin" not in screen.collect()
    type_into(qtbot, w["given_name"], "ឈ្មោះចម្លែក")            # an unknown name: nothing is offered
    w["given_name_latin"].clear()
    screen.widgets["given_name"].setFocus()
    qtbot.keyClick(w["given_name"], Qt.Key_Tab)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Tab)
    assert w["given_name_latin"].text() == ""


@offscreen_ok
def test_the_wheel_scrolls_the_form_and_never_changes_a_value_without_focus(qtbot, store_dir, contexts):
    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx, 1000, 500)
    combo = screen.widgets["occupation"]
    screen.scroll.ensureWidgetVisible(combo)
    screen.widgets["family_name"].setFocus()
    bar = screen.scroll.verticalScrollBar()
    before = bar.value()
    center = QPointF(combo.rect().center())
    for _ in range(3):
        event = QtGui.QWheelEvent(center, QPointF(combo.mapToGlobal(QPoint(5, 5))), QPoint(0, 0), QPoint(0, -120),
                                  Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
        QApplication.sendEvent(combo, event)
    assert combo.currentData() is None                       # still "— Choose —"
    assert bar.value() > before                              # the page scrolled instead
    qtbot.wait(1)  # let queued events run; no timing is asserted
    wait_idle(qtbot, ctx)
    assert screen.record_id is None                          # and no nameless draft was saved


@offscreen_ok
def test_a_draft_starts_only_once_the_member_has_a_name(qtbot, store_dir, contexts):
    from helpers.ui_forms import choose, states

    ctx = contexts(store_dir, OW)
    screen = _screen(qtbot, ctx)
    choose(qtbot, screen.widgets["occupation"], "tailor")
    screen.save_draft()                                      # what the autosave timer does
    qtbot.keyClick(screen.widgets["occupation"], Qt.Key_S, Qt.ControlModifier)
    wait_idle(qtbot, ctx)
    assert screen.record_id is None and states(store_dir) == {}
    assert screen.status.text() == tr("forms.enroll.needs_name", "en")
    type_into(qtbot, screen.widgets["given_name"], "ដារា")
    qtbot.waitUntil(lambda: screen.record_id is not None, timeout=WAIT_MS)
    wait_idle(qtbot, ctx)
    assert list(states(store_dir).values()) == [("draft", None)]
    assert any(c.isdigit() for c in screen.status.text())
    ctx.set_language("km")                                   # the status line follows the language, digits too
    assert "\u17e0" <= [c for c in screen.status.text() if c.isdigit()][0] <= "\u17e9"
    ctx.set_language("en")
