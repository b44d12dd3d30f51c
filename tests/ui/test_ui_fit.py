"""Every screen fits a 1366x768 and a 1024x768 laptop, in English and in Khmer.

Each test draws one screen (first run, login, lock, Home for a supervisor and for an outreach worker, Enroll with a
household, Records, Review with a record selected, Sync, Users, Settings) in the real main window, offscreen, in
both languages and at both sizes, and fails on any label, button, check box, group title or column header whose text
does not fit, any visible widget outside the window, a window (or a layout asking for one) larger than the screen,
or a status bar that is not visible (``tests/helpers/ui_fit.py`` says exactly what counts).

The window gets the screen's area less :data:`FRAME` pixels for a title bar and a task bar, as a maximized window
has on those laptops (``MainWindow.fit_to_screen``: the window is capped there and maximized).
"""

from __future__ import annotations

import pytest
from helpers.ui_consts import OUTREACH, OUTREACH_PASSWORD, PASSWORD, SUPERVISOR, WORKER_TIMEOUT_MS
from helpers.ui_fit import fit_problems

from fieldapp.base import i18n
from ui.qt import QApplication, QRect, QSize

SIZES = ((1366, 768), (1024, 768))
LANGS = ("en", "km")
FRAME = 40  # px of the screen's height taken by a title bar and a task bar

HOUSEHOLD = {
    "family_name": "សុខ", "given_name": "ចន្ទា", "family_name_latin": "Sok", "given_name_latin": "Chanda",
    "sex": "female", "date_of_birth": "1988-03-14", "national_id": "011223344", "phone": "012345678",
    "village_code": "05010204", "occupation": "market_vendor", "employment_status": "self_employed",
    "dependents": [
        {"family_name": "ម៉ម", "given_name": "វិចិត្រ", "family_name_latin": "Mom", "given_name_latin": "Vichet",
         "sex": "male", "date_of_birth": "1985-11-02", "relationship": "spouse",
         "disability_or_chronic_illness": False},
        {"family_name": "ម៉ម", "given_name": "សុភា", "family_name_latin": "Mom", "given_name_latin": "Sophea",
         "sex": "female", "date_of_birth": "2012-05-20", "relationship": "child",
         "disability_or_chronic_illness": False},
        {"family_name": "ម៉ម", "given_name": "ដារ៉ា", "family_name_latin": "Mom", "given_name_latin": "Dara",
         "sex": "male", "date_of_birth": "2004-08-15", "relationship": "child",
         "disability_or_chronic_illness": True},
    ],
    "consent": {"given": True, "method": "verbal_witnessed", "recorded_at": "2025-01-10"},
}


def settle_layout(window) -> None:
    """Let Qt run the layout requests a language switch or a resize posted (no waiting on time)."""
    for _ in range(4):
        QApplication.sendPostedEvents()
        QApplication.processEvents()


def draw(h, width: int, height: int, lang: str) -> list[str]:
    h.ctx.set_language(lang)
    h.window.fit_to_screen(QRect(0, 0, width, height - FRAME))
    h.settle()
    settle_layout(h.window)
    return fit_problems(h.window, width, height - FRAME)


def walk(h, prepare) -> dict[str, list[str]]:
    """``prepare()`` shows the screen; then every size and language; returns the problems by size and language."""
    found = {}
    for width, height in SIZES:
        for lang in LANGS:
            prepare()
            problems = draw(h, width, height, lang)
            if problems:
                found[f"{width}x{height} {lang}"] = problems
    i18n.set_language("en")
    return found


