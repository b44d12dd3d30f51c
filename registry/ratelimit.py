"""Token buckets for the unauthenticated endpoints: per client address and route group, and one global bucket.

Groups: ``challenge`` (``POST /v1/auth/challenge``) and ``token`` (``POST /v1/auth/token``), each ``rate_auth``
per second with a burst of ``rate_auth_burst``; ``enroll`` (``POST /v1/devices/enroll``), ``rate_enroll`` /
``rate_enroll_burst``; and all three together from every client, ``rate_global`` / ``rate_global_burst``. A
refused request is answered 429 ``rate_limited`` with ``Retry-After`` (whole seconds until a token is back). A rate
of 0 switches that bucket off. State lives in the process (several ``serve`` processes each count their own) and
is only touched from the event loop. The client address is the peer's, or the one uvicorn takes from
``X-Forwarded-For`` when the peer is in ``--forwarded-allow-ips`` (docs/registry.md, "Behind a reverse proxy").
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

GROUPS = {("POST", "/v1/auth/challenge"): "challenge", ("POST", "/v1/auth/token"): "token",
          ("POST", "/v1/devices/enroll"): "enroll"}


class Buckets:
    """Keyed token buckets (``rate`` tokens per second, at most ``burst``), at most ``max_keys`` remembered."""

    def __init__(self, rate: float, burst: int, max_keys: int = 10_000, clock=time.monotonic):
        self.rate, self.burst, self.max_keys, self.clock = float(rate), max(1, int(burst)), max_keys, clock
        self._state: OrderedDict[str, list[float]] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when a token was taken, else the seconds until one is available (nothing taken)."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        tokens, last = self._state.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
        self._state[key] = [tokens - 1.0 if wait == 0.0 else tokens, now]
        if len(self._state) > self.max_keys:
            self._prune(now)
        return wait

    def _prune(self, now: float) -> None:
        """Forget buckets that are full again (a fresh bucket is the same), then the least recently used."""
        for key in [k for k, (t, last) in self._state.items() if t + (now - last) * self.rate >= self.burst]:
            del self._state[key]
        while len(self._state) > self.max_keys:
            self._state.popitem(last=False)


class RateLimits:
    """The buckets of one registry process, built from its Settings."""

    def __init__(self, settings, clock=time.monotonic):
        s = settings
        self.groups = {"challenge": Buckets(s.rate_auth, s.rate_auth_burst, clock=clock),
                       "token": Buckets(s.rate_auth, s.rate_auth_burst, clock=clock),
                       "enroll": Buckets(s.rate_enroll, s.rate_enroll_burst, clock=clock)}
        self.everyone = Buckets(s.rate_global, s.rate_global_burst, clock=clock)

    def check(self, method: str, path: str, client: str) -> tuple[int, str]:
        """``(0, "")`` to go ahead, else the ``Retry-After`` seconds of a 429 answer and which bucket was empty
        (``client``: this address's, ``all``: the global one)."""
        group = GROUPS.get((method, path))
        if group is None:
            return 0, ""
        wait, which = self.groups[group].take(client), "client"
        if not wait:
            wait, which = self.everyone.take("*"), "all"
        return (max(1, math.ceil(wait)), which) if wait else (0, "")
