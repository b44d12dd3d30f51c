"""The FastAPI application: context, the guard (registry/guard.py), error mapping, background worker.

Every refusal is a 4xx ``{"error": reason_code, "detail": ...}``; request validation
errors become 400 ``malformed`` listing the failing locations and error types only (never
the submitted values). A lock that persists becomes 503 ``busy`` with ``Retry-After``; a full
disk or failing storage becomes 503 ``disk_full`` / ``storage_unavailable`` with ``Retry-After``
(registry/failures.py), and ``GET /v1/health`` says so while it lasts.
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

from registry import __version__, failures, keys as keymod, logs, records
from registry.config import Settings
from registry.errors import ApiError, BatchRefused
from registry.guard import Guard
from registry.storage import Busy, Database, open_database


@dataclass
class Context:
    """What every request handler needs."""

    settings: Settings
    db: Database
    keys: keymod.RegistryKeys
    health: failures.StorageHealth | None = None

    def __post_init__(self) -> None:
        if self.health is None:
            sqlite = self.db.dialect == "sqlite"
            self.health = failures.StorageHealth(self.settings.data_dir if sqlite else None)


def error(status: int, reason: str, detail=None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": reason, "detail": detail}, status_code=status, headers=headers)


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

    async def storage(req: Request, exc: Exception):  # handled here, so never re-raised to the server's log
        ctx = req.app.state.ctx
        reason = failures.classify(exc, ctx.settings.data_dir)
        if reason is None:
            logs.event("internal_error", logging.ERROR, path=req.url.path[:100], error=type(exc).__name__)
            return error(500, "internal_error", None)
        ctx.health.failed(reason)
        logs.event("storage_failed", logging.WARNING, reason=reason, path=req.url.path[:100], error=type(exc).__name__)
        return error(503, reason, "storage is failing; retry later", {"Retry-After": str(failures.RETRY_AFTER[reason])})

    for cls in failures.storage_exceptions():
        app.add_exception_handler(cls, storage)

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
        wait, failing, repeats, logged = interval, None, 0, 0.0
        while not self.stop_event.wait(wait):
            self.ctx.health.refresh()
            try:
                moved = records.register_due(self.ctx.db, s.register_delay)
                if moved:
                    logs.event("records_registered", count=moved)
                    self.ctx.health.succeeded()
                if time.time() - last_clean > 60:
                    records.housekeeping(self.ctx.db)
                    last_clean = time.time()
                wait, failing, repeats = interval, None, 0
            except Exception as exc:  # noqa: BLE001 - keep the worker alive; the next pass retries
                reason = failures.classify(exc, s.data_dir)
                if reason:
                    self.ctx.health.failed(reason)
                # one line when a failure starts or changes, then one a minute, not one a pass; back off to 5 s
                kind, repeats = (reason, type(exc).__name__), repeats + 1
                if kind != failing or time.monotonic() - logged >= 60:
                    logs.event("worker_error", logging.WARNING, error=kind[1], reason=reason, repeats=repeats)
                    logged = time.monotonic()
                failing, wait = kind, min(5.0, wait * 2)


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
    app.add_middleware(Guard, ctx=ctx)
    app.add_middleware(AccessLog)
    return app
