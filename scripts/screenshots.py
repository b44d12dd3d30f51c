#!/usr/bin/env python
"""Render every screen of the desktop client in English and Khmer into docs/screenshots/<screen>-<lang>.png.

    . .venv/bin/activate && python scripts/screenshots.py            # starts Xvfb :99 itself if DISPLAY is unset
    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshots.py   # or under xvfb-run

Demo data: the store ``fieldapp --demo`` builds (``sync.demo``: two accounts, synthetic records in every
state), registered with a reference registry started on loopback for the run and synced once, so the sync
status is real. ``--no-registry`` skips the registry (the laptop then shows as not registered). Everything
lives in a temporary folder that is removed at the end. Needs the Xvfb and libxcb packages (docs/desktop.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FIELDAPP_KDF_TARGET_MS", "0")  # a throw-away demo store: the fast key-slot parameters do
SIZE = (1280, 800)


def ensure_display() -> subprocess.Popen | None:
    """Use $DISPLAY if set, else start ``Xvfb :99`` (returned so the caller stops it)."""
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    if os.environ.get("DISPLAY"):
        return None
    proc = subprocess.Popen(["Xvfb", ":99", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path("/tmp/.X11-unix/X99").exists():
            break
        time.sleep(0.05)
    os.environ["DISPLAY"] = ":99"
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_demo(data_dir: Path, with_registry: bool):
    """The demo store, optionally registered and synced; returns (demo dict, registry process or None)."""
    from sync import demo
    from fieldapp.outbound import outbox
    from fieldapp.store.database import Store

    store = Store(data_dir)
    demo._fill(store)
    info = {"accounts": dict(demo.DEMO_ACCOUNTS)}
    if not with_registry:
        return info, None
    from sync.service import SyncService

    port = free_port()
    reg_dir = data_dir / "demo-registry"
    reg_dir.mkdir(mode=0o700)
    registry = demo._start_registry(reg_dir, port)
    demo._register(data_dir, reg_dir, port)
    with store.unlock("supervisor", demo.DEMO_ACCOUNTS["supervisor"]) as sup:
        outbox.enqueue_approved(sup)
    SyncService(data_dir).sync_once(timeout=60)
    time.sleep(3.5)  # the demo registry registers what it received after 3 s
    SyncService(data_dir).sync_once(timeout=60)
    info["registry_url"] = f"http://127.0.0.1:{port}"
    return info, registry


class Shooter:
    def __init__(self, app, out: Path):
        self.app, self.out = app, out
        self.made: list[Path] = []

    def pump(self, ctx=None, until=None, timeout=30.0, settle=0.4) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.app.processEvents()
            busy = ctx is not None and ctx.worker.pending > 0
            if not busy and (until is None or until()):
                break
            time.sleep(0.01)
        end = time.monotonic() + settle  # let layouts and painting finish
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def shoot(self, window, name: str) -> None:
        path = self.out / f"{name}.png"
        window.grab().save(str(path))
        self.made.append(path)


def open_window(data_dir: Path, lang: str, demo: dict | None, sync):
    from fieldapp.base import config as app_config
    from ui.app import build

    app_config.update(data_dir, language=lang)
    ctx, window = build(data_dir, demo=demo, sync=sync)
    window.resize(*SIZE)
    window.show()
    return ctx, window


def first_run(shooter: Shooter, tmp: Path, lang: str) -> None:
    from ui.app import shutdown

    ctx, window = open_window(tmp / f"fresh-{lang}", lang, None, None)
    shooter.pump(ctx)
    shooter.shoot(window, f"first-run-{lang}")
    shutdown(ctx, window)
    window.close()


def every_screen(shooter: Shooter, data_dir: Path, lang: str, demo: dict) -> None:
    from ui.app import shutdown, start_sync

    ctx, window = open_window(data_dir, lang, demo, start_sync(data_dir))
    login = window.login
    shooter.pump(ctx, until=lambda: login.user.count() > 0)
    shooter.shoot(window, f"login-{lang}")
    user = login.user.currentText()
    from fieldapp.store import lockout

    lockout.record_success(data_dir, "outreach")  # start from zero failures in each language
    login.user.setCurrentIndex(login.user.findText("outreach"))  # five wrong passwords: the wait is shown
    for attempt in range(5):
        shooter.pump(ctx, until=login.submit.isEnabled)
        login.password.setText(f"wrong {attempt}")
        login.submit.click()
        shooter.pump(ctx, until=lambda: not login._busy)
    shooter.pump(ctx, until=login.wait.isVisible)
    shooter.shoot(window, f"login-lockout-{lang}")
    login.user.setCurrentIndex(login.user.findText(user))
    shooter.pump(ctx, until=login.submit.isEnabled)
    login.password.setText(demo["accounts"][user])
    login.submit.click()
    shooter.pump(ctx, until=lambda: window.workspace is not None)
    shooter.pump(ctx, settle=2.5 if ctx.sync is not None else 0.4)  # the sync service's first probe
    for screen_id in window.workspace.visible_ids():
        window.workspace.show_screen(screen_id)
        shooter.pump(ctx)
        shooter.shoot(window, f"{screen_id}-{lang}")
    window.lock()
    shooter.pump(ctx)
    shooter.shoot(window, f"locked-{lang}")
    shutdown(ctx, window)
    window.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"), help="folder for the PNG files")
    parser.add_argument("--no-registry", action="store_true", help="do not start a local registry")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    xvfb = ensure_display()
    tmp = Path(tempfile.mkdtemp(prefix="fieldapp-shots-"))
    registry = None
    try:
        from ui.app import make_application

        app = make_application([sys.argv[0]])
        data_dir = tmp / "demo"
        demo, registry = build_demo(data_dir, not args.no_registry)
        shooter = Shooter(app, out)
        for lang in ("en", "km"):
            first_run(shooter, tmp, lang)
            every_screen(shooter, data_dir, lang, demo)
        for path in shooter.made:
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        return 0
    finally:
        if registry is not None:
            registry.terminate()
            registry.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)


if __name__ == "__main__":
    sys.exit(main())
