"""Shared helpers of the attack suite (tests/attack): paths, scaling, the reliability side channel, small disks.

A plain module of the ``helpers`` package (``from helpers.attack_tools import ...``); the ``reg`` fixture of the
registry attack tests is in tests/attack/conftest.py.

Reliability side channel: every test records what it tried with ``case(name, checked)`` ::

    with case("power loss during save", "reported saves survive; verify passes") as c:
        for ...:
            c.runs += 1

When ``FIELDAPP_RELIABILITY_LOG`` names a file, one JSON line ``{case, runs, checked, result, nodeid, error}`` is
appended per case when the block ends (``result`` is ``ok`` or ``failed``). ``scripts/reliability_report.py``
runs the tests with that variable set and turns the lines into the table of docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
#: The fork server script, run by path as a child process (``cli_env`` gives it ``PYTHONPATH``).
FORKER = TESTS / "attack" / "attack_forker.py"

PY = sys.executable
LOG_ENV = "FIELDAPP_RELIABILITY_LOG"
SCALE_ENV = "FIELDAPP_ATTACK_SCALE"


def scaled(n: int, minimum: int = 1) -> int:
    """``n`` times ``FIELDAPP_ATTACK_SCALE`` (default 1; e.g. 5 for a long soak run)."""
    try:
        factor = float(os.environ.get(SCALE_ENV, "1"))
    except ValueError:
        factor = 1.0
    return max(minimum, int(round(n * factor)))


def _current_test() -> str:
    """The running test's node id (``PYTEST_CURRENT_TEST`` without the trailing phase)."""
    return (os.environ.get("PYTEST_CURRENT_TEST") or "").rsplit(" ", 1)[0]


@dataclass
class Case:
    """One reliability case. Every ``runs += 1`` also notes the test it happened in."""

    name: str
    checked: str
    _runs: int = 0
    nodes: set = None

    @property
    def runs(self) -> int:
        return self._runs

    @runs.setter
    def runs(self, value: int) -> None:
        self._runs = value
        if self.nodes is None:
            self.nodes = set()
        node = _current_test()
        if node:
            self.nodes.add(node)


@contextlib.contextmanager
def case(name: str, checked: str):
    """Count the runs of one reliability case and report them on exit (also when the block fails)."""
    c = Case(name, checked)
    error = None
    try:
        yield c
    except BaseException as exc:
        error = type(exc).__name__
        raise
    finally:
        path = os.environ.get(LOG_ENV)
        if path:
            nodes = sorted((c.nodes or set()) | {_current_test()} - {""})
            row = {"case": c.name, "runs": c.runs, "checked": c.checked, "result": "failed" if error else "ok",
                   "error": error, "nodeid": nodes[0] if nodes else "", "nodeids": nodes}
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- environment for CLI processes
def cli_env(data_dir: Path | None = None, **extra) -> dict:
    from helpers.clitools import base_env

    return base_env(data_dir, **extra)


def run_cli(data_dir: Path, *args, password: str | None = None, new_password: str | None = None, timeout=180,
            module: str = "fieldapp", **extra) -> subprocess.CompletedProcess:
    env = cli_env(data_dir, **extra)
    if password is not None:
        env["FIELDAPP_PASSWORD"] = password
    if new_password is not None:
        env["FIELDAPP_NEW_PASSWORD"] = new_password
    return subprocess.run([PY, "-m", module, *map(str, args)], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=timeout, cwd=ROOT)


def one_clean_line(proc: subprocess.CompletedProcess) -> str:
    """The failure contract of the CLI: exit 1, one line on stderr, never a traceback."""
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode != 0 and len(lines) == 1, (proc.returncode, proc.stderr[-2000:])
    return lines[0]


# ---------------------------------------------------------------- small disks
class SmallDisk:
    """A real tmpfs of a given size (needs root): ``fill(leave)`` leaves about ``leave`` bytes free."""

    def __init__(self, path: Path, size: str = "4m"):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(self.path)],
                              capture_output=True)
        self.mounted = proc.returncode == 0
        self._n = 0

    def free(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self, leave: int) -> None:
        free = self.free()
        if free > leave:
            self._n += 1
            with open(self.path / f"ballast{self._n}", "wb") as fh:
                fh.write(b"\0" * (free - leave))

    def empty(self) -> None:
        for p in self.path.glob("ballast*"):
            p.unlink()

    def grow(self, size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(self.path)], check=True)

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=False, capture_output=True)
            self.mounted = False


