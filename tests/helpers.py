"""Small helpers for talking to the API in tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

PASSWORD = "correct horse battery staple"


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and give an HTTP client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email or unique_email(), "password": password, **extra},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **headers: str
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": password}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def signed_up(client: httpx.AsyncClient, email: str | None = None) -> dict[str, Any]:
    """Register a user and log in: the user plus a token pair."""
    user = await register(client, email)
    tokens = await login(client, user["email"])
    return {"user": user, **tokens}


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the error envelope (docs/api.md) with this status and code."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert error["path"] == response.request.url.path
    assert error["request_id"] == response.headers["x-request-id"]
    assert set(error) == {"code", "message", "path", "timestamp", "request_id", "details"}
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    return error


async def make_admin(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Any]:
    """A signed-up user promoted to admin directly in the database."""
    from sqlalchemy import update

    from gatehouse.users.models import User

    account = await signed_up(client)
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(User).where(User.id == uuid.UUID(account["user"]["id"])).values(role="admin")
        )
        await session.commit()
    account["user"]["role"] = "admin"
    return account


async def deliver_mail(app: FastAPI) -> int:
    """Run the outbox worker until nothing is due; returns how many went out."""
    from gatehouse.mail.worker import MailWorker

    worker = MailWorker(
        sessionmaker=app.state.sessionmaker,
        backend=app.state.mail_backend,
        settings=app.state.settings,
    )
    total = 0
    while sent := await worker.run_once():
        total += sent
    return total


def link_token(message: Any, path: str) -> str:
    """The token of the `{PUBLIC_URL}/{path}?token=…` link in a mail's text part."""
    import re

    text = message.get_body(("plain",)).get_content()
    match = re.search(rf"https?://testserver/{path}\?token=([A-Za-z0-9_\-]+)", text)
    assert match, text
    return match.group(1)


class ManualClock:
    """A clock that moves only when told: `advance(seconds)`; waits are recorded and pass
    at once (moving the clock). Starts at the real time, so tokens stay valid."""

    def __init__(self) -> None:
        self._now = datetime.now(UTC)
        self._monotonic = 1000.0
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
