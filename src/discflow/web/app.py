"""The FastAPI application: REST API under ``/api/v1``, errors as ``{"detail": ...}``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from discflow import __version__
from discflow.archive import BlobStore
from discflow.dispatcher import AgentRefused, Dispatcher, DispatcherThread, dispatcher_settings
from discflow.errors import (
    DeviceUnavailable,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
)
from discflow.labels import missing_glyphs
from discflow.mail import mail_services, mail_settings
from discflow.protocol import ErrorTable, install_plain_errors
from discflow.settings import Settings
from discflow.store import REVOKING_EVENTS, Database, IdempotencyKeyInUse, RevocationWatch
from discflow.web._admission import install_admission
from discflow.web._limits import BodySizeLimit
from discflow.web._metrics import MetricsMiddleware, render_metrics
from discflow.web._order_lane import ORDERS_PATH, OrderLane
from discflow.web._security import EdgeMiddleware, document_error_answers, metrics_allowed
from discflow.web.pages import SessionMiddleware, install_pages
from discflow.web.routes import agents, contents, devices, events, notices, orders

_STATUS: ErrorTable = (
    (NotFound, 404),
    (DeviceUnavailable, 503),
    (AgentRefused, 409),
    (PermissionDenied, 403),
    (IllegalTransition, 409),
    (IdempotencyKeyInUse, 409),
    (InvalidInput, 422),
    (QuotaExceeded, 429),
)


HEALTH_PATH = "/api/v1/health"
_HEALTHY = json.dumps({"status": "ok", "version": __version__}).encode()


def _meta_router() -> APIRouter:
    router = APIRouter(tags=["meta"])

    # documents the call; AnswerHealth answers it, with the same bytes
    @router.get("/health", response_model=dict[str, str])
    async def health() -> Response:
        return Response(_HEALTHY, media_type="application/json")

    return router


class AnswerHealth:
    """``GET /api/v1/health`` answered here, inside the edge and metrics layers (so it has
    the security headers and is counted under its route) and before everything else:
    a probe needs no session, body limit, routing or dependency machinery, which cost
    several times the answer. The FastAPI route stays for the schema (and HEAD's 405)."""

    _HEADERS = (
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_HEALTHY)).encode()),
    )

    def __init__(self, app: ASGIApp, *, route: BaseRoute) -> None:
        self.app = app
        self.route = route  # the metrics label is the route's, as if FastAPI had matched it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if (path[len(root) :] if root and path.startswith(root) else path) == HEALTH_PATH:
                scope["route"] = self.route
                headers = list(self._HEADERS)  # the edge layer adds to the list it is sent
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": _HEALTHY})
                return
        await self.app(scope, receive, send)


@asynccontextmanager
async def _hot_path(database: Database) -> AsyncIterator[None]:
    """The hot path's connections, and the watch that keeps this worker's principal
    cache honest while it serves (see ``store._caches``)."""
    await database.hot.backend.start()
    # the label fonts, read once here: the order route checks glyphs on the event loop
    await asyncio.to_thread(missing_glyphs, "")
    stop = asyncio.Event()
    watch = RevocationWatch(database.hot, REVOKING_EVENTS)
    task = asyncio.create_task(watch.run(stop), name="revocation-watch")
    try:
        yield
    finally:
        stop.set()
        await task
        await database.hot.backend.dispose()


