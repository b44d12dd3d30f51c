"""What a window shows in words, and what in it is not in the reader's language.

``visible_texts(root)`` lists every interface string under ``root``: labels, buttons, group titles, combo box
items, placeholders, list items, column headers, tab titles, progress bar texts, accessible names and the main
window's status bar message. Widgets that show data rather than interface text (user names, paths, addresses,
IDs) say so with the Qt property ``i18n_exempt`` = True and are skipped.

``problems(root, lang, data=())`` reports, in either language, a raw message id; in Khmer:

- text with Latin letters and no Khmer at all (English left behind);
- two or more Latin words in a row inside Khmer text (an English phrase: "Sync pass finished");
- ASCII digits (numbers, dates and times are shown with Khmer digits).

Only data is allowed through: ``data`` (the names, IDs, paths and addresses the test put in the store), keys as
they are printed on keyboards (Ctrl+L, F5, Enter), addresses and paths (``https://…``, ``/var/…``), commands
(``'fieldapp init'``, ``--all``), the names of standards (UTF-8, ISO 8601) and a single Latin token such as USB,
IDPoor or Wi-Fi, which Khmer writes in Latin letters.
"""

from __future__ import annotations

import re

from fieldapp.base import i18n
from ui.qt import QAbstractItemView, QComboBox, QGroupBox, QLabel, QLineEdit, QListWidget, QMainWindow, Qt, QtWidgets
from ui.qt import QWidget

QAbstractButton = QtWidgets.QAbstractButton

MSG_ID = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
KHMER = re.compile("[\u1780-\u17ff\u19e0-\u19ff]")
LATIN = re.compile("[A-Za-z]")
# keys are printed on keyboards in Latin letters; they are not English text
KEY_NAMES = re.compile(r"(?:\b(?:Ctrl|Shift|Alt|Meta)\+)+\S+|\b(?:Ctrl|Shift|Alt|Enter|Return|Esc|Del|Delete|Tab|Space"
                       r"|Home|End|PgUp|PgDn|F\d{1,2})\b")
TAGS = re.compile(r"<[^>]+>")
# addresses and paths are not English: "https://", "/var/lib/fieldapp", "C:\\data", "*.json"
TECHNICAL = re.compile(r"\S*(://|/|\\|\*\.)\S*")
# commands and standards are identifiers, not English: 'fieldapp init', --trusted-key, pip install 'fieldapp[ui]',
# UTF-8, ISO 8601, SHA-256, base64, a UUID
COMMANDS = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\b(?:fieldapp|pip)\b[^()\u17d4\u17d6,;]*|--\S+")
STANDARDS = re.compile(r"\b[A-Z][A-Za-z]*[- ]?\d+\b|\bbase64\b|\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b")
LATIN_WORD = r"[A-Za-z][A-Za-z'’\-]*"
PHRASE = re.compile(rf"\b{LATIN_WORD}(?:[ \u00a0]+{LATIN_WORD})+\b")
ASCII_DIGIT = re.compile(r"[0-9]")


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
        elif isinstance(w, QtWidgets.QProgressBar) and w.isTextVisible():
            found.append((where, w.text()))
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
        if isinstance(w, QMainWindow) and w.statusBar().currentMessage():
            found.append((where + "#statusBar", w.statusBar().currentMessage()))
        if w.accessibleName():
            found.append((where + "#accessibleName", w.accessibleName()))
    return [(where, text) for where, text in found if text and text.strip()]


def _without_data(text: str, data) -> str:
    for item in sorted((d for d in data if d), key=len, reverse=True):
        text = text.replace(item, " ")
    for pattern in (KEY_NAMES, TECHNICAL, COMMANDS, STANDARDS):
        text = pattern.sub(" ", text)
    return text


def text_problem(text: str, lang: str, data=()) -> str | None:
    """Why ``text`` shown to a ``lang`` reader is wrong, or None."""
    plain = text.replace("&", "")
    if MSG_ID.fullmatch(plain) and (i18n.has_message(plain) or plain.split(".")[0] in
                                    ("ui", "forms", "core", "validation", "sync", "deploy", "field")):
        return f"raw message id {plain!r}"
    if lang != "km":
        return None
    rest = _without_data(plain, data)
    if LATIN.search(rest) and not KHMER.search(rest):
        return f"English-only text in the Khmer UI {plain!r}"
    phrase = PHRASE.search(rest)
    if phrase:
        return f"English words {phrase.group(0)!r} in the Khmer UI {plain!r}"
    if ASCII_DIGIT.search(rest):
        return f"ASCII digits in the Khmer UI {plain!r}"
    return None


def problems(root: QWidget, lang: str, data=()) -> list[str]:
    bad = []
    for where, text in visible_texts(root):
        problem = text_problem(text, lang, data)
        if problem:
            bad.append(f"{where}: {problem}")
    return bad
