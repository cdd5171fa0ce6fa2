"""Accounts an admin creates: without a password, the user is invited by mail to set one.

The invitation is a reset token (same table, purpose `reset`, same lifetime) mailed with
its own text; its link opens the reset-password page, which sets the first password and
marks the email verified. Until then the account has no password that works
(UNUSABLE_PASSWORD_HASH), and signing in fails as with a wrong password. When the link
has expired, "Forgot password" mails a new one.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit import service as audit_service
from gatehouse.auth.models import TokenPurpose
from gatehouse.auth.one_time_tokens import mail_token
from gatehouse.core.config import Settings
from gatehouse.core.origin import RequestOrigin
from gatehouse.core.security import PasswordHasher
from gatehouse.users import service as users_service
from gatehouse.users.models import Role, User
from gatehouse.users.passwords import PasswordPolicy


async def invite(
    db: AsyncSession, *, user: User, settings: Settings, by: str, origin: RequestOrigin | None
) -> None:
    """Mail `user` a link to choose a password (flushed, not committed); audited
    `invitation_sent` with who invited in `details.by`."""
    await mail_token(
        db, user=user, purpose=TokenPurpose.RESET, settings=settings, template="invitation"
    )
    audit_service.record(db, kind="invitation_sent", user_id=user.id, origin=origin, by=by)


async def create_user(
    db: AsyncSession,
    *,
    settings: Settings,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    email: str,
    password: str | None,
    full_name: str | None,
    role: Role,
    is_verified: bool,
    by: str,
    origin: RequestOrigin | None,
) -> User:
    """Create a user with any role (an admin or operator); without a password, the user
    is invited in the same transaction."""
    user = await users_service.create_user(
        db,
        hasher=hasher,
        policy=policy,
        email=email,
        password=password,
        full_name=full_name,
        role=role,
        is_verified=is_verified,
    )
    if password is None:
        await invite(db, user=user, settings=settings, by=by, origin=origin)
    await db.commit()
    return user
