"""Fixtures for the desktop client tests: real widgets, offscreen, a real store and the real worker thread."""

from __future__ import annotations

import gc
import os
import shutil

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FIELDAPP_KDF_TARGET_MS"] = "0"  # also for the session-scoped store below (before monkeypatch runs)

from helpers.ui_consts import OUTREACH, OUTREACH_PASSWORD, PASSWORD, SUPERVISOR, WORKER_TIMEOUT_MS  # noqa: E402,F401

# Qt's offscreen platform cannot pass size hints to a window system and says so on every top-level layout:
# a limitation of the test platform, not of the app.
OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/ui/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture(scope="session")
def ui_app(qapp):
    """The QApplication with the bundled fonts and the app style, as ``ui.app.run`` sets it up."""
    from ui.app import make_application

    return make_application()


def _make_store(path, with_records: int = 0):
    from fieldapp.store import records, users
    from fieldapp import services
    from fieldapp.store.database import Store
    from fieldapp.domain.synthetic import make_records

    with Store(path).create(SUPERVISOR, PASSWORD, "Supervisor Sok") as session:
        users.add_user(session, OUTREACH, OUTREACH_PASSWORD, "outreach", "Outreach Dara")
        if with_records:
            ids = records.import_records(session, make_records(with_records, seed=7))
            services.review(session, ids[: with_records // 3], "approve", None)
    return path


@pytest.fixture(scope="session")
def _template_store(tmp_path_factory):
    return _make_store(tmp_path_factory.mktemp("template") / "data")


@pytest.fixture(scope="session")
def _template_store_records(tmp_path_factory):
    return _make_store(tmp_path_factory.mktemp("template_records") / "data", with_records=12)


@pytest.fixture
def store_dir(_template_store, tmp_path):
    """A data folder with supervisor ``sup`` and outreach worker ``ow`` (a fresh copy per test)."""
    target = tmp_path / "data"
    shutil.copytree(_template_store, target)
    return target


@pytest.fixture
def store_with_records(_template_store_records, tmp_path):
    target = tmp_path / "data"
    shutil.copytree(_template_store_records, target)
    return target


class Harness:
    """The app's main window on a data folder, plus helpers that wait on the worker."""

    def __init__(self, qtbot, data_dir, demo=None):
        from fieldapp.base import i18n
        from ui.app import build

        i18n.set_language("en")
        self.qtbot = qtbot
        self.ctx, self.window = build(data_dir, demo=demo)
        qtbot.addWidget(self.window)
        self.window.resize(self.window.fontMetrics().height() * 60, self.window.fontMetrics().height() * 38)
        self.window.show()
        qtbot.waitExposed(self.window)
        self.settle()

    def settle(self) -> None:
        """Wait until every queued worker job has run and its callback has been called."""
        self.qtbot.waitUntil(lambda: self.ctx.worker.pending == 0, timeout=WORKER_TIMEOUT_MS)

    def login(self, user: str = SUPERVISOR, password: str = PASSWORD) -> None:
        login = self.window.login
        self.qtbot.waitUntil(lambda: login.user.count() > 0, timeout=WORKER_TIMEOUT_MS)
        assert login.select_user(user), user  # the list shows full names; each item holds its login name
        login.password.setText(password)
        login.submit.click()
        self.qtbot.waitUntil(lambda: self.window.workspace is not None and self.window.pages.currentWidget()
                             is self.window.workspace, timeout=WORKER_TIMEOUT_MS)
        self.settle()

    def screen(self, screen_id: str):
        return self.window.workspace.screens[screen_id]

    def show(self, screen_id: str):
        assert self.window.workspace.show_screen(screen_id)
        self.settle()
        return self.screen(screen_id)

    def close(self) -> None:
        from fieldapp.base import i18n
        from ui.app import shutdown

        shutdown(self.ctx, self.window)
        self.window.close()
        i18n.set_language("en")


@pytest.fixture(autouse=True)
def _collect_after_each_test():
    """The app collects cyclic garbage on the UI thread only (``ui.gc_timer``); here also once after each test, at a
    quiet moment, so one test's windows never wait for the next test's timer."""
    yield
    gc.collect()


@pytest.fixture
def make_harness(ui_app, qtbot):
    made = []

    def factory(data_dir, demo=None) -> Harness:
        harness = Harness(qtbot, data_dir, demo=demo)
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        harness.close()


@pytest.fixture
def harness(make_harness, store_dir) -> Harness:
    return make_harness(store_dir)


@pytest.fixture
def contexts(qtbot, ui_app):
    """``contexts(data_dir, user)`` logs in; at the end every window is closed, then every worker stopped."""
    from helpers.ui_forms import close_ctx, login
    from ui.qt import QApplication

    made = []

    def factory(data_dir, user: str, sync=None):
        ctx = login(qtbot, data_dir, user, sync=sync)
        made.append(ctx)
        return ctx

    yield factory
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible():
            widget.close()
    for ctx in made:
        close_ctx(ctx)
        if ctx.sync is not None:
            ctx.sync.stop(timeout=10)
