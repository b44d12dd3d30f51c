"""The real desktop client under a real X server, driven by real key events (XTest, through ``xdotool``).

``XServer`` starts Xvfb on a free display number (``-displayfd``) with the openbox window manager and a keyboard of
two layouts, US and Khmer (``setxkbmap -layout us,kh``), as a Cambodian office laptop has: ``xdotool type`` then
finds every Khmer letter and Khmer digit on a real key of the Khmer layout and sends that key. (With a US keyboard
alone ``xdotool`` would remap a spare key for each Khmer character and put the map back right after; Qt reads the
map again when told it changed, by which time it may have changed back, so characters are lost by the test tool
itself, not by the app. Measured: 3 of 5 lines of Khmer lost a character at 30 ms a key without any load; with the
two layouts, 0 of 20 under three CPU hogs.)

``RealApp`` launches ``ui.app.run`` in its own process with ``QT_QPA_PLATFORM=xcb``, waits for its window
(``xdotool search --sync``), types (``xdotool type --delay MS``) and presses keys (``xdotool key``), counting every
keystroke, and takes screenshots with ImageMagick's ``import``. Waits are bounded and generous (a busy CI machine
moves them, never the outcome); nothing here asserts a time.

Used by ``tests/ui_real`` and ``bench/bench_ui.py``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = {"Xvfb": "xvfb", "openbox": "openbox", "xdotool": "xdotool", "import": "imagemagick",
         "setxkbmap": "x11-xkb-utils", "xprop": "x11-utils"}
LAUNCH = "import sys; from ui.app import run; sys.exit(run(sys.argv[1]))"
WAIT_S = 120.0          # the longest any single wait may take (CI with two CPU hogs beside it); never asserted
THUMB = 4               # screen comparisons use a grey image a quarter of the screen's width and height


def missing_tools() -> list[str]:
    """The Debian packages whose programs are not installed (``scripts/setup`` installs them)."""
    return sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})


def is_khmer(char: str) -> bool:
    return "\u1780" <= char <= "\u17ff" or "\u19e0" <= char <= "\u19ff"


def _stop(proc: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """Terminate a process we started (and its process group), then kill it if it does not go."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait(timeout)


class XServer:
    """Xvfb + openbox + a US/Khmer keyboard on a display number Xvfb picks itself; ``stop()`` always cleans up."""

    def __init__(self, width: int = 1366, height: int = 768, log_dir: Path | None = None):
        self.size = (width, height)
        self.log_dir = Path(log_dir) if log_dir else None
        self.display: str | None = None
        self.xvfb: subprocess.Popen | None = None
        self.wm: subprocess.Popen | None = None

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XAUTHORITY")}
        env["DISPLAY"] = self.display
        return env

    def _log(self, name: str):
        if self.log_dir is None:
            return subprocess.DEVNULL
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return open(self.log_dir / f"{name}.log", "ab")

    def start(self) -> "XServer":
        read_fd, write_fd = os.pipe()
        try:
            self.xvfb = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{self.size[0]}x{self.size[1]}x24",
                 "-nolisten", "tcp", "-noreset"],
                pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=self._log("xvfb"), stderr=subprocess.STDOUT,
                start_new_session=True)
            os.close(write_fd)
            number = b""
            deadline = time.monotonic() + WAIT_S
            while not number.endswith(b"\n"):
                ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
                chunk = os.read(read_fd, 16) if ready else b""
                if not chunk:
                    raise RuntimeError("Xvfb did not report a display number")
                number += chunk
        finally:
            os.close(read_fd)
        self.display = f":{int(number)}"
        self.run("setxkbmap", "-layout", "us,kh")
        self.wm = subprocess.Popen(["openbox", "--sm-disable"], env=self.env, stdin=subprocess.DEVNULL,
                                   stdout=self._log("openbox"), stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_for(self._wm_ready, "the window manager")
        return self

    def _wm_ready(self) -> bool:
        out = self.run("xprop", "-root", "_NET_SUPPORTING_WM_CHECK", check=False).stdout
        return "window id" in out

    def run(self, *cmd: str, check: bool = True, timeout: float = WAIT_S, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), env=self.env, capture_output=True, text=kw.pop("text", True),
                              check=check, timeout=timeout, stdin=subprocess.DEVNULL, **kw)

    def wait_for(self, condition, what: str, timeout: float = WAIT_S, every: float = 0.1):
        deadline = time.monotonic() + timeout
        while True:
            result = condition()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
            time.sleep(every)

    def screenshot(self, path: Path) -> Path:
        self.run("import", "-window", "root", str(path))
        return path

    def thumb(self) -> bytes:
        """The screen as 8-bit grey pixels, a quarter of its width and height (for "has it changed" checks)."""
        return self.run("import", "-window", "root", "-resize", f"{100 // THUMB}%", "-colorspace", "Gray",
                        "-depth", "8", "gray:-", text=False).stdout

    def stop(self) -> None:
        _stop(self.wm)
        _stop(self.xvfb)
        self.wm = self.xvfb = None


