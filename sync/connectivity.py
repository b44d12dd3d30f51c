"""Backoff with full jitter, and the cheap health probe loop.

Full jitter: the n-th wait is uniform in [0, min(cap, base * 2**n)], so many
devices coming back online together do not hammer the registry in lockstep.
A server's ``Retry-After`` is a floor: we wait at least that long (plus a little
jitter), capped at ``max_retry_after``.
"""

from __future__ import annotations

import random
import threading
import time

from sync.transport import Client


class Backoff:
    def __init__(self, base: float = 1.0, cap: float = 300.0, max_retry_after: float = 900.0,
                 rng: random.Random | None = None):
        self.base, self.cap, self.max_retry_after = base, cap, max_retry_after
        self.failures = 0
        self._rng = rng or random.Random()

    def reset(self) -> None:
        self.failures = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.failures, 30)))
        self.failures += 1
        delay = self._rng.uniform(0, ceiling)
        if retry_after is not None:
            ra = min(float(retry_after), self.max_retry_after)
            delay = ra + self._rng.uniform(0, min(1.0, ra * 0.1) if ra > 0 else 0.1)
        return delay


def sleep(delay: float, stop: threading.Event | None, deadline: float | None = None) -> bool:
    """Wait ``delay`` seconds (cut at ``deadline``, a ``time.monotonic()`` value).

    Returns False if the wait was cut short by ``stop`` or would pass the deadline.
    """
    if deadline is not None and time.monotonic() + delay > deadline:
        remaining = max(0.0, deadline - time.monotonic())
        if stop is not None:
            stop.wait(remaining)
        else:
            time.sleep(remaining)
        return False
    if stop is not None:
        return not stop.wait(delay)
    time.sleep(delay)
    return True


def wait_online(client: Client, *, stop: threading.Event | None = None, deadline: float | None = None,
                backoff: Backoff | None = None, on_probe=None, max_probes: int | None = None) -> bool:
    """Probe ``GET /v1/health`` with backoff until it answers, the deadline passes, ``stop`` is set
    or ``max_probes`` probes failed.

    TLS and pin failures are raised (``TransportError``): retrying cannot fix them.
    """
    backoff = backoff or Backoff(base=1.0, cap=120.0)
    probes = 0
    while True:
        ok = client.health()
        probes += 1
        if on_probe is not None:
            on_probe(ok)
        if ok:
            backoff.reset()
            return True
        if (stop is not None and stop.is_set()) or (max_probes is not None and probes >= max_probes):
            return False
        if not sleep(backoff.next_delay(), stop, deadline):
            return False
