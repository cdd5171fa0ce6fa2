"""PostgreSQL stops under a running service and starts again: the service says so (503,
never a 500 or a hang) and recovers on its own, without a restart."""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.exc import TimeoutError as SATimeoutError

from gatehouse.core.db import PG_CONNECT_TIMEOUT_SECONDS
from gatehouse.main import create_app
from tests.conftest import make_settings
from tests.faults.processes import PrivatePostgres, gatehouse, private_postgres, report
from tests.helpers import PASSWORD, running, unique_email

__all__ = ["private_postgres"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
ANSWER_WITHIN_SECONDS = 5.0
RECOVER_WITHIN_SECONDS = 10.0


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE", error
    assert error["request_id"] == response.headers["x-request-id"]


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_postgres_down_gives_503_and_the_service_recovers_when_it_is_back(
    private_postgres: PrivatePostgres, start_server: Callable[..., str], tmp_path: Path
) -> None:
    env = {
        "DATABASE_URL": private_postgres.url,
        "SECRET_KEY": "faults-postgres-secret-key-0123456789abcdef",
    }
    gatehouse("db", "upgrade", env=env, cwd=tmp_path)
    base_url = start_server(**env)
    email = unique_email("pgdown")
    credentials = {"email": email, "password": PASSWORD}
    # The client's own timeout is the "never a hang" bound: a slow answer fails the test.
    with httpx.Client(base_url=base_url, timeout=ANSWER_WITHIN_SECONDS + 1) as client:
        assert client.post("/api/v1/auth/register", json=credentials).status_code == 201
        tokens = client.post("/api/v1/auth/login", json=credentials).json()
        me = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert client.get("/api/v1/users/me", headers=me).status_code == 200

        private_postgres.stop("immediate")
        assert client.get("/health").status_code == 200
        ready, ready_took = _timed(lambda: client.get("/ready"))
        _unavailable(ready)
        assert ready.json()["error"]["details"]["checks"]["database"] != "ok"
        calls: dict[str, Callable[[], httpx.Response]] = {
            "me": lambda: client.get("/api/v1/users/me", headers=me),
            "login": lambda: client.post("/api/v1/auth/login", json=credentials),
            "refresh": lambda: client.post(
                "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            ),
            "tasks": lambda: client.post("/api/v1/tasks", json={"title": "t"}, headers=me),
        }
        timings = {"ready": ready_took}
        for name, call in calls.items():
            response, took = _timed(call)
            _unavailable(response)
            assert took < ANSWER_WITHIN_SECONDS, (name, took)
            timings[name] = took

        private_postgres.start()
        back = time.monotonic()
        while True:
            response = client.get("/api/v1/users/me", headers=me)
            if response.status_code == 200:
                break
            _unavailable(response)  # until then, still a clean 503
            assert time.monotonic() - back < RECOVER_WITHIN_SECONDS, response.text
            time.sleep(0.1)
        timings["recovered"] = time.monotonic() - back
        assert client.get("/ready").status_code == 200
        assert client.post("/api/v1/auth/login", json=credentials).status_code == 200
    report("postgres down/up (s)", timings)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


async def test_a_database_that_never_answers_gives_503_within_the_connect_timeout(
    silent_port: int,
) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{silent_port}/postgres"
    app = create_app(make_settings(url, MAIL_WORKER_ENABLED=False))
    credentials = {"email": unique_email("hung"), "password": PASSWORD}
    async with running(app) as client:
        started = time.monotonic()
        response = await client.post("/api/v1/auth/login", json=credentials)
        took = time.monotonic() - started
    _unavailable(response)
    assert PG_CONNECT_TIMEOUT_SECONDS <= took < ANSWER_WITHIN_SECONDS, took
    report("database never answers (s)", {"login 503 after": took})


def _raising(error: Exception) -> Callable[[], Awaitable[None]]:
    async def route() -> None:
        raise error

    return route


async def test_only_connection_failures_are_503_and_other_database_errors_stay_500(
    tmp_path: Path,
) -> None:
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"))
    lost = DBAPIError("SELECT 1", {}, Exception("server closed the connection"))
    lost.connection_invalidated = True
    routes = {
        "/lost": lost,  # any DBAPIError whose connection went away
        "/refused": ConnectionRefusedError(111, "Connection refused"),
        "/pool": SATimeoutError("QueuePool limit reached"),
        "/bug": ProgrammingError("SELECT nope", {}, Exception("syntax error")),
    }
    for path, error in routes.items():
        app.add_api_route(path, _raising(error))
    async with running(app) as client:
        for path in ("/lost", "/refused", "/pool"):
            _unavailable(await client.get(path))
        bug = await client.get("/bug")
    assert bug.status_code == 500
    assert bug.json()["error"]["code"] == "INTERNAL_ERROR"
