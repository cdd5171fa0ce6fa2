"""Logout, logout-all and the session list."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import jwt
from fastapi import FastAPI
from sqlalchemy import select, update

from gatehouse.sessions.models import AuthSession, SessionKind
from gatehouse.users.models import User
from tests.helpers import (
    PASSWORD,
    assert_envelope,
    bearer,
    login,
    running,
    signed_up,
    unique_email,
)

ME = "/api/v1/users/me"
SESSIONS = "/api/v1/auth/sessions"


def _sid(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["sid"])


async def test_logout_refuses_the_old_access_token_at_once(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    headers = bearer(account["access_token"])
    response = await client.post("/api/v1/auth/logout", headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_envelope(await client.get(ME, headers=headers), 401, "INVALID_TOKEN")
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": account["refresh_token"]}
    )
    assert_envelope(refreshed, 401, "INVALID_TOKEN")


async def test_logout_leaves_other_sessions_alone(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    other = await login(client, account["user"]["email"])
    await client.post("/api/v1/auth/logout", headers=bearer(account["access_token"]))
    assert (await client.get(ME, headers=bearer(other["access_token"]))).status_code == 200


async def test_logout_with_a_refresh_token_also_ends_its_session(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    other = await login(client, account["user"]["email"])
    response = await client.post(
        "/api/v1/auth/logout",
        headers=bearer(account["access_token"]),
        json={"refresh_token": other["refresh_token"]},
    )
    assert response.status_code == 204
    assert_envelope(
        await client.get(ME, headers=bearer(other["access_token"])), 401, "INVALID_TOKEN"
    )


async def test_logout_cannot_end_another_users_session(client: httpx.AsyncClient) -> None:
    mine = await signed_up(client)
    theirs = await signed_up(client)
    await client.post(
        "/api/v1/auth/logout",
        headers=bearer(mine["access_token"]),
        json={"refresh_token": theirs["refresh_token"]},
    )
    assert (await client.get(ME, headers=bearer(theirs["access_token"]))).status_code == 200


async def test_logout_needs_a_token(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.post("/api/v1/auth/logout"), 401, "NOT_AUTHENTICATED")


async def test_logout_all_ends_every_session_of_the_user(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    other = await login(client, account["user"]["email"])
    bystander = await signed_up(client)
    response = await client.post("/api/v1/auth/logout-all", headers=bearer(account["access_token"]))
    assert response.status_code == 204
    for token in (account["access_token"], other["access_token"]):
        assert_envelope(await client.get(ME, headers=bearer(token)), 401, "INVALID_TOKEN")
    assert (await client.get(ME, headers=bearer(bystander["access_token"]))).status_code == 200


async def test_sessions_lists_live_sessions_and_marks_the_current_one(
    client: httpx.AsyncClient,
) -> None:
    account = await signed_up(client)
    other = await login(client, account["user"]["email"], **{"User-Agent": "second-device/1.0"})
    ended = await login(client, account["user"]["email"])
    await client.post("/api/v1/auth/logout", headers=bearer(ended["access_token"]))

    response = await client.get(SESSIONS, headers=bearer(account["access_token"]))
    assert response.status_code == 200
    sessions = response.json()
    assert isinstance(sessions, list)
    assert {s["id"] for s in sessions} == {
        _sid(account["access_token"]),
        _sid(other["access_token"]),
    }
    for item in sessions:
        assert set(item) == {"id", "created_at", "last_used_at", "user_agent", "ip", "current"}
        assert item["last_used_at"] == item["created_at"]
        assert item["ip"] == "127.0.0.1"
        assert item["current"] is (item["id"] == _sid(account["access_token"]))
    by_id = {s["id"]: s for s in sessions}
    assert by_id[_sid(other["access_token"])]["user_agent"] == "second-device/1.0"


async def test_refresh_moves_last_used_at(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    pair = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": account["refresh_token"]})
    ).json()
    (item,) = (await client.get(SESSIONS, headers=bearer(pair["access_token"]))).json()
    assert item["last_used_at"] > item["created_at"]


async def test_deleting_a_session_ends_it(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    other = await login(client, account["user"]["email"])
    response = await client.delete(
        f"{SESSIONS}/{_sid(other['access_token'])}", headers=bearer(account["access_token"])
    )
    assert response.status_code == 204
    assert_envelope(
        await client.get(ME, headers=bearer(other["access_token"])), 401, "INVALID_TOKEN"
    )
    assert (await client.get(ME, headers=bearer(account["access_token"]))).status_code == 200


async def test_another_users_session_or_a_bad_id_is_404(client: httpx.AsyncClient) -> None:
    mine = await signed_up(client)
    theirs = await signed_up(client)
    headers = bearer(mine["access_token"])
    for session_id in (_sid(theirs["access_token"]), str(uuid.uuid4()), "not-an-id"):
        response = await client.delete(f"{SESSIONS}/{session_id}", headers=headers)
        assert_envelope(response, 404, "NOT_FOUND")
    assert (await client.get(ME, headers=bearer(theirs["access_token"]))).status_code == 200


async def test_a_deactivated_users_refresh_is_refused(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    account = await signed_up(client)
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(User).where(User.id == uuid.UUID(account["user"]["id"])).values(is_active=False)
        )
        await session.commit()
    response = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": account["refresh_token"]}
    )
    assert_envelope(response, 401, "INVALID_TOKEN")


async def _age_session(app: FastAPI, session_id: str, **times: timedelta) -> None:
    """Move a session's timestamps into the past, as if that much time had gone by."""
    now = datetime.now(UTC)
    async with app.state.sessionmaker() as db:
        await db.execute(
            update(AuthSession)
            .where(AuthSession.id == uuid.UUID(session_id))
            .values({column: now - ago for column, ago in times.items()})
        )
        await db.commit()


