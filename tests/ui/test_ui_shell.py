"""The window's own parts, used as a person uses them: Lock and Sign out (buttons and keys), the login list with
full names, changing one's own password in Settings, the focus ring that shows where the keyboard is."""

from __future__ import annotations

from helpers.ui_consts import OUTREACH, OUTREACH_PASSWORD, PASSWORD, SUPERVISOR, WORKER_TIMEOUT_MS

from fieldapp.base import i18n, login_names
from fieldapp.base.errors import AuthError
from fieldapp.store.database import Store
from ui.qt import QApplication, QCheckBox, Qt


def _unlock_result(data_dir, user, password):
    try:
        Store(data_dir).unlock(user, password).close()
        return "ok"
    except AuthError as exc:
        return exc.msg_id


def _login_items(login):
    return [(login.user.itemText(i), login.user.itemData(i)) for i in range(login.user.count())]


def test_lock_and_sign_out_are_buttons_and_keys(harness, qtbot):
    h = harness
    h.login()
    ws = h.window.workspace
    assert ws.lock_button.isVisible() and ws.lock_button.text() == "Lock"
    assert ws.sign_out_button.isVisible() and ws.sign_out_button.text() == "Sign out"
    assert "Ctrl+L" in ws.lock_button.toolTip() and "Ctrl+Shift+L" in ws.sign_out_button.toolTip()
    h.show("settings")

    ws.lock_button.setFocus()
    qtbot.keyClick(ws.lock_button, Qt.Key.Key_Space)  # a button pressed from the keyboard
    qtbot.waitUntil(lambda: h.window.locked, timeout=WORKER_TIMEOUT_MS)
    h.settle()
    login = h.window.login
    assert login.user.currentText() == "Supervisor Sok" and login.current_user() == SUPERVISOR
    login.password.setText(PASSWORD)
    qtbot.keyClick(login.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not h.window.locked and h.window.workspace is ws, timeout=WORKER_TIMEOUT_MS)
    h.settle()
    assert ws.current_id() == "settings"  # where the work was left

    ws.sign_out_button.click()
    qtbot.waitUntil(lambda: h.window.workspace is None and h.window.pages.currentWidget() is login,
                    timeout=WORKER_TIMEOUT_MS)
    h.settle()
    assert h.ctx.user is None and login.user.isEnabled() and login.user.count() == 2

    h.login(OUTREACH, OUTREACH_PASSWORD)
    qtbot.keyClick(h.window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: h.window.workspace is None, timeout=WORKER_TIMEOUT_MS)
    h.settle()
    assert not h.window.locked and h.ctx.user is None

    h.ctx.set_language("km")
    h.login(OUTREACH, OUTREACH_PASSWORD)
    assert h.window.workspace.lock_button.text() == i18n.tr("ui.session.lock", "km")


def test_the_login_list_shows_full_names(harness, qtbot):
    """Full names, kept after an unlock beside the key slots' login names (no personal data of enrolled people);
    a user with no known full name is shown by login name, a removed user not at all."""
    h = harness
    login = h.window.login
    qtbot.waitUntil(lambda: login.user.count() == 2, timeout=WORKER_TIMEOUT_MS)
    assert sorted(_login_items(login)) == [(OUTREACH, OUTREACH), (SUPERVISOR, SUPERVISOR)]  # nobody logged in yet
    h.login()
    assert login_names.load(h.ctx.data_dir) == {OUTREACH: "Outreach Dara", SUPERVISOR: "Supervisor Sok"}
    h.window.logout()
    qtbot.waitUntil(lambda: login.user.findText("Supervisor Sok") >= 0, timeout=WORKER_TIMEOUT_MS)
    assert sorted(_login_items(login)) == [("Outreach Dara", OUTREACH), ("Supervisor Sok", SUPERVISOR)]
    assert login.user.property("i18n_exempt")  # names are data
    h.login(OUTREACH, OUTREACH_PASSWORD)
    assert h.ctx.user["name"] == OUTREACH

    # a stale name for a login without a key slot is never shown; a damaged file means login names
    login_names.save(h.ctx.data_dir, [{"name": "gone.user", "full_name": "Gone User"},
                                      {"name": SUPERVISOR, "full_name": "Sok\u200b Dara\u0007"}])
    h.window.logout()
    qtbot.waitUntil(lambda: login.user.count() == 2, timeout=WORKER_TIMEOUT_MS)
    h.settle()
    items = dict((data, text) for text, data in _login_items(login))
    assert set(items) == {OUTREACH, SUPERVISOR}
    login_names.path_of(h.ctx.data_dir).write_text("{not json")
    assert login_names.load(h.ctx.data_dir) == {}


