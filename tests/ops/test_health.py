"""Liveness and readiness."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TEST_REDIS_URL
from tests.helpers import assert_envelope, running


async def test_health_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_not_ready_when_the_database_is_down(app_factory: Callable[..., FastAPI]) -> None:
    app = app_factory(DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    async with running(app) as client:
        response = await client.get("/ready")
    error = assert_envelope(response, 503, "SERVICE_UNAVAILABLE")
    assert error["details"]["checks"]["database"] in ("down", "timeout")


@pytest.mark.skipif(TEST_REDIS_URL is None, reason="TEST_REDIS_URL is not set")
async def test_ready_checks_redis_when_configured(app_factory: Callable[..., FastAPI]) -> None:
    async with running(app_factory(REDIS_URL=TEST_REDIS_URL)) as client:
        response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == "ok"


async def test_ready_but_degraded_when_configured_redis_is_down(
    app_factory: Callable[..., FastAPI],
) -> None:
    async with running(app_factory(REDIS_URL="redis://127.0.0.1:1/0")) as client:
        response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == "degraded"
