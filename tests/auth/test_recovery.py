"""Password reset, email verification and password change, end to end through real SMTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from gatehouse.auth.models import OneTimeToken
from gatehouse.core.db import utcnow
from gatehouse.mail.models import OutboxMessage
from tests.helpers import (
    PASSWORD,
    ManualClock,
    assert_envelope,
    bearer,
    deliver_mail,
    link_token,
    login,
    running,
    signed_up,
    unique_email,
)
from tests.smtp import SmtpServer

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def smtp_app(app_factory: Callable[..., FastAPI], smtp_server: SmtpServer) -> FastAPI:
    return app_factory(EMAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)


@pytest.fixture
async def http(smtp_app: FastAPI) -> Any:
    async with running(smtp_app) as client:
        yield client


async def _reset_token(app: FastAPI, server: SmtpServer, email: str) -> str:
    await deliver_mail(app)
    resets = [m for m in server.inbox.to(email) if m["Subject"] == "Reset your password"]
    assert resets
    return link_token(resets[-1], "reset-password")


async def test_reset_end_to_end(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    account = await signed_up(http)
    email = account["user"]["email"]
    other_device = await login(http, email)

    response = await http.post("/api/v1/auth/forgot-password", json={"email": email})
    assert response.status_code == 202
    token = await _reset_token(smtp_app, smtp_server, email)

    reset = await http.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 200
    assert set(reset.json()) == {"message"}

    # Single use.
    again = await http.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": "yet another phrase"}
    )
    assert_envelope(again, 400, "INVALID_RESET_TOKEN")
    # Every old session is refused, and so is the old password.
    for tokens in (account, other_device):
        me = await http.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        assert_envelope(me, 401, "INVALID_TOKEN")
    old = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert_envelope(old, 401, "INVALID_CREDENTIALS")
    await login(http, email, NEW_PASSWORD)
    # The "password changed" notice went out too.
    await deliver_mail(smtp_app)
    assert "Your password was changed" in [m["Subject"] for m in smtp_server.inbox.to(email)]


async def test_reset_tokens_expire(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    account = await signed_up(http)
    email = account["user"]["email"]
    await http.post("/api/v1/auth/forgot-password", json={"email": email})
    token = await _reset_token(smtp_app, smtp_server, email)
    async with smtp_app.state.sessionmaker() as session:
        await session.execute(
            update(OneTimeToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    expired = await http.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert_envelope(expired, 400, "INVALID_RESET_TOKEN")


async def test_a_new_reset_token_voids_the_older_one(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    account = await signed_up(http)
    email = account["user"]["email"]
    await http.post("/api/v1/auth/forgot-password", json={"email": email})
    first = await _reset_token(smtp_app, smtp_server, email)
    await http.post("/api/v1/auth/forgot-password", json={"email": email})
    second = await _reset_token(smtp_app, smtp_server, email)
    assert first != second
    stale = await http.post(
        "/api/v1/auth/reset-password", json={"token": first, "new_password": NEW_PASSWORD}
    )
    assert_envelope(stale, 400, "INVALID_RESET_TOKEN")
    fresh = await http.post(
        "/api/v1/auth/reset-password", json={"token": second, "new_password": NEW_PASSWORD}
    )
    assert fresh.status_code == 200


async def test_reset_tokens_are_stored_only_as_sha256(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    account = await signed_up(http)
    email = account["user"]["email"]
    await http.post("/api/v1/auth/forgot-password", json={"email": email})
    token = await _reset_token(smtp_app, smtp_server, email)
    assert len(token) >= 43  # 32 random bytes, base64url
    async with smtp_app.state.sessionmaker() as session:
        hashes = list(await session.scalars(select(OneTimeToken.token_hash)))
    assert token not in hashes
    assert all(len(value) == 64 for value in hashes)


async def test_a_weak_new_password_is_422_and_keeps_the_token_usable(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    account = await signed_up(http)
    email = account["user"]["email"]
    await http.post("/api/v1/auth/forgot-password", json={"email": email})
    token = await _reset_token(smtp_app, smtp_server, email)
    weak = await http.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": "password"}
    )
    assert_envelope(weak, 422, "VALIDATION_ERROR")
    ok = await http.post(
        "/api/v1/auth/reset-password", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert ok.status_code == 200


async def test_bad_reset_and_verify_tokens(http: httpx.AsyncClient) -> None:
    bad = await http.post(
        "/api/v1/auth/reset-password", json={"token": "nope", "new_password": NEW_PASSWORD}
    )
    assert_envelope(bad, 400, "INVALID_RESET_TOKEN")
    empty = await http.post("/api/v1/auth/reset-password", json={"token": "", "new_password": "x"})
    assert_envelope(empty, 422, "VALIDATION_ERROR")
    assert_envelope(
        await http.post("/api/v1/auth/verify", json={"token": "nope"}),
        400,
        "INVALID_VERIFICATION_TOKEN",
    )
    assert_envelope(
        await http.post("/api/v1/auth/verify", json={"token": ""}), 422, "VALIDATION_ERROR"
    )


async def test_unknown_email_forgot_password_sends_nothing_and_answers_the_same(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    account = await signed_up(http)
    await deliver_mail(smtp_app)
    before = len(smtp_server.inbox.messages)
    known = await http.post(
        "/api/v1/auth/forgot-password", json={"email": account["user"]["email"]}
    )
    unknown = await http.post("/api/v1/auth/forgot-password", json={"email": unique_email()})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    await deliver_mail(smtp_app)
    assert len(smtp_server.inbox.messages) == before + 1
    async with smtp_app.state.sessionmaker() as session:
        recipients = list(await session.scalars(select(OutboxMessage.to)))
    assert recipients.count(account["user"]["email"]) == 2


async def test_forgot_password_takes_at_least_the_configured_time(
    app_factory: Callable[..., FastAPI],
) -> None:
    clock = ManualClock()
    async with running(app_factory({"clock": clock}, FORGOT_PASSWORD_MIN_SECONDS=5)) as client:
        await client.post("/api/v1/auth/forgot-password", json={"email": unique_email()})
    assert len(clock.slept) == 1
    assert 4 < clock.slept[0] <= 5


async def test_verification_end_to_end(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    account = await signed_up(http)
    email = account["user"]["email"]
    headers = bearer(account["access_token"])
    await deliver_mail(smtp_app)
    (welcome,) = smtp_server.inbox.to(email)
    first = link_token(welcome, "verify")

    assert (await http.post("/api/v1/auth/verify/request", headers=headers)).status_code == 202
    await deliver_mail(smtp_app)
    latest = link_token(smtp_server.inbox.to(email)[-1], "verify")
    assert_envelope(
        await http.post("/api/v1/auth/verify", json={"token": first}),
        400,
        "INVALID_VERIFICATION_TOKEN",
    )
    verified = await http.post("/api/v1/auth/verify", json={"token": latest})
    assert verified.status_code == 200
    assert verified.json()["is_verified"] is True
    assert (await http.get("/api/v1/users/me", headers=headers)).json()["is_verified"] is True
    assert_envelope(
        await http.post("/api/v1/auth/verify", json={"token": latest}),
        400,
        "INVALID_VERIFICATION_TOKEN",
    )
    # Verified already: asking again sends nothing.
    count = len(smtp_server.inbox.to(email))
    assert (await http.post("/api/v1/auth/verify/request", headers=headers)).status_code == 202
    await deliver_mail(smtp_app)
    assert len(smtp_server.inbox.to(email)) == count
    assert_envelope(await http.post("/api/v1/auth/verify/request"), 401, "NOT_AUTHENTICATED")


async def test_a_verification_link_dies_when_the_email_changes(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    account = await signed_up(http)
    await deliver_mail(smtp_app)
    token = link_token(smtp_server.inbox.to(account["user"]["email"])[0], "verify")
    await http.patch(
        "/api/v1/users/me",
        headers=bearer(account["access_token"]),
        json={"email": unique_email(), "current_password": PASSWORD},
    )
    stale = await http.post("/api/v1/auth/verify", json={"token": token})
    assert_envelope(stale, 400, "INVALID_VERIFICATION_TOKEN")


async def test_change_password(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    account = await signed_up(http)
    email = account["user"]["email"]
    other = await login(http, email)
    headers = bearer(account["access_token"])

    wrong = await http.post(
        "/api/v1/auth/change-password",
        headers=headers,
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
    )
    assert_envelope(wrong, 400, "INVALID_PASSWORD")
    weak = await http.post(
        "/api/v1/auth/change-password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "short"},
    )
    assert_envelope(weak, 422, "VALIDATION_ERROR")

    changed = await http.post(
        "/api/v1/auth/change-password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 204
    assert (await http.get("/api/v1/users/me", headers=headers)).status_code == 200
    assert_envelope(
        await http.get("/api/v1/users/me", headers=bearer(other["access_token"])),
        401,
        "INVALID_TOKEN",
    )
    await login(http, email, NEW_PASSWORD)
    await deliver_mail(smtp_app)
    assert "Your password was changed" in [m["Subject"] for m in smtp_server.inbox.to(email)]


async def test_an_email_change_tells_the_old_address_and_verifies_the_new_one(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    account = await signed_up(http)
    old = account["user"]["email"]
    new = unique_email("moved")
    headers = bearer(account["access_token"])
    await deliver_mail(smtp_app)  # the sign-up's verification mail
    changed = await http.patch(
        "/api/v1/users/me", headers=headers, json={"email": new, "current_password": PASSWORD}
    )
    assert changed.status_code == 200
    assert changed.json()["is_verified"] is False
    await deliver_mail(smtp_app)
    (notice,) = [m for m in smtp_server.inbox.to(old) if "changed" in m["Subject"]]
    notice_text = str(notice)
    assert new in notice_text
    assert "token=" not in notice_text  # nothing in it acts on the account
    (verify,) = smtp_server.inbox.to(new)
    token = link_token(verify, "verify")
    verified = await http.post("/api/v1/auth/verify", json={"token": token})
    assert verified.status_code == 200
    assert verified.json()["email"] == new
    assert verified.json()["is_verified"] is True


async def test_a_name_change_mails_nobody(
    http: httpx.AsyncClient, smtp_app: FastAPI, smtp_server: SmtpServer
) -> None:
    account = await signed_up(http)
    await deliver_mail(smtp_app)
    before = len(smtp_server.inbox.messages)
    renamed = await http.patch(
        "/api/v1/users/me",
        headers=bearer(account["access_token"]),
        json={"full_name": "Someone Else"},
    )
    assert renamed.status_code == 200
    await deliver_mail(smtp_app)
    assert len(smtp_server.inbox.messages) == before
