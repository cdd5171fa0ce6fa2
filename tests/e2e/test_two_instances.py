"""Two real service processes on one PostgreSQL and one Redis behave as one service."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import TEST_REDIS_URL
from tests.helpers import PASSWORD, unique_email


@pytest.fixture
def instances(
    database_url: str, start_server: Callable[..., str], isolated_redis_prefix: str
) -> tuple[httpx.Client, httpx.Client]:
    if not database_url.startswith("postgresql") or not TEST_REDIS_URL:
        pytest.skip("needs TEST_DATABASE_URL and TEST_REDIS_URL")
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "REDIS_KEY_PREFIX": isolated_redis_prefix,
        "SECRET_KEY": "two-instances-secret-key-0123456789abcdef",
        "MAIL_WORKER_ENABLED": "false",
    }
    first, second = start_server(**env), start_server(**env)
    return httpx.Client(base_url=first, timeout=10), httpx.Client(base_url=second, timeout=10)


def _login(client: httpx.Client, email: str) -> httpx.Response:
    return client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})


def _register(client: httpx.Client) -> str:
    email = unique_email("twin")
    response = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return email


def test_logout_on_one_instance_refuses_the_token_on_the_other(
    instances: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = instances
    email = _register(a)
    token = _login(a, email).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert b.get("/api/v1/users/me", headers=headers).status_code == 200
    assert a.post("/api/v1/auth/logout", headers=headers).status_code == 204
    refused = b.get("/api/v1/users/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "INVALID_TOKEN"


def test_the_login_limit_counts_across_both_instances(
    instances: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = instances
    email = _register(a)
    for client in (a, b, a, b, a):
        assert _login(client, email).status_code == 200
    sixth = _login(b, email)
    assert sixth.status_code == 429
    assert sixth.json()["error"]["code"] == "RATE_LIMITED"
    assert int(sixth.headers["retry-after"]) >= 1


def test_refresh_on_one_and_reuse_on_the_other_ends_the_session_everywhere(
    instances: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = instances
    email = _register(a)
    first = _login(a, email).json()
    second = a.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()
    reuse = b.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    headers = {"Authorization": f"Bearer {second['access_token']}"}
    assert a.get("/api/v1/users/me", headers=headers).status_code == 401
    assert b.get("/api/v1/users/me", headers=headers).status_code == 401
    assert (
        a.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}).status_code
        == 401
    )
