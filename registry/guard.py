"""The ASGI guard in front of every route: what a request may cost before and after it is authenticated.

In order, for each HTTP request:

1. ``Content-Length`` must be digits (else 400 ``malformed``).
2. Rate limits (``registry.ratelimit``) on challenge, token and enroll: 429 ``rate_limited`` + ``Retry-After``.
3. ``POST /v1/batches`` is authenticated from its headers **before a byte of its body is read**: the bearer token
   (401/403, the same answers as the route's) and then its declared size against ``max_batch_bytes`` (413
   ``batch_too_large``). Then it waits, its body still unread, for one of the device's intake slots
   (``device_batch_concurrency``) and one of everyone's (``batch_concurrency``), held until the answer is sent;
   after ``intake_wait`` seconds it is answered 429 ``too_many_batches`` (the device's slots are taken) or 503
   ``busy`` (everyone's are). Every other request may send at most ``max_json_bytes`` (64 KiB; 413
   ``body_too_large``).
4. The body is read with a cap (as it arrives, whatever the header said) and a read timeout per piece
   (``body_timeout``; 408 ``body_timeout``), then handed to the route.

A refusal sent before the body was read closes the connection when the body could be large (declared above the
limit, or of unknown length); a small unread body is discarded by the server (registry/server.py bounds that too).
"""

from __future__ import annotations

import logging
import time

import anyio
from starlette.responses import JSONResponse

from registry import devices, failures, logs
from registry.errors import ApiError
from registry.ratelimit import RateLimits
from registry.storage import Busy

BATCHES = "/v1/batches"
WRITES = {"/v1/batches", "/v1/auth/challenge", "/v1/devices/enroll"}  # a 200 here means a write went through


class Refused(Exception):
    def __init__(self, status: int, reason: str, detail=None, headers: dict | None = None, close: bool = False):
        super().__init__(reason)
        self.status, self.reason, self.detail, self.headers = status, reason, detail, dict(headers or {})
        if close:
            self.headers["Connection"] = "close"


def bearer(headers: dict) -> str | None:
    """The token of an ``Authorization: Bearer`` header (latin-1, as Starlette reads headers), or None."""
    raw = headers.get(b"authorization")
    if not raw:
        return None
    scheme, _, token = raw.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def client_address(scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"


class Guard:
    """ASGI middleware; ``ctx`` is the app's Context (settings, database, keys, storage health)."""

    def __init__(self, app, ctx):
        self.app, self.ctx, self.s = app, ctx, ctx.settings
        self.rates = RateLimits(self.s)
        self.everyone: anyio.Semaphore | None = None  # made on first use, inside the event loop
        self.by_device: dict[str, list] = {}  # device ID -> [its semaphore, requests holding or waiting]
        self.limited: dict[str, int] = {}  # 429s by reason since the last rate_limited log line
        self.limited_logged = 0.0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        try:
            await self._guarded(scope, receive, send)
        except Refused as r:
            if r.status == 429:
                self._note_limited(r.reason)
            await JSONResponse({"error": r.reason, "detail": r.detail}, status_code=r.status,
                               headers=r.headers or None)(scope, receive, send)

    def _note_limited(self, reason: str) -> None:
        """Count 429s; log them at most once every 10 s (a flood must not become a flood of log lines)."""
        self.limited[reason] = self.limited.get(reason, 0) + 1
        if time.monotonic() - self.limited_logged >= 10:
            logs.event("rate_limited", logging.INFO, **self.limited)
            self.limited, self.limited_logged = {}, time.monotonic()

    async def _guarded(self, scope, receive, send):
        path, method = scope["path"], scope["method"]
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and not declared.isdigit():
            raise Refused(400, "malformed", "bad Content-Length", close=True)
        size = int(declared) if declared is not None else None
        unknown = size is None and b"transfer-encoding" in headers  # chunked: the length is unknown
        wait, which = self.rates.check(method, path, client_address(scope))
        if wait:
            detail = "too many requests from this address" if which == "client" else "too many requests to the registry"
            raise Refused(429, "rate_limited", detail + "; retry later", {"Retry-After": str(wait)},
                          close=unknown or (size or 0) > self.s.max_json_bytes)
        if method == "POST" and path == BATCHES:
            return await self._batch(scope, receive, send, headers, size, unknown)
        if (size or 0) > self.s.max_json_bytes:
            raise Refused(413, "body_too_large", "request body too large", close=True)
        await self._pass(scope, receive, send, self.s.max_json_bytes, "body_too_large")

    async def _batch(self, scope, receive, send, headers, size, unknown):
        big = unknown or (size or 0) > self.s.max_json_bytes
        try:
            device_id, public = await anyio.to_thread.run_sync(devices.check_token, self.ctx.db, self.ctx.keys,
                                                               bearer(headers))
        except ApiError as exc:
            raise Refused(exc.status, exc.reason, exc.detail, close=big) from None
        except Busy:
            raise Refused(503, "busy", "the registry is busy; retry later", {"Retry-After": "2"}, close=big) from None
        except failures.storage_exceptions() as exc:
            reason = failures.classify(exc, self.ctx.settings.data_dir)
            if reason is None:
                raise
            self.ctx.health.failed(reason)
            raise Refused(503, reason, "storage is failing; retry later",
                          {"Retry-After": str(failures.RETRY_AFTER[reason])}, close=big) from None
        if (size or 0) > self.s.max_batch_bytes:
            raise Refused(413, "batch_too_large", "compressed body too large", close=True)
        scope.setdefault("state", {})["device"] = (device_id, public)  # the route does not check the token again
        if self.everyone is None:
            self.everyone = anyio.Semaphore(self.s.batch_concurrency)
        mine = self.by_device.setdefault(device_id, [anyio.Semaphore(self.s.device_batch_concurrency), 0])
        mine[1] += 1
        held: list = []
        try:  # wait (body unread) for a slot of the device, then one of everyone's, at most intake_wait in all
            with anyio.move_on_after(self.s.intake_wait):
                await mine[0].acquire()
                held.append(mine[0])
                await self.everyone.acquire()
                held.append(self.everyone)
            if len(held) == 0:
                raise Refused(429, "too_many_batches", "this device already has batches in progress",
                              {"Retry-After": "2"}, close=big)
            if len(held) == 1:
                raise Refused(503, "busy", "the registry is busy; retry later", {"Retry-After": "2"}, close=big)
            await self._pass(scope, receive, send, self.s.max_batch_bytes, "batch_too_large")
        finally:
            for sem in reversed(held):
                sem.release()
            mine[1] -= 1
            if mine[1] == 0:
                self.by_device.pop(device_id, None)

    async def _pass(self, scope, receive, send, limit: int, too_large: str):
        """Read the body (capped, with a read timeout per piece), then run the route on it."""
        body, more = bytearray(), True
        while more:
            message = None
            with anyio.move_on_after(self.s.body_timeout):
                message = await receive()
            if message is None:
                raise Refused(408, "body_timeout", "the request body stopped arriving", close=True)
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                raise Refused(413, too_large, "request body too large", close=True)
        done, status = False, [0]

        async def replay():
            nonlocal done
            if not done:
                done = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        async def watch(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        await self.app(scope, replay, watch)
        if status[0] == 200 and scope["path"] in WRITES:
            self.ctx.health.succeeded()
