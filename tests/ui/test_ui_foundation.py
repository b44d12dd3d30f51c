"""The foundation the screens build on: worker, context, config, fonts, idle watcher, chart, main window rules."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.ui_consts import PASSWORD, SUPERVISOR, WORKER_TIMEOUT_MS

from fieldapp.base import config as app_config
from fieldapp.base.errors import FieldappError
from ui.qt import QComboBox, QLineEdit, QtWidgets, QWidget

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ctx(ui_app, tmp_path):
    from ui.context import AppContext

    context = AppContext(tmp_path / "data")
    yield context
    context.worker.stop()
    from fieldapp.base import i18n

    i18n.set_language("en")


def _wait(qtbot, ctx):
    qtbot.waitUntil(lambda: ctx.worker.pending == 0, timeout=WORKER_TIMEOUT_MS)


# ---------------------------------------------------------------------------- worker
def test_worker_runs_jobs_in_order_off_the_ui_thread(ctx, qtbot):
    import threading

    ui_thread = threading.get_ident()
    seen = []
    for i in range(5):
        ctx.worker.call(lambda n=i: (n, threading.get_ident()), on_done=seen.append)
    _wait(qtbot, ctx)
    assert [n for n, _t in seen] == [0, 1, 2, 3, 4]
    assert all(t != ui_thread for _n, t in seen)


def test_worker_reports_errors_and_needs_a_session(ctx, qtbot):
    from ui.worker import NotUnlocked

    errors = []
    ctx.worker.call(lambda: (_ for _ in ()).throw(FieldappError("core.user.exists")), on_error=errors.append)
    ctx.worker.run(lambda session: session.name, on_error=errors.append)
    _wait(qtbot, ctx)
    assert errors[0].message("en") == "This user exists already."
    assert isinstance(errors[1], NotUnlocked) and errors[1].message("en") == "The window is locked. Sign in again."


def test_worker_holds_one_session_and_closes_it(store_dir, ui_app, qtbot):
    from ui.context import AppContext

    ctx = AppContext(store_dir)
    try:
        got = []
        ctx.worker.unlock(store_dir, SUPERVISOR, PASSWORD, on_done=got.append)
        ctx.worker.run(lambda session: session.name, on_done=got.append)
        ctx.worker.close_session()
        ctx.worker.run(lambda session: session.name, on_error=got.append)
        _wait(qtbot, ctx)
        assert got[0] == {"name": "sup", "role": "supervisor", "full_name": "Supervisor Sok"}
        assert got[1] == "sup"
        assert type(got[2]).__name__ == "NotUnlocked"
    finally:
        ctx.worker.stop()


def test_callbacks_of_deleted_widgets_are_skipped(ctx, qtbot):
    class Owner(QWidget):
        called = False

        def done(self, _result):
            Owner.called = True

    owner = Owner()
    ctx.worker.call(lambda: 1, on_done=owner.done)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not __import__("ui.qt", fromlist=["isValid"]).isValid(owner), timeout=2000)
    _wait(qtbot, ctx)
    assert not Owner.called


def test_lambda_callbacks_reaching_deleted_widgets_are_harmless(ctx, qtbot):
    from ui.qt import QLabel, isValid

    label = QLabel()
    ctx.worker.call(lambda: "late", on_done=lambda text: label.setText(text))
    label.deleteLater()
    qtbot.waitUntil(lambda: not isValid(label), timeout=2000)
    _wait(qtbot, ctx)  # no "already deleted" error escapes into the event loop


def test_run_shows_first_run_and_returns_when_the_window_closes(ui_app, tmp_path):
    from ui.app import run
    from ui.qt import QApplication, QTimer

    seen = []

    def close_main_window():
        for widget in QApplication.topLevelWidgets():
            if type(widget).__name__ == "MainWindow" and widget.isVisible():
                seen.append(widget.pages.currentWidget() is widget.first_run)
                widget.close()

    QTimer.singleShot(300, close_main_window)
    umask = os.umask(0o022)
    os.umask(umask)
    try:
        assert run(tmp_path / "data") == 0  # run() makes files owner-only for the process (umask 077)
    finally:
        os.umask(umask)
    assert seen == [True]


def test_many_calls_and_signals_do_not_exhaust_python_singletons():
    """PySide6 6.12.0 on CPython 3.11 drops references to None/True; the pinned 6.11.3 must not (a crash would abort)."""
    code = ("from ui.qt import QApplication, QLabel, QObject, Signal\n"
            "app = QApplication([])\nlabel = QLabel()\n"
            "class R(QObject):\n    s = Signal()\n"
            "r = R()\n"
            "for _ in range(30000):\n    label.setText('x'); r.s.emit()\n"
            "print('ok')\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-500:]


# ---------------------------------------------------------------------------- config
def test_config_defaults_round_trip_and_bad_values(tmp_path):
    data = tmp_path / "data"
    assert app_config.load(data) == app_config.Config("en", 10, None)
    saved = app_config.update(data, language="km", idle_minutes=3, last_user="ow", other="ignored")
    assert saved == app_config.Config("km", 3, "ow") == app_config.load(data)
    path = app_config.path_of(data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # the office commune is written only once set (a file an older release and its backups still read)
    assert sorted(__import__("json").loads(path.read_text())) == ["idle_minutes", "language", "last_user"]
    assert app_config.update(data, office_commune="070207").office_commune == "070207"
    assert __import__("json").loads(path.read_text())["office_commune"] == "070207"
    assert app_config.update(data, office_commune="7020").office_commune is None  # not a commune code
    path.write_text('{"language": "fr", "idle_minutes": 0, "last_user": "Robert Tables"}')
    assert app_config.load(data) == app_config.Config("en", 1, None)
    path.write_text("not json")
    assert app_config.load(data) == app_config.Config()


def test_context_language_and_digits(ctx):
    seen = []
    ctx.language_changed.connect(lambda: seen.append(ctx.lang))
    ctx.set_language("km")
    ctx.set_language("km")  # no change, no signal
    assert seen == ["km"]
    assert ctx.tr("ui.nav.home") == "ទំព័រដើម"
    assert ctx.format_number(2025) == "២០២៥"
    assert ctx.ascii_digits("០១២៣៤៥៦៧៨៩") == "0123456789"
    assert app_config.load(ctx.data_dir).language == "km"


def test_error_text_never_shows_raw_exceptions(ctx):
    from fieldapp.store.records import ValidationFailed
    from fieldapp.domain.validation import validate_record
    from ui.screens.base import error_text

    assert error_text(ctx, FieldappError("core.user.exists")) == "This user exists already."
    assert error_text(ctx, RuntimeError("secret data")) == ctx.tr("ui.error.unexpected")
    _clean, problems = validate_record({})
    text = error_text(ctx, ValidationFailed(problems))
    assert text and "secret" not in text


# ------------------------------------------------------------------ fonts, widgets
def test_bundled_fonts_are_the_application_font(ui_app):
    from ui.fonts import font_files
    from ui.qt import QFontDatabase

    assert font_files("fontpkg_noto_sans") and font_files("fontpkg_noto_sans_khmer")
    assert {"Noto Sans", "Noto Sans Khmer"} <= set(QFontDatabase.families())
    assert ui_app.font().families()[:2] == ["Noto Sans", "Noto Sans Khmer"]
    assert ui_app.font().pointSizeF() >= 11


def test_idle_watcher_fires_and_input_restarts_it(ui_app, qtbot):
    from ui.idle import IdleWatcher
    from ui.qt import QEvent, QtGui, Qt

    watcher = IdleWatcher(100)
    try:
        watcher.start()
        with qtbot.waitSignal(watcher.idle, timeout=2000):
            pass
        watcher.set_timeout_ms(300)
        target = QLineEdit()
        qtbot.addWidget(target)
        event = QtGui.QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_A, Qt.KeyboardModifier.NoModifier, "a")
        watcher.eventFilter(target, event)
        assert watcher._timer.isActive() and watcher._timer.remainingTime() > 200
        watcher.stop()
        assert not watcher.active
    finally:
        watcher.shutdown()


def test_digit_spin_box_takes_khmer_digits(ctx, qtbot):
    from ui.widgets import DigitSpinBox

    box = DigitSpinBox(ctx)
    qtbot.addWidget(box)
    box.setRange(1, 240)
    assert box.valueFromText("១២០") == 120
    ctx.set_language("km")
    assert box.textFromValue(15) == "១៥"
    assert box.validate("៣០០", 0)[0] == box.validate("300", 0)[0]


def test_chart_paints_with_and_without_data(ctx, qtbot):
    from ui.widgets.chart import DailyChart

    chart = DailyChart(ctx)
    qtbot.addWidget(chart)
    chart.resize(chart.sizeHint())
    assert not chart.grab().toImage().isNull()
    chart.set_data([("2025-01-01", 0), ("2025-01-02", 5), ("2025-01-03", 2)])
    image = chart.grab().toImage()
    highlight = chart.palette().color(chart.palette().ColorRole.Highlight)
    assert any(image.pixelColor(x, y) == highlight for x in range(0, image.width(), 3)
               for y in range(0, image.height(), 3))
    assert "7" in chart.accessibleDescription()


# -------------------------------------------------------------------- structure
def test_screens_are_listed_in_order_with_shortcuts():
    from fieldapp.base.i18n import has_message
    from ui.screens import SCREEN_CLASSES, SCREENS, Screen

    assert [s for s, _c in SCREENS] == ["home", "enroll", "records", "members", "review", "sync", "users",
                                        "settings"]
    assert all(issubclass(c, Screen) for c in SCREEN_CLASSES)
    # Members came later: beside Records in the list, Ctrl+8, so that the keys people know stay as they were
    assert {c.shortcut for c in SCREEN_CLASSES} == {f"Ctrl+{i}" for i in range(1, 9)}
    assert [c.shortcut for c in SCREEN_CLASSES if c.title_id != "ui.nav.members"] == [f"Ctrl+{i}" for i in range(1, 8)]
    assert all(has_message(c.title_id, "en") and has_message(c.title_id, "km") for c in SCREEN_CLASSES)


def test_only_ui_qt_imports_pyside():
    """Qt modules come from ui.qt (a bare ``import PySide6`` for its version number loads no Qt module)."""
    offenders = []
    qt_import = re.compile(r"^\s*(from\s+(PySide6|shiboken6)|import\s+(PySide6\.|shiboken6))", re.M)
    for path in (ROOT / "ui").rglob("*.py"):
        if path.name == "qt.py" and path.parent.name == "ui":
            continue
        if qt_import.search(path.read_text(encoding="utf-8")):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_every_input_has_an_accessible_name(make_harness, store_with_records, qtbot):
    h = make_harness(store_with_records)
    inputs = (QLineEdit, QComboBox, QtWidgets.QAbstractSpinBox, QtWidgets.QCheckBox, QtWidgets.QRadioButton,
              QtWidgets.QTextEdit, QtWidgets.QPlainTextEdit, QtWidgets.QAbstractItemView)

    def unnamed(root):
        out = []
        for w in root.findChildren(QWidget):
            if not isinstance(w, inputs) or not w.isVisibleTo(root):
                continue
            if isinstance(w.parentWidget(), (QComboBox, QtWidgets.QAbstractSpinBox)):
                continue  # the line edit inside a combo or spin box: the outer widget carries the name
            if isinstance(w.parentWidget(), QtWidgets.QAbstractItemView) or "qt_" in w.objectName():
                continue  # cell editors and Qt's internal views
            if not w.accessibleName().strip():
                out.append(f"{type(w).__name__}({w.objectName()})")
        return out

    missing = {"login": unnamed(h.window.login)}
    h.login(SUPERVISOR, PASSWORD)
    for screen_id in h.window.workspace.visible_ids():
        h.show(screen_id)
        missing[screen_id] = unnamed(h.window.workspace.screens[screen_id])
    missing["nav"] = [] if h.window.workspace.nav.accessibleName() else ["nav"]
    assert {k: v for k, v in missing.items() if v} == {}


def test_tab_order_on_login_is_language_user_password_submit(harness, qtbot):
    login = harness.window.login
    qtbot.waitUntil(lambda: login.user.count() == 2, timeout=WORKER_TIMEOUT_MS)
    chain, widget = [], login.lang
    for _ in range(4):
        chain.append(widget)
        widget = widget.nextInFocusChain()
        while not (widget.focusPolicy() & widget.focusPolicy().TabFocus) or not widget.isVisibleTo(login):
            widget = widget.nextInFocusChain()
    assert chain == [login.lang, login.user, login.password, login.submit]