# ---------------------------------------------------------------- polling
def wait_until(pred, timeout: float = 30.0, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


# ---------------------------------------------------------------- registry checks
def registry_export(reg, out_dir: Path | None = None) -> tuple[list[dict], dict, Path]:
    """``python -m registry export --out FILE``: the decrypted lines, the counts it printed, and the file."""
    import tempfile

    from helpers.sync_helpers import env

    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="regexport"))
    out = out_dir / f"export-{time.monotonic_ns()}.jsonl"
    res = subprocess.run([PY, "-m", "registry", "export", "--format", "jsonl", "--out", str(out), "--data-dir",
                          str(reg.data_dir)], cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    counts = json.loads(res.stderr.strip().splitlines()[-1])
    lines = [json.loads(ln) for ln in out.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return lines, counts, out


def assert_exactly_once_at(reg, record_ids) -> None:
    """Every record ID exactly once among the registry's records (and the export agrees for the people)."""
    from collections import Counter

    from registry.config import Settings
    from registry.storage import open_database

    db = open_database(Settings(data_dir=reg.data_dir))
    try:
        held = db.run(lambda tx: tx.execute("SELECT record_id FROM records"), write=False)
    finally:
        db.close()
    counts = Counter(r[0] for r in held)
    missing = [r for r in record_ids if counts.get(r, 0) == 0]
    doubled = [r for r in record_ids if counts.get(r, 0) > 1]
    assert not missing and not doubled, f"{len(missing)} missing, {len(doubled)} more than once at the registry"
    lines, printed, _ = registry_export(reg)
    exported = Counter(ln["record_id"] for ln in lines)
    assert printed["failed"] == 0 and all(v == 1 for v in exported.values()), printed
    not_exported = [r for r in record_ids if r not in exported]
    assert not not_exported, f"{len(not_exported)} held but not in the export ({printed}); first {not_exported[:3]}"


# ---------------------------------------------------------------- the fork server client (see attack_forker.py)
class Forker:
    """Runs children in the warm fork server; ``kill`` SIGKILLs the current child (never a reaped PID)."""

    def __init__(self, env: dict | None = None):
        import queue
        import threading

        self.proc = subprocess.Popen([PY, str(FORKER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1,
                                     env=env or cli_env(), cwd=ROOT)
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.backlog: list[str] = []  # a child's lines that came before the server's "child PID" line
        threading.Thread(target=self._read, daemon=True).start()
        assert self._expect("forker ready", 120)

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("<eof>")

    def _expect(self, prefix: str, timeout: float) -> str | None:
        import queue

        end = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                return None
            if line.startswith(prefix):
                return line
            if line == "<eof>":
                raise RuntimeError("fork server died")
            if prefix == "child ":
                self.backlog.append(line)

    def _send(self, obj) -> None:
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def run(self, mode: str, **args) -> "ForkRun":
        self.backlog.clear()
        self._send({"op": "run", "mode": mode, "args": args})
        line = self._expect("child ", 60)
        assert line, "fork server did not start a child"
        return ForkRun(self, int(line.split()[1]))

    def close(self) -> None:
        try:
            self._send({"op": "quit"})
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            self.proc.kill()
            self.proc.wait(10)


class ForkRun:
    """One child: its output lines (``events``) until it exited, then reaped."""

    def __init__(self, forker: Forker, pid: int):
        self.forker, self.pid = forker, pid
        self.events: list[str] = []
        self.exited = False
        self.verdict: str | None = None

    def pump(self, until: str | None = None, timeout: float = 0.0) -> bool:
        """Collect lines for up to ``timeout`` s; True as soon as a line starting with ``until`` arrived."""
        import queue

        end = time.monotonic() + timeout
        while True:
            try:
                if self.forker.backlog:
                    line = self.forker.backlog.pop(0)
                else:
                    line = self.forker.lines.get(timeout=max(0.0, end - time.monotonic()) or 0.001)
            except queue.Empty:
                return False
            if line == f"exited {self.pid}" or line.endswith(f" exited {self.pid}"):
                self.exited = True
                return until == "exited"
            if line == "<eof>":
                raise RuntimeError("fork server died")
            self.events.append(line)
            if until and line.startswith(until):
                return True

    def kill_after(self, delay: float) -> str:
        """Let the child run ``delay`` seconds (collecting its lines), SIGKILL it, reap it; returns the verdict."""
        import signal as _signal

        self.pump(timeout=delay)
        if not self.exited:
            os.kill(self.pid, _signal.SIGKILL)  # safe: the PID stays ours until reaped below
            while not self.exited:
                if not self.pump("exited", timeout=30) and not self.exited:
                    raise RuntimeError("child did not die")
        return self.reap()

    def wait(self, timeout: float = 120) -> str:
        end = time.monotonic() + timeout
        while not self.exited and time.monotonic() < end:
            self.pump("exited", timeout=end - time.monotonic())
        assert self.exited, "child did not finish"
        return self.reap()

    def reap(self) -> str:
        self.forker._send({"op": "reap", "pid": self.pid})
        line = self.forker._expect(f"reaped {self.pid} ", 30)
        assert line
        self.verdict = line.split()[2]
        return self.verdict

    def words(self, first: str) -> list[str]:
        return [ln.split(" ", 1)[1] for ln in self.events if ln.startswith(first + " ")]
