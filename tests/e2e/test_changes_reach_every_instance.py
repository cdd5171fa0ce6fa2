"""What ends or narrows access takes effect at the next request on every instance.

Two real `gatehouse serve` processes share one database (a SQLite file, or PostgreSQL with
Redis): a change made through one is seen by the other's very next request. The caller of
an authenticated request is read afresh each time (`KeyReader`), never cached, so there
is nothing to propagate; these tests are what holds that in place.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import TEST_REDIS_URL
from tests.helpers import PASSWORD, unique_email

ADMIN_EMAIL = "admin@example.com"
NEW_PASSWORD = "a different passphrase 42"


@pytest.fixture
def instances(
    database_url: str, start_server: Callable[..., str], isolated_redis_prefix: str
) -> tuple[httpx.Client, httpx.Client]:
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "two-instances-secret-key-0123456789abcdef",
        "MAIL_WORKER_ENABLED": "false",
        "RATE_LIMIT_ENABLED": "false",
        "FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
        "FIRST_ADMIN_PASSWORD": PASSWORD,
        "ARGON2_MEMORY_COST_KIB": "1024",
        "ARGON2_TIME_COST": "1",
    }
    if database_url.startswith("postgresql") and TEST_REDIS_URL:
        env |= {"REDIS_URL": TEST_REDIS_URL, "REDIS_KEY_PREFIX": isolated_redis_prefix}
    first = start_server(**env)
    second = start_server(**env)
    return httpx.Client(base_url=first, timeout=10), httpx.Client(base_url=second, timeout=10)


def _bearer(client: httpx.Client, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _register(client: httpx.Client) -> str:
    email = unique_email("twin")
    response = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return email


def _refused(client: httpx.Client, headers: dict[str, str]) -> None:
    response = client.get("/api/v1/users/me", headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "INVALID_TOKEN"


def test_logout_and_logout_all_on_one_refuse_the_tokens_on_the_other(
    instances: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = instances
    email = _register(a)
    first, second, third = _bearer(a, email), _bearer(b, email), _bearer(a, email)
    assert b.get("/api/v1/users/me", headers=first).status_code == 200
    assert a.post("/api/v1/auth/logout", headers=first).status_code == 204
    _refused(b, first)
    assert b.get("/api/v1/tasks", headers=second).status_code == 200
    assert a.post("/api/v1/auth/logout-all", headers=third).status_code == 204
    _refused(b, second)
    assert b.get("/api/v1/tasks", headers=second).status_code == 401


def test_deactivation_and_role_change_on_one_apply_on_the_other(
    instances: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = instances
    admin = _bearer(a, ADMIN_EMAIL)
    email = _register(a)
    user = _bearer(b, email)
    me = b.get("/api/v1/users/me", headers=user).json()
    assert me["role"] == "user"

    promoted = a.patch(f"/api/v1/users/{me['id']}", headers=admin, json={"role": "admin"})
    assert promoted.status_code == 200, promoted.text
    assert b.get("/api/v1/users/me", headers=user).json()["role"] == "admin"
    assert b.get("/api/v1/users", headers=user).status_code == 200
    demoted = a.patch(f"/api/v1/users/{me['id']}", headers=admin, json={"role": "user"})
    assert demoted.status_code == 200, demoted.text
    assert b.get("/api/v1/users", headers=user).status_code == 403

    renamed = a.patch("/api/v1/users/me", headers=user, json={"full_name": "Ada Twin"})
    assert renamed.status_code == 200, renamed.text
    assert b.get("/api/v1/users/me", headers=user).json()["full_name"] == "Ada Twin"

    deactivated = a.patch(f"/api/v1/users/{me['id']}", headers=admin, json={"is_active": False})
    assert deactivated.status_code == 200, deactivated.text
    _refused(b, user)
    assert b.post("/api/v1/tasks", headers=user, json={"title": "x"}).status_code == 401


def test_a_password_change_on_one_ends_the_other_sessions_on_the_other(
    instances: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = instances
    email = _register(a)
    kept, other = _bearer(a, email), _bearer(b, email)
    changed = a.post(
        "/api/v1/auth/change-password",
        headers=kept,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code in (200, 204), changed.text
    _refused(b, other)
    assert b.get("/api/v1/tasks", headers=other).status_code == 401
    assert b.get("/api/v1/users/me", headers=_bearer(b, email, NEW_PASSWORD)).status_code == 200
