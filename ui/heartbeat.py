"""A UI-thread heartbeat for measuring stalls: ``FIELDAPP_UI_HEARTBEAT_LOG=path`` (a benchmark hook, off by default).

When the variable names a file, ``ui.app.run`` starts a precise 5 ms ``QTimer`` on the UI thread and writes, when
the app exits, a JSON file: the number of beats, the longest gap between two beats (``max_gap_ms``: the longest
time the UI thread did not get back to its event loop, i.e. the worst stall a user could feel), the longest gap
of each second (``seconds``: ``[[end, ms], ...]``) and every gap of 10 ms or more (``gaps``: ``[[end, ms], ...]``),
each with the ``time.monotonic()`` of its end, so that a benchmark in another process (``bench/bench_ui.py``) can
take the longest stall within each phase it ran, the clock being system-wide. Nothing of the user's data is in it.
Without the variable nothing runs.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ui.qt import QApplication, QObject, Qt, QTimer

ENV = "FIELDAPP_UI_HEARTBEAT_LOG"
INTERVAL_MS = 5
RECORD_FROM_MS = 10.0
MAX_GAPS = 200_000


class Heartbeat(QObject):
    def __init__(self, path, parent=None):
        super().__init__(parent)
        self.path = Path(path)
        self.beats = 0
        self.max_gap_ms = 0.0
        self.gaps: list[list[float]] = []
        self.seconds: list[list[float]] = []
        self.started = self._last = self._second_end = 0.0
        self._second_max = 0.0
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self._beat)

    def start(self) -> "Heartbeat":
        self.started = self._last = time.monotonic()
        self._second_end = self.started + 1.0
        self.timer.start()
        return self

    def _beat(self) -> None:
        now = time.monotonic()
        gap = (now - self._last) * 1000.0
        self._last = now
        self.beats += 1
        if gap > self.max_gap_ms:
            self.max_gap_ms = gap
        if gap >= RECORD_FROM_MS and len(self.gaps) < MAX_GAPS:
            self.gaps.append([round(now, 4), round(gap, 2)])
        self._second_max = max(self._second_max, gap)
        if now >= self._second_end:
            if len(self.seconds) < MAX_GAPS:
                self.seconds.append([round(now, 4), round(self._second_max, 2)])
            self._second_max, self._second_end = 0.0, now + 1.0

    def write(self) -> None:
        self.timer.stop()
        body = {"clock": "time.monotonic", "interval_ms": INTERVAL_MS, "record_from_ms": RECORD_FROM_MS,
                "started": round(self.started, 4), "stopped": round(time.monotonic(), 4), "beats": self.beats,
                "max_gap_ms": round(self.max_gap_ms, 2), "seconds": self.seconds, "gaps": self.gaps}
        collector = getattr(QApplication.instance(), "_fieldapp_gc", None)  # ui/gc_timer.py: its pauses, if any
        if collector is not None:
            body["gc"] = {"collections": collector.collections, "pauses": collector.pauses}
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(body))
        os.replace(tmp, self.path)


def start_from_env(parent=None) -> Heartbeat | None:
    """The heartbeat if ``FIELDAPP_UI_HEARTBEAT_LOG`` is set (call ``write()`` on exit), else None."""
    path = os.environ.get(ENV)
    return Heartbeat(path, parent).start() if path else None
