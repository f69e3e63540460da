"""Prometheus metrics for ``/metrics``: HTTP traffic, orders and requests.

Invariants:
- HTTP metrics are labelled by the route *template* (``/api/v1/orders/{order_id}``),
  never by the raw path, so label cardinality stays bounded; unmatched paths
  share the label ``unmatched``.
- Business figures (orders placed, requests per state) are read from the
  database at scrape time, so every API worker, the dispatcher and the mail
  server report the same truth and a restart does not reset them.
- With several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` must be set before
  this module is imported; the scrape then sums every worker's files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from discflow.domain import RequestState
from discflow.store import Database, Order, Request

__all__ = [
    "HTTP_LATENCY",
    "HTTP_REQUESTS",
    "MetricsMiddleware",
    "StoreCollector",
    "render_metrics",
]

HTTP_REQUESTS = Counter(
    "discflow_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ("method", "route", "status"),
)
HTTP_LATENCY = Histogram(
    "discflow_http_request_duration_seconds",
    "Time from request start to the last byte of the response, by route template.",
    ("method", "route"),
    # API calls take milliseconds; uploads and streams can take minutes
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0),
)


def _route_template(scope: Scope) -> str:
    """``/api/v1/orders/{order_id}`` for a request to ``/api/v1/orders/ORD-1``.

    The router leaves the matched route in the (shared) scope, but a route of an
    included router knows only its own part of the path ("/{order_id}"), so the
    router's prefix is taken from the real path: everything before the segments
    the route's own template spans.
    """
    template = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str):
        return "unmatched"
    if ":path}" in template:  # spans any number of segments: the prefix is unknowable
        return template
    own = template.count("/")
    segments = str(scope.get("path", "")).rstrip("/").split("/")
    prefix = "/".join(segments[: len(segments) - own]) if own else "/".join(segments)
    return prefix + template if own else prefix or "/"


class MetricsMiddleware:
    """Counts and times every HTTP request (pure ASGI, so streaming stays streaming).

    The label children are looked up once per (method, route, status) and kept: the
    route template is worked out, and ``labels()`` called, only the first time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, int, int], tuple[Counter, Histogram]] = {}

    def _children_for(self, scope: Scope, status: int) -> tuple[Counter, Histogram]:
        method = str(scope.get("method", "GET"))
        # a route object is included under one prefix only, so it names one template; it
        # lives as long as the app (so its id is never reused) and is not hashable itself
        route_object = scope.get("route")
        key = (method, id(route_object), status)
        found = self._children.get(key)
        if found is None:
            route = _route_template(scope)
            found = (
                HTTP_REQUESTS.labels(method, route, str(status)),
                HTTP_LATENCY.labels(method, route),
            )
            if route_object is not None and len(self._children) < 10_000:
                self._children[key] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            requests, latency = self._children_for(scope, status)
            requests.inc()
            latency.observe(time.perf_counter() - started)


class StoreCollector(Collector):
    """Orders placed (by source) and requests (by state), counted in the database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterable[Metric]:
        orders = CounterMetricFamily(
            "discflow_orders",
            "Orders placed since the database was created, by source (api, web, mail, cli).",
            labels=("source",),
        )
        requests = GaugeMetricFamily(
            "discflow_requests", "Requests now in each state.", labels=("state",)
        )
        with self.database.transaction() as session:
            for source, count in session.execute(
                select(Order.source, func.count()).group_by(Order.source)
            ):
                orders.add_metric([source], count)
            by_state = dict(
                session.execute(select(Request.state, func.count()).group_by(Request.state)).all()
            )
        # every state appears, zero included, so dashboards and alerts need no absent()
        for state in RequestState:
            requests.add_metric([state.value], by_state.get(state.value, 0))
        yield orders
        yield requests


def _process_metrics() -> Iterator[bytes]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        yield generate_latest(registry)
    else:
        yield generate_latest(REGISTRY)


def render_metrics(database: Database) -> tuple[bytes, str]:
    """The text exposition of every metric, and its content type."""
    store = CollectorRegistry(auto_describe=False)
    store.register(StoreCollector(database))
    body = b"".join([*_process_metrics(), generate_latest(store)])
    return body, CONTENT_TYPE_LATEST
