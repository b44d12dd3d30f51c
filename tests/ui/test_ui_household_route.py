"""A whole household (the member, a spouse, two children) entered from the keyboard alone, as a trained worker does
it: the route of ``helpers.household_route`` (the same steps drive the real window under Xvfb), counted, and what
was stored compared field by field with what was typed. Keys go where a keyboard sends them: to the open list
(a combo box's or the address picker's) while one is shown, else to the focused widget; shortcuts work as from a
keyboard (QTest goes through the shortcut map first).
"""

from __future__ import annotations

import pytest
from helpers.household_route import count, route
from helpers.ui_forms import OW, WAIT_MS, offscreen_ok, open_session, show_widget

from fieldapp.domain.synthetic import make_records
from fieldapp.domain.validation import validate_record
from fieldapp.store import records
from ui.qt import QApplication, QEvent, Qt, QtGui
from ui.screens.enroll import EnrollScreen

GOAL_KEYSTROKES = 150
QT_KEYS = {"Tab": Qt.Key_Tab, "space": Qt.Key_Space, "Down": Qt.Key_Down, "BackSpace": Qt.Key_Backspace,
           "Return": Qt.Key_Return}
MODIFIERS = {"ctrl": Qt.ControlModifier, "shift": Qt.ShiftModifier, "alt": Qt.AltModifier}


def households(n: int = 300, seed: int = 7) -> list[dict]:
    """Synthetic members with a spouse and two children (the issue's household), in a fixed order."""
    return [r for r in make_records(n, seed=seed) if [d["relationship"] for d in r["dependents"]] ==
            ["spouse", "child", "child"]]


def target():
    return QApplication.activePopupWidget() or QApplication.focusWidget()


def press(qtbot, steps) -> None:
    """Send the steps as key events, each to where a keyboard would send it at that moment."""
    for kind, text in steps:
        if kind == "type":
            for ch in text:
                if ch.isascii():
                    qtbot.keyClick(target(), ch)
                else:  # a Khmer keyboard layout: key events carrying the character
                    widget = target()
                    for event_type in (QEvent.KeyPress, QEvent.KeyRelease):
                        QApplication.sendEvent(widget, QtGui.QKeyEvent(event_type, Qt.Key_unknown, Qt.NoModifier, ch))
            continue
        *mods, key = text.split("+")
        modifier = Qt.NoModifier
        for mod in mods:
            modifier |= MODIFIERS[mod]
        qt_key = QT_KEYS.get(key) or getattr(Qt, f"Key_{key.upper()}")
        qtbot.keyClick(target(), qt_key, modifier)


def stored(data_dir, record_id) -> dict:
    session = open_session(data_dir, OW)
    try:
        return records.get(session, record_id)
    finally:
        session.close()


def test_the_route_is_short_for_every_such_household():
    """At most 150 keystrokes for each member + spouse + two children of the synthetic set, in both languages."""
    found = households()
    assert len(found) >= 10
    for lang in ("en", "km"):
        counts = [count(route(rec, lang)) for rec in found]
        assert max(counts) <= GOAL_KEYSTROKES, (lang, counts)


@offscreen_ok
@pytest.mark.parametrize("lang", ["en", "km"])
def test_a_household_by_keyboard_alone(qtbot, store_dir, contexts, lang):
    rec = households()[0]
    ctx = contexts(store_dir, OW)
    ctx.set_language(lang)
    screen = show_widget(qtbot, EnrollScreen(ctx), 1000, 700)
    screen.go_to_top()
    steps = route(rec, lang)
    assert count(steps) <= GOAL_KEYSTROKES
    with qtbot.waitSignal(screen.submitted, timeout=WAIT_MS) as done:
        press(qtbot, steps)
    got = stored(store_dir, done.args[0])
    assert got["state"] == "submitted"
    expected, problems = validate_record(rec)
    assert problems == []
    for key in expected:
        assert got["data"].get(key) == expected[key], key  # field by field: every character arrived
    for index, person in enumerate(expected["dependents"]):
        assert got["data"]["dependents"][index] == person
    assert screen.focusWidget() is screen.widgets["family_name"]  # ready for the next household
    assert screen.scroll.verticalScrollBar().value() == 0
