"""Writing mail to the outbox (in the caller's transaction) and looking after it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.core.db import rowcount, utcnow
from gatehouse.mail.models import OutboxMessage

Template = Literal[
    "verify_email", "reset_password", "password_changed", "email_changed", "invitation", "welcome"
]

SUBJECTS: dict[Template, str] = {
    "verify_email": "Confirm your email address",
    "reset_password": "Reset your password",
    "password_changed": "Your password was changed",
    "email_changed": "Your email address was changed",
    "invitation": "You are invited to Gatehouse",
    "welcome": "Welcome to Gatehouse",
}


# Context values a user typed (their name): cut to USER_TEXT_LENGTH characters in the text
# and the HTML part alike. The HTML part escapes every value it prints (autoescape).
USER_TEXT = frozenset({"name"})
USER_TEXT_LENGTH = 100


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("gatehouse.mail", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _bounded(key: str, value: Any) -> Any:
    if key in USER_TEXT and isinstance(value, str):
        return value[:USER_TEXT_LENGTH]
    return value


def render(template: Template, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of a message; what the user typed is cut to USER_TEXT_LENGTH."""
    context = {key: _bounded(key, value) for key, value in context.items()}
    environment = _templates()
    text = environment.get_template(f"{template}.txt").render(**context)
    html = environment.get_template(f"{template}.html").render(**context)
    return SUBJECTS[template], text, html


# A secret travels in a mail only as the `token` query parameter of a link
# (`…?token=…`, `…&token=…`, or `&amp;token=…` in HTML); once the message is delivered its
# stored copy keeps the link with the value replaced (see `redact_secrets`).
_TOKEN_PARAMETER = re.compile(r"((?:[?&]|&amp;)token=)[^&\s\"'<>]+")
REDACTED = "[redacted]"


def redact_secrets(text: str) -> str:
    """`text` with the value of every `token=` link parameter replaced by `[redacted]`."""
    return _TOKEN_PARAMETER.sub(rf"\g<1>{REDACTED}", text)


async def enqueue(
    db: AsyncSession, *, to: str, template: Template, context: dict[str, Any]
) -> OutboxMessage:
    """Add a message to the outbox, in the caller's transaction (flushed, not committed).

    A secret goes into a link as its `token` query parameter and nowhere else: the worker
    removes it from the stored text and HTML when it marks the message sent.
    """
    subject, text, html = render(template, context)
    message = OutboxMessage(to=to, subject=subject, text=text, html=html)
    db.add(message)
    await db.flush()
    return message


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    sent: int
    failed: int


async def status(db: AsyncSession) -> OutboxStatus:
    """How many messages wait, went out, and failed for good."""
    sent = OutboxMessage.sent_at.is_not(None)
    failed = OutboxMessage.sent_at.is_(None) & OutboxMessage.failed_at.is_not(None)
    row = (
        await db.execute(
            select(
                func.count(case((sent, 1))),
                func.count(case((failed, 1))),
                func.count(),
            )
        )
    ).one()
    sent_count, failed_count, total = (int(value or 0) for value in row)
    return OutboxStatus(
        pending=total - sent_count - failed_count, sent=sent_count, failed=failed_count
    )


async def retry_failed(db: AsyncSession) -> int:
    """Put every failed message back in the queue with fresh attempts; returns how many."""
    result = await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_not(None))
        .values(failed_at=None, attempts=0, next_attempt_at=utcnow(), claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    await db.commit()
    return rowcount(result)
