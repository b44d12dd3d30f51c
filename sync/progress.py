"""Progress snapshots for a desktop client to poll (no Qt here).

``Progress`` is immutable; the tracker swaps in a new snapshot on every change,
so a reader on another thread always sees a consistent one.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

PHASES = ("idle", "probing", "offline", "authenticating", "sending", "polling", "done",
          "aborted", "error")


@dataclass(frozen=True)
class Progress:
    phase: str = "idle"
    records_sent: int = 0          # records with a verified receipt in this run
    records_total: int = 0         # records queued when this run started (plus any added)
    batches_done: int = 0
    last_error: str | None = None  # a code such as "unreachable", never personal data
    online: bool | None = None     # None: not probed yet
    last_success_at: float | None = None  # time.time() of the last verified receipt
    quarantined: int = 0           # records quarantined in this run
    queued: int = 0                # records still waiting

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


class ProgressTracker:
    def __init__(self, initial: Progress | None = None, listener=None):
        self._lock = threading.Lock()
        self._snap = initial or Progress()
        self._listener = listener

    def snapshot(self) -> Progress:
        return self._snap

    def update(self, **changes) -> Progress:
        with self._lock:
            snap = dataclasses.replace(self._snap, **changes)
            self._snap = snap
        self._notify(snap)
        return snap

    def _notify(self, snap: Progress) -> None:
        if self._listener is not None:
            try:
                self._listener(snap)
            except Exception:  # a UI callback must never break sync
                pass

    def add(self, **deltas) -> Progress:
        with self._lock:
            snap = dataclasses.replace(
                self._snap, **{k: getattr(self._snap, k) + v for k, v in deltas.items()})
            self._snap = snap
        self._notify(snap)
        return snap
