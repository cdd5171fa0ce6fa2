"""Delivering the outbox: claim due messages, send them, retry with backoff, keep failures.

Several workers (in-process tasks or `gatehouse worker` processes) may run against one
database. A worker claims rows before sending: with `SELECT … FOR UPDATE SKIP LOCKED` on
PostgreSQL and with one conditional `UPDATE` on SQLite. A claim is a lease: if the worker
dies, the rows become due again when it runs out, so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.core.config import Settings
from gatehouse.core.db import utcnow
from gatehouse.mail.backends import MailBackend
from gatehouse.mail.models import OutboxMessage
from gatehouse.mail.service import redact_secrets

logger = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=5)
BATCH_SIZE = 20
MAX_BACKOFF_SECONDS = 3600.0


def backoff_seconds(attempts: int, base: float) -> float:
    """Exponential backoff with full jitter, capped at an hour."""
    ceiling = min(MAX_BACKOFF_SECONDS, base * (2 ** (attempts - 1)))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311  (not for security)


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(idstring=message.id.hex, domain="gatehouse.local")
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    return email


class MailWorker:
    """Delivers due outbox messages through one backend."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        backend: MailBackend,
        settings: Settings,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.backend = backend
        self.settings = settings
        self.worker_id = uuid.uuid4().hex

    @staticmethod
    def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
        return (
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )

    async def _claim(self, db: AsyncSession, now: datetime) -> list[OutboxMessage]:
        lease_until = now + CLAIM_LEASE
        if db.get_bind().dialect.name == "postgresql":
            rows = list(
                await db.scalars(
                    select(OutboxMessage)
                    .where(*self._due(now))
                    .order_by(OutboxMessage.next_attempt_at)
                    .limit(BATCH_SIZE)
                    .with_for_update(skip_locked=True)
                )
            )
            for row in rows:
                row.claimed_by, row.claimed_until = self.worker_id, lease_until
            await db.commit()
            return rows
        # SQLite: one statement claims atomically (writers are serialised).
        due_ids = (
            select(OutboxMessage.id)
            .where(*self._due(now))
            .order_by(OutboxMessage.next_attempt_at)
            .limit(BATCH_SIZE)
            .scalar_subquery()
        )
        await db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due_ids), *self._due(now))
            .values(claimed_by=self.worker_id, claimed_until=lease_until)
            .execution_options(synchronize_session=False)
        )
        await db.commit()
        return list(
            await db.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.claimed_by == self.worker_id,
                    OutboxMessage.claimed_until == lease_until,
                    OutboxMessage.sent_at.is_(None),
                )
            )
        )

    async def _deliver(self, db: AsyncSession, message: OutboxMessage) -> bool:
        now = utcnow()
        try:
            await self.backend.send(build_email(message, self.settings.EMAIL_FROM))
        except Exception as exc:  # any failure: record it and try again later
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            message.claimed_until = None
            if message.attempts >= self.settings.MAIL_MAX_ATTEMPTS:
                message.failed_at = now
                logger.error(
                    "mail %s failed for good after %d attempts: %s",
                    message.id,
                    message.attempts,
                    message.last_error,
                )
            else:
                delay = backoff_seconds(message.attempts, self.settings.MAIL_RETRY_BASE_SECONDS)
                message.next_attempt_at = now + timedelta(seconds=delay)
                logger.warning(
                    "mail %s attempt %d failed (%s); next try in %.1fs",
                    message.id,
                    message.attempts,
                    message.last_error,
                    delay,
                )
            await db.commit()
            return False
        # Marked sent in the same UPDATE that takes the links' tokens out of the stored copy:
        # a delivered message keeps nothing that would still open an account.
        message.attempts += 1
        message.sent_at = now
        message.claimed_until = None
        message.last_error = None
        message.text = redact_secrets(message.text)
        if message.html is not None:
            message.html = redact_secrets(message.html)
        await db.commit()
        return True

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim and deliver one batch of due messages; returns how many were sent.

        When `stop` is set, the batch ends after the message being sent: the rest of the
        claim is given back, so those messages are due again at once (for another worker,
        or this one when it starts again), and none is sent twice.
        """
        async with self.sessionmaker() as db:
            claimed = await self._claim(db, utcnow())
            sent = 0
            for index, message in enumerate(claimed):
                if stop is not None and stop.is_set():
                    for unsent in claimed[index:]:
                        unsent.claimed_until = None
                    await db.commit()
                    break
                sent += await self._deliver(db, message)
            return sent

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until `stop` is set, polling every MAIL_POLL_SECONDS while idle.

        Stopping waits for the message being sent (never cut off mid-send, so never sent
        twice) and gives the rest of the batch back; no database connection is left
        checked out (a cancelled pass could strand one, and with it the process).
        """
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                sent = await self.run_once(stop)
            except Exception:  # the database may be away for a moment: keep going
                logger.exception("mail worker pass failed")
                sent = 0
            if sent < BATCH_SIZE:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.MAIL_POLL_SECONDS)
