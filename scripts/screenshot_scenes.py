"""The scenes ``scripts/screenshots.py`` shoots: each drives the real main window, as the app shows it on a laptop,
with key events and the widgets' public methods, and captures the whole screen.

One ``Pass`` runs in one process on one X screen (Xvfb + openbox, started by ``screenshots.py``): the window is
shown as ``ui.app.run`` shows it (``fit_to_screen``, maximized where the preferred size does not fit), and each
shot is the root window (``QScreen.grabWindow(0)``), so the picture proves the window, its title bar and its status
bar fit the screen. ``Pass.check`` notes a status bar or window frame outside the screen, and English words or
ASCII digits in the Khmer interface (by the translation test's rules, ``tests/helpers/ui_words.py``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6 import QtTest  # scripts may import Qt directly; the app itself does so only in ui/qt.py

from fieldapp.base.i18n import to_khmer_digits
from ui.qt import QApplication, QEvent, QGuiApplication, Qt, QtGui, QtWidgets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import ui_words  # noqa: E402 (what the translation test counts as English or ASCII digits in Khmer)
from screenshot_lookup import DATA as LOOKUP_DATA, LookupScenes  # noqa: E402 (issue 13's scenes)

HOUSEHOLD = {  # a worker, the spouse and three children (one over 18 with a chronic illness): Review's preview
    "family_name": "សុខ", "given_name": "ចន្ទា", "family_name_latin": "Sok", "given_name_latin": "Chanda",
    "sex": "female", "date_of_birth": "1988-03-14", "national_id": "011223344", "phone": "012345678",
    "village_code": "01070405", "occupation": "market_vendor", "employment_status": "self_employed",
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
    "consent": {"given": True, "method": "thumbprint", "recorded_at": "2026-01-10"},
}
DATA = ("Demo Supervisor", "Demo Outreach Worker", "supervisor", "outreach", "demo-supervisor", "demo-outreach",
        *(p[k] for p in (HOUSEHOLD, *HOUSEHOLD["dependents"]) for k in ("family_name_latin", "given_name_latin")))
AMBIGUOUS_VILLAGE = {"en": "Svay", "km": "ស្វាយ"}  # 392 villages share it


def add_household(data_dir: Path, accounts: dict) -> str:
    """The household record, with a history: submitted by the outreach worker, returned by the supervisor (a
    reason code only, so each reader sees it in their language), corrected and submitted again."""
    from fieldapp import services
    from fieldapp.domain import reasons
    from fieldapp.store import records
    from fieldapp.store.database import Store

    store = Store(data_dir)
    with store.unlock("outreach", accounts["outreach"]) as ow:
        (record_id,) = records.import_records(ow, [HOUSEHOLD])
    with store.unlock("supervisor", accounts["supervisor"]) as sup:
        services.review(sup, [record_id], "return", reasons.compose("dependent_details"))
    with store.unlock("outreach", accounts["outreach"]) as ow:
        records.submit(ow, record_id)
    return record_id


class Pass(LookupScenes):
    """Every shot of one screen size, in the languages asked for, into ``out``."""

    def __init__(self, app, out: Path, size: tuple[int, int], suffix: str = ""):
        self.app, self.out, self.size, self.suffix = app, out, size, suffix
        self.made: list[Path] = []
        self.notes: list[str] = []
        self.ctx = self.window = None
        self.data: tuple[str, ...] = DATA + LOOKUP_DATA  # names and IDs the demo put in the store: data, not UI text
        self.lookup_ids: dict | None = None  # the member lookup's records (``screenshot_lookup.add_lookup``)

    # ------------------------------------------------------------------ waiting and keys
    def pump(self, until=None, timeout: float = 30.0, settle: float = 0.4, what: str = "") -> None:
        """Run the event loop until the worker is idle and ``until()`` holds (a note if it never does), then a
        moment more for layouts and painting."""
        end = time.monotonic() + timeout
        while True:
            self.app.processEvents()
            busy = self.ctx is not None and self.ctx.worker.pending > 0
            if not busy and (until is None or until()):
                break
            if time.monotonic() > end:
                self.notes.append(f"timed out waiting for {what or until}")
                break
            time.sleep(0.01)
        end = time.monotonic() + settle
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def key(self, key, modifiers=Qt.NoModifier, widget=None) -> None:
        """A key press and release, to the widget with the keyboard focus (as a keyboard delivers it)."""
        target = widget or QApplication.focusWidget() or self.window
        QtTest.QTest.keyClick(target, key, modifiers)
        self.app.processEvents()

    def type(self, text: str, widget=None) -> None:
        """Key events for ``text``; a Khmer letter arrives as a Khmer layout delivers it (the key's text)."""
        for ch in text:
            target = widget or QApplication.focusWidget()
            if ch.isascii():
                QtTest.QTest.keyClicks(target, ch)
            else:
                for kind in (QEvent.KeyPress, QEvent.KeyRelease):
                    QApplication.sendEvent(target, QtGui.QKeyEvent(kind, Qt.Key_unknown, Qt.NoModifier, ch))
            self.app.processEvents()

    # ------------------------------------------------------------------ shooting
    def name(self, base: str, lang: str) -> str:
        return f"{base}-{lang}{self.suffix}"

    def shoot(self, base: str, lang: str) -> None:
        self.check(base, lang)
        screen = QGuiApplication.primaryScreen()
        image = screen.grabWindow(0)
        if (image.width(), image.height()) != self.size:
            self.notes.append(f"{self.name(base, lang)}: the screen is {image.width()}x{image.height()}")
        path = self.out / f"{self.name(base, lang)}.png"
        image.save(str(path))
        self.made.append(path)
        print(f"made {path}", flush=True)

    def check(self, base: str, lang: str) -> None:
        """Note a window frame or status bar outside the screen, a status bar not shown, and (``ui_words``, the
        translation test's rules) English words or ASCII digits in the Khmer interface."""
        screen = QGuiApplication.primaryScreen().geometry()
        window, where = self.window, self.name(base, lang)
        for problem in ui_words.problems(window, lang, data=self.data):
            if "#accessibleName" not in problem:
                self.notes.append(f"{where}: {problem}")
        if not screen.contains(window.frameGeometry()):
            self.notes.append(f"{where}: window frame {window.frameGeometry()} outside the screen {screen}")
        bar = window.statusBar()
        top_left = bar.mapToGlobal(bar.rect().topLeft())
        bottom_right = bar.mapToGlobal(bar.rect().bottomRight())
        if not bar.isVisible() or not (screen.contains(top_left) and screen.contains(bottom_right)):
            self.notes.append(f"{where}: status bar not on screen ({top_left.y()}..{bottom_right.y()})")

    # ------------------------------------------------------------------ the window
    def open(self, data_dir: Path, lang: str, demo: dict | None, sync) -> None:
        """The window as ``ui.app.run`` shows it: capped to the screen, maximized when it asks for more."""
        from fieldapp.base import config as app_config
        from ui.app import build

        app_config.update(data_dir, language=lang)
        self.ctx, self.window = build(data_dir, demo=demo, sync=sync)
        if self.window.fit_to_screen():
            self.window.showMaximized()
        else:
            self.window.show()
        self.window.activateWindow()
        self.pump(until=lambda: self.window.isActiveWindow() and self.window.frameGeometry().top() >= 0,
                  what="the window to be shown and active")

    def close(self) -> None:
        from ui.app import shutdown

        shutdown(self.ctx, self.window)
        self.window.close()
        self.window.deleteLater()  # now, while the application lives (at exit its timers would warn)
        QApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        self.pump(settle=0.2)
        self.ctx = self.window = None

    def log_in(self, user: str, password: str) -> None:
        login = self.window.login
        login.select_user(user)
        self.pump(until=login.submit.isEnabled, what="the login button")
        login.password.setFocus(Qt.OtherFocusReason)
        self.type(password)
        self.key(Qt.Key_Return)
        self.pump(until=lambda: self.window.workspace is not None and self.ctx.user is not None,
                  what=f"{user} to be logged in")

    # ------------------------------------------------------------------ scenes
    def first_run(self, tmp: Path, lang: str) -> None:
        self.open(tmp / f"fresh-{lang}", lang, None, None)
        self.shoot("first-run", lang)
        self.close()

    def every_screen(self, data_dir: Path, lang: str, demo: dict, household_id: str) -> None:
        from fieldapp.store import lockout
        from ui.app import start_sync

        accounts = demo["accounts"]
        self.open(data_dir, lang, demo, start_sync(data_dir))
        login = self.window.login
        self.pump(until=lambda: login.user.count() > 0, what="the user list")
        self.shoot("login", lang)

        lockout.record_success(data_dir, "outreach")  # the demo store's count of the last language's wrong passwords
        self.log_in("outreach", accounts["outreach"])   # an outreach worker's Home: their returned records, drafts
        self.pump(settle=1.5)
        self.shoot("home-outreach", lang)
        self.key(Qt.Key_L, Qt.ControlModifier | Qt.ShiftModifier)  # sign out
        self.pump(until=lambda: self.window.workspace is None and login.isVisible(), what="sign-out")

        login.select_user("outreach")  # five wrong passwords: the wait is shown
        for attempt in range(5):
            self.pump(until=login.submit.isEnabled, what="the login button")
            login.password.setFocus(Qt.OtherFocusReason)
            login.password.clear()
            self.type(f"wrong {attempt}")
            self.key(Qt.Key_Return)
            self.pump(until=lambda: not login._busy, settle=0.05)
        self.pump(until=login.wait.isVisible, what="the lockout wait")
        self.shoot("login-lockout", lang)

        self.log_in("supervisor", accounts["supervisor"])
        self.pump(settle=1.0)
        workspace = self.window.workspace
        for screen_id in workspace.visible_ids():
            workspace.show_screen(screen_id, focus=True)
            self.pump()
            self.shoot(screen_id, lang)
        self.review_household(lang, household_id)
        self.address_ambiguous(lang)
        self.enroll_failed(lang)
        self.member_and_card(lang)
        if self.lookup_ids:
            self.lookup_scenes(lang, self.lookup_ids)
        self.key(Qt.Key_L, Qt.ControlModifier)  # lock
        self.pump(until=lambda: self.window.locked, what="the lock screen")
        self.shoot("locked", lang)
        self.close()

    def lookup_only(self, data_dir: Path, lang: str, demo: dict) -> None:
        """The member lookup's scenes alone (the 1024x768 pass shoots them in English too)."""
        self.open(data_dir, lang, demo, None)
        login = self.window.login
        self.pump(until=lambda: login.user.count() > 0, what="the user list")
        self.log_in("supervisor", demo["accounts"]["supervisor"])
        self.pump(settle=1.0)
        self.lookup_scenes(lang, self.lookup_ids)
        self.close()

    def open_in_records(self, scene: str, lang: str, text: str):
        """Records (Ctrl+3) searched for ``text``, its one record opened (Enter): the records screen, or None (noted)
        when the search does not find exactly one record."""
        self.key(Qt.Key_3, Qt.ControlModifier)
        records = self.window.workspace.screens["records"]
        self.pump(until=lambda: records.search.isVisible(), what="the records list")
        records.search.setFocus(Qt.ShortcutFocusReason)
        records.search.clear()
        self.type(text)
        model = records.model
        self.pump(until=lambda: not model.loading and model.rowCount() == 1, what=f"the record of {scene}")
        if model.rowCount() != 1:
            self.notes.append(f"{self.name(scene, lang)}: the search did not find exactly one record")
            return None
        records.table.setFocus(Qt.TabFocusReason)
        records.table.setCurrentIndex(model.index(0, 1))
        self.key(Qt.Key_Return)
        page = records.record_page
        self.pump(until=lambda: records.pages.currentWidget() is page and page.view.record_id() is not None,
                  what="the record view")
        return records

    def open_in_review(self, scene: str, lang: str, record_id: str):
        """Review (Ctrl+4) with ``record_id`` chosen with the arrow keys, then opened across the screen (Enter): the
        review screen, or None (noted) when the record is not on the queue's first page."""
        self.key(Qt.Key_4, Qt.ControlModifier)
        review = self.window.workspace.screens["review"]
        model = review.model
        self.pump(until=lambda: not model.loading and model.rowCount() > 0, what="the review queue")
        rows = [row for row in range(model.rowCount()) if model.record_id(row) == record_id]
        if not rows:
            self.notes.append(f"{self.name(scene, lang)}: the record is not on the queue's first page")
            return None
        review.table.setFocus(Qt.TabFocusReason)
        self.key(Qt.Key_Home, Qt.ControlModifier)
        for _ in range(rows[0]):
            self.key(Qt.Key_Down)
        self.pump(until=lambda: review.current is not None and review.current["record"]["id"] == record_id,
                  what="the record's preview")
        self.key(Qt.Key_Return)
        self.pump(until=lambda: review.expanded, what="the preview across the screen")
        return review

    def review_household(self, lang: str, record_id: str) -> None:
        """Review with the household record chosen with the arrow keys, then opened across the screen (Enter)."""
        review = self.open_in_review("review-household", lang, record_id)
        if review is None:
            return
        self.shoot("review-household", lang)
        bar = review.view.verticalScrollBar()  # the rest of it (the enrolling worker, the history): Page Down
        for _ in range(10):
            if bar.value() >= bar.maximum():
                break
            self.key(Qt.Key_PageDown, widget=review.view)
        self.pump(settle=0.2)
        self.shoot("review-household-end", lang)
        self.key(Qt.Key_Escape)
        self.pump(until=lambda: not review.expanded, settle=0.1, what="the queue again")

    def address_ambiguous(self, lang: str) -> None:
        """A family name typed, then in the village field a name hundreds of villages share: its list open.
        Afterwards the draft the name started is discarded (Discard draft, then the dialog's Discard)."""
        self.key(Qt.Key_2, Qt.ControlModifier)
        enroll = self.window.workspace.screens["enroll"]
        self.pump(until=lambda: enroll.widgets["family_name"].hasFocus(), what="the enrollment form")
        self.type(HOUSEHOLD["family_name"])
        village = enroll.widgets["address"].pickers["village"]
        village.setFocus(Qt.TabFocusReason)
        self.pump(until=village.hasFocus, settle=0.1, what="the village field's focus")
        self.type(AMBIGUOUS_VILLAGE[lang])
        self.pump(until=village.popup_visible, what="the village list")
        self.shoot("address-ambiguous", lang)
        self.key(Qt.Key_Escape, widget=village._completer.popup())  # the list gets the keys while it is open
        self.pump(until=lambda: not village.popup_visible() and enroll.record_id is not None, settle=0.1,
                  what="the list to close and the draft to be saved")
        enroll.discard_button.click()
        self.pump(until=lambda: enroll.discard_dialog is not None, settle=0.1, what="the discard question")
        enroll.discard_dialog.findChild(QtWidgets.QPushButton, "discard_yes").click()
        self.pump(until=lambda: enroll.record_id is None and not enroll.widgets["family_name"].text(),
                  what="the draft to be discarded")

    def enroll_failed(self, lang: str) -> None:
        """Submit (Ctrl+Enter) on a form with only a phone number and a birth date typed: the list of problems
        at the top, the focus on the first."""
        enroll = self.window.workspace.screens["enroll"]
        typed = (("phone", "012 34"), ("date_of_birth", "14/03/1988"))
        for key, text in typed if lang != "km" else [(k, to_khmer_digits(t)) for k, t in typed]:  # a Khmer keyboard
            enroll.widgets[key].setFocus(Qt.TabFocusReason)
            self.pump(until=enroll.widgets[key].hasFocus, settle=0.05)
            self.type(text)
        self.key(Qt.Key_Tab)
        self.key(Qt.Key_Return, Qt.ControlModifier)
        self.pump(until=lambda: enroll.summary.isVisible(), what="the problem list")
        self.shoot("enroll-failed", lang)

    def member_and_card(self, lang: str) -> None:
        """Records: the first member number typed in the search, the record opened (Enter) with its number, then
        its card in the print preview (as a laptop with a printer shows it after Ctrl+Shift+P)."""
        from ui.printing import layout
        from ui.widgets.print_flow import build

        records = self.open_in_records("record-member", lang, "KH-REG-000001")
        if records is None:
            return
        page = records.record_page
        self.shoot("record-member", lang)
        docs = []
        self.ctx.worker.run(build, "card", page.view.record_id(), lang, on_done=docs.append,
                            on_error=lambda exc: self.notes.append(f"card: {type(exc).__name__}"))
        self.pump(until=lambda: docs, what="the card document")
        if docs:
            dialog = layout.preview_dialog(self.window, docs, "card", "id1")
            dialog.resize(self.window.size())
            dialog.show()
            self.pump(settle=1.0)
            image = QGuiApplication.primaryScreen().grabWindow(0)
            path = self.out / f"{self.name('print-preview', lang)}.png"
            image.save(str(path))
            self.made.append(path)
            print(f"made {path}", flush=True)
            dialog.close()
            dialog.deleteLater()
            self.pump(settle=0.2)
        self.key(Qt.Key_Escape, widget=page.view)
        records.search.clear()
        self.pump(settle=0.2)
