"""Known devices: brute force slows and refuses strangers, never the owner's own clients."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gatehouse.auth.devices import DEVICE_COOKIE, DEVICE_HEADER, DeviceTokens
from gatehouse.auth.throttle import FREE_FAILURES, ThrottlePolicy
from tests.conftest import TEST_SECRET
from tests.helpers import (
    PASSWORD,
    ManualClock,
    assert_envelope,
    register,
    running,
    unique_email,
)

LOGIN = "/api/v1/auth/login"
FORGOT = "/api/v1/auth/forgot-password"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def limited(app_factory: Callable[..., FastAPI], clock: ManualClock, **settings: Any) -> FastAPI:
    """The default limits and throttle, on the test's clock."""
    return app_factory({"clock": clock}, RATE_LIMIT_ENABLED=True, **settings)


async def _login(
    client: httpx.AsyncClient, email: str, password: str, device: str | None = None
) -> httpx.Response:
    headers = {DEVICE_HEADER: device} if device else {}
    return await client.post(LOGIN, json={"email": email, "password": password}, headers=headers)


async def _device_of(client: httpx.AsyncClient, email: str) -> str:
    """Log in as the owner and keep the device token the login hands back."""
    response = await _login(client, email, PASSWORD)
    assert response.status_code == 200, response.text
    return response.headers[DEVICE_HEADER]


async def _stranger_guesses(client: httpx.AsyncClient, email: str, times: int = 20) -> None:
    for _ in range(times):
        response = await _login(client, email, "a wrong guess")
        assert response.status_code in {401, 429}


def _device_cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"{DEVICE_COOKIE}={token}"}


def assert_rate_limited(response: httpx.Response) -> None:
    assert_envelope(response, 429, "RATE_LIMITED")
    assert int(response.headers["retry-after"]) >= 1


