"""The outbox: delivery through a real SMTP server, retries, failures kept, no duplicates."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from gatehouse import models
from gatehouse.core.db import make_sessionmaker, utcnow
from gatehouse.mail import service as mail_service
from gatehouse.mail.backends import SmtpBackend
from gatehouse.mail.models import OutboxMessage
from gatehouse.mail.worker import MailWorker, backoff_seconds
from tests.helpers import (
    PASSWORD,
    assert_envelope,
    deliver_mail,
    link_token,
    register,
    running,
    unique_email,
)
from tests.smtp import SmtpServer


def smtp_app(app_factory: Callable[..., FastAPI], server: SmtpServer, **extra: object) -> FastAPI:
    return app_factory(
        EMAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=server.port,
        SMTP_TIMEOUT_SECONDS=2,
        MAIL_RETRY_BASE_SECONDS=0.01,
        **extra,
    )


async def _outbox(app: FastAPI) -> list[OutboxMessage]:
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(OutboxMessage)))


async def test_registration_mail_is_delivered_over_smtp_with_text_and_html(
    app_factory: Callable[..., FastAPI], smtp_server: SmtpServer
) -> None:
    app = smtp_app(app_factory, smtp_server)
    async with running(app) as client:
        user = await register(client)
        assert await deliver_mail(app) == 1
        (message,) = smtp_server.inbox.to(user["email"])
        assert message["Subject"] == "Confirm your email address"
        assert message.get_body(("html",)) is not None
        assert link_token(message, "verify")
        (row,) = await _outbox(app)
        assert row.sent_at is not None
        assert row.attempts == 1
        assert await deliver_mail(app) == 0  # sent once, never again


async def test_smtp_down_the_request_still_succeeds_and_the_mail_arrives_once_later(
    app_factory: Callable[..., FastAPI], stopped_smtp_server: SmtpServer
) -> None:
    app = smtp_app(app_factory, stopped_smtp_server)
    async with running(app) as client:
        user = await register(client, email=unique_email())
        response = await client.post("/api/v1/auth/forgot-password", json={"email": user["email"]})
        assert response.status_code == 202

        assert await deliver_mail(app) == 0
        rows = await _outbox(app)
        assert len(rows) == 2
        for row in rows:
            assert row.sent_at is None
            assert row.failed_at is None
            assert row.attempts == 1
            assert row.last_error

        stopped_smtp_server.start()
        await asyncio.sleep(0.05)  # past the (tiny) backoff
        assert await deliver_mail(app) == 2
        assert await deliver_mail(app) == 0
        subjects = sorted(m["Subject"] for m in stopped_smtp_server.inbox.to(user["email"]))
        assert subjects == ["Confirm your email address", "Reset your password"]


async def test_after_the_last_attempt_the_message_stays_marked_failed(
    app_factory: Callable[..., FastAPI], stopped_smtp_server: SmtpServer
) -> None:
    app = smtp_app(app_factory, stopped_smtp_server, MAIL_MAX_ATTEMPTS=2)
    async with running(app) as client:
        await register(client)
        await deliver_mail(app)
        await asyncio.sleep(0.05)
        await deliver_mail(app)
        (row,) = await _outbox(app)
        assert row.attempts == 2
        assert row.failed_at is not None
        assert row.last_error
        async with app.state.sessionmaker() as session:
            status = await mail_service.status(session)
            assert (status.pending, status.sent, status.failed) == (0, 0, 1)
            assert await mail_service.retry_failed(session) == 1
        stopped_smtp_server.start()
        assert await deliver_mail(app) == 1
        assert len(stopped_smtp_server.inbox.messages) == 1


async def _stored_text(app: FastAPI) -> str:
    """Every value of every row of every table, as one string."""
    parts: list[str] = []
    async with app.state.sessionmaker() as session:
        for table in models.Base.metadata.sorted_tables:
            for row in await session.execute(select(table)):
                parts.extend(repr(value) for value in row)
    return "\n".join(parts)


async def test_a_delivered_mail_keeps_no_usable_token_in_the_database(
    app_factory: Callable[..., FastAPI], smtp_server: SmtpServer
) -> None:
    app = smtp_app(app_factory, smtp_server)
    async with running(app) as client:
        user = await register(client)
        response = await client.post("/api/v1/auth/forgot-password", json={"email": user["email"]})
        assert response.status_code == 202
        assert await deliver_mail(app) == 2
        messages = {m["Subject"]: m for m in smtp_server.inbox.to(user["email"])}
        verify = link_token(messages["Confirm your email address"], "verify")
        reset = link_token(messages["Reset your password"], "reset-password")
        html = messages["Reset your password"].get_body(("html",))
        assert html is not None
        assert f"reset-password?token={reset}" in html.get_content()  # the mail works

        stored = await _stored_text(app)
        for token in (verify, reset):
            assert token not in stored
        for row in await _outbox(app):
            assert row.sent_at is not None
            assert "token=[redacted]" in row.text
            assert row.html is not None
            assert "token=[redacted]" in row.html

        # The links still work, once.
        verified = await client.post("/api/v1/auth/verify", json={"token": verify})
        assert verified.status_code == 200, verified.text
        new_password = {"token": reset, "new_password": "a brand new passphrase"}
        assert (
            await client.post("/api/v1/auth/reset-password", json=new_password)
        ).status_code == 200
        assert_envelope(
            await client.post("/api/v1/auth/reset-password", json=new_password),
            400,
            "INVALID_RESET_TOKEN",
        )
        old = await client.post(
            "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
        )
        assert_envelope(old, 401, "INVALID_CREDENTIALS")


def test_redaction_replaces_every_token_parameter_and_nothing_else() -> None:
    text = (
        "open http://x/reset?token=abc-DEF_123 now\n"
        '<a href="http://x/verify?lang=en&amp;token=Zz9_-">go</a>\n'
        "http://x/p?a=1&token=t0k&b=2 and token=plain stays"
    )
    assert mail_service.redact_secrets(text) == (
        "open http://x/reset?token=[redacted] now\n"
        '<a href="http://x/verify?lang=en&amp;token=[redacted]">go</a>\n'
        "http://x/p?a=1&token=[redacted]&b=2 and token=plain stays"
    )


async def test_a_failed_attempt_keeps_the_link_for_the_next_one(
    app_factory: Callable[..., FastAPI], stopped_smtp_server: SmtpServer
) -> None:
    app = smtp_app(app_factory, stopped_smtp_server)
    async with running(app) as client:
        user = await register(client)
        assert await deliver_mail(app) == 0
        (row,) = await _outbox(app)
        assert "token=[redacted]" not in row.text
        stopped_smtp_server.start()
        await asyncio.sleep(0.05)
        assert await deliver_mail(app) == 1
        (message,) = stopped_smtp_server.inbox.to(user["email"])
        assert link_token(message, "verify") != "[redacted]"


def test_backoff_grows_exponentially_with_jitter() -> None:
    for attempt in range(1, 8):
        delay = backoff_seconds(attempt, base=2.0)
        ceiling = 2.0 * 2 ** (attempt - 1)
        assert ceiling / 2 <= delay <= ceiling
    assert backoff_seconds(50, base=2.0) <= 3600


async def test_two_workers_on_one_outbox_deliver_every_message_exactly_once(
    database_url: str, app_factory: Callable[..., FastAPI], smtp_server: SmtpServer
) -> None:
    app = smtp_app(app_factory, smtp_server)
    settings = app.state.settings
    async with running(app), app.state.sessionmaker() as session:
        for index in range(60):
            await mail_service.enqueue(
                session,
                to=f"reader{index}@example.com",
                template="password_changed",
                context={"name": None, "reset_url": "http://testserver/reset-password"},
            )
        await session.commit()

    engines = [create_async_engine(database_url) for _ in range(2)]
    workers = [
        MailWorker(
            sessionmaker=make_sessionmaker(engine), backend=SmtpBackend(settings), settings=settings
        )
        for engine in engines
    ]

    async def drain(worker: MailWorker) -> int:
        total = 0
        while sent := await worker.run_once():
            total += sent
        return total

    try:
        counts = await asyncio.gather(*(drain(worker) for worker in workers))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sum(counts) == 60
    received = [m["To"] for m in smtp_server.inbox.messages]
    assert sorted(received) == sorted(f"reader{i}@example.com" for i in range(60))


async def test_a_crashed_workers_claim_expires_and_another_worker_sends(
    app_factory: Callable[..., FastAPI], smtp_server: SmtpServer
) -> None:
    app = smtp_app(app_factory, smtp_server)
    async with running(app) as client:
        await register(client)
        async with app.state.sessionmaker() as session:
            await session.execute(
                update(OutboxMessage).values(
                    claimed_by="dead-worker", claimed_until=utcnow() + timedelta(minutes=5)
                )
            )
            await session.commit()
        assert await deliver_mail(app) == 0  # still leased
        async with app.state.sessionmaker() as session:
            await session.execute(
                update(OutboxMessage).values(claimed_until=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
        assert await deliver_mail(app) == 1


async def test_file_backend_writes_one_eml_per_message(
    app_factory: Callable[..., FastAPI], tmp_path: Path
) -> None:
    directory = tmp_path / "outbox"
    app = app_factory(EMAIL_BACKEND="file", EMAIL_FILE_DIR=str(directory))
    async with running(app) as client:
        await register(client)
        await register(client)
        assert await deliver_mail(app) == 2
    files = sorted(directory.glob("*.eml"))
    assert len(files) == 2
    assert b"Subject: Confirm your email address" in files[0].read_bytes()


async def test_file_backend_files_are_readable_by_the_service_alone(
    app_factory: Callable[..., FastAPI], tmp_path: Path
) -> None:
    created = tmp_path / "new" / "outbox"
    existing = tmp_path / "shared"
    existing.mkdir()
    existing.chmod(0o755)
    previous = os.umask(0)  # the modes are the backend's own, not the umask's
    try:
        for directory in (created, existing):
            app = app_factory(EMAIL_BACKEND="file", EMAIL_FILE_DIR=str(directory))
            async with running(app) as client:
                await register(client)
                assert await deliver_mail(app) == 1
    finally:
        os.umask(previous)
    assert stat.S_IMODE(created.stat().st_mode) == 0o700
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755  # left as the operator made it
    files = [*created.glob("*.eml"), *existing.glob("*.eml")]
    assert len(files) == 2
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_console_backend_logs_the_message_with_its_link(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="gatehouse.mail"):
        await register(client)
        await deliver_mail(app)
    assert "http://testserver/verify?token=" in caplog.text


async def test_the_in_process_worker_delivers_without_help(
    app_factory: Callable[..., FastAPI], smtp_server: SmtpServer
) -> None:
    app = smtp_app(app_factory, smtp_server, MAIL_WORKER_ENABLED=True, MAIL_POLL_SECONDS=0.05)
    async with running(app) as client:
        user = await register(client)
        for _ in range(100):
            if smtp_server.inbox.to(user["email"]):
                break
            await asyncio.sleep(0.05)
    assert len(smtp_server.inbox.to(user["email"])) == 1
