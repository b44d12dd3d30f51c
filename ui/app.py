"""``run(data_dir, demo=None)``: the desktop application's entry point."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from fieldapp.store.database import Store, umask_private
from ui.context import AppContext
from ui.fonts import apply_fonts, load_fonts
from ui.main_window import MainWindow
from ui.qt import QApplication
from ui.style import apply_style
from ui import gc_timer, wheel

log = logging.getLogger("fieldapp.ui")


def make_application(argv=None) -> QApplication:
    """The QApplication with the bundled fonts and the style (reuses one that exists, e.g. in tests)."""
    app = QApplication.instance() or QApplication(list(argv if argv is not None else sys.argv[:1]))
    app.setApplicationName("fieldapp")
    app.setOrganizationName("fieldapp")
    apply_fonts(app, load_fonts())
    apply_style(app)
    wheel.install(app)  # the wheel scrolls the page, never an unfocused combo box or date
    gc_timer.install(app)  # cycles are collected on this thread, never where a worker allocates
    return app


def start_sync(data_dir: Path):
    """The background sync service if this laptop is registered, else None (no network on the UI thread)."""
    from fieldapp.outbound import device as device_file

    try:
        if device_file.load(data_dir) is None:
            return None
        from sync.service import SyncService
    except Exception as exc:  # a damaged device file must not keep the app from starting
        log.error("sync not started: %s", type(exc).__name__)
        return None
    from fieldapp.deploy import provisioned

    kwargs, auto = {}, True
    if provisioned.applied(data_dir) is not None:  # IT's sync policy: automatic or not, and how often when idle
        policy = provisioned.sync_policy(data_dir)
        kwargs["idle_interval"] = 60.0 * policy["interval_minutes"]
        auto = policy["auto"]
    service = SyncService(data_dir, **kwargs)
    if auto:
        service.start()  # otherwise only "Sync now" sends
    return service


def build(data_dir, demo: dict | None = None, sync=None) -> tuple[AppContext, MainWindow]:
    """Context and main window, first run or login shown (used by ``run``, the tests and the screenshots)."""
    ctx = AppContext(Path(data_dir), sync=sync, demo=demo)
    window = MainWindow(ctx, demo=demo)
    window.start(Store(ctx.data_dir).exists())
    return ctx, window


def shutdown(ctx: AppContext, window: MainWindow) -> None:
    window.idle.shutdown()
    ctx.worker.stop()
    if ctx.sync is not None:
        ctx.sync.stop(timeout=10)


def run(data_dir, demo: dict | None = None) -> int:
    umask_private()
    app = make_application()
    if os.environ.get("FIELDAPP_QUIT_AFTER_WINDOW") and getattr(app, "_fieldapp_first_window", None) is None:
        from ui import selftest  # the launch check: quit once the first window is on screen

        selftest.quit_after_first_window(app)
    data_dir = Path(data_dir)
    ctx, window = build(data_dir, demo=demo, sync=start_sync(data_dir))
    if window.fit_to_screen():  # never larger than the screen; a small laptop screen gets the whole of it
        window.showMaximized()
    else:
        window.show()
    from ui.heartbeat import start_from_env

    heartbeat = start_from_env(app)  # FIELDAPP_UI_HEARTBEAT_LOG: UI-thread stalls, for bench/bench_ui.py
    try:
        return app.exec()
    finally:
        if heartbeat is not None:
            heartbeat.write()
        shutdown(ctx, window)
