"""Redis stops and starts under a running service: logins keep working, /ready says
degraded, and the limits are shared through Redis again once it is back."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import redis

from tests.faults.processes import PrivateRedis, Service, private_redis, report, serve, services
from tests.helpers import PASSWORD, unique_email

__all__ = ["private_redis", "services"]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PREFIX = "faults"
LOGIN_LIMIT = 5  # RATE_LIMIT_LOGIN's default: 5/minute for one email
BACK_WITHIN_SECONDS = 15.0  # the limiter tries Redis again every 5 s


def _checks(client: httpx.Client) -> dict[str, str]:
    response = client.get("/ready")
    assert response.status_code == 200, response.text
    checks: dict[str, str] = response.json()["checks"]
    return checks


def test_logins_work_while_redis_is_down_and_shared_limits_resume_when_it_is_back(
    private_redis: PrivateRedis, services: list[Service], tmp_path: Path
) -> None:
    env = {
        "ENVIRONMENT": "development",  # upgrades the new database's schema on start
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'redis.db'}",
        "SECRET_KEY": "faults-redis-secret-key-0123456789abcdef",
        "REDIS_URL": private_redis.url,
        "REDIS_KEY_PREFIX": PREFIX,
        "MAIL_WORKER_ENABLED": "false",
    }
    service, base_url = serve(env, tmp_path)
    services.append(service)
    store = redis.Redis.from_url(private_redis.url)
    timings: dict[str, float] = {}
    with httpx.Client(base_url=base_url, timeout=10) as client:

        def log_in(email: str) -> httpx.Response:
            return client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})

        emails = [unique_email("redis") for _ in range(3)]
        for email in emails:
            registered = client.post(
                "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
            )
            assert registered.status_code == 201, registered.text
        assert _checks(client)["redis"] == "ok"
        assert store.keys(f"{PREFIX}:*")  # the limits are counted in Redis

        private_redis.stop()
        assert _checks(client) == {"database": "ok", "redis": "degraded"}
        started = time.monotonic()
        down_login = log_in(emails[0])
        timings["login while down"] = time.monotonic() - started
        assert down_login.status_code == 200, down_login.text
        token = down_login.json()["access_token"]
        assert log_in(emails[0]).status_code == 200

        private_redis.start()
        back = time.monotonic()
        while _checks(client)["redis"] != "ok":
            assert time.monotonic() - back < BACK_WITHIN_SECONDS
            time.sleep(0.1)
        timings["ready ok again"] = time.monotonic() - back
        # The new Redis is empty: keys appear when the limiter counts there again.
        me = {"Authorization": f"Bearer {token}"}
        while not store.keys(f"{PREFIX}:*"):
            assert time.monotonic() - back < BACK_WITHIN_SECONDS
            assert client.get("/api/v1/users/me", headers=me).status_code == 200
            time.sleep(0.2)
        timings["limits shared again"] = time.monotonic() - back

        # A limit counted in Redis: refused at the sixth login, and forgotten with Redis's
        # data (a count in the process's memory would survive the flush).
        for _ in range(LOGIN_LIMIT):
            assert log_in(emails[1]).status_code == 200
        refused = log_in(emails[1])
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "RATE_LIMITED"
        store.flushdb()
        assert log_in(emails[1]).status_code == 200
    store.close()
    report("redis down/up (s)", timings)
