#!/usr/bin/env python
"""Render every screen of the desktop client, as a laptop shows it, into docs/screenshots/.

    .venv/bin/python scripts/screenshots.py                     # starts its own X screens on free display numbers
    .venv/bin/python scripts/screenshots.py --displays 131,132  # on these display numbers

Two passes, each in its own process on its own X screen (Xvfb with openbox as window manager), run side by side:
1366x768 in English and Khmer (``<shot>-<lang>.png``) and 1024x768 in Khmer (``<shot>-km-1024.png``). The window is
shown as ``ui.app.run`` shows it (capped to the screen, maximized when it asks for more) and every shot is the
whole screen, so it proves the window and its status bar fit. Shots: every screen (first-run, login,
login-lockout, home, enroll, records, review, sync, users, settings, locked), an outreach worker's Home
(home-outreach), Review with a household opened across the screen (review-household, and scrolled to its
history: review-household-end), the village picker with a name many villages
share (address-ambiguous), a failed submit (enroll-failed), a registered record found by its member number
(record-member) and its card in the print preview (print-preview); the member lookup's shots (issue 13, also in
English at 1024x768: ``<shot>-en-1024.png``): the enrollment form's duplicate check finding a member already
registered (lookup-hit), an update in Review (update-review) and a record held for review at the registry
(held-status). The scenes are in ``screenshot_scenes.py`` and ``screenshot_lookup.py``.

Demo data: the store ``fieldapp --demo`` builds (``sync.demo``: two accounts, synthetic records in every state) plus
one household (a worker, the spouse, three children, one ill) that was returned once and submitted again,
registered with a reference registry started on loopback for the run and synced once, so the sync status is real;
``--no-registry`` skips the registry. Everything lives in temporary folders removed at the end. PNGs in the output
folder that no pass made are deleted. Needs Xvfb, openbox and xprop (docs/desktop.md).
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
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("FIELDAPP_KDF_TARGET_MS", "0")  # a throw-away demo store: the fast key-slot parameters do
PASSES = {"1366x768": ("en", "km"), "1024x768": ("km",)}
LOOKUP_ONLY = {"1024x768": ("en",)}  # the member lookup's shots (issue 13) also in English at 1024x768
SUFFIX = {"1366x768": "", "1024x768": "-1024"}


# ---------------------------------------------------------------------- the X screen
def start_xvfb(size: str, display: int | None) -> tuple[subprocess.Popen, str]:
    """``Xvfb`` with one screen of exactly ``size``, on ``display`` or on a free number it picks itself."""
    cmd = ["Xvfb", "-screen", "0", f"{size}x24", "-nolisten", "tcp", "-noreset"]
    if display is not None:
        proc = subprocess.Popen(["Xvfb", f":{display}", *cmd[1:]], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        name = f":{display}"
        for _ in range(200):
            if Path(f"/tmp/.X11-unix/X{display}").exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
    else:
        read, write = os.pipe()
        proc = subprocess.Popen([*cmd, "-displayfd", str(write)], pass_fds=(write,), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as pipe:
            name = ":" + pipe.readline().strip()
    if proc.poll() is not None or name == ":":
        raise SystemExit(f"Xvfb did not start on {name or 'a free display'} (is the number taken?)")
    return proc, name


def window_manager_fonts(tmp: Path) -> Path:
    """A fontconfig file for openbox: the system's fonts plus the app's bundled Noto Sans and Noto Sans Khmer, so
    the title bar shows the Khmer window title (a laptop's system has a Khmer font; this Xvfb may have none)."""
    from ui.fonts import FONT_PACKAGES, font_files

    dirs = sorted({str(path.parent) for package, _family in FONT_PACKAGES for path in font_files(package)})
    conf = tmp / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
                    '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
                    + "".join(f"  <dir>{d}</dir>\n" for d in dirs)
                    + f"  <cachedir>{tmp / 'fontconfig-cache'}</cachedir>\n</fontconfig>\n", "utf-8")
    return conf


