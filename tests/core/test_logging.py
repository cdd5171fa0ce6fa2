"""Logs: JSON lines with request_id in production, and never a password, token or the full
email of a failed login."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable

import pytest
from fastapi import FastAPI

from gatehouse.core.logging import JsonFormatter
from gatehouse.tasks.models import Task
from tests.helpers import PASSWORD, assert_envelope, running, signed_up, unique_email


async def test_no_secret_reaches_the_logs(
    app_factory: Callable[..., FastAPI], caplog: pytest.LogCaptureFixture
) -> None:
    app = app_factory(RATE_LIMIT_ENABLED=True, RATE_LIMIT_LOGIN="2/minute")
    ghost = unique_email("ghost")
    with caplog.at_level(logging.DEBUG):
        async with running(app) as client:
            account = await signed_up(client)
            email = account["user"]["email"]
            for _ in range(3):
                await client.post(
                    "/api/v1/auth/login", json={"email": email, "password": "wrong guess 1"}
                )
            await client.post(
                "/api/v1/auth/login", json={"email": ghost, "password": "wrong guess 2"}
            )
            refresh = account["refresh_token"]
            await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
            await client.post(
                "/api/v1/auth/refresh", json={"refresh_token": refresh}
            )  # reuse: logged
    text = caplog.text
    assert "refresh token reuse detected" in text
    for secret in (
        PASSWORD,
        "wrong guess 1",
        "wrong guess 2",
        account["access_token"],
        refresh,
        ghost,
    ):
        assert secret not in text


def test_production_lines_are_json_with_the_request_id() -> None:
    record = logging.LogRecord(
        "gatehouse.test", logging.WARNING, __file__, 1, "hello %s", ("there",), None
    )
    record.request_id = "req-42"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello there"
    assert line["request_id"] == "req-42"
    assert line["level"] == "WARNING"
    assert line["logger"] == "gatehouse.test"


async def test_a_failed_statement_is_logged_without_its_parameters(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """The engine hides SQL parameters: a statement that fails (a task whose owner does not
    exist, an IntegrityError on every backend) is logged with its SQL, never its values."""
    secret = f"secret-title-{uuid.uuid4().hex}"

    @app.get("/fails")
    async def fails() -> None:
        async with app.state.sessionmaker() as db:
            db.add(Task(user_id=uuid.uuid4(), title=secret, description=secret))
            await db.commit()

    with caplog.at_level(logging.DEBUG):
        async with running(app) as client:
            response = await client.get("/fails")
    assert_envelope(response, 500, "INTERNAL_ERROR")
    assert "IntegrityError" in caplog.text
    assert "INSERT INTO tasks" in caplog.text
    assert "[SQL parameters hidden due to hide_parameters=True]" in caplog.text
    assert secret not in caplog.text


@pytest.mark.parametrize(
    "parameter",
    ["token", "access_token", "refresh_token", "code", "password", "Token", "reset_token"],
)
def test_the_access_log_redacts_secret_query_values(
    app: FastAPI, caplog: pytest.LogCaptureFixture, parameter: str
) -> None:
    """The access line of a clicked mail link (`/reset-password?token=…`) keeps the path and
    the other parameters, never the secret. `app` installs the logging, as `serve` does."""
    assert app.state.settings is not None
    path = f"/reset-password?lang=fr&{parameter}=SECRET123&page=2"
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        # Exactly what uvicorn's HTTP protocols log for each response.
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", "GET", path, "1.1", 404
        )
    (record,) = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert "SECRET123" not in caplog.text
    assert "SECRET123" not in record.getMessage()
    assert f"/reset-password?lang=fr&{parameter}=[REDACTED]&page=2" in record.getMessage()
    assert isinstance(record.args, tuple)  # uvicorn's own AccessFormatter unpacks them
    assert len(record.args) == 5


def test_other_query_values_stay_in_the_access_log(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    assert app.state.settings is not None
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/t?mytoken=k&q=v", "1.1", 200
        )
        logging.getLogger("uvicorn.access").info("GET /verify?code=SECRET321 (preformatted)")
    assert "/t?mytoken=k&q=v" in caplog.text
    assert "GET /verify?code=[REDACTED] (preformatted)" in caplog.text
    assert "SECRET321" not in caplog.text
