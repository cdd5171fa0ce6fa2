"""The browser session API as a story through HTTP, in development and in production."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from gatehouse.sessions.models import AuthSession
from tests.helpers import PASSWORD, assert_envelope, deliver_mail, link_token, running, unique_email
from tests.smtp import SmtpServer

NEW_PASSWORD = "another long passphrase"


def session_cookie(value: str) -> dict[str, str]:
    """Send the cookie explicitly (the client's own jar is emptied after each login)."""
    return {"Cookie": f"session_id={value}"}


async def test_welcome(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.json() == {"message": "Bienvenue"}


async def test_cookie_story_in_development(client: httpx.AsyncClient) -> None:
    email = unique_email("cookie")
    created = await client.post("/users", data={"email": email, "password": PASSWORD})
    assert created.status_code == 200
    assert created.json() == {"email": email, "message": "user created"}

    duplicate = await client.post("/users", data={"email": email.upper(), "password": PASSWORD})
    assert duplicate.status_code == 400
    assert duplicate.json() == {"message": "email already registered"}

    wrong = await client.post("/sessions", data={"email": email, "password": "wrong password"})
    assert_envelope(wrong, 401, "INVALID_CREDENTIALS")

    logged_in = await client.post("/sessions", data={"email": email, "password": PASSWORD})
    assert logged_in.status_code == 200
    assert logged_in.json() == {"email": email, "message": "logged in"}
    cookie_header = logged_in.headers["set-cookie"]
    assert cookie_header.startswith("session_id=")
    assert "HttpOnly" in cookie_header
    assert "SameSite=lax" in cookie_header
    assert "Secure" not in cookie_header  # development serves plain HTTP
    cookie = logged_in.cookies["session_id"]
    client.cookies.clear()

    profile = await client.get("/profile", headers=session_cookie(cookie))
    assert profile.json() == {"email": email}

    logout = await client.delete("/sessions", headers=session_cookie(cookie))
    assert logout.status_code == 302
    assert logout.headers["location"] == "/"
    assert_envelope(await client.get("/profile", headers=session_cookie(cookie)), 403, "FORBIDDEN")
    assert_envelope(
        await client.delete("/sessions", headers=session_cookie(cookie)), 403, "FORBIDDEN"
    )
    assert_envelope(await client.get("/profile"), 403, "FORBIDDEN")

    reset = await client.post("/reset_password", data={"email": email})
    assert reset.status_code == 200
    token = reset.json()["reset_token"]
    assert reset.json()["email"] == email
    assert_envelope(
        await client.post("/reset_password", data={"email": unique_email()}), 403, "FORBIDDEN"
    )

    bad = await client.put(
        "/reset_password", data={"email": email, "reset_token": "bad", "new_password": NEW_PASSWORD}
    )
    assert_envelope(bad, 403, "FORBIDDEN")
    other = await client.put(
        "/reset_password",
        data={"email": unique_email(), "reset_token": token, "new_password": NEW_PASSWORD},
    )
    assert_envelope(other, 403, "FORBIDDEN")
    updated = await client.put(
        "/reset_password", data={"email": email, "reset_token": token, "new_password": NEW_PASSWORD}
    )
    assert updated.status_code == 200
    assert updated.json() == {"email": email, "message": "Password updated"}
    relogin = await client.post("/sessions", data={"email": email, "password": NEW_PASSWORD})
    assert relogin.status_code == 200


async def test_cookie_sessions_end_with_logout_all(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await client.post("/users", data={"email": email, "password": PASSWORD})
    cookie = (await client.post("/sessions", data={"email": email, "password": PASSWORD})).cookies[
        "session_id"
    ]
    client.cookies.clear()
    tokens = (
        await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    ).json()
    sessions = await client.get(
        "/api/v1/auth/sessions", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert len(sessions.json()) == 2
    await client.post(
        "/api/v1/auth/logout-all", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert_envelope(await client.get("/profile", headers=session_cookie(cookie)), 403, "FORBIDDEN")


async def test_cookie_story_in_production(
    app_factory: Callable[..., FastAPI], smtp_server: SmtpServer
) -> None:
    app = app_factory(
        ENVIRONMENT="production",
        PUBLIC_URL="https://testserver",
        EMAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_server.port,
    )
    email = unique_email("prod")
    async with running(app) as client:
        await client.post("/users", data={"email": email, "password": PASSWORD})
        login = await client.post("/sessions", data={"email": email, "password": PASSWORD})
        assert "Secure" in login.headers["set-cookie"]

        known = await client.post("/reset_password", data={"email": email})
        unknown_email = unique_email()
        unknown = await client.post("/reset_password", data={"email": unknown_email})
        assert known.status_code == unknown.status_code == 200
        assert "reset_token" not in known.json()
        assert known.json()["message"] == unknown.json()["message"]
        assert set(known.json()) == {"email", "message"}

        await deliver_mail(app)
        resets = [m for m in smtp_server.inbox.to(email) if m["Subject"] == "Reset your password"]
        assert len(resets) == 1
        assert smtp_server.inbox.to(unknown_email) == []
        token = link_token(resets[0], "reset-password")
        updated = await client.put(
            "/reset_password",
            data={"email": email, "reset_token": token, "new_password": NEW_PASSWORD},
        )
        assert updated.json() == {"email": email, "message": "Password updated"}
        assert_envelope(
            await client.get("/profile", headers=session_cookie(login.cookies["session_id"])),
            403,
            "FORBIDDEN",
        )


async def test_cookie_values_are_stored_only_as_hashes(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = unique_email()
    await client.post("/users", data={"email": email, "password": PASSWORD})
    cookie = (await client.post("/sessions", data={"email": email, "password": PASSWORD})).cookies[
        "session_id"
    ]
    client.cookies.clear()
    async with app.state.sessionmaker() as session:
        stored = list(
            await session.scalars(
                select(AuthSession.token_hash).where(AuthSession.kind == "browser")
            )
        )
    assert cookie not in stored
    assert len(stored) == 1
    assert len(stored[0] or "") == 64


async def test_development_shows_the_reset_token_only_to_a_client_on_this_machine(
    app: FastAPI,
) -> None:
    async with running(app) as local:
        email = unique_email()
        await local.post("/users", data={"email": email, "password": PASSWORD})
        shown = await local.post("/reset_password", data={"email": email})
        assert "reset_token" in shown.json()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as remote:
            hidden = await remote.post("/reset_password", data={"email": email})
            unknown = await remote.post("/reset_password", data={"email": unique_email()})
    assert hidden.status_code == unknown.status_code == 200
    assert "reset_token" not in hidden.json()
    assert hidden.json()["message"] == unknown.json()["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_cross_site_state_changes_are_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    email = unique_email()
    await client.post("/users", data={"email": email, "password": PASSWORD})
    login = await client.post(
        "/sessions", data={"email": email, "password": PASSWORD}, headers=headers
    )
    assert_envelope(login, 403, "CSRF_FAILED")
    assert "session_id" not in login.cookies
    signup = await client.post(
        "/users", data={"email": unique_email(), "password": PASSWORD}, headers=headers
    )
    assert_envelope(signup, 403, "CSRF_FAILED")
    reset = await client.post("/reset_password", data={"email": email}, headers=headers)
    assert_envelope(reset, 403, "CSRF_FAILED")


async def test_the_public_url_origin_is_same_site_behind_a_proxy(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(PUBLIC_URL="https://auth.example.com")
    async with running(app) as client:
        allowed = await client.post(
            "/users",
            data={"email": unique_email(), "password": PASSWORD},
            headers={"Origin": "https://auth.example.com"},
        )
        assert allowed.status_code == 200
        refused = await client.post(
            "/users",
            data={"email": unique_email(), "password": PASSWORD},
            headers={"Origin": "https://auth.example.com.evil.example"},
        )
        assert_envelope(refused, 403, "CSRF_FAILED")


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl and scripts send neither header
        {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},  # typed in the address bar
    ],
)
async def test_same_site_and_headerless_requests_are_served(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    email = unique_email()
    created = await client.post(
        "/users", data={"email": email, "password": PASSWORD}, headers=headers
    )
    assert created.status_code == 200
    login = await client.post(
        "/sessions", data={"email": email, "password": PASSWORD}, headers=headers
    )
    assert login.status_code == 200
    profile = await client.get("/profile", headers={"Sec-Fetch-Site": "cross-site"})
    assert profile.status_code == 200  # reading is not a state change


async def test_a_rebound_host_name_gets_no_reset_token_in_development(app: FastAPI) -> None:
    """DNS rebinding: a page on evil.example whose name now points at 127.0.0.1 is same
    origin with a development server and its connection is local; the name is not ours."""
    async with running(app) as client:
        email = unique_email()
        await client.post("/users", data={"email": email, "password": PASSWORD})
        rebound = await client.post(
            "http://evil.example:8000/reset_password",
            data={"email": email},
            headers={"Origin": "http://evil.example:8000", "Sec-Fetch-Site": "same-origin"},
        )
        assert rebound.status_code == 200
        assert "reset_token" not in rebound.json()
        by_loopback_name = await client.post(
            "http://localhost:8000/reset_password", data={"email": email}
        )
        assert "reset_token" in by_loopback_name.json()
