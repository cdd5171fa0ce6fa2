"""Service routes: liveness and readiness."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from gatehouse.audit import service as audit_service
from gatehouse.core.config import Settings
from gatehouse.core.db import utcnow
from gatehouse.core.errors import NotFound, ServiceUnavailable
from gatehouse.core.metrics import Metrics
from gatehouse.core.middleware import parse_networks
from gatehouse.core.network import in_networks, is_loopback_host
from gatehouse.core.openapi import error_responses
from gatehouse.mail import retention as mail_retention
from gatehouse.mail import service as mail_service
from gatehouse.ops import housekeeping

logger = logging.getLogger(__name__)
router = APIRouter(tags=["ops"])

READY_TIMEOUT_SECONDS = 2.0
OBSERVED_EVENTS = ("login_succeeded", "login_failed", "refresh_reuse_detected")
# The message of routing's own 404, so a refused /metrics reads like an unknown path.
UNKNOWN_PATH_MESSAGE = HTTPStatus.NOT_FOUND.phrase


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


async def _check_database(request: Request) -> str:
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready"
        logger.warning("readiness: database check failed: %s", type(exc).__name__)
        return "down"
    return "ok"


async def _check_redis(request: Request) -> str:
    redis = request.app.state.redis
    if redis is None:
        return "not configured"
    try:
        await redis.ping()
    except Exception as exc:
        logger.warning("readiness: redis check failed: %s", type(exc).__name__)
        return "degraded"
    return "ok"


@router.get("/ready", responses=error_responses(ServiceUnavailable))
async def ready(request: Request) -> JSONResponse:
    """200 when the database answers, 503 otherwise.

    Redis, when configured, is reported but does not fail readiness: without it rate
    limits fall back to each process's memory (`redis: degraded`) and the service keeps
    answering; sessions and revocation live in the database.
    """
    checks: dict[str, Any] = {}
    with anyio.move_on_after(READY_TIMEOUT_SECONDS):
        checks["database"] = await _check_database(request)
    checks.setdefault("database", "timeout")
    with anyio.move_on_after(READY_TIMEOUT_SECONDS):
        checks["redis"] = await _check_redis(request)
    checks.setdefault("redis", "degraded")
    failing = [name for name in ("database",) if checks[name] != "ok"]
    if failing:
        raise ServiceUnavailable(f"Not ready: {', '.join(failing)}", details={"checks": checks})
    return JSONResponse({"status": "ready", "checks": checks})


@router.get("/.well-known/jwks.json", responses=error_responses(NotFound))
async def jwks(request: Request) -> dict[str, list[dict[str, Any]]]:
    """The public keys that verify access tokens (EdDSA, ES256 or RS256 only): the current
    one first, then those of JWT_PREVIOUS_PUBLIC_KEY_FILES; a token's `kid` names its key.

    With HS256 the key is the shared secret, so there is nothing to publish: 404.
    """
    keys = request.app.state.auth.codec.jwks
    if not keys:
        raise NotFound("No public key: access tokens are signed with a shared secret (HS256)")
    return {"keys": keys}


def may_read_metrics(request: Request, settings: Settings) -> bool:
    """Whether this request may read /metrics: anyone with METRICS_PUBLIC, otherwise only
    this machine and the trusted proxies themselves.

    The address is the client's as the request context middleware resolved it: the peer,
    or, when a trusted proxy relayed the request, the client that proxy names. So a
    request relayed for someone on the internet is refused even though its peer is
    trusted. A loopback peer that is not a trusted proxy but forwards for someone
    (X-Forwarded-For or Forwarded) is an unlisted local proxy: refused too.
    """
    if settings.METRICS_PUBLIC:
        return True
    host = request.client.host if request.client else ""
    if in_networks(host, parse_networks(settings.TRUSTED_PROXIES)):
        return True
    relayed = "x-forwarded-for" in request.headers or "forwarded" in request.headers
    return is_loopback_host(host) and not relayed


@router.get("/metrics", response_class=PlainTextResponse, responses=error_responses(NotFound))
async def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text: requests and latency by route, login outcomes, refresh reuse,
    rate-limit refusals, the outbox and its queue, the tables retention looks after (rows
    and oldest row, as the last housekeeping pass counted) and the database pool.

    Only for loopback and TRUSTED_PROXIES clients unless METRICS_PUBLIC; anyone else gets
    the same 404 as an unknown path, so the endpoint is not advertised.
    """
    state = request.app.state
    if not may_read_metrics(request, state.settings):
        raise NotFound(UNKNOWN_PATH_MESSAGE)
    registry: Metrics = state.metrics
    async with state.sessionmaker() as db:
        outbox = await mail_service.status(db)
        events = await audit_service.count_by_kind(db, OBSERVED_EVENTS)
        queue = await mail_retention.queue_stats(db)
        last_pass = await housekeeping.last_pass(db)
    now = utcnow()
    registry.mail_queue_depth.set(queue.depth)
    registry.mail_oldest_pending_age.set(
        (now - queue.oldest).total_seconds() if queue.oldest else 0
    )
    if last_pass is not None:
        registry.housekeeping_last_run.set(last_pass.ran_at.timestamp())
        for table, stats in last_pass.tables.items():
            registry.table_rows.labels(table).set(stats.rows)
            age = (now - stats.oldest).total_seconds() if stats.oldest else 0
            registry.table_oldest_age.labels(table).set(age)
    for name in ("pending", "sent", "failed"):
        registry.outbox.labels(name).set(getattr(outbox, name))
    for kind, count in events.items():
        registry.audit_events.labels(kind).set(count)
    pool = state.engine.pool
    registry.db_pool_in_use.set(pool.checkedout() if hasattr(pool, "checkedout") else 0)
    return PlainTextResponse(
        generate_latest(registry.registry).decode("utf-8"), media_type=CONTENT_TYPE_LATEST
    )
