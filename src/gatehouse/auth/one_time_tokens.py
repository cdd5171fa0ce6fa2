"""Reset and verification tokens: issued, mailed as a link, redeemed once.

They are 256-bit random strings from `secrets`; only their SHA-256 is stored, compared in
constant time; each works once and expires. The mail is written to the outbox in the
same transaction as the change that causes it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth.models import OneTimeToken, TokenPurpose
from gatehouse.core.config import Settings
from gatehouse.core.db import claim_once, utcnow
from gatehouse.core.errors import AppError
from gatehouse.core.security import hash_token, new_opaque_token, token_matches
from gatehouse.mail import service as mail_service
from gatehouse.users.models import User

# What each purpose mails: the template, and the page its link opens.
_MAILS: dict[TokenPurpose, tuple[mail_service.Template, str]] = {
    TokenPurpose.VERIFY: ("verify_email", "verify"),
    TokenPurpose.RESET: ("reset_password", "reset-password"),
}


async def issue_token(
    db: AsyncSession, *, user: User, purpose: TokenPurpose, settings: Settings
) -> str:
    """A new token for `purpose` (flushed); older unused ones of the same purpose stop working."""
    now = utcnow()
    await db.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = new_opaque_token()
    db.add(
        OneTimeToken(
            user_id=user.id,
            purpose=purpose,
            email=user.email,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + timedelta(minutes=settings.RESET_TOKEN_TTL_MINUTES),
        )
    )
    await db.flush()
    return token


async def redeem_token(
    db: AsyncSession, *, token: str, purpose: TokenPurpose, error: type[AppError]
) -> User:
    """Use a token once: the user it belongs to, or `error`."""
    now = utcnow()
    row = (
        await db.execute(
            select(OneTimeToken, User)
            .join(User, OneTimeToken.user_id == User.id)
            .where(OneTimeToken.token_hash == hash_token(token), OneTimeToken.purpose == purpose)
        )
    ).first()
    if row is None or not token_matches(token, row[0].token_hash):
        raise error()
    record, user = row
    if (
        record.used_at is not None
        or record.expires_at <= now
        or not user.is_active
        or record.email != user.email
    ):
        raise error()
    # Of two concurrent uses, one wins.
    if not await claim_once(db, OneTimeToken.used_at, record.id, at=now):
        raise error()
    return user


async def mail_token(
    db: AsyncSession,
    *,
    user: User,
    purpose: TokenPurpose,
    settings: Settings,
    template: mail_service.Template | None = None,
) -> str:
    """Issue a token and write the mail with its link `{PUBLIC_URL}/{page}?token=…`
    (in the purpose's own template unless `template` is given)."""
    token = await issue_token(db, user=user, purpose=purpose, settings=settings)
    default_template, page = _MAILS[purpose]
    template = template or default_template
    await mail_service.enqueue(
        db,
        to=user.email,
        template=template,
        context={
            "name": user.full_name,
            "link": f"{settings.PUBLIC_URL}/{page}?token={token}",
            "ttl_minutes": settings.RESET_TOKEN_TTL_MINUTES,
        },
    )
    return token
