"""Email verification: the link mailed at sign-up (or on request) marks the email verified."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit import service as audit_service
from gatehouse.auth.exceptions import InvalidVerificationToken
from gatehouse.auth.models import TokenPurpose
from gatehouse.auth.one_time_tokens import mail_token, redeem_token
from gatehouse.core.config import Settings
from gatehouse.core.origin import RequestOrigin
from gatehouse.users.models import User


async def queue_verification(db: AsyncSession, *, user: User, settings: Settings) -> None:
    """Write a verification mail for `user` (flushed, not committed)."""
    await mail_token(db, user=user, purpose=TokenPurpose.VERIFY, settings=settings)


async def request_verification(db: AsyncSession, *, user: User, settings: Settings) -> None:
    """Send a new verification mail, unless the email is verified already."""
    if user.is_verified:
        return
    await queue_verification(db, user=user, settings=settings)
    await db.commit()


async def verify_email(db: AsyncSession, *, token: str, origin: RequestOrigin) -> User:
    """Mark the email the token was sent to as verified."""
    user = await redeem_token(
        db, token=token, purpose=TokenPurpose.VERIFY, error=InvalidVerificationToken
    )
    user.is_verified = True
    audit_service.record(db, kind="email_verified", user_id=user.id, origin=origin)
    await db.commit()
    return user
