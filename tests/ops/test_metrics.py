"""GET /metrics: Prometheus text with the series the operators need."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import FastAPI

from tests.helpers import register, running, signed_up


async def test_metrics_cover_requests_logins_limits_outbox_and_pool(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(RATE_LIMIT_ENABLED=True, RATE_LIMIT_DEFAULT="1/minute")
    async with running(app) as client:
        user = await register(client)
        await client.post(
            "/api/v1/auth/login", json={"email": user["email"], "password": "bad password"}
        )
        await client.get("/api/v1/tasks/123")
        await client.get("/api/v1/tasks/456")  # over the default limit: 429
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'gatehouse_http_requests_total{method="POST",route="/api/v1/auth/register",status="201"} 1.0'
        in text
    )
    assert 'route="/api/v1/tasks/{task_id}",status="401"' in text
    assert "/api/v1/tasks/123" not in text  # templates, never raw paths
    assert (
        'gatehouse_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/auth/login"}'
        in text
    )
    assert 'gatehouse_audit_events{kind="login_failed"} 1.0' in text
    assert 'gatehouse_audit_events{kind="refresh_reuse_detected"} 0.0' in text
    assert 'gatehouse_rate_limited_total{limit="default"} 1.0' in text
    assert 'gatehouse_mail_outbox_messages{state="pending"} 1.0' in text
    assert "gatehouse_db_pool_connections_in_use" in text


async def test_metrics_count_unmatched_paths_under_one_label(client: httpx.AsyncClient) -> None:
    await signed_up(client)
    await client.get("/no/such/page/42")
    text = (await client.get("/metrics")).text
    assert 'route="unmatched",status="404"' in text
    assert "/no/such/page/42" not in text