def start_openbox(display: str, tmp: Path) -> subprocess.Popen:
    """openbox on ``display``, waited for until it manages the screen (``_NET_SUPPORTING_WM_CHECK`` is set)."""
    env = dict(os.environ, DISPLAY=display, FONTCONFIG_FILE=str(window_manager_fonts(tmp)))
    proc = subprocess.Popen(["openbox", "--sm-disable"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(200):
        probe = subprocess.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], env=env, capture_output=True,
                               text=True)
        if "window id" in probe.stdout:
            return proc
        time.sleep(0.05)
    proc.terminate()
    raise SystemExit(f"openbox did not start on {display}")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# ---------------------------------------------------------------------- the demo store
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_demo(data_dir: Path, with_registry: bool):
    """The demo store plus the household, optionally registered and synced; returns (demo dict, household's
    record ID, registry process or None)."""
    from sync import demo
    from fieldapp.outbound import outbox
    from fieldapp.store.database import Store
    from screenshot_scenes import add_household

    store = Store(data_dir)
    demo._fill(store)
    info = {"accounts": dict(demo.DEMO_ACCOUNTS)}
    household = add_household(data_dir, info["accounts"])
    from screenshot_lookup import add_lookup
    from ui.screens.login import remember_login_names

    with store.unlock("supervisor", demo.DEMO_ACCOUNTS["supervisor"]) as sup:
        remember_login_names(sup)  # the login list's full names, as on a laptop where someone has signed in before
    if not with_registry:
        info["lookup"] = add_lookup(data_dir, info["accounts"])
        return info, household, None
    from fieldapp.outbound.spool import Spool
    from sync.service import SyncService

    port = free_port()
    reg_dir = data_dir / "demo-registry"
    reg_dir.mkdir(mode=0o700)
    registry = demo._start_registry(reg_dir, port)
    with store.unlock("supervisor", demo.DEMO_ACCOUNTS["supervisor"]) as sup:
        demo._register(sup, reg_dir, port)
        outbox.enqueue_approved(sup)
    SyncService(data_dir).sync_once(timeout=60)
    deadline = time.monotonic() + 30  # the demo registry registers what it received after 3 s: until all are
    while time.monotonic() < deadline:  # (so every pass starts alike: nothing waiting for the registry's answer)
        with Spool(data_dir) as spool:
            if not spool.counts().get("synced"):
                break
        time.sleep(1)
        SyncService(data_dir).sync_once(timeout=60)
    info["registry_url"] = f"http://127.0.0.1:{port}"
    info["lookup"] = add_lookup(data_dir, info["accounts"])  # after the sync: a held record stays as it is left
    return info, household, registry


# ---------------------------------------------------------------------- one pass (a child process)
def run_pass(size: str, out: Path, display: int | None, with_registry: bool) -> int:
    """Every shot at ``size`` on a new X screen of that size; prints the files made and any notes."""
    xvfb, name = start_xvfb(size, display)
    openbox = registry = None
    tmp = Path(tempfile.mkdtemp(prefix="fieldapp-shots-"))
    try:
        openbox = start_openbox(name, tmp)
        os.environ.update(DISPLAY=name, QT_QPA_PLATFORM="xcb")
        os.environ.pop("WAYLAND_DISPLAY", None)
        from ui.app import make_application
        from screenshot_scenes import Pass

        app = make_application([sys.argv[0]])
        demo, household, registry = build_demo(tmp / "demo", with_registry)
        shots = Pass(app, out, tuple(int(n) for n in size.split("x")), SUFFIX[size])
        shots.lookup_ids = demo.get("lookup")
        for lang in PASSES[size]:
            shots.first_run(tmp, lang)
            shots.every_screen(tmp / "demo", lang, demo, household)
        for lang in LOOKUP_ONLY.get(size, ()):
            shots.lookup_only(tmp / "demo", lang, demo)
        for note in shots.notes:
            print(f"note {size}: {note}", flush=True)
        return 0
    finally:
        stop(registry)
        shutil.rmtree(tmp, ignore_errors=True)
        stop(openbox)
        stop(xvfb)


# ---------------------------------------------------------------------- both passes
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"), help="folder for the PNG files")
    parser.add_argument("--no-registry", action="store_true", help="do not start a local registry")
    parser.add_argument("--displays", help="X display numbers for the two passes, e.g. 131,132 (default: free ones)")
    parser.add_argument("--pass", dest="size", choices=sorted(PASSES), help=argparse.SUPPRESS)  # one child
    parser.add_argument("--display", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.size:
        return run_pass(args.size, out, args.display, not args.no_registry)

    started = time.monotonic()
    displays = [int(n) for n in args.displays.split(",")] if args.displays else [None] * len(PASSES)
    if len(displays) != len(PASSES):
        parser.error(f"--displays needs {len(PASSES)} numbers")
    children = []
    for size, display in zip(PASSES, displays):
        cmd = [sys.executable, __file__, "--pass", size, "--out", str(out)]
        cmd += ["--display", str(display)] if display is not None else []
        cmd += ["--no-registry"] if args.no_registry else []
        children.append((size, subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)))
    made, failed = set(), []
    for size, child in children:
        output, _ = child.communicate()
        for line in output.splitlines():
            if line.startswith("made "):
                made.add(Path(line[5:]))
            else:
                print(line)
        if child.returncode:
            failed.append(size)
    for path in sorted(made):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    if failed:
        print(f"failed: {', '.join(failed)} (stale PNGs kept)", file=sys.stderr)
        return 1
    for stale in sorted(set(out.glob("*.png")) - made):
        stale.unlink()
        print(f"deleted {stale.relative_to(ROOT) if stale.is_relative_to(ROOT) else stale}")
    print(f"{len(made)} screenshots in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
