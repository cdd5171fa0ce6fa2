"""HTTP basics: the envelope on every failure, request ids, security headers, OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import PASSWORD, assert_envelope, bearer, running, signed_up


async def test_unknown_route_is_404_in_the_envelope(client: httpx.AsyncClient) -> None:
    error = assert_envelope(await client.get("/no/such/route"), 404, "NOT_FOUND")
    assert error["details"] == {}
    assert error["timestamp"].endswith("Z")


async def test_wrong_method_is_405_in_the_envelope(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.delete("/health"), 405, "METHOD_NOT_ALLOWED")


async def test_validation_errors_list_the_fields(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/login", json={"email": 3})
    error = assert_envelope(response, 422, "VALIDATION_ERROR")
    locations = [field["loc"] for field in error["details"]["fields"]]
    assert ["body", "password"] in locations
    assert all("msg" in field for field in error["details"]["fields"])


async def test_malformed_json_is_422_not_500(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, 422, "VALIDATION_ERROR")


async def test_a_crash_is_500_in_the_envelope_without_leaking(app: FastAPI) -> None:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("SELECT password_hash FROM users -- secret detail")

    async with running(app) as client:
        response = await client.get("/boom", headers={"X-Request-ID": "crash-1"})
    error = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert error["request_id"] == "crash-1"
    assert "SELECT" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/health")
    assert len(generated.headers["x-request-id"]) == 32
    hostile = await client.get("/health", headers={"X-Request-ID": "a b<script>"})
    assert hostile.headers["x-request-id"] != "a b<script>"
    assert len(hostile.headers["x-request-id"]) == 32


async def test_security_headers_on_every_response(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/health"),
        await client.get("/missing"),
        await client.post("/api/v1/auth/login", json={}),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers


async def test_hsts_only_over_https(app: FastAPI) -> None:
    async with running(app) as client:
        response = await client.get("https://testserver/health")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_openapi_publishes_the_bearer_scheme_and_error_envelope(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("type") == "oauth2" or s.get("scheme") == "bearer" for s in schemes.values())
    me = spec["paths"]["/api/v1/users/me"]["get"]
    assert me["security"]
    assert me["operationId"] == "users-read_me"
    assert "ErrorEnvelope" in spec["components"]["schemas"]
    assert (await client.get("/docs")).status_code == 200


async def test_cors_is_off_unless_origins_are_configured(
    client: httpx.AsyncClient, app_factory: Callable[..., FastAPI]
) -> None:
    plain = await client.get("/health", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in plain.headers
    async with running(app_factory(CORS_ORIGINS="https://app.example")) as cors:
        allowed = await cors.get("/health", headers={"Origin": "https://app.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"


PRIVATE_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/v1/users/me", {}),  # 401
    ("POST", "/api/v1/auth/login", {"json": {}}),  # 422
    ("POST", "/api/v1/auth/forgot-password", {"json": {"email": "nobody@example.com"}}),
    ("GET", "/api/v1/no-such-route", {}),  # 404
    ("GET", "/api/v1/tasks/", {}),  # 307 to the canonical path
    ("POST", "/api/00000000-0000-0000-0000-000000000000/chat", {"json": {}}),
    ("POST", "/users", {"data": {}}),
    ("POST", "/sessions", {"data": {}}),
    ("DELETE", "/sessions", {}),
    ("GET", "/profile", {}),
    ("POST", "/reset_password", {"data": {}}),
    ("PUT", "/reset_password", {"data": {}}),
]
PUBLIC_REQUESTS = ["/", "/health", "/ready", "/metrics", "/docs", "/redoc", "/openapi.json"]


@pytest.mark.parametrize(("method", "path", "body"), PRIVATE_REQUESTS)
async def test_private_answers_are_never_cached(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any]
) -> None:
    response = await client.request(method, path, **body)
    assert response.headers.get_list("cache-control") == ["no-store"], response.status_code


async def test_user_data_and_tokens_are_never_cached(app: FastAPI) -> None:
    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("crash")

    async with running(app) as client:
        account = await signed_up(client)  # register (201) and login: tokens
        me = await client.get("/api/v1/users/me", headers=bearer(account["access_token"]))
        login = await client.post(
            "/api/v1/auth/login",
            json={"email": account["user"]["email"], "password": PASSWORD},
        )
        crash = await client.get("/api/v1/boom")
    assert me.status_code == 200
    assert login.status_code == 200
    assert crash.status_code == 500
    for response in (me, login, crash):
        # Once: the token answers set it themselves, and the middleware does not repeat it.
        assert response.headers.get_list("cache-control") == ["no-store"]
    assert login.headers["pragma"] == "no-cache"


@pytest.mark.parametrize("path", PUBLIC_REQUESTS)
async def test_service_routes_and_docs_may_be_cached(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert "no-store" not in response.headers.get("cache-control", "")
