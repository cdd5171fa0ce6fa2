"""Password reset, email verification and password change: the flows that send mail.

Reset and verification tokens are 256-bit random strings from `secrets`; only their
SHA-256 is stored, compared in constant time; each works once and expires. Every mail is
written to the outbox in the same transaction as the change that causes it.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Literal

import anyio
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit import service as audit_service
from gatehouse.auth.exceptions import (
    InvalidPassword,
    InvalidResetToken,
    InvalidVerificationToken,
)
from gatehouse.auth.models import OneTimeToken
from gatehouse.auth.passwords import PasswordPolicy
from gatehouse.auth.sessions import end_all_sessions
from gatehouse.auth.throttle import AccountThrottle
from gatehouse.core.client import ClientInfo
from gatehouse.core.config import Settings
from gatehouse.core.db import utcnow
from gatehouse.core.errors import AppError
from gatehouse.core.security import PasswordHasher, hash_token, new_opaque_token, token_matches
from gatehouse.mail import service as mail_service
from gatehouse.users import service as users_service
from gatehouse.users.models import User

Purpose = Literal["reset", "verify"]


async def _issue_token(
    session: AsyncSession, *, user: User, purpose: Purpose, settings: Settings
) -> str:
    """A new token for `purpose`; older unused ones of the same purpose stop working."""
    now = utcnow()
    await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = new_opaque_token()
    session.add(
        OneTimeToken(
            user_id=user.id,
            purpose=purpose,
            email=user.email,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + timedelta(minutes=settings.RESET_TOKEN_TTL_MINUTES),
        )
    )
    await session.flush()
    return token


async def _redeem_token(
    session: AsyncSession, *, token: str, purpose: Purpose, error: type[AppError]
) -> User:
    """Use a token once: the user it belongs to, or `error`."""
    now = utcnow()
    row = (
        await session.execute(
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
    # Claim it atomically: of two concurrent uses, one wins.
    claimed = await session.execute(
        update(OneTimeToken)
        .where(OneTimeToken.id == record.id, OneTimeToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise error()
    return user


# What each purpose mails: the template, and the page its link opens.
_MAILS: dict[Purpose, tuple[mail_service.Template, str]] = {
    "verify": ("verify_email", "verify"),
    "reset": ("reset_password", "reset-password"),
}


async def _mail_token(
    session: AsyncSession, *, user: User, purpose: Purpose, settings: Settings
) -> str:
    """Issue a token and write the mail with its link `{PUBLIC_URL}/{page}?token=…`."""
    token = await _issue_token(session, user=user, purpose=purpose, settings=settings)
    template, page = _MAILS[purpose]
    await mail_service.enqueue(
        session,
        to=user.email,
        template=template,
        context={
            "name": user.full_name,
            "link": f"{settings.PUBLIC_URL}/{page}?token={token}",
            "ttl_minutes": settings.RESET_TOKEN_TTL_MINUTES,
        },
    )
    return token


async def queue_verification(session: AsyncSession, *, user: User, settings: Settings) -> None:
    """Write a verification mail for `user` (flushed, not committed)."""
    await _mail_token(session, user=user, purpose="verify", settings=settings)


async def request_verification(session: AsyncSession, *, user: User, settings: Settings) -> None:
    """Send a new verification mail, unless the email is verified already."""
    if user.is_verified:
        return
    await queue_verification(session, user=user, settings=settings)
    await session.commit()


async def verify_email(session: AsyncSession, *, token: str, client: ClientInfo) -> User:
    """Mark the email the token was sent to as verified."""
    user = await _redeem_token(
        session, token=token, purpose="verify", error=InvalidVerificationToken
    )
    user.is_verified = True
    audit_service.record(session, kind="email_verified", user_id=user.id, client=client)
    await session.commit()
    return user


async def issue_reset_token(session: AsyncSession, *, user: User, settings: Settings) -> str:
    """A reset token for `user`, mailed as a link (flushed, not committed)."""
    return await _mail_token(session, user=user, purpose="reset", settings=settings)


async def forgot_password(
    session: AsyncSession, *, email: str, settings: Settings, client: ClientInfo
) -> str | None:
    """Mail a reset link when an active account has this email; do nothing otherwise.

    Either way the call lasts at least FORGOT_PASSWORD_MIN_SECONDS, so the answer's
    timing does not tell whether the account exists. Returns the token (for the
    development-only browser route), or None.
    """
    started = time.monotonic()
    token: str | None = None
    user = await users_service.find_user_by_email(session, email=email)
    if user is not None and user.is_active:
        token = await issue_reset_token(session, user=user, settings=settings)
        audit_service.record(
            session, kind="password_reset_requested", user_id=user.id, client=client
        )
        await session.commit()
    remaining = settings.FORGOT_PASSWORD_MIN_SECONDS - (time.monotonic() - started)
    if remaining > 0:
        await anyio.sleep(remaining)
    return token


async def _set_password(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    user: User,
    new_password: str,
    keep_session: uuid.UUID | None,
    settings: Settings,
) -> None:
    policy.check(new_password, email=user.email, field="new_password")
    user.password_hash = await hasher.hash(new_password)
    user.password_changed_at = utcnow()
    await end_all_sessions(session, user_id=user.id, except_session=keep_session)
    await mail_service.enqueue(
        session,
        to=user.email,
        template="password_changed",
        context={"name": user.full_name, "reset_url": f"{settings.PUBLIC_URL}/reset-password"},
    )


async def reset_password(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    token: str,
    new_password: str,
    settings: Settings,
    throttle: AccountThrottle,
    client: ClientInfo,
    email: str | None = None,
) -> User:
    """Set a new password with a reset token; every session of the user ends.

    With `email` (the browser API sends it), the token must also belong to that address.
    """
    user = await _redeem_token(session, token=token, purpose="reset", error=InvalidResetToken)
    if email is not None and users_service.normalize_email(email) != user.email:
        raise InvalidResetToken()
    await _set_password(
        session,
        hasher=hasher,
        policy=policy,
        user=user,
        new_password=new_password,
        keep_session=None,
        settings=settings,
    )
    audit_service.record(session, kind="password_reset_completed", user_id=user.id, client=client)
    await session.commit()
    await throttle.clear(user.email)
    return user


async def change_password(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    user: User,
    current_session: uuid.UUID | None,
    current_password: str,
    new_password: str,
    settings: Settings,
    client: ClientInfo,
) -> None:
    """Change the password (the current one confirms it); the user's other sessions end."""
    matches, _ = await hasher.verify_and_update(current_password, user.password_hash)
    if not matches:
        raise InvalidPassword()
    await _set_password(
        session,
        hasher=hasher,
        policy=policy,
        user=user,
        new_password=new_password,
        keep_session=current_session,
        settings=settings,
    )
    audit_service.record(session, kind="password_changed", user_id=user.id, client=client)
    await session.commit()
