"""Redis goes away and comes back: the service keeps answering and shared limits resume."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import redis
from fastapi import FastAPI

from gatehouse.core.ratelimit import REDIS_RETRY_SECONDS
from tests.helpers import ManualClock, assert_envelope, running, unique_email

REDIS_SERVER = shutil.which("redis-server") or "redis-server"
pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """A throwaway redis-server on loopback, stopped by its PID."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.2).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def keys(self) -> list[bytes | str]:
        return list(redis.Redis(port=self.port).keys("*"))


@pytest.fixture
def redis_process() -> Iterator[RedisProcess]:
    server = RedisProcess()
    server.start()
    yield server
    server.stop()


async def _attempt(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": "some password"}
    )


async def test_limits_fall_back_to_memory_and_resume_on_redis(
    app_factory: Callable[..., FastAPI],
    redis_process: RedisProcess,
) -> None:
    clock = ManualClock()
    app = app_factory(
        {"clock": clock},
        RATE_LIMIT_ENABLED=True,
        RATE_LIMIT_LOGIN_IP="3/minute",
        REDIS_URL=f"redis://127.0.0.1:{redis_process.port}/0",
    )
    async with running(app) as client:
        assert (await _attempt(client)).status_code == 401
        assert redis_process.keys(), "limits should live in Redis while it is up"

        redis_process.stop()
        for _ in range(3):  # the first one notices Redis is gone; all are answered
            assert (await _attempt(client)).status_code == 401
        assert_envelope(await _attempt(client), 429, "RATE_LIMITED")  # memory limits hold
        ready = await client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"]["redis"] == "degraded"
        assert (await client.get("/health")).status_code == 200

        redis_process.start()  # empty: a fresh server
        clock.advance(REDIS_RETRY_SECONDS)  # the limiter tries Redis again
        for _ in range(3):
            assert (await _attempt(client)).status_code == 401
        assert_envelope(await _attempt(client), 429, "RATE_LIMITED")
        assert redis_process.keys(), "limits are shared through Redis again"
        assert (await client.get("/ready")).json()["checks"]["redis"] == "ok"
