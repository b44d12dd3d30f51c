"""One sync run at a time per data folder, across processes (desktop app and CLI).

An exclusive advisory lock on ``sync.lock``; the OS drops it when the process
dies (also on SIGKILL or a power cut), so a crash never leaves a stale lock.
"""

from __future__ import annotations

import os
import threading
import time
from fieldapp.base.paths import SYNC_LOCK_FILE as LOCK_FILE, DataDir  # noqa: F401 (LOCK_FILE: old importers)


class ProcessLock:
    def __init__(self, data_dir):
        self.path = DataDir(data_dir).sync_lock
        self._fd: int | None = None

    def _try(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.name == "nt":  # pragma: no cover - Windows
                import msvcrt
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def acquire(self, deadline: float | None = None, stop: threading.Event | None = None,
                poll: float = 0.25) -> bool:
        """Take the lock; wait until ``deadline`` (monotonic) or, without one, not at all."""
        while True:
            if self._try():
                return True
            if deadline is None or time.monotonic() >= deadline or (stop is not None and stop.is_set()):
                return False
            time.sleep(poll)

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            if os.name == "nt":  # pragma: no cover
                import msvcrt
                msvcrt.locking(self._fd, msvcrt.LK_UNLCK, 1)
        finally:
            os.close(self._fd)  # closing drops a flock
            self._fd = None
