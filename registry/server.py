"""Serving the registry with uvicorn, with limits on what a connection may hold before it is authenticated.

* ``max_connections`` (uvicorn's ``limit_concurrency``): open connections plus requests in progress; a request
  beyond it is answered 503 at once. ``backlog``: connections the kernel queues before they are accepted.
* ``max_header_bytes`` (``h11_max_incomplete_event_size``): a larger request head is answered 400 and closed.
* ``keep_alive_timeout``: an idle kept-alive connection is closed.
* ``header_timeout`` (uvicorn has none): :class:`GuardedH11` closes a connection whose request head is not complete
  this long after the connection opened, or after the first byte of a later request on it arrived.
* ``body_timeout``: the guard (registry/guard.py) stops waiting for the next piece of a body after this long
  (408); and when an answer was sent before the body was read (a refusal), the rest of the body must arrive within
  this long too, or the connection is closed, so a stalled upload never holds a connection.

``create_app`` stays usable with plain uvicorn (tests run it in-process); ``serve`` is what the command runs.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline for request heads and for the unread rest of a refused body."""

    header_timeout = 10.0
    drain_timeout = 30.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._drain_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_late)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.SEND_BODY and self._drain_timer is None and not self.transport.is_closing():
            self._drain_timer = self.loop.call_later(self.drain_timeout, self._drain_late)
        self._watch()

    def connection_lost(self, exc) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Arm the head deadline when bytes of a new request are waiting; drop it once the head is complete."""
        if self.transport.is_closing():
            return self._cancel()
        if self.conn.their_state is h11.IDLE:
            if self._head_timer is None and self.conn.trailing_data[0]:
                self._head_timer = self.loop.call_later(self.header_timeout, self._head_late)
        elif self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self.conn.their_state is not h11.SEND_BODY and self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None

    def _cancel(self) -> None:
        for timer in (self._head_timer, self._drain_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._drain_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()  # slowloris: a head that never completes

    def _drain_late(self) -> None:
        self._drain_timer = None
        if self.conn.their_state is h11.SEND_BODY:
            self.transport.close()  # the answer was sent; the rest of the body never came


def protocol_class(settings) -> type[GuardedH11]:
    """A :class:`GuardedH11` with this registry's deadlines."""
    return type("GuardedH11", (GuardedH11,), {"header_timeout": settings.header_timeout,
                                              "drain_timeout": settings.body_timeout})


def config(app, settings, host: str, port: int, forwarded_allow_ips: str | None = None):
    """The uvicorn configuration ``serve`` runs (logging is the registry's own: registry/logs.py)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, http=protocol_class(settings), ws="none", lifespan="on",
                          log_config=None, log_level="warning", access_log=False, timeout_graceful_shutdown=5,
                          limit_concurrency=settings.max_connections, backlog=settings.backlog,
                          timeout_keep_alive=settings.keep_alive_timeout,
                          h11_max_incomplete_event_size=settings.max_header_bytes,
                          forwarded_allow_ips=forwarded_allow_ips)


def serve(app, settings, host: str, port: int, forwarded_allow_ips: str | None = None) -> None:
    import uvicorn

    uvicorn.Server(config(app, settings, host, port, forwarded_allow_ips)).run()
