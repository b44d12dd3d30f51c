"""``SyncService``: the background drain loop a desktop client starts (no Qt here).

The loop stays idle while the spool has nothing to send (it asks for status answers and member lookup pages every
``status_interval``); when it has, it probes
``GET /v1/health`` with backoff and full jitter, and as soon as the registry
answers it runs the engine until the spool is empty. A UI polls
:meth:`latest_progress` (an immutable snapshot) from its own timer and may call
:meth:`abort` (stops the current run after the request in flight; the loop
tries again after ``idle_interval``) or :meth:`kick` (e.g. right after approving
records: wakes the loop now).
"""

from __future__ import annotations

import logging
import threading
import time

from fieldapp.outbound import device as device_file
from fieldapp.outbound import inbox
from fieldapp.outbound.spool import Spool
from sync.connectivity import Backoff
from sync.engine import Engine, SyncConfig, SyncResult, make_client
from sync.errors import EXIT_REFUSED, SyncError
from sync.progress import Progress, ProgressTracker
from sync.transport import TransportError

log = logging.getLogger("fieldapp.sync")


class SyncService:
    def __init__(self, data_dir, *, config: SyncConfig | None = None, idle_interval: float = 30.0,
                 probe_base: float = 5.0, probe_cap: float = 300.0, status_interval: float = 600.0,
                 refused_interval: float = 3600.0, listener=None):
        self.data_dir = data_dir
        self.config = config or SyncConfig()
        self.idle_interval, self.status_interval, self.refused_interval = (
            idle_interval, status_interval, refused_interval)
        self._backoff = Backoff(probe_base, probe_cap)
        self._progress = ProgressTracker(listener=listener)
        self._abort = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._run_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_status_poll = 0.0
        self._device = None

    def set_device(self, device) -> None:
        """Use the registration an unlocked store holds (``fieldapp.outbound.identity.trusted_device``) instead of
        reading device.json: while someone is logged in, a rewritten device.json redirects nothing."""
        self._device = device

    def _dev(self):
        return self._device or device_file.load(self.data_dir)

    # ------------------------------------------------------------------ API
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="fieldapp-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        self._stop.set()
        self._abort.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def kick(self) -> None:
        self._wake.set()

    def abort(self) -> None:
        self._abort.set()

    def latest_progress(self) -> Progress:
        return self._progress.snapshot()

    def sync_once(self, timeout: float | None = None) -> SyncResult:
        """One run in the caller's thread (waits for a background run to finish first)."""
        with self._run_lock:
            self._abort.clear()
            if self._stop.is_set() and self._thread is not None:  # stop() raced with the loop: stay stopped
                self._abort.set()
            engine = Engine(self.data_dir, config=self.config, progress=self._progress, abort=self._abort,
                            device=self._device)
            try:
                result = engine.run(timeout=timeout)
            except SyncError as exc:
                self._progress.update(phase="error", last_error=exc.code)
                return SyncResult("refused" if exc.exit_code == EXIT_REFUSED else "unreachable", exc.code)
            if result.outcome == "complete":
                self._last_status_poll = time.monotonic()
            return result

    # ------------------------------------------------------------------ loop
    def _due(self) -> bool:
        if self._dev() is None:
            return False
        with Spool(self.data_dir) as spool:
            counts = spool.counts()
            lookup = bool(spool.get_meta(inbox.SPOOL_PUBLIC))  # the store takes member lookup pages
        if counts["queued"] > 0:
            return True
        return (counts["synced"] > 0 or lookup) and time.monotonic() - self._last_status_poll > self.status_interval

    def _probe(self) -> bool:
        dev = self._dev()
        client = make_client(self.data_dir, dev, self.config)
        try:
            ok = client.health()
        except TransportError:
            ok = False
        finally:
            client.close()
        self._progress.update(online=ok, phase="idle" if ok else "offline")
        return ok

    def _wait(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if not self._due():
                    if self._dev() is not None:
                        self._probe()  # nothing to send: the connection shown is still a checked one
                    self._wait(self.idle_interval)
                    continue
                if not self._probe():
                    self._wait(self._backoff.next_delay())
                    continue
                self._backoff.reset()
                result = self.sync_once()
                if self._stop.is_set():
                    return
                if result.outcome == "refused":
                    self._wait(self.refused_interval)
                elif result.outcome in ("unreachable", "busy"):
                    self._wait(self._backoff.next_delay())
                else:
                    self._wait(self.idle_interval)
            except Exception as exc:  # keep the loop alive; no personal data in the log
                log.error("sync loop error: %s", type(exc).__name__)
                self._progress.update(phase="error", last_error="internal")
                self._wait(self._backoff.next_delay())
