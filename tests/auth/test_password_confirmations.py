"""A stolen access token does not let anyone guess the password past the login throttle:
change-password, the email change and the account deletion confirm the current password
under the same throttle as a login."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gatehouse.auth.devices import DEVICE_HEADER
from gatehouse.auth.throttle import FREE_FAILURES, ThrottlePolicy
from tests.helpers import (
    PASSWORD,
    ManualClock,
    assert_envelope,
    bearer,
    register,
    running,
    unique_email,
)

LOGIN = "/api/v1/auth/login"

Confirm = Callable[[httpx.AsyncClient, dict[str, str], str], Awaitable[httpx.Response]]


async def change_password(
    client: httpx.AsyncClient, headers: dict[str, str], password: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/change-password",
        json={"current_password": password, "new_password": "a brand new passphrase"},
        headers=headers,
    )


async def change_email(
    client: httpx.AsyncClient, headers: dict[str, str], password: str
) -> httpx.Response:
    return await client.patch(
        "/api/v1/users/me",
        json={"email": unique_email("new"), "current_password": password},
        headers=headers,
    )


async def delete_account(
    client: httpx.AsyncClient, headers: dict[str, str], password: str
) -> httpx.Response:
    return await client.request(
        "DELETE", "/api/v1/users/me", json={"password": password}, headers=headers
    )


CONFIRMATIONS = pytest.mark.parametrize(
    "confirm",
    [change_password, change_email, delete_account],
    ids=["change-password", "email-change", "account-deletion"],
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def limited(app_factory: Callable[..., FastAPI], clock: ManualClock, **settings: Any) -> FastAPI:
    return app_factory(
        {"clock": clock},
        RATE_LIMIT_ENABLED=True,
        RATE_LIMIT_LOGIN="100/minute",
        RATE_LIMIT_LOGIN_IP="100/minute",
        **settings,
    )


async def _login(
    client: httpx.AsyncClient, email: str, password: str, **headers: str
) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password}, headers=headers)


def assert_rate_limited(response: httpx.Response) -> None:
    assert_envelope(response, 429, "RATE_LIMITED")
    assert int(response.headers["retry-after"]) >= 1


@CONFIRMATIONS
async def test_wrong_current_passwords_feed_the_login_throttle_and_are_refused_by_it(
    app_factory: Callable[..., FastAPI], clock: ManualClock, confirm: Confirm
) -> None:
    async with running(limited(app_factory, clock)) as client:
        user = await register(client)
        login = await _login(client, user["email"], PASSWORD)
        stolen = bearer(login.json()["access_token"])
        for _ in range(FREE_FAILURES):
            assert_envelope(await confirm(client, stolen, "a wrong guess"), 400, "INVALID_PASSWORD")
        # The guesses count as failed logins: the account is throttled for unknown clients,
        # here and at login, and the right password is refused too.
        assert_rate_limited(await confirm(client, stolen, PASSWORD))
        assert_rate_limited(await _login(client, user["email"], PASSWORD))
        clock.advance(ThrottlePolicy().delay_after(FREE_FAILURES))
        done = await confirm(client, stolen, PASSWORD)
        assert done.status_code in {200, 204}, done.text


@CONFIRMATIONS
async def test_strangers_login_failures_refuse_confirmations_but_not_the_owners_device(
    app_factory: Callable[..., FastAPI], clock: ManualClock, confirm: Confirm
) -> None:
    async with running(limited(app_factory, clock)) as client:
        user = await register(client)
        login = await _login(client, user["email"], PASSWORD)
        headers = bearer(login.json()["access_token"])
        device = login.headers[DEVICE_HEADER]
        for _ in range(FREE_FAILURES):
            await _login(client, user["email"], "a stranger's guess")
        assert_rate_limited(await confirm(client, headers, PASSWORD))
        done = await confirm(client, {**headers, DEVICE_HEADER: device}, PASSWORD)
        assert done.status_code in {200, 204}, done.text


async def test_a_name_change_confirms_no_password_and_is_not_throttled(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    async with running(limited(app_factory, clock)) as client:
        user = await register(client)
        login = await _login(client, user["email"], PASSWORD)
        for _ in range(FREE_FAILURES + 1):
            await _login(client, user["email"], "a stranger's guess")
        renamed = await client.patch(
            "/api/v1/users/me",
            json={"full_name": "Still Me"},
            headers=bearer(login.json()["access_token"]),
        )
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["full_name"] == "Still Me"
