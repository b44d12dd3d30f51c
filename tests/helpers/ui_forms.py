"""Helpers for the form-screen UI tests: a real store, a logged-in context, records, keyboard typing.

Everything is real: an encrypted store in a temporary folder, the DB worker thread,
the widgets (offscreen). Tests wait with ``qtbot.waitUntil``, never sleep.
The ``contexts`` fixture (logged-in contexts, closed at the end) is in tests/ui/conftest.py.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from fieldapp.base import i18n
from fieldapp.store import records, users
from fieldapp import services
from fieldapp.store.database import Store
from fieldapp.domain.synthetic import make_records

#: Offscreen-platform limitations (popups cannot raise or grab the keyboard there): not the app's warnings.
OFFSCREEN_NOISE = ("This plugin does not support raise", "This plugin does not support grabbing",
                   "This plugin does not support propagateSizeHints")
#: Decorate each test with it (a function's own marker is the one pytest-qt reads).
offscreen_ok = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)
SUP, OW = "sup", "ow"
PASSWORDS = {SUP: "correct horse battery", OW: "outreach pass 1"}
WAIT_MS = 15000


def make_store(data_dir: Path) -> Path:
    """A store with supervisor ``sup`` and outreach worker ``ow``."""
    session = Store(data_dir).create(SUP, PASSWORDS[SUP], "Supervisor")
    users.add_user(session, OW, PASSWORDS[OW], "outreach", "Outreach Worker")
    session.close()
    return data_dir


def open_session(data_dir: Path, user: str = SUP):
    return Store(data_dir).unlock(user, PASSWORDS[user])


def login(qtbot, data_dir: Path, user: str, sync=None):
    """An ``AppContext`` whose worker holds ``user``'s session (stop it with ``close_ctx``)."""
    from ui.context import AppContext

    ctx = AppContext(data_dir, sync=sync)
    got = []
    ctx.worker.unlock(data_dir, user, PASSWORDS[user], on_done=got.append, on_error=got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=WAIT_MS)
    assert isinstance(got[0], dict), got[0]
    ctx.set_user(got[0])
    return ctx


def close_ctx(ctx, *widgets) -> None:
    """Close the widgets (a form saves what is pending as it hides), then stop the worker (runs queued jobs)."""
    for widget in widgets:
        widget.close()
    ctx.worker.stop()
    i18n.set_language("en")


def show_widget(qtbot, widget, width: int = 1100, height: int = 800):
    """Show a screen as the active window (keyboard focus and shortcuts need one), with the app's style."""
    from ui.app import make_application

    make_application()
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow, timeout=WAIT_MS)
    return widget


def wait_idle(qtbot, ctx) -> None:
    """Until every queued worker job has run and its callback has been called."""
    qtbot.waitUntil(lambda: ctx.worker.pending == 0, timeout=WAIT_MS)


def person(seed: int = 1, **changes) -> dict:
    """A valid synthetic record (no dependents unless given) with ``changes`` applied."""
    rec = make_records(1, seed=seed)[0]
    rec["dependents"] = []
    rec.update(changes)
    return rec


def store_records(data_dir: Path, items: list[dict], user: str = OW, approve: bool = False) -> list[str]:
    """Submitted (or approved) records, stored straight through the core (test set-up)."""
    session = open_session(data_dir, user)
    try:
        ids = records.import_records(session, items)
    finally:
        session.close()
    if approve:
        session = open_session(data_dir, SUP)
        try:
            services.review(session, ids, "approve")
        finally:
            session.close()
    return ids


def states(data_dir: Path, ids=None) -> dict:
    session = open_session(data_dir, SUP)
    try:
        sql = "SELECT id, state, reason FROM records"
        rows = session.conn.execute(sql).fetchall()
    finally:
        session.close()
    found = {rid: (state, reason) for rid, state, reason in rows}
    return found if ids is None else {rid: found.get(rid) for rid in ids}


def insert_bulk(data_dir: Path, n: int, user: str = OW) -> None:
    """``n`` records inserted directly with SQL in one transaction (as bench/bench_store.py does)."""
    from fieldapp.domain.validation import validate_record

    session = open_session(data_dir, SUP)
    template = [validate_record(r)[0] for r in make_records(200, seed=7)]
    cols = ("id", "state", "created_by", "created_at", "updated_at", "submitted_at", "data", "name_key",
            "national_id", "date_of_birth", "commune_code")
    rows = []
    for i in range(n):
        clean = dict(template[i % len(template)], national_id=f"{100000000 + i}")
        ts = f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T08:00:{i % 60:02d}"
        rows.append((str(uuid.uuid4()), ("submitted", "approved", "draft")[i % 3], user, ts, ts, ts,
                     json.dumps(clean, ensure_ascii=False), f"k{i % 5000}", clean["national_id"],
                     clean["date_of_birth"], clean["commune_code"]))
    rows.sort()  # in key order: the primary-key index grows at its end
    try:
        session.conn.execute("PRAGMA cache_size=-262144")  # 256 MB for this one bulk insert
        with session.write() as tx:
            tx.executemany(f"INSERT INTO records ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
    finally:
        session.close()


# ---------------------------------------------------------------------- keyboard
def key_text(qtbot, widget, text: str) -> None:
    """Type ``text`` as key events. QTest only knows ASCII keys, so other characters (Khmer letters and
    digits) arrive as a Khmer keyboard layout delivers them: key events carrying the character as text."""
    from ui.qt import QApplication, QEvent, Qt, QtGui

    for ch in text:
        if ch.isascii():
            qtbot.keyClicks(widget, ch)
            continue
        for kind in (QEvent.KeyPress, QEvent.KeyRelease):
            QApplication.sendEvent(widget, QtGui.QKeyEvent(kind, Qt.Key_unknown, Qt.NoModifier, ch))


def type_into(qtbot, widget, text: str, clear: bool = True) -> None:
    widget.setFocus()
    if clear and hasattr(widget, "clear"):
        widget.clear()
    key_text(qtbot, widget, text)


def choose(qtbot, combo, code) -> None:
    """Pick the item whose data is ``code`` with the keyboard (Home, then Down until it is current)."""
    from ui.qt import Qt

    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key_Home)
    for _ in range(combo.count()):
        if combo.currentData() == code:
            return
        qtbot.keyClick(combo, Qt.Key_Down)
    assert combo.currentData() == code, code


def pick_unit(qtbot, picker, text: str) -> None:
    """Type in an address picker and take the best match with Enter."""
    from ui.qt import Qt

    type_into(qtbot, picker, text)
    qtbot.keyClick(picker, Qt.Key_Return)


def type_cell(qtbot, table, row: int, col: int, text: str) -> None:
    """Edit one dependents cell from the keyboard: F2 opens the editor, typing, Enter commits."""
    from ui.qt import QApplication, Qt

    table.setFocus()
    table.setCurrentCell(row, col)
    qtbot.keyClick(table, Qt.Key_F2)
    editor = QApplication.focusWidget()
    assert editor is not None and editor is not table
    if hasattr(editor, "selectAll"):
        editor.selectAll()
    key_text(qtbot, editor, text)
    qtbot.keyClick(editor, Qt.Key_Return)
