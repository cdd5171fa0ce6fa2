"""GET /metrics: Prometheus text with the series the operators need, for this machine
and the trusted proxies only unless METRICS_PUBLIC."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import assert_envelope, register, running, signed_up

OUTSIDER = "203.0.113.9"
PROXY = "10.0.0.5"


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


async def _get_from(
    app: FastAPI, peer: str, path: str = "/metrics", headers: dict[str, str] | None = None
) -> httpx.Response:
    """GET `path` on a running app from a connection whose peer address is `peer`."""
    transport = httpx.ASGITransport(app=app, client=(peer, 40000), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path, headers=headers)


def _without_request_fields(error: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in error.items() if k not in ("path", "timestamp", "request_id")}


async def test_metrics_answer_another_peer_like_an_unknown_path(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory()
    async with running(app):
        refused = await _get_from(app, OUTSIDER)
        unknown = await _get_from(app, OUTSIDER, "/no/such/path")
    error = assert_envelope(refused, 404, "NOT_FOUND")
    assert _without_request_fields(error) == _without_request_fields(unknown.json()["error"])
    assert "gatehouse_" not in refused.text


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.0.0.53", "::1"])
async def test_metrics_answer_loopback_peers(
    app_factory: Callable[..., FastAPI], peer: str
) -> None:
    app = app_factory()
    async with running(app):
        response = await _get_from(app, peer)
    assert response.status_code == 200, response.text
    assert "gatehouse_http_requests_total" in response.text


async def test_metrics_answer_a_trusted_proxy_but_not_the_clients_it_relays(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(TRUSTED_PROXIES=f"{PROXY}/32")
    async with running(app):
        from_the_proxy = await _get_from(app, PROXY)
        relayed = await _get_from(app, PROXY, headers={"X-Forwarded-For": OUTSIDER})
        forged = await _get_from(app, OUTSIDER, headers={"X-Forwarded-For": "127.0.0.1"})
    assert from_the_proxy.status_code == 200, from_the_proxy.text
    assert_envelope(relayed, 404, "NOT_FOUND")
    assert_envelope(forged, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    "header", [{"X-Forwarded-For": OUTSIDER}, {"Forwarded": f"for={OUTSIDER}"}]
)
async def test_metrics_refuse_what_an_unlisted_local_proxy_relays(
    app_factory: Callable[..., FastAPI], header: dict[str, str]
) -> None:
    app = app_factory()  # a proxy on this machine, not in TRUSTED_PROXIES
    async with running(app):
        relayed = await _get_from(app, "127.0.0.1", headers=header)
    assert_envelope(relayed, 404, "NOT_FOUND")


async def test_metrics_public_answers_everyone(app_factory: Callable[..., FastAPI]) -> None:
    app = app_factory(METRICS_PUBLIC=True)
    async with running(app):
        response = await _get_from(app, OUTSIDER)
    assert response.status_code == 200, response.text
    assert "gatehouse_http_requests_total" in response.text
