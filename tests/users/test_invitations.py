"""Invitations: a user an admin creates without a password is mailed a link to choose one;
the optional welcome mail of self sign-up. Through a real SMTP sink."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from gatehouse.audit.models import AuditEvent
from gatehouse.auth.models import OneTimeToken
from gatehouse.core.db import utcnow
from gatehouse.core.security import UNUSABLE_PASSWORD_HASH
from gatehouse.users.models import User
from tests.helpers import (
    assert_envelope,
    bearer,
    deliver_mail,
    link_token,
    login,
    make_admin,
    register,
    running,
    unique_email,
)
from tests.smtp import SmtpServer

CHOSEN = "my own chosen passphrase"
INVITED = "You are invited to Gatehouse"


@pytest.fixture
def smtp_app(app_factory: Callable[..., FastAPI], smtp_server: SmtpServer) -> FastAPI:
    return app_factory(EMAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)


@pytest.fixture
async def http(smtp_app: FastAPI) -> Any:
    async with running(smtp_app) as client:
        yield client


async def _invite(http: httpx.AsyncClient, app: FastAPI, **fields: Any) -> dict[str, Any]:
    admin = await make_admin(app, http)
    email = unique_email("invited")
    created = await http.post(
        "/api/v1/users",
        json={"email": email, "full_name": "Ivy", **fields},
        headers=bearer(admin["access_token"]),
    )
    assert created.status_code == 201, created.text
    return {"admin": admin, "user": created.json()}


async def _invitation_token(app: FastAPI, server: SmtpServer, email: str) -> str:
    await deliver_mail(app)
    invitations = [m for m in server.inbox.to(email) if m["Subject"] == INVITED]
    assert len(invitations) == 1
    body = invitations[0].get_body(("plain",))
    assert body is not None
    assert "Ivy" in body.get_content()
    return link_token(invitations[0], "reset-password")


async def test_an_invited_user_sets_a_password_once_and_signs_in(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    invited = await _invite(http, smtp_app)
    user = invited["user"]
    assert user["is_verified"] is False
    email = user["email"]

    # Before accepting, any password fails as a wrong one for an unknown email does.
    wrong = await http.post(
        "/api/v1/auth/login", json={"email": email, "password": "a guessed passphrase"}
    )
    unknown = await http.post(
        "/api/v1/auth/login",
        json={"email": unique_email("nobody"), "password": "a guessed passphrase"},
    )
    wrong_error = assert_envelope(wrong, 401, "INVALID_CREDENTIALS")
    unknown_error = assert_envelope(unknown, 401, "INVALID_CREDENTIALS")
    assert (wrong_error["message"], wrong_error["details"]) == (
        unknown_error["message"],
        unknown_error["details"],
    )

    token = await _invitation_token(smtp_app, smtp_server, email)
    accepted = await http.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": CHOSEN}
    )
    assert accepted.status_code == 200, accepted.text
    again = await http.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": "another passphrase"}
    )
    assert_envelope(again, 400, "INVALID_RESET_TOKEN")

    tokens = await login(http, email, CHOSEN)
    me = await http.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    assert me.json()["is_verified"] is True  # the link came by mail

    async with smtp_app.state.sessionmaker() as session:
        events = (
            (await session.execute(select(AuditEvent).where(AuditEvent.kind == "invitation_sent")))
            .scalars()
            .all()
        )
    assert [(str(e.user_id), e.details["by"]) for e in events] == [
        (user["id"], invited["admin"]["user"]["id"])
    ]


async def test_the_invitation_is_stored_hashed_and_stored_password_is_unusable(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    invited = await _invite(http, smtp_app)
    token = await _invitation_token(smtp_app, smtp_server, invited["user"]["email"])
    async with smtp_app.state.sessionmaker() as session:
        user = (
            await session.execute(select(User).where(User.email == invited["user"]["email"]))
        ).scalar_one()
        hashes = (
            (
                await session.execute(
                    select(OneTimeToken.token_hash).where(OneTimeToken.user_id == user.id)
                )
            )
            .scalars()
            .all()
        )
    assert user.password_hash == UNUSABLE_PASSWORD_HASH
    assert len(hashes) == 1
    assert token not in hashes[0]


async def test_an_expired_invitation_is_refused(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    invited = await _invite(http, smtp_app)
    token = await _invitation_token(smtp_app, smtp_server, invited["user"]["email"])
    async with smtp_app.state.sessionmaker() as session:
        await session.execute(
            update(OneTimeToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    expired = await http.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": CHOSEN}
    )
    assert_envelope(expired, 400, "INVALID_RESET_TOKEN")


async def test_with_a_password_no_invitation_and_the_policy_applies(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    invited = await _invite(http, smtp_app, password=CHOSEN)
    await deliver_mail(smtp_app)
    assert [
        m for m in smtp_server.inbox.to(invited["user"]["email"]) if m["Subject"] == INVITED
    ] == []
    await login(http, invited["user"]["email"], CHOSEN)

    weak = await http.post(
        "/api/v1/users",
        json={"email": unique_email("weak"), "password": "password"},
        headers=bearer(invited["admin"]["access_token"]),
    )
    assert weak.status_code == 422


@pytest.mark.parametrize("enabled", [True, False])
async def test_welcome_mail_on_sign_up_when_enabled(
    app_factory: Callable[..., FastAPI], smtp_server: SmtpServer, enabled: bool
) -> None:
    app = app_factory(
        EMAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_server.port,
        WELCOME_EMAIL_ENABLED=enabled,
    )
    async with running(app) as client:
        email = unique_email("welcome")
        await register(client, email)
        await deliver_mail(app)
    subjects = sorted(m["Subject"] for m in smtp_server.inbox.to(email))
    expected = ["Confirm your email address"] + (["Welcome to Gatehouse"] if enabled else [])
    assert subjects == sorted(expected)