async def test_refreshing_never_extends_a_session_past_its_absolute_end(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(SESSION_MAX_AGE_DAYS=2, REFRESH_TOKEN_TTL_DAYS=30)
    async with running(app) as client:
        account = await signed_up(client)
        sid = _sid(account["access_token"])
        await _age_session(app, sid, created_at=timedelta(days=1, hours=23))
        pair = (
            await client.post(
                "/api/v1/auth/refresh", json={"refresh_token": account["refresh_token"]}
            )
        ).json()
        async with app.state.sessionmaker() as db:
            session = await db.get(AuthSession, uuid.UUID(sid))
            assert session is not None
            assert session.expires_at <= session.created_at + timedelta(days=2)
        await _age_session(app, sid, created_at=timedelta(days=2, minutes=1))
        await _age_session(app, sid, expires_at=timedelta(minutes=1))
        refused = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert_envelope(refused, 401, "INVALID_TOKEN")


async def test_a_fresh_session_ends_at_the_absolute_limit_when_it_is_shorter(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(SESSION_MAX_AGE_DAYS=1, REFRESH_TOKEN_TTL_DAYS=30)
    async with running(app) as client:
        account = await signed_up(client)
        async with app.state.sessionmaker() as db:
            session = await db.get(AuthSession, uuid.UUID(_sid(account["access_token"])))
            assert session is not None
            assert session.expires_at - session.created_at == timedelta(days=1)


async def test_a_browser_session_ends_after_its_idle_time(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(BROWSER_SESSION_IDLE_MINUTES=30)
    async with running(app) as client:
        email = unique_email()
        await client.post("/users", data={"email": email, "password": PASSWORD})
        assert (
            await client.post("/sessions", data={"email": email, "password": PASSWORD})
        ).status_code == 200
        assert (await client.get("/profile")).status_code == 200
        async with app.state.sessionmaker() as db:
            browser = await db.scalar(
                select(AuthSession).where(AuthSession.kind == SessionKind.BROWSER)
            )
            assert browser is not None
        # Used 20 minutes ago: still live, and this request moves its last use.
        await _age_session(app, str(browser.id), last_used_at=timedelta(minutes=20))
        assert (await client.get("/profile")).status_code == 200
        await _age_session(app, str(browser.id), last_used_at=timedelta(minutes=29))
        assert (await client.get("/profile")).status_code == 200
        # Idle for 31 minutes: over.
        await _age_session(app, str(browser.id), last_used_at=timedelta(minutes=31))
        assert_envelope(await client.get("/profile"), 403, "FORBIDDEN")
