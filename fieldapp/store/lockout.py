"""Failed-login bookkeeping that survives a restart, one attempt at a time.

The store cannot be read before it is unlocked, so failed attempts are kept in ``lockout.json`` beside it (user
names and counters only). After ``FREE_ATTEMPTS`` failures each further attempt must wait
``BASE_DELAY * 2**(failures - FREE_ATTEMPTS)`` seconds (capped at ``MAX_DELAY``) after the last failure. A success
clears the counter.

An attempt is *checked, made and recorded* under one exclusive lock on ``lockout.lock`` (``attempt``): guesses
started together queue behind each other, so 16 parallel guesses get the attempts one guess would, not 16.

The file is input like every file beside the store: values are read defensively (a count that is not a small
non-negative integer counts as the maximum, a time in the future counts as now), so a crafted file can at most
make a user wait ``MAX_DELAY``. Deleting it resets the counters; against someone who holds the laptop's disk,
Argon2id in the key slots is the protection, not this file (docs/security.md).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path

from fieldapp.base.errors import LockedOut
from fieldapp.base.fsutil import atomic_write_json, read_json
from fieldapp.base.paths import DataDir

FREE_ATTEMPTS = 5
BASE_DELAY = 30
MAX_DELAY = 3600
_MAX_COUNT = 10_000


def _load(data_dir: Path) -> dict:
    try:
        data = read_json(DataDir(data_dir).lockout)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return {}


def _entry(data: dict, user: str, now: float) -> tuple[int, float]:
    """``(failures, last_failure)`` of ``user``, made safe: crafted values can only mean "wait the most"."""
    entry = data.get(user)
    if not isinstance(entry, dict):
        return 0, 0.0
    failures, last = entry.get("failures", 0), entry.get("last_failure", 0)
    if type(failures) is not int or not 0 <= failures <= _MAX_COUNT:
        failures = _MAX_COUNT
    if not isinstance(last, (int, float)) or isinstance(last, bool) or not math.isfinite(last) or last > now:
        last = now if failures else 0.0
    return failures, float(last)


def delay_for(failures: int) -> int:
    if failures < FREE_ATTEMPTS:
        return 0
    return min(MAX_DELAY, BASE_DELAY * 2 ** min(failures - FREE_ATTEMPTS, 20))


def remaining(data_dir: Path, user: str, now: float | None = None) -> int:
    """Seconds ``user`` must still wait before the next attempt (0 if none)."""
    now = time.time() if now is None else now
    failures, last = _entry(_load(data_dir), user, now)
    wait = delay_for(failures) - (now - last)
    return max(0, int(wait + 0.999))


def check(data_dir: Path, user: str) -> None:
    """Raise ``LockedOut`` while ``user`` must wait."""
    wait = remaining(data_dir, user)
    if wait > 0:
        raise LockedOut(wait)


def record_failure(data_dir: Path, user: str) -> int:
    data, now = _load(data_dir), time.time()
    failures, _last = _entry(data, user, now)
    data = {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)}
    data[user] = {"failures": min(failures + 1, _MAX_COUNT), "last_failure": now}
    atomic_write_json(DataDir(data_dir).lockout, data)
    return data[user]["failures"]


def record_success(data_dir: Path, user: str) -> None:
    data = _load(data_dir)
    if user in data:
        del data[user]
        atomic_write_json(DataDir(data_dir).lockout, data)


@contextlib.contextmanager
def _locked(data_dir: Path):
    """An exclusive lock on ``lockout.lock`` (created owner-only), held for the body of the ``with``."""
    path = DataDir(data_dir).lockout_lock
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.name == "nt":  # pragma: no cover - Windows
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class Attempt:
    """One login attempt inside ``attempt``: call ``failed()`` or ``succeeded()`` before the block ends."""

    def __init__(self, data_dir: Path, user: str):
        self.data_dir, self.user, self.done = data_dir, user, False

    def failed(self) -> None:
        record_failure(self.data_dir, self.user)
        self.done = True

    def succeeded(self) -> None:
        record_success(self.data_dir, self.user)
        self.done = True


@contextlib.contextmanager
def attempt(data_dir: Path, user: str):
    """Check the lockout, let the caller try, and record the outcome, all under one lock.

    Raises ``LockedOut`` (before the body runs) while ``user`` must wait. An exception from the body that is not
    already recorded counts as a failure only if the body called ``failed()``; the caller decides.
    """
    data_dir = Path(data_dir)
    with _locked(data_dir):
        check(data_dir, user)
        yield Attempt(data_dir, user)