async def test_a_strangers_failures_do_not_lock_the_owners_known_device_out(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    async with running(limited(app_factory, clock)) as client:
        user = await register(client)
        device = await _device_of(client, user["email"])
        # Twenty guesses from the same address: the throttle, the per-account+IP limit and
        # the per-IP limit all refuse strangers now, the right password included.
        await _stranger_guesses(client, user["email"])
        assert_rate_limited(await _login(client, user["email"], PASSWORD))
        form = await client.post(
            "/api/v1/auth/token", data={"username": user["email"], "password": PASSWORD}
        )
        assert_rate_limited(form)
        # The owner's client, with its device token, has an allowance of its own.
        owner = await _login(client, user["email"], PASSWORD, device)
        assert owner.status_code == 200, owner.text
        assert owner.headers[DEVICE_HEADER] == device  # the device keeps its token
        form = await client.post(
            "/api/v1/auth/token",
            data={"username": user["email"], "password": PASSWORD},
            headers={DEVICE_HEADER: device},
        )
        assert form.status_code == 200, form.text
        # Strangers are still refused: the owner's login cleared nothing of theirs.
        assert_rate_limited(await _login(client, user["email"], PASSWORD))


async def test_a_forged_or_another_accounts_device_token_gives_no_allowance(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    async with running(limited(app_factory, clock)) as client:
        owner = await register(client)
        attacker = await register(client)
        device = await _device_of(client, owner["email"])
        attackers_device = await _device_of(client, attacker["email"])
        device_id, user_hex, signature = device.split(".")
        forged = [
            attackers_device,  # genuine, but another account's
            f"{device_id}.{user_hex}.{signature[:-2]}AA",  # a changed signature
            f"{device_id}x.{user_hex}.{signature}",  # another device id
            DeviceTokens("another secret key, long enough to be one").issue(uuid.UUID(owner["id"])),
            f"{device_id}.{attacker['id'].replace('-', '')}.{signature}",  # another account
            "not.a-token",
        ]
        await _stranger_guesses(client, owner["email"])
        for token in forged:
            assert_rate_limited(await _login(client, owner["email"], PASSWORD, token))
            cookie = await client.post(
                "/sessions",
                data={"email": owner["email"], "password": PASSWORD},
                headers=_device_cookie(token),
            )
            assert_rate_limited(cookie)
        assert (await _login(client, owner["email"], PASSWORD, device)).status_code == 200


async def test_a_known_devices_own_failures_are_throttled_on_its_own_counters(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    app = limited(app_factory, clock, RATE_LIMIT_LOGIN="100/minute")
    async with running(app) as client:
        user = await register(client)
        device = await _device_of(client, user["email"])
        for _ in range(FREE_FAILURES):
            response = await _login(client, user["email"], "a wrong guess", device)
            assert_envelope(response, 401, "INVALID_CREDENTIALS")
        # The device waits like any client would, the right password included ...
        assert_rate_limited(await _login(client, user["email"], PASSWORD, device))
        # ... and its failures are its own: they slow no other client.
        assert (await _login(client, user["email"], PASSWORD)).status_code == 200
        clock.advance(ThrottlePolicy().delay_after(FREE_FAILURES + 1))
        assert (await _login(client, user["email"], PASSWORD, device)).status_code == 200


async def test_a_known_device_has_its_own_per_account_limit(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    async with running(limited(app_factory, clock, RATE_LIMIT_LOGIN="3/minute")) as client:
        user = await register(client)
        device = await _device_of(client, user["email"])
        for _ in range(3):
            assert (await _login(client, user["email"], PASSWORD, device)).status_code == 200
        assert_rate_limited(await _login(client, user["email"], PASSWORD, device))


async def test_logins_hand_out_device_tokens_bound_to_the_account(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    app = limited(app_factory, clock)
    async with running(app) as client:
        user = await register(client)
        first = await _device_of(client, user["email"])
        second = await _device_of(client, user["email"])
        assert first != second  # a client without a token is a new device
        devices = DeviceTokens(TEST_SECRET)
        for token in (first, second):
            assert devices.device_of(token, uuid.UUID(user["id"])) is not None
            assert devices.device_of(token, uuid.uuid4()) is None
        form = await client.post(
            "/api/v1/auth/token", data={"username": user["email"], "password": PASSWORD}
        )
        assert devices.device_of(form.headers[DEVICE_HEADER], uuid.UUID(user["id"]))
        # A failed login hands out nothing.
        assert DEVICE_HEADER not in (await _login(client, user["email"], "wrong")).headers
        # A device token of another account is replaced by one of this account.
        other = await register(client)
        replaced = await _login(
            client, user["email"], PASSWORD, await _device_of(client, other["email"])
        )
        assert devices.device_of(replaced.headers[DEVICE_HEADER], uuid.UUID(user["id"]))


async def test_the_browser_login_sets_the_device_cookie_which_keeps_its_allowance(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    async with running(limited(app_factory, clock)) as client:
        email = unique_email()
        await client.post("/users", data={"email": email, "password": PASSWORD})
        browser = await client.post("/sessions", data={"email": email, "password": PASSWORD})
        assert browser.status_code == 200
        cookies = browser.headers.get_list("set-cookie")
        device_cookie = next(item for item in cookies if item.startswith(f"{DEVICE_COOKIE}="))
        attributes = {part.strip().lower() for part in device_cookie.split(";")}
        assert {"httponly", "samesite=lax", "path=/"} <= attributes
        assert "secure" not in attributes  # development: plain http works
        assert any(part.startswith("max-age=") for part in attributes)
        token = browser.cookies[DEVICE_COOKIE]
        assert DEVICE_HEADER not in browser.headers
        client.cookies.clear()
        await _stranger_guesses(client, email)
        stranger = await client.post("/sessions", data={"email": email, "password": PASSWORD})
        assert_rate_limited(stranger)
        owner = await client.post(
            "/sessions", data={"email": email, "password": PASSWORD}, headers=_device_cookie(token)
        )
        assert owner.status_code == 200, owner.text
        assert owner.cookies[DEVICE_COOKIE] == token


async def test_the_device_cookie_is_secure_outside_development(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    app = app_factory(
        {"clock": clock},
        ENVIRONMENT="production",
        PUBLIC_URL="https://testserver",
        EMAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
    )
    async with running(app) as client:
        email = unique_email()
        await client.post("/users", data={"email": email, "password": PASSWORD})
        browser = await client.post("/sessions", data={"email": email, "password": PASSWORD})
        device_cookie = next(
            item
            for item in browser.headers.get_list("set-cookie")
            if item.startswith(f"{DEVICE_COOKIE}=")
        )
        assert "secure" in {part.strip().lower() for part in device_cookie.split(";")}


async def test_a_known_device_keeps_its_own_forgot_password_allowance(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    async with running(limited(app_factory, clock)) as client:
        user = await register(client)
        device = await _device_of(client, user["email"])
        for _ in range(5):  # a stranger uses up the per-email allowance, and then some
            await client.post(FORGOT, json={"email": user["email"]})
        assert_rate_limited(await client.post(FORGOT, json={"email": user["email"]}))
        assert_rate_limited(await client.post("/reset_password", data={"email": user["email"]}))
        # The owner's known device asks for its link on its own allowance ...
        owner = await client.post(
            FORGOT, json={"email": user["email"]}, headers={DEVICE_HEADER: device}
        )
        assert owner.status_code == 202, owner.text
        browser = await client.post(
            "/reset_password", data={"email": user["email"]}, headers=_device_cookie(device)
        )
        assert browser.status_code == 200, browser.text
        assert browser.json()["reset_token"]
        # ... which is limited too.
        await client.post(FORGOT, json={"email": user["email"]}, headers={DEVICE_HEADER: device})
        assert_rate_limited(
            await client.post(
                FORGOT, json={"email": user["email"]}, headers={DEVICE_HEADER: device}
            )
        )
        # A device of another account gets no allowance for this email.
        other = await register(client)
        other_device = await _device_of(client, other["email"])
        assert_rate_limited(
            await client.post(
                FORGOT, json={"email": user["email"]}, headers={DEVICE_HEADER: other_device}
            )
        )


def test_device_tokens_refuse_anything_but_their_own_signature() -> None:
    devices = DeviceTokens(TEST_SECRET)
    user_id = uuid.uuid4()
    token = devices.issue(user_id)
    claim = devices.read(token)
    assert claim is not None
    assert claim.user_id == user_id
    device_id, user_hex, signature = token.split(".")
    assert devices.renew(token, user_id) == token
    assert devices.renew(token, uuid.uuid4()) != token
    assert devices.renew(None, user_id) != token
    for bad in (
        None,
        "",
        "é" * 20,
        token + "." + signature,
        f"{device_id}..{signature}",
        f"{device_id}.{user_hex}.{signature}" + "A" * 200,
        f"{device_id}.not-a-uuid.{devices._signature(device_id, 'not-a-uuid')}",
    ):
        assert devices.read(bad) is None, bad


async def test_a_device_token_follows_its_account_through_an_email_change(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    async with running(limited(app_factory, clock)) as client:
        user = await register(client)
        login = await _login(client, user["email"], PASSWORD)
        device = login.headers[DEVICE_HEADER]
        new_email = unique_email("moved")
        changed = await client.patch(
            "/api/v1/users/me",
            json={"email": new_email, "current_password": PASSWORD},
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        assert changed.status_code == 200, changed.text
        await _stranger_guesses(client, new_email)
        assert_rate_limited(await _login(client, new_email, PASSWORD))
        assert (await _login(client, new_email, PASSWORD, device)).status_code == 200
