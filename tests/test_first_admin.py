"""The first admin is created at start-up from FIRST_ADMIN_EMAIL / FIRST_ADMIN_PASSWORD."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from tests.helpers import bearer, running


async def test_first_admin_is_created_once_at_start_up(app_factory: Callable[..., FastAPI]) -> None:
    settings = {
        "FIRST_ADMIN_EMAIL": "Boss@Example.com",
        "FIRST_ADMIN_PASSWORD": "the boss's own phrase",
    }
    for _ in range(2):  # a second start-up finds the admin and leaves it alone
        async with running(app_factory(**settings)) as client:
            tokens = await client.post(
                "/api/v1/auth/login",
                json={"email": "boss@example.com", "password": "the boss's own phrase"},
            )
            assert tokens.status_code == 200
            me = await client.get("/api/v1/users/me", headers=bearer(tokens.json()["access_token"]))
            assert (me.json()["role"], me.json()["is_verified"]) == ("admin", True)
