"""The FastAPI application: context, body-size guard, error mapping, background worker.

Every refusal is a 4xx ``{"error": reason_code, "detail": ...}``; request validation
errors become 400 ``malformed`` listing the failing locations and error types only (never
the submitted values). A lock that persists becomes 503 ``busy`` with ``Retry-After``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from registry import __version__, keys as keymod, logs, records
from registry.config import Settings
from registry.errors import ApiError, BatchRefused
from registry.storage import Busy, Database, open_database


@dataclass
class Context:
    """What every request handler needs."""

    settings: Settings
    db: Database
    keys: keymod.RegistryKeys


def error(status: int, reason: str, detail=None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": reason, "detail": detail}, status_code=status, headers=headers)


class BodyLimit:
    """ASGI middleware: buffer request bodies up to a limit (batches get a larger one) or answer 413."""

    def __init__(self, app, settings: Settings):
        self.app, self.settings = app, settings

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.settings.max_batch_bytes if scope["path"] == "/v1/batches" else self.settings.max_json_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await self._refuse(scope, receive, send, 413 if declared.isdigit() else 400)
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                return await self._refuse(scope, receive, send, 413)
        done = False

        async def replay():
            nonlocal done
            if not done:
                done = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, scope, receive, send, status: int):
        reason = "batch_too_large" if scope["path"] == "/v1/batches" and status == 413 else (
            "body_too_large" if status == 413 else "malformed")
        await error(status, reason, "request body too large" if status == 413 else "bad Content-Length")(scope, receive, send)


class AccessLog:
    """ASGI middleware: one log line per request (method, path, status, milliseconds; no query, no body)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.monotonic(), [0]

        async def watch(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            logs.event("http", method=scope["method"], path=scope["path"][:100], status=status[0],
                       ms=round((time.monotonic() - start) * 1000, 1))


def _safe(part) -> str:
    """A location part (field names only, never values) as short, printable ASCII."""
    return str(part)[:64].encode("ascii", "backslashreplace").decode("ascii")


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_req: Request, exc: RequestValidationError):
        problems = [{"loc": [_safe(p) for p in e.get("loc", ())][:6], "type": _safe(e.get("type", ""))} for e in exc.errors()]
        if any(p["loc"] == ["header", "Content-Encoding"] and p["type"] != "missing" for p in problems):
            return error(415, "bad_compression", "Content-Encoding must be gzip")
        return error(400, "malformed", problems[:20])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(req: Request, exc: StarletteHTTPException):
        reason = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # every method of every route on this path, not only the first route's
            methods = {m for r in req.app.routes if getattr(r, "path", None) == req.url.path for m in r.methods or ()}
            headers["Allow"] = ", ".join(sorted(methods))
        return error(exc.status_code, reason, None, headers or None)

    @app.exception_handler(ApiError)
    async def api_error(_req: Request, exc: ApiError):
        if isinstance(exc, BatchRefused):
            logs.event("batch_refused", logging.INFO, reason=exc.reason, status=exc.status)
        return error(exc.status, exc.reason, exc.detail)

    @app.exception_handler(Busy)
    async def busy(_req: Request, _exc: Busy):
        return error(503, "busy", "the registry is busy; retry later", {"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def crashed(req: Request, exc: Exception):
        logs.event("internal_error", logging.ERROR, exc=True, path=req.url.path, error=type(exc).__name__)
        return error(500, "internal_error", None)


class Worker(threading.Thread):
    """Background steps: received -> registered after the delay, and periodic housekeeping."""

    def __init__(self, ctx: Context):
        super().__init__(name="registry-worker", daemon=True)
        self.ctx, self.stop_event = ctx, threading.Event()

    def run(self) -> None:
        s, last_clean = self.ctx.settings, 0.0
        interval = max(0.05, min(s.housekeeping_interval, s.register_delay / 2 if s.register_delay > 0 else 1.0))
        while not self.stop_event.wait(interval):
            try:
                moved = records.register_due(self.ctx.db, s.register_delay)
                if moved:
                    logs.event("records_registered", count=moved)
                if time.time() - last_clean > 60:
                    records.housekeeping(self.ctx.db)
                    last_clean = time.time()
            except Exception as exc:  # noqa: BLE001 - keep the worker alive; the next pass retries
                logs.event("worker_error", logging.WARNING, error=type(exc).__name__)


def open_context(settings: Settings) -> Context:
    """Keys from the data folder and the migrated database, bound to each other."""
    keys = keymod.load_or_create(settings.data_dir)
    db = open_database(settings)
    db.bind_keys(keys.fingerprint())
    return Context(settings, db, keys)


def create_app(settings: Settings, ctx: Context | None = None) -> FastAPI:
    """The registry ASGI app; opens the context itself unless one is given."""
    ctx = ctx or open_context(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        worker = Worker(ctx)
        worker.start()
        logs.event("registry_started", backend=ctx.db.dialect, register_delay=settings.register_delay)
        yield
        worker.stop_event.set()
        worker.join(timeout=5)
        ctx.db.close()

    app = FastAPI(title="fieldapp registry", version=__version__, lifespan=lifespan,
                  description="Reference central registry for fieldapp: device enrollment, sealed batch intake "
                              "with signed receipts, record status. See docs/protocol.md.")
    app.state.ctx = ctx
    _install_handlers(app)
    from registry.routes import router

    app.include_router(router)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(AccessLog)
    return app