def _format(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{where}:\n  " + "\n  ".join(lines) for where, lines in found.items())


def check(found: dict[str, list[str]]) -> None:
    assert not found, "\n" + _format(found)


def _logged_in(make_harness, data_dir, user=SUPERVISOR, password=PASSWORD):
    h = make_harness(data_dir)
    h.login(user, password)
    return h


# ------------------------------------------------------------------------ before login
def test_first_run_fits(make_harness, tmp_path):
    h = make_harness(tmp_path / "fresh")
    check(walk(h, lambda: None))


def test_login_fits(make_harness, store_with_records, qtbot):
    h = make_harness(store_with_records, demo={"accounts": {SUPERVISOR: PASSWORD, OUTREACH: OUTREACH_PASSWORD}})
    qtbot.waitUntil(lambda: h.window.login.user.count() == 2, timeout=WORKER_TIMEOUT_MS)

    def wrong_password():
        h.window.login._show_error("ui.login.need_password")
    check(walk(h, wrong_password))


def test_lock_screen_fits(make_harness, store_with_records):
    h = _logged_in(make_harness, store_with_records)
    h.window.lock()
    h.settle()
    check(walk(h, lambda: None))


# ------------------------------------------------------------------------ the workspace
@pytest.mark.parametrize("screen_id", ["home", "records", "sync", "users", "settings"])
def test_supervisor_screen_fits(make_harness, store_with_records, screen_id):
    h = _logged_in(make_harness, store_with_records)
    check(walk(h, lambda: h.show(screen_id)))


@pytest.mark.parametrize("screen_id", ["home", "records", "sync", "settings"])
def test_outreach_screen_fits(make_harness, store_with_records, screen_id):
    h = _logged_in(make_harness, store_with_records, OUTREACH, OUTREACH_PASSWORD)
    check(walk(h, lambda: h.show(screen_id)))


def test_enroll_with_a_household_fits(make_harness, store_with_records):
    h = _logged_in(make_harness, store_with_records, OUTREACH, OUTREACH_PASSWORD)
    enroll = h.show("enroll")
    enroll.fill(HOUSEHOLD)
    h.settle()
    check(walk(h, lambda: h.show("enroll")))


def test_review_with_a_record_selected_fits(make_harness, store_with_records, qtbot):
    h = _logged_in(make_harness, store_with_records)
    review = h.show("review")
    qtbot.waitUntil(lambda: review.model.rowCount() > 0, timeout=WORKER_TIMEOUT_MS)
    review.table.selectRow(0)
    h.settle()
    qtbot.waitUntil(lambda: getattr(review, "current", True) is not None, timeout=WORKER_TIMEOUT_MS)
    check(walk(h, lambda: h.show("review")))


# ------------------------------------------------------------------------ the window itself
def test_the_window_is_capped_to_the_screen_and_keeps_its_status_bar(harness):
    """Content that asks for more than the screen never makes the window larger than it."""
    harness.login()
    home = harness.show("home")
    home.setMinimumWidth(2000)  # a screen whose layout wants more than any laptop has
    harness.window.fit_to_screen(QRect(0, 0, 1024, 728))
    settle_layout(harness.window)
    assert harness.window.width() <= 1024 and harness.window.height() <= 728
    assert harness.window.maximumSize().boundedTo(QSize(1024, 728)) == harness.window.maximumSize()
    bar = harness.window.statusBar()
    assert bar.isVisible() and harness.window.rect().contains(bar.geometry())


def test_the_checker_finds_what_does_not_fit(harness):
    """The checker itself: a cut label, a cut button and a widget outside the window are reported."""
    from ui.qt import QLabel, QPushButton

    harness.window.fit_to_screen(QRect(0, 0, 1024, 728))
    settle_layout(harness.window)
    login = harness.window.login
    label = QLabel("a label much longer than the forty pixels it is given", login)
    label.setGeometry(10, 10, 40, 30)
    button = QPushButton("a button with a long text", login)
    button.setGeometry(10, 50, 30, 30)
    outside = QLabel("x", login)
    outside.setGeometry(login.width() + 50, 10, 20, 20)
    for widget in (label, button, outside):
        widget.show()
    found = "\n".join(fit_problems(harness.window, 1024, 728))
    assert "text elided" in found and "a label much longer" in found
    assert "text cut" in found and "a button with a long text" in found
    assert "outside its parent" in found
