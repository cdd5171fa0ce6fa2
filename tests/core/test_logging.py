"""Logs: JSON lines with request_id in production, and never a password, token or the full
email of a failed login."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from fastapi import FastAPI

from gatehouse.core.logging import JsonFormatter
from tests.helpers import PASSWORD, running, signed_up, unique_email


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