class NotOnTheApi:
    """Runs ``middleware`` for every request but the API's (``/api/``): the pages' session
    middleware, whose cookie look-up an API call does not need (``web.deps`` authenticates
    API calls, a cookie-carrying one included) and whose layer it should not pay for."""

    def __init__(self, app: ASGIApp, *, middleware: type[Any], **options: Any) -> None:
        self.app = app
        self.wrapped: ASGIApp = middleware(app, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
        else:
            await self.wrapped(scope, receive, send)


def _keep_sessions_off_the_api(app: FastAPI) -> None:
    """``install_pages`` added the session middleware for every path: wrap it."""
    wrapped: list[Middleware] = []
    for entry in app.user_middleware:
        factory: Any = entry.cls
        if factory is SessionMiddleware:
            outer: Any = NotOnTheApi  # Middleware's factory protocol and ASGIApp's differ
            entry = Middleware(outer, *entry.args, middleware=factory, **entry.kwargs)
        wrapped.append(entry)
    app.user_middleware = wrapped


class WakeDispatcher:
    """After a change that succeeded (orders, cancellations, device actions), wake the
    in-process dispatcher at once instead of at its next poll. Heartbeats do not:
    what they change is logged, and the change feed carries that."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "OPTIONS")
            or scope["path"].endswith("/heartbeat")
        ):
            await self.app(scope, receive, send)
            return
        succeeded = False

        async def watch(message: Message) -> None:
            nonlocal succeeded
            if message["type"] == "http.response.start":
                succeeded = message["status"] < 400
            await send(message)

        await self.app(scope, receive, watch)
        dispatcher = getattr(scope["app"].state, "dispatcher", None)
        if succeeded and dispatcher is not None:
            dispatcher.wake()


def _route(router: APIRouter, path: str, method: str) -> BaseRoute:
    """The route object FastAPI leaves in the scope for ``method path`` (its router's own
    path: an included router's routes know only their part)."""
    for route in router.routes:
        if getattr(route, "path", None) == path and method in getattr(route, "methods", ()):
            return route
    raise LookupError(f"no route for {method} {path!r}")


def _install_lanes(app: FastAPI, meta: APIRouter, *, body_limit: int) -> None:
    """The hot calls' short ways past the layers added so far (health first, then a new
    order: see ``AnswerHealth`` and ``web._order_lane``); every other call passes through."""
    app.add_middleware(
        OrderLane, route=_route(orders.router, "/orders", "POST"), body_limit=body_limit
    )
    app.add_middleware(AnswerHealth, route=meta.routes[-1])


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    mail_settings(settings)  # a ConfigError here is one sentence, not a startup traceback
    database = database or Database(settings.resolved_database_url())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database.migrate()
        async with _hot_path(database), services(app):
            yield

    @asynccontextmanager
    async def services(app: FastAPI) -> AsyncIterator[None]:
        app.state.blobs.sweep_partials()
        # uploads cut short by a crash leave spool files behind; none is in use yet
        for leftover in (settings.archive_dir / "incoming").glob("*.upload"):
            leftover.unlink(missing_ok=True)
        async with mail_services(database, settings) as mail:
            app.state.mail = mail  # None unless DISCFLOW_SMTP_PORT or a relay is configured
            if not settings.run_dispatcher:
                yield
                return
            # on its own thread and loop: its database work and planning never hold up
            # a request (issue #19: they froze the server when they shared this loop)
            dispatcher = Dispatcher(database, app.state.blobs, dispatcher_settings(settings))
            app.state.dispatcher = dispatcher
            thread = DispatcherThread(dispatcher)
            thread.start()
            try:
                yield
            finally:
                await asyncio.to_thread(thread.stop)

    app = FastAPI(
        title="discflow",
        version=__version__,
        description="Duplication on demand for optical media.",
        lifespan=lifespan,
        # discflow exports Prometheus metrics (web._metrics), not OpenTelemetry; FastAPI's
        # native telemetry would otherwise ask three provider registries on every request
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.database = database
    app.state.blobs = BlobStore(settings.archive_dir)

    def limit_for(method: str, path: str) -> int:
        if method == "POST" and path.rstrip("/") in ("/api/v1/contents", "/floor/upload"):
            return settings.max_upload_bytes
        return settings.max_json_body_bytes

    app.add_middleware(WakeDispatcher)
    install_admission(app)
    app.add_middleware(BodySizeLimit, limit_for=limit_for)
    # routes are matched in the order they were added, one by one: the API's (the hottest
    # first) go before the pages, so an API call is not tried against every page first
    meta = _meta_router()
    app.include_router(meta, prefix="/api/v1")
    for router in (
        orders.router,
        contents.router,
        devices.router,
        events.router,
        agents.router,
        notices.router,
    ):
        app.include_router(router, prefix="/api/v1")
    install_pages(app, database=database)
    _keep_sessions_off_the_api(app)
    _install_lanes(app, meta, body_limit=limit_for("POST", ORDERS_PATH))
    app.add_middleware(MetricsMiddleware)
    # outermost: the client address it sets is the one every layer below sees
    app.add_middleware(EdgeMiddleware, trusted_proxies=settings.trusted_proxies)

    install_plain_errors(
        app,
        _STATUS,
        validation_hint=" (see /docs for the expected shape)",
        document=document_error_answers,
    )

    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(metrics_allowed)])
    def metrics() -> Response:
        body, content_type = render_metrics(database)
        return Response(body, media_type=content_type)

    return app
