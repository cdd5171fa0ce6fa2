"""Rate limits, trusted proxies, and the per-account brute-force throttle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from gatehouse.auth.throttle import FREE_FAILURES, ThrottlePolicy, delay_after, throttle_keys
from tests.helpers import (
    PASSWORD,
    ManualClock,
    assert_envelope,
    bearer,
    register,
    running,
    signed_up,
    unique_email,
)

LOGIN = "/api/v1/auth/login"


VERIFY_REQUEST = "/api/v1/auth/verify/request"


def limited(
    app_factory: Callable[..., FastAPI], seams: dict[str, Any] | None = None, **settings: Any
) -> FastAPI:
    return app_factory(seams, RATE_LIMIT_ENABLED=True, **settings)


async def _login(
    client: httpx.AsyncClient, email: str, password: str, **headers: str
) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password}, headers=headers)


def assert_rate_limited(response: httpx.Response) -> None:
    assert_envelope(response, 429, "RATE_LIMITED")
    assert int(response.headers["retry-after"]) >= 1
    assert "ratelimit-reset" in response.headers


async def test_the_sixth_bad_login_within_a_minute_is_429_and_then_even_the_right_password(
    app_factory: Callable[..., FastAPI],
) -> None:
    async with running(limited(app_factory)) as client:
        user = await register(client)
        for _ in range(5):
            assert_envelope(
                await _login(client, user["email"], "wrong password"), 401, "INVALID_CREDENTIALS"
            )
        sixth = await _login(client, user["email"], "wrong password")
        assert_rate_limited(sixth)
        assert sixth.headers["ratelimit-limit"] == "5"
        assert sixth.headers["ratelimit-remaining"] == "0"
        assert_rate_limited(await _login(client, user["email"], PASSWORD))
        form = await client.post(
            "/api/v1/auth/token", data={"username": user["email"], "password": PASSWORD}
        )
        assert_rate_limited(form)
        browser = await client.post(
            "/sessions", data={"email": user["email"], "password": PASSWORD}
        )
        assert_rate_limited(browser)


async def test_a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(
    app_factory: Callable[..., FastAPI],
) -> None:
    async with running(limited(app_factory)) as client:
        user = await register(client)
        for index in range(5):
            response = await _login(
                client, user["email"], PASSWORD, **{"X-Forwarded-For": f"203.0.113.{index}"}
            )
            assert response.status_code == 200
        spoofed = await _login(
            client, user["email"], PASSWORD, **{"X-Forwarded-For": "198.51.100.7"}
        )
        assert_rate_limited(spoofed)


async def test_a_trusted_proxy_selects_the_client_address(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = limited(app_factory, TRUSTED_PROXIES="127.0.0.1/32, 10.0.0.0/8")
    async with running(app) as client:
        user = await register(client)
        first = {"X-Forwarded-For": "203.0.113.5, 10.1.2.3"}  # client, then an inner proxy
        for _ in range(5):
            assert (await _login(client, user["email"], PASSWORD, **first)).status_code == 200
        assert_rate_limited(await _login(client, user["email"], PASSWORD, **first))
        other = await _login(client, user["email"], PASSWORD, **{"X-Forwarded-For": "198.51.100.7"})
        assert other.status_code == 200
        sessions = await client.get(
            "/api/v1/auth/sessions",
            headers={"Authorization": f"Bearer {other.json()['access_token']}"},
        )
        ips = {item["ip"] for item in sessions.json()}
        assert ips == {"203.0.113.5", "198.51.100.7"}


async def test_login_per_ip_limit_spans_accounts(app_factory: Callable[..., FastAPI]) -> None:
    async with running(limited(app_factory, RATE_LIMIT_LOGIN_IP="3/minute")) as client:
        for _ in range(3):
            await _login(client, unique_email(), "whatever password")
        assert_rate_limited(await _login(client, unique_email(), "whatever password"))


async def test_forgot_password_is_limited_per_email(app_factory: Callable[..., FastAPI]) -> None:
    async with running(limited(app_factory)) as client:
        email = unique_email()
        for _ in range(3):
            response = await client.post("/api/v1/auth/forgot-password", json={"email": email})
            assert response.status_code == 202
        assert_rate_limited(
            await client.post("/api/v1/auth/forgot-password", json={"email": email.upper()})
        )
        assert_rate_limited(await client.post("/reset_password", data={"email": email}))
        other = await client.post("/api/v1/auth/forgot-password", json={"email": unique_email()})
        assert other.status_code == 202


async def test_register_is_limited_per_ip(app_factory: Callable[..., FastAPI]) -> None:
    async with running(limited(app_factory, RATE_LIMIT_REGISTER="2/minute")) as client:
        await register(client)
        await register(client)
        response = await client.post(
            "/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}
        )
        assert_rate_limited(response)
        browser = await client.post("/users", data={"email": unique_email(), "password": PASSWORD})
        assert_rate_limited(browser)


async def test_default_limit_on_api_routes_but_not_on_health(
    app_factory: Callable[..., FastAPI],
) -> None:
    async with running(limited(app_factory, RATE_LIMIT_DEFAULT="3/minute")) as client:
        for _ in range(3):
            assert (await client.get("/api/v1/tasks")).status_code == 401
        assert_rate_limited(await client.get("/api/v1/tasks"))
        assert_rate_limited(await client.get("/api/v1/users/me"))
        for _ in range(5):
            assert (await client.get("/health")).status_code == 200
            assert (await client.get("/metrics")).status_code == 200


async def test_limits_can_be_turned_off(app_factory: Callable[..., FastAPI]) -> None:
    async with running(app_factory(RATE_LIMIT_ENABLED=False)) as client:
        user = await register(client)
        for _ in range(8):
            assert (await _login(client, user["email"], PASSWORD)).status_code == 200


def test_throttle_delays_grow_and_are_capped() -> None:
    assert [delay_after(n) for n in range(FREE_FAILURES)] == [0.0] * FREE_FAILURES
    delays = [delay_after(n) for n in range(FREE_FAILURES, FREE_FAILURES + 12)]
    assert delays == sorted(delays)
    assert delays[1] == 2 * delays[0]
    assert max(delays) == 15 * 60


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def test_the_account_throttle_refuses_then_lets_the_right_password_in_and_resets(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    app = limited(
        app_factory,
        {"clock": clock},
        RATE_LIMIT_LOGIN="100/minute",
        RATE_LIMIT_LOGIN_IP="100/minute",
    )
    async with running(app) as client:
        user = await register(client)
        for _ in range(FREE_FAILURES):
            assert_envelope(
                await _login(client, user["email"], "wrong password"), 401, "INVALID_CREDENTIALS"
            )
        # Throttled: even the right password waits, and the refusal counts as a failure.
        assert_rate_limited(await _login(client, user["email"], PASSWORD))
        clock.advance(ThrottlePolicy().delay_after(FREE_FAILURES + 1))  # the wait is over
        assert (await _login(client, user["email"], PASSWORD)).status_code == 200
        # Success cleared the count: four more failures do not throttle.
        for _ in range(FREE_FAILURES - 1):
            assert (await _login(client, user["email"], "wrong password")).status_code == 401
        assert (await _login(client, user["email"], PASSWORD)).status_code == 200


async def test_the_throttle_does_not_reveal_whether_an_account_exists(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    app = limited(
        app_factory,
        {"clock": clock},
        RATE_LIMIT_LOGIN="100/minute",
        RATE_LIMIT_LOGIN_IP="100/minute",
    )
    async with running(app) as client:
        ghost = unique_email()
        for _ in range(FREE_FAILURES):
            assert (await _login(client, ghost, "wrong password")).status_code == 401
        assert_rate_limited(await _login(client, ghost, "wrong password"))


async def test_a_password_reset_clears_the_throttle(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    app = limited(
        app_factory,
        {"clock": clock},
        RATE_LIMIT_LOGIN="100/minute",
        RATE_LIMIT_LOGIN_IP="100/minute",
    )
    async with running(app) as client:
        email = unique_email()
        await client.post("/users", data={"email": email, "password": PASSWORD})
        for _ in range(FREE_FAILURES):
            await _login(client, email, "wrong password")
        assert_rate_limited(await _login(client, email, PASSWORD))
        token = (await client.post("/reset_password", data={"email": email})).json()["reset_token"]
        new_password = "a fresh passphrase"
        reset = await client.put(
            "/reset_password",
            data={"email": email, "reset_token": token, "new_password": new_password},
        )
        assert reset.status_code == 200
        assert (await _login(client, email, new_password)).status_code == 200


async def test_rate_limited_attempts_still_count_as_failures(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    app = limited(app_factory, {"clock": clock}, RATE_LIMIT_LOGIN="2/minute")
    async with running(app) as client:
        user = await register(client)
        await _login(client, user["email"], "wrong password")
        await _login(client, user["email"], "wrong password")
        for _ in range(3):
            assert_rate_limited(await _login(client, user["email"], "wrong password"))
        failures_key, _ = throttle_keys(user["email"])
        assert await app.state.auth.throttle.counters.get(failures_key) == FREE_FAILURES


async def test_ipv6_clients_are_counted_by_their_64(app_factory: Callable[..., FastAPI]) -> None:
    app = limited(app_factory, TRUSTED_PROXIES="127.0.0.1/32", RATE_LIMIT_REGISTER="2/minute")
    async with running(app) as client:
        for host in ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"):  # one /64, two addresses
            response = await client.post(
                "/api/v1/auth/register",
                json={"email": unique_email(), "password": PASSWORD},
                headers={"X-Forwarded-For": host},
            )
            assert response.status_code == 201
        same_network = await client.post(
            "/api/v1/auth/register",
            json={"email": unique_email(), "password": PASSWORD},
            headers={"X-Forwarded-For": "2001:db8:1:2:abcd::42"},
        )
        assert_rate_limited(same_network)
        other_network = await client.post(
            "/api/v1/auth/register",
            json={"email": unique_email(), "password": PASSWORD},
            headers={"X-Forwarded-For": "2001:db8:1:3::1"},
        )
        assert other_network.status_code == 201


async def test_verification_mails_are_limited_per_account(
    app_factory: Callable[..., FastAPI],
) -> None:
    async with running(limited(app_factory, RATE_LIMIT_VERIFY="2/hour")) as client:
        first, second = await signed_up(client), await signed_up(client)
        headers = bearer(first["access_token"])
        for _ in range(2):
            assert (await client.post(VERIFY_REQUEST, headers=headers)).status_code == 202
        assert_rate_limited(await client.post(VERIFY_REQUEST, headers=headers))
        other = await client.post(VERIFY_REQUEST, headers=bearer(second["access_token"]))
        assert other.status_code == 202


async def test_refused_attempts_keep_a_limit_refusing_while_they_go_on(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    # The moving windows of `limits` run on real time, the refusals on the clock: the real
    # waits below let the window forget the two allowed logins, so only the refused
    # attempts themselves can keep the limit refusing.
    app = limited(
        app_factory, {"clock": clock}, RATE_LIMIT_LOGIN="2/second", RATE_LIMIT_LOGIN_IP="100/minute"
    )
    async with running(app) as client:
        user = await register(client)
        for _ in range(2):
            assert (await _login(client, user["email"], PASSWORD)).status_code == 200
        refused = await _login(client, user["email"], PASSWORD)
        assert_rate_limited(refused)
        assert refused.headers["retry-after"] == "1"
        for _ in range(4):  # steady retries, 0.6 s apart on the clock: 1.2 s of real time
            clock.advance(0.6)
            await anyio.sleep(0.3)
            retry = await _login(client, user["email"], PASSWORD)
            assert_rate_limited(retry)
            assert retry.headers["retry-after"] == "1"
        clock.advance(1.0)  # a whole quiet window since the last refused attempt
        assert (await _login(client, user["email"], PASSWORD)).status_code == 200


async def test_spellings_of_one_address_share_the_forgot_password_limit(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = limited(app_factory, RATE_LIMIT_FORGOT_PASSWORD="3/15minutes")
    async with running(app) as client:
        user = await register(client)
        local, _, domain = user["email"].partition("@")
        # A fullwidth letter in the domain: the route's email validation maps it back.
        fullwidth = f"{local}@{chr(ord(domain[0]) + 0xFEE0)}{domain[1:]}"
        for email in (user["email"], user["email"].upper(), fullwidth):
            response = await client.post("/api/v1/auth/forgot-password", json={"email": email})
            assert response.status_code == 202
        refused = await client.post("/api/v1/auth/forgot-password", json={"email": fullwidth})
        assert_rate_limited(refused)
