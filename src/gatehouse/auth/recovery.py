"""Password reset: a link mailed on request sets a new password once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit import service as audit_service
from gatehouse.auth.exceptions import InvalidResetToken
from gatehouse.auth.kit import AuthKit
from gatehouse.auth.models import TokenPurpose
from gatehouse.auth.one_time_tokens import mail_token, redeem_token
from gatehouse.auth.passwords import set_password
from gatehouse.core.config import Settings
from gatehouse.core.origin import RequestOrigin
from gatehouse.users import service as users_service
from gatehouse.users.emails import normalize_email
from gatehouse.users.models import User


async def issue_reset_token(db: AsyncSession, *, user: User, settings: Settings) -> str:
    """A reset token for `user`, mailed as a link (flushed, not committed)."""
    return await mail_token(db, user=user, purpose=TokenPurpose.RESET, settings=settings)


async def forgot_password(
    db: AsyncSession, *, kit: AuthKit, email: str, origin: RequestOrigin
) -> str | None:
    """Mail a reset link when an active account has this email; do nothing otherwise.

    Either way the call lasts at least FORGOT_PASSWORD_MIN_SECONDS, so the answer's
    timing does not tell whether the account exists. Returns the token (for the
    development-only browser route), or None.
    """
    started = kit.clock.monotonic()
    token: str | None = None
    user = await users_service.find_user_by_email(db, email=email)
    if user is not None and user.is_active:
        token = await issue_reset_token(db, user=user, settings=kit.settings)
        audit_service.record(db, kind="password_reset_requested", user_id=user.id, origin=origin)
        await db.commit()
    remaining = kit.settings.FORGOT_PASSWORD_MIN_SECONDS - (kit.clock.monotonic() - started)
    if remaining > 0:
        await kit.clock.sleep(remaining)
    return token


async def reset_password(
    db: AsyncSession,
    *,
    kit: AuthKit,
    token: str,
    new_password: str,
    origin: RequestOrigin,
    email: str | None = None,
) -> User:
    """Set a new password with a reset token (or an invitation's); every session of the
    user ends, and the email counts as verified.

    With `email` (the browser API sends it), the token must also belong to that address.
    """
    user = await redeem_token(db, token=token, purpose=TokenPurpose.RESET, error=InvalidResetToken)
    if email is not None and normalize_email(email) != user.email:
        raise InvalidResetToken()
    await set_password(db, kit=kit, user=user, new_password=new_password, keep_session=None)
    user.is_verified = True  # the link arrived at the address: it is proven
    audit_service.record(db, kind="password_reset_completed", user_id=user.id, origin=origin)
    await db.commit()
    await kit.throttle.clear(user.email)
    return user
