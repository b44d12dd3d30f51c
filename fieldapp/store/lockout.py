"""Failed-login bookkeeping that survives a restart.

The store cannot be read before it is unlocked, so failed attempts are kept
in ``lockout.json`` beside it (user names and counters only). After
``FREE_ATTEMPTS`` failures each further attempt must wait
``BASE_DELAY * 2**(failures - FREE_ATTEMPTS)`` seconds (capped at
``MAX_DELAY``) after the last failure. A success clears the counter.

Deleting the file resets the counters; against someone who holds the laptop's
disk, Argon2id in the key slots is the protection, not this file (see
docs/security.md).
"""

from __future__ import annotations

import time
from pathlib import Path

from fieldapp.base.errors import LockedOut
from fieldapp.base.fsutil import atomic_write_json, read_json
from fieldapp.base.paths import DataDir

FREE_ATTEMPTS = 5
BASE_DELAY = 30
MAX_DELAY = 3600


def _load(data_dir: Path) -> dict:
    try:
        data = read_json(DataDir(data_dir).lockout)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError, UnicodeDecodeError):
        return {}


def delay_for(failures: int) -> int:
    if failures < FREE_ATTEMPTS:
        return 0
    return min(MAX_DELAY, BASE_DELAY * 2 ** (failures - FREE_ATTEMPTS))


def remaining(data_dir: Path, user: str, now: float | None = None) -> int:
    """Seconds ``user`` must still wait before the next attempt (0 if none)."""
    entry = _load(data_dir).get(user) or {}
    failures = int(entry.get("failures", 0) or 0)
    last = float(entry.get("last_failure", 0) or 0)
    now = time.time() if now is None else now
    wait = delay_for(failures) - (now - last)
    return max(0, int(wait + 0.999))


def check(data_dir: Path, user: str) -> None:
    """Raise ``LockedOut`` while ``user`` must wait."""
    wait = remaining(data_dir, user)
    if wait > 0:
        raise LockedOut(wait)


def record_failure(data_dir: Path, user: str) -> int:
    data = _load(data_dir)
    entry = data.get(user) or {}
    entry = {"failures": int(entry.get("failures", 0) or 0) + 1, "last_failure": time.time()}
    data[user] = entry
    atomic_write_json(DataDir(data_dir).lockout, data)
    return entry["failures"]


def record_success(data_dir: Path, user: str) -> None:
    data = _load(data_dir)
    if user in data:
        del data[user]
        atomic_write_json(DataDir(data_dir).lockout, data)