def test_two_users_with_the_same_full_name_are_told_apart():
    names = {"a.sok": "Sok Dara", "b.sok": "Sok Dara", "c": "Keo"}
    logins = ["a.sok", "b.sok", "c", "d"]
    assert [login_names.label(x, names, logins) for x in logins] == ["Sok Dara (a.sok)", "Sok Dara (b.sok)", "Keo",
                                                                     "d"]
    assert login_names.clean_name("  Sok\u200b\u200bDara\n ") == "SokDara"


def test_a_worker_changes_their_own_password_in_settings(harness, qtbot):
    """The current password first (a wrong one is refused and counts as a failed login), the new one twice."""
    h = harness
    h.login(OUTREACH, OUTREACH_PASSWORD)
    box = h.show("settings").password_box
    fields = {k: e for k, (_l, e) in box.fields.items()}
    assert box.isVisible() and box.title() == "Your password"

    fields["current"].setText("not my password")
    fields["new"].setText("a brand new one")
    fields["again"].setText("a brand new one")
    box.button.click()
    qtbot.waitUntil(lambda: box.status.text() == "The current password is not right.", timeout=WORKER_TIMEOUT_MS)
    assert fields["current"].text() == ""

    fields["current"].setText(OUTREACH_PASSWORD)
    fields["again"].setText("a brand new on")
    qtbot.keyClick(fields["again"], Qt.Key.Key_Return)
    assert box.status.text() == "The two passwords differ."

    fields["again"].setText("a brand new one")
    h.ctx.set_language("km")  # a message shown is shown again in the new language
    qtbot.keyClick(fields["again"], Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: box.status.text() == i18n.tr("ui.password.changed", "km"), timeout=WORKER_TIMEOUT_MS)
    h.ctx.set_language("en")
    assert box.status.text() == "Your password is changed. Use the new one from now on."
    assert all(e.text() == "" for e in fields.values())
    h.window.logout()
    h.settle()
    assert _unlock_result(h.ctx.data_dir, OUTREACH, "a brand new one") == "ok"
    assert _unlock_result(h.ctx.data_dir, OUTREACH, OUTREACH_PASSWORD) == "core.auth.wrong_password"


def test_the_focus_is_always_ringed(harness, qtbot):
    """After a shortcut moves the focus, and on a check box, the focused widget has the ring around it."""
    from ui.style import FocusRings

    h = harness
    h.login()
    h.window.activateWindow()
    qtbot.waitUntil(h.window.isActiveWindow, timeout=WORKER_TIMEOUT_MS)
    rings = next(c for c in QApplication.instance().children() if isinstance(c, FocusRings))
    qtbot.keyClick(h.window, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    h.settle()
    focused = QApplication.focusWidget()
    assert focused is not None and h.screen("users").isAncestorOf(focused)
    qtbot.waitUntil(lambda: rings.ring is not None and rings.ring.widget() is rings.target(focused)
                    and rings.ring.isVisible(), timeout=WORKER_TIMEOUT_MS)
    box = QCheckBox("consent", h.screen("settings"))
    h.show("settings")
    box.show()
    box.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: rings.ring.widget() is box and rings.ring.isVisible(), timeout=WORKER_TIMEOUT_MS)
    ring = rings.ring.geometry()
    assert ring.contains(box.geometry()) and ring != box.geometry()  # around it, not over it
