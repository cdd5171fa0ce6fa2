"""Prometheus metrics: one registry per app (built in the lifespan, never a global)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gatehouse_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gatehouse_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "gatehouse_rate_limited_total",
            "Requests refused by a rate limit, by limit.",
            ["limit"],
            registry=self.registry,
        )
        self.audit_events = Gauge(
            "gatehouse_audit_events",
            "Security events recorded (all instances): login outcomes, refresh reuse.",
            ["kind"],
            registry=self.registry,
        )
        self.outbox = Gauge(
            "gatehouse_mail_outbox_messages",
            "Outbox messages by state.",
            ["state"],
            registry=self.registry,
        )
        self.table_rows = Gauge(
            "gatehouse_table_rows",
            "Rows of each table retention looks after, as the last housekeeping pass counted.",
            ["table"],
            registry=self.registry,
        )
        self.table_oldest_age = Gauge(
            "gatehouse_table_oldest_row_age_seconds",
            "Age of the oldest row of each such table (as of the last housekeeping pass's "
            "count, aged to now).",
            ["table"],
            registry=self.registry,
        )
        self.housekeeping_last_run = Gauge(
            "gatehouse_housekeeping_last_run_timestamp_seconds",
            "When the last housekeeping pass ran (Unix time; 0 before the first).",
            registry=self.registry,
        )
        self.mail_queue_depth = Gauge(
            "gatehouse_mail_queue_depth",
            "Outbox messages waiting to be sent (not sent, not failed for good).",
            registry=self.registry,
        )
        self.mail_oldest_pending_age = Gauge(
            "gatehouse_mail_oldest_pending_age_seconds",
            "Age of the oldest message waiting to be sent (0 when none waits).",
            registry=self.registry,
        )
        self.db_pool_in_use = Gauge(
            "gatehouse_db_pool_connections_in_use",
            "Database connections checked out of this process's pool.",
            registry=self.registry,
        )


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (never the raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
