"""Service routes: liveness and readiness."""

from __future__ import annotations

import logging
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from gatehouse.core.errors import NotFound, ServiceUnavailable
from gatehouse.core.openapi import error_responses

logger = logging.getLogger("gatehouse.ops")
router = APIRouter(tags=["ops"])

READY_TIMEOUT_SECONDS = 2.0


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
        return "down"
    return "ok"


@router.get("/ready", responses=error_responses(503))
async def ready(request: Request) -> JSONResponse:
    """200 when the database (and Redis, when configured) answer; 503 otherwise."""
    checks: dict[str, Any] = {}
    with anyio.move_on_after(READY_TIMEOUT_SECONDS):
        checks["database"] = await _check_database(request)
    checks.setdefault("database", "timeout")
    with anyio.move_on_after(READY_TIMEOUT_SECONDS):
        checks["redis"] = await _check_redis(request)
    checks.setdefault("redis", "timeout")
    failing = [name for name, state in checks.items() if state not in ("ok", "not configured")]
    if failing:
        raise ServiceUnavailable(f"Not ready: {', '.join(failing)}", details={"checks": checks})
    return JSONResponse({"status": "ready", "checks": checks})


@router.get("/.well-known/jwks.json", responses=error_responses(404))
async def jwks(request: Request) -> dict[str, list[dict[str, Any]]]:
    """The public key that verifies access tokens (EdDSA, ES256 or RS256 only).

    With HS256 the key is the shared secret, so there is nothing to publish: 404.
    """
    jwk = request.app.state.token_codec.public_jwk
    if jwk is None:
        raise NotFound("No public key: access tokens are signed with a shared secret (HS256)")
    return {"keys": [jwk]}