def changed_fraction(a: bytes, b: bytes) -> float:
    """The share of thumbnail pixels that differ visibly (a blinking text cursor is far below 0.001)."""
    if len(a) != len(b) or not a:
        return 1.0
    return sum(1 for x, y in zip(a, b) if abs(x - y) > 24) / len(a)


class RealApp:
    """The desktop client in its own process on ``xserver``, with its log and screenshots in ``work_dir``."""

    def __init__(self, xserver: XServer, data_dir: Path, work_dir: Path, env: dict | None = None):
        self.x = xserver
        self.data_dir = Path(data_dir)
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.window: str | None = None
        self.keystrokes = 0        # every key press sent: a typed character or a key chord counts one
        self.layout_switches = 0   # US <-> Khmer changes a typist would make (Alt+Shift) between typed runs
        self._script: str | None = None
        self._shots = 0

    # ------------------------------------------------------------- process
    def start(self) -> "RealApp":
        env = self.x.env
        env.update({"QT_QPA_PLATFORM": "xcb", "FIELDAPP_KDF_TARGET_MS": "0", "PYTHONPATH": str(ROOT),
                    "FIELDAPP_LOG_DIR": str(self.work_dir / "logs")})
        env.update({k: str(v) for k, v in self.extra_env.items()})
        self._log = open(self.work_dir / "app.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCH, str(self.data_dir)], cwd=ROOT, env=env,
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.window = self.x.wait_for(self._find_window, "the app's window")
        self.x.run("xdotool", "windowactivate", "--sync", self.window, check=False)
        return self

    def _find_window(self) -> str | None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"the app exited with {self.proc.returncode} before showing a window:\n{self.log()}")
        try:
            found = self.x.run("xdotool", "search", "--sync", "--onlyvisible", "--pid", str(self.proc.pid),
                               timeout=2, check=False)
        except subprocess.TimeoutExpired:
            return None
        ids = found.stdout.split()
        return ids[-1] if ids else None

    def log(self) -> str:
        return (self.work_dir / "app.log").read_text(errors="replace")[-4000:]

    def quit(self, timeout: float = WAIT_S) -> int | None:
        """Ctrl+Q, as a user quits; the process must end by itself (else it is stopped and None returned)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.x.run("xdotool", "key", "ctrl+q", check=False)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop(self.proc)
            return None
        finally:
            self._log.close()

    def kill(self) -> None:
        _stop(self.proc)

    # ------------------------------------------------------------- input
    def type(self, text: str, delay_ms: int = 30) -> None:
        """Type ``text`` key by key, ``delay_ms`` apart (each character one keystroke)."""
        for char in text:
            script = "km" if is_khmer(char) else ("any" if char in " -./" else "latin")
            if script != "any":
                if self._script is not None and script != self._script:
                    self.layout_switches += 1
                self._script = script
        self.keystrokes += len(text)
        self.x.run("xdotool", "type", "--delay", str(delay_ms), "--", text)

    def key(self, *keys: str, delay_ms: int = 30) -> None:
        """Press key chords (``Tab``, ``ctrl+Return``, ``shift+Tab``), ``delay_ms`` apart; each counts one."""
        self.keystrokes += len(keys)
        self.x.run("xdotool", "key", "--delay", str(delay_ms), *keys)

    def play(self, steps, delay_ms: int = 30) -> None:
        """Run a key path: ``("type", text)`` and ``("key", chord, ...)`` steps, in order, without waiting."""
        for kind, *args in steps:
            if kind == "type":
                self.type(args[0], delay_ms)
            elif kind == "key":
                self.key(*args, delay_ms=delay_ms)
            else:
                raise ValueError(kind)

    def reset_counts(self) -> None:
        self.keystrokes = self.layout_switches = 0
        self._script = None

    # ------------------------------------------------------------- seeing
    def screenshot(self, name: str | None = None) -> Path:
        self._shots += 1
        return self.x.screenshot(self.work_dir / f"{self._shots:02d}-{name or 'screen'}.png")

    def wait_changed(self, before: bytes, what: str, fraction: float = 0.015, timeout: float = WAIT_S) -> bytes:
        """Wait until at least ``fraction`` of the screen looks different from ``before``: another screen (the
        login screen and Home differ in about 4 % of the pixels; typing a password changes 0.2 %)."""
        def differs():
            self._alive()
            now = self.x.thumb()
            return now if changed_fraction(before, now) >= fraction else None
        try:
            return self.x.wait_for(differs, what, timeout, every=0.2)
        except TimeoutError:
            self.screenshot("timeout")
            raise

    def wait_settled(self, what: str, timeout: float = WAIT_S) -> bytes:
        """Wait until two looks 0.3 s apart are the same (a blinking text cursor aside)."""
        last = [self.x.thumb()]

        def same():
            self._alive()
            time.sleep(0.3)
            now = self.x.thumb()
            still = changed_fraction(last[0], now) < 0.001
            last[0] = now
            return now if still else None
        return self.x.wait_for(same, what, timeout, every=0.0)

    def _alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"the app exited with {self.proc.returncode}:\n{self.log()}")

    # ------------------------------------------------------------- session
    def shown_user(self, login: str) -> str:
        """What the login list shows for ``login`` (its full name once someone has logged in here)."""
        try:
            from fieldapp.base import login_names
        except ImportError:
            return login
        return login_names.label(login, login_names.load(self.data_dir))

    def login(self, user: str, password: str, lang: str | None = None) -> None:
        """Sign in from the login screen by keyboard, as a person does: the focus starts on the password; the
        account is picked by typing the start of the name the list shows (up to its first space: Space opens the
        list); ``lang`` "km"/"en" switches the language first."""
        user_text = self.shown_user(user).split(" ")[0]
        before = self.wait_settled("the login screen")
        if lang is not None:
            self.key("shift+Tab", "shift+Tab", "Home" if lang == "km" else "End", "Tab")
        else:
            self.key("shift+Tab")
        self.type(user_text)
        self.key("Tab")
        self.type(password)
        self.key("Return")
        self.wait_changed(before, "the screen after signing in")
        self.wait_settled("the first screen after signing in")
        self.reset_counts()


def fieldapp_cli(data_dir: Path, *args: str, password: str | None = None, timeout: float = WAIT_S,
                 **env) -> subprocess.CompletedProcess:
    """``python -m fieldapp`` as a real process, as a user or IT runs it (no display)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("FIELDAPP_") and k != "DISPLAY"}
    full.update({"FIELDAPP_KDF_TARGET_MS": "0", "FIELDAPP_LANG": "en", "PYTHONPATH": str(ROOT),
                 "FIELDAPP_DATA_DIR": str(data_dir), "FIELDAPP_LOG_DIR": str(Path(data_dir).parent / "cli-logs")})
    if password is not None:
        full["FIELDAPP_PASSWORD"] = password
    full.update({k: str(v) for k, v in env.items()})
    return subprocess.run([sys.executable, "-m", "fieldapp", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def stored_records(data_dir: Path, user: str, password: str, state: str | None = None) -> list[dict]:
    args = ["list", "--user", user, "--json"] + (["--state", state] if state else [])
    done = fieldapp_cli(data_dir, *args, password=password)
    if done.returncode != 0:
        raise RuntimeError(f"fieldapp list exited {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout)
