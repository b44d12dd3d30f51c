"""Every visible string of every screen, and every status message, is in the reader's language.

The walk (``tests/helpers/ui_words.py``) fails on a raw message id, and in Khmer on text with no Khmer in it, on an
English phrase inside Khmer text and on ASCII digits. Only data passes: widgets that show data say so with the Qt
property ``i18n_exempt`` = True, and each test names the data it put in the store (user names, the data folder).
Status messages are made to appear (a sync that finished, a backup written, a password refused, a record opened
for editing...) in English and then in Khmer, and once more after switching from English to Khmer: a message left
in the other language fails. The catalogs themselves are checked the same way, message by message.
Placeholder consistency between the catalogs is tests/test_i18n.py's job.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from helpers.ui_consts import OUTREACH, OUTREACH_PASSWORD, PASSWORD, SUPERVISOR, WORKER_TIMEOUT_MS
from helpers.ui_words import problems, text_problem

from fieldapp.base import i18n
from ui.qt import QLabel

LANGS = ("en", "km")
# what the stores of tests/ui/conftest.py hold: user names and full names
PEOPLE = ("Supervisor Sok", "Outreach Dara", SUPERVISOR, OUTREACH)


@pytest.fixture
def record_ids(store_with_records) -> tuple[str, ...]:
    """The IDs of the records in the store, whole and as shown short: data."""
    from fieldapp.store import records
    from fieldapp.store.database import Store

    with Store(store_with_records).unlock(SUPERVISOR, PASSWORD) as session:
        ids = [r["id"] for r in records.list_records(session)]
    return tuple(ids) + tuple(i[:8] for i in ids)


@pytest.mark.parametrize("lang", LANGS)
def test_first_run_is_translated(make_harness, tmp_path, lang):
    h = make_harness(tmp_path / "fresh")
    h.ctx.set_language(lang)
    assert problems(h.window, lang) == []


@pytest.mark.parametrize("lang", LANGS)
def test_login_and_lock_screens_are_translated(harness, qtbot, lang):
    h = harness
    h.ctx.set_language(lang)
    qtbot.waitUntil(lambda: h.window.login.user.count() == 2, timeout=WORKER_TIMEOUT_MS)
    h.window.login.password.setText("wrong password")
    h.window.login.submit.click()
    qtbot.waitUntil(lambda: h.window.login.error.text() != "" and h.ctx.worker.pending == 0,
                    timeout=WORKER_TIMEOUT_MS)
    assert problems(h.window, lang, PEOPLE) == []
    h.window.login.password.setText(PASSWORD)
    h.window.login.submit.click()
    qtbot.waitUntil(lambda: h.window.workspace is not None, timeout=WORKER_TIMEOUT_MS)
    h.settle()
    h.window.lock()
    h.settle()
    assert h.window.login.heading.text() == i18n.tr("ui.login.locked_title", lang)
    assert problems(h.window, lang, PEOPLE) == []


@pytest.mark.parametrize("user", [SUPERVISOR, OUTREACH])
@pytest.mark.parametrize("lang", LANGS)
def test_every_screen_is_translated(make_harness, store_with_records, record_ids, lang, user):
    h = make_harness(store_with_records)
    h.ctx.set_language(lang)
    h.login(user, PASSWORD if user == SUPERVISOR else OUTREACH_PASSWORD)
    found = {}
    for screen_id in h.window.workspace.visible_ids():
        h.show(screen_id)
        found[screen_id] = problems(h.window, lang, PEOPLE + record_ids)
    assert {k: v for k, v in found.items() if v} == {}


def test_switching_language_leaves_no_text_behind(make_harness, store_with_records, record_ids):
    """Built in English, switched to Khmer without restart: every screen is Khmer (no stale English)."""
    h = make_harness(store_with_records)
    h.login(SUPERVISOR, PASSWORD)
    for screen_id in h.window.workspace.visible_ids():
        h.show(screen_id)
    h.ctx.set_language("km")
    found = {}
    for screen_id in h.window.workspace.visible_ids():
        h.show(screen_id)
        found[screen_id] = problems(h.window, "km", PEOPLE + record_ids)
    assert {k: v for k, v in found.items() if v} == {}


class _IdleSync:
    """Stands in for the sync service: idle after a pass that sent 3 records and saw 1 set aside (no thread, no
    network)."""

    def start(self):
        pass

    def stop(self, timeout=None):
        pass

    def kick(self):
        pass

    def latest_progress(self):
        from sync.progress import Progress

        return Progress(phase="idle", online=True, last_success_at=1_700_000_000.0, batches_done=1, records_sent=3,
                        quarantined=1)


def _say_everything(h, qtbot, tmp_path) -> list[str]:
    """Make every screen show its status messages; returns the screens that spoke."""
    from fieldapp.store import records

    sync = h.show("sync")
    sync.poll()  # the pass the service made: one line in "Recent sending"
    sync._pass_done(SimpleNamespace(outcome="complete", error=None))
    settings = h.show("settings")
    box = settings.password_box
    box.fields["current"][1].setText("whatever")
    box.fields["new"][1].setText("one new password")
    box.fields["again"][1].setText("another password")
    box.button.click()  # "The two passwords differ."
    settings.backup_to(str(tmp_path / "stick.fieldapp-backup"))
    qtbot.waitUntil(lambda: settings.backup_button.isEnabled(), timeout=WORKER_TIMEOUT_MS)
    h.window.show_message(lambda: h.ctx.tr("core.backup.restored", path=str(h.ctx.data_dir),
                                           records=h.ctx.format_number(12), resend=h.ctx.format_number(3)), 60_000)
    draft = []
    h.ctx.worker.run(records.save_draft, {"family_name": "សុខ", "given_name": "ដារា"}, on_done=draft.append)
    h.settle()
    enroll = h.screen("enroll")
    enroll.open_record(draft[0])  # "Record opened for editing."
    qtbot.waitUntil(lambda: getattr(enroll, "record_id", None) == draft[0], timeout=WORKER_TIMEOUT_MS)
    h.settle()
    return ["sync", "settings", "enroll"]


def _walk_said(h, lang, data) -> dict[str, list[str]]:
    found = {}
    for screen_id in ("sync", "settings", "enroll"):
        h.show(screen_id)
        found[screen_id] = problems(h.window, lang, data)
    return {k: v for k, v in found.items() if v}


@pytest.mark.parametrize("switch", [False, True], ids=["said-in-khmer", "said-in-english-then-khmer"])
def test_every_status_message_is_in_khmer(make_harness, store_dir, qtbot, tmp_path, switch):
    """Status messages, in Khmer from the start, and after a switch from English (none is left behind)."""
    h = make_harness(store_dir)
    h.ctx.sync = _IdleSync()
    h.ctx.set_language("en" if switch else "km")
    h.login()
    _say_everything(h, qtbot, tmp_path)
    h.ctx.set_language("km")
    data = PEOPLE + (str(tmp_path), str(h.ctx.data_dir))
    assert _walk_said(h, "km", data) == {}
    sync, settings = h.screen("sync"), h.screen("settings")
    assert sync.status.text() == i18n.tr("forms.sync.pass_done", "km", error="")
    assert "៣" in sync.batches.item(0).text()  # 3 sent, in Khmer digits
    assert settings.password_box.status.text() == i18n.tr("ui.error.password_mismatch", "km")
    assert h.window.statusBar().currentMessage().startswith(i18n.tr("core.backup.restored", "km")[:10])


CATALOG_DOMAINS = ("ui", "ui_forms", "sync", "validation", "core", "deploy")


def test_every_khmer_message_of_the_catalogs_is_khmer():
    """Message by message (placeholders left out): no English phrase, no English-only text, no ASCII digits.
    The language names are shown as their speakers write them ("English"): they are left out."""
    from babel.messages.pofile import read_po

    placeholder = re.compile(r"\{[^}]*\}")
    bad = []
    for domain in CATALOG_DOMAINS:
        with open(i18n.LOCALE_DIR / "km" / "LC_MESSAGES" / f"{domain}.po", "rb") as fh:
            catalog = read_po(fh)
        for message in catalog:
            if not message.id or not message.string or str(message.id).startswith("ui.lang."):
                continue
            problem = text_problem(placeholder.sub(" ", message.string), "km")
            if problem:
                bad.append(f"{domain} {message.id}: {problem}")
    assert bad == []


def test_the_walk_catches_untranslated_text(harness):
    """The checker itself: a raw id, an English label, an English phrase in Khmer text and ASCII digits in the
    Khmer UI are reported; data marked as such is not."""
    harness.ctx.set_language("km")
    raw = QLabel("ui.nav.home", harness.window.login)
    english = QLabel("Save the record", harness.window.login)
    mixed = QLabel("ម៉ោង ១០:៣២ Sync pass finished.", harness.window.login)
    digits = QLabel("ថ្ងៃទី 15 ខែមករា", harness.window.login)
    exempt = QLabel("sokha.chan", harness.window.login)
    exempt.setProperty("i18n_exempt", True)
    keys = QLabel("ចុច Ctrl+Shift+L ឬ F5", harness.window.login)
    for label in (raw, english, mixed, digits, exempt, keys):
        label.show()
    found = problems(harness.window, "km")
    assert any("raw message id 'ui.nav.home'" in p for p in found)
    assert any("'Save the record'" in p for p in found)
    assert any("English words 'Sync pass finished'" in p for p in found)
    assert any("ASCII digits" in p and "15" in p for p in found)
    assert not any("sokha.chan" in p or "Ctrl" in p for p in found)
