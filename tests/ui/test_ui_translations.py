"""Every visible string of every screen is translated: no raw message id, no English-only text in the Khmer UI.

Widgets that show data rather than interface text (user names, paths, addresses, IDs) say so with the Qt
property ``i18n_exempt`` = True; this walk skips them. Placeholder consistency between the catalogs is
tests/test_i18n.py's job.
"""

from __future__ import annotations

import re

import pytest
from helpers.ui_consts import PASSWORD, SUPERVISOR, WORKER_TIMEOUT_MS

from fieldapp.base import i18n
from ui.qt import QAbstractItemView, QComboBox, QGroupBox, QLabel, QLineEdit, QListWidget, Qt, QtWidgets, QWidget

QAbstractButton = QtWidgets.QAbstractButton

MSG_ID = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
KHMER = re.compile("[\u1780-\u17ff\u19e0-\u19ff]")
LATIN = re.compile("[A-Za-z]")
# keys are printed on keyboards in Latin letters; they are not English text
KEY_NAMES = re.compile(r"\b(Ctrl|Shift|Alt|Enter|Return|Esc|Del|Delete|Tab|Space|Home|End|PgUp|PgDn|F\d{1,2})\b")


TAGS = re.compile(r"<[^>]+>")
# addresses and paths are not English: "https://", "/var/lib/fieldapp", "C:\\data"
TECHNICAL = re.compile(r"\S*(://|/|\\)\S*")


def _exempt(widget: QWidget) -> bool:
    """Marked as data, itself or (for the line edit inside a combo or spin box) its parent."""
    parent = widget.parentWidget()
    return bool(widget.property("i18n_exempt") or (isinstance(widget, QLineEdit) and parent is not None
                                                  and parent.property("i18n_exempt")))


def visible_texts(root: QWidget) -> list[tuple[str, str]]:
    """(where, text) for every interface string shown under ``root``."""
    found: list[tuple[str, str]] = []
    widgets = [root] + root.findChildren(QWidget)
    for w in widgets:
        if not w.isVisibleTo(root) and w is not root or _exempt(w):
            continue
        where = f"{type(w).__name__}({w.objectName() or w.accessibleName()})"
        if isinstance(w, QLabel):
            found.append((where, TAGS.sub("", w.text())))
        elif isinstance(w, QAbstractButton):
            found.append((where, w.text()))
        elif isinstance(w, QGroupBox):
            found.append((where, w.title()))
        elif isinstance(w, QComboBox):
            found += [(where, w.itemText(i)) for i in range(w.count())]
        elif isinstance(w, QLineEdit) and not isinstance(w.parentWidget(), (QComboBox, QtWidgets.QAbstractSpinBox)):
            found.append((where, w.placeholderText()))
        if isinstance(w, QListWidget):
            found += [(where, w.item(i).text()) for i in range(w.count()) if not w.isRowHidden(i)]
        elif isinstance(w, QAbstractItemView) and w.model() is not None:
            model = w.model()
            header = getattr(w, "horizontalHeader", None)
            for col in range(model.columnCount()):
                if header is not None and header().isSectionHidden(col):
                    continue
                text = model.headerData(col, Qt.Orientation.Horizontal)
                if text:
                    found.append((where + "#header", str(text)))
        if isinstance(w, QtWidgets.QTabWidget):
            found += [(where, w.tabText(i)) for i in range(w.count())]
        if w.accessibleName():
            found.append((where + "#accessibleName", w.accessibleName()))
    return [(where, text) for where, text in found if text and text.strip()]


def problems(root: QWidget, lang: str) -> list[str]:
    bad = []
    for where, text in visible_texts(root):
        plain = text.replace("&", "")
        if MSG_ID.fullmatch(plain) and (i18n.has_message(plain) or plain.split(".")[0] in
                                        ("ui", "forms", "core", "validation", "sync", "deploy", "field")):
            bad.append(f"{where}: raw message id {plain!r}")
        elif (lang == "km" and LATIN.search(KEY_NAMES.sub("", plain)) and not KHMER.search(plain)
              and not TECHNICAL.fullmatch(plain)):
            bad.append(f"{where}: English-only text in the Khmer UI {plain!r}")
    return bad


LANGS = ("en", "km")


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
    assert problems(h.window, lang) == []
    h.window.login.password.setText(PASSWORD)
    h.window.login.submit.click()
    qtbot.waitUntil(lambda: h.window.workspace is not None, timeout=WORKER_TIMEOUT_MS)
    h.settle()
    h.window.lock()
    h.settle()
    assert h.window.login.heading.text() == i18n.tr("ui.login.locked_title", lang)
    assert problems(h.window, lang) == []


@pytest.mark.parametrize("lang", LANGS)
def test_every_screen_is_translated(make_harness, store_with_records, lang):
    h = make_harness(store_with_records)
    h.ctx.set_language(lang)
    h.login(SUPERVISOR, PASSWORD)
    found = {}
    for screen_id in h.window.workspace.visible_ids():
        h.show(screen_id)
        found[screen_id] = problems(h.window, lang)
    assert {k: v for k, v in found.items() if v} == {}


def test_switching_language_leaves_no_text_behind(make_harness, store_with_records):
    """Built in English, switched to Khmer without restart: every screen is Khmer (no stale English)."""
    h = make_harness(store_with_records)
    h.login(SUPERVISOR, PASSWORD)
    for screen_id in h.window.workspace.visible_ids():
        h.show(screen_id)
    h.ctx.set_language("km")
    found = {}
    for screen_id in h.window.workspace.visible_ids():
        h.show(screen_id)
        found[screen_id] = problems(h.window, "km")
    assert {k: v for k, v in found.items() if v} == {}


def test_the_walk_catches_untranslated_text(harness):
    """The checker itself: a raw id and an English label in the Khmer UI are both reported."""
    harness.ctx.set_language("km")
    raw = QLabel("ui.nav.home", harness.window.login)
    english = QLabel("Save the record", harness.window.login)
    exempt = QLabel("sokha.chan", harness.window.login)
    exempt.setProperty("i18n_exempt", True)
    for label in (raw, english, exempt):
        label.show()
    found = problems(harness.window, "km")
    assert any("raw message id 'ui.nav.home'" in p for p in found)
    assert any("'Save the record'" in p for p in found)
    assert not any("sokha.chan" in p for p in found)
