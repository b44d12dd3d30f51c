"""Python's garbage collector runs on the UI thread only.

Left alone, the cyclic collector runs in whichever thread happens to allocate when a generation fills up: the DB
worker, the sync service. When the garbage it finds holds the last reference to a Qt widget owned by Python (a
window or dialog in a reference cycle), the widget is destroyed in that thread while the UI thread may be laying
it out: a crash seen as ``QWidget::~QWidget`` on the ``fieldapp-db`` thread beside ``QSizeGrip::moveEvent`` on the UI
thread. So automatic collection is turned off and a timer on the UI thread collects instead, with the
interpreter's own thresholds deciding which generation (the approach qutebrowser takes for the same reason).
Reference counting still frees everything that is not in a cycle at once, in any thread.
"""

from __future__ import annotations

import gc
import time

from ui.qt import QTimer

INTERVAL_MS = 1000
KEEP_PAUSES = 1000  # the collections of 5 ms or more kept for the stall benchmark (``ui/heartbeat.py`` writes them)


class UiThreadCollector:
    def __init__(self, app, interval_ms: int = INTERVAL_MS):
        self.thresholds = gc.get_threshold()
        self.collections = 0
        self.pauses: list[list[float]] = []  # [time.monotonic() at the end, ms, generation] of each 5 ms or more
        gc.disable()
        self.timer = QTimer(app)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> int | None:
        """Collect the oldest generation whose count passed its threshold; returns it (None: nothing due)."""
        counts = gc.get_count()
        if counts[0] <= self.thresholds[0]:
            return None
        generation = 0
        for level in (2, 1):
            if counts[level] > self.thresholds[level]:
                generation = level
                break
        began = time.monotonic()
        gc.collect(generation)
        ended = time.monotonic()
        self.collections += 1
        pause = (ended - began) * 1000.0
        if pause >= 5.0 and len(self.pauses) < KEEP_PAUSES:
            self.pauses.append([round(ended, 4), round(pause, 2), generation])
        return generation


def install(app) -> UiThreadCollector:
    """Once per application (a second call returns the first collector)."""
    existing = getattr(app, "_fieldapp_gc", None)
    if existing is not None:
        return existing
    collector = UiThreadCollector(app)
    app._fieldapp_gc = collector
    return collector
